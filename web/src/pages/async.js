// Matching runs and proposals, reports and webhooks: routes other parts of the service answer.
// Each section shows what the API answers and says plainly when a route is not there yet.
import { h, heading, p, clear, announce, button, link, fmtTime } from "../dom.js";
import { get, post, patch, all, query, ApiError, problemText } from "../api.js";
import { MATCH } from "../i18n.js";
import { field, form, attempt } from "../forms.js";
import { reportView } from "../charts.js";

async function orMissing(slot, fn) {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof ApiError) || err.status === 401) throw err;
    slot.replaceChildren(p(err.missing ? "Denne delen er ikke tilgjengelig ennå." : await problemText(err)));
  }
}

// Polls a job-like resource until done or failed, showing its progress in a <progress>.
async function follow(slot, path, label) {
  const bar = h("progress", { max: "1", value: "0", "aria-label": label });
  const text = p("");
  slot.replaceChildren(bar, text);
  for (let i = 0; i < 600; i++) {
    const j = await get(path);
    bar.value = j.progress ?? 0;
    text.textContent = `${label}: ${j.status}`;
    if (j.status === "done" || j.status === "failed") {
      announce(`${label} er ${j.status === "done" ? "ferdig" : "feilet"}.`);
      return j;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return null;
}

export async function matching(main, ctx) {
  main.append(heading(1, ctx.me.role === "partner" ? "Forslag til våre plasser" : "Matching"));
  const run = h("div");
  if (ctx.me.role !== "partner") {
    main.append(
      h(
        "section",
        { "aria-labelledby": "h-run" },
        heading(2, "Ny matchingkjøring", { id: "h-run" }),
        p("Finner plasser som passer deltakerne, med forklaring på hvert forslag."),
        button("Start matching", () => orMissing(run, async () => {
          const r = await post("/v1/matching-runs", {});
          await follow(run, `/v1/matching-runs/${r.id}`, "Matchingkjøring");
          await load();
        })),
        run,
      ),
    );
  }
  const list = h("div");
  main.append(h("section", { "aria-labelledby": "h-prop" }, heading(2, "Forslag", { id: "h-prop" }), list));
  async function load() {
    await orMissing(list, async () => {
      const items = await all(`/v1/matches${query({ status: "proposed" })}`);
      list.replaceChildren(
        items.length
          ? h(
              "ul",
              { class: "ds-list--unstyled" },
              items.map((m) => {
                const out = h("div");
                const set = (status, done) => () => attempt(out, async () => {
                  await patch(`/v1/matches/${m.id}`, { status });
                  await load();
                }, done);
                return h(
                  "li",
                  { class: "ds-card entry" },
                  p(`Forslag ${MATCH[m.status] || m.status}${m.score != null ? `, poeng ${Math.round(m.score * 100) / 100}` : ""}`),
                  link("Se deltakeren", `#/deltaker/${m.candidate_id}`),
                  h("div", { class: "actions" }, button("Godta", set("interested", "Forslaget er godtatt."), "secondary"), button("Avslå", set("declined", "Forslaget er avslått."), "tertiary")),
                  out,
                );
              }),
            )
          : p("Ingen forslag akkurat nå."),
      );
    });
  }
  await load();
}

const REPORT_TYPE = { pipeline: "Status i løpet", indicators: "Indikatorer", grant: "Tilskudd", platform: "Plattform" };
const REPORT_FORMAT = { json: "Vis på siden, med diagrammer", xlsx: "Excel", csv: "CSV", html: "Nettside for utskrift" };

// Shows a finished JSON report in view: its tables, with charts beside the counts and the
// months. Focus goes to its heading, as the person asked to see it.
async function showReport(view, r) {
  await orMissing(view, async () => {
    const doc = await get(`/v1/reports/${r.id}/download`);
    const hid = "h-view";
    view.replaceChildren(
      heading(2, `${doc.title || REPORT_TYPE[r.type] || r.type}, ${doc.period?.label || r.period}`, { id: hid, tabindex: "-1" }),
      p(`Laget ${fmtTime(doc.made_at || r.finished_at)}.${doc.suppressed ? " Små tall er skjult." : ""}`, { "data-size": "sm" }),
      ...reportView(doc),
    );
    view.querySelector(`#${hid}`).focus();
    announce("Rapporten vises på siden.");
  });
}

export async function reports(main) {
  main.append(heading(1, "Rapporter"));
  const out = h("div");
  const view = h("div", { class: "report-view" });
  const f = form(
    [
      field({ name: "type", label: "Rapport", type: "select", required: true, value: "pipeline", options: { pipeline: REPORT_TYPE.pipeline, indicators: REPORT_TYPE.indicators, grant: REPORT_TYPE.grant } }),
      field({ name: "period", label: "Periode", required: true, value: String(new Date().getFullYear()), description: "For eksempel 2026, 2026-Q1 eller 2026-05." }),
      field({ name: "format", label: "Format", type: "select", required: true, value: "json", options: REPORT_FORMAT }),
    ],
    async (v) => {
      await orMissing(out, async () => {
        const r = await post("/v1/reports", { type: v.type, period: v.period, format: v.format });
        const done = await follow(out, `/v1/reports/${r.id}`, "Rapporten");
        if (!done || done.status !== "done") return;
        out.append(link("Last ned rapporten", `/v1/reports/${r.id}/download`, { download: true }));
        if (done.format === "json") await showReport(view, done);
        await load();
      });
    },
    { submit: "Lag rapport", label: "Ny rapport" },
  );
  main.append(h("section", { "aria-labelledby": "h-new" }, heading(2, "Ny rapport", { id: "h-new" }), f, out), view);
  const list = h("div");
  main.append(h("section", { "aria-labelledby": "h-old" }, heading(2, "Tidligere rapporter", { id: "h-old" }), list));
  const item = (r) => {
    const what = `${REPORT_TYPE[r.type] || r.type} ${r.period || ""}`.trim();
    return h(
      "li",
      {},
      `${what}, ${String(r.format).toUpperCase()} (${fmtTime(r.created_at)}) `,
      r.status !== "done" ? r.status : [link(`Last ned ${what}`, `/v1/reports/${r.id}/download`), r.format === "json" ? [" ", button(`Vis ${what}`, () => showReport(view, r), "tertiary", { "data-size": "sm" })] : null],
    );
  };
  async function load() {
    await orMissing(list, async () => {
      const items = (await get("/v1/reports?limit=20")).items;
      list.replaceChildren(items.length ? h("ul", { class: "ds-list" }, items.map(item)) : p("Ingen rapporter ennå."));
    });
  }
  await load();
}

export async function webhooks(main) {
  main.append(heading(1, "Webhooker"));
  const list = h("div");
  const secret = h("div");
  const load = () =>
    orMissing(list, async () => {
      const items = (await get("/v1/webhooks?limit=100")).items;
      list.replaceChildren(items.length ? h("ul", { class: "ds-list" }, items.map((w) => h("li", {}, `${w.url} – ${(w.events || []).join(", ")}`))) : p("Ingen webhooker ennå."));
    });
  const f = form(
    [
      field({ name: "url", label: "Adresse (https)", type: "url", required: true }),
      field({ name: "events", label: "Hendelser", value: "match.proposed, candidate.status_changed", description: "Skill med komma." }),
    ],
    async (v, el) => {
      await orMissing(secret, async () => {
        const w = await post("/v1/webhooks", { url: v.url, events: v.events.split(",").map((s) => s.trim()).filter(Boolean) });
        clear(secret).append(h("div", { class: "ds-alert", "data-color": "success", role: "status" }, p("Webhooken er registrert. Hemmeligheten vises bare nå:"), h("code", {}, w.secret || "")));
        el.reset();
        await load();
      });
    },
    { submit: "Registrer webhook", label: "Ny webhook" },
  );
  main.append(h("section", { "aria-labelledby": "h-new" }, heading(2, "Ny webhook", { id: "h-new" }), f, secret), h("section", { "aria-labelledby": "h-all" }, heading(2, "Registrerte webhooker", { id: "h-all" }), list));
  await load();
}
