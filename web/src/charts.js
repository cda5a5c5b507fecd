// A report's tables on the page: each table as a table, and beside the ones worth looking at a
// chart drawn here as SVG (bars for counts by group, lines for the months). A chart is one image
// to a screen reader (role="img", its title and a description); the table beside it holds the
// numbers, so nothing is only in the picture.
import { h, heading, p, uid } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const BARS_MAX = 40; // rows a bar chart shows; a longer table is left as a table
const TOTAL = /^(totalt|i alt|antall kandidater)$/i; // a count table's sum row, not charted
// Each line's look, so the series differ by dash as well as by colour (not by colour alone).
const LINES = ["line-1", "line-2", "line-3", "line-4", "line-5"];

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const fmt = (n) => (n === null || n === undefined ? "skjult" : Number(n).toLocaleString("nb-NO"));

// The smallest of 1, 2, 5 times a power of ten that is at least max: the axis's top.
export function niceMax(max) {
  if (!(max > 0)) return 1;
  const pow = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * pow >= max) return m * pow;
  return 10 * pow;
}

// "2026-05" as "mai 2026"; anything else as it is.
function monthName(label) {
  if (!/^\d{4}-\d{2}$/.test(label)) return label;
  return new Date(`${label}-01T00:00:00Z`).toLocaleDateString("nb-NO", { month: "short", year: "numeric", timeZone: "UTC" });
}

// The axis's marks from 0 to top, at whole steps: 1, 2 or 5 times a power of ten.
export function ticks(top) {
  const pow = 10 ** Math.floor(Math.log10(top));
  const n = Number.isInteger(top) && top <= 5 ? top : Math.round(top / pow) === 2 ? 4 : 5;
  return Array.from({ length: n + 1 }, (_, i) => (top * i) / n);
}

