"""Unit tests of schemas/gen_surface.py: what it generates from small documents, what it
refuses, and that the repository's own document yields a row for every operation."""
import copy
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
GENERATOR = os.path.join(ROOT, "schemas", "gen_surface.py")
sys.path.insert(0, os.path.dirname(GENERATOR))
import gen_surface  # noqa: E402
sys.path.pop(0)

OK = {"200": {"description": "ok"}}


def document():
    """A small valid document: a local route, a worker route with a body, an internal job."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "x-jobs": [{"kind": "auth.resolve", "queue": "records",
                    "handler": "bro_platform_auth_resolve", "flags": ["platform", "readonly"]}],
        "paths": {
            "/healthz": {"get": {"operationId": "health", "x-roles": [],
                                 "x-local": "bro_admin_healthz", "responses": OK}},
            "/v1/things/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "patch": {"operationId": "patchThing", "x-roles": ["coordinator", "reader"],
                          "x-job": {"kind": "thing.update", "queue": "records",
                                    "handler": "bro_things_update"},
                          "requestBody": {"content": {"application/json": {
                              "schema": {"$ref": "#/components/schemas/ThingPatch"},
                              "example": {"name": "x"}}}},
                          "responses": OK},
                "delete": {"operationId": "dropThing", "x-roles": ["tenant_admin"],
                           "x-job": {"kind": "thing.drop", "queue": "notify",
                                     "handler": "bro_things_drop", "flags": ["changes-keys"]},
                           "responses": OK},
            },
        },
        "components": {"schemas": {
            "Colour": {"type": "string", "enum": ["red", "blue"]},
            "ThingPatch": {"type": "object", "additionalProperties": False,
                           "required": ["name"],
                           "properties": {
                               "name": {"type": "string", "minLength": 1, "maxLength": 80},
                               "id": {"type": "string", "format": "uuid", "readOnly": True}}},
        }},
    }


def generate(doc):
    return gen_surface.surface(gen_surface.check(doc))


def table(files, name):
    """The rows of the generated validation table called name, as tuples of C tokens; the
    number bounds that end every row are left out where they are 0.0, 0.0 (not a number)."""
    m = re.search(r"const bro_vfield bro_schema_" + name + r"\[\d+\] = \{\n(.*?)\n\};",
                  files["surface_schemas.c"], re.S)
    assert m, files["surface_schemas.c"]
    rows = []
    for row in m.group(1).split("\n"):
        name_, rest = re.match(r'\s*\{"(\w+)", (.*)\},$', row).groups()
        tokens = tuple(rest.split(", "))
        rows.append((name_,) + (tokens[:-2] if tokens[-2:] == ("0.0", "0.0") else tokens))
    return rows


def field(files, schema, name):
    rows = [r for r in table(files, schema) if r[0] == name]
    assert len(rows) == 1, (name, table(files, schema))
    return rows[0]


def test_route_rows_carry_method_roles_kind_queue_body_and_flags():
    files = generate(document())
    routes = files["surface_routes.c"]
    assert '{EVHTTP_REQ_GET, "/healthz", NULL, bro_admin_healthz, 0, NULL, BRO_BODY_NONE, 0},' \
        in routes
    assert ('{EVHTTP_REQ_PATCH, "/v1/things/{id}", "thing.update", NULL, BRO_ROLE_COORDINATOR | '
            'BRO_ROLE_READER, BRO_QUEUE_RECORDS, BRO_BODY_OBJECT, 0},') in routes
    assert ('{EVHTTP_REQ_DELETE, "/v1/things/{id}", "thing.drop", NULL, BRO_ROLE_TENANT_ADMIN, '
            'BRO_QUEUE_NOTIFY, BRO_BODY_NONE, BRO_ROUTE_CHANGES_KEYS},') in routes
    assert "bro_routes_table_n = 3;" in routes


def test_handler_rows_and_prototypes_cover_every_kind_once():
    doc = document()
    # a second route of the same kind adds no second row
    doc["paths"]["/v1/other"] = {"delete": copy.deepcopy(doc["paths"]["/v1/things/{id}"]["delete"])}
    doc["paths"]["/v1/other"]["delete"]["operationId"] = "dropOther"
    files = generate(doc)
    rows = re.findall(r'^    \{"([a-z_.]+)", (\w+), ([^,]+), (\w+), (\w+)\},$',
                      files["surface_handlers.c"], re.M)
    # the document's order: its paths, each path's methods, then x-jobs
    assert [r[0] for r in rows] == ["thing.drop", "thing.update", "auth.resolve"]
    assert rows[2] == ("auth.resolve", "BRO_QUEUE_RECORDS", "BRO_H_PLATFORM | BRO_H_READONLY",
                       "bro_platform_auth_resolve", "NULL")
    assert rows[0][2] == "0"  # changes-keys is the gateway's flag, not the worker's
    protos = re.findall(r"^int (\w+)\(bro_job \*job\);$", files["surface_handlers.h"], re.M)
    assert protos == ["bro_things_drop", "bro_things_update", "bro_platform_auth_resolve"]


def test_an_async_route_has_a_run_function_and_answers_202():
    doc = document()
    op = doc["paths"]["/v1/things/{id}"]["patch"]
    op["responses"] = {"202": {"description": "accepted"}}
    with pytest.raises(gen_surface.OpenApiError, match="202"):
        generate(doc)
    op["x-job"]["run"] = "bro_things_run"
    files = generate(doc)
    assert '"thing.update", BRO_QUEUE_RECORDS, 0, bro_things_update, bro_things_run' \
        in files["surface_handlers.c"]
    assert "int bro_things_run(bro_job *job);" in files["surface_handlers.h"]


def test_validation_table_follows_the_schema():
    files = generate(document())
    assert table(files, "ThingPatch") == [
        ("name", "BRO_V_STRING", "BRO_V_REQUIRED", "1", "80LL", "NULL"),
        ("id", "BRO_V_UUID", "BRO_V_READONLY", "0", "0LL", "NULL")]
    assert "bro_schema_ThingPatch_n = 2, bro_schema_ThingPatch_writable = 1" \
        in files["surface_schemas.h"]
    assert 'const char *const bro_enum_Colour[3] = {"red", "blue", NULL};' \
        in files["surface_schemas.c"]


@pytest.mark.parametrize("prop, row", [
    ({"type": ["string", "null"], "minLength": 1, "maxLength": 9, "x-multiline": True},
     ("BRO_V_STRING", "BRO_V_NULLABLE | BRO_V_MULTILINE", "1", "9LL", "NULL")),
    ({"oneOf": [{"$ref": "#/components/schemas/Colour"}, {"type": "null"}]},
     ("BRO_V_ENUM", "BRO_V_NULLABLE", "1", "40LL", "bro_enum_Colour")),
    ({"type": "string", "enum": ["a", "b"]},
     ("BRO_V_ENUM", "0", "1", "40LL", "bro_schema_ThingPatch_x_values")),
    ({"type": "string", "format": "date"}, ("BRO_V_DATE", "0", "10", "10LL", "NULL")),
    ({"type": "string", "format": "date-time"}, ("BRO_V_TIMESTAMP", "0", "20", "35LL", "NULL")),
    ({"type": "string", "format": "email", "minLength": 3, "maxLength": 254},
     ("BRO_V_EMAIL", "0", "3", "254LL", "NULL")),
    ({"type": "string", "format": "phone", "minLength": 3, "maxLength": 32},
     ("BRO_V_PHONE", "0", "3", "32LL", "NULL")),
    ({"type": "string", "pattern": "^[0-9]{4}$"}, ("BRO_V_POSTAL", "0", "4", "4LL", "NULL")),
    ({"type": "string", "pattern": "^[a-z][a-z0-9_]{1,30}$"},
     ("BRO_V_SLUG", "0", "2", "31LL", "NULL")),
    ({"type": "string", "contentMediaType": "text/csv"},
     ("BRO_V_STRING", "BRO_V_FILE", "0", f"{1 << 40}LL", "NULL")),
    ({"type": "integer", "minimum": 0, "maximum": 7}, ("BRO_V_INT", "0", "0", "7LL", "NULL")),
    ({"type": ["integer", "null"], "minimum": 1900, "x-maximum": "this-year"},
     ("BRO_V_INT", "BRO_V_NULLABLE | BRO_V_THIS_YEAR", "1900", "0LL", "NULL")),
    ({"type": "boolean"}, ("BRO_V_BOOL", "0", "0", "0LL", "NULL")),
    ({"type": "array", "maxItems": 5, "items": {"type": "string", "maxLength": 60}},
     ("BRO_V_TAGS", "0", "0", "5LL", "NULL")),
    ({"type": "array", "maxItems": 5, "items": {"type": "string", "maxLength": 1000,
                                                "x-multiline": True}},
     ("BRO_V_TEXTS", "BRO_V_MULTILINE", "0", "5LL", "NULL")),
    ({"type": "array", "minItems": 1, "maxItems": 2, "items": {"$ref": "#/components/schemas/Colour"}},
     ("BRO_V_TAGS", "0", "1", "2LL", "bro_enum_Colour")),
    ({"type": "object", "propertyNames": {"enum": gen_surface.WEEKDAYS}},
     ("BRO_V_AVAILABILITY", "0", "0", "0LL", "NULL")),
    ({"type": ["number", "null"], "minimum": 0, "maximum": 24},
     ("BRO_V_NUMBER", "BRO_V_NULLABLE", "0", "0LL", "NULL", "0.0", "24.0")),
    ({"type": "number", "minimum": -0.5, "maximum": 2.25},
     ("BRO_V_NUMBER", "0", "0", "0LL", "NULL", "-0.5", "2.25")),
], ids=["multiline", "enum-ref-null", "enum-inline", "date", "date-time", "email", "phone",
        "postal", "slug", "csv", "int", "this-year", "bool", "tags", "texts", "enum-tags",
        "availability", "number", "number-fractions"])
def test_each_kind_of_field_becomes_its_validator_type(prop, row):
    doc = document()
    doc["components"]["schemas"]["ThingPatch"]["properties"] = {"x": prop}
    assert field(generate(doc), "ThingPatch", "x")[1:] == row


def test_objects_nested_in_a_body_get_their_own_table():
    doc = document()
    schemas = doc["components"]["schemas"]
    schemas["Step"] = {"type": "object", "additionalProperties": False, "required": ["text"],
                       "properties": {"text": {"type": "string", "maxLength": 10}}}
    schemas["ThingPatch"]["properties"] = {"steps": {
        "type": "array", "maxItems": 3, "items": {"$ref": "#/components/schemas/Step"}}}
    files = generate(doc)
    assert field(files, "ThingPatch", "steps")[1:3] == ("BRO_V_OBJECTS", "0")
    assert table(files, "Step") == [("text", "BRO_V_STRING", "BRO_V_REQUIRED", "0", "10LL",
                                     "NULL")]


def test_allof_parts_fold_in_with_their_required_members():
    doc = document()
    schemas = doc["components"]["schemas"]
    schemas["Base"] = {"type": "object", "required": ["a"],
                       "properties": {"a": {"type": "boolean"}}}
    schemas["ThingPatch"] = {"allOf": [{"$ref": "#/components/schemas/Base"}],
                             "unevaluatedProperties": False,
                             "properties": {"b": {"type": "boolean"}}}
    assert table(generate(doc), "ThingPatch") == [
        ("a", "BRO_V_BOOL", "BRO_V_REQUIRED", "0", "0LL", "NULL"),
        ("b", "BRO_V_BOOL", "0", "0", "0LL", "NULL")]


def refuse(doc, complaint):
    with pytest.raises(gen_surface.OpenApiError, match=complaint):
        generate(doc)


def test_refuses_a_route_with_neither_or_both_answers():
    doc = document()
    del doc["paths"]["/healthz"]["get"]["x-local"]
    refuse(doc, "either x-job")
    doc = document()
    doc["paths"]["/healthz"]["get"]["x-job"] = {"kind": "a.b", "queue": "records",
                                               "handler": "bro_a"}
    refuse(doc, "either x-job")


def test_refuses_one_kind_with_two_handlers():
    doc = document()
    doc["paths"]["/v1/things/{id}"]["delete"]["x-job"]["kind"] = "thing.update"
    refuse(doc, "also named by")


@pytest.mark.parametrize("change, complaint", [
    (lambda j: j.update(queue="elsewhere"), "queue must be one of"),
    (lambda j: j.update(kind="Thing"), "kind must look like"),
    (lambda j: j.update(handler="update_thing"), "C names"),
    (lambda j: j.update(flags=["fast"]), "flags must be among"),
    (lambda j: j.update(colour="red"), "unknown members"),
    (lambda j: j.update(flags=["nodb"]), "nodb needs readonly"),
])
def test_refuses_a_malformed_job(change, complaint):
    doc = document()
    change(doc["paths"]["/v1/things/{id}"]["patch"]["x-job"])
    refuse(doc, complaint)


@pytest.mark.parametrize("prop, complaint", [
    ({"type": "string"}, "needs maxLength"),
    ({"type": "integer", "minimum": 0}, "needs maximum"),
    ({"type": "string", "format": "hostname"}, "no format"),
    ({"type": "string", "pattern": "^x$"}, "no pattern"),
    ({"type": "array", "maxItems": 2, "items": {"type": "string", "maxLength": 7}}, "tags"),
    ({"type": "object"}, "cannot check"),
    ({"type": "number", "maximum": 24}, "needs minimum"),
    ({"type": "number", "minimum": 0}, "needs maximum"),
    ({"type": "number", "minimum": 0, "maximum": ".inf"}, "finite number"),
    ({"type": "number", "minimum": 0, "maximum": float("inf")}, "finite number"),
    ({"type": "number", "minimum": True, "maximum": 2}, "finite number"),
    ({"type": "number", "minimum": 3, "maximum": 2}, "not be above"),
])
def test_refuses_a_field_the_validator_cannot_check(prop, complaint):
    doc = document()
    doc["components"]["schemas"]["ThingPatch"]["properties"]["x"] = prop
    refuse(doc, complaint)


def test_refuses_a_body_that_accepts_unknown_members():
    doc = document()
    del doc["components"]["schemas"]["ThingPatch"]["additionalProperties"]
    refuse(doc, "unknown members")


def test_refuses_read_only_fields_before_writable_ones():
    doc = document()
    props = doc["components"]["schemas"]["ThingPatch"]["properties"]
    props["later"] = {"type": "boolean"}
    refuse(doc, "read-only properties come after")


def test_refuses_an_inline_body_schema():
    doc = document()
    media = doc["paths"]["/v1/things/{id}"]["patch"]["requestBody"]["content"]["application/json"]
    media["schema"] = {"type": "object"}
    refuse(doc, "must be a \\$ref")


def test_refuses_a_body_without_an_example():
    doc = document()
    media = doc["paths"]["/v1/things/{id}"]["patch"]["requestBody"]["content"]["application/json"]
    del media["example"]
    refuse(doc, "needs an example")


def test_served_document_leaves_out_what_only_the_build_reads():
    doc = gen_surface.served(document())
    text = repr(doc)
    assert "x-job" not in text and "x-local" not in text and "x-jobs" not in text
    assert doc["paths"]["/healthz"]["get"]["x-roles"] == []


def test_the_repository_document_gives_every_operation_a_row(tmp_path):
    p = subprocess.run([sys.executable, GENERATOR, os.path.join(ROOT, "schemas", "openapi.yaml"),
                        str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    doc = gen_surface.load(os.path.join(ROOT, "schemas", "openapi.yaml"))
    ops = [(m, path) for path, item in doc["paths"].items() for m in gen_surface.METHODS
           if m in item]
    routes = (tmp_path / "surface_routes.c").read_text()
    for method, path in ops:
        assert f'{{EVHTTP_REQ_{method.upper()}, "{path}",' in routes, (method, path)
    kinds = {op["x-job"]["kind"] for item in doc["paths"].values() for m, op in item.items()
             if m in gen_surface.METHODS and "x-job" in op} | \
        {j["kind"] for j in doc["x-jobs"]}
    rows = re.findall(r'^    \{"([a-z_.]+)",', (tmp_path / "surface_handlers.c").read_text(), re.M)
    assert sorted(rows) == sorted(kinds)


def test_query_parameters_get_a_table_per_operation():
    doc = document()
    op = doc["paths"]["/v1/things/{id}"]["delete"]
    op["parameters"] = [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                    "maximum": 200}},
        {"name": "colour", "in": "query", "schema": {"$ref": "#/components/schemas/Colour"}},
        {"name": "X-Request-Id", "in": "header", "schema": {"type": "string"}}]
    files = generate(doc)
    m = re.search(r"const bro_vfield bro_query_dropThing\[2\] = \{\n(.*?)\n\};",
                  files["surface_schemas.c"], re.S)
    assert m, files["surface_schemas.c"]
    assert m.group(1).split("\n") == [
        '    {"limit", BRO_V_STRING, 0, 1, 3LL, NULL, 0.0, 0.0},',  # a query value: its digits
        '    {"colour", BRO_V_ENUM, 0, 1, 40LL, bro_enum_Colour, 0.0, 0.0},']
    assert "enum { bro_query_dropThing_n = 2 };" in files["surface_schemas.h"]
    assert "bro_query_patchThing" not in files["surface_schemas.h"]
