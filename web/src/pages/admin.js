// The tenant admin's people and keys: staff users (add, unlock, remove) and API keys (issue,
// shown once, and revoke).
import { h, heading, p, clear, announce, button, fmtTime } from "../dom.js";
import { all, post, patch, del } from "../api.js";
import { ROLE } from "../i18n.js";
import { field, form, attempt, orNull } from "../forms.js";
import { wrap } from "./partners.js";

const ROLES = { coordinator: ROLE.coordinator, tenant_admin: ROLE.tenant_admin, reader: ROLE.reader, partner: ROLE.partner };

export async function users(main, ctx) {
  main.append(heading(1, "Brukere"));
  const list = h("div");
  const orgs = await all("/v1/organizations");
  const load = async () => {
    const items = await all("/v1/users");
    list.replaceChildren(wrap("Brukere",
      h(
        "table",
        { class: "ds-table" },
        h("caption", { class: "ds-sr-only" }, "Brukere"),
        h("thead", {}, h("tr", {}, ["Navn", "E-post", "Rolle", "Sist innlogget", "Handlinger"].map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          items.map((u) => {
            const out = h("div");
            return h(
              "tr",
              {},
              h("td", {}, u.name),
              h("td", {}, u.email),
              h("td", {}, ROLE[u.role] || u.role, u.locked ? " (låst)" : ""),
              h("td", {}, fmtTime(u.last_sign_in_at) || "Aldri"),
              h(
                "td",
                {},
                u.locked ? button(`Lås opp ${u.name}`, () => attempt(out, async () => { await patch(`/v1/users/${u.id}`, { unlock: true }); await load(); }, `${u.name} er låst opp.`), "secondary", { "data-size": "sm" }) : null,
                u.id === ctx.me.user_id ? null : button(`Fjern ${u.name}`, () => attempt(out, async () => { await del(`/v1/users/${u.id}`); await load(); }, `${u.name} er fjernet.`), "tertiary", { "data-size": "sm" }),
                out,
              ),
            );
          }),
        ),
      ),
    ));
  };
  const f = form(
    [
      field({ name: "name", label: "Navn", required: true }),
      field({ name: "email", label: "E-post", type: "email", required: true }),
      field({ name: "role", label: "Rolle", type: "select", options: ROLES, required: true, value: "coordinator" }),
      field({ name: "organization_id", label: "Organisasjon (for samarbeidspartnere)", type: "select", options: Object.fromEntries(orgs.map((o) => [o.id, o.name])) }),
      field({ name: "password", label: "Startpassord", type: "password", required: true, autocomplete: "new-password", description: "Minst 12 tegn." }),
    ],
    async (v, el) => {
      await post("/v1/users", { name: v.name, email: v.email, role: v.role, organization_id: orNull(v.organization_id), password: v.password });
      el.reset();
      announce(`${v.name} er lagt til.`);
      await load();
    },
    { submit: "Legg til bruker", label: "Ny bruker" },
  );
  main.append(h("section", { "aria-labelledby": "h-new" }, heading(2, "Ny bruker", { id: "h-new" }), f), h("section", { "aria-labelledby": "h-all" }, heading(2, "Alle brukere", { id: "h-all" }), list));
  await load();
}

export async function keys(main) {
  main.append(heading(1, "API-nøkler"), p("Nøkler gir andre systemer tilgang til API-et. En nøkkel vises bare når den lages."));
  const shown = h("div");
  const f = form(
    [
      field({ name: "role", label: "Rolle", type: "select", options: ROLES, required: true, value: "reader" }),
      field({ name: "label", label: "Hvem nøkkelen er til" }),
    ],
    async (v, el) => {
      const k = await post("/v1/keys", { role: v.role, label: orNull(v.label) });
      clear(shown).append(h("div", { class: "ds-alert", "data-color": "success", role: "status" }, p(`Nøkkel ${k.id} er laget. Kopier den nå; den vises ikke igjen:`), h("code", {}, k.key)));
      el.reset();
    },
    { submit: "Lag nøkkel", label: "Ny nøkkel" },
  );
  const out = h("div");
  const revoke = form([field({ name: "key_id", label: "Nøkkel-id (8 tegn)", required: true })], async (v, el) => {
    await del(`/v1/keys/${encodeURIComponent(v.key_id)}`);
    el.reset();
    announce(`Nøkkel ${v.key_id} er trukket tilbake.`);
  }, { submit: "Trekk tilbake", label: "Trekk tilbake nøkkel" });
  main.append(h("section", { "aria-labelledby": "h-new" }, heading(2, "Ny nøkkel", { id: "h-new" }), f, shown), h("section", { "aria-labelledby": "h-rev" }, heading(2, "Trekk tilbake en nøkkel", { id: "h-rev" }), revoke, out));
}
