#!/usr/bin/env bash
# Fleet benchmark (on demand, not part of the test command): the records queue's p99 (reads of
# GET /v1/candidates/{id} over 1,000 candidates, wrk at CONNS connections) with the other work
# idle and with it busy, alternating in the same run on the same machine. The busy parts are
# optional and each runs only when the route it drives exists on this revision (matching runs,
# webhook pings, reports) or when asked (IMPORTS: a CSV import of IMPORT_ROWS rows after
# another, long jobs on records' long slots). Durability on. Prints a Markdown table for README.
# Loopback only; everything it starts it stops.
# shellcheck disable=SC2119 # bro_pg_start without "fast": the durable settings
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../../deploy/local/lib.sh
. "$(dirname "$0")/../../deploy/local/lib.sh"
# shellcheck source=bench_lib.sh
. "$(dirname "$0")/bench_lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

DURATION=${DURATION:-10}        # seconds per measurement
ROUNDS=${ROUNDS:-2}             # idle/busy pairs
CONNS=${CONNS:-32}              # wrk connections
CANDIDATES=${CANDIDATES:-2000}  # the bench tenant's caseload (1,000 of them are read)
LOADS=${LOADS:-"imports matching notify reports"} # busy parts to try; absent routes are skipped
IMPORT_ROWS=${IMPORT_ROWS:-2000}
PING_RATE=${PING_RATE:-100}     # webhook pings a second while notify is busy (one delivery each)
# Each connection's pause between requests (rotate.lua): 0 is a closed loop at full speed, whose
# p99 is the queue it builds (about CONNS / throughput); a pause measures a request's own latency.
THINK_MS=${THINK_MS:-0}
REDIS_FSYNC=${REDIS_FSYNC:-always} # Redis's appendfsync (always, as deploy/ runs it; everysec to see the flushes' share)
PG_PORT=${PG_PORT:-54381} REDIS_PORT=${REDIS_PORT:-63851} GW_PORT=${GW_PORT:-18231}
HOOK_PORT=${HOOK_PORT:-18235}   # the webhooks' receiver (nginx answering 200)

bro_install wrk nginx-light
bro_build "$BRO_ROOT/build"
BIN=$BRO_ROOT/build
bro_profile bench-fleet "$PG_PORT" "$REDIS_PORT"
export BROBYGGER_LOG=warn BROBYGGER_THREADS=2 BROBYGGER_NOTIFY_ALLOW_LOOPBACK=1
export BROBYGGER_LISTEN=127.0.0.1:$GW_PORT BROBYGGER_ADMIN_LISTEN=127.0.0.1:$((GW_PORT + 1))
export BROBYGGER_RATE_KEY=1000000 BROBYGGER_RATE_KEY_BURST=1000000
export BROBYGGER_RATE_TENANT=1000000 BROBYGGER_RATE_TENANT_BURST=1000000
export BROBYGGER_RATE_AUTH=1000000 BROBYGGER_RATE_AUTH_BURST=1000000
work=$(mktemp -d)
pids=()
busy=()

