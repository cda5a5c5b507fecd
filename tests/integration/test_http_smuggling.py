"""Request smuggling: every ambiguous framing of a request (two lengths, a length with chunked,
odd spellings of Transfer-Encoding, bad chunks, no Host) is refused with one problem+json and a
closed connection, and the request hidden behind it never runs: not sent to the gateway
directly, and not through nginx in front reusing its upstream connections."""
import json
import os
import shutil
import signal
import subprocess
import tempfile

import pytest

import rawhttp as rh
from conftest import count_candidates, free_port, suffix, wait_until

CRLF = b"\r\n"


def create(key, family):
    """A request with a visible effect if it ever runs: a new candidate named family."""
    body = json.dumps({"given_name": "Smugglet", "family_name": family}).encode()
    return rh.request("POST", "/v1/candidates",
                      [("Authorization", f"Bearer {key}"), ("Content-Type", "application/json")],
                      body)


def outer(key, *lines, version=b"HTTP/1.1", host=b"Host: gateway"):
    """The head of a POST /v1/candidates whose framing is in lines, exactly as given."""
    head = [b"POST /v1/candidates " + version]
    if host is not None:
        head.append(host)
    head += [b"Authorization: Bearer " + key.encode(), b"Content-Type: application/json"]
    return CRLF.join(head + list(lines)) + CRLF + CRLF


class Case:
    """A refused request: frame(key, hidden) gives its bytes, where hidden (a candidate create
    and a GET /healthz) follows the outer request under every reading of its framing, and sits
    inside its body under some; status and field are the contract's."""

    def __init__(self, id, frame, status=400, field=None):
        self.id, self.frame, self.status, self.field = id, frame, status, field


def te_only(value):
    """Transfer-Encoding alone with an empty chunked body: a server that reads it as chunked
    runs the hidden request next; one that ignores it parses "0" as a request."""
    return lambda key, s: outer(key, b"Transfer-Encoding: " + value) + b"0\r\n\r\n" + s


def bad_chunk(data):
    """A chunked body that a lenient parser ends early (a size read as 0, a missing CRLF
    forgiven), so the hidden request would run next."""
    return lambda key, s: outer(key, b"Transfer-Encoding: chunked") + data + s


def first_header_line_indented(key, s):
    # Whitespace between the request line and the first field line (RFC 9112 2.2): no field
    # name is known yet, so the field at fault is "headers".
    return (b"POST /v1/candidates HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: gateway\r\n"
            b"Authorization: Bearer " + key.encode() + b"\r\nContent-Type: application/json\r\n"
            b"\r\n0\r\n\r\n" + s)


def candidate_body(family):
    return json.dumps({"given_name": "Utenvert", "family_name": family}).encode()


