// The measurements of bench_web.sh, in Debian's chromium: bytes of the first load, time to
// interactive on a cold load (navigation start to the page's "app-ready" mark, with the sign-in
// form focused and usable), and the board with the seeded caseload: from the click in the menu
// to the last card in the document ("board" total), and its render alone ("board-render": the
// answers in hand to the board built). Medians over BENCH_ROUNDS, each in a fresh context.
import { createRequire } from "node:module";
import { gunzipSync } from "node:zlib";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const base = process.env.BRO_WEB_BASE;
const rounds = Number(process.env.BENCH_ROUNDS || 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const b = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
const bytes = { js: 0, css: 0, fonts: 0, html: 0 };
const ready = [], boardTotal = [], boardRender = [], fetchMs = [];
let cards = 0;
for (let i = 0; i < rounds; i++) {
  const ctx = await b.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const seen = i === 0 ? [] : null;
  if (seen) page.on("response", (r) => seen.push(r));
  await page.goto(base + "/");
  await page.waitForFunction(() => performance.getEntriesByName("app-ready").length > 0);
  ready.push(await page.evaluate(() => performance.getEntriesByName("app-ready")[0].startTime));
  if (seen) {
    for (const r of seen) {
      const len = Number((await r.allHeaders())["content-length"] || 0);
      const url = r.url();
      if (url.endsWith(".js")) bytes.js += len;
      else if (url.endsWith(".css")) bytes.css += len;
      else if (url.endsWith(".woff2")) bytes.fonts += len;
      else if (url === base + "/") bytes.html += len;
    }
  }
  await page.getByLabel("Kommune (kortnavn)").fill("benchweb");
  await page.getByLabel("E-post").fill("bench@bench.no");
  await page.getByLabel("Passord").fill("et passord for benken");
  await page.getByRole("button", { name: "Logg inn" }).click();
  await page.waitForFunction(() => performance.getEntriesByName("board-rendered").length > 0, null, { timeout: 60000 });
  // again from the menu, now that the session is warm: what a coordinator waits for all day
  await page.getByRole("link", { name: "Deltakere", exact: true }).click();
  await page.locator("table").waitFor();
  const t0 = await page.evaluate(() => {
    performance.clearMarks();
    performance.clearMeasures();
    return performance.now();
  });
  await page.getByRole("link", { name: "Tavle" }).click();
  await page.waitForFunction(() => performance.getEntriesByName("board-rendered").length > 0, null, { timeout: 60000 });
  const m = await page.evaluate(() => ({
    rendered: performance.getEntriesByName("board-rendered")[0].startTime,
    fetched: performance.getEntriesByName("board-fetched")[0].startTime,
    render: performance.getEntriesByName("board-render")[0].duration,
    cards: document.querySelectorAll(".card").length,
  }));
  boardTotal.push(m.rendered - t0);
  boardRender.push(m.render);
  fetchMs.push(m.fetched - t0);
  cards = m.cards;
  await ctx.close();
}
await b.close();
const kb = (n) => (n / 1024).toFixed(1);
console.log(`| what | figure | target |`);
console.log(`| --- | ---: | ---: |`);
console.log(`| first load, JS + CSS (gzip) | ${kb(bytes.js + bytes.css)} KB (JS ${kb(bytes.js)}, CSS ${kb(bytes.css)}) | < 100 KB |`);
console.log(`| first load, fonts (woff2) and HTML | ${kb(bytes.fonts)} KB + ${kb(bytes.html)} KB | |`);
console.log(`| interactive, cold load (median of ${rounds}) | ${median(ready).toFixed(0)} ms | < 1000 ms |`);
console.log(`| board, ${cards} candidates: fetch (a list per status, side by side) | ${median(fetchMs).toFixed(0)} ms | |`);
console.log(`| board, ${cards} candidates: render | ${median(boardRender).toFixed(0)} ms | < 300 ms |`);
console.log(`| board, ${cards} candidates: click to last card | ${median(boardTotal).toFixed(0)} ms | |`);
