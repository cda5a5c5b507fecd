// Builds the page into $BRO_WEB_OUT (default dist/): index.html, and under assets/ one script,
// one style sheet and the fonts, each named by a hash of its content, minified. The page has
// no inline script or style, so the gateway's Content-Security-Policy can allow only 'self'.
import { build } from "esbuild";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.env.BRO_WEB_OUT || join(here, "dist");
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });

const result = await build({
  entryPoints: { app: join(here, "src/main.js"), style: join(here, "src/style.css") },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome110", "firefox115", "safari16"],
  outdir: join(out, "assets"),
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  loader: { ".woff2": "file", ".woff": "empty" },
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const script = outputs.find((n) => n.startsWith("app-") && n.endsWith(".js"));
const style = outputs.find((n) => n.startsWith("style-") && n.endsWith(".css"));
const fonts = outputs.filter((n) => n.endsWith(".woff2") && n.includes("-400-"));
const preload = fonts
  .map((f) => `<link rel="preload" href="/assets/${f}" as="font" type="font/woff2" crossorigin>`)
  .join("\n    ");
writeFileSync(
  join(out, "index.html"),
  `<!doctype html>
<html lang="nb" data-color-scheme="light" data-color="accent" data-size="md">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Brobygger</title>
    ${preload}
    <link rel="stylesheet" href="/assets/${style}">
    <script type="module" src="/assets/${script}"></script>
  </head>
  <body>
    <a class="skip" href="#main">Hopp til hovedinnholdet</a>
    <div id="app"><main id="main" tabindex="-1"><p>Laster …</p></main></div>
    <noscript><p>Brobygger trenger JavaScript.</p></noscript>
  </body>
</html>
`,
);
