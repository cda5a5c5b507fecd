"""Deadlines and bounded resources at the gateway's edge, with short settings: slow heads and
bodies get 408, idle connections are closed, connections over BROBYGGER_MAX_CONNECTIONS get 503,
and running out of descriptors pauses accepting instead of spinning, while the connections the
gateway already has keep being served."""
import os
import resource
import selectors
import socket
import struct
import threading
import time

import pytest

import rawhttp as rh
from conftest import EdgeService, count_candidates, private_redis, suffix, wait_until

HEADER_MS, BODY_MS, IDLE_MS = 1000, 1000, 1500
DEADLINES = {"BROBYGGER_HEADER_TIMEOUT_MS": str(HEADER_MS),
             "BROBYGGER_BODY_TIMEOUT_MS": str(BODY_MS),
             "BROBYGGER_IDLE_TIMEOUT_MS": str(IDLE_MS)}
MARGIN = 1.5  # seconds a deadline may be late on a busy machine (two cores, sanitizers)
HEALTHZ = rh.get("/healthz")


@pytest.fixture(scope="module")
def timed(migrated):
    svc = EdgeService(env=DEADLINES, workers=1)
    svc.wait_ready()
    yield svc
    svc.stop_clean()


@pytest.fixture(scope="module", autouse=True)
def enough_descriptors():
    """The tests hold a few hundred sockets at once."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def timeouts(svc, phase):
    """The timeout counter of one phase; None while /metrics has none."""
    samples, _ = rh.metrics(svc.admin_port)
    return samples.get(f'brobygger_http_timeouts_total{{phase="{phase}"}}')


def assert_timeouts_grew(svc, phase, before, n):
    after = timeouts(svc, phase)
    assert before is not None and after is not None, f"/metrics has no {phase} timeout counter"
    assert after - before == n, (phase, before, after)


def gauge(svc):
    samples, _ = rh.metrics(svc.admin_port)
    assert "brobygger_http_connections" in samples, "/metrics has no brobygger_http_connections"
    return samples["brobygger_http_connections"]


class HealthPoller(threading.Thread):
    """Asks /healthz on one keep-alive connection every 100 ms until stopped, recording how
    long each answer took (None for a failure)."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.conn = rh.Conn(port)
        self.took = []
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            t = time.monotonic()
            try:
                r = self.conn.request(HEALTHZ, timeout=1.0)
                self.took.append(time.monotonic() - t if r.status == 200 else None)
            except (AssertionError, OSError):
                self.took.append(None)
                return
            self.done.wait(0.1)

    def stop(self):
        self.done.set()
        self.join(5)
        self.conn.close()
        return self.took


def assert_polls_answered(took, seconds):
    assert len(took) >= seconds * 5, f"only {len(took)} polls in {seconds:.1f}s"
    assert all(t is not None and t < 1.0 for t in took), took


def slowloris(port, n, seconds):
    """n clients that each send a request line and then one header line every 300 ms, until the
    server closes them or seconds pass. Returns {conn: [first byte at, closed at or None]}; what
    each received is left in its conn's buffer. The caller closes the conns."""
    sel = selectors.DefaultSelector()
    clients = {}
    try:
        for _ in range(n):
            c = rh.Conn(port)
            c.send(b"GET /healthz HTTP/1.1\r\n")
            clients[c] = [time.monotonic(), None]
            c.sock.setblocking(False)
            sel.register(c.sock, selectors.EVENT_READ, c)
        deadline = time.monotonic() + seconds
        next_line, line = time.monotonic(), 0
        while time.monotonic() < deadline and sel.get_map():
            if time.monotonic() >= next_line:
                line += 1
                for c, (_, closed) in clients.items():
                    if closed is None and not c.buf:  # stops once answered
                        try:
                            c.sock.send(b"X-Slow-%d: x\r\n" % line)
                        except OSError:
                            pass
                next_line += 0.3
            for key, _ in sel.select(timeout=0.02):
                c = key.data
                try:
                    data = c.sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:  # reset: the server closed while a line was on its way
                    data = b""
                c.buf += data
                if not data:
                    clients[c][1] = time.monotonic()
                    sel.unregister(c.sock)
        return clients
    finally:
        sel.close()