REFUSED = [
    # CL.CL: the first length says no body, so the hidden request would be the next request.
    Case("CL.CL-0-then-N", lambda key, s: outer(key, b"Content-Length: 0",
                                                   b"Content-Length: %d" % len(s)) + s + s,
         field="Content-Length"),
    Case("CL.CL-N-then-0", lambda key, s: outer(key, b"Content-Length: %d" % len(s),
                                                   b"Content-Length: 0") + s + s,
         field="Content-Length"),
    Case("CL.CL-same-twice", lambda key, s: outer(key, b"Content-Length: %d" % len(s),
                                                     b"Content-Length: %d" % len(s)) + s + s,
         field="Content-Length"),
    Case("CL-list-0-N", lambda key, s: outer(key, b"Content-Length: 0, %d" % len(s)) + s + s,
         field="Content-Length"),
    # CL.TE: a reader of the length takes everything as body; a reader of chunks ends at "0".
    Case("CL.TE", lambda key, s: outer(key, b"Content-Length: %d" % (5 + len(s)),
                                          b"Transfer-Encoding: chunked") + b"0\r\n\r\n" + s + s,
         field="Transfer-Encoding"),
    # TE.CL: a reader of the length stops after the chunk-size line and runs the chunk.
    Case("TE.CL", lambda key, s: outer(key, b"Transfer-Encoding: chunked",
                                          b"Content-Length: %d" % len(b"%x\r\n" % len(s)))
         + b"%x\r\n" % len(s) + s + b"\r\n0\r\n\r\n" + s,
         field="Transfer-Encoding"),
    # TE.TE: spellings one reader honours and another ignores, alone and with a length.
    Case("TE-xchunked", te_only(b"xchunked"), field="Transfer-Encoding"),
    Case("TE-xchunked-with-CL", lambda key, s: outer(key, b"Transfer-Encoding: xchunked",
                                                        b"Content-Length: 5") + b"0\r\n\r\n" + s,
         field="Transfer-Encoding"),
    Case("TE-space-before-colon", lambda key, s: outer(key, b"Transfer-Encoding : chunked")
         + b"0\r\n\r\n" + s, field="Transfer-Encoding"),
    Case("TE-space-before-colon-with-CL", lambda key, s: outer(
        key, b"Transfer-Encoding : chunked", b"Content-Length: 5") + b"0\r\n\r\n" + s,
         field="Transfer-Encoding"),
    Case("TE-obs-fold", lambda key, s: outer(key, b"Transfer-Encoding:", b" chunked")
         + b"0\r\n\r\n" + s, field="Transfer-Encoding"),
    Case("TE-first-line-indented", first_header_line_indented, field="headers"),
    Case("TE-chunked-and-x", lambda key, s: outer(key, b"Transfer-Encoding: chunked",
                                                     b"Transfer-Encoding: x") + b"0\r\n\r\n" + s,
         field="Transfer-Encoding"),
    Case("TE-chunked-and-x-with-CL", lambda key, s: outer(
        key, b"Transfer-Encoding: chunked", b"Transfer-Encoding: x", b"Content-Length: 5")
         + b"0\r\n\r\n" + s, field="Transfer-Encoding"),
    Case("TE-chunked-twice", lambda key, s: outer(key, b"Transfer-Encoding: chunked",
                                                     b"Transfer-Encoding: chunked")
         + b"0\r\n\r\n" + s, field="Transfer-Encoding"),
    Case("TE-chunked-identity", te_only(b"chunked, identity"), field="Transfer-Encoding"),
    Case("TE-identity", te_only(b"identity"), field="Transfer-Encoding"),
    Case("TE-chunked-chunked-list", te_only(b"chunked, chunked"), field="Transfer-Encoding"),
    Case("TE-chunked-parameter", te_only(b"chunked;x=1"), field="Transfer-Encoding"),
    Case("TE-quoted", te_only(b'"chunked"'), field="Transfer-Encoding"),
    Case("TE-chunk", te_only(b"chunk"), field="Transfer-Encoding"),
    Case("TE-gzip-chunked", te_only(b"gzip, chunked"), field="Transfer-Encoding"),
    Case("TE-empty", te_only(b""), field="Transfer-Encoding"),
    Case("TE-in-HTTP/1.0", lambda key, s: outer(key, b"Transfer-Encoding: chunked",
                                                   version=b"HTTP/1.0") + b"0\r\n\r\n" + s,
         field="Transfer-Encoding"),
    # Bad chunks, each one a lenient parser would read as the last chunk.
    Case("chunk-size-not-hex", bad_chunk(b"zz\r\n\r\n"), field="body"),
    Case("chunk-size-plus-sign", bad_chunk(b"+0\r\n\r\n"), field="body"),
    Case("chunk-size-minus-sign", bad_chunk(b"-0\r\n\r\n"), field="body"),
    Case("chunk-size-space-before", bad_chunk(b" 0\r\n\r\n"), field="body"),
    Case("chunk-size-overflow-64-bits", bad_chunk(b"10000000000000000\r\n\r\n"), field="body"),
    Case("chunk-data-without-CRLF", bad_chunk(b"5\r\nhelloXX0\r\n\r\n"), field="body"),
    Case("chunk-bare-LF", bad_chunk(b"0\n\n"), field="body"),
    # Host: none in HTTP/1.1, or two; the outer request itself would create a candidate.
    Case("HTTP/1.1-without-Host", lambda key, s: outer(
        key, b"Content-Length: %d" % len(s), host=None) + s + s, field="Host"),
    Case("two-Host", lambda key, s: outer(
        key, b"Host: other", b"Content-Length: %d" % len(s)) + s + s, field="Host"),
]

