// The pipeline as a board: one column per status with its count, each candidate a link to
// their page. Built off-document in one go, so 2,000 candidates render in one layout.
import { h, heading, p, link } from "../dom.js";
import { all } from "../api.js";
import { STATUS, MEASURE } from "../i18n.js";

export async function board(main) {
  main.append(heading(1, "Tavle"), p("Alle deltakere etter status.", { class: "ds-paragraph lead" }));
  const slot = h("div", { class: "board-slot", "aria-busy": "true" }, p("Henter deltakere …"));
  main.append(slot);
  // One list per status, fetched side by side: the pages of a list follow each other (a
  // cursor), but the eight lists need not wait for one another.
  const statuses = Object.keys(STATUS);
  const lists = await Promise.all(statuses.map((s) => all(`/v1/candidates?status=${s}`)));
  performance.mark("board-fetched");
  const byStatus = Object.fromEntries(statuses.map((s, i) => [s, lists[i]]));
  const items = lists.flat();
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
