// What a browser must not be able to do: a partner's session sees a candidate's name only under
// consent; a page of another origin cannot make a change with the session (the cookie is
// SameSite=Strict and a change needs the CSRF token), nor can script read the cookie; a session
// cookie planted before sign-in is replaced, and the planted one never works.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { browser, open, signIn, settled, sql, PEOPLE, BASE } from "./lib.mjs";

let b;
before(async () => (b = await browser()));
after(async () => b.close());

test("a partner's session sees no personal data without consent, and the name with it", async () => {
  const cand = randomUUID(), opening = randomUUID(), match = randomUUID(), ref = `W-${Date.now()}`;
  const family = `Hemmelig${Date.now()}`;
  sql(
    `INSERT INTO candidates (id, ref, given_name, family_name, birth_year, interests, created_by) VALUES (:'cand', :'ref', 'Sigrid', :'family', 1990, ARRAY['snekring'], 'test');
     INSERT INTO openings (id, organization_id, kind, title, created_by) VALUES (:'opening', :'org', 'work_trial', 'Snekkerverksted', 'test');
     INSERT INTO matches (id, candidate_id, opening_id, status) VALUES (:'match', :'cand', :'opening', 'proposed');`,
    { cand, ref, family, opening, match, org: PEOPLE.org },
  );
  const { page } = await open(b);
  await signIn(page, "partner");
  await page.goto(`/#/deltaker/${cand}`);
  await settled(page);
  const shown = await page.locator("main").innerText();
  assert.doesNotMatch(shown, new RegExp(family));
  assert.doesNotMatch(shown, /Sigrid|1990/);
  assert.match(shown, /navn vises ikke uten samtykke/);
  assert.match(shown, /snekring/); // the anonymous profile is what a partner works with

  sql(
    `INSERT INTO consents (id, candidate_id, scope, given_at, method, recorded_by) VALUES (:'id', :'cand', ARRAY['share_employer'], current_date, 'skriftlig', 'test');`,
    { id: randomUUID(), cand },
  );
  await page.reload();
  await settled(page);
  assert.match(await page.locator("h1").innerText(), new RegExp(`Sigrid ${family}`));
  assert.deepEqual(page.errors, []);
});

test("a page of another origin cannot change anything with the session", async () => {
  const { page, ctx } = await open(b);
  await signIn(page, "coordinator");
  const before = Number(sql("SELECT count(*) FROM candidates"));
  // a page on another origin (another port) that posts to the service, as an attacker's would
  const evil = createServer((req, res) => {
    res.setHeader("Content-Type", "text/html");
    res.end(`<!doctype html><html lang="en"><title>x</title><body>
      <form id="f" method="POST" action="${BASE}/v1/candidates" enctype="text/plain">
        <input name='{"given_name":"Ond","family_name":"Side","x":"' value='"}'></form>
      <script>
        fetch("${BASE}/v1/candidates", {method: "POST", credentials: "include", mode: "no-cors",
          headers: {"Content-Type": "text/plain"}, body: '{"given_name":"Ond","family_name":"Fetch"}'})
          .finally(() => document.getElementById("f").submit());
      </script></body></html>`);
  });
  await new Promise((r) => evil.listen(0, "127.0.0.2", r));
  const evilPage = await ctx.newPage();
  const answers = [];
  evilPage.on("response", (r) => r.url().startsWith(`${BASE}/v1/candidates`) && answers.push(r.status()));
  await evilPage.goto(`http://127.0.0.2:${evil.address().port}/`);
  await evilPage.waitForURL(`${BASE}/v1/candidates`);
  evil.close();
  assert.ok(answers.length >= 1 && answers.every((s) => s === 401 || s === 403), `answers ${answers}`);
  assert.equal(Number(sql("SELECT count(*) FROM candidates")), before);

  // on the service's own origin, script cannot read the cookie, and without the token a change
  // is refused even there
  const seen = await page.evaluate(async () => {
    const r = await fetch("/v1/candidates", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ given_name: "Uten", family_name: "Token" }) });
    return { cookie: document.cookie, status: r.status, type: (await r.json()).type };
  });
  assert.equal(seen.cookie, "");
  assert.equal(seen.status, 403);
  assert.match(seen.type, /\/csrf$/);
  assert.equal(Number(sql("SELECT count(*) FROM candidates")), before);
});

test("a session cookie planted before sign-in is replaced and never signs anyone in", async () => {
  const { page, ctx } = await open(b);
  const planted = `brs_${"P".repeat(8)}_${"Q".repeat(32)}`;
  const host = new URL(BASE).hostname;
  await ctx.addCookies([{ name: "bro_session", value: planted, domain: host, path: "/", httpOnly: true, sameSite: "Strict" }]);
  await signIn(page, "coordinator");
  await settled(page);
  const cookies = await ctx.cookies(BASE);
  const session = cookies.filter((c) => c.name === "bro_session");
  assert.equal(session.length, 1);
  assert.notEqual(session[0].value, planted);
  assert.equal(session[0].httpOnly, true);
  assert.equal(session[0].sameSite, "Strict");

  // the planted value, sent alone, is refused
  const other = await b.newContext();
  await other.addCookies([{ name: "bro_session", value: planted, domain: host, path: "/" }]);
  const r = await other.request.get(`${BASE}/v1/me`);
  assert.equal(r.status(), 401);
  await other.close();

  // and after sign-out the old cookie is dead too
  const old = session[0].value;
  await page.getByRole("button", { name: "Logg ut", exact: true }).click();
  await page.getByRole("heading", { name: "Logg inn i Brobygger" }).waitFor();
  const again = await b.newContext();
  await again.addCookies([{ name: "bro_session", value: old, domain: host, path: "/" }]);
  let status = 200;
  for (let i = 0; i < 50 && status !== 401; i++) {
    status = (await again.request.get(`${BASE}/v1/me`)).status();
    if (status !== 401) await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(status, 401);
  await again.close();
});
