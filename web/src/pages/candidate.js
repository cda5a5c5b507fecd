// A candidate's page: profile, status with reason, kartlegging, consents (give, withdraw),
// plans with steps, the journal (append, correct), matches with their explanations and the
// access log. Each section loads on its own, so one route missing leaves the others working.
import { h, heading, p, clear, announce, button, fmtDate, fmtTime } from "../dom.js";
import { get, post, patch, del, all, query, ApiError, problemText } from "../api.js";
import { STATUS, MEASURE, INCOME, SCOPE, METHOD, JOURNAL, MATCH, OPENING_KIND, ROLE, name } from "../i18n.js";
import { field, form, checkboxes, tags, orNull, attempt } from "../forms.js";
import { wrap } from "./partners.js";

const today = () => new Date().toISOString().slice(0, 10);
const staff = (me) => me.role === "coordinator" || me.role === "tenant_admin";

function section(id, title, ...body) {
  return h("section", { class: "block", id: `s-${id}`, "aria-labelledby": `h-${id}` }, heading(2, title, { id: `h-${id}` }), ...body);
}

function dl(rows) {
  return h(
    "dl",
    { class: "facts" },
    rows.filter(([, v]) => v !== "" && v !== null && v !== undefined && !(Array.isArray(v) && !v.length)).map(([k, v]) => [h("dt", {}, k), h("dd", {}, Array.isArray(v) ? v.join(", ") : String(v))]),
  );
}

// Runs load() into slot; a route that answers 404 or 403 leaves a sentence instead.
async function fill(slot, load) {
  clear(slot);
  try {
    await load(slot);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status === 401) throw err;
    slot.append(p(err.missing ? "Ikke tilgjengelig ennå." : err.status === 403 ? "Du har ikke tilgang til dette." : await problemText(err)));
  }
}

