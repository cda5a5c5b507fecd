// The main flow by keyboard alone: no mouse event is sent. Tab reaches sign-in's fields in
// order; a form sent with a missing field takes focus to its error summary, which names the
// field, and its link takes focus to the field; each new page puts focus on its heading, and a
// page whose list comes late leaves focus where the person has moved it meanwhile.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { browser, open, settled, PEOPLE } from "./lib.mjs";

let b;
before(async () => (b = await browser()));
after(async () => b.close());

const focused = (page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    const label = el.labels && el.labels[0] ? el.labels[0].textContent : "";
    return { tag: el.tagName.toLowerCase(), name: el.getAttribute("name"), text: (label || el.textContent || "").trim() };
  });

async function tabTo(page, predicate, max = 400) {
  const seen = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const f = await focused(page);
    if (predicate(f)) return;
    seen.push(`${f.tag}:${f.name || f.text.slice(0, 20)}`);
  }
  throw new Error(`not reached by Tab: ${predicate}; focus went ${seen.slice(-12).join(", ")}`);
}

test("sign in, register a candidate and write the journal by keyboard alone", async () => {
  const { page } = await open(b);
  await page.goto("/");
  await page.locator("h1").waitFor();
  assert.equal((await focused(page)).tag, "h1");

  // focus starts on the heading, so the fields follow in order; the skip link comes before it
  await page.keyboard.press("Shift+Tab");
  assert.equal((await focused(page)).text, "Hopp til hovedinnholdet");
  await tabTo(page, (f) => f.name === "tenant");
  await page.keyboard.press("Control+A");
  await page.keyboard.type(PEOPLE.tenant);
  await page.keyboard.press("Tab");
  assert.equal((await focused(page)).name, "email");
  await page.keyboard.type(PEOPLE.coordinator.email);
  await page.keyboard.press("Tab");
  assert.equal((await focused(page)).name, "password");
  // sent without a password: the summary takes focus and names the field
  await page.keyboard.press("Enter");
  await page.locator("ds-error-summary").waitFor();
  const summary = await page.evaluate(() => ({ focused: document.activeElement.closest("ds-error-summary") !== null, text: document.querySelector("ds-error-summary").textContent }));
  assert.ok(summary.focused, "focus is in the error summary");
  assert.match(summary.text, /Passord må fylles ut/);
  const invalid = await page.getByLabel("Passord").getAttribute("aria-invalid");
  assert.equal(invalid, "true");
  await tabTo(page, (f) => f.tag === "a" && /Passord/.test(f.text));
  await page.keyboard.press("Enter");
  assert.equal((await focused(page)).name, "password");
  await page.keyboard.type(PEOPLE.coordinator.password);
  await page.keyboard.press("Enter");
  await page.waitForURL(/#\/tavle/);
  await settled(page);
  assert.deepEqual(await focused(page), { tag: "h1", name: null, text: "Tavle" });

  // to the candidate list through the menu, its list held back by the test: the heading has
  // focus at once, before the list is there
  let release;
  const held = new Promise((r) => (release = r));
  const list = /\/v1\/candidates\?/;
  await page.route(list, async (r) => {
    await held;
    await r.continue();
  });
  await tabTo(page, (f) => f.tag === "a" && f.text === "Deltakere");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.activeElement.tagName === "H1" && document.activeElement.textContent === "Deltakere");

  // open the new-candidate form (a <summary>) while the list is still loading; the list's late
  // render must leave focus there, so Tab goes on into the form
  await tabTo(page, (f) => f.tag === "summary" && /Registrer ny deltaker/.test(f.text));
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.activeElement.closest("details")?.open === true);
  release();
  await settled(page);
  await page.unroute(list);
  assert.ok(await page.locator("table caption", { hasText: "Deltakere" }).count(), "the list came");
  const after = await focused(page);
  assert.equal(after.tag, "summary", `focus stayed on the form's summary, not ${after.tag}:${after.text.slice(0, 20)}`);
  await tabTo(page, (f) => f.name === "given_name", 10);
  await page.keyboard.type("Tastatur");
  await page.keyboard.press("Tab");
  await page.keyboard.type(`Bruker${Date.now()}`);
  await tabTo(page, (f) => f.tag === "button" && f.text === "Registrer deltaker");
  await page.keyboard.press("Enter");
  await page.waitForURL(/#\/deltaker\//);
  await settled(page);
  assert.equal((await focused(page)).tag, "h1");
  assert.match((await focused(page)).text, /Tastatur Bruker/);

  // the journal: kind, time and text by keyboard, then sent
  await tabTo(page, (f) => f.name === "text" && f.tag === "textarea");
  await page.keyboard.type("Ringte og avtalte møte.");
  await tabTo(page, (f) => f.tag === "button" && f.text === "Legg til i journalen");
  await page.keyboard.press("Enter");
  await page.locator("#s-journal", { hasText: "Ringte og avtalte møte." }).waitFor();
  // the live region speaks a moment after the change (a new text node, so a repeat is read too)
  await page.waitForFunction(() => /lagt til i journalen/.test(document.getElementById("status-region").textContent));
  assert.deepEqual(page.errors, []);
});
