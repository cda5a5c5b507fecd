// Building the page's elements without HTML strings: every text goes in as a text node, so
// nothing the API sends can become markup.

// h("p", {class: "x", on: {click: fn}}, "text", child, [more]) makes an element. Attributes
// with the value false, null or undefined are left out; true gives an empty attribute.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "on") {
      for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    } else if (name === "text") {
      el.textContent = value;
    } else if (name === "value" && "value" in el) {
      el.value = value;
    } else if (name === "checked" || name === "selected") {
      el[name] = Boolean(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

let nextId = 0;
// A fresh id for label/input pairs.
export function uid(prefix = "f") {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

// The polite live region every page shares: what a screen reader says after an action.
export function announce(text) {
  const region = document.getElementById("status-region");
  if (!region) return;
  region.textContent = "";
  // A new text node after a tick, so the same message twice is still read.
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

export function heading(level, text, attrs = {}) {
  const sizes = { 1: "lg", 2: "md", 3: "sm" };
  return h(`h${level}`, { class: "ds-heading", "data-size": sizes[level] || "xs", ...attrs }, text);
}

export function p(text, attrs = {}) {
  return h("p", { class: "ds-paragraph", ...attrs }, text);
}

export function button(text, onClick, variant = "primary", attrs = {}) {
  return h("button", { type: "button", class: "ds-button", "data-variant": variant, on: { click: onClick }, ...attrs }, text);
}

export function link(text, href, attrs = {}) {
  return h("a", { class: "ds-link", href, ...attrs }, text);
}

export function alert(text, color = "info") {
  return h("div", { class: "ds-alert", "data-color": color }, p(text));
}

export function fmtDate(value) {
  if (!value) return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleDateString("nb-NO", { day: "numeric", month: "short", year: "numeric" });
}

export function fmtTime(value) {
  if (!value) return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleString("nb-NO", { dateStyle: "medium", timeStyle: "short" });
}
