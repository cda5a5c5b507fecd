#!/usr/bin/env bash
# Notify benchmark (on demand, not part of the test command): signed webhook deliveries per
# second from the outbox to a local receiver (nginx answering 200 to every POST), with WORKERS
# delivering worker processes, and the time from an event's commit to its first attempt. With
# durability on (synchronous_commit on, appendfsync always), pgbench commits RATE events a
# second into one tenant's outbox for DURATION seconds (EVENTS_PER_TX rows per transaction, as
# a matching run or an import writes several), each going to ENDPOINTS endpoints. Prints a
# Markdown table for README, where the time went (CPU seconds per process group, and what the
# workers' PostgreSQL sessions were doing, sampled every 100 ms), and, with CEILING seconds
# (default 10, 0: none), how many deliveries a second this PostgreSQL can write when nothing
# else runs: pgbench doing a delivery's writes alone (the row made leased, its result, its
# attempt row), 100 per transaction as the delivery thread batches them. With PROFILE=<folder>,
# perf records the workers and their PostgreSQL backends while events are committed (pg.perf,
# workers.perf) and auto_explain logs the workers' slow plans with each node's time
# (server.log). Loopback only; everything it starts it stops.
# shellcheck disable=SC2119 # bro_pg_start without "fast": the durable settings
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../../deploy/local/lib.sh
. "$(dirname "$0")/../../deploy/local/lib.sh"
# shellcheck source=bench_lib.sh
. "$(dirname "$0")/bench_lib.sh"

DURATION=${DURATION:-10}          # seconds events are committed
RATE=${RATE:-200}                 # event transactions per second (pgbench -R)
EVENTS_PER_TX=${EVENTS_PER_TX:-5} # outbox rows per transaction
ENDPOINTS=${ENDPOINTS:-5}         # endpoints each event goes to
WORKERS=${WORKERS:-2}             # delivering worker processes
IN_FLIGHT=${IN_FLIGHT:-64}        # BROBYGGER_NOTIFY_ENDPOINT_IN_FLIGHT
CEILING=${CEILING:-10}            # seconds of the write-ceiling run after the benchmark
PROFILE=${PROFILE:-}              # a folder: perf and auto_explain of the workers' sessions go there
PG_PORT=${PG_PORT:-54381} REDIS_PORT=${REDIS_PORT:-63851} NGINX_PORT=${NGINX_PORT:-18225}

bro_install nginx-light
bro_build "$BRO_ROOT/build"
BIN=$BRO_ROOT/build
bro_profile bench-notify "$PG_PORT" "$REDIS_PORT"
export BROBYGGER_LOG=warn BROBYGGER_NOTIFY_ALLOW_LOOPBACK=1
export BROBYGGER_NOTIFY_ENDPOINT_IN_FLIGHT=$IN_FLIGHT BROBYGGER_NOTIFY_SWEEP_MS=1000
work=$(mktemp -d)
workers=()

