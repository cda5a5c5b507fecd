#!/usr/bin/env bash
# Web page benchmark (on demand, not part of the test command): what the first load ships (JS and
# CSS, gzip, as the gateway sends them), how soon the page is interactive on a cold load, and how
# long the board takes with a caseload of CANDIDATES (fetch through the API, then render), in
# Debian's chromium. A private PostgreSQL and Redis (ports below), one gateway and one worker;
# the caseload is seeded through SQL (seed_records.sql). Prints a Markdown table of medians over
# ROUNDS cold loads. Loopback only.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../../deploy/local/lib.sh
. "$(dirname "$0")/../../deploy/local/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

CANDIDATES=${CANDIDATES:-2000}
ROUNDS=${ROUNDS:-5}
PG=${PG:-55423} REDIS=${REDIS:-56423} GW=${GW:-18423}

bro_install
bro_build "$BRO_ROOT/build"
BIN=$BRO_ROOT/build
bro_profile bench-web "$PG" "$REDIS"
export BROBYGGER_LOG=warn BROBYGGER_LISTEN=127.0.0.1:$GW BROBYGGER_ADMIN_LISTEN=127.0.0.1:$((GW + 1))
export BROBYGGER_RATE_KEY=0 BROBYGGER_RATE_TENANT=0 BROBYGGER_RATE_AUTH=0
pids=()
stop() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bro_redis_stop
  bro_pg_stop
}
trap stop EXIT
stop
rm -rf "$BRO_DATA"
bro_pg_start fast
bro_redis_start everysec
"$BIN/brobygger-admin" migrate >/dev/null
"$BIN/brobygger-admin" tenant create --slug benchweb --name "Bench kommune" --kommunenummer 9997 >/dev/null
key=$("$BIN/brobygger-admin" key issue --tenant benchweb --role tenant_admin --label bench | tail -1)
{
  printf 'SET search_path = t_benchweb, public;\n\\set seed 0.21\n\\set base '"'"'%s'"'"'\n' "$(date -u +%FT%TZ)"
  printf '\\set cands %s\n\\set journal 0\n\\set orgs 10\n\\set openings 10\n' "$CANDIDATES"
  printf '\\i %s\n' "$HERE/seed_records.sql"
} | psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$BRO_PG_PORT" -U postgres -d brobygger >/dev/null
"$BIN/brobygger-gateway" 2>"$BRO_DATA/gateway.log" & pids+=($!)
"$BIN/brobygger-worker" --queues records 2>"$BRO_DATA/worker.log" & pids+=($!)
bro_wait_http "http://127.0.0.1:$GW/readyz" 20 || bro_die "the service is not ready"
curl -sf -o /dev/null -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  "http://127.0.0.1:$GW/v1/users" \
  -d '{"name":"Bench","email":"bench@bench.no","role":"coordinator","password":"et passord for benken"}'
BRO_WEB_BASE=http://127.0.0.1:$GW BENCH_ROUNDS=$ROUNDS BENCH_CANDIDATES=$CANDIDATES \
  node "$HERE/bench_web.mjs"
