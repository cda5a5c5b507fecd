"""Every class of bad input gets the right 4xx naming the field, and changes nothing."""
import datetime

import pytest
import requests

from conftest import count_candidates

THIS_YEAR = datetime.date.today().year

CASES = [
    ({"family_name": "X"}, "given_name"),
    ({"given_name": "A", "family_name": "B", "birth_year": "1980"}, "birth_year"),
    ({"given_name": "A", "family_name": "B", "birth_year": 1899}, "birth_year"),
    ({"given_name": "A", "family_name": "B", "birth_year": THIS_YEAR + 1}, "birth_year"),
    ({"given_name": "A", "family_name": "B", "income_basis": "lotto"}, "income_basis"),
    ({"given_name": "A", "family_name": "B", "favourite_colour": "blue"}, "favourite_colour"),
    ({"given_name": "A" * 201, "family_name": "B"}, "given_name"),
    ({"given_name": "A", "family_name": "B", "postal_code": "351"}, "postal_code"),
    ({"given_name": "A", "family_name": "B", "interests": "dyr"}, "interests"),
    ({"given_name": "A", "family_name": "B", "availability": {"mon": ["night"]}}, "availability.mon"),
    ({"given_name": "A", "family_name": "B", "needs_transport": "yes"}, "needs_transport"),
    ({"given_name": "A", "family_name": "B", "status": "i_tiltak"}, "status"),
    ({"given_name": 5, "family_name": "B"}, "given_name"),
]


@pytest.mark.parametrize("body,field", CASES)
def test_invalid_fields_are_422_and_change_nothing(service, tenants, db, body, field):
    slug = tenants["a"]["slug"]
    before = count_candidates(db, slug)
    r = service.api(tenants["a"]["coordinator"]).post("/v1/candidates", body)
    assert r.status_code == 422, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    assert field in [e["field"] for e in r.json()["errors"]]
    assert count_candidates(db, slug) == before


def raw_post(service, key, data, content_type="application/json"):
    return requests.post(service.base + "/v1/candidates", data=data,
                         headers={"Authorization": f"Bearer {key}", "Content-Type": content_type})


@pytest.mark.parametrize("data,status", [
    (b'{"given_name": "A", ', 400),                       # malformed
    (b'["given_name"]', 400),                             # not an object
    (b'{"given_name": "\xff\xfe", "family_name": "B"}', 400),  # invalid UTF-8
    (b'{"given_name": "A", "given_name": "B"}', 400),     # duplicate member
    (b'', 400),                                           # empty
])
def test_malformed_bodies_are_400(service, tenants, db, data, status):
    slug = tenants["a"]["slug"]
    before = count_candidates(db, slug)
    r = raw_post(service, tenants["a"]["coordinator"], data)
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "body"
    assert count_candidates(db, slug) == before


def test_wrong_content_type_is_415(service, tenants):
    r = raw_post(service, tenants["a"]["coordinator"], b"given_name=A", "text/plain")
    assert r.status_code == 415


def test_oversized_body_is_413(service, tenants, db):
    slug = tenants["a"]["slug"]
    before = count_candidates(db, slug)
    big = b'{"given_name": "' + b"A" * (1024 * 1024 + 10) + b'", "family_name": "B"}'
    r = raw_post(service, tenants["a"]["coordinator"], big)
    assert r.status_code == 413
    assert count_candidates(db, slug) == before


def test_bad_query_parameters_are_422(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    for params, field in (({"limit": "0"}, "limit"), ({"limit": "201"}, "limit"),
                          ({"limit": "x"}, "limit"), ({"status": "nope"}, "status"),
                          ({"cursor": "nope"}, "cursor"), ({"sort": "name"}, "sort")):
        r = api.get("/v1/candidates", params=params)
        assert r.status_code == 422, params
        assert field in [e["field"] for e in r.json()["errors"]]


def test_bad_idempotency_key_is_400(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    r = api.post("/v1/candidates", {"given_name": "A", "family_name": "B"},
                 headers={"Idempotency-Key": "x" * 300})
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "Idempotency-Key"


def test_msgpack_body_is_accepted_and_bounded(service, tenants, db):
    import msgpack
    slug = tenants["a"]["slug"]
    key = tenants["a"]["coordinator"]
    r = raw_post(service, key, msgpack.packb({"given_name": "Mp", "family_name": "Pack"}),
                 "application/msgpack")
    assert r.status_code == 201, r.text
    assert r.json()["given_name"] == "Mp"
    before = count_candidates(db, slug)
    # Headers promising 2^32 entries in a few bytes must be refused, not allocated.
    for data in (b"\xdd\xff\xff\xff\xff\x01", b"\xdf\xff\xff\xff\xff\xa1a\x01",
                 b"\x81\xa1a", b"\xc1", msgpack.packb([1, 2])):
        r = raw_post(service, key, data, "application/msgpack")
        assert r.status_code == 400, (data, r.text)
        assert r.json()["errors"][0]["field"] == "body"
    assert count_candidates(db, slug) == before
    assert requests.get(service.base + "/healthz").status_code == 200
