"""What a partner sees of a candidate matched to its organisation's opening, for every kind of
organisation against every consent scope, with the consent live, live until today, withdrawn
or expired. The rule (README, "Partners"): the shared profile (name, contact, birth year) only
under a live consent whose scope covers the organisation's kind; otherwise the anonymous one.

`school` and `other` are covered by no scope, so no consent opens the shared profile to them:
they always see the anonymous profile. That is what the code does (its kind-to-scope mapping
has no entry for them) and what is tested here."""
import datetime
import os

import psycopg2
import pytest

from conftest import issue_key, suffix, uuid7

# The kind of organisation -> the one consent scope that covers it (None: no scope does).
COVERED_BY = {
    "employer": "share_employer",
    "nav_office": "share_nav",
    "labour_market_company": "share_employer",
    "volunteer": "share_volunteer",
    "municipal_unit": "share_employer",
    "school": None,
    "other": None,
}
SCOPES = ("share_nav", "share_employer", "share_volunteer", "contact_relatives")
# live: no expiry; until_today: expires today (still live: the last day counts); withdrawn:
# withdrawn through the API; expired: expired yesterday.
STATES = ("live", "until_today", "withdrawn", "expired")

BIRTH_YEAR = 1990
SHARED_ONLY = {"given_name", "family_name", "birth_year", "phone", "email"}
ANONYMOUS_ONLY = {"age_band"}
BOTH = {"id", "interests", "skills", "accommodations", "languages", "availability",
        "needs_transport", "prefers_pair_work", "max_travel_km", "consent"}


def age_band(birth_year, year):
    age = year - birth_year
    for limit, band in ((18, "under_18"), (25, "18-24"), (35, "25-34"), (45, "35-44"),
                        (55, "45-54"), (68, "55-67")):
        if age < limit:
            return band
    return "68+"


@pytest.fixture(scope="module")
def world(service, tenants):
    """One organisation of each kind with an opening and a partner key; one candidate for each
    (scope, state) with that one consent, matched to every organisation's opening."""
    slug = tenants["a"]["slug"]
    coord = service.api(tenants["a"]["coordinator"])
    conn = psycopg2.connect(os.environ["BROBYGGER_PG_ADMIN"])
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT current_date")
        today = cur.fetchone()[0]  # the database's date is the one consents are judged by
    orgs = {}
    for kind in COVERED_BY:
        r = coord.post("/v1/organizations", {"name": f"{kind} {suffix()}", "kind": kind})
        assert r.status_code == 201, r.text
        org = r.json()["id"]
        r = coord.post("/v1/openings", {"organization_id": org, "kind": "work_trial",
                                        "title": "Praksisplass"})
        assert r.status_code == 201, r.text
        orgs[kind] = {"id": org, "opening": r.json()["id"],
                      "key": issue_key(slug, "partner", org=org)}
    candidates = {}
    for scope in SCOPES:
        for state in STATES:
            r = coord.post("/v1/candidates", {
                "given_name": "Delt", "family_name": f"{scope}-{state}-{suffix()}",
                "birth_year": BIRTH_YEAR, "phone": "+47 933 33 333",
                "email": "delt@example.no", "interests": ["kafé"], "skills": ["kasse"]})
            assert r.status_code == 201, r.text
            cand = r.json()
            body = {"scope": [scope], "method": "skriftlig",
                    "given_at": (today - datetime.timedelta(days=30)).isoformat()}
            if state == "until_today":
                body["expires_at"] = today.isoformat()
            elif state == "expired":
                body["expires_at"] = (today - datetime.timedelta(days=1)).isoformat()
            r = coord.post(f"/v1/candidates/{cand['id']}/consents", body)
            assert r.status_code == 201, r.text
            consent = r.json()
            if state == "withdrawn":
                r = coord.delete(f"/v1/candidates/{cand['id']}/consents/{consent['id']}")
                assert r.status_code == 200, r.text
            live = coord.get(f"/v1/candidates/{cand['id']}/consents/{consent['id']}")
            assert live.json()["active"] is (state in ("live", "until_today")), live.text
            candidates[(scope, state)] = cand
    with conn.cursor() as cur:
        for cand in candidates.values():
            for org in orgs.values():
                cur.execute(f'INSERT INTO "t_{slug}".matches (id, candidate_id, opening_id) '
                            "VALUES (%s, %s, %s)", (uuid7(), cand["id"], org["opening"]))
    conn.close()
    return {"orgs": orgs, "candidates": candidates, "year": today.year}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("kind", list(COVERED_BY))
def test_a_partner_sees_the_shared_profile_only_under_a_live_consent_for_its_kind(
        service, world, kind, scope, state):
    cand = world["candidates"][(scope, state)]
    partner = service.api(world["orgs"][kind]["key"])
    r = partner.get(f"/v1/candidates/{cand['id']}")
    assert r.status_code == 200, r.text
    got = r.json()
    shared = state in ("live", "until_today") and COVERED_BY[kind] == scope
    if shared:
        assert set(got) == BOTH | SHARED_ONLY, sorted(got)
        assert got["consent"] == scope
        assert (got["given_name"], got["family_name"], got["birth_year"]) == \
            ("Delt", cand["family_name"], BIRTH_YEAR)
        assert (got["phone"], got["email"]) == ("+47 933 33 333", "delt@example.no")
    else:
        assert set(got) == BOTH | ANONYMOUS_ONLY, sorted(got)
        assert got["consent"] is None
        assert got["age_band"] == age_band(BIRTH_YEAR, world["year"])
    assert got["id"] == cand["id"] and got["interests"] == ["kafé"] and got["skills"] == ["kasse"]
