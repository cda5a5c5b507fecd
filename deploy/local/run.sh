#!/usr/bin/env bash
# The run command: installs what is missing, builds, starts a private PostgreSQL and Redis,
# migrates, provisions the demo tenant "ringerike" with a coordinator key, and runs the gateway
# and BRO_WORKERS workers (default 4) until Ctrl-C, then stops everything.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bro_install
bro_build "$BRO_ROOT/build"
# Everything made from here on (logs, the demo key, data) is the owner's alone.
umask 077
bro_profile run "${BRO_PG_PORT:-54329}" "${BRO_REDIS_PORT:-63799}"
export BROBYGGER_LISTEN=${BROBYGGER_LISTEN:-127.0.0.1:8080}
export BROBYGGER_ADMIN_LISTEN=${BROBYGGER_ADMIN_LISTEN:-127.0.0.1:9090}
BIN=$BRO_ROOT/build
pids=()

bro_run_stop() {
  trap - INT TERM EXIT
  bro_say "stopping"
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  bro_redis_stop
  bro_pg_stop
  exit 0
}
trap bro_run_stop INT TERM EXIT

bro_pg_start
bro_redis_start always
chmod 600 "$BRO_DATA"/*.log "$BRO_DATA/demo-key" 2>/dev/null || true # made by an older run
"$BIN/brobygger-admin" migrate >/dev/null
if ! "$BIN/brobygger-admin" tenant list | cut -f1 | grep -qx ringerike; then
  "$BIN/brobygger-admin" tenant create --slug ringerike --name "Ringerike kommune" \
    --kommunenummer 3305 >/dev/null
fi

# A worker runs one job at a time and waits on each commit's fsync, so a few more workers than
# cores keep the disk and the cores busy.
for i in $(seq "${BRO_WORKERS:-4}"); do
  "$BIN/brobygger-worker" --queues records,matching,notify,reports 2>>"$BRO_DATA/worker$i.log" &
  pids+=($!)
done
"$BIN/brobygger-gateway" 2>>"$BRO_DATA/gateway.log" &
pids+=($!)
api="http://$BROBYGGER_LISTEN"
bro_wait_http "$api/readyz" 30 || bro_die "the service did not become ready (see .local/run/*.log)"

# Reuse the demo key while it still works; otherwise issue a new one.
key=$(cat "$BRO_DATA/demo-key" 2>/dev/null || true)
if [ -z "$key" ] || [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" \
  "$api/v1/me")" != 200 ]; then
  key=$("$BIN/brobygger-admin" key issue --tenant ringerike --role coordinator --label demo | tail -n 1)
  echo "$key" >"$BRO_DATA/demo-key"
fi

cat <<TEXT

Brobygger is running.
  API:        $api
  metrics:    http://$BROBYGGER_ADMIN_LISTEN/metrics
  demo key:   $key   (coordinator in tenant ringerike)

  curl -H 'Authorization: Bearer $key' -H 'Content-Type: application/json' \\
       -d '{"given_name":"Kari","family_name":"Nordmann","birth_year":1985}' $api/v1/candidates

Logs are in .local/run/. Press Ctrl-C to stop.
TEXT
wait -n "${pids[@]}" || true
bro_say "a process ended; shutting down"
