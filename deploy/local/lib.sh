# Shared by run.sh, test.sh and the benchmarks: install what is missing, build, and run a
# private PostgreSQL 15 and Redis 7 on loopback with their data under <project>/.local/<profile>.
# Source it; it defines functions and the BRO_* variables below and changes nothing by itself.

BRO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BRO_PG_BIN=/usr/lib/postgresql/15/bin

BRO_PACKAGES="build-essential cmake pkg-config libevent-dev libhiredis-dev libpq-dev
  libmsgpack-dev libcurl4-openssl-dev libjansson-dev libssl-dev libcmocka-dev libxlsxwriter-dev
  postgresql-15 redis-server clang-format python3 python3-yaml python3-pytest python3-requests
  python3-msgpack python3-redis python3-psycopg2 python3-jsonschema python3-cryptography curl
  nginx-light clang libclang-rt-14-dev python3-openpyxl chromium liblemon-dev python3-scipy
  libsodium-dev nodejs openssl redis-sentinel postgresql-15-prioritize"

bro_say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
bro_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

bro_sudo() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the Debian packages that are missing; does nothing (and needs no network) when all
# are present, so a second run is fast.
bro_install() {
  local missing=() p
  for p in $BRO_PACKAGES "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  bro_say "installing: ${missing[*]}"
  bro_sudo apt-get update -qq
  bro_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# web: the page's build tools and its browser tests' (esbuild, Designsystemet, playwright-core,
# axe-core) from web/package-lock.json; again only when the lock file changed. Playwright drives
# Debian's chromium, so it downloads no browser of its own.
bro_web_deps() {
  local web=$BRO_ROOT/web
  [ -f "$web/node_modules/.package-lock.json" ] &&
    [ "$web/node_modules/.package-lock.json" -nt "$web/package-lock.json" ] && return 0
  # Debian ships npm apart from nodejs; another build of nodejs may bring its own.
  command -v npm >/dev/null || bro_install npm
  bro_say "installing the web page's npm packages (npm ci)"
  (cd "$web" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) ||
    bro_die "npm ci failed in web/"
}

# bro_build DIR [cmake options...]: configures once, then builds incrementally.
bro_build() {
  local dir=$1; shift
  bro_web_deps
  bro_say "building in ${dir#"$BRO_ROOT"/}"
  cmake -S "$BRO_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)" >/dev/null || cmake --build "$dir" -j 1
}

# bro_profile NAME PG_PORT REDIS_PORT: sets where a profile's servers live and what the
# programs read (BROBYGGER_* environment).
bro_profile() {
  BRO_DATA=$BRO_ROOT/.local/$1
  BRO_PG_PORT=$2
  BRO_REDIS_PORT=$3
  export BRO_DATA BRO_PG_PORT BRO_REDIS_PORT
  export BROBYGGER_PG="postgresql://brobygger_worker@127.0.0.1:$BRO_PG_PORT/brobygger"
  export BROBYGGER_PG_ADMIN="postgresql://postgres@127.0.0.1:$BRO_PG_PORT/brobygger"
  export BROBYGGER_REDIS="redis://127.0.0.1:$BRO_REDIS_PORT/0"
}

# PostgreSQL refuses to run as root, so it runs as the postgres user, which must be able to
# reach the data directory: each ancestor gets search (x) permission for others if it lacks it.
bro_pg_reach() {
  local d=$1
  while [ "$d" != / ]; do
    runuser -u postgres -- test -x "$d" 2>/dev/null || bro_sudo chmod o+x "$d"
    d=$(dirname "$d")
  done
}

bro_pg_running() {
  [ -f "$BRO_DATA/pg/postmaster.pid" ] &&
    runuser -u postgres -- "$BRO_PG_BIN/pg_ctl" -D "$BRO_DATA/pg" status >/dev/null 2>&1
}

# bro_pg_start [fast]: "fast" turns off fsync (tests only: the data is thrown away).
bro_pg_start() {
  mkdir -p "$BRO_DATA"
  # Others may pass through the profile's folder (PostgreSQL's user must) but not list it; the
  # data directories inside are their owners' alone (0700).
  chmod 711 "$BRO_ROOT/.local" "$BRO_DATA"
  bro_pg_reach "$BRO_DATA"
  if [ ! -f "$BRO_DATA/pg/PG_VERSION" ]; then
    bro_say "initialising PostgreSQL in ${BRO_DATA#"$BRO_ROOT"/}/pg"
    mkdir -p "$BRO_DATA/pg"
    chown postgres: "$BRO_DATA/pg"
    chmod 700 "$BRO_DATA/pg"
    runuser -u postgres -- "$BRO_PG_BIN/initdb" -D "$BRO_DATA/pg" -U postgres --auth=trust \
      -E UTF8 --locale=C.UTF-8 >/dev/null
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $BRO_PG_PORT"
      echo "unix_socket_directories = '$BRO_DATA/pg'"
      echo "max_connections = 200"
      echo "shared_buffers = 256MB"
      if [ "${1:-}" = fast ]; then
        echo "fsync = off"; echo "synchronous_commit = off"; echo "full_page_writes = off"
      fi
    } >>"$BRO_DATA/pg/postgresql.conf"
    # Trust on loopback only; nothing listens elsewhere.
    printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$BRO_DATA/pg/pg_hba.conf"
  fi
  if ! bro_pg_running; then
    rm -f "$BRO_DATA/pg/postmaster.pid"
    runuser -u postgres -- "$BRO_PG_BIN/pg_ctl" -D "$BRO_DATA/pg" -l "$BRO_DATA/pg/server.log" \
      -w -t 60 start >/dev/null || { tail -20 "$BRO_DATA/pg/server.log"; bro_die "PostgreSQL did not start"; }
  fi
  psql -h 127.0.0.1 -p "$BRO_PG_PORT" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'brobygger'" | grep -q 1 ||
    psql -q -h 127.0.0.1 -p "$BRO_PG_PORT" -U postgres -c "CREATE DATABASE brobygger"
}