bench_stop() {
  for w in "${workers[@]}"; do kill -TERM "$w" 2>/dev/null || true; wait "$w" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && { kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; }
  bro_redis_stop
  bro_pg_stop
  rm -rf "$BRO_DATA" "$work"
}
for port in "$PG_PORT" "$REDIS_PORT" "$NGINX_PORT"; do
  if (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    bro_die "port $port is in use; choose others with PG_PORT, REDIS_PORT, NGINX_PORT"
  fi
done
trap bench_stop EXIT
psql_admin() {
  psql -X -q -tA -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d brobygger "$@"
}

rm -rf "$BRO_DATA"
bro_pg_start
bro_redis_start always
"$BIN/brobygger-admin" migrate >/dev/null
"$BIN/brobygger-admin" tenant create --slug bench --name "Bench" --kommunenummer 9999 >/dev/null
bench_nginx_start "$work" "$NGINX_PORT" 4096
if [ -n "$PROFILE" ]; then
  # Plans of the workers' statements slower than 10 ms, with the time of each node (a fifth of
  # them, so the timing's own cost stays small), written to the server's log.
  mkdir -p "$PROFILE"
  psql_admin -c "ALTER ROLE brobygger_worker SET session_preload_libraries = 'auto_explain'" \
    -c "ALTER ROLE brobygger_worker SET auto_explain.log_min_duration = '10ms'" \
    -c "ALTER ROLE brobygger_worker SET auto_explain.log_analyze = on" \
    -c "ALTER ROLE brobygger_worker SET auto_explain.sample_rate = 0.2"
fi
# Endpoints written directly (the routes are tested elsewhere): a known 24-byte secret each.
psql_admin -c "INSERT INTO t_bench.webhook_endpoints (id, url, events, secret, created_by)
  SELECT gen_random_uuid(), 'http://127.0.0.1:$NGINX_PORT/hook/' || i, ARRAY['*'],
  decode(repeat('ab', 24), 'hex'), 'bench' FROM generate_series(1, $ENDPOINTS) i"

for _ in $(seq "$WORKERS"); do
  "$BIN/brobygger-worker" --queues notify --concurrency 2 2>>"$work/workers.log" &
  workers+=($!)
done
bro_say "waiting for the delivery threads to poll"
for _ in $(seq 100); do
  [ "$(psql_admin -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%outbox_pending%'
    AND usename = 'brobygger_worker'")" -ge "$WORKERS" ] && break
  sleep 0.1
done

cat >"$work/event.sql" <<SQL
INSERT INTO t_bench.outbox (event_id, event, aggregate_id, payload)
SELECT gen_random_uuid(), 'report.ready', NULL, jsonb_build_object('report_id', gen_random_uuid(),
  'type', 'pipeline', 'format', 'csv') FROM generate_series(1, $EVENTS_PER_TX);
SQL
bro_say "committing $RATE transactions/s of $EVENTS_PER_TX events for ${DURATION}s to $ENDPOINTS endpoints, $WORKERS workers"
cpu_before=$(awk '{ s += $14 + $15 } END { print s }' $(printf '/proc/%s/stat ' "${workers[@]}"))
# CPU ticks of a process group: the cluster's processes (children of its postmaster) or nginx's.
group_ticks() {
  local pids
  pids=$(pgrep -P "$1" | tr '\n' ' ')
  # shellcheck disable=SC2086,SC2046 # one path per pid
  (cd /proc && cat $(printf '%s/stat ' "$1" $pids) 2>/dev/null) | awk '{ s += $14 + $15 } END { print s + 0 }'
}
pg_pid=$(head -1 "$BRO_DATA/pg/postmaster.pid")
pg_before=$(group_ticks "$pg_pid") nginx_before=$(group_ticks "$(cat "$work/nginx.pid")")
( while :; do
    psql_admin -c "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') || ' | ' ||
      left(regexp_replace(query, '\s+', ' ', 'g'), 48) FROM pg_stat_activity
      WHERE usename = 'brobygger_worker' AND state = 'active' AND pid <> pg_backend_pid()"
    sleep 0.1
  done >"$work/samples.txt" 2>/dev/null ) &
sampler=$!
if [ -n "$PROFILE" ]; then
  backends=$(psql_admin -c "SELECT string_agg(pid::text, ',') FROM pg_stat_activity
    WHERE usename = 'brobygger_worker'")
  perf record -q -g -o "$PROFILE/pg.perf" -p "$backends" -- sleep "$DURATION" 2>/dev/null &
  perfs=($!)
  perf record -q -g -o "$PROFILE/workers.perf" -p "$(IFS=,; echo "${workers[*]}")" \
    -- sleep "$DURATION" 2>/dev/null &
  perfs+=($!)
fi
pgbench -n -h 127.0.0.1 -p "$PG_PORT" -U postgres -c 8 -j 2 -R "$RATE" -T "$DURATION" \
  -l --log-prefix="$work/txlog" -f "$work/event.sql" brobygger >"$work/pgbench.txt" 2>&1
expected=$(psql_admin -c "SELECT count(*) * $ENDPOINTS FROM t_bench.outbox")
bro_say "waiting for $expected deliveries"
for _ in $(seq 600); do
  done_n=$(psql_admin -c "SELECT count(*) FROM t_bench.webhook_deliveries WHERE status = 'succeeded'")
  [ "$done_n" -ge "$expected" ] && break
  sleep 0.5
done
cpu_after=$(awk '{ s += $14 + $15 } END { print s }' $(printf '/proc/%s/stat ' "${workers[@]}"))
pg_after=$(group_ticks "$pg_pid") nginx_after=$(group_ticks "$(cat "$work/nginx.pid")")
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
if [ -n "$PROFILE" ]; then
  wait "${perfs[@]}" || true
  cp "$BRO_DATA/pg/server.log" "$PROFILE/server.log"
fi
psql_admin -c "
WITH a AS (SELECT d.id, o.created_at AS committed, min(w.at) AS first, d.status
  FROM t_bench.webhook_deliveries d JOIN t_bench.outbox o ON o.event_id = d.event_id
  JOIN t_bench.webhook_attempts w ON w.delivery_id = d.id GROUP BY d.id, o.created_at, d.status),
 s AS (SELECT count(*) FILTER (WHERE status = 'succeeded') AS ok, count(*) AS n,
  extract(epoch FROM max(first) - min(committed)) AS span,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first - committed)) * 1000 AS p50,
  percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM first - committed)) * 1000 AS p99
  FROM a)
