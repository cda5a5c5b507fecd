// The tenant admin's people and keys: staff users (add, unlock, remove) and API keys (the list
// with each key's state, issue with the secret shown once, revoke per row).
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

// A key's state in words: active, expiring, or revoked and when.
function keyState(k) {
  if (k.revoked_at) return `Trukket tilbake ${fmtTime(k.revoked_at)}`;
  if (k.expires_at) return new Date(k.expires_at) > new Date() ? `Aktiv til ${fmtTime(k.expires_at)}` : `Utløpt ${fmtTime(k.expires_at)}`;
  return "Aktiv";
}

// Revoking asks once more in the row itself (a key in use stops working), with focus on the
// question's yes, and Avbryt putting things back as they were.
function revokeButton(k, cell, out, done) {
  const ask = () => {
    const yes = button(`Ja, trekk tilbake ${k.id}`, () => attempt(out, async () => { await del(`/v1/keys/${encodeURIComponent(k.id)}`); await done(); }, `Nøkkel ${k.id} er trukket tilbake.`), "primary", { "data-color": "danger", "data-size": "sm" });
    const no = button("Avbryt", () => {
      cell.replaceChildren(revokeButton(k, cell, out, done), out);
      cell.querySelector("button").focus();
    }, "tertiary", { "data-size": "sm" });
    cell.replaceChildren(p(`Systemer som bruker nøkkel ${k.id}, mister tilgangen.`, { "data-size": "sm" }), yes, no, out);
    yes.focus();
  };
  return button(`Trekk tilbake ${k.id}`, ask, "secondary", { "data-size": "sm" });
}

export async function keys(main) {
  main.append(heading(1, "API-nøkler"), p("Nøkler gir andre systemer tilgang til API-et. En nøkkel vises bare når den lages."));
  const orgs = await all("/v1/organizations");
  const orgName = Object.fromEntries(orgs.map((o) => [o.id, o.name]));
  const shown = h("div");
  const list = h("div");
  const listHeading = heading(2, "Alle nøkler", { id: "h-all", tabindex: "-1" });
  const row = (k) => {
    const out = h("div");
    const cell = h("td", {});
    cell.append(k.revoked_at ? "" : revokeButton(k, cell, out, async () => { await load(); listHeading.focus(); }), out);
    return h(
      "tr",
      {},
      h("td", {}, h("code", {}, k.id)),
      h("td", {}, k.label || ""),
      h("td", {}, ROLE[k.role] || k.role),
      h("td", {}, k.organization_id ? orgName[k.organization_id] || k.organization_id : ""),
      h("td", {}, fmtTime(k.created_at)),
      h("td", {}, keyState(k)),
      cell,
    );
  };
  const load = async () => {
    // Newest first: the id order the API pages by says nothing to a person.
    const items = (await all("/v1/keys")).sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
    list.replaceChildren(
      items.length
        ? wrap("Nøkler", h(
            "table",
            { class: "ds-table" },
            h("caption", { class: "ds-sr-only" }, "Nøkler"),
            h("thead", {}, h("tr", {}, ["Id", "Hvem den er til", "Rolle", "Organisasjon", "Laget", "Status", "Handlinger"].map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, items.map(row)),
          ))
        : p("Ingen nøkler ennå."),
    );
  };
  const f = form(
    [
      field({ name: "role", label: "Rolle", type: "select", options: ROLES, required: true, value: "reader" }),
      field({ name: "label", label: "Hvem nøkkelen er til" }),
      field({ name: "organization_id", label: "Organisasjon (for samarbeidspartnere)", type: "select", options: orgName }),
    ],
    async (v, el) => {
      const k = await post("/v1/keys", { role: v.role, label: orNull(v.label), organization_id: orNull(v.organization_id) });
      clear(shown).append(h("div", { class: "ds-alert", "data-color": "success", role: "status" }, p(`Nøkkel ${k.id} er laget. Kopier den nå; den vises ikke igjen:`), h("code", {}, k.key)));
      el.reset();
      await load();
    },
    { submit: "Lag nøkkel", label: "Ny nøkkel" },
  );
  main.append(h("section", { "aria-labelledby": "h-new" }, heading(2, "Ny nøkkel", { id: "h-new" }), f, shown), h("section", { "aria-labelledby": "h-all" }, listHeading, list));
  await load();
}
