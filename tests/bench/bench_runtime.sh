#!/usr/bin/env bash
# Worker runtime benchmark (on demand, not part of the test command). With durability on
# (synchronous_commit on, appendfsync always) and 64 connections: GET /v1/candidates/{id} over
# 1,000 ids and POST /v1/candidates in one tenant and spread over TENANTS tenants, each with one
# worker process running 1, 4, 16 and 64 jobs at once; a no-op job kind drained by one worker
# process; the CPU seconds of each process while the reads run. References in the same run:
# nginx's static 200 (wrk), pgbench running each route's own transaction shape at the same client
# count (tests/bench/runtime/*.sql), and redis-benchmark XADD. Prints a Markdown table for README.
# Loopback only; everything it starts it stops.
# shellcheck disable=SC2119 # bro_pg_start without "fast": the durable settings
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../../deploy/local/lib.sh
. "$(dirname "$0")/../../deploy/local/lib.sh"
# shellcheck source=bench_lib.sh
. "$(dirname "$0")/bench_lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

DURATION=${DURATION:-8}          # seconds per measurement
CONNS=${CONNS:-64}               # wrk connections and pgbench clients
LEVELS=${LEVELS-"1 4 16 64"}     # --concurrency of the one worker process
TENANTS=${TENANTS:-400}          # tenants the spread creates go to
CANDIDATES=${CANDIDATES:-5000}   # the bench tenant's caseload (1,000 of them are read)
NOOP_JOBS=${NOOP_JOBS:-200000}   # no-op jobs drained per measurement
NOOP_LEVELS=${NOOP_LEVELS-"1 16 64"}
REUSE=${REUSE:-}                 # 1: keep the seeded database for the next REUSE=1 run
POSTS=${POSTS:-1}                # 0: measure the reads only (NOOP_LEVELS="" skips the no-op jobs)
REDIS_SYNC=${REDIS_SYNC:-always} # Redis appendfsync; "everysec" only to see what the fsync costs
BASELINE=${BASELINE:-}           # a git revision: also measure its gateway with BASE_WORKERS
BASE_WORKERS=${BASE_WORKERS:-4}  # worker processes (one job each), as that revision ran
BASE_DIR=$BRO_ROOT/.local/bench-runtime-baseline
PG_PORT=${PG_PORT:-54371} REDIS_PORT=${REDIS_PORT:-63841}
GW_PORT=${GW_PORT:-18211} NGINX_PORT=${NGINX_PORT:-18215} # the gateway's admin: GW_PORT + 1

bro_install wrk nginx-light
bro_build "$BRO_ROOT/build"
BIN=$BRO_ROOT/build
bro_profile bench-runtime "$PG_PORT" "$REDIS_PORT"
export BROBYGGER_LOG=warn BROBYGGER_THREADS=2
export BROBYGGER_LISTEN=127.0.0.1:$GW_PORT BROBYGGER_ADMIN_LISTEN=127.0.0.1:$((GW_PORT + 1))
# Rate limits far above the load: every job still goes through the rate-limit script.
export BROBYGGER_RATE_KEY=1000000 BROBYGGER_RATE_KEY_BURST=1000000
export BROBYGGER_RATE_TENANT=1000000 BROBYGGER_RATE_TENANT_BURST=1000000
export BROBYGGER_RATE_AUTH=1000000 BROBYGGER_RATE_AUTH_BURST=1000000
work=$(mktemp -d)
gateway=""
worker=""

