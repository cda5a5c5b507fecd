"""Every route that reads or changes one candidate's records writes exactly one audit row for
it: a change in its own statement, a read through the record that travels with its reply (then
the row is there once the janitor has moved it). Who (key id, role), what (the route's pattern
and job kind, the candidate), and the request id. Driven by the gateway's route table, so a route added under
/v1/candidates/{id} later is swept without being listed here."""
import os

import psycopg2
import pytest

from conftest import audit_moved, suffix, uuid7
from test_every_route import BODIES, call, fill, routes

CANDIDATE_ROUTES = [(m, p, k, r) for m, p, k, r in routes()
                    if p.startswith("/v1/candidates/{id}")]


def one_of_everything(api, slug):
    """A candidate with an assessment, a consent, a plan and a journal entry (rows written
    directly, so the sweep does not depend on the routes it checks)."""
    r = api.post("/v1/candidates", {"given_name": "Revidert", "family_name": "R-" + suffix()})
    assert r.status_code == 201, r.text
    ids = {"id": r.json()["id"], "assessments": uuid7(), "consents": uuid7(), "plans": uuid7(),
           "journal": uuid7()}
    conn = psycopg2.connect(os.environ["BROBYGGER_PG_ADMIN"])
    conn.autocommit = True
    s = f'"t_{slug}"'
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO {s}.assessments (id, candidate_id, resources, created_by) "
                    "VALUES (%s, %s, 'x', 'test')", (ids["assessments"], ids["id"]))
        cur.execute(f"INSERT INTO {s}.consents (id, candidate_id, scope, given_at, method, "
                    "recorded_by) VALUES (%s, %s, ARRAY['share_nav'], current_date, "
                    "'skriftlig', 'test')", (ids["consents"], ids["id"]))
        cur.execute(f"INSERT INTO {s}.plans (id, candidate_id, created_by) VALUES (%s, %s, "
                    "'test')", (ids["plans"], ids["id"]))
        cur.execute(f"INSERT INTO {s}.journal (id, candidate_id, kind, text, occurred_at, "
                    "author_key_id, author_role) VALUES (%s, %s, 'notat', 'x', now(), 'test', "
                    "'coordinator')", (ids["journal"], ids["id"]))
    conn.close()
    return ids


@pytest.mark.parametrize("method,pattern,kind,roles", CANDIDATE_ROUTES,
                         ids=[f"{m} {p}" for m, p, _, _ in CANDIDATE_ROUTES])
def test_every_candidate_route_writes_one_audit_row(service, tenants, db, rds, method, pattern,
                                                    kind, roles):
    role = "coordinator" if "coordinator" in roles else "tenant_admin"
    key = tenants["a"][role]
    api = service.api(key)
    slug = tenants["a"]["slug"]
    ids = one_of_everything(service.api(tenants["a"]["coordinator"]), slug)
    if pattern.endswith("/unrestrict"):
        with db.cursor() as cur:
            cur.execute(f'UPDATE "t_{slug}".candidates SET restricted = true WHERE id = %s',
                        (ids["id"],))
    values = {"id": ids["id"]}
    if "{sub_id}" in pattern:
        values["sub_id"] = ids[pattern.split("/")[4]]
    request_id = "audit-" + suffix(12)
    api.s.headers["X-Request-Id"] = request_id
    r = call(api, method, fill(pattern, values), BODIES.get((method, pattern)))
    assert 200 <= r.status_code < 300, r.text
    audit_moved(rds)
    with db.cursor() as cur:
        cur.execute(f'SELECT key_id, role, action, route, candidate_id::text FROM '
                    f'"t_{slug}".audit_log WHERE request_id = %s', (request_id,))
        rows = cur.fetchall()
    assert rows == [(key[4:12], role, kind, f"{method} {pattern}", ids["id"])]
