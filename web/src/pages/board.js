// The pipeline as a board: one column per status with its count, each candidate a link to
// their page. Built off-document in one go, so 2,000 candidates render in one layout.
import { h, heading, p, link } from "../dom.js";
import { all } from "../api.js";
import { STATUS, MEASURE } from "../i18n.js";

export async function board(main) {
  main.append(heading(1, "Tavle"), p("Alle deltakere etter status.", { class: "ds-paragraph lead" }));
  const slot = h("div", { class: "board-slot", "aria-busy": "true" }, p("Henter deltakere …"));
  main.append(slot);
  const items = await all("/v1/candidates");
  performance.mark("board-fetched");
  const byStatus = Object.fromEntries(Object.keys(STATUS).map((s) => [s, []]));
  for (const c of items) (byStatus[c.status] || (byStatus[c.status] = [])).push(c);
  const columns = document.createDocumentFragment();
  for (const [status, list] of Object.entries(byStatus)) {
    const id = `col-${status}`;
    columns.append(
      h(
        "section",
        { class: "column", "aria-labelledby": id },
        h("h2", { class: "ds-heading", "data-size": "2xs", id }, `${STATUS[status] || status} `, h("span", { class: "count" }, `(${list.length})`)),
        list.length
          ? h(
              "ul",
              { class: "cards" },
              list.map((c) =>
                h(
                  "li",
                  { class: "card" },
                  link(`${c.given_name || ""} ${c.family_name || ""}`.trim() || c.ref, `#/deltaker/${c.id}`),
                  h("span", { class: "ref" }, c.ref, c.measure ? ` · ${MEASURE[c.measure] || c.measure}` : ""),
                ),
              ),
            )
          : p("Ingen", { "data-size": "sm" }),
      ),
    );
  }
  slot.replaceChildren(h("p", { class: "ds-paragraph", "data-size": "sm" }, `${items.length} deltakere i alt.`), h("div", { class: "board" }, columns));
  slot.removeAttribute("aria-busy");
  performance.mark("board-rendered");
  performance.measure("board-render", "board-fetched", "board-rendered");
}
