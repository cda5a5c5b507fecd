// The coordinator's page: signs in, then shows the work of the day by hash routes (#/tavle,
// #/deltakere, #/deltaker/<id>, ...). Each route renders into <main> from the API's answers;
// focus moves to the new page's heading and a live region says what happened, unless the person
// has moved focus themselves while the page was still loading, or has navigated on.
import "@digdir/designsystemet-web";
import { h, clear, heading, announce, p, button } from "./dom.js";
import { get, del, setCsrf, whenSignedOut, ApiError } from "./api.js";
import { ROLE } from "./i18n.js";
import { signIn } from "./pages/signin.js";
import { board } from "./pages/board.js";
import { candidates } from "./pages/candidates.js";
import { candidate } from "./pages/candidate.js";
import { organizations, openings } from "./pages/partners.js";
import { matching, reports, webhooks } from "./pages/async.js";
import { users, keys } from "./pages/admin.js";

const STAFF = ["tenant_admin", "coordinator"];
const ROUTES = [
  { path: "tavle", title: "Tavle", roles: STAFF, render: board },
  { path: "deltakere", title: "Deltakere", roles: STAFF, render: candidates },
  { path: "deltaker", title: "Deltaker", roles: [...STAFF, "partner"], render: candidate, hidden: true },
  { path: "organisasjoner", title: "Organisasjoner", roles: STAFF, render: organizations },
  { path: "plasser", title: "Plasser og aktiviteter", roles: [...STAFF, "partner"], render: openings },
  { path: "matching", title: "Matching", roles: [...STAFF, "partner"], render: matching },
  { path: "rapporter", title: "Rapporter", roles: [...STAFF, "reader"], render: reports },
  { path: "webhooker", title: "Webhooker", roles: ["tenant_admin"], render: webhooks },
  { path: "brukere", title: "Brukere", roles: ["tenant_admin"], render: users },
  { path: "nokler", title: "API-nøkler", roles: ["tenant_admin"], render: keys },
];

const state = { me: null };

// Each navigation's number: a render that finishes after a newer navigation began is stale and
// neither moves focus nor speaks.
let navigation = 0;

// Puts focus on the page's heading, if it has one yet; returns the heading or null.
function focusHeading(main) {
  const h1 = main.querySelector("h1");
  if (!h1) return null;
  h1.setAttribute("tabindex", "-1");
  h1.focus();
  return h1;
}

// Whether focus is still where the navigation left it: on the heading it focused (left), or,
// when the page had none yet or replaced it, on the body (the focused element is gone) or
// <main>. Focus anywhere else was put there by the person (a field, a <summary> opened while
// the list was still loading), and a late render must leave it there.
function focusUntouched(main, left) {
  const el = document.activeElement;
  return el === left || el === null || el === document.body || el === main || !el.isConnected;
}

function home(me) {
  if (me.role === "partner") return "#/matching";
  if (me.role === "reader") return "#/rapporter";
  return "#/tavle";
}

function nav(me, current) {
  const items = ROUTES.filter((r) => !r.hidden && r.roles.includes(me.role)).map((r) =>
    h("li", {}, h("a", { class: "ds-link", href: `#/${r.path}`, "aria-current": r.path === current ? "page" : null }, r.title)),
  );
  return h("nav", { "aria-label": "Hovedmeny" }, h("ul", { class: "nav-list" }, items));
}

async function signOut(everywhere) {
  try {
    await del(everywhere ? "/v1/sessions" : `/v1/sessions/${state.me.session_id}`);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
  }
  state.me = null;
  setCsrf(null);
  location.hash = "#/logg-inn";
  announce(everywhere ? "Du er logget ut på alle enheter." : "Du er logget ut.");
}

function layout(route) {
  const app = document.getElementById("app");
  clear(app);
  const me = state.me;
  const header = h(
    "header",
    { class: "top" },
    h("div", { class: "brand" }, h("a", { class: "ds-link brand-link", href: home(me) }, "Brobygger")),
    nav(me, route && route.path),
    h(
      "div",
      { class: "who" },
      p(`${me.name || ""} · ${ROLE[me.role] || me.role}`, { "data-size": "sm" }),
      button("Logg ut", () => signOut(false), "secondary", { "data-size": "sm" }),
      button("Logg ut overalt", () => signOut(true), "tertiary", { "data-size": "sm" }),
    ),
  );
  const main = h("main", { id: "main", tabindex: "-1" });
  app.append(header, main, h("div", { id: "status-region", class: "ds-sr-only", role: "status", "aria-live": "polite" }));
  return main;
}

async function loadMe() {
  try {
    const me = await get("/v1/me");
    if (!me.session_id) return null;
    setCsrf(me.csrf_token);
    return me;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

async function route() {
  const hash = location.hash || "";
  if (hash && !hash.startsWith("#/")) return; // an in-page link (error summary, skip link)
  const [path, ...rest] = hash.slice(2).split("/");
  const mine = ++navigation;
  if (state.me === null) state.me = await loadMe();
  if (mine !== navigation) return;
  if (!state.me || path === "logg-inn") {
    if (state.me && path === "logg-inn") {
      location.hash = home(state.me);
      return;
    }
    renderSignIn();
    return;
  }
  const r = ROUTES.find((x) => x.path === path && x.roles.includes(state.me.role));
  if (!r) {
    location.replace(home(state.me));
    return;
  }
  const main = layout(r);
  document.title = `${r.title} – Brobygger`;
  // A page puts its heading in place before it waits for the API, so focus can go there at
  // once (Tab then starts from it, not from the top), and again after the render only if the
  // person has not moved it meanwhile.
  const rendering = r.render(main, { me: state.me, args: rest.map(decodeURIComponent) });
  const left = focusHeading(main);
  try {
    await rendering;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 401 || mine !== navigation) return;
    clear(main).append(heading(1, r.title, { tabindex: "-1" }), p(err.missing ? "Denne delen er ikke tilgjengelig ennå." : "Siden kunne ikke lastes. Prøv igjen."));
  }
  if (mine !== navigation) return;
  if (focusUntouched(main, left)) focusHeading(main);
  announce(`${document.title} er lastet.`); // a page may name itself (a candidate's page does)
  performance.mark("app-ready");
}

function renderSignIn() {
  const app = document.getElementById("app");
  clear(app);
  const main = h("main", { id: "main", tabindex: "-1" });
  app.append(main, h("div", { id: "status-region", class: "ds-sr-only", role: "status", "aria-live": "polite" }));
  document.title = "Logg inn – Brobygger";
  signIn(main, (session) => {
    setCsrf(session.csrf_token);
    state.me = { ...session.user, role: session.user.role, session_id: session.session_id, user_id: session.user.id };
    location.hash = home(state.me);
  });
  main.querySelector("h1").focus();
  performance.mark("app-ready");
}

whenSignedOut(() => {
  if (state.me) {
    state.me = null;
    location.hash = "#/logg-inn";
  }
});

window.addEventListener("hashchange", route);
route();
