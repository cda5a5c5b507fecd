// A coordinator's day end to end, in the browser: sign in, register a candidate, map them, record
// consent, make a plan, see a match with its explanation, place them (status with measure) and
// write the journal; every step is read back from what the page shows after the API answered.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { browser, open, signIn, settled, sql } from "./lib.mjs";

let b;
before(async () => (b = await browser()));
after(async () => b.close());

test("a coordinator's day: register, map, consent, plan, match, place, journal", async () => {
  const { page } = await open(b);
  await signIn(page, "coordinator");
  await settled(page);

  // register
  await page.getByRole("link", { name: "Deltakere", exact: true }).click();
  await settled(page);
  await page.locator("summary", { hasText: "Registrer ny deltaker" }).click();
  const family = `Dagsen${Date.now()}`;
  await page.getByLabel("Fornavn").fill("Ingrid");
  await page.getByLabel("Etternavn").fill(family);
  await page.getByLabel("Fødselsår").fill("1994");
  await page.getByLabel("Interesser").fill("dyr, hagearbeid");
  await page.getByRole("button", { name: "Registrer deltaker" }).click();
  await page.waitForURL(/#\/deltaker\//);
  await settled(page);
  const id = page.url().split("/").pop();
  assert.match(await page.locator("h1").innerText(), new RegExp(`Ingrid ${family}`));

  // map (kartlegging), then the status moves on to kartlagt
  await page.locator("summary", { hasText: "Ny kartlegging" }).click();
  await page.getByLabel("Ressurser").fill("Stødig, liker rutiner og dyr");
  await page.getByLabel("Ønsker").fill("Jobbe ute");
  await page.getByRole("button", { name: "Lagre kartlegging" }).click();
  await page.getByText("Stødig, liker rutiner og dyr").waitFor();
  await changeStatus(page, "Kartlagt");

  // consent
  await page.locator("summary", { hasText: "Registrer samtykke" }).click();
  await page.getByLabel("Dele med arbeidsgiver").check();
  await page.getByRole("button", { name: "Registrer samtykke" }).click();
  await page.locator("#s-samtykker h3", { hasText: "Dele med arbeidsgiver" }).waitFor();

  // plan with steps, one checked off
  await page.locator("summary", { hasText: "Ny plan" }).click();
  await page.getByLabel("Mål").fill("Arbeidstrening tre dager i uka");
  await page.getByLabel("Steg").fill("Besøke gården\nAvtale oppstart");
  await page.getByRole("button", { name: "Lagre plan" }).click();
  const step = page.getByLabel("Besøke gården");
  await step.check();
  await page.waitForFunction(() => /utført/.test(document.getElementById("status-region").textContent));

  // a match (made by the matching module elsewhere; seeded here) with its explanation
  const org = randomUUID(), opening = randomUUID(), match = randomUUID();
  sql(
    `INSERT INTO organizations (id, name, kind, created_by) VALUES (:'org', 'Solbakken gård', 'employer', 'test');
     INSERT INTO openings (id, organization_id, kind, title, created_by) VALUES (:'opening', :'org', 'work_trial', 'Gårdsarbeider', 'test');
     INSERT INTO matches (id, candidate_id, opening_id, score, explanation) VALUES (:'match', :'cand', :'opening', 0.87, '["Liker dyr", "Kort reisevei"]');`,
    { org, opening, match, cand: id },
  );
  await page.reload();
  await settled(page);
  await page.locator("#s-matcher", { hasText: "Gårdsarbeider" }).waitFor();
  assert.ok(await page.locator("#s-matcher").getByText("Liker dyr").isVisible());

  // place: work training, then in a measure (VTA)
  await changeStatus(page, "Arbeidstrening");
  await page.getByLabel("Tiltak (ved «I tiltak»)").selectOption("vta");
  await changeStatus(page, "I tiltak", "Startet på Solbakken gård");
  assert.match(await page.locator("#s-profil").innerText(), /VTA/);

  // journal
  await page.getByLabel("Type").selectOption("oppfolging");
  await page.getByLabel("Tekst").fill("Første dag gikk fint.");
  await page.getByRole("button", { name: "Legg til i journalen" }).click();
  await page.locator("#s-journal", { hasText: "Første dag gikk fint." }).waitFor();

  // the board counts the candidate under "I tiltak"
  await page.getByRole("link", { name: "Tavle" }).click();
  await settled(page);
  const column = page.locator("section.column", { has: page.getByRole("heading", { name: /I tiltak/ }) });
  await column.getByRole("link", { name: `Ingrid ${family}` }).waitFor();
  assert.deepEqual(page.errors, []);
});

async function changeStatus(page, label, reason) {
  await page.getByLabel("Ny status").selectOption({ label });
  if (reason) await page.getByLabel("Begrunnelse").fill(reason);
  await page.getByRole("button", { name: "Endre status" }).click();
  await page.waitForFunction((l) => document.getElementById("status-region").textContent.includes(`Status er endret til ${l}`), label);
}
