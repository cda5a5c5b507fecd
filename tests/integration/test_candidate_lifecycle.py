"""A candidate's life after registration: changes with ETag/If-Match, the pipeline and its
history, erasure, restriction, the access log, and what a partner may see."""
import uuid

import pytest

from conftest import audit_moved, issue_key, suffix


def new_candidate(api, **fields):
    body = {"given_name": "Kari", "family_name": "Nordmann-" + suffix(), **fields}
    r = api.post("/v1/candidates", body)
    assert r.status_code == 201, r.text
    return r.json()


def move(api, cid, to, **extra):
    return api.post(f"/v1/candidates/{cid}/status", {"to": to, **extra})


def schema(tenants, name="a"):
    return f'"t_{tenants[name]["slug"]}"'


# ---- PATCH and ETag -------------------------------------------------------------------------


def test_patch_changes_only_named_fields_and_bumps_the_version(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    c = new_candidate(api, phone="+47 900 00 000", interests=["dyr"])
    r = api.patch(f"/v1/candidates/{c['id']}", {"postal_code": "3511", "interests": ["gård"]},
                  headers={"If-Match": r'"1"'})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["postal_code"] == "3511" and got["interests"] == ["gård"]
    assert got["phone"] == "+47 900 00 000" and got["given_name"] == "Kari"
    assert got["version"] == 2 and r.headers["ETag"] == '"2"'
    # without If-Match the change is made as well (last writer wins by choice of the client)
    r = api.patch(f"/v1/candidates/{c['id']}", {"phone": None})
    assert r.status_code == 200 and r.json()["phone"] is None and r.json()["version"] == 3


def test_patch_with_a_stale_etag_is_412_and_changes_nothing(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    c = new_candidate(api)
    assert api.patch(f"/v1/candidates/{c['id']}", {"referral_source": "skole"}).status_code == 200
    r = api.patch(f"/v1/candidates/{c['id']}", {"referral_source": "NAV"},
                  headers={"If-Match": '"1"'})
    assert r.status_code == 412
    assert r.headers["Content-Type"].startswith("application/problem+json")
    got = api.get(f"/v1/candidates/{c['id']}").json()
    assert got["referral_source"] == "skole" and got["version"] == 2
    # a weak tag or a list naming the current version passes
    r = api.patch(f"/v1/candidates/{c['id']}", {"referral_source": "NAV"},
                  headers={"If-Match": 'W/"9", "2"'})
    assert r.status_code == 200


@pytest.mark.parametrize("body,field", [
    ({"status": "kartlagt"}, "status"),
    ({"given_name": None}, "given_name"),
    ({"birth_year": 1850}, "birth_year"),
    ({"postal_code": "35"}, "postal_code"),
    ({"income_basis": "lønn"}, "income_basis"),
    ({"nickname": "K"}, "nickname"),
    ({"given_name": "x" * 201}, "given_name"),
    ({"needs_transport": "ja"}, "needs_transport"),
    ({}, "body"),
])
def test_patch_rejects_bad_input_by_field(service, tenants, body, field):
    api = service.api(tenants["a"]["coordinator"])
    c = new_candidate(api)
    r = api.patch(f"/v1/candidates/{c['id']}", body)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    assert api.get(f"/v1/candidates/{c['id']}").json()["version"] == 1


# ---- pipeline -------------------------------------------------------------------------------


def test_the_pipeline_from_referral_to_measure_and_its_history(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    c = new_candidate(api)
    for to in ("tilnaerming", "kartlagt", "arbeidstrening", "utproving"):
        r = move(api, c["id"], to)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == to
    r = move(api, c["id"], "i_tiltak", measure="vta_o")
    assert r.status_code == 200 and r.json()["measure"] == "vta_o"
    r = move(api, c["id"], "avsluttet", reason="fast ansatt")
    assert r.status_code == 200 and r.json()["status"] == "avsluttet"
    hist = api.get(f"/v1/candidates/{c['id']}/history").json()["items"]
    assert [(h["from_status"], h["to_status"]) for h in hist] == [
        (None, "henvist"), ("henvist", "tilnaerming"), ("tilnaerming", "kartlagt"),
        ("kartlagt", "arbeidstrening"), ("arbeidstrening", "utproving"),
        ("utproving", "i_tiltak"), ("i_tiltak", "avsluttet")]
    assert hist[5]["measure"] == "vta_o" and hist[6]["reason"] == "fast ansatt"
    key_id = tenants["a"]["coordinator"][4:12]
    assert all(h["key_id"] == key_id and h["at"].endswith("Z") for h in hist)
    # pages walk forward through the history
    page = api.get(f"/v1/candidates/{c['id']}/history", params={"limit": 4}).json()
    rest = api.get(f"/v1/candidates/{c['id']}/history",
                   params={"cursor": page["next_cursor"]}).json()
    assert [h["id"] for h in page["items"] + rest["items"]] == [h["id"] for h in hist]
    assert rest["next_cursor"] is None


def test_an_illegal_move_is_409_naming_the_allowed_targets(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    c = new_candidate(api)
    r = move(api, c["id"], "i_tiltak", measure="vta")
    assert r.status_code == 409
    problem = r.json()
    assert "tilnaerming" in problem["detail"] and "venter" in problem["detail"]
    assert problem["errors"][0]["field"] == "to"
    assert api.get(f"/v1/candidates/{c['id']}").json()["status"] == "henvist"
    assert len(api.get(f"/v1/candidates/{c['id']}/history").json()["items"]) == 1


def test_measure_and_reason_are_required_where_the_pipeline_says(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    c = new_candidate(api)
    for to in ("tilnaerming", "kartlagt", "arbeidstrening"):
        assert move(api, c["id"], to).status_code == 200
    r = move(api, c["id"], "i_tiltak")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "measure"
    r = move(api, c["id"], "i_tiltak", measure="sykehjem")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "measure"
    r = move(api, c["id"], "utproving", measure="vta")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "measure"
    r = move(api, c["id"], "avsluttet")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = move(api, c["id"], "avsluttet", reason="x" * 501)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = move(api, c["id"], "ferdig")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "to"
    assert api.get(f"/v1/candidates/{c['id']}").json()["status"] == "arbeidstrening"


def test_venter_for_aap_and_back_to_where_the_candidate_was(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    c = new_candidate(api, income_basis="aap")
    assert move(api, c["id"], "tilnaerming").status_code == 200
    assert move(api, c["id"], "venter", reason="AAP: kom tilbake ved uføretrygd").status_code == 200
    r = move(api, c["id"], "kartlagt")
    assert r.status_code == 409 and "tilnaerming" in r.json()["detail"]
    r = move(api, c["id"], "tilnaerming")
    assert r.status_code == 200 and r.json()["status"] == "tilnaerming"


def test_status_cannot_be_set_by_patch_or_create(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    r = api.post("/v1/candidates", {"given_name": "A", "family_name": "B", "status": "i_tiltak"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status"


# ---- erasure and restriction ----------------------------------------------------------------


def test_erasure_removes_personal_data_and_keeps_the_counts(service, tenants, db):
    admin = service.api(tenants["a"]["tenant_admin"])
    coord = service.api(tenants["a"]["coordinator"])
    c = new_candidate(coord, phone="+47 911 11 111", email="kari@example.no", birth_year=1980,
                      interests=["dyr"], trusted_person="Mor")
    for to in ("tilnaerming", "kartlagt", "arbeidstrening"):
        assert move(coord, c["id"], to).status_code == 200
    assert move(coord, c["id"], "i_tiltak", measure="vta").status_code == 200
    # only the tenant admin erases
    assert coord.delete(f"/v1/candidates/{c['id']}").status_code == 403
    r = admin.delete(f"/v1/candidates/{c['id']}")
    assert r.status_code == 200, r.text
    assert r.json()["erased"] is True and r.json()["measure"] == "vta"
    assert coord.get(f"/v1/candidates/{c['id']}").status_code == 404
    assert admin.delete(f"/v1/candidates/{c['id']}").status_code == 404
    with db.cursor() as cur:
        cur.execute(f"SELECT given_name, family_name, phone, email, birth_year, interests, "
                    f"trusted_person, status, measure, created_at IS NOT NULL "
                    f"FROM {schema(tenants)}.candidates WHERE id = %s", (c["id"],))
        row = cur.fetchone()
        assert row[:7] == (None, None, None, None, None, [], None)
        assert row[7:] == ("i_tiltak", "vta", True)
        cur.execute(f"SELECT count(*) FROM {schema(tenants)}.status_history "
                    f"WHERE candidate_id = %s", (c["id"],))
        assert cur.fetchone()[0] == 5
        # nothing stored as a replay of an earlier answer still carries the name
        cur.execute(f"SELECT count(*) FROM {schema(tenants)}.processed_jobs "
                    f"WHERE position(convert_to(%s, 'UTF8') IN reply) > 0", (c["family_name"],))
        assert cur.fetchone()[0] == 0
        cur.execute(f"SELECT action FROM {schema(tenants)}.audit_log WHERE candidate_id = %s "
                    f"ORDER BY id DESC LIMIT 1", (c["id"],))
        assert cur.fetchone()[0] == "candidate.erase"
    # the erased candidate no longer appears in lists
    ids = [x["id"] for x in coord.get("/v1/candidates", params={"limit": 200}).json()["items"]]
    assert c["id"] not in ids


def test_restriction_hides_the_record_from_all_but_the_tenant_admin(service, tenants):
    admin = service.api(tenants["a"]["tenant_admin"])
    coord = service.api(tenants["a"]["coordinator"])
    c = new_candidate(coord)
    r = admin.post(f"/v1/candidates/{c['id']}/restrict", {})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    assert coord.post(f"/v1/candidates/{c['id']}/restrict", {"reason": "x"}).status_code == 403
    r = admin.post(f"/v1/candidates/{c['id']}/restrict", {"reason": "arkivlova: sperret"})
    assert r.status_code == 200 and r.json()["restricted"] is True
    assert admin.post(f"/v1/candidates/{c['id']}/restrict", {"reason": "igjen"}).status_code == 409
    assert coord.get(f"/v1/candidates/{c['id']}").status_code == 404
    assert coord.patch(f"/v1/candidates/{c['id']}", {"phone": "12345"}).status_code == 404
    assert move(coord, c["id"], "tilnaerming").status_code == 404
    ids = [x["id"] for x in coord.get("/v1/candidates", params={"q": c["family_name"]})
           .json()["items"]]
    assert ids == []
    assert admin.get(f"/v1/candidates/{c['id']}").status_code == 200
    r = admin.post(f"/v1/candidates/{c['id']}/unrestrict")
    assert r.status_code == 200 and r.json()["restricted"] is False
    assert admin.post(f"/v1/candidates/{c['id']}/unrestrict").status_code == 409
    assert coord.get(f"/v1/candidates/{c['id']}").status_code == 200


def test_the_access_log_answers_who_has_looked(service, tenants, rds):
    admin = service.api(tenants["a"]["tenant_admin"])
    coord = service.api(tenants["a"]["coordinator"])
    c = new_candidate(coord)
    coord.get(f"/v1/candidates/{c['id']}", headers={"X-Request-Id": "les-1"})
    # The log lists by row; the read's row lands when its record is moved, so let it land
    # before the change that is to come after it.
    audit_moved(rds)
    coord.patch(f"/v1/candidates/{c['id']}", {"phone": "12345"})
    assert coord.get(f"/v1/candidates/{c['id']}/access-log").status_code == 403
    r = admin.get(f"/v1/candidates/{c['id']}/access-log")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["action"] for i in items] == ["candidate.update", "candidate.get", "candidate.create"]
    read = items[1]
    assert read["key_id"] == tenants["a"]["coordinator"][4:12] and read["role"] == "coordinator"
    assert read["route"] == "GET /v1/candidates/{id}" and read["request_id"] == "les-1"
    # reading the log is itself logged (its record moved like any read's), and pages walk
    # back through it
    audit_moved(rds)
    page = admin.get(f"/v1/candidates/{c['id']}/access-log", params={"limit": 2}).json()
    assert page["items"][0]["action"] == "candidate.access_log" and page["next_cursor"]
    rest = admin.get(f"/v1/candidates/{c['id']}/access-log",
                     params={"limit": 200, "cursor": page["next_cursor"]}).json()["items"]
    assert [i["action"] for i in rest][-1] == "candidate.create"
    r = admin.get(f"/v1/candidates/{c['id']}/access-log", params={"cursor": "abc"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"


# ---- partners -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def partner_setup(service, tenants):
    """An employer with an opening, a partner key for it, and a candidate matched to it."""
    import psycopg2
    import os
    conn = psycopg2.connect(os.environ["BROBYGGER_PG_ADMIN"])
    conn.autocommit = True
    s = schema(tenants)
    org, other_org = str(uuid.uuid4()), str(uuid.uuid4())
    opening = str(uuid.uuid4())
    coord = service.api(tenants["a"]["coordinator"])
    matched = new_candidate(coord, birth_year=1990, phone="+47 922 22 222", interests=["kino"],
                            skills=["kasse"], availability={"tue": ["day"]})
    unmatched = new_candidate(coord)
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO {s}.organizations (id, name, kind, created_by) VALUES "
                    f"(%s, 'Kinoen', 'employer', 'test'), (%s, 'NAV Ringerike', 'nav_office',"
                    f" 'test')", (org, other_org))
        cur.execute(f"INSERT INTO {s}.openings (id, organization_id, kind, title, created_by) "
                    f"VALUES (%s, %s, 'work_trial', 'Kinovert', 'test')", (opening, org))
        cur.execute(f"INSERT INTO {s}.matches (id, candidate_id, opening_id) VALUES (%s, %s, %s)",
                    (str(uuid.uuid4()), matched["id"], opening))
    conn.close()
    return {"org": org, "other_org": other_org, "matched": matched, "unmatched": unmatched,
            "key": issue_key(tenants["a"]["slug"], "partner", org=org),
            "nav_key": issue_key(tenants["a"]["slug"], "partner", org=other_org)}


def test_a_partner_without_consent_sees_an_anonymous_profile(service, tenants, partner_setup,
                                                             db):
    partner = service.api(partner_setup["key"])
    r = partner.get(f"/v1/candidates/{partner_setup['matched']['id']}")
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["consent"] is None
    for hidden in ("given_name", "family_name", "birth_year", "phone", "email", "ref",
                   "income_basis", "trusted_person"):
        assert hidden not in got
    with db.cursor() as cur:  # born 1990: the band moves with the database's year
        cur.execute("SELECT extract(year FROM now())::int - 1990")
        age = cur.fetchone()[0]
    assert got["age_band"] == ("25-34" if age < 35 else "35-44" if age < 45 else "45-54")
    assert got["interests"] == ["kino"]
    assert got["availability"] == {"tue": ["day"]}


def test_a_partner_with_live_consent_sees_what_it_allows(service, tenants, partner_setup, db):
    partner = service.api(partner_setup["key"])
    cid = partner_setup["matched"]["id"]
    consent = str(uuid.uuid4())
    with db.cursor() as cur:
        cur.execute(f"INSERT INTO {schema(tenants)}.consents (id, candidate_id, scope, given_at, "
                    f"method, recorded_by) VALUES (%s, %s, ARRAY['share_employer'], "
                    f"current_date, 'skriftlig', 'test')", (consent, cid))
    got = partner.get(f"/v1/candidates/{cid}").json()
    assert got["consent"] == "share_employer"
    assert got["given_name"] == "Kari" and got["phone"] == "+47 922 22 222"
    assert "income_basis" not in got and "trusted_person" not in got
    # a NAV consent does not open the profile to an employer, and a withdrawal closes it
    with db.cursor() as cur:
        cur.execute(f"UPDATE {schema(tenants)}.consents SET withdrawn_at = now() WHERE id = %s",
                    (consent,))
        cur.execute(f"INSERT INTO {schema(tenants)}.consents (id, candidate_id, scope, given_at, "
                    f"method, recorded_by) VALUES (%s, %s, ARRAY['share_nav'], current_date, "
                    f"'muntlig', 'test')", (str(uuid.uuid4()), cid))
    got = partner.get(f"/v1/candidates/{cid}").json()
    assert got["consent"] is None and "given_name" not in got


def test_a_partner_sees_no_candidate_it_has_no_match_for(service, tenants, partner_setup):
    partner = service.api(partner_setup["key"])
    nav = service.api(partner_setup["nav_key"])
    assert partner.get(f"/v1/candidates/{partner_setup['unmatched']['id']}").status_code == 404
    assert nav.get(f"/v1/candidates/{partner_setup['matched']['id']}").status_code == 404
    assert partner.get("/v1/candidates").status_code == 403
    cid = partner_setup["matched"]["id"]
    assert partner.patch(f"/v1/candidates/{cid}", {"phone": "1234"}).status_code == 403
    assert partner.post(f"/v1/candidates/{cid}/status", {"to": "kartlagt"}).status_code == 403
    assert partner.get(f"/v1/candidates/{cid}/history").status_code == 403


# ---- roles and tenants ----------------------------------------------------------------------


def test_every_candidate_route_is_404_from_another_tenant(service, tenants):
    c = new_candidate(service.api(tenants["a"]["coordinator"]))
    b_coord = service.api(tenants["b"]["coordinator"])
    b_admin = service.api(tenants["b"]["tenant_admin"])
    cid = c["id"]
    assert b_coord.get(f"/v1/candidates/{cid}").status_code == 404
    assert b_coord.patch(f"/v1/candidates/{cid}", {"phone": "1234"}).status_code == 404
    assert move(b_coord, cid, "tilnaerming").status_code == 404
    assert b_coord.get(f"/v1/candidates/{cid}/history").status_code == 404
    assert b_admin.delete(f"/v1/candidates/{cid}").status_code == 404
    assert b_admin.post(f"/v1/candidates/{cid}/restrict", {"reason": "x"}).status_code == 404
    assert b_admin.post(f"/v1/candidates/{cid}/unrestrict").status_code == 404
    assert b_admin.get(f"/v1/candidates/{cid}/access-log").status_code == 404
    a = service.api(tenants["a"]["coordinator"]).get(f"/v1/candidates/{cid}").json()
    assert a["version"] == 1 and a["status"] == "henvist"


def test_a_reader_sees_no_case_data(service, tenants):
    c = new_candidate(service.api(tenants["a"]["coordinator"]))
    reader = service.api(tenants["a"]["reader"])
    assert reader.get(f"/v1/candidates/{c['id']}").status_code == 403
    assert reader.get("/v1/candidates").status_code == 403
    assert reader.get(f"/v1/candidates/{c['id']}/history").status_code == 403


def test_search_and_filters_by_measure_and_tag(service, tenants):
    api = service.api(tenants["b"]["coordinator"])
    tag = "fjøs" + suffix(4)
    c = new_candidate(api, family_name="Sølvberg" + suffix(), skills=[tag])
    for to in ("tilnaerming", "kartlagt", "arbeidstrening"):
        assert move(api, c["id"], to).status_code == 200
    assert move(api, c["id"], "i_tiltak", measure="vto").status_code == 200
    ids = lambda **q: [x["id"] for x in api.get("/v1/candidates", params=q).json()["items"]]
    assert ids(tag=tag) == [c["id"]]
    assert ids(q=tag) == [c["id"]]
    assert ids(q="ølvber", measure="vto") and c["id"] in ids(q="ølvber", measure="vto")
    assert c["id"] not in ids(measure="vta", limit=200)
    r = api.get("/v1/candidates", params={"measure": "sykehjem"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "measure"


def test_idempotency_key_on_a_status_change(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    c = new_candidate(api)
    key = {"Idempotency-Key": "status-" + suffix(12)}
    first = api.post(f"/v1/candidates/{c['id']}/status", {"to": "tilnaerming"}, headers=key)
    again = api.post(f"/v1/candidates/{c['id']}/status", {"to": "tilnaerming"}, headers=key)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    other = api.post(f"/v1/candidates/{c['id']}/status", {"to": "venter"}, headers=key)
    assert other.status_code == 422
    hist = api.get(f"/v1/candidates/{c['id']}/history").json()["items"]
    assert [h["to_status"] for h in hist] == ["henvist", "tilnaerming"]


def test_refs_past_9999_keep_every_digit(service, migrated, db):
    """Regression: the ten-thousandth candidate of a year was numbered K-YYYY-1000 (lpad cut the
    number to four characters), which clashed with the thousandth."""
    import random
    from conftest import admin
    slug = "it_refs_" + suffix()
    while admin("tenant", "create", "--slug", slug, "--name", "Refs", "--kommunenummer",
                f"{random.randint(1000, 9999)}", check=False).returncode != 0:
        pass  # the kommunenummer was taken by another test's tenant: draw again
    api = service.api(issue_key(slug, "coordinator"))
    first = new_candidate(api)
    year = first["ref"].split("-")[1]
    with db.cursor() as cur:
        cur.execute(f'UPDATE "t_{slug}".ref_counters SET last = 9999 WHERE year = %s', (int(year),))
    refs = [new_candidate(api)["ref"] for _ in range(2)]
    assert refs == [f"K-{year}-10000", f"K-{year}-10001"]
