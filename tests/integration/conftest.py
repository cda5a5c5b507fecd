"""Fixtures for the integration tests: the real brobygger binaries against the PostgreSQL and
Redis that the test command started (BROBYGGER_PG, BROBYGGER_PG_ADMIN, BROBYGGER_REDIS), over
real sockets. Every process's stderr is kept; a sanitizer report in it fails the test run."""

import os
import random
import re
import resource
import signal
import socket
import string
import subprocess
import tempfile
import time
import uuid

import psycopg2
import pytest
import redis
import requests

BUILD = os.environ.get("BRO_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build"))
KEY_RE = re.compile(r"^bro_[A-Za-z0-9]{8}_[A-Za-z0-9]{32}$")
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")

# Short timings so recovery paths run in seconds.
FAST_ENV = {
    "BROBYGGER_VISIBILITY_MS": "1500",
    "BROBYGGER_AUTH_CACHE_MS": "500",
    "BROBYGGER_HEARTBEAT_TTL_MS": "3000",
    "BROBYGGER_REQUEST_TIMEOUT_MS": "5000",
    "BROBYGGER_RETRY_BASE_MS": "100",
    "BROBYGGER_LOG": "warn",
    # The suite sends many requests per key and tenant in quick succession (route sweeps,
    # imports): limits far above that, so every job still goes through the rate-limit script
    # without a test tripping it. test_rate_limits.py sets its own, low ones.
    "BROBYGGER_RATE_KEY": "1000000",
    "BROBYGGER_RATE_KEY_BURST": "1000000",
    "BROBYGGER_RATE_TENANT": "1000000",
    "BROBYGGER_RATE_TENANT_BURST": "1000000",
    "BROBYGGER_RATE_AUTH": "1000000",
    "BROBYGGER_RATE_AUTH_BURST": "1000000",
}


def wait_until(predicate, timeout=15.0, interval=0.05, what="condition"):
    """Polls predicate until it returns a truthy value; fails the test after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(interval)


def audit_moved(rds, timeout=5.0):
    """Waits until the janitors have moved every read's audit record into audit_log: a read's
    record travels with its reply through bro:audit (on the Redis database of rds) and is
    deleted from it once written, so an empty stream means every answered read is in the log."""
    wait_until(lambda: rds.xlen("bro:audit") == 0, timeout=timeout, interval=0.02,
               what="the reads' audit records in audit_log")


def uuid7():
    """A time-ordered UUID (version 7) like the ones the service makes, for rows tests insert."""
    value = (int(time.time() * 1000) << 80) | (0x7 << 76) | (random.getrandbits(12) << 64) \
        | (0b10 << 62) | random.getrandbits(62)
    return str(uuid.UUID(int=value))


def valid_org_number(seed):
    """A nine-digit organisasjonsnummer with a correct mod-11 check digit."""
    while True:
        body = str(80000000 + seed % 19999999)
        total = sum(int(d) * w for d, w in zip(body, (3, 2, 7, 6, 5, 4, 3, 2)))
        check = (11 - total % 11) % 11
        if check != 10:
            return body + str(check)
        seed += 1


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_PORTS_GIVEN = set()
_PORT_RANGE = (20000, max(20001, _ephemeral_low()))


def free_port():
    """A port nothing listens on, below the kernel's ephemeral range and not handed out before
    in this session. A port the kernel chose (bind to 0) can be taken by any outgoing
    connection between this check and the server's own bind, which then fails."""
    for _ in range(1000):
        port = random.randrange(*_PORT_RANGE)
        if port in _PORTS_GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _PORTS_GIVEN.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")


def suffix(n=6):
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def admin(*args, check=True, env=None):
    """Runs brobygger-admin; returns the CompletedProcess."""
    p = subprocess.run([os.path.join(BUILD, "brobygger-admin"), *args], capture_output=True,
                       text=True, env={**os.environ, **(env or {})}, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"brobygger-admin {args} failed ({p.returncode}): {p.stderr}")
    return p


def issue_key(tenant=None, role="coordinator", org=None):
    args = ["key", "issue"] + (["--platform"] if tenant is None else ["--tenant", tenant, "--role", role])
    if org:
        args += ["--organization", org]
    out = admin(*args).stdout.strip().splitlines()[-1]
    assert KEY_RE.match(out), out
    return out


