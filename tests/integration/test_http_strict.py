"""The strict request parser, one case per row of the edge contract: what is refused (status,
field, problem+json, and a closed connection for protocol errors, so nothing after the offending
bytes runs), and what a well-behaved client may rely on (HEAD, 100-continue, Allow, pipelining,
leading empty lines, keep-alive after a 415)."""
import gzip
import json

import pytest

import rawhttp as rh
from conftest import EdgeService, count_candidates, suffix

MAX_BODY = 4096
CRLF = b"\r\n"
HEALTHZ = rh.get("/healthz")


@pytest.fixture(scope="module")
def edge(migrated):
    svc = EdgeService(env={"BROBYGGER_MAX_BODY": str(MAX_BODY)}, workers=1)
    svc.wait_ready()
    yield svc
    svc.stop_clean()


def line(text):
    return text if isinstance(text, bytes) else text.encode()


def head(*lines):
    """A request head of exactly these lines."""
    return CRLF.join(line(x) for x in lines) + CRLF + CRLF


def post_candidates(key, *lines):
    return head("POST /v1/candidates HTTP/1.1", "Host: gateway", "Authorization: Bearer " + key,
                "Content-Type: application/json", *lines)


def candidate(family):
    return json.dumps({"given_name": "Streng", "family_name": family}).encode()


# (id, request, status, field): each is followed by a GET /healthz that must never be answered.
PROTOCOL_ERRORS = [
    ("method-FOO", head("FOO /healthz HTTP/1.1", "Host: gateway"), 501, None),
    ("method-lowercase-get", head("get /healthz HTTP/1.1", "Host: gateway"), 501, None),
    ("method-PROPFIND", head("PROPFIND /healthz HTTP/1.1", "Host: gateway"), 501, None),
    ("method-TRACE", head("TRACE /healthz HTTP/1.1", "Host: gateway"), 501, None),
    ("method-CONNECT", head("CONNECT gateway:443 HTTP/1.1", "Host: gateway:443"), 501, None),
    ("line-two-spaces-before-target", head("GET  /healthz HTTP/1.1", "Host: gateway"), 400, None),
    ("line-two-spaces-before-version", head("GET /healthz  HTTP/1.1", "Host: gateway"), 400, None),
    ("line-trailing-space", head("GET /healthz HTTP/1.1 ", "Host: gateway"), 400, None),
    ("line-tab-separator", head("GET\t/healthz HTTP/1.1", "Host: gateway"), 400, None),
    ("line-no-version", head("GET /healthz", "Host: gateway"), 400, None),
    ("line-method-only", head("GET", "Host: gateway"), 400, None),
    ("line-extra-word", head("GET /healthz HTTP/1.1 x", "Host: gateway"), 400, None),
    ("line-garbage", head(b"\x16\x03\x01\x02\x00\x01\x00", "Host: gateway"), 400, None),
    ("version-HTTP/2.0", head("GET /healthz HTTP/2.0", "Host: gateway"), 505, None),
    ("version-HTTP/1.2", head("GET /healthz HTTP/1.2", "Host: gateway"), 505, None),
    ("version-HTTP/0.9", head("GET /healthz HTTP/0.9", "Host: gateway"), 505, None),
    ("version-HTTP/3.0", head("GET /healthz HTTP/3.0", "Host: gateway"), 505, None),
    ("bare-LF-after-request-line", b"GET /healthz HTTP/1.1\nHost: gateway\r\n\r\n", 400,
     "headers"),
    ("bare-LF-after-header", b"GET /healthz HTTP/1.1\r\nHost: gateway\nX-A: b\r\n\r\n", 400,
     "headers"),
    ("bare-LF-everywhere", b"GET /healthz HTTP/1.1\nHost: gateway\n\n", 400, "headers"),
    ("bare-CR-after-request-line", b"GET /healthz HTTP/1.1\rHost: gateway\r\n\r\n", 400,
     "headers"),
    ("header-without-colon", head("GET /healthz HTTP/1.1", "Host: gateway", "X-No-Colon"), 400,
     "headers"),
    ("header-space-before-colon", head("GET /healthz HTTP/1.1", "Host: gateway", "X-Note : a"),
     400, "X-Note"),
    ("header-obs-fold", head("GET /healthz HTTP/1.1", "Host: gateway", "X-Note: a", "\tb"), 400,
     "X-Note"),
    # A name with a character outside tchar is no field name at all.
    ("header-name-not-a-token", head("GET /healthz HTTP/1.1", "Host: gateway", "X[Note]: a"),
     400, "headers"),
    ("header-value-NUL", head("GET /healthz HTTP/1.1", "Host: gateway", b"X-Note: a\x00b"), 400,
     "X-Note"),
    ("header-value-SOH", head("GET /healthz HTTP/1.1", "Host: gateway", b"X-Note: a\x01b"), 400,
     "X-Note"),
    ("header-value-DEL", head("GET /healthz HTTP/1.1", "Host: gateway", b"X-Note: a\x7fb"), 400,
     "X-Note"),
    ("target-over-8KiB", head("GET /healthz?pad=" + "a" * 8200 + " HTTP/1.1", "Host: gateway"),
     414, None),
    ("head-over-16KiB", head("GET /healthz HTTP/1.1", "Host: gateway",
                             *[f"X-Pad-{i}: " + "p" * 1000 for i in range(17)]), 431, "headers"),
    ("header-fields-over-100", head("GET /healthz HTTP/1.1", "Host: gateway",
                                    *[f"X-H-{i}: v" for i in range(100)]), 431, "headers"),
    ("two-Host-GET", head("GET /healthz HTTP/1.1", "Host: gateway", "Host: other"), 400, "Host"),
]

