// The keys page: the tenant's keys in a table with each one's state, a new key in it at once
// (its secret shown once, above, never in the list), and revoking a row by keyboard after the
// row asks once more; the API then says the key is revoked.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { browser, open, signIn, settled, axe } from "./lib.mjs";

let b;
before(async () => (b = await browser()));
after(async () => b.close());

const keyOf = (page, id) => page.evaluate(async (id) => (await (await fetch("/v1/keys?limit=200")).json()).items.find((k) => k.id === id), id);

test("the keys page lists the tenant's keys and revokes one per row", async () => {
  const { page } = await open(b);
  await signIn(page, "tenant_admin");
  await page.goto("/#/nokler");
  await settled(page);
  const label = `Nøkkel for NAV ${Date.now()}`;
  await page.getByLabel("Hvem nøkkelen er til").fill(label);
  await page.getByRole("button", { name: "Lag nøkkel" }).click();
  const shown = await page.locator(".ds-alert code").innerText();
  const id = shown.slice(4, 12);
  const row = page.locator("tr", { hasText: label });
  await row.waitFor();
  assert.deepEqual(await row.locator("td").allInnerTexts().then((t) => t.slice(0, 3).concat(t[5])), [id, label, "Leser", "Aktiv"]);
  assert.ok(!(await page.locator("table").innerText()).includes(shown.slice(13)), "the secret is not in the list");

  // revoke by keyboard: the row asks, focus on its yes; Enter revokes
  await row.getByRole("button", { name: `Trekk tilbake ${id}` }).focus();
  await page.keyboard.press("Enter");
  const yes = page.getByRole("button", { name: `Ja, trekk tilbake ${id}` });
  await yes.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), `Ja, trekk tilbake ${id}`);
  assert.deepEqual(await axe(page), []);
  await page.keyboard.press("Enter");
  await row.getByText("Trukket tilbake").waitFor();
  assert.equal(await row.getByRole("button").count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement.id), "h-all");
  await page.waitForFunction((id) => document.getElementById("status-region").textContent === `Nøkkel ${id} er trukket tilbake.`, id);
  const k = await keyOf(page, id);
  assert.ok(k.revoked_at, "the API says the key is revoked");

  // after a reload the list is the API's: the key is still there, revoked, and no secret anywhere
  await page.reload();
  await settled(page);
  assert.match(await page.locator("tr", { hasText: label }).innerText(), /Trukket tilbake/);
  assert.ok(!(await page.content()).includes(shown.slice(13)));
  assert.deepEqual(await axe(page), []);
  assert.deepEqual(page.errors, []);
});
