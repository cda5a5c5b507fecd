#!/usr/bin/env bash
# Records benchmark (on demand, not part of the test command). Seeds a tenant with a large
# caseload straight through SQL, then measures the coordinator's reads at 64 connections in a
# database that holds that tenant alone and in one that holds it among 400 tenants.
#
# Two complete stacks run side by side on this machine, each with its own PostgreSQL cluster,
# workers and gateway (one Redis, a database number each):
#   one   the tenant "bench" alone
#   many  the same tenant (same seed, same rows) plus TENANTS - 1 smaller tenants
# Every target is measured on both stacks back to back, in alternating order from round to
# round, so drift of the shared machine falls on both alike, and both databases grow their
# audit logs at the same pace. "many" also serves single reads that change tenant at every
# request, each with its tenant's own key. References in the same run: an nginx static 200 and
# each gateway's GET /healthz. Prints a Markdown table of the median req/s, p50 and p99 over
# the rounds. Loopback only. Knobs below; tests/bench/README.md explains the choices.
# shellcheck disable=SC2119 # bro_pg_start without "fast": the durable settings
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../../deploy/local/lib.sh
. "$(dirname "$0")/../../deploy/local/lib.sh"
# shellcheck source=bench_lib.sh
. "$(dirname "$0")/bench_lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

DURATION=${DURATION:-10}         # seconds per wrk round
ROUNDS=${ROUNDS:-3}              # rounds; medians are reported
CONNS=${CONNS:-64}               # wrk connections (two threads)
WORKERS=${WORKERS:-4}            # workers per stack
WARMUP=${WARMUP:-2}              # seconds per target and stack before round 1, not counted (0: none)
TENANTS=${TENANTS:-400}          # tenants in the "many" database, "bench" included
CANDIDATES=${CANDIDATES:-10000}  # the bench tenant's caseload
JOURNAL=${JOURNAL:-100000}
ORGS=${ORGS:-200}
OPENINGS=${OPENINGS:-2000}
EXTRA_CANDIDATES=${EXTRA_CANDIDATES:-100} # each other tenant: this many candidates, ten times
                                          # as many journal entries, 1/20 organisations,
                                          # 1/5 openings
REDIS_FSYNC=${REDIS_FSYNC:-always}
REUSE=${REUSE:-}                 # 1: keep the seeded databases and use them again next time
KEEP=${KEEP:-}                   # 1: keep wrk output, results and logs in .local/bench-records-out/
SERIAL=${SERIAL:-}               # 1: every target also at 1 connection (the bare service time)
ONLY=${ONLY:-}                   # e.g. "list single": measure only these targets (references stay)
PG_ONE=${PG_ONE:-54361} PG_MANY=${PG_MANY:-54362} REDIS_PORT=${REDIS_PORT:-63831}
GW_ONE=${GW_ONE:-18191} GW_MANY=${GW_MANY:-18193} NGINX_PORT=${NGINX_PORT:-18195} # and +1 of each GW

bro_install wrk nginx-light
bro_build "$BRO_ROOT/build"
BIN=$BRO_ROOT/build
ROOT_DATA=$BRO_ROOT/.local/bench-records
export BROBYGGER_LOG=warn
# Rate limits far above the load (one key makes about 700 requests a second here), so every job
# still goes through the rate-limit script and the figures include its cost, but none is refused.
# Set BROBYGGER_RATE_KEY=0 etc. to measure without the script.
export BROBYGGER_RATE_KEY=${BROBYGGER_RATE_KEY:-1000000} BROBYGGER_RATE_KEY_BURST=${BROBYGGER_RATE_KEY_BURST:-1000000}
export BROBYGGER_RATE_TENANT=${BROBYGGER_RATE_TENANT:-1000000} BROBYGGER_RATE_TENANT_BURST=${BROBYGGER_RATE_TENANT_BURST:-1000000}
# The 400-tenant target uses a key per tenant from one address: at BROBYGGER_AUTH_CACHE_MS, that
# is some hundred key checks a second, above the default per-address limit of 50.
export BROBYGGER_RATE_AUTH=${BROBYGGER_RATE_AUTH:-1000000} BROBYGGER_RATE_AUTH_BURST=${BROBYGGER_RATE_AUTH_BURST:-1000000}
work=$(mktemp -d)
pids=()

