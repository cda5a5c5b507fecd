#!/usr/bin/env bash
# Matching benchmark (on demand, not part of the test command). For each size (SIZES candidates,
# 2/5 as many openings of capacity 1-5, seeded through SQL by seed_matching.sql) one tenant and
# one fresh worker: a whole matching run through the API (POST, poll to done) with its wall
# time, the run's own phase timings (load, score and solve summed over kinds, and the wall time of
# scoring and solving with the kinds shared out between threads), the share of eligible pairs and the
# worker's peak resident memory (VmHWM). Then the solver beside scipy's linear_sum_assignment on
# one synthetic instance of the 5,000-candidate run's per-kind shape (same instance, both
# totals), and both rankings under wrk at 1 and CONNS connections, with the CPU time per
# request of each process (gateway, worker, Redis, PostgreSQL). Prints Markdown tables. Loopback only; its own PostgreSQL and Redis on the ports below.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../../deploy/local/lib.sh
. "$(dirname "$0")/../../deploy/local/lib.sh"
# shellcheck source=bench_lib.sh
. "$(dirname "$0")/bench_lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

SIZES=${SIZES:-"500 5000 20000"} # candidates per run
RANKING_SIZE=${RANKING_SIZE:-5000} # the tenant the ranking is read from
CONNS=${CONNS:-16}
DURATION=${DURATION:-10}
SOLVER=${SOLVER:-1}      # 0: skip the solver beside scipy (e.g. SIZES=5000 SOLVER=0 for rankings)
ROUTES=${ROUTES:-"candidates openings"} # the rankings measured
PERF_OUT=${PERF_OUT:-}   # a file: perf record -g of the worker during the last ranking round
HOLD=${HOLD:-0}          # seconds to keep everything up before the ranking rounds (by hand)
PG_PORT=${PG_PORT:-55437} REDIS_PORT=${REDIS_PORT:-56437} GW=${GW:-18437}

