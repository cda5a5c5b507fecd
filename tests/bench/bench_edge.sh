#!/usr/bin/env bash
# The HTTP edge (on demand, not part of the test command): what the gateway's own connection
# layer costs against nginx in the same run, on the three shapes of traffic it must survive:
#   keep-alive      wrk -c64 on GET /healthz (nginx: a static 200)
#   new connection  ab -c32, one request per connection (accept, parse, answer, close)
#   slow clients    the keep-alive load again while SLOW slowloris clients hold connections
# Alternating rounds, medians. BASELINE=<git revision> also builds that revision's gateway and
# measures it alongside (e.g. the last commit before a change). Loopback only.
set -euo pipefail
. "$(dirname "$0")/../../deploy/local/lib.sh"
# shellcheck source=bench_lib.sh
. "$(dirname "$0")/bench_lib.sh"

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
SLOW=${SLOW:-1000}
AB_REQUESTS=${AB_REQUESTS:-20000}
GW_PORT=18191
BASE_PORT=18192
NGINX_PORT=18193

bro_install wrk nginx-light apache2-utils
bro_build "$BRO_ROOT/build"
work=$(mktemp -d)
pids=()
bench_stop() {
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
  rm -rf "$work"
}
trap bench_stop EXIT

# Only /healthz is asked for, which the gateway answers alone: no Redis is needed, and the slow
# clients must stay attached for a whole round, so the head deadline is longer than a round.
gateway() { # gateway BINARY PORT ADMIN_PORT
  env BROBYGGER_LISTEN="127.0.0.1:$2" BROBYGGER_ADMIN_LISTEN="127.0.0.1:$3" \
    BROBYGGER_REDIS=redis://127.0.0.1:1/0 BROBYGGER_LOG=error \
    BROBYGGER_HEADER_TIMEOUT_MS=$(((DURATION + 30) * 1000)) "$1" 2>>"$work/gateway.log" &
  pids+=($!)
  bro_wait_http "http://127.0.0.1:$2/healthz" 10 || bro_die "gateway on $2 not ready"
}
gateway "$BRO_ROOT/build/brobygger-gateway" "$GW_PORT" 18194
targets="nginx gateway"
if [ -n "${BASELINE:-}" ]; then
  base=$BRO_ROOT/.local/bench-baseline
  rm -rf "$base" && mkdir -p "$base/src"
  git -C "$BRO_ROOT" archive "$BASELINE" | tar -x -C "$base/src"
  bro_say "building the baseline $BASELINE"
  cmake -S "$base/src" -B "$base/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$base/build" -j "$(nproc)" --target brobygger-gateway >/dev/null
  gateway "$base/build/brobygger-gateway" "$BASE_PORT" 18195
  targets="$targets baseline"
fi
bench_nginx_start "$work" "$NGINX_PORT" 4096

port_of() { case $1 in nginx) echo "$NGINX_PORT" ;; gateway) echo "$GW_PORT" ;; *) echo "$BASE_PORT" ;; esac; }
path_of() { [ "$1" = nginx ] && echo / || echo /healthz; }

keepalive() { # keepalive SHAPE TARGET: one wrk round, "shape target rps p50 p99 errors"
  local out
  out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$(port_of "$2")$(path_of "$2")")
  echo "$out" >>"$work/wrk.txt"
  printf '%s %s %s\n' "$1" "$2" "$(echo "$out" | bench_wrk_figures)" >>"$work/results"
}
fresh() { # fresh TARGET: one ab round with a new connection per request
  local out
  out=$(ab -q -n "$AB_REQUESTS" -c 32 "http://127.0.0.1:$(port_of "$1")$(path_of "$1")" 2>&1)
  echo "$out" >>"$work/ab.txt"
  /usr/bin/python3 -c '
import re, sys
t = sys.stdin.read()
rps = float(re.search(r"Requests per second: +([0-9.]+)", t).group(1))
pct = dict(re.findall(r"^ +(\d+)% +(\d+)", t, re.M))
failed = int(re.search(r"Failed requests: +(\d+)", t).group(1))
non2xx = re.search(r"Non-2xx responses: +(\d+)", t)
print("fresh", sys.argv[1], rps, pct.get("50", "0"), pct.get("99", "0"),
      failed + (int(non2xx.group(1)) if non2xx else 0))' "$1" <<<"$out" >>"$work/results"
}
for r in $(seq "$ROUNDS"); do
  bro_say "round $r of $ROUNDS"
  for t in $targets; do keepalive keepalive "$t"; done
  for t in $targets; do fresh "$t"; done
  for t in $targets; do
    /usr/bin/python3 "$(dirname "$0")/slow_clients.py" "$(port_of "$t")" "$SLOW" $((DURATION + 3)) &
    slow=$!
    sleep 2 # the slow clients connect and send their first lines
    keepalive slow "$t"
    wait "$slow"
  done
done

echo
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; wrk -t2 -c$CONNS -d${DURATION}s; ab -c32 -n$AB_REQUESTS; $SLOW slow clients; $ROUNDS rounds, medians."
/usr/bin/python3 - "$work/results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    shape, target, rps, p50, p99, err = line.split()
    rows.setdefault((shape, target), []).append((float(rps), float(p50), float(p99), int(err)))
shapes = {"keepalive": "keep-alive, 64 connections", "fresh": "a new connection per request",
          "slow": "keep-alive, with slow clients attached"}
names = {"nginx": "nginx (reference)", "gateway": "gateway", "baseline": "gateway (baseline)"}
print("| traffic | server | req/s | vs nginx | p50 ms | p99 ms | errors |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
for shape, label in shapes.items():
    ref = statistics.median(r[0] for r in rows[(shape, "nginx")])
    for target in ("nginx", "gateway", "baseline"):
        got = rows.get((shape, target))
        if not got:
            continue
        med = [statistics.median(r[i] for r in got) for i in range(3)]
        print(f"| {label} | {names[target]} | {med[0]:,.0f} | {med[0] / ref:.2f} | "
              f"{med[1]:.2f} | {med[2]:.2f} | {sum(r[3] for r in got)} |")
PY
