"""Organisations, openings and matches end to end, and what a partner key may see and do."""
import uuid

import pytest

from conftest import audit_moved, issue_key, suffix, uuid7, valid_org_number



def new_org(api, **fields):
    body = {"name": "Kiwi " + suffix(), "kind": "employer", **fields}
    r = api.post("/v1/organizations", body)
    assert r.status_code == 201, r.text
    return r.json()


def new_opening(api, org, **fields):
    body = {"organization_id": org, "kind": "work_trial", "title": "Butikkmedarbeider", **fields}
    r = api.post("/v1/openings", body)
    assert r.status_code == 201, r.text
    return r.json()


def count(db, slug, table):
    with db.cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "t_{slug}".{table}')
        return cur.fetchone()[0]


def test_organisation_with_contacts_round_trip(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    number = valid_org_number(uuid.uuid4().int)
    o = new_org(api, org_number=f"{number[:3]} {number[3:6]} {number[6:]}", postal_code="3511",
                contacts=[{"name": "Ola Leder", "role": "Butikksjef", "phone": "+47 911 00 000",
                           "email": "ola@kiwi.example", "partner_contact": True}])
    assert o["org_number"] == number and o["contacts"][0]["partner_contact"] is True
    got = api.get(f"/v1/organizations/{o['id']}")
    assert got.status_code == 200 and got.json() == o and got.headers["ETag"] == '"1"'
    r = api.patch(f"/v1/organizations/{o['id']}", {"notes": "Tar imot to i arbeidstrening"},
                  headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["version"] == 2
    assert api.patch(f"/v1/organizations/{o['id']}", {"notes": "x"},
                     headers={"If-Match": '"1"'}).status_code == 412
    items = api.get("/v1/organizations", params={"q": o["name"][-6:]}).json()["items"]
    assert [x["id"] for x in items] == [o["id"]]


def test_duplicate_org_number_is_409_naming_it(service, tenants, db):
    api = service.api(tenants["a"]["coordinator"])
    number = valid_org_number(uuid.uuid4().int)
    new_org(api, org_number=number)
    before = count(db, tenants["a"]["slug"], "organizations")
    r = api.post("/v1/organizations", {"name": "Kopi", "kind": "employer", "org_number": number})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "org_number"
    assert count(db, tenants["a"]["slug"], "organizations") == before


@pytest.mark.parametrize("body,field", [
    ({"name": "A", "kind": "butikk"}, "kind"),
    ({"kind": "employer"}, "name"),
    ({"name": "A", "kind": "employer", "org_number": "123456789"}, "org_number"),
    ({"name": "A", "kind": "employer", "org_number": "12345"}, "org_number"),
    ({"name": "A", "kind": "employer", "contacts": [{"name": "B", "email": "nei"}]},
     "contacts.0.email"),
    ({"name": "A", "kind": "employer", "contacts": [{"name": "B"}, {"role": "x"}]},
     "contacts.1.name"),
    ({"name": "A", "kind": "employer", "contacts": [{"name": "B", "age": 3}]}, "contacts.0.age"),
    ({"name": "A", "kind": "employer", "contacts": {"name": "B"}}, "contacts"),
    ({"name": "A", "kind": "employer", "postal_code": "35110"}, "postal_code"),
    ({"name": "A" * 201, "kind": "employer"}, "name"),
    ({"name": "A", "kind": "employer", "website": "x"}, "website"),
    ({"name": 7, "kind": "employer"}, "name"),
])
def test_bad_organisations_are_422_by_field(service, tenants, db, body, field):
    api = service.api(tenants["a"]["coordinator"])
    before = count(db, tenants["a"]["slug"], "organizations")
    r = api.post("/v1/organizations", body)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    assert count(db, tenants["a"]["slug"], "organizations") == before


def test_opening_round_trip_and_filters(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    o = new_org(api)
    tag = "dyr" + suffix(4)
    op = new_opening(api, o["id"], kind="vta_o", categories=[tag, "gård"],
                     accommodations_offered=["rolig arbeidsplass"],
                     schedule={"mon": ["day"], "wed": ["day", "afternoon"]}, postal_code="3520",
                     capacity=2, pair_work_possible=True, supervisor="Kari Veileder",
                     min_age=18, max_age=67)
    assert op["active"] is True and op["capacity"] == 2 and op["schedule"]["wed"] == ["day",
                                                                                      "afternoon"]
    ids = lambda **q: [x["id"] for x in api.get("/v1/openings", params=q).json()["items"]]
    assert ids(category=tag) == [op["id"]]
    assert ids(organization_id=o["id"]) == [op["id"]]
    assert op["id"] in ids(kind="vta_o", limit=200)
    r = api.patch(f"/v1/openings/{op['id']}", {"active": False}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["active"] is False
    assert op["id"] not in ids(active="true", organization_id=o["id"])
    assert ids(active="false", organization_id=o["id"]) == [op["id"]]


@pytest.mark.parametrize("change,field", [
    ({"kind": "jobb"}, "kind"),
    ({"capacity": -1}, "capacity"),
    ({"capacity": 10001}, "capacity"),
    ({"min_age": 70, "max_age": 20}, "max_age"),
    ({"schedule": {"mon": ["night"]}}, "schedule.mon"),
    ({"organization_id": str(uuid.uuid4())}, "organization_id"),
    ({"organization_id": "nope"}, "organization_id"),
    ({"title": ""}, "title"),
    ({"transport_offered": "ja"}, "transport_offered"),
])
def test_bad_openings_are_422_by_field(service, tenants, db, change, field):
    api = service.api(tenants["a"]["coordinator"])
    o = new_org(api)
    before = count(db, tenants["a"]["slug"], "openings")
    body = {"organization_id": o["id"], "kind": "work_trial", "title": "Lager", **change}
    r = api.post("/v1/openings", body)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    assert count(db, tenants["a"]["slug"], "openings") == before


def test_a_patch_that_crosses_the_stored_ages_is_422(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    op = new_opening(api, new_org(api)["id"], min_age=20, max_age=30)
    r = api.patch(f"/v1/openings/{op['id']}", {"min_age": 40})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "min_age"


@pytest.fixture(scope="module")
def partner_world(service, tenants):
    """Two employers with an opening each, a candidate matched to each, and a partner key for
    the first."""
    import os
    import psycopg2
    api = service.api(tenants["a"]["coordinator"])
    mine, theirs = new_org(api), new_org(api)
    my_opening = new_opening(api, mine["id"])
    their_opening = new_opening(api, theirs["id"])
    cand = api.post("/v1/candidates", {"given_name": "Match", "family_name": suffix()}).json()
    conn = psycopg2.connect(os.environ["BROBYGGER_PG_ADMIN"])
    conn.autocommit = True
    my_match, their_match = uuid7(), uuid7()
    with conn.cursor() as cur:
        s = f'"t_{tenants["a"]["slug"]}"'
        cur.execute(f"INSERT INTO {s}.matches (id, candidate_id, opening_id, score) VALUES "
                    f"(%s, %s, %s, 0.8), (%s, %s, %s, 0.5)",
                    (my_match, cand["id"], my_opening["id"], their_match, cand["id"],
                     their_opening["id"]))
    conn.close()
    return {"mine": mine, "theirs": theirs, "my_opening": my_opening,
            "their_opening": their_opening, "my_match": my_match, "their_match": their_match,
            "candidate": cand, "key": issue_key(tenants["a"]["slug"], "partner", org=mine["id"])}


def test_a_partner_sees_only_its_own(service, partner_world, tenants, db):
    w = partner_world
    partner = service.api(w["key"])
    assert partner.get(f"/v1/organizations/{w['mine']['id']}").status_code == 200
    assert partner.get(f"/v1/organizations/{w['theirs']['id']}").status_code == 404
    assert partner.get("/v1/organizations").status_code == 403
    ids = [x["id"] for x in partner.get("/v1/openings", params={"limit": 200}).json()["items"]]
    assert ids == [w["my_opening"]["id"]]
    ids = [x["id"] for x in partner.get("/v1/openings", params={
        "organization_id": w["theirs"]["id"]}).json()["items"]]
    assert ids == []
    assert partner.get(f"/v1/openings/{w['their_opening']['id']}").status_code == 404
    matches = partner.get("/v1/matches").json()["items"]
    assert [m["id"] for m in matches] == [w["my_match"]]
    assert "given_name" not in matches[0] and matches[0]["score"] == pytest.approx(0.8)
    # a match ties the person to a workplace: the partner's look is in the candidate's log
    with db.cursor() as cur:
        cur.execute(f'SELECT role FROM "t_{tenants["a"]["slug"]}".audit_log '
                    "WHERE candidate_id = %s AND action = 'match.list'", (w["candidate"]["id"],))
        assert ("partner",) in cur.fetchall()
    assert partner.post("/v1/openings", {"organization_id": w["mine"]["id"], "kind": "vta",
                                         "title": "x"}).status_code == 403
    assert partner.get(f"/v1/candidates/{w['candidate']['id']}/matches").status_code == 403


def test_a_partner_tends_its_own_openings_only_in_what_it_may(service, partner_world, tenants):
    w = partner_world
    partner = service.api(w["key"])
    path = f"/v1/openings/{w['my_opening']['id']}"
    r = partner.patch(path, {"capacity": 3, "supervisor": "Nils"})
    assert r.status_code == 200 and r.json()["capacity"] == 3
    r = partner.patch(path, {"title": "Sjef"})
    assert r.status_code == 403
    assert service.api(tenants["a"]["coordinator"]).get(path).json()["title"] == \
        "Butikkmedarbeider"
    assert partner.patch(f"/v1/openings/{w['their_opening']['id']}",
                         {"capacity": 9}).status_code == 404


def test_a_coordinator_lists_a_candidates_matches_with_audit(service, partner_world, tenants, db,
                                                             rds):
    w = partner_world
    api = service.api(tenants["a"]["coordinator"])
    request_id = "matches-" + suffix(12)
    items = api.get(f"/v1/candidates/{w['candidate']['id']}/matches",
                    headers={"X-Request-Id": request_id}).json()["items"]
    assert {m["id"] for m in items} == {w["my_match"], w["their_match"]}
    filtered = api.get("/v1/matches", params={"opening_id": w["their_opening"]["id"]}).json()
    assert [m["id"] for m in filtered["items"]] == [w["their_match"]]
    audit_moved(rds)  # a read's audit record is moved into audit_log after its answer
    with db.cursor() as cur:
        cur.execute(f'SELECT candidate_id::text, action FROM "t_{tenants["a"]["slug"]}".audit_log '
                    "WHERE request_id = %s", (request_id,))
        assert cur.fetchall() == [(w["candidate"]["id"], "candidate.matches")]


def test_a_match_that_is_over_no_longer_shows_to_its_partner(service, tenants, db):
    """Withdrawn and declined matches leave the partner's list and close its way to the
    candidate (404); coordinators still see them."""
    api = service.api(tenants["a"]["coordinator"])
    org = new_org(api)
    opening = new_opening(api, org["id"])
    cands = [api.post("/v1/candidates", {"given_name": n, "family_name": suffix()}).json()
             for n in ("Levende", "Trukket", "Avslått")]
    live, withdrawn, declined = uuid7(), uuid7(), uuid7()
    s = f'"t_{tenants["a"]["slug"]}"'
    with db.cursor() as cur:
        cur.execute(f"INSERT INTO {s}.matches (id, candidate_id, opening_id, status) VALUES "
                    "(%s, %s, %s, 'proposed'), (%s, %s, %s, 'withdrawn'), "
                    "(%s, %s, %s, 'declined')",
                    (live, cands[0]["id"], opening["id"], withdrawn, cands[1]["id"],
                     opening["id"], declined, cands[2]["id"], opening["id"]))
    partner = service.api(issue_key(tenants["a"]["slug"], "partner", org=org["id"]))
    assert [m["id"] for m in partner.get("/v1/matches").json()["items"]] == [live]
    for status in ("withdrawn", "declined"):
        r = partner.get("/v1/matches", params={"status": status})
        assert r.status_code == 200 and r.json()["items"] == []
    assert partner.get(f"/v1/candidates/{cands[0]['id']}").status_code == 200
    assert partner.get(f"/v1/candidates/{cands[1]['id']}").status_code == 404
    assert partner.get(f"/v1/candidates/{cands[2]['id']}").status_code == 404
    seen = api.get("/v1/matches", params={"opening_id": opening["id"]}).json()["items"]
    assert {(m["id"], m["status"]) for m in seen} == \
        {(live, "proposed"), (withdrawn, "withdrawn"), (declined, "declined")}
    # the live one ends: it goes from the partner's view at once
    with db.cursor() as cur:
        cur.execute(f"UPDATE {s}.matches SET status = 'declined' WHERE id = %s", (live,))
    assert partner.get("/v1/matches").json()["items"] == []
    assert partner.get(f"/v1/candidates/{cands[0]['id']}").status_code == 404
    items = api.get(f"/v1/candidates/{cands[0]['id']}/matches").json()["items"]
    assert [(m["id"], m["status"]) for m in items] == [(live, "declined")]
