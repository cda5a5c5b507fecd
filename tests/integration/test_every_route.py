"""Sweeps driven by the gateway's own route table (`brobygger-gateway --routes`), so a route
added later is covered without anyone remembering to: every role a route does not allow gets
403, and every route that names a resource answers 404 to another tenant and changes nothing
in the tenant that owns it."""
import os
import subprocess
import sys
import uuid

import pytest

from conftest import BUILD, issue_key, suffix, uuid7

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")

TENANT_ROLES = ("tenant_admin", "coordinator", "partner", "reader")

def bodies():
    """{(method, pattern): body} from the examples schemas/openapi.yaml gives every JSON request
    body (the generator refuses a body route without one): a body the route would accept, so a
    404 cannot be a validation error in disguise."""
    sys.path.insert(0, os.path.join(ROOT, "schemas"))
    try:
        import gen_surface
    finally:
        sys.path.pop(0)
    doc = gen_surface.load(os.path.join(ROOT, "schemas", "openapi.yaml"))
    out = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            media = op.get("requestBody", {}).get("content", {}).get("application/json") \
                if isinstance(op, dict) else None
            if media:
                out[(method.upper(), path)] = media["example"]
    return out


BODIES = bodies()


def routes():
    out = subprocess.run([os.path.join(BUILD, "brobygger-gateway"), "--routes"],
                         capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        method, pattern, kind, roles = line.split("\t")
        rows.append((method, pattern, kind, set() if roles == "-" else set(roles.split(","))))
    return rows


@pytest.fixture(scope="module")
def keys(service, tenants):
    slug = tenants["a"]["slug"]
    # a partner key names an organisation of its own tenant
    org = service.api(tenants["a"]["coordinator"]).post(
        "/v1/organizations", {"name": "Sveip " + suffix(), "kind": "employer"})
    assert org.status_code == 201, org.text
    return {**{r: tenants["a"][r] for r in ("tenant_admin", "coordinator", "reader")},
            "partner": issue_key(slug, "partner", org=org.json()["id"]),
            "platform_admin": tenants["platform"]}


def fill(pattern, values):
    path = pattern
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def call(api, method, path, body):
    if method == "GET":
        return api.get(path)
    if method == "DELETE":
        return api.delete(path)
    if method == "PATCH":
        return api.patch(path, body if body is not None else {})
    return api.post(path, body) if body is not None else api.s.post(api.base + path, timeout=20)


def test_every_route_refuses_the_roles_it_does_not_allow(service, keys):
    checked = 0
    for method, pattern, kind, roles in routes():
        if not roles:
            continue
        path = fill(pattern, {"id": str(uuid.uuid4()), "sub_id": str(uuid.uuid4()),
                              "slug": "nowhere", "key_id": "AAAAAAAA",
                              "session_id": "AAAAAAAA", "dead_id": "records:1-0"})
        for role, key in keys.items():
            if role in roles:
                continue
            r = call(service.api(key), method, path, BODIES.get((method, pattern), {}))
            assert r.status_code == 403, f"{role} on {method} {pattern}: {r.status_code} {r.text}"
            checked += 1
    assert checked > 40


@pytest.fixture(scope="module")
def owned(service, tenants):
    """One of every resource in tenant a, made through the database so the sweep does not
    depend on the routes it tests."""
    import psycopg2
    coord = service.api(tenants["a"]["coordinator"])
    r = coord.post("/v1/candidates", {"given_name": "Eier", "family_name": "Av-" + suffix()})
    assert r.status_code == 201
    cand = r.json()["id"]
    ids = {name: uuid7() for name in
           ("assessment", "consent", "plan", "journal", "organization", "opening", "match", "job",
            "webhook", "delivery", "report", "project", "run", "pair_rule")}
    s = f'"t_{tenants["a"]["slug"]}"'
    conn = psycopg2.connect(os.environ["BROBYGGER_PG_ADMIN"])
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO {s}.assessments (id, candidate_id, resources, created_by) "
                    f"VALUES (%s, %s, 'x', 'test')", (ids["assessment"], cand))
        cur.execute(f"INSERT INTO {s}.consents (id, candidate_id, scope, given_at, method, "
                    f"recorded_by) VALUES (%s, %s, ARRAY['share_nav'], current_date, "
                    f"'skriftlig', 'test')", (ids["consent"], cand))
        cur.execute(f"INSERT INTO {s}.plans (id, candidate_id, created_by) VALUES (%s, %s, "
                    f"'test')", (ids["plan"], cand))
        cur.execute(f"INSERT INTO {s}.journal (id, candidate_id, kind, text, occurred_at, "
                    f"author_key_id, author_role) VALUES (%s, %s, 'notat', 'x', now(), 'test', "
                    f"'coordinator')", (ids["journal"], cand))
        cur.execute(f"INSERT INTO {s}.organizations (id, name, kind, created_by) VALUES "
                    f"(%s, 'Eierbedrift', 'employer', 'test')", (ids["organization"],))
        cur.execute(f"INSERT INTO {s}.openings (id, organization_id, kind, title, created_by) "
                    f"VALUES (%s, %s, 'work_trial', 'Eierplass', 'test')",
                    (ids["opening"], ids["organization"]))
        cur.execute(f"INSERT INTO {s}.matches (id, candidate_id, opening_id) VALUES (%s, %s, %s)",
                    (ids["match"], cand, ids["opening"]))
        cur.execute(f"INSERT INTO {s}.jobs (id, kind, created_by) VALUES (%s, 'import', 'test')",
                    (ids["job"],))
        cur.execute(f"INSERT INTO {s}.webhook_endpoints (id, url, events, active, secret, "
                    f"created_by) VALUES (%s, 'https://example.no/h', ARRAY['report.ready'], "
                    f"false, '\\x00', 'test')",
                    (ids["webhook"],))
        cur.execute(f"INSERT INTO {s}.webhook_deliveries (id, endpoint_id, event_id, event, "
                    f"payload, event_at, status) VALUES (%s, %s, %s, 'report.ready', '{{}}', now(), "
                    f"'failed')", (ids["delivery"], ids["webhook"], uuid7()))
        cur.execute(f"INSERT INTO {s}.reports (id, type, period, period_from, period_to, format, "
                    f"created_by) VALUES (%s, 'pipeline', '2026', '2026-01-01', '2026-12-31', "
                    f"'json', 'test')", (ids["report"],))
        cur.execute(f"INSERT INTO {s}.projects (id, name, created_by) VALUES (%s, 'Eierprosjekt', "
                    f"'test')", (ids["project"],))
        cur.execute(f"INSERT INTO {s}.project_participants (project_id, candidate_id, added_by) "
                    f"VALUES (%s, %s, 'test')", (ids["project"], cand))
        cur.execute(f"INSERT INTO {s}.jobs (id, kind, created_by) VALUES (%s, 'matching.run', "
                    f"'test')", (ids["run"],))
        cur.execute(f"INSERT INTO {s}.pair_rules (id, candidate_id, opening_id, rule, key_id, role) "
                    f"VALUES (%s, %s, %s, 'lock', 'test', 'coordinator')",
                    (ids["pair_rule"], cand, ids["opening"]))
        # web: a staff user and a session of theirs
        ids["user"] = uuid7()
        cur.execute(f"INSERT INTO {s}.users (id, name, email, role) VALUES (%s, 'Eier',"
                    f" %s, 'coordinator')", (ids["user"], f"eier{suffix()}@test.no"))
        ids["session_id"] = "S" + suffix(7)
        cur.execute("INSERT INTO platform.sessions (id, secret_sha256, tenant, user_id, role,"
                    " expires_at) VALUES (%s, repeat('0', 64), %s, %s, 'coordinator',"
                    " now() + interval '1 hour')",
                    (ids["session_id"], tenants["a"]["slug"], ids["user"]))
    conn.close()
    key = issue_key(tenants["a"]["slug"], "reader")
    return {"candidate": cand, **ids, "key_id": key[4:12], "schema": s}


