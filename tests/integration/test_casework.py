"""A candidate's mapping interviews, consents, plans and journal, end to end: each is audited,
follows the candidate's visibility, validates by field and changes nothing on bad input."""
import uuid

import psycopg2
import pytest

from conftest import audit_moved, suffix


def new_candidate(api):
    r = api.post("/v1/candidates", {"given_name": "Per", "family_name": "Case-" + suffix()})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def audit_actions(db, rds, slug, cid):
    """(action, route) of the candidate's audit rows in the order things happened: reads' rows
    are moved in by the janitor after the fact, so they are ordered by their own time."""
    audit_moved(rds)
    with db.cursor() as cur:
        cur.execute(f'SELECT action, route FROM "t_{slug}".audit_log WHERE candidate_id = %s '
                    "ORDER BY at, id", (cid,))
        return cur.fetchall()


def count(db, slug, table):
    with db.cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "t_{slug}".{table}')
        return cur.fetchone()[0]


# ---- assessments ----------------------------------------------------------------------------


def test_assessment_round_trip_with_etag_and_audit(service, tenants, db, rds):
    api = service.api(tenants["a"]["coordinator"])
    cid = new_candidate(api)
    r = api.post(f"/v1/candidates/{cid}/assessments",
                 {"resources": "Flink med dyr", "challenges": "Angst i grupper",
                  "communication": "Korte beskjeder, gjerne skriftlig",
                  "conducted_at": "2026-03-02"})
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["candidate_id"] == cid and a["version"] == 1 and a["wishes"] is None
    path = f"/v1/candidates/{cid}/assessments/{a['id']}"
    got = api.get(path)
    assert got.status_code == 200 and got.json() == a and got.headers["ETag"] == '"1"'
    assert api.patch(path, {"wishes": "Jobbe ute"}, headers={"If-Match": '"7"'}).status_code == 412
    r = api.patch(path, {"wishes": "Jobbe ute"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["wishes"] == "Jobbe ute"
    assert r.json()["resources"] == "Flink med dyr" and r.json()["version"] == 2
    items = api.get(f"/v1/candidates/{cid}/assessments").json()["items"]
    assert [x["id"] for x in items] == [a["id"]]
    actions = [x[0] for x in audit_actions(db, rds, tenants["a"]["slug"], cid)]
    assert actions[1:] == ["assessment.create", "assessment.get", "assessment.update",
                           "assessment.list"]
    assert ("assessment.get", "GET /v1/candidates/{id}/assessments/{sub_id}") in \
        audit_actions(db, rds, tenants["a"]["slug"], cid)


# ---- consents -------------------------------------------------------------------------------


def test_consent_withdrawal_is_kept_as_history(service, tenants, db):
    api = service.api(tenants["a"]["coordinator"])
    cid = new_candidate(api)
    r = api.post(f"/v1/candidates/{cid}/consents",
                 {"scope": ["share_nav", "share_employer"], "given_at": "2026-02-01",
                  "method": "skriftlig", "note": "Signert skjema i arkivet"})
    assert r.status_code == 201, r.text
    k = r.json()
    assert k["active"] is True and k["withdrawn_at"] is None
    path = f"/v1/candidates/{cid}/consents/{k['id']}"
    r = api.delete(path, params={"reason": "Ønsker ikke deling lenger"})
    assert r.status_code == 200, r.text
    w = r.json()
    assert w["active"] is False and w["withdrawn_at"].endswith("Z")
    assert w["withdrawal_reason"] == "Ønsker ikke deling lenger"
    assert w["withdrawn_by"] == tenants["a"]["coordinator"][4:12]
    assert api.delete(path).status_code == 409
    assert api.get(path).json()["scope"] == ["share_nav", "share_employer"]
    live = api.get(f"/v1/candidates/{cid}/consents", params={"active": "true"}).json()["items"]
    gone = api.get(f"/v1/candidates/{cid}/consents", params={"active": "false"}).json()["items"]
    assert live == [] and [x["id"] for x in gone] == [k["id"]]
    with db.cursor() as cur:
        cur.execute(f'SELECT event FROM "t_{tenants["a"]["slug"]}".outbox '
                    "WHERE payload->>'id' = %s ORDER BY id", (k["id"],))
        assert [x[0] for x in cur.fetchall()] == ["consent.given", "consent.withdrawn"]


@pytest.mark.parametrize("body,field", [
    ({"scope": [], "given_at": "2026-01-01", "method": "muntlig"}, "scope"),
    ({"scope": ["share_facebook"], "given_at": "2026-01-01", "method": "muntlig"}, "scope"),
    ({"scope": ["share_nav", "share_nav"], "given_at": "2026-01-01", "method": "muntlig"},
     "scope"),
    ({"scope": ["share_nav"], "given_at": "2099-01-01", "method": "muntlig"}, "given_at"),
    ({"scope": ["share_nav"], "given_at": "2026-02-30", "method": "muntlig"}, "given_at"),
    ({"scope": ["share_nav"], "given_at": "2026-01-01", "method": "epost"}, "method"),
    ({"scope": ["share_nav"], "given_at": "2026-01-01", "method": "muntlig",
      "expires_at": "2025-01-01"}, "expires_at"),
    ({"scope": ["share_nav"], "method": "muntlig"}, "given_at"),
    ({"scope": "share_nav", "given_at": "2026-01-01", "method": "muntlig"}, "scope"),
])
def test_bad_consents_are_422_by_field(service, tenants, db, body, field):
    api = service.api(tenants["a"]["coordinator"])
    cid = new_candidate(api)
    before = count(db, tenants["a"]["slug"], "consents")
    r = api.post(f"/v1/candidates/{cid}/consents", body)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    assert count(db, tenants["a"]["slug"], "consents") == before


# ---- plans ----------------------------------------------------------------------------------


def test_plan_with_steps_round_trip(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    cid = new_candidate(api)
    body = {"goals": ["Arbeidstrening på gård tre dager i uka"],
            "steps": [{"text": "Besøke gården", "responsible": "Koordinator", "due": "2026-04-01",
                       "done": False}],
            "participants": "Kandidat, primærkontakt, mor", "valid_from": "2026-03-01",
            "valid_to": "2026-12-31"}
    r = api.post(f"/v1/candidates/{cid}/plans", body)
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["steps"][0]["due"] == "2026-04-01" and plan["valid_to"] == "2026-12-31"
    path = f"/v1/candidates/{cid}/plans/{plan['id']}"
    steps = plan["steps"] + [{"text": "Møte med NAV", "done": False}]
    steps[0]["done"] = True
    r = api.patch(path, {"steps": steps}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["steps"][0]["done"] is True
    assert len(r.json()["steps"]) == 2 and r.json()["goals"] == body["goals"]
    r = api.patch(path, {"valid_to": "2026-01-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "valid_to"


@pytest.mark.parametrize("body,field", [
    ({"steps": [{"text": "a", "due": "snart"}]}, "steps.0.due"),
    ({"steps": [{"text": "a"}, {"responsible": "meg"}]}, "steps.1.text"),
    ({"steps": [{"text": "a", "colour": "blue"}]}, "steps.0.colour"),
    ({"steps": ["gjør noe"]}, "steps"),
    ({"goals": ["x" * 1001]}, "goals[0]"),
    ({"goals": "ett mål"}, "goals"),
    ({"valid_from": "2026-05-01", "valid_to": "2026-04-01"}, "valid_to"),
])
def test_bad_plans_are_422_by_field(service, tenants, db, body, field):
    api = service.api(tenants["a"]["coordinator"])
    cid = new_candidate(api)
    before = count(db, tenants["a"]["slug"], "plans")
    r = api.post(f"/v1/candidates/{cid}/plans", body)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    assert count(db, tenants["a"]["slug"], "plans") == before


# ---- journal --------------------------------------------------------------------------------


def test_journal_is_append_only_and_corrections_point_back(service, tenants, db):
    api = service.api(tenants["a"]["coordinator"])
    cid = new_candidate(api)
    r = api.post(f"/v1/candidates/{cid}/journal",
                 {"kind": "samtale", "text": "Første samtale; ønsker å jobbe med dyr.",
                  "occurred_at": "2026-03-02T10:15:00+01:00"})
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["occurred_at"] == "2026-03-02T09:15:00Z"
    assert first["author_key_id"] == tenants["a"]["coordinator"][4:12]
    r = api.post(f"/v1/candidates/{cid}/journal",
                 {"kind": "notat", "text": "Rettelse: ønsker å jobbe med hester.",
                  "occurred_at": "2026-03-02T10:15:00Z", "corrects": first["id"]})
    assert r.status_code == 201, r.text
    fix = r.json()
    assert fix["corrects"] == first["id"]
    items = api.get(f"/v1/candidates/{cid}/journal").json()["items"]
    assert [x["id"] for x in items] == [fix["id"], first["id"]]
    assert items[1]["corrected_by"] == fix["id"] and items[1]["text"] == first["text"]
    path = f"/v1/candidates/{cid}/journal/{first['id']}"
    for method in ("patch", "put", "delete"):
        r = getattr(api.s, method)(api.base + path, json={"text": "x"}, timeout=10)
        assert r.status_code == 405 and "GET" in r.headers["Allow"]
    # The table's trigger refuses, whoever asks: SQLSTATE 55000 with its own message. The
    # correction (which nothing references) is tried as well as the corrected entry, so a
    # foreign key cannot refuse the DELETE in the trigger's place.
    s = f'"t_{tenants["a"]["slug"]}"'
    for sql, entry, message in (
            (f"UPDATE {s}.journal SET text = 'endret' WHERE id = %s", first, "append-only"),
            (f"UPDATE {s}.journal SET occurred_at = now() WHERE id = %s", fix, "append-only"),
            (f"DELETE FROM {s}.journal WHERE id = %s", fix, "never deleted"),
            (f"DELETE FROM {s}.journal WHERE id = %s", first, "never deleted")):
        with db.cursor() as cur:
            with pytest.raises(psycopg2.Error) as refused:
                cur.execute(sql, (entry["id"],))
        assert refused.value.pgcode == "55000", (sql, refused.value.pgerror)
        assert refused.value.diag.message_primary == f"journal entries are {message}"
    assert api.get(path).json()["text"] == first["text"]
    assert [x["id"] for x in api.get(f"/v1/candidates/{cid}/journal").json()["items"]] == \
        [fix["id"], first["id"]]


@pytest.mark.parametrize("body,field", [
    ({"kind": "dagbok", "text": "x", "occurred_at": "2026-03-02T10:00:00Z"}, "kind"),
    ({"kind": "notat", "text": "", "occurred_at": "2026-03-02T10:00:00Z"}, "text"),
    ({"kind": "notat", "text": "x" * 20001, "occurred_at": "2026-03-02T10:00:00Z"}, "text"),
    ({"kind": "notat", "text": "x", "occurred_at": "2026-03-02"}, "occurred_at"),
    ({"kind": "notat", "text": "x", "occurred_at": "2099-03-02T10:00:00Z"}, "occurred_at"),
    ({"kind": "notat", "text": "x", "occurred_at": "2026-03-02T10:00:00Z",
      "corrects": str(uuid.uuid4())}, "corrects"),
    ({"kind": "notat", "text": "x", "occurred_at": "2026-03-02T10:00:00Z", "author": "meg"},
     "author"),
    ({"kind": "notat", "text": 5, "occurred_at": "2026-03-02T10:00:00Z"}, "text"),
])
def test_bad_journal_entries_are_422_by_field(service, tenants, db, body, field):
    api = service.api(tenants["a"]["coordinator"])
    cid = new_candidate(api)
    before = count(db, tenants["a"]["slug"], "journal")
    r = api.post(f"/v1/candidates/{cid}/journal", body)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    assert count(db, tenants["a"]["slug"], "journal") == before


def test_a_correction_must_name_an_entry_of_the_same_candidate(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    one, other = new_candidate(api), new_candidate(api)
    e = api.post(f"/v1/candidates/{one}/journal", {"kind": "notat", "text": "x",
                                                   "occurred_at": "2026-03-02T10:00:00Z"}).json()
    r = api.post(f"/v1/candidates/{other}/journal",
                 {"kind": "notat", "text": "y", "occurred_at": "2026-03-02T10:00:00Z",
                  "corrects": e["id"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "corrects"


def test_sql_metacharacters_in_text_fields_are_stored_verbatim(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    cid = new_candidate(api)
    nasty = "Robert'); DROP TABLE journal; -- $1 %s \\x00"
    r = api.post(f"/v1/candidates/{cid}/journal",
                 {"kind": "notat", "text": nasty, "occurred_at": "2026-03-02T10:00:00Z"})
    assert r.status_code == 201 and r.json()["text"] == nasty
    r = api.post(f"/v1/candidates/{cid}/assessments", {"resources": nasty})
    assert r.status_code == 201 and r.json()["resources"] == nasty
    got = api.get(f"/v1/candidates/{cid}/journal").json()["items"][0]
    assert got["text"] == nasty


# ---- visibility, roles and erasure ----------------------------------------------------------


def test_sub_resources_follow_the_candidate(service, tenants, db):
    coord = service.api(tenants["a"]["coordinator"])
    admin = service.api(tenants["a"]["tenant_admin"])
    cid = new_candidate(coord)
    j = coord.post(f"/v1/candidates/{cid}/journal",
                   {"kind": "samtale", "text": "Sensitivt innhold",
                    "occurred_at": "2026-03-02T10:00:00Z"}).json()
    a = coord.post(f"/v1/candidates/{cid}/assessments", {"challenges": "Sensitivt"}).json()
    p = coord.post(f"/v1/candidates/{cid}/plans", {"goals": ["Sensitivt mål"]}).json()
    # restricted: gone for the coordinator, there for the tenant admin
    assert admin.post(f"/v1/candidates/{cid}/restrict", {"reason": "arkiv"}).status_code == 200
    assert coord.get(f"/v1/candidates/{cid}/journal").status_code == 404
    assert coord.get(f"/v1/candidates/{cid}/journal/{j['id']}").status_code == 404
    assert coord.post(f"/v1/candidates/{cid}/journal", {"kind": "notat", "text": "x",
                      "occurred_at": "2026-03-02T10:00:00Z"}).status_code == 404
    assert admin.get(f"/v1/candidates/{cid}/journal/{j['id']}").status_code == 200
    assert admin.post(f"/v1/candidates/{cid}/unrestrict").status_code == 200
    # erased: texts gone from every sub-resource, rows (and the journal's shape) kept
    assert admin.delete(f"/v1/candidates/{cid}").status_code == 200
    assert admin.get(f"/v1/candidates/{cid}/journal").status_code == 404
    s = f'"t_{tenants["a"]["slug"]}"'
    with db.cursor() as cur:
        cur.execute(f"SELECT text, erased_at IS NOT NULL, kind FROM {s}.journal WHERE id = %s",
                    (j["id"],))
        assert cur.fetchone() == (None, True, "samtale")
        cur.execute(f"SELECT challenges FROM {s}.assessments WHERE id = %s", (a["id"],))
        assert cur.fetchone()[0] is None
        cur.execute(f"SELECT goals FROM {s}.plans WHERE id = %s", (p["id"],))
        assert cur.fetchone()[0] == []


def test_sub_resource_of_another_candidate_is_404(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    one, other = new_candidate(api), new_candidate(api)
    a = api.post(f"/v1/candidates/{one}/assessments", {"resources": "x"}).json()
    assert api.get(f"/v1/candidates/{other}/assessments/{a['id']}").status_code == 404
    assert api.patch(f"/v1/candidates/{other}/assessments/{a['id']}",
                     {"resources": "y"}).status_code == 404
    assert api.get(f"/v1/candidates/{one}/assessments/{a['id']}").json()["resources"] == "x"


def test_erasure_empties_consent_notes_and_every_reason_and_keeps_the_rows(service, tenants,
                                                                           db):
    coord = service.api(tenants["a"]["coordinator"])
    admin = service.api(tenants["a"]["tenant_admin"])
    cid = new_candidate(coord)
    secret = "Hemmelig-" + uuid.uuid4().hex[:8]
    kept = coord.post(f"/v1/candidates/{cid}/consents",
                      {"scope": ["share_nav"], "given_at": "2026-02-01", "method": "skriftlig",
                       "note": f"Notat {secret}"}).json()
    gone = coord.post(f"/v1/candidates/{cid}/consents",
                      {"scope": ["share_employer"], "given_at": "2026-02-01",
                       "method": "muntlig"}).json()
    r = coord.delete(f"/v1/candidates/{cid}/consents/{gone['id']}",
                     params={"reason": f"Trakk {secret}"})
    assert r.status_code == 200, r.text
    for to, reason in (("tilnaerming", None), ("venter", f"Venter {secret}"),
                       ("tilnaerming", None), ("avsluttet", f"Slutt {secret}")):
        body = {"to": to, **({"reason": reason} if reason else {})}
        assert coord.post(f"/v1/candidates/{cid}/status", body).status_code == 200
    assert admin.delete(f"/v1/candidates/{cid}").status_code == 200
    s = f'"t_{tenants["a"]["slug"]}"'
    with db.cursor() as cur:
        cur.execute(f"SELECT id::text, scope, note, withdrawal_reason, withdrawn_at IS NOT NULL "
                    f"FROM {s}.consents WHERE candidate_id = %s ORDER BY id", (cid,))
        assert cur.fetchall() == [(kept["id"], ["share_nav"], None, None, False),
                                  (gone["id"], ["share_employer"], None, None, True)]
        cur.execute(f"SELECT to_status, reason FROM {s}.status_history WHERE candidate_id = %s "
                    f"ORDER BY id", (cid,))
        assert cur.fetchall() == [(to, None) for to in ("henvist", "tilnaerming", "venter",
                                                        "tilnaerming", "avsluttet")]
        for table in ("processed_jobs", "idempotency_keys"):
            cur.execute(f"SELECT count(*) FROM {s}.{table} "
                        f"WHERE position(convert_to(%s, 'UTF8') IN reply) > 0", (secret,))
            assert cur.fetchone() == (0,), table
