// Sign-in: kommune, e-mail and password. A wrong combination and a locked account are said
// plainly, in the form's alert, which takes focus.
import { h, heading, p } from "../dom.js";
import { post } from "../api.js";
import { field, form } from "../forms.js";

export function signIn(main, done) {
  const last = localStorage.getItem("bro_tenant") || "";
  const fields = [
    field({ name: "tenant", label: "Kommune (kortnavn)", required: true, value: last, autocomplete: "organization", description: "For eksempel ringerike." }),
    field({ name: "email", label: "E-post", type: "email", required: true, autocomplete: "username" }),
    field({ name: "password", label: "Passord", type: "password", required: true, autocomplete: "current-password" }),
  ];
  const f = form(
    fields,
    async (v) => {
      const session = await post("/v1/sessions", { tenant: v.tenant.toLowerCase(), email: v.email, password: v.password }, { signingIn: true });
      localStorage.setItem("bro_tenant", v.tenant.toLowerCase());
      sessionStorage.setItem("bro_name", session.user.name);
      done(session);
    },
    { submit: "Logg inn", label: "Logg inn" },
  );
  main.append(h("div", { class: "signin" }, heading(1, "Logg inn i Brobygger", { tabindex: "-1" }), p("For ansatte i kommunens arbeids- og aktivitetstjeneste."), f));
}
