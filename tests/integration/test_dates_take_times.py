"""Date fields named *_at (an assessment's conducted_at, a consent's given_at and expires_at)
take an RFC 3339 date-time as well as a date, and keep the date as written in the value's own
offset; a bad one is a 422 naming the field and changes nothing."""
import datetime

import pytest

from conftest import suffix


def new_candidate(api):
    r = api.post("/v1/candidates", {"given_name": "Dag", "family_name": "Tid-" + suffix()})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def stored(db, slug, table, column, row_id):
    with db.cursor() as cur:
        cur.execute(f'SELECT {column} FROM "t_{slug}".{table} WHERE id = %s', (row_id,))
        return cur.fetchone()[0]


def count(db, slug, table):
    with db.cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "t_{slug}".{table}')
        return cur.fetchone()[0]


CONSENT = {"scope": ["share_nav"], "given_at": "2026-02-01", "method": "muntlig"}

# (sub-resource, its table, the field, the rest of a valid body)
AT_FIELDS = [
    ("assessments", "assessments", "conducted_at", {}),
    ("consents", "consents", "given_at", CONSENT),
    ("consents", "consents", "expires_at", CONSENT),
]

# Each is 2026-03-01 as written; the last two are another day in UTC, and still 2026-03-01.
TIMES = ["2026-03-01", "2026-03-01T10:00:00+01:00", "2026-03-01T10:00:00Z",
         "2026-03-01T23:30:00.250-05:00", "2026-03-01T00:30:00+02:00"]


@pytest.mark.parametrize("sub,table,field,rest", AT_FIELDS)
@pytest.mark.parametrize("value", TIMES)
def test_a_date_time_is_stored_as_the_date_it_names(service, tenants, db, sub, table, field,
                                                    rest, value):
    api = service.api(tenants["a"]["coordinator"])
    cid = new_candidate(api)
    r = api.post(f"/v1/candidates/{cid}/{sub}", {**rest, field: value})
    assert r.status_code == 201, r.text
    assert r.json()[field] == "2026-03-01"
    assert stored(db, tenants["a"]["slug"], table, field, r.json()["id"]) == \
        datetime.date(2026, 3, 1)


def test_a_patch_takes_a_date_time_too(service, tenants, db):
    api = service.api(tenants["a"]["coordinator"])
    cid = new_candidate(api)
    a = api.post(f"/v1/candidates/{cid}/assessments", {"conducted_at": "2026-01-10"}).json()
    r = api.patch(f"/v1/candidates/{cid}/assessments/{a['id']}",
                  {"conducted_at": "2026-01-11T08:15:00+01:00"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.json()["conducted_at"] == "2026-01-11" and r.json()["version"] == 2
    assert stored(db, tenants["a"]["slug"], "assessments", "conducted_at", a["id"]) == \
        datetime.date(2026, 1, 11)


@pytest.mark.parametrize("sub,table,field,rest", AT_FIELDS)
@pytest.mark.parametrize("value", [
    "2026-03-01T25:00:00Z",       # no such hour
    "2026-02-30T10:00:00Z",       # no such day
    "2026-03-01T10:00:00",        # no offset: which day is meant is unknown
    "2026-03-01T10:00Z",          # no seconds
    "2026-03-01T10:00:00+01:00x",
    "2026-03-01Z",
])
def test_a_bad_date_time_is_422_naming_the_field(service, tenants, db, sub, table, field, rest,
                                                 value):
    api = service.api(tenants["a"]["coordinator"])
    cid = new_candidate(api)
    before = count(db, tenants["a"]["slug"], table)
    r = api.post(f"/v1/candidates/{cid}/{sub}", {**rest, field: value})
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert count(db, tenants["a"]["slug"], table) == before


@pytest.mark.parametrize("body,field", [
    ({**CONSENT, "given_at": "2099-01-01T00:00:00Z"}, "given_at"),
    # the same day as given_at, later in it: not after given_at as a date
    ({**CONSENT, "expires_at": "2026-02-01T12:00:00Z"}, "expires_at"),
])
def test_a_consents_checks_compare_the_dates_a_date_time_names(service, tenants, db, body,
                                                              field):
    api = service.api(tenants["a"]["coordinator"])
    cid = new_candidate(api)
    before = count(db, tenants["a"]["slug"], "consents")
    r = api.post(f"/v1/candidates/{cid}/consents", body)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert count(db, tenants["a"]["slug"], "consents") == before


def test_a_date_not_named_at_still_takes_only_a_date(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    cid = new_candidate(api)
    r = api.post(f"/v1/candidates/{cid}/plans", {"valid_from": "2026-03-01T10:00:00Z"})
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["valid_from"]