bench_stop() {
  stop_busy
  [ -f "$work/nginx.pid" ] && { kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; }
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  bro_redis_stop
  bro_pg_stop
  rm -rf "$BRO_DATA" "$work"
}
stop_busy() {
  local p
  for p in "${busy[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${busy[@]}"; do wait "$p" 2>/dev/null || true; done
  busy=()
}
for port in "$PG_PORT" "$REDIS_PORT" "$GW_PORT" $((GW_PORT + 1)) "$HOOK_PORT"; do
  if (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    bro_die "port $port is in use; choose others with PG_PORT, REDIS_PORT, GW_PORT, HOOK_PORT"
  fi
done
trap bench_stop EXIT
psql_admin() {
  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d brobygger "$@"
}

# ---- the database and the service --------------------------------------------------------------

rm -rf "$BRO_DATA"
bro_pg_start
bro_redis_start "${REDIS_FSYNC:-always}"
bro_say "seeding: tenant bench ($CANDIDATES candidates)"
"$BIN/brobygger-admin" migrate >/dev/null
"$BIN/brobygger-admin" tenant create --slug bench --name "Bench" --kommunenummer 9999 >/dev/null
KEY=$("$BIN/brobygger-admin" key issue --tenant bench --role coordinator | tail -n 1)
ADMIN_KEY=$("$BIN/brobygger-admin" key issue --tenant bench --role tenant_admin | tail -n 1)
{ printf 'SET search_path = t_bench, public;\n\\set seed 0.42\n\\set cands %s\n' "$CANDIDATES"
  printf '\\set journal %s\n\\set orgs 20\n\\set openings 50\n' "$CANDIDATES"
  printf '\\i %s\n' "$HERE/seed_records.sql"; } | psql_admin -o /dev/null -v base="$(date -u +%FT%TZ)"
psql_admin -tA -c "SELECT '/v1/candidates/' || id FROM t_bench.candidates WHERE erased_at IS NULL
  AND NOT restricted ORDER BY id DESC LIMIT 1000" >"$work/reads.txt"
psql_admin -c "VACUUM ANALYZE" >/dev/null

bench_nginx_start "$work" "$HOOK_PORT"
"$BIN/brobygger-gateway" 2>>"$work/gateway.log" &
pids+=($!)
# Records has its workers; the other queues one of their own, as deploy/ runs them.
"$BIN/brobygger-worker" --queues records 2>>"$work/worker.log" &
pids+=($!)
"$BIN/brobygger-worker" --queues matching,notify,reports 2>>"$work/worker.log" &
pids+=($!)
bro_wait_http "http://127.0.0.1:$GW_PORT/readyz" 30 || bro_die "not ready: $(tail -3 "$work/worker.log")"
routes=$("$BIN/brobygger-gateway" --routes)
has_route() { grep -q "^$1"$'\t'"$2"$'\t' <<<"$routes"; }

# ---- the busy parts: each a loop in the background ---------------------------------------------

api() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" "$@"; }
busy_imports() {
  { echo "given_name,family_name"; seq "$IMPORT_ROWS" | sed 's/^/Import,Rad/'; } >"$work/import.csv"
  while :; do
    api -X POST -H "Content-Type: text/csv" --data-binary @"$work/import.csv" \
      "http://127.0.0.1:$GW_PORT/v1/imports?type=candidates" >/dev/null
    sleep 0.5
  done
}
busy_matching() {
  while :; do api -X POST -H "Content-Type: application/json" -d '{}' \
    "http://127.0.0.1:$GW_PORT/v1/matching-runs" >/dev/null; sleep 1; done
}
busy_notify() {
  # Pings at PING_RATE a second from one keep-alive client, each a signed delivery to the local
  # receiver: webhook traffic, not the cost of starting a curl process per request.
  local hook
  hook=$(curl -s -H "Authorization: Bearer $ADMIN_KEY" -H "Content-Type: application/json" \
    -d "{\"url\":\"http://127.0.0.1:$HOOK_PORT/hook\",\"events\":[\"ping\"]}" \
    "http://127.0.0.1:$GW_PORT/v1/webhooks" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
  URL="http://127.0.0.1:$GW_PORT/v1/webhooks/$hook/ping" KEY=$ADMIN_KEY RATE=$PING_RATE \
    exec /usr/bin/python3 -c '
import os, time, requests
s, url = requests.Session(), os.environ["URL"]
h, gap = {"Authorization": "Bearer " + os.environ["KEY"]}, 1 / float(os.environ["RATE"])
due = time.monotonic()
while True:
    s.post(url, headers=h, timeout=10)
    due += gap
    time.sleep(max(0.0, due - time.monotonic()))'
}
busy_reports() {
  while :; do api -X POST -H "Content-Type: application/json" \
    -d '{"type":"pipeline","period":"2026","format":"xlsx"}' \
    "http://127.0.0.1:$GW_PORT/v1/reports" >/dev/null; sleep 1; done
}
ran=()
start_busy() {
  local part
  for part in $LOADS; do
    case $part in
      imports) ;;
      matching) has_route POST /v1/matching-runs || continue ;;
      notify) has_route POST /v1/webhooks || continue ;;
      reports) has_route POST /v1/reports || continue ;;
      *) bro_die "unknown load $part" ;;
    esac
    "busy_$part" & busy+=($!)
    [ "${#ran[@]}" -lt 4 ] && [[ " ${ran[*]} " != *" $part "* ]] && ran+=("$part")
  done
  sleep 2 # the loads get going before the measurement
}

# ---- measurements ------------------------------------------------------------------------------

measure() {
  BENCH_PATHS="$work/reads.txt" BENCH_THINK_MS=$THINK_MS wrk -t 2 -c "$CONNS" -d "${DURATION}s" --latency \
    -s "$HERE/rotate.lua" -H "Authorization: Bearer $KEY" "http://127.0.0.1:$GW_PORT/" \
    >"$work/wrk-$1.txt" 2>&1
  echo "$1 $(bench_wrk_figures <"$work/wrk-$1.txt")" >>"$work/results.txt"
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
BENCH_PATHS="$work/reads.txt" wrk -t 2 -c "$CONNS" -d 2s -s "$HERE/rotate.lua" \
  -H "Authorization: Bearer $KEY" "http://127.0.0.1:$GW_PORT/" >/dev/null 2>&1 # warm-up
for r in $(seq "$ROUNDS"); do
  bro_say "round $r: other queues idle"
  measure "idle_$r"
  bro_say "round $r: busy (${LOADS})"
  start_busy
  measure "busy_$r"
  stop_busy
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
imported=$(psql_admin -tA -c "SELECT count(*) FROM t_bench.candidates WHERE family_name LIKE 'Rad%'")
# What the busy parts got done meanwhile (0 where a part did not run).
done_work=$(psql_admin -tA -F' ' -c "SELECT
  (SELECT count(*) FROM t_bench.jobs WHERE kind = 'matching.run' AND status = 'done'),
  (SELECT count(*) FROM t_bench.webhook_attempts),
  (SELECT count(*) FROM t_bench.reports WHERE status = 'done')" 2>/dev/null || echo "? ? ?")

/usr/bin/python3 - "$work/results.txt" "${ran[*]:-none}" "$load_before" "$load_after" \
  "$imported" "$THINK_MS" "$done_work" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    name, rps, p50, p99, errors = line.split()
    rows[name] = (float(rps), float(p50), float(p99), int(errors))
print(f"busy parts that ran: {sys.argv[2]}; rows imported meanwhile: {sys.argv[5]}; "
      f"load average {sys.argv[3]} before, {sys.argv[4]} after; think time {sys.argv[6]} ms")
runs, attempts, reports = sys.argv[7].split()
print(f"done meanwhile: {runs} matching runs, {attempts} webhook attempts, {reports} reports\n")
print("| round | idle req/s | idle p50 ms | idle p99 ms | busy req/s | busy p50 ms | busy p99 ms "
      "| p99 busy / idle | errors |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
r = 1
while f"idle_{r}" in rows:
    i, b = rows[f"idle_{r}"], rows[f"busy_{r}"]
    print(f"| {r} | {i[0]:.0f} | {i[1]:.2f} | {i[2]:.2f} | {b[0]:.0f} | {b[1]:.2f} | {b[2]:.2f} "
          f"| {b[2] / i[2]:.2f} | {i[3] + b[3]} |")
    r += 1
PY
