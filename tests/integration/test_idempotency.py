"""Idempotency-Key: a repeat returns the first response; a different body is refused."""
from conftest import count_candidates, suffix


def test_same_key_same_body_creates_once(service, tenants, db):
    api = service.api(tenants["a"]["coordinator"])
    name = "Idem" + suffix()
    body = {"given_name": "I", "family_name": name}
    headers = {"Idempotency-Key": "idem-" + suffix(12)}
    first = api.post("/v1/candidates", body, headers=headers)
    second = api.post("/v1/candidates", body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert count_candidates(db, tenants["a"]["slug"], "family_name = %s", (name,)) == 1


def test_same_key_other_body_is_422(service, tenants, db):
    api = service.api(tenants["a"]["coordinator"])
    headers = {"Idempotency-Key": "idem-" + suffix(12)}
    name = "Idem" + suffix()
    assert api.post("/v1/candidates", {"given_name": "I", "family_name": name},
                    headers=headers).status_code == 201
    r = api.post("/v1/candidates", {"given_name": "J", "family_name": name}, headers=headers)
    assert r.status_code == 422
    assert count_candidates(db, tenants["a"]["slug"], "family_name = %s", (name,)) == 1


def test_keys_are_per_api_key(service, tenants, db):
    """The same Idempotency-Key from two API keys is two requests."""
    slug = tenants["a"]["slug"]
    name = "Idem" + suffix()
    headers = {"Idempotency-Key": "shared-" + suffix(12)}
    for role in ("coordinator", "tenant_admin"):
        r = service.api(tenants["a"][role]).post(
            "/v1/candidates", {"given_name": "I", "family_name": name}, headers=headers)
        assert r.status_code == 201
    assert count_candidates(db, slug, "family_name = %s", (name,)) == 2
