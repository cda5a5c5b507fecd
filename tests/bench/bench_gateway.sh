#!/usr/bin/env bash
# Gateway benchmark (on demand, not part of the test command). Starts its own PostgreSQL, Redis,
# four workers and a gateway with the run command's durability settings, and an nginx serving a
# static 200 as the reference on the same machine; then wrk at 64 connections, alternating
# rounds, against:
#   nginx  GET /                          the reference
#   GET /healthz                          answered by the gateway alone
#   GET /v1/candidates/{id}               gateway -> Redis -> worker -> PostgreSQL -> back,
#                                         at 64 connections and at 1 (the bare round trip)
# Prints a Markdown table of the median req/s, p50 and p99 over the rounds. Loopback only.
set -euo pipefail
. "$(dirname "$0")/../../deploy/local/lib.sh"
# shellcheck source=bench_lib.sh
. "$(dirname "$0")/bench_lib.sh"

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
WORKERS=${WORKERS:-4}
GW_PORT=18181
NGINX_PORT=18182

bro_install wrk nginx-light
bro_build "$BRO_ROOT/build"
bro_profile bench 54349 63819
export BROBYGGER_LISTEN=127.0.0.1:$GW_PORT BROBYGGER_ADMIN_LISTEN=127.0.0.1:18183
export BROBYGGER_LOG=warn
# Rate limits far above the load (one key makes over 1,000 requests a second here), so every job
# still goes through the rate-limit script and the figures include its cost, but none is refused.
# Set BROBYGGER_RATE_KEY=0 etc. to measure without the script.
export BROBYGGER_RATE_KEY=${BROBYGGER_RATE_KEY:-1000000} BROBYGGER_RATE_KEY_BURST=${BROBYGGER_RATE_KEY_BURST:-1000000}
export BROBYGGER_RATE_TENANT=${BROBYGGER_RATE_TENANT:-1000000} BROBYGGER_RATE_TENANT_BURST=${BROBYGGER_RATE_TENANT_BURST:-1000000}
export BROBYGGER_RATE_AUTH=${BROBYGGER_RATE_AUTH:-1000000} BROBYGGER_RATE_AUTH_BURST=${BROBYGGER_RATE_AUTH_BURST:-1000000}
BIN=$BRO_ROOT/build
work=$(mktemp -d)
pids=()
bench_stop() {
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
  bro_redis_stop
  bro_pg_stop
  [ -n "${KEEP:-}" ] && cp "$work"/*.txt "$work"/*.log /tmp/ 2>/dev/null; rm -rf "$work"
}
trap bench_stop EXIT
bro_redis_stop; bro_pg_stop; rm -rf "$BRO_DATA"
bro_pg_start
bro_redis_start "${REDIS_FSYNC:-always}"
if [ -n "${PG_SYNC:-}" ]; then # experiments only: e.g. PG_SYNC=off
  psql -q -h 127.0.0.1 -p "$BRO_PG_PORT" -U postgres -c "ALTER SYSTEM SET synchronous_commit = '$PG_SYNC'" \
    -c "SELECT pg_reload_conf()" >/dev/null
fi
"$BIN/brobygger-admin" migrate >/dev/null
"$BIN/brobygger-admin" tenant create --slug bench --name "Bench kommune" --kommunenummer 9999 >/dev/null
key=$("$BIN/brobygger-admin" key issue --tenant bench --role coordinator | tail -n 1)
for i in $(seq "$WORKERS"); do
  "$BIN/brobygger-worker" --queues records 2>>"$work/worker$i.log" &
  pids+=($!)
done
"$BIN/brobygger-gateway" 2>>"$work/gateway.log" &
pids+=($!)
bro_wait_http "http://127.0.0.1:$GW_PORT/readyz" 30 || bro_die "gateway not ready"
id=$(curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"given_name":"Bench","family_name":"Mark","birth_year":1980}' \
  "http://127.0.0.1:$GW_PORT/v1/candidates" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

bench_nginx_start "$work" "$NGINX_PORT"

# run NAME URL [header] [connections]: one wrk round; appends "name rps p50 p99 non2xx".
run() {
  local out c=${4:-$CONNS} t=2
  [ "$c" -lt 2 ] && t=1
  if [ -n "${3:-}" ]; then
    out=$(wrk -t$t -c"$c" -d"${DURATION}s" --latency -H "$3" "$2")
  else
    out=$(wrk -t$t -c"$c" -d"${DURATION}s" --latency "$2")
  fi
  echo "$out" >>"$work/wrk.txt"
  printf '%s %s\n' "$1" "$(echo "$out" | bench_wrk_figures)" >>"$work/results"
}
for r in $(seq "$ROUNDS"); do
  bro_say "round $r of $ROUNDS"
  run nginx "http://127.0.0.1:$NGINX_PORT/"
  run healthz "http://127.0.0.1:$GW_PORT/healthz"
  run candidate "http://127.0.0.1:$GW_PORT/v1/candidates/$id" "Authorization: Bearer $key"
  run candidate1 "http://127.0.0.1:$GW_PORT/v1/candidates/$id" "Authorization: Bearer $key" 1
done

echo
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; wrk -t2 -c$CONNS -d${DURATION}s, $ROUNDS rounds, medians; $WORKERS workers."
/usr/bin/python3 - "$work/results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, rps, p50, p99, err = line.split()
    rows.setdefault(name, []).append((float(rps), float(p50), float(p99), int(err)))
label = {"nginx": "nginx static 200 (reference)", "healthz": "gateway `GET /healthz`",
         "candidate": "`GET /v1/candidates/{id}` (full round trip)",
         "candidate1": "`GET /v1/candidates/{id}`, 1 connection"}
ref = statistics.median(r[0] for r in rows["nginx"])
print("| target | req/s | vs nginx | p50 ms | p99 ms | non-2xx |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for name in ("nginx", "healthz", "candidate", "candidate1"):
    rs = rows[name]
    rps = statistics.median(r[0] for r in rs)
    print(f"| {label[name]} | {rps:,.0f} | {rps / ref:.2f} | {statistics.median(r[1] for r in rs):.2f}"
          f" | {statistics.median(r[2] for r in rs):.2f} | {sum(r[3] for r in rs)} |")
PY