# use_stack one|many: points lib.sh and the programs' environment at that stack.
use_stack() {
  if [ "$1" = one ]; then
    bro_profile bench-records/one "$PG_ONE" "$REDIS_PORT"
    export BROBYGGER_REDIS="redis://127.0.0.1:$REDIS_PORT/0"
    export BROBYGGER_LISTEN=127.0.0.1:$GW_ONE BROBYGGER_ADMIN_LISTEN=127.0.0.1:$((GW_ONE + 1))
  else
    bro_profile bench-records/many "$PG_MANY" "$REDIS_PORT"
    export BROBYGGER_REDIS="redis://127.0.0.1:$REDIS_PORT/1"
    export BROBYGGER_LISTEN=127.0.0.1:$GW_MANY BROBYGGER_ADMIN_LISTEN=127.0.0.1:$((GW_MANY + 1))
  fi
}

# own_redis_stop: stops the Redis on REDIS_PORT only if it is this benchmark's (its data
# directory is ours); a Redis of anyone else on that port is left alone.
own_redis_stop() {
  local dir
  dir=$(redis-cli -p "$REDIS_PORT" config get dir 2>/dev/null | sed -n 2p) || true
  [ -n "$dir" ] && [ "$dir" = "$(cd "$ROOT_DATA/one/redis" 2>/dev/null && pwd -P)" ] && bro_redis_stop
  return 0
}

