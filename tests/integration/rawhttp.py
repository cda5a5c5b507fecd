"""A raw HTTP/1.1 client for the tests of the gateway's edge: requests go out byte for byte as
written, and responses are parsed one at a time from what comes back (status line, headers, body
by Content-Length or chunked), so a second response on the socket is seen, never hidden."""

import json
import socket
import time

CRLF = b"\r\n"


class Response:
    """One parsed response; headers keep their order and repeats."""

    def __init__(self, version, status, reason, headers, body):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # [(name, value)] as received
        self.body = body

    def all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def header(self, name):
        """The value of a header sent once; None when absent. Two of them fail the test."""
        values = self.all(name)
        assert len(values) <= 1, f"{name} sent {len(values)} times: {self.headers}"
        return values[0] if values else None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.reason} {self.headers} {self.body[:300]!r}>"


class Conn:
    """One client connection with a receive buffer shared by the responses read from it."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _recv(self, deadline):
        """Reads what arrives before deadline into the buffer: False on end of stream."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError from None
        if not data:
            return False
        self.buf += data
        return True

    def _line(self, deadline):
        while CRLF not in self.buf:
            if not self._recv(deadline):
                raise EOFError("connection closed inside a response head")
        line, self.buf = self.buf.split(CRLF, 1)
        return line

    def _exactly(self, n, deadline):
        while len(self.buf) < n:
            if not self._recv(deadline):
                raise EOFError(f"connection closed with {n - len(self.buf)} body bytes missing")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _chunked(self, deadline):
        body = b""
        while True:
            size = int(self._line(deadline).split(b";", 1)[0], 16)
            if size == 0:
                while self._line(deadline):  # trailer fields up to the empty line
                    pass
                return body
            body += self._exactly(size, deadline)
            assert self._exactly(2, deadline) == CRLF, "chunk data not followed by CRLF"

    def response(self, head=False, timeout=5.0):
        """Reads one whole response (an interim 1xx is one too). head: the request was HEAD, so
        the response has no body whatever its Content-Length says. Fails the test when no
        complete response arrives within timeout."""
        deadline = time.monotonic() + timeout
        try:
            status_line = self._line(deadline)
            version, status, reason = (status_line.decode("latin-1").split(" ", 2) + [""])[:3]
            assert version in ("HTTP/1.1", "HTTP/1.0") and status.isdigit() and len(status) == 3, \
                f"not a status line: {status_line!r}"
            headers = []
            while True:
                line = self._line(deadline)
                if not line:
                    break
                name, sep, value = line.decode("latin-1").partition(":")
                assert sep and name and name == name.strip(), f"not a header line: {line!r}"
                headers.append((name, value.strip(" \t")))
            r = Response(version, int(status), reason, headers, b"")
            te = r.header("Transfer-Encoding")
            cl = r.header("Content-Length")
            if head or r.status < 200 or r.status in (204, 304):
                pass
            elif te is not None:
                assert te.lower() == "chunked", f"response Transfer-Encoding {te!r}"
                r.body = self._chunked(deadline)
            elif cl is not None:
                r.body = self._exactly(int(cl), deadline)
            else:
                while self._recv(deadline):  # delimited by the end of the connection
                    pass
                r.body, self.buf = self.buf, b""
            return r
        except TimeoutError:
            raise AssertionError(f"no complete response within {timeout}s; got {self.buf[:300]!r}") \
                from None
        except EOFError as e:
            raise AssertionError(f"{e}; got {self.buf[:300]!r}") from None

    def request(self, data, head=False, timeout=5.0):
        self.send(data)
        return self.response(head=head, timeout=timeout)

    def rest(self, within=2.0):
        """What the server does next within a bound: (bytes received, how it ended), how being
        "eof" (orderly close), "reset" or "open" (still open when the bound passed)."""
        deadline = time.monotonic() + within
        try:
            while self._recv(deadline):
                pass
            how = "eof"
        except TimeoutError:
            how = "open"
        except (ConnectionResetError, BrokenPipeError):
            how = "reset"
        data, self.buf = self.buf, b""
        return data, how


def request(method, target, headers=(), body=b"", version="HTTP/1.1", host="gateway"):
    """The bytes of a well-formed request: the request line, Host (unless host is None), the
    given headers in order and, for a body, its Content-Length unless headers name a length."""
    lines = [f"{method} {target} {version}".encode()]
    if host is not None:
        lines.append(b"Host: " + host.encode())
    names = set()
    for name, value in headers:
        names.add(name.lower())
        lines.append(name.encode() + b": " + (value if isinstance(value, bytes) else value.encode()))
    if body and not names & {"content-length", "transfer-encoding"}:
        lines.append(b"Content-Length: %d" % len(body))
    return CRLF.join(lines) + CRLF + CRLF + body


def chunked(*parts):
    """A chunked body, one chunk per part, with the last chunk and no trailers."""
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def get(target, headers=(), host="gateway"):
    return request("GET", target, headers, host=host)


def assert_problem(r, status, field=None, word=None):
    """r is a problem+json answer with this status; field, when given, is errors[0].field; word,
    when given, ends its type."""
    assert r.status == status, r
    assert r.header("Content-Type") == "application/problem+json", r
    assert r.header("X-Request-Id"), r
    p = r.json()
    assert p["status"] == status, p
    assert p["type"].startswith("https://brobygger.no/problems/"), p
    assert p["title"] and p["detail"], p
    if field is not None:
        assert p["errors"][0]["field"] == field, p
        assert p["errors"][0]["message"], p
    if word is not None:
        assert p["type"] == "https://brobygger.no/problems/" + word, p
    return p


def assert_refused(conn, status, field=None, word=None, within=2.0, timeout=5.0):
    """The connection got exactly one answer within timeout, a problem+json with this status (and
    field), marked Connection: close, and then the server closed it within another bound, without
    sending another byte."""
    r = conn.response(timeout=timeout)
    assert_problem(r, status, field, word)
    assert (r.header("Connection") or "").lower() == "close", r
    data, how = conn.rest(within)
    assert data == b"", f"after the {status}, more came: {data[:300]!r}"
    assert how == "eof", f"after the {status} the connection was {how}, not closed"
    return r


def metrics(port, timeout=5.0):
    """The samples of a Prometheus text page at 127.0.0.1:port/metrics, as {"name{labels}": value},
    and the page itself."""
    with Conn(port, timeout=timeout) as c:
        r = c.request(get("/metrics"), timeout=timeout)
    assert r.status == 200, r
    text = r.body.decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples, text


def metric_sum(samples, name):
    """The sum of every sample of one metric, whatever its labels."""
    return sum(v for k, v in samples.items() if k == name or k.startswith(name + "{"))