class Proc:
    """A started binary whose stderr goes to a file checked for sanitizer reports."""

    def __init__(self, name, args=(), env=None):
        self.log = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)
        self.name = name
        self.p = subprocess.Popen([os.path.join(BUILD, name), *args], stdout=subprocess.DEVNULL,
                                  stderr=self.log, env={**os.environ, **FAST_ENV, **(env or {})})

    def alive(self):
        return self.p.poll() is None

    def stderr(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.alive():
            self.p.send_signal(sig)
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            pytest.fail(f"{self.name} did not stop on {sig!r} within {timeout}s")

    def assert_clean(self):
        text = self.stderr()
        for mark in SANITIZER_MARKS:
            assert mark not in text, f"{self.name}: {mark}\n{text[-4000:]}"


class Api:
    """HTTP client for one key."""

    def __init__(self, base, key=None):
        self.base = base
        self.s = requests.Session()
        if key:
            self.s.headers["Authorization"] = f"Bearer {key}"

    def get(self, path, **kw):
        return self.s.get(self.base + path, timeout=20, **kw)

    def post(self, path, json=None, **kw):
        return self.s.post(self.base + path, json=json, timeout=20, **kw)

    def patch(self, path, json=None, **kw):
        return self.s.patch(self.base + path, json=json, timeout=20, **kw)

    def delete(self, path, **kw):
        return self.s.delete(self.base + path, timeout=20, **kw)


class Service:
    """A gateway and workers sharing the session's databases."""

    def __init__(self, redis_url=None, workers=1, env=None, queues="records"):
        """env: more BROBYGGER_* settings for every process, over FAST_ENV's; queues: what the
        workers serve (a module's tests name its own queue beside records)."""
        self.queues = queues
        self.port, self.admin_port = free_port(), free_port()
        env = {"BROBYGGER_LISTEN": f"127.0.0.1:{self.port}",
               "BROBYGGER_ADMIN_LISTEN": f"127.0.0.1:{self.admin_port}",
               "BROBYGGER_THREADS": "2", **(env or {})}
        if redis_url:
            env["BROBYGGER_REDIS"] = redis_url
        self.env = env
        self.base = f"http://127.0.0.1:{self.port}"
        self.gateway = Proc("brobygger-gateway", env=env)
        self.workers = [self.start_worker() for _ in range(workers)]
        self.procs = [self.gateway] + self.workers

    def start_worker(self, queues=None):
        w = Proc("brobygger-worker", ["--queues", queues or getattr(self, "queues", "records")],
                 env=self.env)
        if hasattr(self, "procs"):
            self.procs.append(w)
        return w

    def wait_ready(self, timeout=20):
        self.wait_status("/readyz", timeout)

    def wait_status(self, path, timeout=20):
        """Waits for the gateway to answer path with 200; fails with the gateway's log if it
        exits first or never answers."""
        def answering():
            if not self.gateway.alive():
                return "exited"
            try:
                return requests.get(self.base + path, timeout=2).status_code == 200
            except requests.RequestException:
                return False
        try:
            got = wait_until(answering, timeout, what=f"gateway {path}")
        except pytest.fail.Exception as e:
            raise AssertionError(f"{e}; gateway log:\n{self.gateway.stderr()[-3000:]}") from None
        assert got is True, (f"the gateway exited {self.gateway.p.returncode} before it answered "
                             f"{path}:\n{self.gateway.stderr()[-3000:]}")

    def api(self, key=None):
        return Api(self.base, key)

    def stop(self):
        codes = {}
        for p in self.procs:
            codes[p] = p.stop()
        for p in self.procs:
            p.assert_clean()
        return codes

    def stop_after_kill(self, killed):
        """Stops what still runs, and checks every process ended cleanly but killed, the one the
        test killed on purpose."""
        for p in self.procs:
            if p.alive():
                p.stop()
        for p in self.procs:
            if p is not killed:
                p.assert_clean()


def private_redis(rds, db):
    """A Redis database of the session's server for one test alone, emptied: its own streams,
    so only that test's workers take its jobs. Returns (url, client)."""
    kw = rds.connection_pool.connection_kwargs
    url = f"redis://{kw['host']}:{kw['port']}/{db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    return url, client


class Held:
    """Statements run in a transaction on a connection of its own, holding the locks they take
    until release(). Poll pg_stat_activity on another connection (the db fixture): inside a
    transaction that view is one snapshot and never shows a worker starting to wait."""

    def __init__(self, *statements):
        self.conn = psycopg2.connect(os.environ["BROBYGGER_PG_ADMIN"])
        with self.conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)

    def release(self):
        if self.conn is not None:
            self.conn.rollback()
            self.conn.close()
            self.conn = None