export async function candidate(main, ctx) {
  const id = ctx.args[0];
  let c = await get(`/v1/candidates/${id}`);
  const me = ctx.me;
  const title = h("h1", { class: "ds-heading", "data-size": "lg" });
  const setTitle = () => {
    const n = `${c.given_name || ""} ${c.family_name || ""}`.trim();
    title.textContent = n ? `${n} (${c.ref || ""})` : `Deltaker ${c.ref || ""} – navn vises ikke uten samtykke`;
    document.title = `${n || "Deltaker"} – Brobygger`;
  };
  setTitle();
  const toc = h(
    "nav",
    { "aria-label": "Innhold på siden", class: "toc" },
    h(
      "ul",
      { class: "nav-list" },
      [
        ["profil", "Profil"],
        ["status", "Status"],
        ["kartlegging", "Kartlegging"],
        ["samtykker", "Samtykker"],
        ["plan", "Plan"],
        ["journal", "Journal"],
        ["matcher", "Matcher"],
        ["tilgang", "Tilgangslogg"],
      ]
        .filter(([k]) => staff(me) || k === "profil" || k === "matcher")
        .map(([k, t]) => h("li", {}, h("a", { class: "ds-link", href: `#s-${k}`, on: { click: jump(`h-${k}`) } }, t))),
    ),
  );
  main.append(title, toc);

  const profile = h("div");
  const renderProfile = () =>
    profile.replaceChildren(
      dl([
        ["Nummer", c.ref],
        ["Status", name(STATUS, c.status)],
        ["Tiltak", name(MEASURE, c.measure)],
        ["Fødselsår", c.birth_year],
        ["Aldersgruppe", c.age_band],
        ["Telefon", c.phone],
        ["E-post", c.email],
        ["Postnummer", c.postal_code],
        ["Inntektsgrunnlag", name(INCOME, c.income_basis)],
        ["Henvist fra", c.referral_source],
        ["Interesser", c.interests],
        ["Ferdigheter", c.skills],
        ["Tilrettelegging", c.accommodations],
        ["Språk", c.languages],
      ]),
    );
  renderProfile();
  main.append(section("profil", "Profil", profile, staff(me) ? editProfile() : null));
  if (!staff(me)) {
    main.append(section("matcher", "Matcher", matches()));
    return;
  }
  main.append(
    section("status", "Status", statusForm(), history()),
    section("kartlegging", "Kartlegging", assessments()),
    section("samtykker", "Samtykker", consents()),
    section("plan", "Plan", plans()),
    section("journal", "Journal", journal()),
    section("matcher", "Matcher", matches()),
    section("tilgang", "Tilgangslogg", accessLog()),
  );

  function jump(target) {
    return (ev) => {
      ev.preventDefault();
      const el = document.getElementById(target);
      el.setAttribute("tabindex", "-1");
      el.focus();
      el.scrollIntoView();
    };
  }

  function editProfile() {
    const f = form(
      [
        field({ name: "given_name", label: "Fornavn", required: true, value: c.given_name }),
        field({ name: "family_name", label: "Etternavn", required: true, value: c.family_name }),
        field({ name: "birth_year", label: "Fødselsår", value: c.birth_year, inputmode: "numeric" }),
        field({ name: "phone", label: "Telefon", type: "tel", value: c.phone }),
        field({ name: "email", label: "E-post", type: "email", value: c.email }),
        field({ name: "postal_code", label: "Postnummer", value: c.postal_code, inputmode: "numeric" }),
        field({ name: "income_basis", label: "Inntektsgrunnlag", type: "select", options: INCOME, value: c.income_basis }),
        field({ name: "interests", label: "Interesser", value: (c.interests || []).join(", "), description: "Skill med komma." }),
        field({ name: "skills", label: "Ferdigheter", value: (c.skills || []).join(", "), description: "Skill med komma." }),
      ],
      async (v) => {
        c = await patch(
          `/v1/candidates/${id}`,
          {
            given_name: v.given_name,
            family_name: v.family_name,
            birth_year: v.birth_year ? Number(v.birth_year) : null,
            phone: orNull(v.phone),
            email: orNull(v.email),
            postal_code: orNull(v.postal_code),
            income_basis: orNull(v.income_basis),
            interests: tags(v.interests),
            skills: tags(v.skills),
          },
          { ifMatch: c.etag },
        );
        renderProfile();
        setTitle();
        announce("Profilen er lagret.");
      },
      { submit: "Lagre profil", label: "Endre profil" },
    );
    return h("details", { class: "ds-details" }, h("summary", {}, "Endre profil"), h("div", {}, f));
  }

  function statusForm() {
    return form(
      [
        field({ name: "to", label: "Ny status", type: "select", options: STATUS, required: true, value: "" }),
        field({ name: "measure", label: "Tiltak (ved «I tiltak»)", type: "select", options: MEASURE }),
        field({ name: "reason", label: "Begrunnelse", type: "textarea", rows: 2 }),
      ],
      async (v) => {
        c = await post(`/v1/candidates/${id}/status`, { to: v.to, reason: orNull(v.reason), measure: orNull(v.measure) });
        renderProfile();
        await fill(historySlot, loadHistory);
        announce(`Status er endret til ${name(STATUS, c.status)}.`);
      },
      { submit: "Endre status", label: "Endre status" },
    );
  }

  var historySlot;
  async function loadHistory(slot) {
    const items = (await get(`/v1/candidates/${id}/history?limit=50`)).items;
    slot.append(
      heading(3, "Historikk"),
      h(
        "ol",
        { class: "ds-list" },
        items.map((x) => h("li", {}, `${fmtTime(x.at)}: ${name(STATUS, x.from_status) || "–"} → ${name(STATUS, x.to_status)}${x.measure ? ` (${name(MEASURE, x.measure)})` : ""}${x.reason ? `. ${x.reason}` : ""}`)),
      ),
    );
  }
  function history() {
    historySlot = h("div");
    fill(historySlot, loadHistory);
    return historySlot;
  }

  function assessments() {
    const list = h("div");
    const load = async (slot) => {
      const items = await all(`/v1/candidates/${id}/assessments`);
      if (!items.length) slot.append(p("Ingen kartlegging ennå."));
      for (const a of items)
        slot.append(
          h(
            "article",
            { class: "ds-card entry" },
            heading(3, `Kartlegging ${fmtDate(a.conducted_at || a.created_at)}`),
            dl([
              ["Ressurser", a.resources],
              ["Utfordringer", a.challenges],
              ["Særlige hensyn", a.special_considerations],
              ["Utdanning", a.education],
              ["Arbeidserfaring", a.work_experience],
              ["Kommunikasjon", a.communication],
              ["Ønsker", a.wishes],
            ]),
          ),
        );
    };
    fill(list, load);
    const f = form(
      [
        field({ name: "resources", label: "Ressurser", type: "textarea", required: true }),
        field({ name: "challenges", label: "Utfordringer", type: "textarea" }),
        field({ name: "wishes", label: "Ønsker", type: "textarea" }),
        field({ name: "conducted_at", label: "Dato for kartleggingen", type: "date", value: today() }),
      ],
      async (v, el) => {
        await post(`/v1/candidates/${id}/assessments`, { resources: v.resources, challenges: orNull(v.challenges), wishes: orNull(v.wishes), conducted_at: orNull(v.conducted_at) });
        el.reset();
        await fill(list, load);
        announce("Kartleggingen er lagret.");
      },
      { submit: "Lagre kartlegging", label: "Ny kartlegging" },
    );
    return h("div", {}, list, h("details", { class: "ds-details" }, h("summary", {}, "Ny kartlegging"), h("div", {}, f)));
  }

  function consents() {
    const list = h("div");
    const load = async (slot) => {
      const items = await all(`/v1/candidates/${id}/consents`);
      if (!items.length) slot.append(p("Ingen samtykker registrert."));
      for (const s of items) {
        const out = h("div");
        const withdrawn = Boolean(s.withdrawn_at);
        slot.append(
          h(
            "article",
            { class: "ds-card entry" },
            heading(3, (s.scope || []).map((x) => name(SCOPE, x)).join(", ")),
            dl([
              ["Gitt", fmtDate(s.given_at)],
              ["Måte", name(METHOD, s.method)],
              ["Utløper", fmtDate(s.expires_at)],
              ["Trukket tilbake", withdrawn ? `${fmtDate(s.withdrawn_at)}${s.withdrawal_reason ? ` (${s.withdrawal_reason})` : ""}` : ""],
            ]),
            withdrawn
              ? null
              : form([field({ name: "reason", label: "Grunn til at samtykket trekkes", required: true })], async (v) => {
                  await del(`/v1/candidates/${id}/consents/${s.id}${query({ reason: v.reason })}`);
                  await fill(list, load);
                  announce("Samtykket er trukket tilbake.");
                  list.querySelector("h3")?.focus();
                }, { submit: "Trekk tilbake", label: "Trekk tilbake samtykke" }),
            out,
          ),
        );
      }
    };
    fill(list, load);
    const f = form(
      [
        checkboxes("scope", "Hva samtykket gjelder", SCOPE),
        field({ name: "given_at", label: "Dato gitt", type: "date", required: true, value: today() }),
        field({ name: "method", label: "Måte", type: "select", options: METHOD, required: true, value: "skriftlig" }),
        field({ name: "expires_at", label: "Utløper", type: "date" }),
      ],
      async (v, el) => {
        await post(`/v1/candidates/${id}/consents`, { scope: v.scope, given_at: v.given_at, method: v.method, expires_at: orNull(v.expires_at) });
        el.reset();
        await fill(list, load);
        announce("Samtykket er registrert.");
      },
      { submit: "Registrer samtykke", label: "Nytt samtykke" },
    );
    return h("div", {}, list, h("details", { class: "ds-details" }, h("summary", {}, "Registrer samtykke"), h("div", {}, f)));
  }

  function plans() {
    const list = h("div");
    const load = async (slot) => {
      const items = await all(`/v1/candidates/${id}/plans`);
      if (!items.length) slot.append(p("Ingen plan ennå."));
      for (const pl of items) {
        const steps = (pl.steps || []).map((s, i) => {
          const box = field({ name: `step-${i}`, label: `${s.text}${s.due ? ` (frist ${fmtDate(s.due)})` : ""}${s.responsible ? `, ansvarlig: ${s.responsible}` : ""}`, type: "checkbox", value: s.done });
          box._input.addEventListener("change", async () => {
            const next = pl.steps.map((x, j) => (j === i ? { ...x, done: box._input.checked } : x));
            try {
              const saved = await patch(`/v1/candidates/${id}/plans/${pl.id}`, { steps: next }, { ifMatch: pl.etag });
              Object.assign(pl, saved);
              announce(box._input.checked ? "Steget er markert som utført." : "Steget er markert som ikke utført.");
            } catch (err) {
              box._input.checked = !box._input.checked;
              announce(err instanceof ApiError ? await problemText(err) : "Kunne ikke lagre.");
            }
          });
          return h("li", {}, box);
        });
        slot.append(
          h(
            "article",
            { class: "ds-card entry" },
            heading(3, `Plan fra ${fmtDate(pl.valid_from || pl.created_at)}`),
            dl([["Mål", pl.goals]]),
            steps.length ? h("fieldset", { class: "ds-fieldset" }, h("legend", { class: "ds-label" }, "Steg"), h("ul", { class: "ds-list--unstyled steps" }, steps)) : null,
          ),
        );
      }
    };
    fill(list, load);
    const f = form(
      [
        field({ name: "goals", label: "Mål", type: "textarea", rows: 2, required: true, description: "Ett mål per linje." }),
        field({ name: "steps", label: "Steg", type: "textarea", rows: 3, description: "Ett steg per linje." }),
        field({ name: "valid_from", label: "Gjelder fra", type: "date", value: today() }),
      ],
      async (v, el) => {
        const lines = (s) => s.split("\n").map((x) => x.trim()).filter(Boolean);
        await post(`/v1/candidates/${id}/plans`, { goals: lines(v.goals), steps: lines(v.steps).map((text) => ({ text, done: false })), valid_from: orNull(v.valid_from) });
        el.reset();
        await fill(list, load);
        announce("Planen er lagret.");
      },
      { submit: "Lagre plan", label: "Ny plan" },
    );
    return h("div", {}, list, h("details", { class: "ds-details" }, h("summary", {}, "Ny plan"), h("div", {}, f)));
  }

  function journal() {
    const list = h("div");
    let correcting = null;
    const load = async (slot) => {
      const items = await all(`/v1/candidates/${id}/journal`);
      if (!items.length) slot.append(p("Journalen er tom."));
      slot.append(
        h(
          "ol",
          { class: "ds-list--unstyled journal" },
          items.map((j) =>
            h(
              "li",
              { class: "ds-card entry" },
              heading(3, `${name(JOURNAL, j.kind)} ${fmtTime(j.occurred_at)}`),
              p(j.text || ""),
              p(`${j.corrects ? "Retting. " : ""}${j.corrected_by ? "Rettet senere. " : ""}Skrevet av ${name(ROLE, j.author_role)}.`, { "data-size": "sm" }),
              button("Rett denne", () => {
                correcting = j.id;
                text._input.value = j.text || "";
                text._input.focus();
                announce("Skriv rettingen i feltet Tekst og lagre.");
              }, "tertiary", { "data-size": "sm" }),
            ),
          ),
        ),
      );
    };
    fill(list, load);
    const text = field({ name: "text", label: "Tekst", type: "textarea", required: true });
    const f = form(
      [
        field({ name: "kind", label: "Type", type: "select", options: JOURNAL, required: true, value: "samtale" }),
        field({ name: "occurred_at", label: "Tidspunkt", type: "datetime-local", required: true, value: new Date(Date.now() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16) }),
        text,
      ],
      async (v, el) => {
        await post(`/v1/candidates/${id}/journal`, { kind: v.kind, text: v.text, occurred_at: new Date(v.occurred_at).toISOString(), corrects: correcting });
        const said = correcting ? "Rettingen er lagt til i journalen." : "Notatet er lagt til i journalen.";
        correcting = null;
        text._input.value = "";
        await fill(list, load);
        announce(said);
      },
      { submit: "Legg til i journalen", label: "Nytt journalnotat" },
    );
    return h("div", {}, f, list);
  }

  function matches() {
    const list = h("div");
    const load = async (slot) => {
      const items = await all(`/v1/candidates/${id}/matches`).catch(async (err) => {
        if (err instanceof ApiError && err.status === 403) return (await all(`/v1/matches${query({ candidate_id: id })}`));
        throw err;
      });
      if (!items.length) slot.append(p("Ingen matcher ennå."));
      for (const m of items) {
        let opening = null;
        try {
          opening = await get(`/v1/openings/${m.opening_id}`);
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
        }
        const out = h("div");
        const setStatus = (status, done) => () =>
          attempt(out, async () => {
            await patch(`/v1/matches/${m.id}`, { status });
            await fill(list, load);
          }, done);
        slot.append(
          h(
            "article",
            { class: "ds-card entry" },
            heading(3, opening ? `${opening.title} (${name(OPENING_KIND, opening.kind)})` : "Plass"),
            dl([
              ["Status", name(MATCH, m.status)],
              ["Poeng", m.score !== null && m.score !== undefined ? Math.round(m.score * 100) / 100 : ""],
            ]),
            m.explanation && m.explanation.length
              ? h("div", {}, heading(4, "Hvorfor denne matchen"), h("ul", { class: "ds-list" }, m.explanation.map((e) => h("li", {}, explain(e)))))
              : null,
            h("div", { class: "actions" }, button("Godta", setStatus("interested", "Matchen er godtatt."), "secondary"), button("Avslå", setStatus("declined", "Matchen er avslått."), "tertiary")),
            out,
          ),
        );
      }
    };
    fill(list, load);
    return list;
  }

  function accessLog() {
    const list = h("div");
    fill(list, async (slot) => {
      const items = (await get(`/v1/candidates/${id}/access-log?limit=100`)).items;
      slot.append(wrap("Tilgangslogg",
        h(
          "table",
          { class: "ds-table" },
          h("caption", { class: "ds-sr-only" }, "Hvem har sett eller endret saken"),
          h("thead", {}, h("tr", {}, ["Når", "Hvem", "Rolle", "Hva"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, items.map((a) => h("tr", {}, h("td", {}, fmtTime(a.at)), h("td", {}, who(a.key_id)), h("td", {}, name(ROLE, a.role)), h("td", {}, a.action)))),
        ),
      ));
    });
    return list;
  }
}

function who(keyId) {
  return keyId && keyId.startsWith("user:") ? `Bruker ${keyId.slice(5, 13)}` : `Nøkkel ${keyId}`;
}

// A match's explanation as the matching module gives it: a text, or {factor, text|detail, ...}.
function explain(e) {
  if (typeof e === "string") return e;
  if (e && typeof e === "object") return e.text || e.label || e.detail || [e.factor, e.value].filter(Boolean).join(": ") || JSON.stringify(e);
  return String(e);
}
