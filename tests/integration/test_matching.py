"""The matching worker end to end on a tenant of its own: a run proposes the optimal
assignment with progress and a summary, keeps matches past proposed and the coordinator's locks
and exclusions, a re-run replaces only untouched proposals; rankings list eligible openings
with parts and excluded ones with reason codes; the match lifecycle refuses illegal moves and
moves without consent, writes history and events, and the candidate's status follows."""
import random
import uuid

import pytest

from conftest import admin, issue_key, suffix, wait_until


def new_tenant(service):
    """A tenant of its own (runs are tenant-wide), with a coordinator's client."""
    slug = f"it_m_{suffix()}"
    while admin("tenant", "create", "--slug", slug, "--name", "Matching",
                "--kommunenummer", f"{random.randint(1000, 9999)}", check=False).returncode:
        slug = f"it_m_{suffix()}"
    return {"slug": slug, "api": service.api(issue_key(slug, "coordinator"))}


def two_and_two(town):
    """Greedy gives the farm to Ada (her higher score) and leaves Bo, who needs a wheelchair
    place, without; the optimum gives Ada the café and Bo the farm. Runs once."""
    api = town["api"]
    org = organization(api)
    ada = candidate(api, interests=["dyr", "kaffe"])
    bo = candidate(api, interests=["dyr"], accommodations=["rullestol"])
    farm = opening(api, org, categories=["dyrepass"], accommodations_offered=["rullestol"])
    cafe = opening(api, org, title="Kafé", categories=["kaffe"])
    town.update(org=org, ada=ada, bo=bo, farm=farm, cafe=cafe, first=run(api))
    return town


@pytest.fixture(scope="module")
def town(service, migrated):
    """The module's tenant with the two-and-two scene run once."""
    return two_and_two(new_tenant(service))


def candidate(api, **fields):
    body = {"given_name": "Kari", "family_name": "Nordmann", "income_basis": "uforetrygd",
            "postal_code": "3510", **fields}
    r = api.post("/v1/candidates", body)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    for to in ("tilnaerming", "kartlagt"):
        assert api.post(f"/v1/candidates/{cid}/status", {"to": to}).status_code == 200
    return cid


