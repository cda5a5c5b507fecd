// Forms on Designsystemet's fields: a label for every input, errors under their field and in an
// error summary that takes focus and names each field, so a screen reader hears what to fix and
// a keyboard user can jump to it.
import { h, uid, clear, heading, announce } from "./dom.js";
import { ApiError, problemText } from "./api.js";

// field({name, label, type, required, options, value, description, rows}) makes one field.
// options: {value: label} for a select; type "textarea", "checkbox", "select" or an input type.
export function field(spec) {
  const id = uid(spec.name);
  let input;
  const common = { id, name: spec.name, class: "ds-input", required: spec.required || null };
  if (spec.type === "select") {
    input = h(
      "select",
      common,
      spec.required ? null : h("option", { value: "" }, spec.empty || "Velg"),
      Object.entries(spec.options).map(([v, l]) => h("option", { value: v, selected: String(spec.value ?? "") === v }, l)),
    );
  } else if (spec.type === "textarea") {
    input = h("textarea", { ...common, rows: spec.rows || 4 });
    input.value = spec.value ?? "";
  } else if (spec.type === "checkbox") {
    input = h("input", { ...common, type: "checkbox", checked: Boolean(spec.value), required: null });
  } else {
    input = h("input", {
      ...common,
      type: spec.type || "text",
      value: spec.value ?? "",
      autocomplete: spec.autocomplete || null,
      inputmode: spec.inputmode || null,
    });
  }
  const label = h("label", { class: "ds-label", for: id }, spec.label, spec.required ? h("span", { class: "required" }, " (må fylles ut)") : null);
  const msg = h("p", { class: "ds-validation-message", "data-field": "validation", hidden: true });
  const desc = spec.description ? h("p", { class: "ds-paragraph", "data-size": "sm", "data-field": "description" }, spec.description) : null;
  const wrap =
    spec.type === "checkbox"
      ? h("ds-field", { class: "ds-field", "data-name": spec.name }, input, label, desc, msg)
      : h("ds-field", { class: "ds-field", "data-name": spec.name }, label, desc, input, msg);
  wrap._input = input;
  wrap._msg = msg;
  wrap._label = spec.label;
  return wrap;
}

// A group of checkboxes (one value each) in a fieldset, read as an array.
export function checkboxes(name, legend, options, values = []) {
  const msg = h("p", { class: "ds-validation-message", "data-field": "validation", hidden: true });
  const boxes = Object.entries(options).map(([v, l]) => {
    const id = uid(name);
    return h(
      "ds-field",
      { class: "ds-field" },
      h("input", { id, type: "checkbox", class: "ds-input", name, value: v, checked: values.includes(v) }),
      h("label", { class: "ds-label", for: id }, l),
    );
  });
  const fs = h("fieldset", { class: "ds-fieldset", "data-name": name }, h("legend", { class: "ds-label" }, legend), msg, boxes);
  fs._msg = msg;
  fs._label = legend;
  fs._input = fs.querySelector("input");
  fs._group = true;
  return fs;
}

// Norwegian for the validator's most common messages; others are shown as the API says them.
function say(message) {
  const m = String(message || "");
  if (/required|is missing/.test(m)) return "må fylles ut";
  if (/at most|too long/.test(m)) return "er for lang";
  if (/at least|too short/.test(m)) return "er for kort";
  if (/one of/.test(m)) return "må være et av valgene";
  if (/date/.test(m)) return "må være en gyldig dato";
  if (/e-mail|email/.test(m)) return "må være en gyldig e-postadresse";
  if (/taken|another user/.test(m)) return "er allerede i bruk";
  if (/integer|number/.test(m)) return "må være et tall";
  return `er ikke gyldig (${m})`;
}

// form(title, fields, onSubmit, {submit}) makes a form; onSubmit(values, form) may throw an
// ApiError, whose field errors are shown at their fields and in the summary.
export function form(fields, onSubmit, opts = {}) {
  const summary = h("div", { class: "summary-slot" });
  const submit = h("button", { type: "submit", class: "ds-button", "data-variant": "primary" }, opts.submit || "Lagre");
  const el = h("form", { class: "stack", novalidate: true, "aria-label": opts.label || null }, summary, fields, h("div", { class: "actions" }, submit, opts.extra || null));
  const byName = {};
  for (const f of fields.flat()) if (f && f.dataset && f.dataset.name) byName[f.dataset.name] = f;

  el.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(byName, summary);
    const values = read(el, byName);
    const missing = Object.values(byName).filter((f) => f._input && f._input.required && !hasValue(values[f.dataset.name]));
    if (missing.length) {
      showErrors(summary, missing.map((f) => [f, "må fylles ut"]));
      return;
    }
    submit.disabled = true;
    try {
      await onSubmit(values, el);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const named = (err.problem.errors || []).map((e) => [byName[String(e.field).split(".")[0]], say(e.message), e.field]);
      const known = named.filter(([f]) => f);
      if (known.length) showErrors(summary, known);
      else showProblem(summary, await problemText(err));
    } finally {
      submit.disabled = false;
    }
  });
  return el;
}

function hasValue(v) {
  return Array.isArray(v) ? v.length > 0 : v !== "" && v !== null && v !== undefined;
}

function read(el, byName) {
  const values = {};
  for (const [name, f] of Object.entries(byName)) {
    if (f._group) values[name] = [...f.querySelectorAll("input:checked")].map((i) => i.value);
    else if (f._input.type === "checkbox") values[name] = f._input.checked;
    else values[name] = f._input.value.trim();
  }
  return values;
}

function clearErrors(byName, summary) {
  clear(summary);
  for (const f of Object.values(byName)) {
    f._msg.hidden = true;
    f._msg.textContent = "";
    if (f._input) f._input.removeAttribute("aria-invalid");
  }
}

function showErrors(summary, list) {
  const items = list.map(([f, text]) => {
    f._msg.textContent = `${f._label} ${text}`;
    f._msg.hidden = false;
    f._input.setAttribute("aria-invalid", "true");
    const a = h("a", { class: "ds-link", href: `#${f._input.id}` }, `${f._label} ${text}`);
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      f._input.focus();
    });
    return h("li", {}, a);
  });
  summary.append(
    h("ds-error-summary", { class: "ds-error-summary" }, heading(2, "Rett opp dette før du lagrer:"), h("ul", { class: "ds-list" }, items)),
  );
  const box = summary.firstChild;
  box.setAttribute("tabindex", "-1");
  box.focus();
}

export function showProblem(slot, text) {
  clear(slot);
  const box = h("div", { class: "ds-alert", "data-color": "danger", role: "alert", tabindex: "-1" }, h("p", { class: "ds-paragraph" }, text));
  slot.append(box);
  box.focus();
}

// Reports the outcome of an action that is not a form (a button): an alert in slot.
export async function attempt(slot, fn, done) {
  clear(slot);
  try {
    await fn();
    if (done) announce(done);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showProblem(slot, err.missing ? "Denne funksjonen er ikke tilgjengelig ennå." : await problemText(err));
  }
}

export const tags = (s) =>
  String(s || "")
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
export const orNull = (s) => (s === "" ? null : s);