# Spellings that mean exactly one "chunked": the name is case-insensitive, the value too, and
# spaces or tabs around it are optional whitespace.
VALID_TE = [
    ("tab-before-value", b"Transfer-Encoding:\tchunked"),
    ("lowercase-name", b"Transfer-encoding: chunked"),
    ("uppercase-value", b"Transfer-Encoding: CHUNKED"),
    ("two-spaces-before-value", b"Transfer-Encoding:  chunked"),
    ("tab-after-value", b"Transfer-Encoding: chunked\t"),
    ("space-after-value", b"Transfer-Encoding: chunked "),
]


def hidden(key, family):
    return create(key, family) + rh.get("/healthz")


def created(service, key, db, slug, family):
    """How many candidates are named family, once a job posted after any the hidden request
    could have posted has been answered (both go through the records queue)."""
    r = service.api(key).get("/v1/candidates", params={"q": family})
    assert r.status_code == 200, r.text
    return count_candidates(db, slug, "family_name = %s", (family,))


@pytest.mark.parametrize("case", REFUSED, ids=[c.id for c in REFUSED])
def test_ambiguous_framing_is_refused_and_the_rest_never_runs(service, tenants, db, case):
    key, slug = tenants["a"]["coordinator"], tenants["a"]["slug"]
    family = "Smugl-" + suffix(10)
    with rh.Conn(service.port) as c:
        c.send(case.frame(key, hidden(key, family)))
        rh.assert_refused(c, case.status, case.field)
    assert created(service, key, db, slug, family) == 0


@pytest.mark.parametrize("line", [v for _, v in VALID_TE], ids=[i for i, _ in VALID_TE])
def test_valid_transfer_encoding_spellings_are_read_as_chunked(service, tenants, db, line):
    key, slug = tenants["a"]["coordinator"], tenants["a"]["slug"]
    family = "Chunk-" + suffix(10)
    body = candidate_body(family)
    with rh.Conn(service.port) as c:
        c.send(outer(key, line) + rh.chunked(body[:7], body[7:]))
        r = c.response(timeout=10)
        assert r.status == 201, r
        assert r.json()["family_name"] == family
        assert (r.header("Connection") or "").lower() != "close", r
        r = c.request(rh.get("/healthz"))
        assert r.status == 200 and r.json() == {"status": "ok"}, r
    assert count_candidates(db, slug, "family_name = %s", (family,)) == 1


# ---- the same through nginx in front, reusing its upstream connections ---------------------

NGINX_CONF = """daemon off;
master_process off;
worker_processes 1;
error_log stderr info;
pid {dir}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    log_format upstream '$request_method $status $upstream_status';
    access_log {dir}/access.log upstream;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream gateway {{
        server 127.0.0.1:{upstream};
        keepalive 4;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://gateway;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


class Nginx:
    """nginx in one process in a private prefix, proxying to a gateway."""

    def __init__(self, upstream_port):
        self.dir = tempfile.mkdtemp(prefix="nginx-")
        self.port = free_port()
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, port=self.port, upstream=upstream_port))
        self.log = open(os.path.join(self.dir, "stderr.log"), "w")
        self.p = subprocess.Popen(["nginx", "-p", self.dir, "-c", conf, "-e", "stderr"],
                                  stdout=subprocess.DEVNULL, stderr=self.log)

    def answers(self):
        try:
            with rh.Conn(self.port, timeout=2) as c:
                return c.request(rh.get("/healthz"), timeout=2).status == 200
        except (OSError, AssertionError):
            return False

    def log_lines(self):
        """nginx's access log so far: (method, status, upstream status or "-") per request."""
        with open(os.path.join(self.dir, "access.log")) as f:
            return [tuple(line.split()) for line in f]

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def nginx(service):
    if shutil.which("nginx") is None:
        pytest.fail("nginx is not installed (deploy/local/lib.sh installs nginx-light)")
    n = Nginx(service.port)
    try:
        wait_until(n.answers, 15, 0.1, what="nginx in front of the gateway")
        yield n
    finally:
        n.stop()


def gateway_requests(service):
    samples, _ = rh.metrics(service.admin_port)
    return rh.metric_sum(samples, "brobygger_http_requests_total")


