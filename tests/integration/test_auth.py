"""API keys: 401 for anything not a live key, 403 for the wrong role, revocation."""
import time

import requests

from conftest import Service, admin, issue_key, wait_until


def test_missing_and_malformed_keys_are_401(service):
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer nope"},
                    {"Authorization": "Bearer bro_short_x"},
                    {"Authorization": "Bearer bro_AAAAAAAA_" + "!" * 32}):
        r = requests.get(service.base + "/v1/candidates", headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["Content-Type"] == "application/problem+json"


def test_unknown_key_and_wrong_secret_are_401(service, tenants):
    good = tenants["a"]["coordinator"]
    wrong_secret = good[:13] + ("A" if good[13] != "A" else "B") + good[14:]
    unknown = "bro_ZZZZZZZZ_" + "a" * 32
    for key in (wrong_secret, unknown):
        assert service.api(key).get("/v1/candidates").status_code == 401


def test_roles(service, tenants):
    reader = service.api(tenants["a"]["reader"])
    assert reader.post("/v1/candidates", {"given_name": "A", "family_name": "B"}).status_code == 403
    coord = service.api(tenants["a"]["coordinator"])
    assert coord.get("/v1/admin/tenants").status_code == 403
    platform = service.api(tenants["platform"])
    assert platform.get("/v1/candidates").status_code == 403


def test_me(service, tenants):
    key = tenants["a"]["coordinator"]
    me = service.api(key).get("/v1/me").json()
    assert me == {"tenant": tenants["a"]["slug"], "role": "coordinator", "key_id": key[4:12],
                  "organization_id": None}
    me = service.api(tenants["platform"]).get("/v1/me").json()
    assert me["tenant"] is None and me["role"] == "platform_admin"


def test_key_revoked_with_cli_stops_working(service, tenants):
    key = issue_key(tenants["a"]["slug"], "coordinator")
    api = service.api(key)
    assert api.get("/v1/me").status_code == 200
    admin("key", "revoke", key[4:12])
    wait_until(lambda: api.get("/v1/me").status_code == 401, timeout=10, what="revocation")


def test_key_revoked_through_api_stops_working(service, tenants):
    key = issue_key(tenants["a"]["slug"], "coordinator")
    api = service.api(key)
    assert api.get("/v1/me").status_code == 200
    ta = service.api(tenants["a"]["tenant_admin"])
    assert ta.delete(f"/v1/keys/{key[4:12]}").status_code == 204
    wait_until(lambda: api.get("/v1/me").status_code == 401, timeout=10, what="revocation")


def test_tenant_admin_cannot_revoke_other_tenants_key(service, tenants):
    other = issue_key(tenants["b"]["slug"], "coordinator")
    ta = service.api(tenants["a"]["tenant_admin"])
    assert ta.delete(f"/v1/keys/{other[4:12]}").status_code == 404
    assert service.api(other).get("/v1/me").status_code == 200


def test_a_revoked_key_works_for_at_most_the_auth_cache_time(service, tenants):
    """BROBYGGER_AUTH_CACHE_MS both ways: a resolution is trusted that long (so requests inside
    the window still pass) and no longer (so a revocation takes effect within it). One gateway
    thread, so there is one cache; the workers that resolve keys are the session's."""
    cache_ms = 1500
    gw = Service(workers=0, env={"BROBYGGER_AUTH_CACHE_MS": str(cache_ms),
                                 "BROBYGGER_THREADS": "1"})
    try:
        gw.wait_ready()
        key = issue_key(tenants["a"]["slug"], "coordinator")
        api = gw.api(key)
        t0 = time.monotonic()
        assert api.get("/v1/me").status_code == 200  # resolved and cached between t0 and t1
        t1 = time.monotonic()
        admin("key", "revoke", key[4:12])
        window = cache_ms / 1000
        seen = []
        while time.monotonic() < t1 + window + 0.5:
            start = time.monotonic()
            status = api.get("/v1/me").status_code
            seen.append((start - t0, time.monotonic() - t0, status))
            time.sleep(0.02)
        late = [s for s in seen if s[0] > t1 - t0 + window]
        early = [s for s in seen if s[1] < window]
        assert late and all(s[2] == 401 for s in late), seen
        assert all(s[2] == 200 for s in early), seen
    finally:
        gw.stop()