bench_stop() {
  [ -n "$worker" ] && { kill -TERM "$worker" 2>/dev/null || true; wait "$worker" 2>/dev/null || true; }
  [ -n "$gateway" ] && { kill -TERM "$gateway" 2>/dev/null || true; wait "$gateway" 2>/dev/null || true; }
  [ -f "$work/nginx.pid" ] && { kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; }
  bro_redis_stop
  bro_pg_stop
  [ -z "$REUSE" ] && rm -rf "$BRO_DATA"
  rm -rf "$work"
}
for port in "$PG_PORT" "$REDIS_PORT" "$GW_PORT" $((GW_PORT + 1)) "$NGINX_PORT"; do
  if (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    bro_die "port $port is in use; choose others with PG_PORT, REDIS_PORT, GW_PORT, NGINX_PORT"
  fi
done
trap bench_stop EXIT

psql_admin() {
  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d brobygger "$@"
}

# ---- the database ------------------------------------------------------------------------------

params="$CANDIDATES $TENANTS $(cat "$BRO_ROOT"/schemas/*/*.sql | sha256sum | cut -c1-16)"
if [ -n "$REUSE" ] && [ "$(cat "$BRO_DATA/params" 2>/dev/null)" = "$params" ]; then
  bro_say "reusing the seeded database in ${BRO_DATA#"$BRO_ROOT"/}"
  bro_pg_start
else
  rm -rf "$BRO_DATA"
  bro_pg_start
  bro_say "seeding: tenant bench ($CANDIDATES candidates) and $TENANTS tenants bt1 .. bt$TENANTS"
  "$BIN/brobygger-admin" migrate >/dev/null
  "$BIN/brobygger-admin" tenant create --slug bench --name "Bench" --kommunenummer 9999 >/dev/null
  "$BIN/brobygger-admin" key issue --tenant bench --role coordinator | tail -n 1 >"$BRO_DATA/key-one.txt"
  { printf 'SET search_path = t_bench, public;\n\\set seed 0.42\n\\set cands %s\n' "$CANDIDATES"
    printf '\\set journal %s\n\\set orgs 20\n\\set openings 50\n' "$CANDIDATES"
    printf '\\i %s\n' "$HERE/seed_records.sql"; } | psql_admin -o /dev/null -v base="$(date -u +%FT%TZ)"
  psql_admin -c "CREATE TABLE t_bench.bench_ids AS SELECT row_number() OVER (ORDER BY id) AS n, id
      FROM (SELECT id FROM t_bench.candidates WHERE erased_at IS NULL AND NOT restricted
      ORDER BY id DESC LIMIT 1000) x" -c "GRANT SELECT ON t_bench.bench_ids TO t_bench"
  : >"$BRO_DATA/keys-spread.txt"
  for i in $(seq "$TENANTS"); do
    "$BIN/brobygger-admin" tenant create --slug "bt$i" --name "Bench $i" \
      --kommunenummer $((5000 + i)) >/dev/null
    "$BIN/brobygger-admin" key issue --tenant "bt$i" --role coordinator | tail -n 1 \
      >>"$BRO_DATA/keys-spread.txt"
  done
  echo "$params" >"$BRO_DATA/params"
fi
psql_admin -tA -c "SELECT '/v1/candidates/' || id FROM t_bench.bench_ids ORDER BY n" \
  >"$work/single.txt"
cp "$BRO_DATA/key-one.txt" "$work/key-one.txt"
KEY=$(cat "$work/key-one.txt")
# The creates: rotate.lua posts BENCH_BODY to each line's path with its key.
POST_BODY='{"given_name":"Benk","family_name":"Opprettet","interests":["kino"]}'
sed 's|^|/v1/candidates |' "$work/key-one.txt" >"$work/post-one.txt"
sed 's|^|/v1/candidates |' "$BRO_DATA/keys-spread.txt" >"$work/post-spread.txt"
psql_admin -c "VACUUM ANALYZE" >/dev/null
bro_redis_start "$REDIS_SYNC"

# ---- helpers -----------------------------------------------------------------------------------

# cpu_of PID...: user + system seconds so far of those processes (clock ticks summed / HZ).
cpu_of() {
  local total=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
  done
  awk -v t="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
postgres_pids() { echo "$(head -1 "$BRO_DATA/pg/postmaster.pid") $(pgrep -P "$(head -1 "$BRO_DATA/pg/postmaster.pid")" | tr '\n' ' ')"; }
redis_pid() { cat "$BRO_DATA/redis/redis.pid"; }

# wrk_run NAME URL [wrk args...]: one measurement; appends "NAME rps p50 p99 errors" to results.
wrk_run() {
  local name=$1 url=$2
  shift 2
  wrk -t 2 -c "$CONNS" -d "${DURATION}s" --latency "$@" "$url" >"$work/wrk-$name.txt" 2>&1
  echo "$name $(bench_wrk_figures <"$work/wrk-$name.txt")" >>"$work/results.txt"
}

# pgbench_run NAME SCRIPT [args...]: appends "NAME tps".
pgbench_run() {
  local name=$1 script=$2
  shift 2
  pgbench -n -c "$CONNS" -j 2 -T "$DURATION" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@" \
    -f "$script" brobygger >"$work/pgbench-$name.txt" 2>&1 || true
  echo "$name $(awk '/^tps = / { print int($3) }' "$work/pgbench-$name.txt" | head -1)" \
    >>"$work/results.txt"
}

start_worker() {
  "$BIN/brobygger-worker" --queues records --concurrency "$1" 2>>"$work/worker.log" &
  worker=$!
}
stop_worker() {
  kill -TERM "$worker"
  wait "$worker" || true
  worker=""
}
wait_worker_ready() {
  local i
  for i in $(seq 300); do
    [ "$(redis-cli -p "$REDIS_PORT" --raw keys 'bro:worker:*' | grep -c .)" -ge 1 ] && return 0
    sleep 0.1
  done
  bro_die "worker not ready: $(tail -n 3 "$work/worker.log")"
}

if [ -n "$BASELINE" ]; then
  rm -rf "$BASE_DIR" && mkdir -p "$BASE_DIR/src"
  git -C "$BRO_ROOT" archive "$BASELINE" | tar -x -C "$BASE_DIR/src"
  bro_say "building the baseline $BASELINE"
  cmake -S "$BASE_DIR/src" -B "$BASE_DIR/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BASE_DIR/build" -j "$(nproc)" --target brobygger-gateway brobygger-worker >/dev/null
fi

# ---- references --------------------------------------------------------------------------------

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bro_say "references: nginx, redis-benchmark XADD, pgbench per transaction shape"
bench_nginx_start "$work" "$NGINX_PORT"
wrk_run nginx "http://127.0.0.1:$NGINX_PORT/"
redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c "$CONNS" -n 200000 -q \
  XADD bro:bench:xadd MAXLEN '~' 1000 '*' e 0123456789abcdef 2>/dev/null | tr '\r' '\n' |
  awk '/requests per second/ { for (i = 1; i <= NF; i++) if ($i == "requests") v = $(i - 1) }
       END { print "xadd", int(v) }' >>"$work/results.txt"
redis-cli -p "$REDIS_PORT" del bro:bench:xadd >/dev/null
pgbench_run pg_read_before "$HERE/runtime/read_before.sql" -M prepared
pgbench_run pg_read_after "$HERE/runtime/read_after.sql" -M prepared
pgbench_run pg_write_one "$HERE/runtime/write.sql" -M extended -D tenants=1
pgbench_run pg_write_spread "$HERE/runtime/write.sql" -M extended -D tenants="$TENANTS"

# ---- the service at each concurrency -----------------------------------------------------------

"$BIN/brobygger-gateway" 2>>"$work/gateway.log" &
gateway=$!
bro_wait_http "http://127.0.0.1:$GW_PORT/healthz" 30 || bro_die "gateway not answering"
for n in $LEVELS; do
  bro_say "one worker, --concurrency $n"
  start_worker "$n"
  wait_worker_ready
  BENCH_PATHS="$work/single.txt" wrk -t 2 -c "$CONNS" -d 2s -s "$HERE/rotate.lua" \
    -H "Authorization: Bearer $KEY" "http://127.0.0.1:$GW_PORT/" >/dev/null 2>&1 # warm-up
  pg="$(postgres_pids)"
  # shellcheck disable=SC2086 # a list of pids
  before="$(cpu_of "$gateway") $(cpu_of "$worker") $(cpu_of "$(redis_pid)") $(cpu_of $pg)"
  BENCH_PATHS="$work/single.txt" wrk_run "get_$n" "http://127.0.0.1:$GW_PORT/" \
    -s "$HERE/rotate.lua" -H "Authorization: Bearer $KEY"
  # shellcheck disable=SC2086
  after="$(cpu_of "$gateway") $(cpu_of "$worker") $(cpu_of "$(redis_pid)") $(cpu_of $pg)"
  echo "cpu_$n $before $after" >>"$work/results.txt"
  if [ "$POSTS" = 1 ]; then
    BENCH_PATHS="$work/post-one.txt" BENCH_BODY="$POST_BODY" wrk_run "post_one_$n" \
      "http://127.0.0.1:$GW_PORT/" -s "$HERE/rotate.lua"
    BENCH_PATHS="$work/post-spread.txt" BENCH_BODY="$POST_BODY" wrk_run "post_spread_$n" \
      "http://127.0.0.1:$GW_PORT/" -s "$HERE/rotate.lua"
  fi
  stop_worker
done

# ---- the baseline: the same requests through an earlier revision's gateway and workers ------

if [ -n "$BASELINE" ]; then
  bro_say "baseline $BASELINE: its gateway and $BASE_WORKERS of its workers"
  kill -TERM "$gateway"; wait "$gateway" || true
  "$BASE_DIR/build/brobygger-gateway" 2>>"$work/gateway-base.log" &
  gateway=$!
  bro_wait_http "http://127.0.0.1:$GW_PORT/healthz" 30 || bro_die "baseline gateway not answering"
  base_pids=()
  for i in $(seq "$BASE_WORKERS"); do
    "$BASE_DIR/build/brobygger-worker" --queues records 2>>"$work/worker-base.log" &
    base_pids+=($!)
  done
  wait_worker_ready
  BENCH_PATHS="$work/single.txt" wrk -t 2 -c "$CONNS" -d 2s -s "$HERE/rotate.lua" \
    -H "Authorization: Bearer $KEY" "http://127.0.0.1:$GW_PORT/" >/dev/null 2>&1 # warm-up
  BENCH_PATHS="$work/single.txt" wrk_run get_base "http://127.0.0.1:$GW_PORT/" \
    -s "$HERE/rotate.lua" -H "Authorization: Bearer $KEY"
  BENCH_PATHS="$work/post-one.txt" BENCH_BODY="$POST_BODY" wrk_run post_one_base \
    "http://127.0.0.1:$GW_PORT/" -s "$HERE/rotate.lua"
  BENCH_PATHS="$work/post-spread.txt" BENCH_BODY="$POST_BODY" wrk_run post_spread_base \
    "http://127.0.0.1:$GW_PORT/" -s "$HERE/rotate.lua"
  kill -TERM "${base_pids[@]}"
  for p in "${base_pids[@]}"; do wait "$p" || true; done
  redis-cli -p "$REDIS_PORT" del bro:q:records >/dev/null # the baseline's group, made anew below
fi

# ---- no-op jobs --------------------------------------------------------------------------------

# bench.noop touches no database (the runtime alone); bench.noop_tx opens and commits an empty
# transaction besides, so the difference is one PostgreSQL round trip per job.
for kind in bench.noop bench.noop_tx; do
  for n in $NOOP_LEVELS; do
    bro_say "no-op jobs ($kind): $NOOP_JOBS drained by one worker, --concurrency $n"
    /usr/bin/python3 "$HERE/runtime/noop_drain.py" "$BROBYGGER_REDIS" "$NOOP_JOBS" fill "$kind"
    redis_before=$(cpu_of "$(redis_pid)")
    redis-cli -p "$REDIS_PORT" config resetstat >/dev/null
    start_worker "$n"
    echo "noop_${kind#bench.noop}_$n $(/usr/bin/python3 "$HERE/runtime/noop_drain.py" \
      "$BROBYGGER_REDIS" "$NOOP_JOBS" drain)" >>"$work/results.txt"
    # CPU seconds the drain cost the worker and Redis (the worker's start-up is in it too)
    echo "noopcpu_${kind#bench.noop}_$n $(cpu_of "$worker") $redis_before $(cpu_of "$(redis_pid)")" \
      >>"$work/results.txt"
    { echo "Redis commands during the drain of $kind at --concurrency $n:"
      redis-cli -p "$REDIS_PORT" info commandstats | grep -E '^cmdstat_(x|multi|exec)'
    } >&2
    stop_worker
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the table ---------------------------------------------------------------------------------

/usr/bin/python3 - "$work/results.txt" "$load_before" "$load_after" "$LEVELS" "$BASE_WORKERS" "$REDIS_SYNC" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    if f:
        rows[f[0]] = f[1:]
levels = sys.argv[4].split()
def rps(name):
    return float(rows[name][0]) if name in rows else 0.0
nginx = rps("nginx")
print(f"Load average before and after: {sys.argv[2]} / {sys.argv[3]} (2 cores, shared).\n")
if sys.argv[6] != "always":
    print(f"Redis appendfsync {sys.argv[6]}: not the durable setting.\n")
print("| reference (same run) | per second |")
print("| --- | ---: |")
print(f"| nginx static 200, wrk {64} connections | {nginx:,.0f} |")
print(f"| redis-benchmark XADD, 64 clients | {int(rows['xadd'][0]):,} |")
for key, label in (("pg_read_before", "pgbench: the read's shape before (select + audit insert + stored reply + commit)"),
                   ("pg_read_after", "pgbench: the read's shape now (read-only select)"),
                   ("pg_write_one", "pgbench: the create's shape, one tenant"),
                   ("pg_write_spread", "pgbench: the create's shape, a random tenant each")):
    print(f"| {label}, 64 clients | {int(rows[key][0] or 0):,} |")
print()
print("| jobs in flight (one worker) | GET /v1/candidates/{id} req/s | p50 / p99 ms | POST, one tenant req/s | p99 ms | POST, spread req/s | p99 ms | errors |")
print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for n in levels + ["base"]:
    none = ["0", "0", "0", "0"]
    g, p1, ps = rows.get(f"get_{n}"), rows.get(f"post_one_{n}", none), rows.get(f"post_spread_{n}", none)
    if not g:
        continue
    if n == "base":
        n = f"baseline: {sys.argv[5]} workers, one job each"
    err = int(g[3]) + int(p1[3]) + int(ps[3])
    print(f"| {n} | {float(g[0]):,.0f} | {float(g[1]):.1f} / {float(g[2]):.1f} | {float(p1[0]):,.0f} | "
          f"{float(p1[2]):.1f} | {float(ps[0]):,.0f} | {float(ps[2]):.1f} | {err} |")
if levels:  # LEVELS="" measures the references and the no-op jobs only
    best = max(levels, key=lambda n: rps(f"get_{n}"))
    c = [float(x) for x in rows[f"cpu_{best}"]]
    names = ["gateway", "worker", "redis", "postgres"]
    print()
    print(f"CPU seconds per process during the GET run at {best} jobs in flight "
          f"({rps('get_' + best):,.0f} req/s):\n")
    print("| process | CPU s | share |")
    print("| --- | ---: | ---: |")
    used = [c[i + 4] - c[i] for i in range(4)]
    for name, u in zip(names, used):
        print(f"| {name} | {u:.1f} | {100 * u / sum(used):.0f} % |")
print()
print("| no-op jobs, one worker | kind | jobs/s | worker CPU µs a job | Redis CPU µs a job |")
print("| ---: | --- | ---: | ---: | ---: |")
noop_levels = sorted({int(k.rsplit("_", 1)[1]) for k in rows if k.startswith("noop_")})
for n in noop_levels:
    for suffix, kind in (("", "bench.noop"), ("_tx", "bench.noop_tx")):
        r, c = rows.get(f"noop_{suffix}_{n}"), rows.get(f"noopcpu_{suffix}_{n}")
        if not r or not c or int(r[0]) == 0:
            continue
        jobs = int(r[0])
        worker_us = 1e6 * float(c[0]) / jobs
        redis_us = 1e6 * (float(c[2]) - float(c[1])) / jobs
        print(f"| --concurrency {n} | `{kind}` | {int(r[2]):,} | {worker_us:.1f} | {redis_us:.1f} |")
PY