bench_stop() {
  [ ${#pids[@]} -gt 0 ] && { kill -TERM "${pids[@]}" 2>/dev/null || true; }
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && { kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; }
  own_redis_stop
  use_stack one; bro_pg_stop
  use_stack many; bro_pg_stop
  [ -z "$REUSE" ] && rm -rf "$ROOT_DATA"
  if [ -n "$KEEP" ]; then
    rm -rf "$BRO_ROOT/.local/bench-records-out"
    cp -r "$work" "$BRO_ROOT/.local/bench-records-out"
  fi
  rm -rf "$work"
}
use_stack one
trap bench_stop EXIT

# since T0: seconds elapsed since T0 (an EPOCHREALTIME reading), one decimal.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# psql_admin SQL...: the owner connection of the current stack, quiet, stops on the first error.
psql_admin() {
  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$BRO_PG_PORT" -U postgres -d brobygger "$@"
}

# seed_tenant SCHEMA SEED CANDIDATES JOURNAL ORGS OPENINGS: the psql lines that seed one schema.
seed_tenant() {
  printf 'SET search_path = %s, public;\n\\set seed %s\n' "$1" "$2"
  printf '\\set cands %s\n\\set journal %s\n\\set orgs %s\n\\set openings %s\n' "$3" "$4" "$5" "$6"
  printf '\\i %s\n' "$HERE/seed_records.sql"
}

# seed_stack one|many TENANTS: a fresh cluster with the bench tenant and TENANTS - 1 others;
# keys for each tenant go to keys.txt (slug key). Appends timings to timings.txt.
seed_stack() {
  local stack=$1 count=$2 t0 i slug key ecands
  use_stack "$stack"
  bro_pg_start
  "$BIN/brobygger-admin" migrate >/dev/null
  "$BIN/brobygger-admin" tenant create --slug bench --name "Bench kommune" --kommunenummer 9999 >/dev/null
  key=$("$BIN/brobygger-admin" key issue --tenant bench --role coordinator | tail -n 1)
  echo "bench $key" >"$BRO_DATA/keys.txt"
  t0=$EPOCHREALTIME
  seed_tenant t_bench 0.42 "$CANDIDATES" "$JOURNAL" "$ORGS" "$OPENINGS" |
    psql_admin -o /dev/null -v base="$BASE"
  echo "$stack seed_bench $(since "$t0")" >>"$ROOT_DATA/timings.txt"
  [ "$count" -le 1 ] && return 0

  bro_say "$stack: creating $((count - 1)) more tenants with brobygger-admin"
  t0=$EPOCHREALTIME
  for i in $(seq 2 "$count"); do
    slug=$(printf 'kommune%03d' "$i")
    "$BIN/brobygger-admin" tenant create --slug "$slug" --name "Kommune $i" \
      --kommunenummer $((5000 + i)) >/dev/null
    key=$("$BIN/brobygger-admin" key issue --tenant "$slug" --role coordinator | tail -n 1)
    echo "$slug $key" >>"$BRO_DATA/keys.txt"
  done
  echo "$stack create_tenants $(since "$t0")" >>"$ROOT_DATA/timings.txt"

  bro_say "$stack: seeding $((count - 1)) tenants with $EXTRA_CANDIDATES candidates each"
  ecands=$EXTRA_CANDIDATES
  t0=$EPOCHREALTIME
  for i in $(seq 2 "$count"); do
    seed_tenant "$(printf 't_kommune%03d' "$i")" "0.$((100000 + i))" "$ecands" $((ecands * 10)) \
      $(((ecands + 19) / 20)) $(((ecands + 4) / 5))
  done | psql_admin -o /dev/null -v base="$BASE"
  echo "$stack seed_tenants $(since "$t0")" >>"$ROOT_DATA/timings.txt"
}

# reset_stack: empties what earlier runs' reads left (audit rows, processed jobs), then
# VACUUM ANALYZE, so every run starts from the same tables.
reset_stack() {
  local t0=$EPOCHREALTIME
  psql_admin -c "DO \$\$ DECLARE s text; BEGIN
      FOR s IN SELECT 't_' || slug FROM platform.tenants LOOP
        EXECUTE format('TRUNCATE %I.audit_log, %I.processed_jobs, %I.idempotency_keys', s, s, s);
      END LOOP; END \$\$" -c "VACUUM ANALYZE"
  echo "$1 vacuum $(since "$t0")" >>"$work/timings-run.txt"
}

# ---- databases ---------------------------------------------------------------------------------

# REUSE takes the databases only if they were seeded with the same sizes, schema and seed, and
# for the same ports (a cluster keeps the port it was created with).
params="$CANDIDATES $JOURNAL $ORGS $OPENINGS $TENANTS $EXTRA_CANDIDATES $PG_ONE $PG_MANY"
params="$params $(cat "$BRO_ROOT"/schemas/*/*.sql "$HERE/seed_records.sql" | sha256sum | cut -c1-16)"
# What an earlier run of this script left running is stopped; anything else on our ports stops
# this run instead (set PG_ONE, PG_MANY, REDIS_PORT, GW_ONE, GW_MANY, NGINX_PORT to move it).
own_redis_stop
use_stack one; bro_pg_stop
use_stack many; bro_pg_stop
for port in "$PG_ONE" "$PG_MANY" "$REDIS_PORT" "$GW_ONE" $((GW_ONE + 1)) "$GW_MANY" \
  $((GW_MANY + 1)) "$NGINX_PORT"; do
  if (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    bro_die "port $port is in use (another benchmark run?); choose other ports with the variables"
  fi
done
if [ -n "$REUSE" ] && [ "$(cat "$ROOT_DATA/params" 2>/dev/null)" = "$params" ]; then
  bro_say "reusing the seeded databases in ${ROOT_DATA#"$BRO_ROOT"/}"
  reused=1
  use_stack one; bro_pg_start
  use_stack many; bro_pg_start
else
  rm -rf "$ROOT_DATA"
  mkdir -p "$ROOT_DATA"
  BASE=$(date -u +%FT%TZ)
  bro_say "seeding: bench tenant ($CANDIDATES candidates, $JOURNAL journal entries," \
    "$ORGS organisations, $OPENINGS openings) in two databases"
  seed_stack one 1
  seed_stack many "$TENANTS"
  echo "$params" >"$ROOT_DATA/params"
fi
use_stack one; reset_stack one
use_stack many; reset_stack many

# ---- services ----------------------------------------------------------------------------------

use_stack one
bro_redis_start "$REDIS_FSYNC"
for stack in one many; do
  use_stack "$stack"
  for i in $(seq "$WORKERS"); do
    "$BIN/brobygger-worker" --queues records,matching,notify,reports 2>>"$work/worker-$stack-$i.log" &
    pids+=($!)
  done
  "$BIN/brobygger-gateway" 2>>"$work/gateway-$stack.log" &
  pids+=($!)
done
for stack in one many; do
  port=$GW_ONE
  [ $stack = many ] && port=$GW_MANY
  bro_wait_http "http://127.0.0.1:$port/readyz" 30 ||
    bro_die "gateway ($stack) not ready: $(tail -n 3 "$work/gateway-$stack.log")"
done

bench_nginx_start "$work" "$NGINX_PORT"

# ---- what is read ------------------------------------------------------------------------------
# Per stack: its coordinator key, 1,000 visible candidates of the bench tenant (single reads
# and journals), and for "many" three visible candidates of every tenant with that tenant's key.

# Names, parts of names, a ref, a tag, a full name and one typo that matches nothing (a scan).
FRAGMENTS="ingrid hansen berg nils olsen kari haug dahl lars sen vik moe ahmed kowal sæther
K-2025-0042 dyr tor johan hansne"
use_stack one; key_one=$(awk '$1 == "bench" { print $2 }' "$BRO_DATA/keys.txt")
use_stack many; key_many=$(awk '$1 == "bench" { print $2 }' "$BRO_DATA/keys.txt")
for stack in one many; do
  use_stack "$stack"
  psql_admin -tA -c "SELECT setseed(0.5)" -c "SELECT '/v1/candidates/' || id FROM t_bench.candidates
    WHERE erased_at IS NULL AND NOT restricted ORDER BY random() LIMIT 1000" |
    grep '^/' >"$work/single-$stack.txt"
  sed 's|$|/journal|' "$work/single-$stack.txt" >"$work/journal-$stack.txt"
  # shellcheck disable=SC2086 # one fragment per word
  /usr/bin/python3 -c 'import sys, urllib.parse
for f in sys.argv[1:]: print("/v1/candidates?q=" + urllib.parse.quote(f))' $FRAGMENTS \
    >"$work/search-$stack.txt"
done
use_stack many
psql_admin -tA -F ' ' -c "CREATE FUNCTION pg_temp.some_ids() RETURNS TABLE (slug text, id uuid)
    LANGUAGE plpgsql AS \$\$ DECLARE t text; BEGIN
      FOR t IN SELECT s.slug FROM platform.tenants s ORDER BY 1 LOOP
        RETURN QUERY EXECUTE format('SELECT %L::text, id FROM %I.candidates WHERE erased_at IS NULL
          AND NOT restricted ORDER BY id DESC LIMIT 3', t, 't_' || t);
      END LOOP; END \$\$" -c "SELECT * FROM pg_temp.some_ids()" >"$work/ids-many.txt"
awk 'NR == FNR { key[$1] = $2; next } NF == 2 { print "/v1/candidates/" $2, key[$1] }' \
  "$BRO_DATA/keys.txt" "$work/ids-many.txt" | shuf --random-source=<(yes) >"$work/spread-many.txt"

# Targets: name, path or @file of paths, stacks, label in the table.
TARGETS=(
  "list|/v1/candidates?limit=50|one many|\`GET /v1/candidates\` (list, limit 50)"
  "search|@search|one many|\`GET /v1/candidates?q=\` (search, $(wc -w <<<"$FRAGMENTS") fragments in turn)"
  "status|/v1/candidates?status=kartlagt|one many|\`GET /v1/candidates?status=kartlagt\`"
  "single|@single|one many|\`GET /v1/candidates/{id}\` (1,000 ids in turn)"
  "spread|@spread|many|\`GET /v1/candidates/{id}\`, another tenant each request (3 ids × $TENANTS tenants, their own keys)"
  "journal|@journal|one many|\`GET /v1/candidates/{id}/journal\` (1,000 ids in turn)"
  "openings|/v1/openings|one many|\`GET /v1/openings\`"
)

# target_url STACK SPEC: the URL a target gives wrk on that stack (for a file of paths, its
# first path; the script rotates from there).
target_url() {
  local port=$GW_ONE path=$2
  [ "$1" = many ] && port=$GW_MANY
  [ "${path:0:1}" = @ ] && path=$(head -n 1 "$work/${path:1}-$1.txt" | cut -d' ' -f1)
  echo "http://127.0.0.1:$port$path"
}

# A target whose route is not there yet (its first probe answers 404 or 405) is skipped.
skipped=() left_out=()
for t in "${TARGETS[@]}"; do
  IFS='|' read -r name spec stacks _ <<<"$t"
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then
    left_out+=("$name")
    continue
  fi
  stack=${stacks%% *} key=$key_one
  [ "$stack" = many ] && key=$key_many
  url=$(target_url "$stack" "$spec")
  if [ "${spec:0:1}" = @ ]; then # a line "PATH KEY" brings its own key
    line=$(head -n 1 "$work/${spec:1}-$stack.txt")
    [ "$line" != "${line%% *}" ] && key=${line#* }
  fi
  code=$(curl -s -o "$work/probe-$name.txt" -w '%{http_code}' -H "Authorization: Bearer $key" "$url")
  case $code in
    404 | 405) bro_say "skipping $name: its first request answers $code"; skipped+=("$name") ;;
    2??) ;;
    *) bro_say "warning: $name answers $code: $(head -c 300 "$work/probe-$name.txt")" ;;
  esac
done
is_skipped() { [[ " ${skipped[*]} ${left_out[*]} " == *" $1 "* ]]; }

# run STACK NAME URL [paths file] [connections]: one wrk round; appends
# "stack name rps p50 p99 errors" to the results.
run() {
  local out key=$key_one c=${5:-$CONNS} t=2 script=()
  [ "$1" = many ] && key=$key_many
  [ "$c" -lt 2 ] && t=1
  [ -n "${4:-}" ] && script=(-s "$HERE/rotate.lua")
  out=$(BENCH_PATHS=${4:-} wrk -t$t -c"$c" -d"${DURATION}s" --latency "${script[@]}" \
    -H "Authorization: Bearer $key" "$3")
  printf '== %s %s\n%s\n' "$1" "$2" "$out" >>"$work/wrk.txt"
  printf '%s %s %s\n' "$1" "$2" "$(echo "$out" | bench_wrk_figures)" >>"$work/results"
}

# measure STACK TARGET [connections]: one round of a target on a stack; at 1 connection the
# result is named NAME@1.
measure() {
  local name spec stacks file=""
  IFS='|' read -r name spec stacks _ <<<"$2"
  [[ " $stacks " == *" $1 "* ]] || return 0
  [ "${spec:0:1}" = @ ] && file=$work/${spec:1}-$1.txt
  [ "${3:-$CONNS}" = 1 ] && name=$name@1
  run "$1" "$name" "$(target_url "$1" "$spec")" "$file" "${3:-$CONNS}"
}

# ---- rounds ------------------------------------------------------------------------------------

if [ "$WARMUP" != 0 ]; then
  bro_say "warming up: ${WARMUP}s per target and stack"
  saved=$DURATION DURATION=$WARMUP
  for t in "${TARGETS[@]}"; do
    is_skipped "${t%%|*}" && continue
    measure one "$t"; measure many "$t"
  done
  DURATION=$saved
  : >"$work/results"; : >"$work/wrk.txt"
fi
for r in $(seq "$ROUNDS"); do
  bro_say "round $r of $ROUNDS"
  order="one many"
  [ $((r % 2)) -eq 0 ] && order="many one"
  run ref nginx "http://127.0.0.1:$NGINX_PORT/"
  for stack in $order; do
    run "$stack" healthz "$(target_url "$stack" /healthz)"
  done
  for t in "${TARGETS[@]}"; do
    is_skipped "${t%%|*}" && continue
    for stack in $order; do measure "$stack" "$t"; done
    if [ -n "$SERIAL" ]; then
      for stack in $order; do measure "$stack" "$t" 1; done
    fi
  done
done

# ---- report ------------------------------------------------------------------------------------

[ -z "${reused:-}" ] && cp "$ROOT_DATA/timings.txt" "$work/timings.txt"
echo
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; wrk -t2 -c$CONNS -d${DURATION}s, $ROUNDS rounds, medians; $WORKERS workers per stack."
echo "Bench tenant: $CANDIDATES candidates, $JOURNAL journal entries, $ORGS organisations, $OPENINGS openings; the other $((TENANTS - 1)) tenants $EXTRA_CANDIDATES candidates each."
/usr/bin/python3 - "$work/results" "$TENANTS" "$CONNS" "$work" "${skipped[*]:-}" "${TARGETS[@]}" <<'PY'
import os, statistics, sys
results, tenants, conns, work, skipped = sys.argv[1:5] + [sys.argv[5].split()]
targets = [t.split("|") for t in sys.argv[6:]]
rows = {}
for line in open(results):
    stack, name, rps, p50, p99, err = line.split()
    rows.setdefault((stack, name), []).append((float(rps), float(p50), float(p99), int(err)))

def med(stack, name):
    rs = rows.get((stack, name))
    if not rs:
        return None
    return (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs),
            statistics.median(r[2] for r in rs), sum(r[3] for r in rs))

def cells(m):
    return ["—"] * 3 if m is None else [f"{m[0]:,.0f}", f"{m[1]:.2f}", f"{m[2]:.2f}"]

print(f"| target | 1 tenant req/s | p50 ms | p99 ms | {tenants} tenants req/s | p50 ms | p99 ms"
      " | p99 ratio | non-2xx |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
lines = [("ref", "ref", "nginx", "nginx static 200 (reference)"),
         ("one", "many", "healthz", "gateway `GET /healthz` (reference)")]
for t in targets:
    lines.append(("one", "many", t[0], t[3]))
    if med("one", t[0] + "@1") or med("many", t[0] + "@1"):
        lines.append(("one", "many", t[0] + "@1", t[3] + ", 1 connection"))
slow = []
for a, b, name, label in lines:
    if name in skipped:
        print(f"| {label} | skipped: no route yet (404/405) | | | | | | | |")
        continue
    ma = med(a, name)
    mb = med(b, name) if b != a else None
    if ma is None and mb is None:  # left out with ONLY
        continue
    ratio = f"{mb[2] / ma[2]:.2f}" if ma and mb and ma[2] > 0 else "—"
    errors = " / ".join(str(m[3]) for m in (ma, mb) if m is not None)
    print(f"| {label} | " + " | ".join(cells(ma) + cells(mb)) + f" | {ratio} | {errors} |")
    for stack, m in (("1", ma), (tenants, mb)):
        if m and name not in ("nginx", "healthz") and "@" not in name and m[2] >= 10:
            slow.append(f"{name} ({stack} tenant{'s' if stack != '1' else ''})")
print()
print(f"p99 of 10 ms or more at {conns} connections: " + (", ".join(slow) if slow else "none") + ".")
t = {}
for name in ("timings.txt", "timings-run.txt"):
    if os.path.exists(os.path.join(work, name)):
        for line in open(os.path.join(work, name)):
            stack, what, secs = line.split()
            t[(stack, what)] = float(secs)
parts = []
if ("one", "seed_bench") in t:
    parts.append(f"bench tenant {t[('one', 'seed_bench')]:.1f} s")
if ("many", "create_tenants") in t:
    parts.append(f"{int(tenants) - 1} tenants created with brobygger-admin (and a key each) "
                 f"{t[('many', 'create_tenants')]:.1f} s")
if ("many", "seed_tenants") in t:
    parts.append(f"their seed {t[('many', 'seed_tenants')]:.1f} s")
if parts:
    print("Seeding (SQL through the owner connection): " + "; ".join(parts) + ".")
else:
    print("Seeded databases reused (REUSE=1).")
if ("one", "vacuum") in t and ("many", "vacuum") in t:
    print(f"VACUUM ANALYZE before the rounds: {t[('one', 'vacuum')]:.1f} s (1 tenant), "
          f"{t[('many', 'vacuum')]:.1f} s ({tenants} tenants).")
PY
