// Organisations and the openings they offer (work trials, VTA, activities): lists and forms.
import { h, heading, p, announce } from "../dom.js";
import { all, post } from "../api.js";
import { ORG_KIND, OPENING_KIND } from "../i18n.js";
import { field, form, tags, orNull } from "../forms.js";

// A table in a region of its own that scrolls sideways on a narrow screen (the page itself
// never does); the region takes focus, so a keyboard can scroll it too.
export function table(caption, cols, rows) {
  return wrap(caption, h(
    "table",
    { class: "ds-table" },
    h("caption", { class: "ds-sr-only" }, caption),
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((v) => h("td", {}, v ?? ""))))),
  ));
}

export function wrap(caption, tableEl) {
  return h("div", { class: "table-wrap", role: "region", "aria-label": caption, tabindex: "0" }, tableEl);
}

export async function organizations(main) {
  main.append(heading(1, "Organisasjoner"));
  const list = h("div");
  const load = async () => {
    const items = await all("/v1/organizations");
    list.replaceChildren(items.length ? table("Organisasjoner", ["Navn", "Type", "Org.nr."], items.map((o) => [o.name, ORG_KIND[o.kind] || o.kind, o.org_number])) : p("Ingen organisasjoner ennå."));
  };
  const f = form(
    [
      field({ name: "name", label: "Navn", required: true }),
      field({ name: "kind", label: "Type", type: "select", options: ORG_KIND, required: true, value: "employer" }),
      field({ name: "org_number", label: "Organisasjonsnummer", inputmode: "numeric" }),
      field({ name: "postal_code", label: "Postnummer", inputmode: "numeric" }),
    ],
    async (v, el) => {
      await post("/v1/organizations", { name: v.name, kind: v.kind, org_number: orNull(v.org_number), postal_code: orNull(v.postal_code) });
      el.reset();
      announce(`${v.name} er registrert.`);
      await load();
    },
    { submit: "Registrer organisasjon", label: "Ny organisasjon" },
  );
  main.append(h("section", { "aria-labelledby": "h-new" }, heading(2, "Ny organisasjon", { id: "h-new" }), f), h("section", { "aria-labelledby": "h-all" }, heading(2, "Alle organisasjoner", { id: "h-all" }), list));
  await load();
}

export async function openings(main, ctx) {
  main.append(heading(1, "Plasser og aktiviteter"));
  const list = h("div");
  const staff = ctx.me.role !== "partner";
  const orgs = staff ? await all("/v1/organizations") : [];
  const orgName = Object.fromEntries(orgs.map((o) => [o.id, o.name]));
  const load = async () => {
    const items = await all("/v1/openings");
    list.replaceChildren(
      items.length
        ? table("Plasser", ["Tittel", "Type", "Organisasjon", "Plasser", "Aktiv"], items.map((o) => [o.title, OPENING_KIND[o.kind] || o.kind, orgName[o.organization_id] || "", o.capacity, o.active === false ? "Nei" : "Ja"]))
        : p("Ingen plasser ennå."),
    );
  };
  if (staff) {
    const f = form(
      [
        field({ name: "organization_id", label: "Organisasjon", type: "select", required: true, options: orgName, value: "" }),
        field({ name: "kind", label: "Type", type: "select", options: OPENING_KIND, required: true, value: "work_trial" }),
        field({ name: "title", label: "Tittel", required: true }),
        field({ name: "tasks", label: "Arbeidsoppgaver", type: "textarea" }),
        field({ name: "categories", label: "Kategorier", description: "Skill med komma." }),
        field({ name: "capacity", label: "Antall plasser", inputmode: "numeric", value: "1" }),
      ],
      async (v, el) => {
        await post("/v1/openings", { organization_id: v.organization_id, kind: v.kind, title: v.title, tasks: orNull(v.tasks), categories: tags(v.categories), capacity: v.capacity ? Number(v.capacity) : 1 });
        el.reset();
        announce(`${v.title} er registrert.`);
        await load();
      },
      { submit: "Registrer plass", label: "Ny plass" },
    );
    main.append(h("section", { "aria-labelledby": "h-new" }, heading(2, "Ny plass", { id: "h-new" }), orgs.length ? f : p("Registrer en organisasjon først.")));
  }
  main.append(h("section", { "aria-labelledby": "h-all" }, heading(2, "Alle plasser", { id: "h-all" }), list));
  await load();
}
