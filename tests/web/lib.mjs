// What the browser tests share: Debian's chromium driven by playwright-core, the service the
// integration fixture started (BRO_WEB_BASE), the people it made (BRO_WEB_PEOPLE, JSON), signing
// in as a person would, axe-core's check and a seeding door into PostgreSQL for what no route of
// this branch makes yet (matches come from the matching module).
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";

// The test tools are web/'s dev dependencies (npm ci there), found from its package.json.
const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const AxeBuilder = require("@axe-core/playwright").default;

export const BASE = process.env.BRO_WEB_BASE;
export const PEOPLE = JSON.parse(process.env.BRO_WEB_PEOPLE || "{}");
export const TAGS = ["wcag2a", "wcag2aa", "wcag21aa"];

export async function browser() {
  return chromium.launch({
    executablePath: process.env.BRO_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

// A fresh context (its own cookies) and page; errors in the page's script fail the test. Motion
// is reduced, as a user may ask for: a details element opens at once instead of growing for
// 0.4 s, and a click does not land on a button that moves between its mousedown and mouseup.
export async function open(b, opts = {}) {
  const ctx = await b.newContext({ viewport: opts.viewport || { width: 1280, height: 900 }, baseURL: BASE, reducedMotion: "reduce", ...opts.context });
  const page = await ctx.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e.message));
  return { ctx, page };
}

export async function signIn(page, who) {
  const person = PEOPLE[who];
  await page.goto("/");
  await page.getByLabel("Kommune (kortnavn)").fill(PEOPLE.tenant);
  await page.getByLabel("E-post").fill(person.email);
  await page.getByLabel("Passord").fill(person.password);
  await page.getByRole("button", { name: "Logg inn" }).click();
  await page.waitForURL(/#\/(tavle|matching|rapporter)/);
  await page.locator("main h1").waitFor();
}

// Waits until the page has said it is loaded (the live region) and nothing is still fetching.
export async function settled(page) {
  await page.waitForFunction(() => /er lastet/.test(document.getElementById("status-region")?.textContent || ""));
  await page.waitForLoadState("networkidle");
}

export async function axe(page) {
  const result = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join("; ")})`);
}

// Runs sql on the tenant's schema as the database owner; :'name' in sql is vars[name], quoted
// by psql, so values are never spliced into the text.
export function sql(text, vars = {}) {
  const args = [process.env.BROBYGGER_PG_ADMIN, "-qtAX", "-v", "ON_ERROR_STOP=1", "-v", `schema=t_${PEOPLE.tenant}`];
  for (const [k, v] of Object.entries(vars)) args.push("-v", `${k}=${v}`);
  return execFileSync("psql", args, { input: `SET search_path = :"schema";\n${text}\n`, encoding: "utf8" }).trim();
}