bro_install wrk liblemon-dev python3-scipy
bro_build "$BRO_ROOT/build"
BIN=$BRO_ROOT/build
bro_profile bench-matching "$PG_PORT" "$REDIS_PORT"
export BROBYGGER_LISTEN=127.0.0.1:$GW BROBYGGER_ADMIN_LISTEN=127.0.0.1:$((GW + 1))
export BROBYGGER_LOG=warn BROBYGGER_RATE_KEY=1000000 BROBYGGER_RATE_KEY_BURST=1000000
export BROBYGGER_RATE_TENANT=1000000 BROBYGGER_RATE_TENANT_BURST=1000000
work=$(mktemp -d)
: >"$work/keys.txt"
pids=()
stop_all() {
  [ ${#pids[@]} -gt 0 ] && { kill -TERM "${pids[@]}" 2>/dev/null || true; }
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  bro_redis_stop
  bro_pg_stop
  rm -rf "$BRO_DATA" "$work"
}
trap stop_all EXIT
rm -rf "$BRO_DATA"
bro_pg_start fast
bro_redis_start everysec
"$BIN/brobygger-admin" migrate >/dev/null
"$BIN/brobygger-gateway" 2>>"$work/gateway.log" &
pids+=($!)

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d brobygger "$@"; }

# run_size N: seeds tenant m_N, starts one worker for it, runs a whole matching run; prints
# "N openings wall_ms load score solve eligible_share assigned total peak_mb".
run_size() {
  local n=$1 slug=m_$1 key wpid rid t0 t1 state
  "$BIN/brobygger-admin" tenant create --slug "$slug" --name "Bench $n" \
    --kommunenummer $((3000 + $(wc -l <"$work/keys.txt"))) >/dev/null
  key=$("$BIN/brobygger-admin" key issue --tenant "$slug" --role coordinator | tail -n 1)
  echo "$slug $key" >>"$work/keys.txt"
  { printf 'SET search_path = t_%s, public;\n' "$slug"; cat "$HERE/seed_matching.sql"; } |
    psql_admin -o /dev/null -v cands="$n" -v openings=$((n * 2 / 5)) -v seed=0.17
  "$BIN/brobygger-worker" --queues records,matching 2>>"$work/worker-$n.log" &
  wpid=$!
  pids+=("$wpid")
  bro_wait_http "http://127.0.0.1:$GW/readyz" 30 || bro_die "not ready: $(tail -n 3 "$work/gateway.log")"
  t0=$EPOCHREALTIME
  rid=$(curl -sf -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d '{}' "http://127.0.0.1:$GW/v1/matching-runs" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  while :; do
    state=$(curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:$GW/v1/matching-runs/$rid")
    case $state in *'"status":"done"'* | *'"status":"failed"'*) break ;; esac
    sleep 0.02
  done
  t1=$EPOCHREALTIME
  peak=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$wpid/status")
  kill -TERM "$wpid"
  wait "$wpid" 2>/dev/null || true
  echo "$state" | /usr/bin/python3 -c '
import json, sys
n, o, wall, peak = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
r = json.load(sys.stdin)
assert r["status"] == "done", r
s = r["summary"]
t, c = s["timings_ms"], s["cpu_ms"]
share = s["inputs"]["eligible_pairs"] / (n * o)
print(f"| {n} | {o} | {wall:.0f} | {t['"'"'load'"'"']:.0f} | {t['"'"'score'"'"']:.0f} ({c['"'"'score'"'"']:.0f}) | "
      f"{t['"'"'solve'"'"']:.0f} ({c['"'"'solve'"'"']:.0f}) | {t.get('"'"'kinds'"'"', 0):.0f} ({s.get('"'"'threads'"'"', 1)}) | "
      f"{share:.3f} | {s['"'"'assigned'"'"']} | {s['"'"'total_score'"'"']} | {peak} |")
' "$n" $((n * 2 / 5)) "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) * 1000 }')" "$peak"
}

echo "| candidates | openings | run wall ms | load ms | score ms (CPU) | solve ms (CPU) | kinds wall ms (threads) | eligible share | assigned | total score | worker peak MB |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for n in $SIZES; do run_size "$n"; done

# ---- the solver beside scipy --------------------------------------------------------------------
# One kind of the 5,000-candidate run: 5,000 candidates, 2,000 / 7 openings of capacity 1-5, and
# every pair eligible with probability 0.1, gains 0..9,999 (scores x 1000).
[ "$SOLVER" = 1 ] && /usr/bin/python3 - "$BIN/flow_check" <<'PY'
import random, subprocess, sys, time
import numpy as np
from scipy.optimize import linear_sum_assignment
rng = random.Random(7)
nl, nr = 5000, 2000 // 7
cap = [rng.randint(1, 5) for _ in range(nr)]
arcs = [(l, r, rng.randint(0, 9999)) for l in range(nl) for r in range(nr) if rng.random() < 0.1]
text = f"{nl} {nr} {len(arcs)}\n" + " ".join(map(str, cap)) + "\n" + "".join(f"{l} {r} {g}\n" for l, r, g in arcs)
t0 = time.perf_counter()
out = subprocess.run([sys.argv[1]], input=text, capture_output=True, text=True, check=True).stdout
t_lemon = time.perf_counter() - t0
cols = [r for r, c in enumerate(cap) for _ in range(c)]
m = np.zeros((nl, len(cols)))
col_of = {}
for j, r in enumerate(cols):
    col_of.setdefault(r, []).append(j)
for l, r, g in arcs:
    m[l, col_of[r]] = g
t0 = time.perf_counter()
rows, sel = linear_sum_assignment(m, maximize=True)
t_scipy = time.perf_counter() - t0
print()
print(f"| solver (one kind: {nl} x {nr}, {len(arcs)} eligible pairs, {len(cols)} places) | seconds | total |")
print("| --- | ---: | ---: |")
print(f"| LEMON network simplex (flow_check, parse included) | {t_lemon:.3f} | {out.split()[0]} |")
print(f"| scipy linear_sum_assignment (dense {nl} x {len(cols)}) | {t_scipy:.3f} | {int(m[rows, sel].sum())} |")
PY

# ---- ranking under load -------------------------------------------------------------------------
# Beside the latencies, the worker's own CPU time per request (utime + stime from /proc over the
# requests wrk counted): on a shared machine the wall times say more about the neighbours.
"$BIN/brobygger-worker" --queues records,matching 2>>"$work/worker-ranking.log" &
wpid=$!
pids+=("$wpid")
key=$(awk -v s="m_$RANKING_SIZE" '$1 == s { print $2 }' "$work/keys.txt")
psql_admin -tA -c "SELECT '/v1/candidates/' || id || '/ranking' FROM t_m_$RANKING_SIZE.candidates
  ORDER BY id LIMIT 500" >"$work/ranking.txt"
psql_admin -tA -c "SELECT '/v1/openings/' || id || '/ranking' FROM t_m_$RANKING_SIZE.openings
  ORDER BY id LIMIT 500" >"$work/ranking-openings.txt"
# CPU ticks (utime + stime) of a process, and of PostgreSQL's postmaster with every backend.
ticks_of() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() {
  local pm t=0 p
  pm=$(head -n 1 "$BRO_DATA/pg/postmaster.pid")
  t=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat")
  for p in $(pgrep -P "$pm"); do t=$((t + $(ticks_of "$p"))); done
  echo "$t"
}
if [ "$HOLD" -gt 0 ]; then
  echo "holding $HOLD s: gateway :$GW, key $key, worker $wpid, paths in $work" >&2
  sleep "$HOLD" || true
fi
cpu_ticks() { echo "$(ticks_of "${pids[0]}") $(ticks_of "$wpid") $(ticks_of "$(cat "$BRO_DATA/redis/redis.pid")") $(pg_ticks)"; }
echo
echo "| ranking ($RANKING_SIZE candidates, $((RANKING_SIZE * 2 / 5)) openings), one worker | req/s | p50 ms | p99 ms | CPU ms/req: gateway | worker | Redis | PostgreSQL | errors | load average |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
for route in $ROUTES; do
  paths=$work/ranking.txt
  [ "$route" = openings ] && paths=$work/ranking-openings.txt
  for c in 1 "$CONNS"; do
    perf_pid=
    if [ -n "$PERF_OUT" ] && [ "$c" = "$CONNS" ]; then
      perf record -g -o "$PERF_OUT.$route" -p "$wpid" -- sleep "$DURATION" 2>/dev/null &
      perf_pid=$!
    fi
    t0=$(cpu_ticks)
    BENCH_PATHS=$paths wrk -t"$(( c < 2 ? 1 : 2 ))" -c"$c" -d"${DURATION}s" --latency \
      -s "$HERE/rotate.lua" -H "Authorization: Bearer $key" "http://127.0.0.1:$GW" >"$work/wrk.txt"
    t1=$(cpu_ticks)
    [ -n "$perf_pid" ] && wait "$perf_pid"
    read -r rps p50 p99 errors < <(bench_wrk_figures <"$work/wrk.txt")
    reqs=$(awk '/requests in/ { print $1 }' "$work/wrk.txt")
    cpu=$(awk -v a="$t0" -v b="$t1" -v n="$reqs" -v hz="$(getconf CLK_TCK)" 'BEGIN {
      split(a, x, " "); split(b, y, " ")
      for (i = 1; i <= 4; i++) printf "%.3f ", (y[i] - x[i]) * 1000 / hz / (n > 0 ? n : 1) }')
    read -r cg cw cr cp <<<"$cpu"
    echo "| GET /v1/$route/{id}/ranking, $c connection(s) | $rps | $p50 | $p99 | $cg | $cw | $cr | $cp | $errors | $(cut -d' ' -f1-3 /proc/loadavg) |"
  done
done