# Content-Length that is not 1*DIGIT, or a list: refused before any body is read.
BAD_LENGTHS = [("negative", "-1"), ("plus-sign", "+5"), ("hex", "0x5"), ("empty", ""),
               ("space-inside", "1 2"), ("letters", "5a"), ("list", "5, 5"), ("list-no-space", "5,5"),
               ("overflow", "99999999999999999999999")]


@pytest.mark.parametrize("data,status,field", [c[1:] for c in PROTOCOL_ERRORS],
                         ids=[c[0] for c in PROTOCOL_ERRORS])
def test_protocol_error_is_refused_and_closed(edge, data, status, field):
    with rh.Conn(edge.port) as c:
        c.send(data + HEALTHZ)
        rh.assert_refused(c, status, field)


@pytest.mark.parametrize("value", [v for _, v in BAD_LENGTHS], ids=[i for i, _ in BAD_LENGTHS])
def test_malformed_content_length_is_400(edge, tenants, db, value):
    key, slug = tenants["a"]["coordinator"], tenants["a"]["slug"]
    family = "Lengde-" + suffix(10)
    with rh.Conn(edge.port) as c:
        c.send(post_candidates(key, "Content-Length: " + value) + candidate(family) + HEALTHZ)
        rh.assert_refused(c, 400, "Content-Length")
    assert count_candidates(db, slug, "family_name = %s", (family,)) == 0


def test_limits_are_inclusive(edge):
    """A target of exactly 8 KiB and exactly 100 header fields are still served."""
    target = "/healthz?pad=" + "a" * (8192 - len("/healthz?pad="))
    fields = [f"X-H-{i}: v" for i in range(99)]  # and Host: 100
    with rh.Conn(edge.port) as c:
        r = c.request(head(f"GET {target} HTTP/1.1", "Host: gateway"))
        assert r.status == 200, r
        r = c.request(head("GET /healthz HTTP/1.1", "Host: gateway", *fields))
        assert r.status == 200, r


def test_content_length_over_the_limit_is_413_before_the_body(edge, tenants):
    with rh.Conn(edge.port) as c:
        c.send(post_candidates(tenants["a"]["coordinator"], "Content-Length: 1000000000"))
        rh.assert_refused(c, 413, "body")  # no byte of the body was sent


def test_chunked_body_over_the_limit_is_413(edge, tenants, db):
    key, slug = tenants["a"]["coordinator"], tenants["a"]["slug"]
    family = "Stor-" + suffix(10)
    body = candidate(family)[:-1] + b" " * MAX_BODY + b"}"  # a valid candidate if it ran
    with rh.Conn(edge.port) as c:
        c.send(post_candidates(key, "Transfer-Encoding: chunked")
               + rh.chunked(body[:1000], body[1000:]) + HEALTHZ)
        rh.assert_refused(c, 413, "body")
    assert count_candidates(db, slug, "family_name = %s", (family,)) == 0


def test_expect_other_than_100_continue_is_417(edge, tenants, db):
    key, slug = tenants["a"]["coordinator"], tenants["a"]["slug"]
    family = "Forvent-" + suffix(10)
    body = candidate(family)
    with rh.Conn(edge.port) as c:
        c.send(post_candidates(key, "Expect: 200-ok", f"Content-Length: {len(body)}") + body
               + HEALTHZ)
        rh.assert_refused(c, 417, "Expect")
    assert count_candidates(db, slug, "family_name = %s", (family,)) == 0


def test_100_continue_comes_before_the_body_is_sent(edge, tenants, db):
    key, slug = tenants["a"]["coordinator"], tenants["a"]["slug"]
    family = "Fortsett-" + suffix(10)
    body = candidate(family)
    with rh.Conn(edge.port) as c:
        c.send(post_candidates(key, "Expect: 100-continue", f"Content-Length: {len(body)}"))
        r = c.response(timeout=3)
        assert (r.version, r.status, r.body) == ("HTTP/1.1", 100, b""), r
        c.send(body)
        r = c.response(timeout=10)
        assert r.status == 201 and r.json()["family_name"] == family, r
        assert c.request(HEALTHZ).status == 200  # still open
    assert count_candidates(db, slug, "family_name = %s", (family,)) == 1


@pytest.mark.parametrize("encoding,compress", [("gzip", gzip.compress), ("br", lambda b: b)],
                         ids=["gzip", "br"])
