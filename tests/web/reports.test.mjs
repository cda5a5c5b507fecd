// The reports page: a report ordered to be shown on the page comes back as its tables, with an
// SVG chart beside the counts by status and by measure (bars) and the months (lines). Each chart
// is one image to a screen reader, named and described, and its numbers are the table's beside
// it, which are the API's own; axe finds nothing, and at 320 px nothing scrolls sideways.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { browser, open, signIn, settled, axe } from "./lib.mjs";

let b;
before(async () => (b = await browser()));
after(async () => b.close());

// What the page shows of one table's section: the chart's name, description, bars or lines,
// and the table's rows as text.
const section = (page, title) =>
  page.evaluate((title) => {
    const sec = [...document.querySelectorAll(".report-table")].find((s) => s.querySelector("h3").textContent === title);
    if (!sec) return null;
    const svg = sec.querySelector("svg");
    const ref = (svg?.getAttribute("aria-labelledby") || "").split(" ").map((id) => document.getElementById(id)?.textContent || "");
    return {
      role: svg?.getAttribute("role") || null,
      name: ref[0] || "",
      desc: ref[1] || "",
      bars: svg ? svg.querySelectorAll("rect.bar").length : 0,
      lines: svg ? svg.querySelectorAll("polyline, circle").length : 0,
      legend: svg ? [...svg.querySelectorAll("g > text.label")].map((t) => t.textContent) : [],
      caption: sec.querySelector("table caption")?.textContent || "",
      rows: [...sec.querySelectorAll("tbody tr")].map((tr) => [...tr.children].map((td) => td.textContent)),
    };
  }, title);

test("a pipeline report is shown on the page with its charts beside its tables", async () => {
  const { page } = await open(b);
  await signIn(page, "coordinator");
  await settled(page);
  // two candidates of this run, so the counts are not all zero
  await page.evaluate(async () => {
    const me = await (await fetch("/v1/me")).json();
    for (const family of ["Diagram", "Stolpe"])
      await fetch("/v1/candidates", { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": me.csrf_token }, body: JSON.stringify({ given_name: "Rapport", family_name: family, birth_year: 1990 }) });
  });
  await page.getByRole("link", { name: "Rapporter", exact: true }).click();
  await settled(page);
  assert.equal(await page.getByLabel("Format").inputValue(), "json");
  await page.getByRole("button", { name: "Lag rapport" }).click();
  await page.locator("#h-view").waitFor({ timeout: 60000 });
  assert.equal(await page.evaluate(() => document.activeElement.id), "h-view");

  // the API's own numbers, to hold the page's against
  const doc = await page.evaluate(async () => {
    const list = await (await fetch("/v1/reports?limit=1")).json();
    return (await fetch(`/v1/reports/${list.items[0].id}/download`)).json();
  });
  const byStatus = doc.tables.find((t) => t.name === "by_status");
  const henvist = byStatus.rows.find((r) => r.group === "Henvist (inntak)").count;
  assert.ok(henvist >= 2, `at least this run's two candidates are referred (${henvist})`);

  const status = await section(page, "Kandidater etter status");
  assert.ok(status, `a section of its own; the page's headings: ${await page.locator("main h2, main h3").allInnerTexts()}`);
  assert.equal(status.role, "img");
  assert.equal(status.name, "Kandidater etter status");
  assert.match(status.desc, new RegExp(`^Stolpediagram\\. Henvist \\(inntak\\): ${henvist};`));
  assert.equal(status.caption, "Kandidater etter status");
  // a bar for each status (the sum row is in the table only), and the table says what the API said
  assert.equal(status.bars, byStatus.rows.length - 1);
  assert.equal(status.rows.length, byStatus.rows.length);
  assert.deepEqual(status.rows.find((r) => r[0] === "Henvist (inntak)"), ["Henvist (inntak)", henvist.toLocaleString("nb-NO")]);

  const measure = await section(page, "Kandidater i tiltak etter tiltak");
  assert.equal(measure.role, "img");
  assert.equal(measure.bars, doc.tables.find((t) => t.name === "by_measure").rows.length - 1);

  const months = await section(page, "Måned for måned");
  const monthsDoc = doc.tables.find((t) => t.name === "months");
  assert.equal(months.role, "img");
  assert.match(months.desc, /^Linjediagram, /);
  assert.deepEqual(months.legend, monthsDoc.columns.slice(1).map((c) => c.label));
  assert.ok(months.lines >= monthsDoc.columns.length - 1, `a line per series (${months.lines})`);
  assert.equal(months.rows.length, monthsDoc.rows.length);

  // a table without a chart is shown as a table only
  const flows = await section(page, "Overganger i perioden");
  assert.equal(flows.role, null);
  assert.deepEqual(await axe(page), []);

  // the same report from the list of earlier ones, at 320 px
  await page.setViewportSize({ width: 320, height: 800 });
  await page.reload();
  await settled(page);
  await page.getByRole("button", { name: /^Vis Status i løpet/ }).first().click();
  await page.locator("#h-view").waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the report scrolls sideways by ${overflow} px at 320 px`);
  assert.deepEqual(await axe(page), []);
  assert.deepEqual(page.errors, []);
});
