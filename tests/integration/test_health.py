"""Health, readiness, request ids and the generic HTTP errors."""
import requests

from conftest import Service, free_port


def test_healthz_answers(service):
    r = requests.get(service.base + "/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_with_a_live_worker(service):
    assert requests.get(service.base + "/readyz").status_code == 200


def test_readyz_is_503_without_worker_heartbeat(migrated, rds):
    # A Redis database no worker writes to: no heartbeat there.
    url = rds.connection_pool.connection_kwargs
    svc = Service(redis_url=f"redis://{url['host']}:{url['port']}/15", workers=0)
    try:
        def answered():
            try:
                return requests.get(svc.base + "/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False
        from conftest import wait_until
        wait_until(answered, what="gateway up")
        r = requests.get(svc.base + "/readyz")
        assert r.status_code == 503
        assert r.headers["Content-Type"] == "application/problem+json"
    finally:
        svc.stop()


def test_request_id_is_echoed_or_generated(service):
    r = requests.get(service.base + "/healthz", headers={"X-Request-Id": "abc-123.x_y"})
    assert r.headers["X-Request-Id"] == "abc-123.x_y"
    r = requests.get(service.base + "/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert r.headers["X-Request-Id"] != "bad id with spaces"
    assert len(r.headers["X-Request-Id"]) == 36


def test_unknown_route_is_problem_404(service):
    r = requests.get(service.base + "/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/problem+json"
    p = r.json()
    assert p["status"] == 404 and p["type"].endswith("/not-found") and p["title"] and p["detail"]
    assert "X-Request-Id" in r.headers


def test_wrong_method_is_405_with_allow(service):
    r = requests.put(service.base + "/v1/candidates")
    assert r.status_code == 405
    assert set(m.strip() for m in r.headers["Allow"].split(",")) == {"GET", "HEAD", "POST"}
    assert r.headers["Content-Type"] == "application/problem+json"


def test_metrics_on_admin_listener(service):
    requests.get(service.base + "/healthz")
    r = requests.get(f"http://127.0.0.1:{service.admin_port}/metrics")
    assert r.status_code == 200
    assert 'brobygger_http_requests_total{route="/healthz"' in r.text
    assert "brobygger_http_request_duration_seconds_count" in r.text


def test_answers_are_not_cached_or_sniffed(service, tenants):
    """Answers may carry personal data: no shared cache keeps them and no browser guesses their
    type. The OpenAPI document holds none, so caches may keep it and revalidate."""
    key = {"Authorization": "Bearer " + tenants["a"]["coordinator"]}
    for r in (requests.get(service.base + "/v1/me", headers=key),
              requests.get(service.base + "/v1/nothing-here")):
        assert r.headers["Cache-Control"] == "no-store"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    r = requests.get(service.base + "/v1/openapi.json")
    assert r.headers["Cache-Control"] == "no-cache"
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_metrics_say_what_they_count_and_name_methods(service):
    """Every metric has # HELP and # TYPE lines, and request counters name their method."""
    requests.get(service.base + "/healthz")
    text = requests.get(f"http://127.0.0.1:{service.admin_port}/metrics").text
    helps = {line.split()[2] for line in text.splitlines() if line.startswith("# HELP ")}
    types = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    assert types and helps == types, types ^ helps
    assert 'brobygger_http_requests_total{route="/healthz",method="GET",status="2xx"}' in text


def test_an_empty_object_is_no_body_where_a_route_takes_none(service, tenants):
    """Clients that always send {} reach routes that take no body; anything else is 400."""
    key = {"Authorization": "Bearer " + tenants["a"]["coordinator"]}
    r = requests.get(service.base + "/v1/candidates", headers=key, json={})
    assert r.status_code == 200, r.text
    r = requests.get(service.base + "/v1/candidates", headers={
        **key, "Content-Type": "application/msgpack"}, data=b"\x80")
    assert r.status_code == 200, r.text
    r = requests.get(service.base + "/v1/candidates", headers=key, json={"a": 1})
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "body"
