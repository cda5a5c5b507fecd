// The candidate list: free-text search and filters by status, measure, income basis and tag,
// a page at a time; the number of hits is announced.
import { h, heading, p, link, clear, announce, button } from "../dom.js";
import { get, post, query } from "../api.js";
import { STATUS, MEASURE, INCOME } from "../i18n.js";
import { field, form, tags, orNull } from "../forms.js";

export async function candidates(main, ctx) {
  main.append(heading(1, "Deltakere"));
  const results = h("div", { class: "results table-wrap", role: "region", "aria-label": "Treff", tabindex: "0" });
  let cursor = null;
  let filters = {};
  const more = button("Vis flere", () => load(false), "secondary");

  async function load(fresh) {
    const page = await get(`/v1/candidates${query({ ...filters, limit: 50, cursor: fresh ? null : cursor })}`);
    if (fresh) clear(results);
    let tbody = results.querySelector("tbody");
    if (!tbody) {
      tbody = h("tbody");
      results.append(
        h(
          "table",
          { class: "ds-table", "data-border": true },
          h("caption", { class: "ds-sr-only" }, "Deltakere"),
          h("thead", {}, h("tr", {}, ["Navn", "Nr.", "Status", "Tiltak", "Opprettet"].map((t) => h("th", { scope: "col" }, t)))),
          tbody,
        ),
      );
    }
    for (const c of page.items)
      tbody.append(
        h(
          "tr",
          {},
          h("td", {}, link(`${c.given_name || ""} ${c.family_name || ""}`.trim() || c.ref, `#/deltaker/${c.id}`)),
          h("td", {}, c.ref),
          h("td", {}, STATUS[c.status] || c.status),
          h("td", {}, MEASURE[c.measure] || ""),
          h("td", {}, new Date(c.created_at).toLocaleDateString("nb-NO")),
        ),
      );
    cursor = page.next_cursor;
    more.hidden = !cursor;
    const n = tbody.children.length;
    announce(n === 0 ? "Ingen treff." : `${n} treff${cursor ? ", flere finnes" : ""}.`);
    if (n === 0) results.append(p("Ingen deltakere passer søket."));
  }

  const search = form(
    [
      field({ name: "q", label: "Søk på navn eller nummer", type: "search" }),
      field({ name: "status", label: "Status", type: "select", options: STATUS, empty: "Alle" }),
      field({ name: "measure", label: "Tiltak", type: "select", options: MEASURE, empty: "Alle" }),
      field({ name: "income_basis", label: "Inntektsgrunnlag", type: "select", options: INCOME, empty: "Alle" }),
      field({ name: "tag", label: "Stikkord (interesse, ferdighet, språk)" }),
    ],
    async (v) => {
      filters = { q: v.q, status: v.status, measure: v.measure, income_basis: v.income_basis, tag: v.tag };
      await load(true);
    },
    { submit: "Søk", label: "Søk blant deltakere" },
  );
  search.classList.add("filters");

  const create = form(
    [
      field({ name: "given_name", label: "Fornavn", required: true, autocomplete: "off" }),
      field({ name: "family_name", label: "Etternavn", required: true, autocomplete: "off" }),
      field({ name: "birth_year", label: "Fødselsår", inputmode: "numeric" }),
      field({ name: "phone", label: "Telefon", type: "tel" }),
      field({ name: "referral_source", label: "Henvist fra" }),
      field({ name: "interests", label: "Interesser", description: "Skill med komma." }),
    ],
    async (v) => {
      const c = await post("/v1/candidates", {
        given_name: v.given_name,
        family_name: v.family_name,
        birth_year: v.birth_year ? Number(v.birth_year) : null,
        phone: orNull(v.phone),
        referral_source: orNull(v.referral_source),
        interests: tags(v.interests),
      });
      announce(`${c.given_name} ${c.family_name} er registrert.`);
      location.hash = `#/deltaker/${c.id}`;
    },
    { submit: "Registrer deltaker", label: "Ny deltaker" },
  );

  main.append(
    h("section", { "aria-labelledby": "s-search" }, heading(2, "Søk og filtrer", { id: "s-search" }), search),
    h("section", { "aria-labelledby": "s-list" }, heading(2, "Treff", { id: "s-list" }), results, more),
    ctx.me.role === "reader" ? null : h("details", { class: "ds-details" }, h("summary", {}, "Registrer ny deltaker"), h("div", {}, create)),
  );
  await load(true);
}
