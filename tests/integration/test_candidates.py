"""Candidates end to end, and isolation between tenants."""
import re
import uuid

from conftest import count_candidates, suffix


def new_candidate(api, **fields):
    body = {"given_name": "Kari", "family_name": "Nordmann-" + suffix(), **fields}
    r = api.post("/v1/candidates", body)
    assert r.status_code == 201, r.text
    return r.json()


def test_create_and_get(service, tenants, db):
    api = service.api(tenants["a"]["coordinator"])
    c = new_candidate(api, birth_year=1984, postal_code="3510", income_basis="uforetrygd",
                      interests=["dyr", "gårdsarbeid"], availability={"mon": ["day"]},
                      needs_transport=True, email="kari@example.no", phone="+47 900 00 000")
    uuid.UUID(c["id"])
    assert re.match(r"^K-\d{4}-\d{4,}$", c["ref"])
    assert c["status"] == "henvist"
    assert c["interests"] == ["dyr", "gårdsarbeid"] and c["needs_transport"] is True
    r = api.get(f"/v1/candidates/{c['id']}")
    assert r.status_code == 200
    assert r.json() == c
    assert r.headers["ETag"] == '"1"'
    # the read is in the audit log, with the key and the request id
    with db.cursor() as cur:
        cur.execute(f'SELECT key_id, action, request_id FROM "t_{tenants["a"]["slug"]}".audit_log '
                    "WHERE candidate_id = %s ORDER BY id", (c["id"],))
        rows = cur.fetchall()
    assert [r[1] for r in rows] == ["candidate.create", "candidate.get"]
    assert rows[0][0] == tenants["a"]["coordinator"][4:12]


def test_refs_are_gapless_and_unique(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    refs = [new_candidate(api)["ref"] for _ in range(3)]
    nums = [int(r.rsplit("-", 1)[1]) for r in refs]
    assert nums == list(range(nums[0], nums[0] + 3))


def test_missing_candidate_is_404(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    assert api.get(f"/v1/candidates/{uuid.uuid4()}").status_code == 404
    assert api.get("/v1/candidates/not-a-uuid").status_code == 404


def test_other_tenant_sees_nothing(service, tenants):
    a = service.api(tenants["a"]["coordinator"])
    b = service.api(tenants["b"]["coordinator"])
    c = new_candidate(a, given_name="Isolert")
    r = b.get(f"/v1/candidates/{c['id']}")
    assert r.status_code == 404
    ids = [x["id"] for x in b.get("/v1/candidates", params={"limit": 200}).json()["items"]]
    assert c["id"] not in ids


def test_list_pages_cover_everything_once(service, tenants):
    api = service.api(tenants["b"]["coordinator"])
    made = {new_candidate(api, given_name="Side")["id"] for _ in range(7)}
    seen, cursor = [], None
    while True:
        params = {"limit": 3, "q": "Side"}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/v1/candidates", params=params).json()
        assert len(page["items"]) <= 3
        seen += [x["id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert made <= set(seen)


def test_filters(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    name = "Unik" + suffix()
    c = new_candidate(api, family_name=name)
    items = api.get("/v1/candidates", params={"q": name.lower()}).json()["items"]
    assert [x["id"] for x in items] == [c["id"]]
    items = api.get("/v1/candidates", params={"q": c["ref"]}).json()["items"]
    assert [x["id"] for x in items] == [c["id"]]
    assert all(x["status"] == "henvist"
               for x in api.get("/v1/candidates", params={"status": "henvist"}).json()["items"])
    assert api.get("/v1/candidates", params={"status": "avsluttet", "q": name}).json()["items"] == []


def test_sql_metacharacters_are_data(service, tenants, db):
    api = service.api(tenants["a"]["coordinator"])
    nasty = "'; DROP TABLE candidates; -- $1 \\ %_"
    c = new_candidate(api, given_name=nasty, referral_source=nasty, interests=[nasty[:60]])
    got = api.get(f"/v1/candidates/{c['id']}").json()
    assert got["given_name"] == nasty and got["referral_source"] == nasty
    assert count_candidates(db, tenants["a"]["slug"]) >= 1
    # a search for the metacharacters finds exactly that candidate, they are not wildcards
    items = api.get("/v1/candidates", params={"q": "%_"}).json()["items"]
    assert [x["id"] for x in items] == [c["id"]]
