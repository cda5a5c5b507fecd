#!/usr/bin/env bash
# Reports benchmark (on demand, not part of the test command). Seeds a tenant with 100,000
# candidates, 1,000,000 status changes and 1,000,000 journal entries straight through SQL, and
# 399 smaller tenants beside it; then orders, through the API, the pipeline and indicators
# reports of a year, the pipeline with a row per candidate as xlsx (100,000 rows), and the
# platform report over all 400 tenants, each ROUNDS times, one at a time. Prints a Markdown
# table: the worker's time for each (the report's started_at to finished_at is in whole
# seconds, so the client's time from the order to seeing it done is given too), and the
# worker's peak resident memory (VmHWM) after all of them. Before, the time the database alone
# needs for the pass's two statements (the ceiling); after, libxlsxwriter alone writing as many
# rows of the detail's columns (the xlsx's reference). Loopback only.
# shellcheck disable=SC2119
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../../deploy/local/lib.sh
. "$(dirname "$0")/../../deploy/local/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

CANDIDATES=${CANDIDATES:-100000} # the bench tenant's caseload
CHANGES=${CHANGES:-10}           # status changes per candidate
NOTES=${NOTES:-10}               # journal entries per candidate
TENANTS=${TENANTS:-400}          # tenants in all, "bench" included
EXTRA=${EXTRA:-100}              # candidates of each other tenant
ROUNDS=${ROUNDS:-3}              # orders of each report; the median is reported
ONLY=${ONLY:-}                   # only the reports whose name holds this text (e.g. xlsx)
REUSE=${REUSE:-}                 # 1: keep the seeded database for the next run
PG=${PG:-54371} REDIS=${REDIS:-63841} GW=${GW:-18201}

