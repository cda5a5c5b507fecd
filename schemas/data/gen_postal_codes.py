"""Turns postal_codes.csv into C for the matching worker (run by the build): one sorted table of
(code, latitude, longitude, place name), so the worker finds a postal code's place without a
query and the rankings can filter by place."""
import csv
import sys

src, out = sys.argv[1], sys.argv[2]
with open(src, newline="", encoding="utf-8") as f:
    rows = sorted((int(r["code"]), float(r["lat"]), float(r["lon"]), r["place"])
                  for r in csv.DictReader(f))
with open(out, "w", encoding="utf-8") as f:
    f.write("/* Generated from schemas/data/postal_codes.csv by gen_postal_codes.py: do not edit. */\n")
    f.write('#include "matching/postal.h"\n\n')
    f.write("const bro_postal_entry bro_postal_table[] = {\n")
    for code, lat, lon, place in rows:
        name = place.replace("\\", "\\\\").replace('"', '\\"')
        f.write(f'    {{{code}, {lat:.5f}f, {lon:.5f}f, "{name}"}},\n')
    f.write("};\n")
    f.write(f"const int bro_postal_table_n = {len(rows)};\n")
