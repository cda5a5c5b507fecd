"""Tenants and keys through the API, and the operator views."""
import hashlib
import random

from conftest import suffix


def test_tenant_created_through_api_is_usable_at_once(service, tenants, db):
    platform = service.api(tenants["platform"])
    slug = "api_" + suffix()
    knr = str(random.randint(1000, 9999))
    r = platform.post("/v1/admin/tenants", {"slug": slug, "name": "API kommune",
                                            "kommunenummer": knr})
    if r.status_code == 409:  # the random kommunenummer was taken; try once more
        knr = str(random.randint(1000, 9999))
        r = platform.post("/v1/admin/tenants", {"slug": slug, "name": "API kommune",
                                                "kommunenummer": knr})
    assert r.status_code == 201, r.text
    assert r.json()["slug"] == slug
    r = platform.post(f"/v1/admin/tenants/{slug}/keys", {"role": "coordinator", "label": "x"})
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    c = service.api(key).post("/v1/candidates", {"given_name": "Ny", "family_name": "Kommune"})
    assert c.status_code == 201, c.text
    slugs = [t["slug"] for t in platform.get("/v1/admin/tenants", params={"limit": 200}).json()["items"]]
    assert slug in slugs
    # only the SHA-256 of the key's secret is stored, nowhere the secret itself
    secret = key[13:]
    with db.cursor() as cur:
        cur.execute("SELECT secret_sha256, row_to_json(k)::text FROM platform.api_keys k "
                    "WHERE id = %s", (key[4:12],))
        stored, row = cur.fetchone()
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in row


def test_bad_and_duplicate_tenants(service, tenants):
    platform = service.api(tenants["platform"])
    r = platform.post("/v1/admin/tenants", {"slug": "Bad Slug", "name": "X", "kommunenummer": "1"})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"slug", "kommunenummer"} <= fields
    r = platform.post("/v1/admin/tenants", {"slug": tenants["a"]["slug"], "name": "X",
                                            "kommunenummer": "0003"})
    assert r.status_code == 409
    assert "slug" in [e["field"] for e in r.json()["errors"]]


def test_tenant_admin_issues_keys_in_own_tenant(service, tenants):
    ta = service.api(tenants["a"]["tenant_admin"])
    r = ta.post("/v1/keys", {"role": "coordinator", "label": "ny koordinator"})
    assert r.status_code == 201
    body = r.json()
    assert body["tenant"] == tenants["a"]["slug"]
    me = service.api(body["key"]).get("/v1/me").json()
    assert me["tenant"] == tenants["a"]["slug"] and me["role"] == "coordinator"
    assert ta.post("/v1/keys", {"role": "platform_admin"}).status_code == 422
    assert ta.post("/v1/keys", {"role": "partner"}).status_code == 422


def test_queue_and_worker_views(service, tenants):
    platform = service.api(tenants["platform"])
    queues = platform.get("/v1/admin/queues").json()["items"]
    assert [q["queue"] for q in queues] == ["records", "matching", "notify", "reports"]
    records = queues[0]
    assert records["consumers"] >= 2
    assert set(records) == {"queue", "length", "pending", "delayed", "dead", "consumers"}
    workers = platform.get("/v1/admin/workers").json()["items"]
    assert len(workers) >= 2
    assert all("records" in w["queues"] for w in workers)
    assert service.api(tenants["a"]["tenant_admin"]).get("/v1/admin/queues").status_code == 403