// The outer <svg role="img">, named by its <title> and described by its <desc>.
function frame(width, height, title, desc, body) {
  const t = uid("chart-title");
  const d = uid("chart-desc");
  return svg(
    "svg",
    { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": `${t} ${d}`, focusable: "false" },
    svg("title", { id: t }, title),
    svg("desc", { id: d }, desc),
    body,
  );
}

// bars(title, rows): rows [{label, value}] (value null: hidden) as horizontal bars.
export function bars(title, rows) {
  const labelW = 200;
  const plotW = 340;
  const rowH = 26;
  const height = rows.length * rowH + 30;
  const top = niceMax(Math.max(0, ...rows.map((r) => r.value || 0)));
  const x = (v) => labelW + (v / top) * plotW;
  const grid = ticks(top).map((v) =>
    svg("g", {}, svg("line", { class: "grid", x1: x(v), x2: x(v), y1: 0, y2: rows.length * rowH }), svg("text", { class: "tick", x: x(v), y: rows.length * rowH + 18, "text-anchor": "middle" }, fmt(v))),
  );
  const items = rows.map((r, i) => {
    const y = i * rowH;
    return svg(
      "g",
      {},
      svg("text", { class: "label", x: labelW - 8, y: y + rowH / 2 + 5, "text-anchor": "end" }, r.label.length > 28 ? `${r.label.slice(0, 27)}…` : r.label),
      r.value === null ? null : svg("rect", { class: "bar", x: labelW, y: y + 4, width: Math.max(0, x(r.value) - labelW), height: rowH - 8 }),
      svg("text", { class: "value", x: (r.value === null ? labelW : x(r.value)) + 6, y: y + rowH / 2 + 5 }, fmt(r.value)),
    );
  });
  const desc = `Stolpediagram. ${rows.map((r) => `${r.label}: ${fmt(r.value)}`).join("; ")}.`;
  return frame(labelW + plotW + 60, height, title, desc, [grid, items]);
}

// lines(title, labels, series): one point per label for each of series [{label, values}]
// (a null value is hidden: the line breaks there), on one axis from 0, with a legend.
export function lines(title, labels, series) {
  const left = 48;
  const plotW = 520;
  const plotH = 200;
  const legendH = series.length * 20 + 10;
  const top = niceMax(Math.max(0, ...series.flatMap((s) => s.values.map((v) => v || 0))));
  const step = labels.length > 1 ? plotW / (labels.length - 1) : 0;
  const x = (i) => left + (labels.length > 1 ? i * step : plotW / 2);
  const y = (v) => 10 + plotH - (v / top) * plotH;
  const grid = ticks(top).map((v) =>
    svg("g", {}, svg("line", { class: "grid", x1: left, x2: left + plotW, y1: y(v), y2: y(v) }), svg("text", { class: "tick", x: left - 6, y: y(v) + 4, "text-anchor": "end" }, fmt(v))),
  );
  // At most about eight month names under the axis, so they do not run into each other.
  const every = Math.max(1, Math.ceil(labels.length / 8));
  const xlabels = labels.map((l, i) => (i % every === 0 ? svg("text", { class: "tick", x: x(i), y: plotH + 30, "text-anchor": "middle" }, monthName(l)) : null));
  const paths = series.map((s, k) => {
    const parts = [];
    let run = [];
    s.values.forEach((v, i) => {
      if (v === null || v === undefined) {
        if (run.length) parts.push(run);
        run = [];
      } else run.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    });
    if (run.length) parts.push(run);
    const cls = `series ${LINES[k % LINES.length]}`;
    return svg("g", {}, parts.map((pts) => (pts.length > 1 ? svg("polyline", { class: cls, points: pts.join(" ") }) : svg("circle", { class: `${cls} dot`, cx: pts[0].split(",")[0], cy: pts[0].split(",")[1], r: 3 }))));
  });
  const legend = series.map((s, k) => {
    const ly = plotH + 50 + k * 20;
    return svg("g", {}, svg("line", { class: `series ${LINES[k % LINES.length]}`, x1: left, x2: left + 30, y1: ly, y2: ly }), svg("text", { class: "label", x: left + 38, y: ly + 5 }, s.label));
  });
  const span = labels.length ? `${monthName(labels[0])} til ${monthName(labels[labels.length - 1])}` : "ingen måneder";
  // The points themselves are in the table beside the chart; the description says what is drawn.
  const desc = `Linjediagram, ${span}, med ${series.map((s) => s.label.toLowerCase()).join(", ")}. Tallene står i tabellen.`;
  return frame(left + plotW + 40, plotH + 50 + legendH, title, desc, [grid, xlabels, paths, legend]);
}

// Which chart a table of the report's JSON gets: "bar" for a group and its count, "line" for
// the months, null for the rest (shown as tables only).
export function chartKind(t) {
  const cols = t.columns || [];
  if (cols.length >= 2 && cols[0].key === "month" && cols.slice(1).every((c) => c.type === "integer")) return "line";
  if (cols.length === 2 && cols[0].type === "string" && cols[1].type === "integer") {
    const rows = chartRows(t);
    return rows.length > 0 && rows.length <= BARS_MAX ? "bar" : null;
  }
  return null;
}

function chartRows(t) {
  const [g, n] = t.columns;
  const rows = t.rows.map((r) => ({ label: String(r[g.key] ?? ""), value: r[n.key] ?? null }));
  return rows.length > 1 && TOTAL.test(rows[rows.length - 1].label) ? rows.slice(0, -1) : rows;
}

function chartOf(t) {
  const kind = chartKind(t);
  if (kind === "bar") return bars(t.title, chartRows(t));
  if (kind === "line") {
    const [m, ...rest] = t.columns;
    return lines(t.title, t.rows.map((r) => String(r[m.key])), rest.map((c) => ({ label: c.label, values: t.rows.map((r) => r[c.key] ?? null) })));
  }
  return null;
}

function tableOf(t) {
  const cell = (c, v) => (v === null || v === undefined ? (c.type === "integer" ? "skjult" : "") : c.type === "integer" || c.type === "number" ? fmt(v) : String(v));
  return h(
    "div",
    { class: "table-wrap", role: "region", "aria-label": `${t.title}, tabell`, tabindex: "0" },
    h(
      "table",
      { class: "ds-table", "data-border": true },
      h("caption", { class: "ds-sr-only" }, t.title),
      h("thead", {}, h("tr", {}, t.columns.map((c) => h("th", { scope: "col", class: c.type === "integer" || c.type === "number" ? "num" : null }, c.label)))),
      h("tbody", {}, t.rows.map((r) => h("tr", {}, t.columns.map((c) => h("td", { class: c.type === "integer" || c.type === "number" ? "num" : null }, cell(c, r[c.key])))))),
    ),
  );
}

// The whole report (its JSON as the API gives it) as sections under an h3 each.
export function reportView(doc) {
  return doc.tables.map((t) => {
    const id = uid("tbl");
    const chart = chartOf(t);
    return h(
      "section",
      { class: "report-table", "aria-labelledby": id },
      heading(3, t.title, { id }),
      t.note ? p(t.note, { "data-size": "sm" }) : null,
      t.hidden_cells ? p(`${t.hidden_cells} tall er skjult for å verne personvernet.`, { "data-size": "sm" }) : null,
      h("div", { class: chart ? "chart-pair" : null }, chart ? h("div", { class: "chart-box" }, chart) : null, tableOf(t)),
    );
  });
}