def params_for(pattern, owned):
    """The path parameters naming tenant a's resource of the kind the route serves."""
    if "{slug}" in pattern:
        return None
    if pattern.startswith("/v1/candidates/{id}"):
        subs = {"assessments": "assessment", "consents": "consent", "plans": "plan",
                "journal": "journal"}
        values = {"id": owned["candidate"]}
        if "{sub_id}" in pattern:
            values["sub_id"] = owned[subs[pattern.split("/")[4]]]
        return values
    resource = {"organizations": "organization", "openings": "opening", "matches": "match",
                "imports": "job", "jobs": "job", "reports": "report", "projects": "project",
                "matching-runs": "run", "pair-rules": "pair_rule", "users": "user"}
    if pattern.startswith("/v1/projects/{id}/participants/{sub_id}"):
        return {"id": owned["project"], "sub_id": owned["candidate"]}
    if "{key_id}" in pattern:
        return {"key_id": owned["key_id"]}
    if "{session_id}" in pattern:
        return {"session_id": owned["session_id"]}
    if pattern.startswith("/v1/webhooks/{id}"):
        return {"id": owned["webhook"], **({"sub_id": owned["delivery"]} if "{sub_id}" in pattern
                                           else {})}
    name = pattern.split("/")[2]
    assert name in resource, f"add {pattern} to test_every_route.params_for"
    return {"id": owned[resource[name]]}


def counts(db, schema):
    with db.cursor() as cur:
        cur.execute(f"SELECT (SELECT count(*) FROM {schema}.audit_log), "
                    f"(SELECT count(*) FROM {schema}.outbox), "
                    f"(SELECT coalesce(sum(version), 0) FROM {schema}.candidates), "
                    f"(SELECT count(*) FROM {schema}.consents WHERE withdrawn_at IS NULL), "
                    f"(SELECT coalesce(sum(version), 0) FROM {schema}.projects), "
                    f"(SELECT count(*) FROM {schema}.project_participants)")
        return cur.fetchone()


def test_every_route_naming_a_resource_is_404_to_another_tenant(service, tenants, owned, db):
    before = counts(db, owned["schema"])
    checked = 0
    for method, pattern, kind, roles in routes():
        if "{" not in pattern or not roles & {"tenant_admin", "coordinator"}:
            continue
        values = params_for(pattern, owned)
        if values is None:
            continue
        body = BODIES.get((method, pattern))
        assert method in ("GET", "DELETE") or body is not None or pattern.endswith(("unrestrict", "/ping", "/retry")), \
            f"{method} {pattern} takes a body but schemas/openapi.yaml gives it no example"
        role = "coordinator" if "coordinator" in roles else "tenant_admin"
        r = call(service.api(tenants["b"][role]), method, fill(pattern, values), body)
        assert r.status_code == 404, f"{method} {pattern}: {r.status_code} {r.text}"
        checked += 1
    assert checked >= 10
    assert counts(db, owned["schema"]) == before
    # the key of tenant a that tenant b tried to revoke still works
    with db.cursor() as cur:
        cur.execute("SELECT revoked_at IS NULL FROM platform.api_keys WHERE id = %s",
                    (owned["key_id"],))
        assert cur.fetchone()[0]
        cur.execute("SELECT revoked_at IS NULL FROM platform.sessions WHERE id = %s",
                    (owned["session_id"],))
        assert cur.fetchone()[0]
