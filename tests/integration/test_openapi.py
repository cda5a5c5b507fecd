"""The OpenAPI document: served at GET /v1/openapi.json, the same routes and roles as the
gateway's route table (brobygger-gateway --routes), problem+json for every error an operation
can give, and real responses that fit the schemas it documents."""
import json
import os
import re
import subprocess
import sys

import jsonschema
import pytest
import requests

from conftest import BUILD, suffix

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
YAML = os.path.join(ROOT, "schemas", "openapi.yaml")
GENERATOR = os.path.join(ROOT, "schemas", "gen_surface.py")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ALL_ROLES = {"platform_admin", "tenant_admin", "coordinator", "partner", "reader"}
PROBLEM = "#/components/schemas/Problem"


@pytest.fixture(scope="module")
def doc(service):
    r = requests.get(service.base + "/v1/openapi.json", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def routes():
    """{(METHOD, pattern): (kind, set of roles)} from the gateway's own table."""
    p = subprocess.run([os.path.join(BUILD, "brobygger-gateway"), "--routes"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    table = {}
    for line in p.stdout.splitlines():
        method, pattern, kind, roles = line.split("\t")
        assert (method, pattern) not in table, f"route listed twice: {method} {pattern}"
        table[(method, pattern)] = (kind, set() if roles == "-" else set(roles.split(",")))
    assert table, "--routes printed nothing"
    return table


def operations(doc):
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item, item[method]


def resolve(doc, node):
    """Follows $ref chains within the document."""
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def validate(doc, schema, value, what):
    """Validates value against a schema of the document (refs resolve within it)."""
    root = {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": doc["components"], **schema}
    errors = sorted(jsonschema.Draft202012Validator(root).iter_errors(value), key=str)
    assert not errors, f"{what}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:5])


def assert_documented(doc, method, pattern, r, request_body=None):
    """The response r of METHOD pattern has a documented status, content type and schema; the
    request body sent, if any, fits the documented request schema."""
    op = doc["paths"][pattern][method.lower()]
    if request_body is not None:
        schema = resolve(doc, op["requestBody"])["content"]["application/json"]["schema"]
        validate(doc, schema, request_body, f"request of {method} {pattern}")
    responses = op["responses"]
    assert str(r.status_code) in responses, \
        f"{method} {pattern} answered {r.status_code}, documented: {sorted(responses)}"
    spec = resolve(doc, responses[str(r.status_code)])
    for header in spec.get("headers", {}):
        assert header in r.headers or header == "WWW-Authenticate", \
            f"{method} {pattern} {r.status_code}: documented header {header} missing"
    if not r.content:
        assert "content" not in spec, f"{method} {pattern} {r.status_code}: body expected"
        return
    ctype = r.headers["Content-Type"].split(";")[0].strip()
    assert ctype in spec.get("content", {}), \
        f"{method} {pattern} {r.status_code}: {ctype} not documented"
    validate(doc, spec["content"][ctype]["schema"], r.json(),
             f"{method} {pattern} {r.status_code}")


# ---- the document itself ----------------------------------------------------------------------

def test_document_is_served_as_json_without_a_key(service):
    r = requests.get(service.base + "/v1/openapi.json", headers={"X-Request-Id": "oa-1"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["X-Request-Id"] == "oa-1"
    assert re.fullmatch(r'"[0-9a-f]{32}"', r.headers["ETag"]), r.headers["ETag"]
    body = json.loads(r.content)
    assert re.fullmatch(r"3\.\d+\.\d+", body["openapi"])
    assert body["paths"] and body["components"]["schemas"]["Problem"]


def test_if_none_match_with_the_etag_is_304(service):
    etag = requests.get(service.base + "/v1/openapi.json").headers["ETag"]
    r = requests.get(service.base + "/v1/openapi.json", headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""
    assert r.headers["ETag"] == etag
    r = requests.get(service.base + "/v1/openapi.json", headers={"If-None-Match": f"W/{etag}"})
    assert r.status_code == 304
    r = requests.get(service.base + "/v1/openapi.json", headers={"If-None-Match": '"other"'})
    assert r.status_code == 200 and r.json()["openapi"]


def test_served_document_is_the_yaml_in_the_repository(doc):
    # The gateway was built from the document as it is now, converted without loss.
    sys.path.insert(0, os.path.dirname(GENERATOR))
    try:
        import gen_surface
    finally:
        sys.path.pop(0)
    assert doc == gen_surface.served(gen_surface.load(YAML))


def test_schemas_are_valid_and_references_resolve(doc):
    for schema in doc["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)

    def walk(node, where):
        if isinstance(node, dict):
            if "$ref" in node:
                assert node["$ref"].startswith("#/"), f"{where}: {node['$ref']}"
                try:
                    resolve(doc, {"$ref": node["$ref"]})
                except KeyError:
                    pytest.fail(f"{where}: {node['$ref']} names nothing")
            for k, v in node.items():
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")
    walk(doc, "#")


# ---- the document and the route table -------------------------------------------------------

def test_documented_routes_are_exactly_the_served_routes(doc, routes):
    documented = {(m, p) for m, p, _, _ in operations(doc)}
    served = set(routes)
    missing = sorted(served - documented)
    not_served = sorted(documented - served)
    message = []
    if missing:
        message.append("missing from the document:\n  " +
                       "\n  ".join(f"{m} {p}" for m, p in missing))
    if not_served:
        message.append("documented but not served:\n  " +
                       "\n  ".join(f"{m} {p}" for m, p in not_served))
    assert not message, "\n".join(message)


def test_roles_match_the_route_table(doc, routes):
    wrong = []
    for method, path, _, op in operations(doc):
        if (method, path) not in routes:
            continue  # reported by the test above
        _, roles = routes[(method, path)]
        documented = set(op["x-roles"])
        if documented != roles:
            wrong.append(f"{method} {path}: x-roles {sorted(documented)}, table {sorted(roles)}")
        keyless = op.get("security", doc["security"]) == []
        if keyless != (not roles):
            wrong.append(f"{method} {path}: security {'none' if keyless else 'a key'}, "
                         f"table {'no key' if not roles else 'a key'}")
    assert not wrong, "\n".join(wrong)


def test_every_operation_documents_its_errors_as_problems(doc):
    wrong = []
    for method, path, item, op in operations(doc):
        where = f"{method} {path}"
        params = [resolve(doc, p) for p in item.get("parameters", []) + op.get("parameters", [])]
        expected = set()
        if op["x-roles"]:
            expected.add("401")
            if set(op["x-roles"]) != ALL_ROLES:
                expected.add("403")
        if "{" in path:
            expected.add("404")
        if "requestBody" in op or any(p["in"] == "query" for p in params):
            expected.add("422")
        if any(p["name"] == "If-Match" for p in params):
            expected.add("412")
        for status in sorted(expected - set(op["responses"])):
            wrong.append(f"{where}: no {status} response")
        for status, resp in op["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            content = resolve(doc, resp).get("content", {})
            schema = content.get("application/problem+json", {}).get("schema", {})
            if schema.get("$ref") != PROBLEM or set(content) != {"application/problem+json"}:
                wrong.append(f"{where}: {status} is not application/problem+json with {PROBLEM}")
    assert not wrong, "\n".join(wrong)


def test_conventions_are_documented_per_operation(doc):
    wrong = []
    for method, path, item, op in operations(doc):
        where = f"{method} {path}"
        names = {resolve(doc, p)["name"] for p in item.get("parameters", []) +
                 op.get("parameters", [])}
        if "X-Request-Id" not in names:
            wrong.append(f"{where}: no X-Request-Id parameter")
        if method == "POST" and "Idempotency-Key" not in names:
            wrong.append(f"{where}: no Idempotency-Key parameter")
        if method == "PATCH" and "If-Match" not in names:
            wrong.append(f"{where}: no If-Match parameter")
        ok = [s for s in op["responses"] if s.startswith("2")]
        schemas = [media["schema"] for s in ok
                   for media in resolve(doc, op["responses"][s]).get("content", {}).values()]
        page = any(resolve(doc, schema).get("required") == ["items", "next_cursor"]
                   for schema in schemas)
        if page and not {"limit", "cursor"} <= names:
            wrong.append(f"{where}: a list without limit and cursor")
        if op.get("x-async") and "202" not in op["responses"]:
            wrong.append(f"{where}: asynchronous without 202")
        for status in ok:
            if "X-Request-Id" not in resolve(doc, op["responses"][status]).get("headers", {}):
                wrong.append(f"{where}: {status} without the X-Request-Id header")
    assert not wrong, "\n".join(wrong)


# ---- real responses fit the document ---------------------------------------------------------

def test_operations_answer_as_documented(service, tenants, doc):
    base = service.base
    coordinator = service.api(tenants["a"]["coordinator"])
    platform = service.api(tenants["platform"])
    reader = service.api(tenants["a"]["reader"])

    assert_documented(doc, "GET", "/healthz", requests.get(base + "/healthz"))
    assert_documented(doc, "GET", "/readyz", requests.get(base + "/readyz"))
    assert_documented(doc, "GET", "/v1/me", coordinator.get("/v1/me"))
    assert_documented(doc, "GET", "/v1/me", requests.get(base + "/v1/me"))  # 401

    body = {"given_name": "Åse", "family_name": "Dokumentert", "birth_year": 1990,
            "postal_code": "3510", "income_basis": "uforetrygd", "interests": ["hage"],
            "availability": {"mon": ["day"]}, "needs_transport": True}
    r = coordinator.post("/v1/candidates", body)
    assert r.status_code == 201, r.text
    assert_documented(doc, "POST", "/v1/candidates", r, body)
    cid = r.json()["id"]
    r = coordinator.get(f"/v1/candidates/{cid}")
    assert_documented(doc, "GET", "/v1/candidates/{id}", r)
    assert r.headers["ETag"] == r.json()["etag"]
    assert_documented(doc, "GET", "/v1/candidates", coordinator.get("/v1/candidates",
                                                                    params={"limit": 2}))
    bad = {"given_name": "", "birth_year": 1800}
    r = coordinator.post("/v1/candidates", bad)
    assert r.status_code == 422
    assert_documented(doc, "POST", "/v1/candidates", r)
    assert_documented(doc, "GET", "/v1/candidates/{id}",
                      coordinator.get("/v1/candidates/00000000-0000-7000-8000-000000000000"))
    assert_documented(doc, "GET", "/v1/candidates/{id}", reader.get(f"/v1/candidates/{cid}"))
    assert_documented(doc, "GET", "/v1/candidates",
                      coordinator.get("/v1/candidates", params={"limit": "0"}))

    assert_documented(doc, "GET", "/v1/admin/tenants", platform.get("/v1/admin/tenants"))
    assert_documented(doc, "GET", "/v1/admin/queues", platform.get("/v1/admin/queues"))
    assert_documented(doc, "GET", "/v1/admin/workers", platform.get("/v1/admin/workers"))
    key = {"role": "reader", "label": "dokumentasjon " + suffix()}
    r = service.api(tenants["a"]["tenant_admin"]).post("/v1/keys", key)
    assert_documented(doc, "POST", "/v1/keys", r, key)
    r = service.api(tenants["a"]["tenant_admin"]).delete(f"/v1/keys/{r.json()['id']}")
    assert_documented(doc, "DELETE", "/v1/keys/{key_id}", r)
    assert_documented(doc, "GET", "/v1/keys", service.api(tenants["a"]["tenant_admin"]).get(
        "/v1/keys", params={"limit": 5}))
    r = platform.post(f"/v1/admin/tenants/{tenants['b']['slug']}/keys", key)
    assert_documented(doc, "POST", "/v1/admin/tenants/{slug}/keys", r, key)


# ---- the build refuses a broken document ----------------------------------------------------

@pytest.mark.parametrize("text, complaint", [
    ("openapi: 3.1.0\ninfo: {title: x\n", "not valid YAML"),
    ("openapi: 3.1.0\ninfo: {title: x}\npaths:\n  /a: {}\n  /a: {}\n", "twice"),
    ("openapi: 3.1.0\ninfo: {title: x}\npaths:\n  /a:\n    get:\n      operationId: a\n"
     "      x-roles: []\n      responses: {'200': {$ref: '#/components/responses/Nope'}}\n",
     "names nothing"),
    ("openapi: 3.1.0\ninfo: {title: x}\npaths:\n  /a:\n    get:\n      operationId: a\n"
     "      x-roles: []\n      description: {text: one, two}\n      responses: {'200': {}}\n",
     "broken value"),
    ("openapi: 2.0\ninfo: {title: x}\npaths: {}\n", "3.x.y"),
])
def test_generator_refuses_a_broken_document(tmp_path, text, complaint):
    src = tmp_path / "openapi.yaml"
    src.write_text(text)
    out = tmp_path / "generated"
    p = subprocess.run([sys.executable, GENERATOR, str(src), str(out)], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1, p.stderr
    assert str(src) in p.stderr and complaint in p.stderr, p.stderr
    assert not out.exists()