def opening(api, org, **fields):
    body = {"organization_id": org, "kind": "activity", "title": "Dyrepass på gården",
            "postal_code": "3510", "capacity": 1, **fields}
    r = api.post("/v1/openings", body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def organization(api):
    r = api.post("/v1/organizations", {"name": f"Gård {suffix()}", "kind": "employer"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def run(api, body=None):
    r = api.post("/v1/matching-runs", body or {})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued" and r.json()["progress"] == 0
    rid = r.json()["id"]

    def done():
        g = api.get(f"/v1/matching-runs/{rid}")
        assert g.status_code == 200, g.text
        return g.json() if g.json()["status"] in ("done", "failed") else None
    out = wait_until(done, timeout=30, what="the matching run")
    assert out["status"] == "done", out
    assert out["progress"] == 1
    return out


def proposals(db, slug):
    with db.cursor() as cur:
        cur.execute(f'SELECT candidate_id::text, opening_id::text, status, run_id::text '
                    f'FROM "t_{slug}".matches ORDER BY 1, 2')
        return cur.fetchall()


def test_run_assigns_optimally_and_explains(town, db):
    api, slug, out = town["api"], town["slug"], town["first"]
    ada, bo, farm, cafe = town["ada"], town["bo"], town["farm"], town["cafe"]
    s = out["summary"]
    assert s["assigned"] == 2 and s["unassigned"] == 0
    assert s["inputs"]["candidates"] == 2 and s["inputs"]["openings"] == 2
    assert s["inputs"]["eligible_pairs"] == 3
    got = {(c, o) for c, o, st, rid in proposals(db, slug) if rid == out["id"]}
    assert got == {(ada, cafe), (bo, farm)}
    r = api.get(f"/v1/candidates/{bo}/matches")
    assert r.status_code == 200
    texts = [e["text"] for e in r.json()["items"][0]["explanation"]]
    assert "Liker dyr – passer med dyrepass" in texts
    with db.cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "t_{slug}".match_history WHERE to_status = %s '
                    f'AND run_id = %s', ("proposed", out["id"]))
        assert cur.fetchone()[0] == 2
        cur.execute(f'SELECT count(*) FROM "t_{slug}".outbox o JOIN "t_{slug}".matches m ON '
                    f'm.id = o.aggregate_id WHERE o.event = %s AND m.run_id = %s',
                    ("match.proposed", out["id"]))
        assert cur.fetchone()[0] == 2


def test_ranking_lists_parts_and_reasons(town):
    api = town["api"]
    r = api.get(f"/v1/candidates/{town['ada']}/ranking")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["eligible"] for i in items] == [True, True]
    assert items[0]["score"] >= items[1]["score"]
    assert set(items[0]["parts"]) == {"wishes", "interests", "skills", "schedule", "distance",
                                      "pair_work", "transport"}
    r = api.get(f"/v1/candidates/{town['bo']}/ranking")
    by_id = {i["opening_id"]: i for i in r.json()["items"]}
    assert by_id[town["cafe"]]["reasons"] == ["accommodation_missing"]
    assert by_id[town["cafe"]]["score"] is None
    r = api.get(f"/v1/candidates/{town['bo']}/ranking", params={"eligible": "true"})
    assert [i["opening_id"] for i in r.json()["items"]] == [town["farm"]]
    r = api.get(f"/v1/candidates/{town['bo']}/ranking", params={"category": "kaffe"})
    assert [i["opening_id"] for i in r.json()["items"]] == [town["cafe"]]
    r = api.get(f"/v1/openings/{town['farm']}/ranking")
    assert r.status_code == 200
    assert {i["candidate_id"] for i in r.json()["items"]} == {town["ada"], town["bo"]}
    assert api.get(f"/v1/candidates/{town['org']}/ranking").status_code == 404


def match_of(api, cand):
    r = api.get(f"/v1/candidates/{cand}/matches")
    return r.json()["items"][0]


def test_lifecycle_consents_history_and_status(town, db):
    api, slug = town["api"], town["slug"]
    m = match_of(api, town["bo"])
    r = api.patch(f"/v1/matches/{m['id']}", {"status": "placed"})
    assert r.status_code == 409
    assert "presented" in r.json()["errors"][0]["message"]
    for to in ("presented", "interested"):
        r = api.patch(f"/v1/matches/{m['id']}", {"status": to})
        assert r.status_code == 200, r.text
    r = api.patch(f"/v1/matches/{m['id']}", {"status": "meeting"})
    assert r.status_code == 409
    assert r.json()["errors"] == [{"field": "consent", "message": "share_employer"}]
    r = api.post(f"/v1/candidates/{town['bo']}/consents",
                 {"scope": ["share_employer"], "given_at": "2026-01-05", "method": "skriftlig"})
    assert r.status_code == 201, r.text
    assert api.patch(f"/v1/matches/{m['id']}", {"status": "meeting"}).status_code == 200
    r = api.patch(f"/v1/matches/{m['id']}", {"status": "nav_involved"})
    assert r.status_code == 409
    assert r.json()["errors"] == [{"field": "consent", "message": "share_nav"}]
    r = api.patch(f"/v1/matches/{m['id']}", {"status": "trial"})
    assert r.status_code == 200 and r.json()["status"] == "trial"
    moved = r.json()
    assert set(moved) == set(m)  # the lifecycle's answer is the Match the lists show
    assert (moved["run_id"], moved["hours_freed_per_shift"], moved["nav_decision"]) == \
        (m["run_id"], None, None)
    assert api.get(f"/v1/candidates/{town['bo']}").json()["status"] == "utproving"
    h = api.get(f"/v1/matches/{m['id']}/history").json()["items"]
    assert [(e["from_status"], e["to_status"]) for e in h] == [
        (None, "proposed"), ("proposed", "presented"), ("presented", "interested"),
        ("interested", "meeting"), ("meeting", "trial")]
    with db.cursor() as cur:
        cur.execute(f'SELECT event, payload->>\'status\', payload->>\'previous_status\' FROM '
                    f'"t_{slug}".outbox WHERE aggregate_id = %s ORDER BY id', (m["id"],))
        assert cur.fetchall()[1:] == [("match.presented", "presented", "proposed"),
                                      ("match.status_changed", "interested", "presented"),
                                      ("match.status_changed", "meeting", "interested"),
                                      ("match.status_changed", "trial", "meeting")]


def test_rerun_keeps_decisions_locks_and_exclusions(service, db):
    town = two_and_two(new_tenant(service))
    api, slug = town["api"], town["slug"]
    with db.cursor() as cur:  # Bo's farm match has moved past proposed
        cur.execute(f'UPDATE "t_{slug}".matches SET status = %s WHERE candidate_id = %s',
                    ("trial", town["bo"]))
    cleo = candidate(api, interests=["kaffe"])
    # Exclude Ada from the café she had; lock Cleo there instead.
    r = api.post("/v1/pair-rules", {"candidate_id": town["ada"], "opening_id": town["cafe"],
                                    "rule": "exclude"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = api.post("/v1/pair-rules", {"candidate_id": town["ada"], "opening_id": town["cafe"],
                                    "rule": "exclude", "reason": "Har prøvd før"})
    assert r.status_code == 201, r.text
    again = api.post("/v1/pair-rules", {"candidate_id": town["ada"], "opening_id": town["cafe"],
                                        "rule": "lock"})
    assert again.status_code == 409
    lock = api.post("/v1/pair-rules", {"candidate_id": cleo, "opening_id": town["cafe"],
                                       "rule": "lock"})
    assert lock.status_code == 201
    out = run(api)
    rows = {(c, o): st for c, o, st, rid in proposals(db, slug)}
    assert rows[(town["bo"], town["farm"])] == "trial"   # past proposed: kept
    assert rows[(cleo, town["cafe"])] == "proposed"      # locked
    assert (town["ada"], town["cafe"]) not in rows       # excluded: the old proposal is gone
    assert out["summary"]["replaced"] == 1
    assert out["summary"]["inputs"]["locks"] == 1 and out["summary"]["inputs"]["exclusions"] == 1
    # Ada is left without: the farm is taken by Bo's trial, the café excluded.
    assert out["summary"]["unassigned"] == 1
    assert out["summary"]["unassigned_reasons"][0]["code"] in ("excluded", "opening_full")
    r = api.get(f"/v1/candidates/{town['ada']}/ranking")
    reasons = {i["opening_id"]: i["reasons"] for i in r.json()["items"]}
    assert reasons[town["cafe"]] == ["excluded"]
    assert reasons[town["farm"]] == ["opening_full"]
    assert api.delete(f"/v1/pair-rules/{lock.json()['id']}").status_code == 204
    assert api.delete(f"/v1/pair-rules/{lock.json()['id']}").status_code == 404


def test_run_scope_and_bad_bodies(town):
    api = town["api"]
    r = api.post("/v1/matching-runs", {"kinds": ["nonsense"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kinds"
    r = api.post("/v1/matching-runs", {"candidate_ids": ["not-a-uuid"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "candidate_ids"
    out = run(api, {"kinds": ["vta"]})
    assert out["summary"]["inputs"]["openings"] == 0 and out["summary"]["assigned"] == 0
    assert out["scope"] == {"kinds": ["vta"]}
    assert api.get("/v1/matching-runs/0192b0c4-7e1a-7000-8000-000000000001").status_code == 404


def test_weights_defaults_changes_and_runs_keep_theirs(town, service):
    api, slug = town["api"], town["slug"]
    r = api.get("/v1/matching-weights")
    assert r.status_code == 200, r.text
    assert r.json()["defaults"]["wishes"] == 6 and r.json()["weights"] == r.json()["defaults"]
    assert api.patch("/v1/matching-weights", {"wishes": 8}).status_code == 403  # coordinator
    admin_api = service.api(issue_key(slug, "tenant_admin"))
    assert admin_api.patch("/v1/matching-weights", {"wishes": 101}).status_code == 422
    r = admin_api.patch("/v1/matching-weights", {"wishes": 8})
    assert r.status_code == 200, r.text
    assert r.json()["weights"]["wishes"] == 8 and r.json()["weights"]["skills"] == 3
    out = run(api, {"kinds": ["activity"]})
    assert out["weights"]["wishes"] == 8


def reasons_by_opening(api, cand):
    """The ranking's reasons per opening, asked four times, so each of the service's workers
    (and its cache) answers at least once in all likelihood; every answer must agree."""
    answers = []
    for _ in range(4):
        r = api.get(f"/v1/candidates/{cand}/ranking")
        assert r.status_code == 200, r.text
        answers.append({i["opening_id"]: i["reasons"] for i in r.json()["items"]})
    assert all(a == answers[0] for a in answers), answers
    return answers[0]


def test_ranking_sees_a_change_to_an_opening_a_match_or_a_pair_rule_at_once(service, db):
    town = new_tenant(service)
    api, slug = town["api"], town["slug"]
    org = organization(api)
    ada = candidate(api, interests=["dyr"])
    bo = candidate(api, interests=["kaffe"])
    farm = opening(api, org, categories=["dyrepass"])
    cafe = opening(api, org, title="Kafé", categories=["kaffe"])
    assert reasons_by_opening(api, ada) == {farm: [], cafe: []}
    r = api.patch(f"/v1/openings/{farm}", {"active": False})
    assert r.status_code == 200, r.text
    assert reasons_by_opening(api, ada) == {farm: ["opening_inactive"], cafe: []}
    with db.cursor() as cur:  # Bo takes the café's one place
        cur.execute(f'INSERT INTO "t_{slug}".matches (id, candidate_id, opening_id, status) '
                    f'VALUES (%s, %s, %s, %s)', (str(uuid.uuid4()), bo, cafe, "presented"))
    assert reasons_by_opening(api, ada) == {farm: ["opening_inactive"], cafe: ["opening_full"]}
    r = api.patch(f"/v1/openings/{farm}", {"active": True})
    assert r.status_code == 200, r.text
    r = api.post("/v1/pair-rules", {"candidate_id": ada, "opening_id": farm, "rule": "exclude",
                                    "reason": "Allergisk"})
    assert r.status_code == 201, r.text
    assert reasons_by_opening(api, ada) == {farm: ["excluded"], cafe: ["opening_full"]}


def test_a_candidates_matches_come_best_first_and_page_in_that_order(service, db):
    town = new_tenant(service)
    api, slug = town["api"], town["slug"]
    org = organization(api)
    ada = candidate(api)
    places = [opening(api, org, title=f"Plass {i}") for i in range(4)]
    scores = [2.5, 7.0, None, 7.0]
    ids = sorted(str(uuid.uuid4()) for _ in places)
    with db.cursor() as cur:
        for mid, o, s in zip(ids, places, scores):
            cur.execute(f'INSERT INTO "t_{slug}".matches (id, candidate_id, opening_id, score) '
                        f'VALUES (%s, %s, %s, %s)', (mid, ada, o, s))
    # Score descending, ties by id, a match without a score last.
    want = [ids[1], ids[3], ids[0], ids[2]]
    r = api.get(f"/v1/candidates/{ada}/matches")
    assert r.status_code == 200, r.text
    assert [m["id"] for m in r.json()["items"]] == want
    got, cursor = [], None
    while True:
        r = api.get(f"/v1/candidates/{ada}/matches",
                    params={"limit": 1, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        got += [m["id"] for m in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert got == want


def test_coordinates_are_read_written_validated_and_win_over_the_postal_code(service, db):
    town = new_tenant(service)
    api, slug = town["api"], town["slug"]
    org = organization(api)
    # Postal code 3510 is Hønefoss; the coordinates put her in Tromsø, far beyond 30 km.
    ada = candidate(api, max_travel_km=30, lat=69.6496, lon=18.956)
    r = api.get(f"/v1/candidates/{ada}")
    assert (r.json()["lat"], r.json()["lon"]) == (69.6496, 18.956)
    farm = opening(api, org, lat=60.168, lon=10.2565)
    assert api.get(f"/v1/openings/{farm}").json()["lat"] == 60.168
    r = api.get(f"/v1/openings/{farm}/ranking")
    assert [i["reasons"] for i in r.json()["items"]] == [["too_far"]]
    for body, field in (({"lat": 90.5}, "lat"), ({"lon": -181}, "lon"), ({"lat": "60"}, "lat")):
        r = api.patch(f"/v1/candidates/{ada}", body)
        assert r.status_code == 422 and r.headers["Content-Type"].startswith(
            "application/problem+json"), r.text
        assert [e["field"] for e in r.json()["errors"]] == [field]
        r = api.patch(f"/v1/openings/{farm}", body)
        assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == [field]
    r = api.patch(f"/v1/candidates/{ada}", {"lat": 60.17, "lon": 10.25})
    assert r.status_code == 200 and r.json()["lat"] == 60.17, r.text
    r = api.get(f"/v1/openings/{farm}/ranking")
    assert [i["reasons"] for i in r.json()["items"]] == [[]]
    assert r.json()["items"][0]["km"] < 2
    r = api.patch(f"/v1/openings/{farm}", {"lat": None, "lon": None})
    assert r.status_code == 200 and r.json()["lat"] is None
    r = service.api(issue_key(slug, "tenant_admin")).delete(f"/v1/candidates/{ada}")
    assert r.status_code in (200, 204), r.text
    with db.cursor() as cur:  # erasure takes the coordinates of a home with it
        cur.execute(f'SELECT lat, lon FROM "t_{slug}".candidates WHERE id = %s', (ada,))
        assert cur.fetchone() == (None, None)


def test_ranking_filters_on_both_sides(service):
    town = new_tenant(service)
    api = town["api"]
    org = organization(api)
    ada = candidate(api, interests=["dyr"], availability={"mon": ["day"]})
    bo = candidate(api, interests=["kaffe"], availability={"tue": ["evening"]},
                   postal_code="0150")
    farm = opening(api, org, categories=["dyrepass"], schedule={"mon": ["day"]})
    cafe = opening(api, org, kind="ordinary_job", title="Kafé", categories=["kaffe"],
                   schedule={"tue": ["evening"]}, postal_code="0150")

    def ids(path, key, **params):
        r = api.get(path, params=params)
        assert r.status_code == 200, r.text
        return [i[key] for i in r.json()["items"]]
    own = f"/v1/candidates/{ada}/ranking"
    assert sorted(ids(own, "opening_id")) == sorted([farm, cafe])
    assert ids(own, "opening_id", kind="ordinary_job") == [cafe]
    assert ids(own, "opening_id", weekday="mon") == [farm]
    assert ids(own, "opening_id", part="evening") == [cafe]
    assert ids(own, "opening_id", category="kaffe") == [cafe]
    assert ids(own, "opening_id", place="hønefoss") == [farm]
    assert ids(own, "opening_id", postal_code="0150") == [cafe]
    side = f"/v1/openings/{farm}/ranking"
    assert sorted(ids(side, "candidate_id")) == sorted([ada, bo])
    assert ids(side, "candidate_id", weekday="tue") == [bo]
    assert ids(side, "candidate_id", part="day") == [ada]
    assert ids(side, "candidate_id", interest="kaffe") == [bo]
    assert ids(side, "candidate_id", place="Oslo") == [bo]
    assert ids(side, "candidate_id", postal_code="3510") == [ada]
    assert ids(side, "candidate_id", within_km=10) == [ada]
    for path, params, field in ((own, {"place": "Atlantis"}, "place"),
                                (own, {"kind": "nonsense"}, "kind"),
                                (side, {"weekday": "someday"}, "weekday"),
                                (side, {"within_km": "-1"}, "within_km"),
                                (side, {"place": "Atlantis"}, "place")):
        r = api.get(path, params=params)
        assert r.status_code in (400, 422), r.text
        assert [e["field"] for e in r.json()["errors"]] == [field]


def reasons_by_candidate(api, opening_id):
    """The opening ranking's reasons per candidate, asked four times (see reasons_by_opening)."""
    answers = []
    for _ in range(4):
        r = api.get(f"/v1/openings/{opening_id}/ranking")
        assert r.status_code == 200, r.text
        answers.append({i["candidate_id"]: i["reasons"] for i in r.json()["items"]})
    assert all(a == answers[0] for a in answers), answers
    return answers[0]


def test_opening_ranking_sees_a_change_to_a_candidate_or_a_match_at_once(service, db):
    town = new_tenant(service)
    api, slug = town["api"], town["slug"]
    org = organization(api)
    ada = candidate(api, interests=["dyr"])
    bo = candidate(api, interests=["dyr"])
    farm = opening(api, org, categories=["dyrepass"])
    stable = opening(api, org, title="Stall", categories=["dyrepass"])
    assert reasons_by_candidate(api, farm) == {ada: [], bo: []}
    r = api.post(f"/v1/candidates/{bo}/status", {"to": "venter", "reason": "Venter på AAP"})
    assert r.status_code == 200, r.text
    assert reasons_by_candidate(api, farm) == {ada: [], bo: ["candidate_waiting"]}
    with db.cursor() as cur:  # Ada takes an activity elsewhere
        cur.execute(f'INSERT INTO "t_{slug}".matches (id, candidate_id, opening_id, status) '
                    f'VALUES (%s, %s, %s, %s)', (str(uuid.uuid4()), ada, stable, "trial"))
    assert reasons_by_candidate(api, farm) == {ada: ["kind_taken"], bo: ["candidate_waiting"]}
    r = service.api(issue_key(slug, "tenant_admin")).post(f"/v1/candidates/{ada}/restrict",
                                                          {"reason": "Begrenset behandling"})
    assert r.status_code == 200, r.text
    assert reasons_by_candidate(api, farm) == {bo: ["candidate_waiting"]}


def test_a_run_names_why_candidates_were_left_without(service):
    """The run checks a candidate with times of its own only against openings that share one;
    the summary still names each one's first refusal."""
    town = new_tenant(service)
    api = town["api"]
    org = organization(api)
    candidate(api, availability={"mon": ["day"]})
    candidate(api, availability={"mon": ["day"]}, accommodations=["rullestol"])
    opening(api, org, schedule={"tue": ["evening"]})
    out = run(api)
    assert out["summary"]["assigned"] == 0 and out["summary"]["unassigned"] == 2
    assert sorted((r["code"], r["count"]) for r in out["summary"]["unassigned_reasons"]) == [
        ("accommodation_missing", 1), ("schedule_no_overlap", 1)]


def test_a_run_solves_every_kind_and_sums_them(service, db):
    """Kinds are solved apart (on two threads): a candidate open to one opening of each kind
    is proposed one of every kind, and the run's total is the sum of the stored scores."""
    town = new_tenant(service)
    api, slug = town["api"], town["slug"]
    org = organization(api)
    ada = candidate(api, interests=["dyr"])
    kinds = ["work_trial", "vta", "vta_o", "vto", "ordinary_job", "activity", "volunteer_role"]
    made = {opening(api, org, kind=k, categories=["dyrepass"]): k for k in kinds}
    out = run(api)
    s = out["summary"]
    assert s["inputs"]["eligible_pairs"] == len(kinds)
    assert s["assigned"] == len(kinds) and s["unassigned"] == 0
    got = [(c, o) for c, o, st, rid in proposals(db, slug) if rid == out["id"]]
    assert sorted(made[o] for c, o in got) == sorted(kinds) and {c for c, o in got} == {ada}
    with db.cursor() as cur:
        cur.execute(f'SELECT sum(score)::numeric(10,3) FROM "t_{slug}".matches WHERE run_id = %s',
                    (out["id"],))
        assert abs(float(cur.fetchone()[0]) - s["total_score"]) < 0.01


def test_ranking_pages_follow_the_whole_order(service):
    """A page is ordered only up to its end: paged by cursor, a candidate's ranking gives every
    opening once, in the order of the whole list (eligible first, score descending, then id)."""
    town = new_tenant(service)
    api = town["api"]
    org = organization(api)
    ada = candidate(api, interests=["dyr", "kaffe"], skills=["lager"])
    cats = [["dyrepass"], ["kaffe"], ["dyrepass", "kaffe"], ["lager"], ["snekring"],
            ["kaffe", "lager"]]
    codes = ["3510", "3511", "3512", "3513", "3514", "3515", "3516", "3517", "3518", "3519"]
    made = []
    for i in range(14):
        made.append(opening(api, org, title=f"Plass {i}", categories=cats[i % len(cats)],
                            postal_code=codes[i % len(codes)]))
    for oid in made[:3]:
        assert api.patch(f"/v1/openings/{oid}", {"active": False}).status_code == 200
    r = api.get(f"/v1/candidates/{ada}/ranking", params={"limit": 200})
    assert r.status_code == 200, r.text
    whole = r.json()["items"]
    assert len(whole) == 14 and r.json()["next_cursor"] is None

    def key(i):
        return (not i["eligible"], -(i["score"] or 0), i["opening_id"])
    assert [key(i) for i in whole] == sorted(key(i) for i in whole)
    assert len({i["score"] for i in whole if i["eligible"]}) > 3  # the order is not all ties
    paged, cursor = [], None
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        r = api.get(f"/v1/candidates/{ada}/ranking", params=params)
        assert r.status_code == 200, r.text
        paged += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert paged == whole


def test_candidate_ranking_reads_its_matches_rules_and_hits(service, db):
    """The candidate's own matches and pair rules (read with the candidate in one statement)
    refuse what they should, and an opening's hits are found for the candidate at once: an
    interest named in the tasks scores and is explained."""
    town = new_tenant(service)
    api, slug = town["api"], town["slug"]
    org = organization(api)
    ada = candidate(api, interests=["dyr"])
    farm = opening(api, org, categories=["dyrepass"])
    stable = opening(api, org, title="Stall", categories=["hest"])
    shop = opening(api, org, kind="ordinary_job", title="Butikk", tasks="Stell av dyr",
                   categories=["lager"])
    cafe = opening(api, org, kind="volunteer_role", title="Kafé", categories=["kaffe"])
    assert reasons_by_opening(api, ada) == {farm: [], stable: [], shop: [], cafe: []}
    with db.cursor() as cur:
        cur.execute(f'INSERT INTO "t_{slug}".matches (id, candidate_id, opening_id, status) '
                    f'VALUES (%s, %s, %s, %s), (%s, %s, %s, %s)',
                    (str(uuid.uuid4()), ada, stable, "trial",
                     str(uuid.uuid4()), ada, cafe, "declined"))
    assert reasons_by_opening(api, ada) == {farm: ["kind_taken"],
                                            stable: ["opening_full", "kind_taken"],
                                            shop: [], cafe: ["ended_before"]}
    r = api.get(f"/v1/candidates/{ada}/ranking", params={"eligible": "true"})
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert item["opening_id"] == shop
    assert item["parts"]["interests"] == 2.0
    assert "Liker dyr – passer med oppgavene" in [e["text"] for e in item["explanation"]]
    r = api.post("/v1/pair-rules", {"candidate_id": ada, "opening_id": shop, "rule": "exclude",
                                    "reason": "Allergisk"})
    assert r.status_code == 201, r.text
    assert reasons_by_opening(api, ada)[shop] == ["excluded"]


def test_opening_ranking_reads_its_pairs_and_each_candidates_wishes(service, db):
    """The opening's matches and pair rules (read with the opening in one statement) refuse
    their candidates, and a candidate's stated wishes are read against the opening's
    categories for its pair: they score and are explained."""
    town = new_tenant(service)
    api, slug = town["api"], town["slug"]
    org = organization(api)
    ada = candidate(api, interests=["dyr"])
    bo = candidate(api, interests=["dyr"])
    cleo = candidate(api, interests=["dyr"])
    farm = opening(api, org, categories=["dyrepass"], capacity=3)
    with db.cursor() as cur:
        cur.execute(f'INSERT INTO "t_{slug}".assessments (id, candidate_id, wishes, created_by) '
                    f'VALUES (%s, %s, %s, %s)',
                    (str(uuid.uuid4()), ada, "Vil helst drive med dyrepass", "test"))
        cur.execute(f'INSERT INTO "t_{slug}".matches (id, candidate_id, opening_id, status) '
                    f'VALUES (%s, %s, %s, %s)', (str(uuid.uuid4()), bo, farm, "declined"))
    r = api.post("/v1/pair-rules", {"candidate_id": cleo, "opening_id": farm, "rule": "exclude",
                                    "reason": "Allergisk"})
    assert r.status_code == 201, r.text
    assert reasons_by_candidate(api, farm) == {ada: [], bo: ["ended_before"], cleo: ["excluded"]}
    r = api.get(f"/v1/openings/{farm}/ranking", params={"eligible": "true"})
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert item["candidate_id"] == ada and item["parts"]["wishes"] == 6.0
    assert "Ønsker selv dyrepass" in [e["text"] for e in item["explanation"]]