def test_slowloris_clients_get_408_at_the_header_deadline(timed):
    before = timeouts(timed, "header")
    poller = HealthPoller(timed.port)
    poller.start()
    start = time.monotonic()
    clients = {}
    try:
        clients = slowloris(timed.port, 200, HEADER_MS / 1000 + MARGIN)
        took = poller.stop()
        still = [c.buf[:100] for c, (_, closed) in clients.items() if closed is None]
        assert not still, f"{len(still)} of 200 still open, having received {still[:3]}"
        for c, (first, closed) in clients.items():
            assert HEADER_MS / 1000 * 0.8 <= closed - first <= HEADER_MS / 1000 + MARGIN
            c.sock.setblocking(True)
            r = c.response(timeout=0.1)
            rh.assert_problem(r, 408)
            assert r.header("Connection").lower() == "close", r
            assert c.buf == b"", c.buf
        assert_polls_answered(took, time.monotonic() - start)
    finally:
        poller.stop()
        for c in clients:
            c.close()
    assert_timeouts_grew(timed, "header", before, 200)


def test_slow_body_gets_408_at_the_body_deadline(timed, tenants, db):
    key, slug = tenants["a"]["coordinator"], tenants["a"]["slug"]
    family = "Treg-" + suffix(10)
    body = b'{"given_name": "Treg", "family_name": "%s"}' % family.encode()
    before = timeouts(timed, "body")
    with rh.Conn(timed.port) as c:
        c.send(rh.request("POST", "/v1/candidates", [
            ("Authorization", "Bearer " + key), ("Content-Type", "application/json"),
            ("Content-Length", str(len(body)))]))
        start = time.monotonic()
        sent = 0  # one byte each 200 ms, never the last one
        while sent < len(body) - 1 and time.monotonic() - start < BODY_MS / 1000 + MARGIN:
            if readable(c.sock, 0.2):
                break
            c.send(body[sent:sent + 1])
            sent += 1
        took = time.monotonic() - start
        rh.assert_refused(c, 408, timeout=1.0)
        assert BODY_MS / 1000 * 0.8 <= took <= BODY_MS / 1000 + MARGIN, took
    assert_timeouts_grew(timed, "body", before, 1)
    assert count_candidates(db, slug, "family_name = %s", (family,)) == 0


def readable(sock, seconds):
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    try:
        return bool(sel.select(seconds))
    finally:
        sel.close()


def assert_closed_when_idle(c, start):
    data, how = c.rest(within=IDLE_MS / 1000 + 2)
    took = time.monotonic() - start
    assert (data, how) == (b"", "eof"), (data[:200], how)
    assert IDLE_MS / 1000 * 0.8 <= took < IDLE_MS / 1000 + 2, took


def test_idle_keep_alive_connection_is_closed(timed):
    before = timeouts(timed, "idle")
    with rh.Conn(timed.port) as c:
        assert c.request(HEALTHZ).status == 200
        assert_closed_when_idle(c, time.monotonic())
    assert_timeouts_grew(timed, "idle", before, 1)


def test_connection_that_sends_nothing_is_closed(timed):
    before = timeouts(timed, "idle")
    with rh.Conn(timed.port) as c:
        assert_closed_when_idle(c, time.monotonic())
    assert_timeouts_grew(timed, "idle", before, 1)


def test_client_that_does_not_read_is_closed(timed):
    base = gauge(timed)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", timed.port))
        # About 100 KiB each: far more than the socket buffers hold.
        s.sendall(rh.get("/v1/openapi.json") * 100)
        wait_until(lambda: gauge(timed) == base + 1, 5, what="the connection to be counted")
        start = time.monotonic()
        wait_until(lambda: gauge(timed) == base, BODY_MS / 1000 + MARGIN + 1,
                   what="the blocked connection to be closed")
        assert time.monotonic() - start >= BODY_MS / 1000 * 0.5
    finally:
        s.close()


