"""GET /v1/keys: a tenant admin lists its own tenant's API keys (issue 21's keys page), revoked
ones too, a page at a time, and never sees a secret or the hash of one."""
import uuid

from conftest import suffix

FIELDS = {"id", "role", "label", "organization_id", "created_at", "expires_at", "revoked_at"}


def all_keys(api, limit=200):
    items, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        r = api.get("/v1/keys", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


def test_tenant_admin_lists_own_keys_with_their_state(service, tenants):
    ta = service.api(tenants["a"]["tenant_admin"])
    org = service.api(tenants["a"]["coordinator"]).post(
        "/v1/organizations", {"name": "Partner " + suffix(), "kind": "employer"}).json()["id"]
    label = "liste " + suffix()
    kept = ta.post("/v1/keys", {"role": "reader", "label": label}).json()
    partner = ta.post("/v1/keys", {"role": "partner", "organization_id": org}).json()
    gone = ta.post("/v1/keys", {"role": "coordinator"}).json()
    assert ta.delete(f"/v1/keys/{gone['id']}").status_code == 204
    other = service.api(tenants["b"]["tenant_admin"]).post("/v1/keys", {"role": "reader"}).json()

    items, _ = all_keys(ta)
    by_id = {k["id"]: k for k in items}
    assert all(set(k) == FIELDS for k in items), items[0]
    assert by_id[kept["id"]]["label"] == label and by_id[kept["id"]]["role"] == "reader"
    assert by_id[kept["id"]]["revoked_at"] is None
    assert by_id[kept["id"]]["created_at"] == kept["created_at"]
    assert by_id[partner["id"]]["organization_id"] == org
    assert by_id[gone["id"]]["revoked_at"] is not None
    assert by_id[gone["id"]]["revoked_at"].endswith("Z")
    assert tenants["a"]["tenant_admin"][4:12] in by_id
    assert other["id"] not in by_id  # another tenant's key is not in the list


def test_key_list_pages_by_id_without_repeats(service, tenants):
    ta = service.api(tenants["b"]["tenant_admin"])
    for _ in range(3):
        assert ta.post("/v1/keys", {"role": "reader"}).status_code == 201
    whole, _ = all_keys(ta)
    paged, pages = all_keys(ta, limit=2)
    assert [k["id"] for k in paged] == sorted(k["id"] for k in whole)
    assert pages == -(-len(whole) // 2)  # a full last page says so: no empty page after it
    assert len({k["id"] for k in paged}) == len(paged) == len(whole)


def test_key_list_never_shows_a_secret_or_its_hash(service, tenants, db):
    ta = service.api(tenants["a"]["tenant_admin"])
    issued = ta.post("/v1/keys", {"role": "reader", "label": "hemmelig " + suffix()}).json()
    with db.cursor() as cur:
        cur.execute("SELECT secret_sha256 FROM platform.api_keys WHERE id = %s", (issued["id"],))
        digest = cur.fetchone()[0]
    r = ta.get("/v1/keys", params={"limit": 200})
    assert r.status_code == 200
    assert issued["id"] in r.text
    assert issued["key"][13:] not in r.text
    assert digest not in r.text
    assert "secret" not in r.text and '"key"' not in r.text


def test_key_list_is_for_tenant_admins_only(service, tenants):
    for role in ("coordinator", "reader"):
        assert service.api(tenants["a"][role]).get("/v1/keys").status_code == 403
    assert service.api(tenants["platform"]).get("/v1/keys").status_code == 403
    assert service.api().get("/v1/keys").status_code == 401


def test_key_list_refuses_bad_limits_and_cursors(service, tenants):
    ta = service.api(tenants["a"]["tenant_admin"])
    for params in ({"limit": 0}, {"limit": 201}, {"cursor": "short"}, {"cursor": str(uuid.uuid4())}):
        r = ta.get("/v1/keys", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["errors"][0]["field"] in ("limit", "cursor")
