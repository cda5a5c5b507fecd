"""Candidates end to end, and isolation between tenants; refs under concurrent creates, cursor
pages under inserts and the audit of a page."""
import random
import re
import threading
import uuid

from conftest import (Held, admin, audit_moved, count_candidates, issue_key, lock_waiters,
                      suffix, wait_until)


def new_candidate(api, **fields):
    body = {"given_name": "Kari", "family_name": "Nordmann-" + suffix(), **fields}
    r = api.post("/v1/candidates", body)
    assert r.status_code == 201, r.text
    return r.json()


def test_create_and_get(service, tenants, db, rds):
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
    audit_moved(rds)
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


def creates_while_the_counter_is_locked(service, api, db, slug, bodies_and_headers):
    """Holds the ref counter row while the creates are sent, until every worker waits on it,
    so the creates run in overlapping transactions; returns the responses in order."""
    results = [None] * len(bodies_and_headers)

    def create(i, body, headers):
        results[i] = api.post("/v1/candidates", body, headers=headers)
    lock = Held(f'SELECT * FROM "t_{slug}".ref_counters FOR UPDATE')
    threads = [threading.Thread(target=create, args=(i, b, h))
               for i, (b, h) in enumerate(bodies_and_headers)]
    try:
        for t in threads:
            t.start()
        wait_until(lambda: len(lock_waiters(db)) >= len(service.workers),
                   what="every worker waiting on the ref counter")
    finally:
        lock.release()
    for t in threads:
        t.join(timeout=60)
    return results


def test_refs_stay_gapless_under_concurrent_creates(service, db):
    """Refs come from one counter row per year, updated in the create's own transaction: creates
    running at once get consecutive numbers, and a create rolled back after taking a number
    (here: the loser of two requests with one Idempotency-Key, rolled back and replayed) gives
    it back."""
    slug = "it_refc_" + suffix()
    while admin("tenant", "create", "--slug", slug, "--name", "Refs", "--kommunenummer",
                f"{random.randint(1000, 9999)}", check=False).returncode != 0:
        pass  # the kommunenummer was taken by another test's tenant: draw again
    api = service.api(issue_key(slug, "coordinator"))
    first = new_candidate(api)
    same_key = {"Idempotency-Key": "refs-" + suffix(12)}
    body = {"given_name": "Par", "family_name": "Samme-" + suffix()}
    pair = creates_while_the_counter_is_locked(service, api, db, slug,
                                               [(body, same_key), (body, same_key)])
    assert [r.status_code for r in pair] == [201, 201] and pair[0].json() == pair[1].json()
    many = creates_while_the_counter_is_locked(
        service, api, db, slug,
        [({"given_name": "Samtidig", "family_name": f"Nr{i}-{suffix()}"}, {}) for i in range(10)])
    assert [r.status_code for r in many] == [201] * 10, [r.text for r in many]
    year = first["ref"].split("-")[1]
    refs = sorted([first["ref"], pair[0].json()["ref"]] + [r.json()["ref"] for r in many])
    assert refs == [f"K-{year}-{n:04d}" for n in range(1, 13)]
    with db.cursor() as cur:
        cur.execute(f'SELECT count(*), count(DISTINCT ref) FROM "t_{slug}".candidates')
        assert cur.fetchone() == (12, 12)
        cur.execute(f'SELECT last FROM "t_{slug}".ref_counters WHERE year = %s', (int(year),))
        assert cur.fetchone() == (12,)


def test_cursor_pages_stay_stable_under_inserts(service, tenants):
    """A cursor is the last id seen, and ids grow with time: candidates created between two
    pages go to the front of the list and never shift, repeat or hide a row of a later page."""
    api = service.api(tenants["b"]["coordinator"])
    tag = "side" + suffix(6)
    made = [new_candidate(api, skills=[tag])["id"] for _ in range(7)]
    newest_first = made[::-1]

    def page(cursor=None):
        params = {"tag": tag, "limit": 3, **({"cursor": cursor} if cursor else {})}
        r = api.get("/v1/candidates", params=params)
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["items"]], r.json()["next_cursor"]
    one, cursor = page()
    assert one == newest_first[:3] and cursor == one[-1]
    added = [new_candidate(api, skills=[tag])["id"] for _ in range(2)]
    two, cursor = page(cursor)
    assert two == newest_first[3:6] and cursor == two[-1]
    added.append(new_candidate(api, skills=[tag])["id"])
    three, cursor = page(cursor)
    assert three == newest_first[6:] and cursor is None
    assert page()[0] == added[::-1]


def test_a_list_audits_the_candidates_it_shows_and_no_others(service, tenants, db, rds):
    """A page is read with one row more than asked, to tell whether a next page exists; that row
    is not shown, so it is not in anyone's access log."""
    api = service.api(tenants["b"]["coordinator"])
    tag = "revisjon" + suffix(6)
    made = [new_candidate(api, skills=[tag])["id"] for _ in range(3)]
    request_id = "list-" + suffix(12)
    r = api.get("/v1/candidates", params={"tag": tag, "limit": 2},
                headers={"X-Request-Id": request_id})
    shown = [x["id"] for x in r.json()["items"]]
    assert shown == made[:0:-1] and r.json()["next_cursor"] == shown[-1]
    audit_moved(rds)
    with db.cursor() as cur:
        cur.execute(f'SELECT candidate_id::text, action, route, key_id, role FROM '
                    f'"t_{tenants["b"]["slug"]}".audit_log WHERE request_id = %s', (request_id,))
        rows = sorted(cur.fetchall())
    key_id = tenants["b"]["coordinator"][4:12]
    assert rows == sorted((c, "candidate.list", "GET /v1/candidates", key_id, "coordinator")
                          for c in shown)