def lock_waiters(db):
    """[(pid, query_start)] of the worker statements waiting on a lock, oldest first."""
    with db.cursor() as cur:
        cur.execute("SELECT pid, query_start FROM pg_stat_activity WHERE usename = "
                    "'brobygger_worker' AND wait_event_type = 'Lock' ORDER BY query_start")
        return cur.fetchall()


def pg_admin():
    conn = psycopg2.connect(os.environ["BROBYGGER_PG_ADMIN"])
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def migrated():
    admin("migrate")
    return True


@pytest.fixture(scope="session")
def tenants(migrated):
    """Two tenants with keys of every role."""
    out = {}
    for name in ("a", "b"):
        slug = f"it_{name}_{suffix()}"
        knr = f"{random.randint(1000, 9999)}"
        while True:
            p = admin("tenant", "create", "--slug", slug, "--name", f"Test {name}",
                      "--kommunenummer", knr, check=False)
            if p.returncode == 0:
                break
            knr = f"{random.randint(1000, 9999)}"
        out[name] = {
            "slug": slug,
            "tenant_admin": issue_key(slug, "tenant_admin"),
            "coordinator": issue_key(slug, "coordinator"),
            "reader": issue_key(slug, "reader"),
        }
    out["platform"] = issue_key(None)
    return out


@pytest.fixture(scope="session")
def service(migrated):
    svc = Service(workers=2, queues="records,matching,notify,reports")
    svc.wait_ready()
    yield svc
    codes = svc.stop()
    for proc, code in codes.items():
        assert code == 0, f"{proc.name} exited {code}:\n{proc.stderr()[-3000:]}"


@pytest.fixture
def db():
    conn = pg_admin()
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def rds():
    return redis.Redis.from_url(os.environ["BROBYGGER_REDIS"])


def count_candidates(conn, slug, where="true", params=()):
    with conn.cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "t_{slug}".candidates WHERE {where}', params)
        return cur.fetchone()[0]


class EdgeProc(Proc):
    """A Proc whose child runs preexec_fn before it starts (e.g. to set resource limits)."""

    def __init__(self, name, args=(), env=None, preexec_fn=None):
        self.log = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)
        self.name = name
        self.p = subprocess.Popen([os.path.join(BUILD, name), *args], stdout=subprocess.DEVNULL,
                                  stderr=self.log, env={**os.environ, **FAST_ENV, **(env or {})},
                                  preexec_fn=preexec_fn)


class EdgeService(Service):
    """A gateway with settings of its own for the tests of its HTTP edge (deadlines, limits),
    and optionally a descriptor limit nofile = (soft, hard) set before it starts; its workers
    get the same settings."""

    def __init__(self, env=None, workers=1, nofile=None):
        self.port, self.admin_port = free_port(), free_port()
        self.env = {"BROBYGGER_LISTEN": f"127.0.0.1:{self.port}",
                    "BROBYGGER_ADMIN_LISTEN": f"127.0.0.1:{self.admin_port}",
                    "BROBYGGER_THREADS": "2", **(env or {})}
        self.base = f"http://127.0.0.1:{self.port}"
        limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, nofile)) if nofile else None
        self.gateway = EdgeProc("brobygger-gateway", env=self.env, preexec_fn=limit)
        self.workers = [self.start_worker() for _ in range(workers)]
        self.procs = [self.gateway] + self.workers

    def wait_answering(self, timeout=20):
        """Waits for /healthz (which needs no worker) to answer 200."""
        self.wait_status("/healthz", timeout)

    def stop_clean(self):
        """Stops everything and fails the test unless each process exited 0."""
        for proc, code in self.stop().items():
            assert code == 0, f"{proc.name} exited {code}:\n{proc.stderr()[-3000:]}"


# ---- notify ----------------------------------------------------------------------------------
# Webhook URLs in the tests point at receivers on loopback, which the notify module refuses
# unless the operator allows it. The session's workers answer the webhook routes but deliver
# nothing (BROBYGGER_NOTIFY_DELIVER=0): the delivery tests start the delivering workers they
# need, on a Redis database of their own, so they know which process holds which attempt.
FAST_ENV.update({"BROBYGGER_NOTIFY_ALLOW_LOOPBACK": "1", "BROBYGGER_NOTIFY_DELIVER": "0"})
