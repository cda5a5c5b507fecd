"""Rate limits: per key, per tenant and per client address for key checks, held in Redis across
gateway threads and processes; 429 with Retry-After, RateLimit-Policy and RateLimit.

Each test starts its own gateways with low limits on the session's Redis, whose workers (the
session service's) answer their jobs. The limits are GCRA cells: from a fresh cell exactly
`burst` requests pass back to back, and one more per 1/rate seconds after that, so the counts
below are exact as long as a loop takes less than one interval (1 s); a slower loop may see one
more pass per second it took, and the assertions allow exactly that."""
import random
import re
import string
import time

import pytest
import requests

from conftest import Proc, admin, free_port, issue_key, suffix, wait_until

LIST = "/v1/candidates?limit=1"  # a job for the records workers, cheap to answer


class Gateway:
    """One more gateway process on the session's Redis, with its own environment."""

    def __init__(self, env):
        self.port, self.admin_port = free_port(), free_port()
        self.proc = Proc("brobygger-gateway", env={
            "BROBYGGER_LISTEN": f"127.0.0.1:{self.port}",
            "BROBYGGER_ADMIN_LISTEN": f"127.0.0.1:{self.admin_port}",
            "BROBYGGER_THREADS": "2", **env})
        self.base = f"http://127.0.0.1:{self.port}"

        def ready():
            try:
                return requests.get(self.base + "/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False
        wait_until(ready, what="gateway ready")

    def session(self, key):
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {key}"
        return s

    def metric(self, name, labels):
        text = requests.get(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=5).text
        m = re.search(rf"^{re.escape(name + labels)} (\d+)$", text, re.M)
        return int(m.group(1)) if m else 0


@pytest.fixture
def gateway(service, rds):
    """Starts gateways with the given limits; stops them after the test, which fails if one
    did not exit cleanly. The address cells their low limits filled are removed, so a test
    after this one checks keys from 127.0.0.1 under the session's limits alone."""
    started = []

    def start(key=(0, 1), tenant=(0, 1), auth=(0, 1), **extra):
        env = {"BROBYGGER_RATE_KEY": str(key[0]), "BROBYGGER_RATE_KEY_BURST": str(key[1]),
               "BROBYGGER_RATE_TENANT": str(tenant[0]),
               "BROBYGGER_RATE_TENANT_BURST": str(tenant[1]),
               "BROBYGGER_RATE_AUTH": str(auth[0]), "BROBYGGER_RATE_AUTH_BURST": str(auth[1]),
               **extra}
        g = Gateway(env)
        started.append(g)
        return g
    yield start
    try:
        for g in started:
            assert g.proc.stop() == 0, g.proc.stderr()[-3000:]
            g.proc.assert_clean()
    finally:
        for cell in rds.scan_iter("bro:rl:a:*"):
            rds.delete(cell)


def new_tenant():
    """A tenant of its own, so no other test's requests count against its limit."""
    slug = f"rl_{suffix()}"
    while admin("tenant", "create", "--slug", slug, "--name", "Rate limit test",
                "--kommunenummer", str(random.randint(1000, 9999)), check=False).returncode:
        pass
    return slug


def random_key():
    alphabet = string.ascii_letters + string.digits
    return "bro_" + "".join(random.choices(alphabet, k=8)) + "_" + \
        "".join(random.choices(alphabet, k=32))


def burst_loop(send, n):
    """Sends n requests back to back; returns (responses, seconds the loop took)."""
    start = time.monotonic()
    out = [send() for _ in range(n)]
    return out, time.monotonic() - start


def assert_passed(responses, burst, rate, elapsed):
    """Exactly `burst` passed, or for a loop slower than 1/rate, one more per interval."""
    passed = sum(r.status_code == 200 for r in responses)
    assert burst <= passed <= burst + int(elapsed * rate), \
        f"{passed} passed in {elapsed:.2f}s: {[r.status_code for r in responses]}"
    return passed


def assert_rate_limited(r, limit, policy):
    """r is the documented 429 of limit (key, tenant or address) with policy as its
    RateLimit-Policy; returns its Retry-After."""
    assert r.status_code == 429, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    p = r.json()
    assert p["type"] == "https://brobygger.no/problems/rate-limited"
    assert p["title"] == "Too Many Requests" and p["status"] == 429
    assert p["detail"].endswith(f"(limit: {limit})"), p["detail"]
    retry = int(r.headers["Retry-After"])
    assert retry >= 1
    assert r.headers["RateLimit-Policy"] == policy
    assert r.headers["RateLimit"] == f'"{limit}";r=0;t={retry}'
    return retry


def test_key_over_its_burst_gets_429_with_retry_after_and_both_headers(gateway, tenants):
    gw = gateway(key=(1, 5))
    s = gw.session(issue_key(tenants["a"]["slug"]))
    responses, elapsed = burst_loop(lambda: s.get(gw.base + LIST), 8)
    assert_passed(responses, 5, 1, elapsed)
    assert [r.status_code for r in responses[:5]] == [200] * 5  # a fresh cell: the whole burst
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    for r in ok:
        assert r.headers["RateLimit-Policy"] == '"key";q=5;w=5'
    if len(ok) == 5:  # nothing regained during the loop: the quota counts down exactly
        assert [r.headers["RateLimit"] for r in ok] == \
            [f'"key";r={left};t={5 - left}' for left in (4, 3, 2, 1, 0)]
    for r in refused:
        assert_rate_limited(r, "key", '"key";q=5;w=5')
    assert gw.metric("brobygger_rate_limited_total", '{limit="key"}') == len(refused)


def test_after_retry_after_the_key_works_again(gateway, tenants):
    gw = gateway(key=(1, 2))
    s = gw.session(issue_key(tenants["a"]["slug"]))
    assert s.get(gw.base + "/v1/me").status_code == 200  # the key check, not counted
    first = time.monotonic()
    assert [s.get(gw.base + LIST).status_code for _ in range(2)] == [200, 200]
    r = s.get(gw.base + LIST)
    refused_at = time.monotonic()
    retry = assert_rate_limited(r, "key", '"key";q=2;w=2')
    assert retry == 1  # one interval (1 s) less the moments the requests took, rounded up
    # Refused requests change nothing, so polling does not push the moment back.
    ok = wait_until(lambda: s.get(gw.base + LIST).status_code == 200 and time.monotonic(),
                    timeout=10, what="the key to work again")
    assert ok - first >= 0.95, f"passed {ok - first:.2f}s after the first request"
    assert ok - refused_at <= retry + 0.5


def test_other_key_of_the_tenant_works_until_the_tenant_limit(gateway, tenants):
    slug = new_tenant()
    gw = gateway(key=(1, 3), tenant=(1, 5))
    policy = '"key";q=3;w=3, "tenant";q=5;w=5'
    one, two = gw.session(issue_key(slug)), gw.session(issue_key(slug))
    for s in (one, two):  # the key checks first, so the loops below are tight
        assert s.get(gw.base + "/v1/me").status_code == 200
    first, e1 = burst_loop(lambda: one.get(gw.base + LIST), 4)
    second, e2 = burst_loop(lambda: two.get(gw.base + LIST), 4)
    n1 = assert_passed(first, 3, 1, e1)
    assert first[0].headers["RateLimit-Policy"] == policy
    if n1 == 3:
        assert first[0].headers["RateLimit"] == '"key";r=2;t=1, "tenant";r=4;t=1'
        assert_rate_limited(first[3], "key", policy)
    # A refused request takes nothing from the tenant: the second key gets what is left of 5.
    assert_passed(second, 5 - n1, 1, e1 + e2)
    assert_rate_limited(next(r for r in second if r.status_code != 200), "tenant", policy)
    other = gw.session(issue_key(tenants["b"]["slug"]))
    assert other.get(gw.base + LIST).status_code == 200
    platform = gw.session(tenants["platform"]).get(gw.base + "/v1/admin/tenants?limit=1")
    assert platform.status_code == 200
    assert platform.headers["RateLimit-Policy"] == '"key";q=3;w=3'  # no tenant, no tenant limit
    refused = [r for r in first + second if r.status_code == 429]
    kinds = [r.json()["detail"].rsplit("(limit: ", 1)[1].rstrip(")") for r in refused]
    assert gw.metric("brobygger_rate_limited_total", '{limit="key"}') == kinds.count("key")
    assert gw.metric("brobygger_rate_limited_total", '{limit="tenant"}') == kinds.count("tenant")


def test_limit_holds_across_two_gateway_processes(gateway, tenants):
    key = issue_key(tenants["a"]["slug"])
    gws = [gateway(key=(1, 6)), gateway(key=(1, 6))]
    headers = {"Authorization": f"Bearer {key}"}
    for gw in gws:  # most key checks happen here rather than in the loop (they are not counted)
        assert [requests.get(gw.base + "/v1/me", headers=headers).status_code
                for _ in range(4)] == [200] * 4
    # A new connection for every request, so both processes' threads take turns too.
    turn = iter(range(12))
    responses, elapsed = burst_loop(
        lambda: requests.get(gws[next(turn) % 2].base + LIST, headers=headers), 12)
    assert_passed(responses, 6, 1, elapsed)
    assert {i % 2 for i, r in enumerate(responses) if r.status_code == 200} == {0, 1}
    for r in responses:
        if r.status_code != 200:
            assert_rate_limited(r, "key", '"key";q=6;w=6')


def test_zero_turns_a_limit_off(gateway, tenants, rds):
    key = issue_key(tenants["a"]["slug"])
    off = gateway()
    s = off.session(key)
    responses = [s.get(off.base + LIST) for _ in range(30)]
    assert [r.status_code for r in responses] == [200] * 30
    assert not any("RateLimit" in r.headers or "RateLimit-Policy" in r.headers for r in responses)
    assert rds.exists(f"bro:rl:k:{key[4:12]}") == 0
    tenant_only = gateway(tenant=(1000, 1000))
    r = tenant_only.session(key).get(tenant_only.base + LIST)
    assert r.status_code == 200
    assert r.headers["RateLimit-Policy"] == '"tenant";q=1000;w=1'
    assert r.headers["RateLimit"].startswith('"tenant";r=')
    assert rds.exists(f"bro:rl:k:{key[4:12]}") == 0


def test_key_checks_are_limited_per_client_address(gateway):
    proxied = gateway(auth=(1, 3), BROBYGGER_TRUSTED_PROXIES="10.9.9.9, 127.0.0.1")

    def check(gw, address):
        return requests.get(gw.base + LIST, headers={"Authorization": f"Bearer {random_key()}",
                                                     "X-Forwarded-For": f"192.0.2.1, {address}"})
    responses, elapsed = burst_loop(lambda: check(proxied, "198.51.100.7"), 5)
    n = sum(r.status_code == 401 for r in responses)
    assert 3 <= n <= 3 + int(elapsed), [r.status_code for r in responses]
    for r in responses:
        if r.status_code != 401:
            assert_rate_limited(r, "address", '"address";q=3;w=3')
    assert check(proxied, "203.0.113.9").status_code == 401  # another client, its own limit
    # From a peer that is no trusted proxy the header is the client's own word and counts for
    # nothing: every address it names shares the peer's limit.
    direct = gateway(auth=(1, 3), BROBYGGER_TRUSTED_PROXIES="10.9.9.9")
    responses, elapsed = burst_loop(lambda: check(direct, f"198.51.100.{random.randint(1, 250)}"),
                                    5)
    n = sum(r.status_code == 401 for r in responses)
    assert 3 <= n <= 3 + int(elapsed), [r.status_code for r in responses]
    assert_rate_limited(next(r for r in responses if r.status_code != 401), "address",
                        '"address";q=3;w=3')


def test_a_flushed_script_cache_costs_one_eval(gateway, tenants, rds):
    gw = gateway(key=(1000, 1000))
    s = gw.session(issue_key(tenants["a"]["slug"]))
    assert s.get(gw.base + LIST).status_code == 200
    rds.script_flush()
    # One keep-alive connection, so one gateway thread: it meets NOSCRIPT once, answers with
    # EVAL, loads the script again, and the next request finds it.
    for _ in range(3):
        r = s.get(gw.base + LIST)
        assert r.status_code == 200
        assert r.headers["RateLimit-Policy"] == '"key";q=1000;w=1'
    assert gw.proc.stderr().count("loading it again") == 1


def test_every_keyed_operation_documents_429(service, gateway, tenants):
    from test_openapi import assert_documented, operations, resolve
    doc = requests.get(service.base + "/v1/openapi.json", timeout=10).json()
    missing = []
    for method, path, _, op in operations(doc):
        if not op["x-roles"]:
            continue
        r429 = resolve(doc, op["responses"].get("429", {}))
        if set(r429.get("headers", {})) != {"X-Request-Id", "Retry-After", "RateLimit-Policy",
                                             "RateLimit"}:
            missing.append(f"{method} {path}")
    assert not missing, "no documented 429 with its headers:\n  " + "\n  ".join(missing)
    gw = gateway(key=(1, 1))
    s = gw.session(issue_key(tenants["a"]["slug"]))
    responses = [s.get(gw.base + "/v1/candidates") for _ in range(3)]
    assert responses[0].status_code == 200
    refused = next(r for r in responses if r.status_code == 429)
    assert_documented(doc, "GET", "/v1/candidates", responses[0])
    assert_documented(doc, "GET", "/v1/candidates", refused)
