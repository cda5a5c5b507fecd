// axe-core on every page the page has, as a tenant admin and as a partner, with a form's errors
// showing too: zero violations of WCAG 2.0 A and AA and 2.1 AA. At 320 px (what 200 % zoom of a
// 640 px window gives) no page scrolls sideways, and the densest pages pass axe there as well.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { browser, open, signIn, settled, axe, sql, PEOPLE } from "./lib.mjs";

let b;
let candidateId;
before(async () => {
  b = await browser();
  const { page, ctx } = await open(b);
  await signIn(page, "coordinator");
  candidateId = await page.evaluate(async () => {
    const me = await (await fetch("/v1/me")).json();
    const r = await fetch("/v1/candidates", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": me.csrf_token },
      body: JSON.stringify({ given_name: "Aksel", family_name: "Tilgjengelig", birth_year: 1988, interests: ["sykler"] }),
    });
    return (await r.json()).id;
  });
  await ctx.close();
});
after(async () => b.close());

const STAFF_PAGES = ["tavle", "deltakere", "organisasjoner", "plasser", "matching", "rapporter", "webhooker", "brukere", "nokler"];

for (const width of [1280, 320]) {
  test(`sign-in page at ${width} px`, async () => {
    const { page, ctx } = await open(b, { viewport: { width, height: 800 } });
    await page.goto("/");
    await page.locator("h1").waitFor();
    assert.deepEqual(await axe(page), []);
    // the same with the form's errors showing
    await page.getByRole("button", { name: "Logg inn" }).click();
    await page.locator("ds-error-summary").waitFor();
    assert.deepEqual(await axe(page), []);
    await ctx.close();
  });

  test(`every page of a tenant admin at ${width} px`, async () => {
    const { page, ctx } = await open(b, { viewport: { width, height: 800 } });
    await signIn(page, "tenant_admin");
    for (const path of [...STAFF_PAGES, `deltaker/${candidateId}`]) {
      await page.goto(`/#/${path}`);
      await settled(page);
      // At 320 px the rules that depend on width (reflow, target size, contrast of what moved)
      // are checked on the two densest pages; every page is checked for sideways scrolling.
      if (width > 320 || path === "tavle" || path.startsWith("deltaker/")) assert.deepEqual(await axe(page), [], path);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow} px at ${width} px`);
    }
    // a form with errors: the candidate's status form sent empty
    await page.getByRole("button", { name: "Endre status" }).click();
    await page.locator("ds-error-summary").waitFor();
    assert.deepEqual(await axe(page), [], "status form with errors");
    assert.deepEqual(page.errors, []);
    await ctx.close();
  });

  test(`a partner's pages at ${width} px`, async () => {
    const { page, ctx } = await open(b, { viewport: { width, height: 800 } });
    await signIn(page, "partner");
    for (const path of ["matching", "plasser"]) {
      await page.goto(`/#/${path}`);
      await settled(page);
      assert.deepEqual(await axe(page), [], path);
    }
    await ctx.close();
  });
}