bro_install
bro_build "$BRO_ROOT/build"
BIN=$BRO_ROOT/build
bro_profile bench-reports "$PG" "$REDIS"
export BROBYGGER_LISTEN=127.0.0.1:$GW BROBYGGER_ADMIN_LISTEN=127.0.0.1:$((GW + 1))
export BROBYGGER_LOG=warn BROBYGGER_REQUEST_TIMEOUT_MS=30000
export BROBYGGER_RATE_KEY=0 BROBYGGER_RATE_TENANT=0 BROBYGGER_RATE_AUTH=0
pids=()
stop() {
  [ ${#pids[@]} -gt 0 ] && { kill -TERM "${pids[@]}" 2>/dev/null || true; }
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  bro_redis_stop
  bro_pg_stop
  [ -n "$REUSE" ] || rm -rf "$BRO_DATA"
}
trap stop EXIT
psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG" -U postgres -d brobygger "$@"; }

# The seed's shape decides whether a kept database can be reused; a migration added since is
# applied to it (so an index made for the reports is measured without seeding again).
params="$CANDIDATES $CHANGES $NOTES $TENANTS $EXTRA $(sha256sum <"$HERE/seed_reports.sql" | cut -c1-16)"
if [ -n "$REUSE" ] && [ "$(cat "$BRO_DATA/params" 2>/dev/null)" = "$params" ]; then
  bro_pg_start
  "$BIN/brobygger-admin" migrate >/dev/null
else
  rm -rf "$BRO_DATA"
  bro_pg_start fast
  "$BIN/brobygger-admin" migrate >/dev/null
  bro_say "seeding the bench tenant: $CANDIDATES candidates, $((CANDIDATES * CHANGES)) changes," \
    "$((CANDIDATES * NOTES)) journal entries"
  t0=$EPOCHREALTIME
  "$BIN/brobygger-admin" tenant create --slug bench --name "Bench kommune" \
    --kommunenummer 9999 >/dev/null
  printf 'SET search_path = t_bench, public;\n\\set seed 0.42\n\\set cands %s\n\\set changes %s\n\\set notes %s\n\\i %s\n' \
    "$CANDIDATES" "$CHANGES" "$NOTES" "$HERE/seed_reports.sql" | psql_admin -o /dev/null
  bro_say "seeded in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s;" \
    "$((TENANTS - 1)) more tenants of $EXTRA candidates"
  for i in $(seq 2 "$TENANTS"); do
    printf "SELECT platform.provision_tenant('k%03d', 'Kommune %03d', '%04d');\n" "$i" "$i" $((5000 + i))
  done | psql_admin -o /dev/null
  for i in $(seq 2 "$TENANTS"); do
    printf 'SET search_path = t_k%03d, public;\n\\set seed 0.%s\n\\set cands %s\n\\set changes %s\n\\set notes 1\n\\i %s\n' \
      "$i" $((100000 + i)) "$EXTRA" "$CHANGES" "$HERE/seed_reports.sql"
  done | psql_admin -o /dev/null
  "$BIN/brobygger-admin" migrate >/dev/null
  psql_admin -c "VACUUM ANALYZE" >/dev/null
  echo "$params" >"$BRO_DATA/params"
fi
psql_admin -tAc "SELECT (SELECT count(*) FROM t_bench.candidates), (SELECT count(*) FROM
  t_bench.status_history), (SELECT count(*) FROM t_bench.journal), (SELECT count(*) FROM
  platform.tenants)" | { IFS='|' read -r c h j t; bro_say "bench tenant: $c candidates, $h status changes, $j journal entries; $t tenants"; }
# The database's own share, the ceiling of the pass: its two cursors' statements (as
# services/worker/reports/pass.c declares them) read to the end with MOVE ALL, nothing sent.
floor_ms() {
  printf 'SET search_path = t_bench, public;\nBEGIN;\nSET LOCAL jit = off;\nDECLARE f NO SCROLL CURSOR FOR %s;\n\\timing on\nMOVE ALL FROM f;\n\\timing off\nCOMMIT;\n' "$1" |
    psql_admin 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}
end="to_timestamp(1798761600)" # 2027-01-01, the end of the year the reports are ordered for
h=$(floor_ms "SELECT h.candidate_id, h.to_status, h.measure, h.at FROM status_history h WHERE h.at < $end ORDER BY h.candidate_id, h.id")
c=$(floor_ms "SELECT c.id, c.ref, c.birth_year, c.income_basis, p.role, p.kind, p.nav_decision FROM candidates c LEFT JOIN (SELECT DISTINCT ON (m.candidate_id) m.candidate_id, o.role, g.kind, m.nav_decision FROM matches m JOIN openings o ON o.id = m.opening_id JOIN organizations g ON g.id = o.organization_id WHERE m.status = 'placed' AND m.updated_at < $end ORDER BY m.candidate_id, m.updated_at DESC) p ON p.candidate_id = c.id WHERE c.created_at < $end ORDER BY c.id")
bro_say "the database alone: the history in candidate order $h ms, the candidates $c ms; load $(cut -d' ' -f1-3 /proc/loadavg)"
bro_redis_start
"$BIN/brobygger-gateway" 2>"$BRO_DATA/gateway.log" &
pids+=($!)
"$BIN/brobygger-worker" --queues records,reports 2>"$BRO_DATA/worker.log" &
worker=$!
pids+=("$worker")
bro_wait_http "http://127.0.0.1:$GW/readyz" 20 || bro_die "the service is not ready"
READER=$("$BIN/brobygger-admin" key issue --tenant bench --role reader | tail -n 1)
PLATFORM=$("$BIN/brobygger-admin" key issue --platform | tail -n 1)

BASE=http://127.0.0.1:$GW READER=$READER PLATFORM=$PLATFORM ROUNDS=$ROUNDS WORKER=$worker ONLY=$ONLY \
  /usr/bin/python3 - <<'PY'
import os, statistics, time, requests
base, rounds = os.environ["BASE"], int(os.environ["ROUNDS"])
def key(k): return {"Authorization": "Bearer " + os.environ[k]}
def cpu(pid):
    with open(f"/proc/{pid}/stat") as st:
        f = st.read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
def once(path, body, who):
    t0 = time.monotonic()
    r = requests.post(base + path, json=body, headers=key(who), timeout=30)
    assert r.status_code == 202, r.text
    rid = r.json()["id"]
    while True:
        s = requests.get(f"{base}{path}/{rid}", headers=key(who), timeout=30).json()
        if s["status"] in ("done", "failed"):
            break
        time.sleep(0.02)
    client = time.monotonic() - t0
    assert s["status"] == "done", s
    f = requests.get(f"{base}{path}/{rid}/download", headers=key(who), timeout=60)
    assert f.status_code == 200
    return client, len(f.content)
targets = [("pipeline, json", "/v1/reports", {"type": "pipeline", "period": "2026", "format": "json"}, "READER"),
           ("indicators, json", "/v1/reports", {"type": "indicators", "period": "2026", "format": "json"}, "READER"),
           ("pipeline with 100,000 candidate rows, xlsx", "/v1/reports", {"type": "pipeline", "period": "2026", "format": "xlsx", "detail": True}, "READER"),
           ("platform, 400 tenants, csv", "/v1/admin/reports", {"period": "2026", "format": "csv"}, "PLATFORM")]
print("| report | median s (order to done, client) | min s | max s | worker CPU s each | file bytes |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for name, path, body, who in targets:
    if os.environ.get("ONLY") and os.environ["ONLY"] not in name:
        continue
    c0 = cpu(os.environ["WORKER"])
    runs = [once(path, body, who) for _ in range(rounds)]
    used = (cpu(os.environ["WORKER"]) - c0) / rounds
    t = [c for c, _ in runs]
    print(f"| {name} | {statistics.median(t):.2f} | {min(t):.2f} | {max(t):.2f} | {used:.2f} | {runs[-1][1]:,} |")
with open(f"/proc/{os.environ['WORKER']}/status") as st:
    hwm = next(l for l in st if l.startswith("VmHWM")).split()[1]
print(f"\nworker peak resident memory (VmHWM): {int(hwm) / 1024:.0f} MB")
PY
# The reference for the xlsx: libxlsxwriter alone writing as many rows of the same columns.
cc -O2 -o "$BRO_DATA/xlsx_rows" "$HERE/xlsx_rows.c" -lxlsxwriter
printf '\nlibxlsxwriter alone (tests/bench/xlsx_rows.c), '
"$BRO_DATA/xlsx_rows" "$BRO_DATA/rows.xlsx" "$CANDIDATES"
rm -f "$BRO_DATA/rows.xlsx"