def test_content_encoding_is_415_and_the_connection_stays(edge, tenants, db, encoding, compress):
    key, slug = tenants["a"]["coordinator"], tenants["a"]["slug"]
    family = "Pakket-" + suffix(10)
    body = compress(candidate(family))
    with rh.Conn(edge.port) as c:
        r = c.request(post_candidates(key, "Content-Encoding: " + encoding,
                                      f"Content-Length: {len(body)}") + body, timeout=10)
        rh.assert_problem(r, 415, "Content-Encoding")
        assert (r.header("Connection") or "").lower() != "close", r
        assert c.request(HEALTHZ).status == 200
    assert count_candidates(db, slug, "family_name = %s", (family,)) == 0


def test_content_encoding_identity_is_accepted(edge, tenants):
    body = candidate("Rett-" + suffix(10))
    with rh.Conn(edge.port) as c:
        r = c.request(post_candidates(tenants["a"]["coordinator"], "Content-Encoding: identity",
                                      f"Content-Length: {len(body)}") + body, timeout=10)
        assert r.status == 201, r


@pytest.fixture(scope="module")
def candidate_id(edge, tenants):
    r = edge.api(tenants["a"]["coordinator"]).post("/v1/candidates", {
        "given_name": "Hode", "family_name": "Hale-" + suffix(10)})
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.mark.parametrize("target,auth", [("/healthz", False), ("/v1/openapi.json", False),
                                         ("/v1/candidates/{id}", True)],
                         ids=["healthz", "openapi", "candidate"])
def test_head_is_get_without_the_body(edge, tenants, candidate_id, target, auth):
    headers = [("Authorization", "Bearer " + tenants["a"]["coordinator"])] if auth else []
    target = target.format(id=candidate_id)
    with rh.Conn(edge.port) as c:
        # HEAD and GET in one send: a body after the HEAD's head would be read as the GET's
        # status line.
        c.send(rh.request("HEAD", target, headers) + rh.request("GET", target, headers))
        h = c.response(head=True, timeout=10)
        g = c.response(timeout=10)
        assert g.status == 200, g
        assert h.status == g.status, h
        assert h.header("Content-Length") == g.header("Content-Length") == str(len(g.body)), h
        assert h.header("Content-Type") == g.header("Content-Type"), h
        assert h.header("ETag") == g.header("ETag"), h
        assert c.request(HEALTHZ).json() == {"status": "ok"}


@pytest.mark.parametrize("method,target,allow", [
    ("PUT", "/healthz", {"GET", "HEAD"}),
    ("PUT", "/v1/candidates", {"GET", "HEAD", "POST"}),
    ("DELETE", "/v1/openapi.json", {"GET", "HEAD"}),
    ("GET", "/v1/admin/tenants/ringerike/keys", {"POST"}),
], ids=["healthz", "candidates", "openapi", "post-only"])
def test_405_allow_lists_head_with_get(edge, method, target, allow):
    with rh.Conn(edge.port) as c:
        r = c.request(rh.request(method, target))
        rh.assert_problem(r, 405)
        assert {m.strip() for m in r.header("Allow").split(",")} == allow, r
        assert c.request(HEALTHZ).status == 200  # not a protocol error: the connection stays


def test_pipelined_requests_are_answered_in_order(edge, tenants):
    key = tenants["a"]["reader"]
    with rh.Conn(edge.port) as c:
        c.send(rh.get("/v1/me", [("Authorization", "Bearer " + key), ("X-Request-Id", "p1")])
               + rh.get("/healthz", [("X-Request-Id", "p2")])
               + rh.get("/v1/openapi.json", [("X-Request-Id", "p3")]))
        rs = [c.response(timeout=10) for _ in range(3)]
    assert [r.header("X-Request-Id") for r in rs] == ["p1", "p2", "p3"]
    assert [r.status for r in rs] == [200, 200, 200]
    assert rs[0].json()["role"] == "reader" and rs[1].json() == {"status": "ok"}
    assert "openapi" in rs[2].json()


def test_leading_empty_lines_are_ignored(edge):
    with rh.Conn(edge.port) as c:
        c.send(b"\r\n\r\n" + HEALTHZ + b"\r\n" + rh.get("/healthz", [("X-Request-Id", "second")]))
        assert c.response().status == 200
        r = c.response()
        assert r.status == 200 and r.header("X-Request-Id") == "second", r


@pytest.mark.parametrize("data,status,field", [
    (head("FOO /metrics HTTP/1.1", "Host: admin"), 501, None),
    (b"GET /metrics HTTP/1.1\nHost: admin\n\n", 400, "headers"),
    (head("GET /metrics HTTP/2.0", "Host: admin"), 505, None),
], ids=["unknown-method", "bare-LF", "version"])
def test_admin_listener_refuses_with_problem_json(edge, data, status, field):
    with rh.Conn(edge.admin_port) as c:
        c.send(data + rh.get("/metrics"))
        rh.assert_refused(c, status, field)