# What nginx 1.22 answers itself, before anything reaches the gateway: 400 for a framing it
# finds ambiguous or malformed, 501 for a Transfer-Encoding it does not know. It reads a bare LF
# as a line end, so chunk-bare-LF is a well-formed request followed by two more to nginx, and
# it passes all three on; its answer there is the gateway's.
NGINX_REFUSES = {c.id: 400 for c in REFUSED if c.id != "chunk-bare-LF"}
NGINX_REFUSES.update({c.id: 501 for c in REFUSED if c.id.startswith("TE-") and c.id not in (
    "TE-space-before-colon", "TE-space-before-colon-with-CL", "TE-obs-fold",
    "TE-first-line-indented", "TE-chunked-and-x", "TE-chunked-and-x-with-CL",
    "TE-chunked-twice", "TE-in-HTTP/1.0")})


def test_normal_request_through_nginx(nginx, service, tenants):
    with rh.Conn(nginx.port) as c:
        r = c.request(rh.get("/healthz"))
        assert r.status == 200 and r.json() == {"status": "ok"}, r
        r = c.request(rh.get("/v1/me", [("Authorization", "Bearer " + tenants["a"]["reader"])]),
                      timeout=10)
        assert r.status == 200, r
        assert r.json()["tenant"] == tenants["a"]["slug"] and r.json()["role"] == "reader"


@pytest.mark.parametrize("case", REFUSED, ids=[c.id for c in REFUSED])
def test_ambiguous_framing_through_nginx_smuggles_nothing(nginx, service, tenants, db, case):
    key, slug = tenants["a"]["coordinator"], tenants["a"]["slug"]
    family = "Smugl-" + suffix(10)
    before, log_before = gateway_requests(service), nginx.log_lines()
    with rh.Conn(nginx.port) as c:
        c.send(case.frame(key, hidden(key, family)))
        r = c.response(timeout=10)
        c.rest(within=2.0)  # whatever else nginx answers, up to its close
    passed = [line for line in nginx.log_lines()[len(log_before):] if line[2] != "-"]
    if case.id in NGINX_REFUSES:
        assert r.status == NGINX_REFUSES[case.id] and r.header("X-Request-Id") is None, r
        assert passed == []
    else:
        assert not 200 <= r.status < 300, r
    # Every request the gateway answered is one nginx passed on as a request of its own, and
    # only those nginx passed on as creates made a candidate.
    assert gateway_requests(service) - before == len(passed)
    creates = sum(1 for method, _, upstream in passed if method == "POST" and upstream == "201")
    assert created(service, key, db, slug, family) == creates
    # nginx's kept upstream connections still carry one answer per request.
    with rh.Conn(nginx.port) as c:
        for _ in range(4):
            r = c.request(rh.get("/v1/me", [("Authorization", "Bearer " + key)]), timeout=10)
            assert r.status == 200 and r.json()["tenant"] == slug, r


# nginx 1.22 trims spaces around a field value but not tabs, so it refuses those two spellings
# as an unknown Transfer-Encoding itself.
NGINX_REFUSES_TABS = {"tab-before-value": 501, "tab-after-value": 501}


@pytest.mark.parametrize("id,line", VALID_TE, ids=[i for i, _ in VALID_TE])
def test_valid_transfer_encoding_spellings_through_nginx(nginx, service, tenants, db, id, line):
    key, slug = tenants["a"]["coordinator"], tenants["a"]["slug"]
    family = "Chunk-" + suffix(10)
    body = candidate_body(family)
    before = gateway_requests(service)
    with rh.Conn(nginx.port) as c:
        c.send(outer(key, line) + rh.chunked(body[:7], body[7:]))
        r = c.response(timeout=10)
        if id in NGINX_REFUSES_TABS:
            assert r.status == NGINX_REFUSES_TABS[id] and r.header("X-Request-Id") is None, r
            assert gateway_requests(service) == before
            assert count_candidates(db, slug, "family_name = %s", (family,)) == 0
            return
        assert r.status == 201 and r.json()["family_name"] == family, r
        assert c.request(rh.get("/healthz")).status == 200
    assert gateway_requests(service) - before == 2
    assert count_candidates(db, slug, "family_name = %s", (family,)) == 1