bro_pg_stop() {
  bro_pg_running && runuser -u postgres -- "$BRO_PG_BIN/pg_ctl" -D "$BRO_DATA/pg" -m fast -w stop >/dev/null
  return 0
}

# bro_redis_start [fsync policy]: always (default) or everysec. Its directory is 0700 and its
# files 0600 (Redis runs with umask 077): the append-only file holds job bodies until rewritten.
# aof-use-rdb-preamble no: an RDB image in the AOF would keep deleted stream entries that share
# a node with live ones; the command form holds live entries only.
bro_redis_start() {
  mkdir -p "$BRO_DATA/redis"
  chmod 700 "$BRO_DATA/redis"
  chmod -R go-rwx "$BRO_DATA/redis"
  if redis-cli -p "$BRO_REDIS_PORT" ping >/dev/null 2>&1; then return 0; fi
  (umask 077; cat >"$BRO_DATA/redis/redis.conf" <<CONF
bind 127.0.0.1
port $BRO_REDIS_PORT
dir $BRO_DATA/redis
daemonize yes
pidfile $BRO_DATA/redis/redis.pid
logfile $BRO_DATA/redis/redis.log
appendonly yes
appendfsync ${1:-always}
aof-use-rdb-preamble no
save ""
CONF
  )
  rm -f "$BRO_DATA/redis/redis.pid"
  (umask 077; redis-server "$BRO_DATA/redis/redis.conf")
  local i
  for i in $(seq 100); do
    redis-cli -p "$BRO_REDIS_PORT" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  bro_die "Redis did not start (see ${BRO_DATA#"$BRO_ROOT"/}/redis/redis.log)"
}

bro_redis_stop() {
  redis-cli -p "$BRO_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

# bro_wait_http URL SECONDS: polls until the URL answers 200.
bro_wait_http() {
  local i
  for i in $(seq $(($2 * 10))); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
    sleep 0.1
  done
  return 1
}