def gateway_rss_kib(svc):
    with open(f"/proc/{svc.gateway.p.pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_bytes_after_a_refusal_are_dropped_within_bounds(timed):
    """After a refused request nothing more is read as a request: what the client goes on
    sending is dropped, not kept, and past a bound (8 MiB) the connection is closed."""
    before = gateway_rss_kib(timed)
    s = socket.create_connection(("127.0.0.1", timed.port))
    s.settimeout(5)
    sent = 0
    try:
        s.sendall(b"POST /v1/candidates HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                  b"Content-Length: 2\r\n\r\n")
        chunk = b"x" * 65536
        with pytest.raises(OSError):  # reset once the bound is passed
            while sent < 64 << 20:
                s.sendall(chunk)
                sent += len(chunk)
    finally:
        s.close()
    assert 8 << 20 <= sent < 64 << 20, sent
    assert gateway_rss_kib(timed) - before < 16 * 1024, "the dropped bytes were kept"


def test_metrics_describe_connections_and_timeouts(timed):
    _, text = rh.metrics(timed.admin_port)
    for name, kind in (("brobygger_http_connections", "gauge"),
                       ("brobygger_http_connections_refused_total", "counter"),
                       ("brobygger_http_accept_paused_total", "counter"),
                       ("brobygger_http_timeouts_total", "counter")):
        assert f"# HELP {name} " in text, name
        assert f"# TYPE {name} {kind}\n" in text, name
    for phase in ("header", "body", "idle"):
        assert f'brobygger_http_timeouts_total{{phase="{phase}"}} ' in text, phase
    base = gauge(timed)
    conns = [rh.Conn(timed.port) for _ in range(3)]
    try:
        for c in conns:
            assert c.request(HEALTHZ).status == 200
        assert gauge(timed) == base + 3
    finally:
        for c in conns:
            c.close()
    wait_until(lambda: gauge(timed) == base, 5, what="the gauge to come down")


# ---- connection limit ---------------------------------------------------------------------

@pytest.fixture
def limited(migrated):
    svc = EdgeService(env={"BROBYGGER_MAX_CONNECTIONS": "50"}, workers=0)
    svc.wait_answering()
    yield svc
    svc.stop_clean()


def test_connections_over_the_limit_get_503(limited):
    held = []
    try:
        for _ in range(50):
            c = rh.Conn(limited.port)
            assert c.request(HEALTHZ).status == 200
            held.append(c)
        with rh.Conn(limited.port) as extra:  # the 51st: answered without being asked
            rh.assert_refused(extra, 503, word="too-many-connections")
        for c in held[:10]:
            c.close()
        held = held[10:]

        def served():
            try:
                with rh.Conn(limited.port) as c:
                    return c.request(HEALTHZ, timeout=2).status == 200
            except (AssertionError, OSError):
                return False
        wait_until(served, 5, what="a new connection to be served")
        for c in held:
            assert c.request(HEALTHZ).status == 200  # the held ones still work
    finally:
        for c in held:
            c.close()
    samples, _ = rh.metrics(limited.admin_port)
    assert samples.get("brobygger_http_connections_refused_total", 0) >= 1, samples


# ---- running out of descriptors ------------------------------------------------------------

def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def open_idle(port, n):
    """n connections that complete in the kernel whether or not the gateway accepts them."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    return socks


@pytest.fixture
def starved(migrated):
    svc = EdgeService(env={"BROBYGGER_THREADS": "1"}, workers=0, nofile=(256, 256))
    svc.wait_answering()
    yield svc
    svc.stop_clean()


def test_out_of_descriptors_pauses_accepting_without_spinning(starved):
    poller = HealthPoller(starved.port)  # accepted before the descriptors run out
    poller.start()
    wait_until(lambda: poller.took, 5, what="the first /healthz")
    socks = []
    try:
        cpu = cpu_seconds(starved.gateway.p.pid)
        socks = open_idle(starved.port, 400)
        start = time.monotonic()
        time.sleep(3.0)  # the window measured: holding them while the poller keeps asking
        used = cpu_seconds(starved.gateway.p.pid) - cpu
        took = poller.stop()
        assert used < 0.5, f"the gateway used {used:.2f}s of CPU in 3s"
        assert_polls_answered(took, time.monotonic() - start)
    finally:
        poller.stop()
        for s in socks:
            s.close()

    def accepts():
        try:
            with rh.Conn(starved.port, timeout=2) as c:
                return c.request(HEALTHZ, timeout=2).status == 200
        except (AssertionError, OSError):
            return False
    wait_until(accepts, 10, what="new connections to be accepted again")
    lines = [x for x in starved.gateway.stderr().splitlines() if "accept" in x]
    assert 1 <= len(lines) <= 3 and all("accept paused" in x for x in lines), lines[:10]
    samples, _ = rh.metrics(starved.admin_port)
    assert samples.get("brobygger_http_accept_paused_total", 0) >= 1, samples


@pytest.fixture
def low_soft_limit(migrated):
    svc = EdgeService(workers=0, nofile=(64, 256))
    svc.wait_answering()
    yield svc
    svc.stop_clean()


def test_gateway_raises_its_soft_descriptor_limit(low_soft_limit):
    conns = []
    sel = selectors.DefaultSelector()
    try:
        for _ in range(150):
            c = rh.Conn(low_soft_limit.port)
            c.send(HEALTHZ)
            c.sock.setblocking(False)
            sel.register(c.sock, selectors.EVENT_READ, c)
            conns.append(c)
        deadline = time.monotonic() + 5
        answered = set()
        while len(answered) < len(conns) and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.1):
                c = key.data
                try:
                    c.buf += c.sock.recv(65536)
                except BlockingIOError:
                    continue
                if c.buf.startswith(b"HTTP/1.1 200 ") and b'{"status":"ok"}' in c.buf:
                    answered.add(c)
                    sel.unregister(c.sock)
        assert len(answered) == 150, f"{len(answered)} of 150 connections were served"
    finally:
        for c in conns:
            c.close()
        sel.close()


@pytest.fixture
def unanswered(migrated, rds):
    """A gateway whose jobs nobody takes (its Redis database has no workers), with a deadline
    far away: a request that needs a worker waits until its client goes."""
    url, client = private_redis(rds, 6)
    svc = EdgeService(env={"BROBYGGER_REDIS": url, "BROBYGGER_REQUEST_TIMEOUT_MS": "60000"},
                      workers=0)
    svc.wait_answering()
    yield svc, client
    svc.stop_clean()
    client.flushdb()


def test_a_client_that_goes_away_ends_its_wait_at_once(unanswered):
    svc, client = unanswered
    c = rh.Conn(svc.port)
    # an unknown key needs a worker to look it up, and none will
    c.send(rh.get("/v1/me", [("Authorization", "Bearer bro_AAAAAAAA_" + "s" * 32)]))
    wait_until(lambda: client.xlen("bro:q:records") == 1, timeout=10, what="the key check posted")
    # a reset, not a half-close: a client that only stops sending still gets its answer
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()

    def ended():
        samples, _ = rh.metrics(svc.admin_port)
        return samples.get("brobygger_http_client_gone_total") == 1 and samples.get(
            'brobygger_http_requests_total{route="/v1/me",method="GET",status="4xx"}') == 1
    wait_until(ended, timeout=10, what="the wait ended with 499")
    samples, _ = rh.metrics(svc.admin_port)
    assert samples.get("brobygger_job_timeouts_total") == 0
    # the gateway goes on serving
    with rh.Conn(svc.port) as c2:
        assert c2.request(HEALTHZ).status == 200