SELECT format('| %s | %s | %s | %s | %s | %s | %s |', $WORKERS, $ENDPOINTS, n, ok,
  round((ok / greatest(span, 0.001))::numeric, 0), round(p50::numeric, 1), round(p99::numeric, 1))
FROM s" >"$work/row.txt"
echo
echo "| workers | endpoints | deliveries | succeeded | deliveries/s (first commit to last first attempt) | commit to first attempt p50 ms | p99 ms |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
cat "$work/row.txt"
echo
grep -E "^(tps|latency average|number of transactions actually)" "$work/pgbench.txt" | sed 's/^/pgbench: /'
# The reference: the event transactions' own latency (start to durable commit, pgbench's log),
# which "commit to first attempt" contains, as it counts from the transaction's start.
cat "$work"/txlog.* | awk '{ print $3 / 1000 }' | sort -n | awk '{ v[NR] = $1 }
  END { if (NR) { m = int(NR * 0.5); t = int(NR * 0.99); if (m < 1) m = 1; if (t < 1) t = 1
        printf "the event transactions themselves (pgbench, start to commit): p50 %.1f ms, p99 %.1f ms\n", v[m], v[t] } }'
awk -v a="$cpu_before" -v b="$cpu_after" -v pa="$pg_before" -v pb="$pg_after" \
  -v na="$nginx_before" -v nb="$nginx_after" -v hz="$(getconf CLK_TCK)" \
  'BEGIN { printf "CPU seconds: workers %.1f, PostgreSQL %.1f, nginx %.1f\n", (b - a) / hz,
           (pb - pa) / hz, (nb - na) / hz }'
grep -c '"level":"warn"' "$work/workers.log" | sed 's/^/worker warnings: /' || true
echo "the workers' PostgreSQL sessions, $(wc -l <"$work/samples.txt") samples of active ones:"
sort "$work/samples.txt" | uniq -c | sort -rn | head -8
for w in "${workers[@]}"; do kill -TERM "$w" 2>/dev/null || true; wait "$w" 2>/dev/null || true; done
workers=()
[ "$CEILING" -gt 0 ] || exit 0
# The ceiling: a delivery's writes alone, each client on an endpoint of its own.
cat >"$work/ceiling.sql" <<'SQL'
BEGIN;
SET LOCAL synchronous_commit = off;
INSERT INTO t_bench.webhook_deliveries (endpoint_id, event_id, event, payload, event_at, status,
  attempts, lease_until) SELECT (SELECT id FROM t_bench.webhook_endpoints ORDER BY id
  OFFSET :client_id % 5 LIMIT 1), gen_random_uuid(), 'report.ready', '{"n": 1}', now(),
  'delivering', 1, now() + interval '21 s' FROM generate_series(1, 100);
COMMIT;
BEGIN;
SET LOCAL synchronous_commit = off;
WITH d AS (SELECT id FROM t_bench.webhook_deliveries WHERE status = 'delivering' AND endpoint_id =
  (SELECT id FROM t_bench.webhook_endpoints ORDER BY id OFFSET :client_id % 5 LIMIT 1)
  LIMIT 100 FOR UPDATE SKIP LOCKED),
 a AS (INSERT INTO t_bench.webhook_attempts (delivery_id, attempt, status_code, latency_ms, response)
  SELECT id, 1, 200, 2, 'ok' FROM d)
UPDATE t_bench.webhook_deliveries w SET status = 'succeeded', lease_until = NULL, finished_at = now(),
  last_status_code = 200, last_latency_ms = 2 FROM d WHERE w.id = d.id;
COMMIT;
SQL
pgbench -n -h 127.0.0.1 -p "$PG_PORT" -U postgres -c 2 -j 2 -T "$CEILING" -f "$work/ceiling.sql" \
  brobygger >"$work/ceiling.txt" 2>&1
awk '/^tps/ { printf "ceiling: %.0f deliveries/s written by pgbench alone (%s tps of 100)\n", $3 * 100, $3 }' \
  "$work/ceiling.txt"
