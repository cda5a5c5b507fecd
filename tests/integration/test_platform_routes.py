"""Tenants and keys through the API, and the operator views."""
import hashlib
import random
import uuid

from conftest import KEY_RE, admin, suffix, wait_until


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
    # A worker joins a queue's consumers with its first read, which may come after /readyz.
    wait_until(lambda: platform.get("/v1/admin/queues").json()["items"][0]["consumers"] >= 2,
               what="both workers among the records queue's consumers")
    queues = platform.get("/v1/admin/queues").json()["items"]
    assert [q["queue"] for q in queues] == ["records", "matching", "notify", "reports"]
    records = queues[0]
    assert records["consumers"] >= 2
    assert set(records) == {"queue", "length", "pending", "delayed", "dead", "consumers"}
    workers = platform.get("/v1/admin/workers").json()["items"]
    assert len(workers) >= 2
    assert all("records" in w["queues"] for w in workers)
    assert service.api(tenants["a"]["tenant_admin"]).get("/v1/admin/queues").status_code == 403


# ---- partner keys: bound to an organisation of the key's own tenant ---------------------------

def org_of(service, tenant):
    r = service.api(tenant["coordinator"]).post(
        "/v1/organizations", {"name": "Partner " + suffix(), "kind": "employer"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def partner_keys_of(db, org):
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM platform.api_keys WHERE organization_id = %s", (org,))
        return cur.fetchone()[0]


def test_a_partner_key_names_an_organisation_of_its_own_tenant(service, tenants, db):
    mine, theirs = org_of(service, tenants["a"]), org_of(service, tenants["b"])
    ta = service.api(tenants["a"]["tenant_admin"])
    platform = service.api(tenants["platform"])
    routes = ((ta, "/v1/keys"), (platform, f"/v1/admin/tenants/{tenants['a']['slug']}/keys"))
    for api, path in routes:
        for body in ({"role": "partner", "organization_id": theirs},
                     {"role": "partner"},
                     {"role": "partner", "organization_id": None},
                     {"role": "partner", "organization_id": "kiwi"},
                     {"role": "partner", "organization_id": str(uuid.uuid4())},
                     {"role": "coordinator", "organization_id": mine}):
            r = api.post(path, body)
            assert r.status_code == 422, (path, body, r.text)
            assert r.json()["errors"][0]["field"] == "organization_id", (path, body, r.text)
        assert partner_keys_of(db, theirs) == 0 and partner_keys_of(db, mine) == 0
    for api, path in routes:
        r = api.post(path, {"role": "partner", "organization_id": mine, "label": "Kiwi"})
        assert r.status_code == 201, r.text
        assert r.json()["organization_id"] == mine and r.json()["tenant"] == tenants["a"]["slug"]
        me = service.api(r.json()["key"]).get("/v1/me").json()
        assert me["role"] == "partner" and me["organization_id"] == mine
    assert partner_keys_of(db, mine) == 2
    # the platform admin issues for tenant b what tenant b owns, and nothing of a's
    path_b = f"/v1/admin/tenants/{tenants['b']['slug']}/keys"
    assert platform.post(path_b, {"role": "partner", "organization_id": mine}).status_code == 422
    assert platform.post(path_b, {"role": "partner", "organization_id": theirs}).status_code == 201


def test_the_cli_binds_a_partner_key_to_its_own_tenant_too(service, tenants, db):
    mine, theirs = org_of(service, tenants["a"]), org_of(service, tenants["b"])
    slug = tenants["a"]["slug"]
    for org in (theirs, str(uuid.uuid4())):
        p = admin("key", "issue", "--tenant", slug, "--role", "partner", "--organization", org,
                  check=False)
        assert p.returncode == 1 and "organisation" in p.stderr, p.stderr
    assert partner_keys_of(db, theirs) == 0
    p = admin("key", "issue", "--tenant", slug, "--role", "partner", "--organization", mine)
    assert KEY_RE.match(p.stdout.strip().splitlines()[-1])
    assert partner_keys_of(db, mine) == 1
