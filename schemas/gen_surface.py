#!/usr/bin/env python3
"""Build step: schemas/openapi.yaml is the one description of the HTTP surface, and this turns
it into the C the programs are built from, in OUTDIR:

  openapi_doc.c       the document as JSON, with its ETag, served at GET /v1/openapi.json
  surface_routes.c    the gateway's route table (method, path, job kind or local handler,
                      roles, queue, body, flags), from each operation's x-job or x-local
  surface_handlers.h  a prototype for every worker handler the document names
  surface_handlers.c  the worker's kind -> handler, queue and flags table, from x-job and the
                      document's x-jobs (kinds without a route)
  surface_schemas.h   the worker's validation tables (bro_vfield) for every request body and
  surface_schemas.c   the objects nested in them, and the values of every named enum

Refuses (exit 1, one message naming the file and the place) a document that is not valid YAML,
not a usable OpenAPI 3.x document, or that says something the C cannot express (a request
field without bounds, two routes of one kind with different handlers, ...), so a broken
description fails the build instead of being served. Nothing is written then.

usage: gen_surface.py INPUT.yaml OUTDIR
"""

import hashlib
import json
import os
import re
import sys

import yaml


class OpenApiError(Exception):
    """A problem with the document; str() is the message shown to whoever builds."""


class StrictLoader(yaml.SafeLoader):
    """YAML as JSON sees it: a repeated key is an error instead of silently winning, only
    true/false are booleans (not yes/no/on/off), and dates stay strings."""


# Rebuild the implicit resolvers without timestamps and with YAML 1.2 booleans only.
StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictLoader.add_implicit_resolver("tag:yaml.org,2002:bool",
                                   re.compile(r"^(?:true|false)$"), list("tf"))


def construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark,
                f"found the key {key!r} twice (first at line {seen[key] + 1})",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def resolve(doc, ref):
    """The object a local "#/a/b" reference names, or OpenApiError."""
    if not ref.startswith("#/"):
        raise OpenApiError(f"only local references are allowed, not {ref!r}")
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise OpenApiError(f"the reference {ref!r} names nothing")
        node = node[part]
    return node


def pointer(where, key):
    """where extended by key, escaped as a JSON pointer ("/v1/me" becomes "~1v1~1me")."""
    return f"{where}/{str(key).replace('~', '~0').replace('/', '~1')}"


def check_refs(doc, node, where):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            try:
                resolve(doc, ref)
            except OpenApiError as e:
                raise OpenApiError(f"{where}: {e}") from None
        for k, v in node.items():
            check_refs(doc, v, pointer(where, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            check_refs(doc, v, f"{where}/{i}")


def check_keys(node, where):
    """No key holds a space and no value is empty: in a flow mapping, an unquoted comma inside a
    description ends the value and turns the rest into a key without a value, which YAML
    accepts without a word. Only default, example and const may be null."""
    if isinstance(node, dict):
        for k, v in node.items():
            if not isinstance(k, str) or " " in k or \
                    (v is None and k not in ("default", "example", "const")):
                raise OpenApiError(f"{where}: the key {k!r} looks like a broken value (quote "
                                   "text that holds a comma or a colon)")
            check_keys(v, pointer(where, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            check_keys(v, f"{where}/{i}")


def check(doc):
    """The checks a served document must pass; raises OpenApiError on the first failure."""
    if not isinstance(doc, dict):
        raise OpenApiError("the document must be a mapping")
    version = doc.get("openapi")
    if not isinstance(version, str) or not re.match(r"^3\.\d+\.\d+$", version):
        raise OpenApiError(f"'openapi' must be a 3.x.y version string, not {version!r}")
    if not isinstance(doc.get("info"), dict) or "title" not in doc["info"]:
        raise OpenApiError("'info' with a 'title' is required")
    paths = doc.get("paths")
    if not isinstance(paths, dict) or not paths:
        raise OpenApiError("'paths' must be a non-empty mapping")
    check_keys(doc, "#")
    check_refs(doc, doc, "#")
    operation_ids = set()
    for path, item in paths.items():
        if not path.startswith("/") or not isinstance(item, dict):
            raise OpenApiError(f"path {path!r}: must start with '/' and be a mapping")
        declared = set()
        for p in item.get("parameters", []):
            p = resolve(doc, p["$ref"]) if "$ref" in p else p
            if p.get("in") == "path":
                declared.add(p["name"])
        templated = set(re.findall(r"\{([^}]+)\}", path))
        if declared != templated:
            raise OpenApiError(f"path {path!r}: path parameters {sorted(templated)} must be "
                               f"declared at path level, found {sorted(declared)}")
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            where = f"{method.upper()} {path}"
            if not isinstance(op, dict) or not isinstance(op.get("responses"), dict) \
                    or not op["responses"]:
                raise OpenApiError(f"{where}: needs 'responses'")
            oid = op.get("operationId")
            if not oid or oid in operation_ids:
                raise OpenApiError(f"{where}: operationId {oid!r} is missing or not unique")
            operation_ids.add(oid)
            roles = op.get("x-roles")
            if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
                raise OpenApiError(f"{where}: 'x-roles' must be a list of role names")
    return doc


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=StrictLoader)
    except OSError as e:
        raise OpenApiError(f"cannot read it: {e.strerror}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise OpenApiError(f"{line}not valid YAML: {problem}") from None
    return check(doc)


# ---- the surface: routes and handlers --------------------------------------------------------

METHOD_C = {"get": "EVHTTP_REQ_GET", "post": "EVHTTP_REQ_POST", "put": "EVHTTP_REQ_PUT",
            "patch": "EVHTTP_REQ_PATCH", "delete": "EVHTTP_REQ_DELETE"}
ROLE_C = {"platform_admin": "BRO_ROLE_PLATFORM_ADMIN", "tenant_admin": "BRO_ROLE_TENANT_ADMIN",
          "coordinator": "BRO_ROLE_COORDINATOR", "partner": "BRO_ROLE_PARTNER",
          "reader": "BRO_ROLE_READER"}
QUEUE_C = {"records": "BRO_QUEUE_RECORDS", "matching": "BRO_QUEUE_MATCHING",
           "notify": "BRO_QUEUE_NOTIFY", "reports": "BRO_QUEUE_REPORTS"}
# x-job flags: which side reads each, and the C name there.
WORKER_FLAGS = {"platform": "BRO_H_PLATFORM", "readonly": "BRO_H_READONLY", "read": "BRO_H_READ",
                "nodb": "BRO_H_NODB"}
ROUTE_FLAGS = {"changes-keys": "BRO_ROUTE_CHANGES_KEYS", "sets-session": "BRO_ROUTE_SETS_SESSION",
               "ends-session": "BRO_ROUTE_ENDS_SESSION"}
C_NAME = re.compile(r"^bro_[a-z0-9_]+$")
KIND = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*$")


class Job:
    """A job kind and who runs it: one row of the worker's handler table."""

    def __init__(self, where, spec):
        if not isinstance(spec, dict):
            raise OpenApiError(f"{where}: x-job must be a mapping")
        unknown = set(spec) - {"kind", "queue", "handler", "run", "flags"}
        if unknown:
            raise OpenApiError(f"{where}: x-job has unknown members {sorted(unknown)}")
        self.kind = spec.get("kind")
        self.queue = spec.get("queue")
        self.handler = spec.get("handler")
        self.run = spec.get("run")
        self.flags = spec.get("flags", [])
        if not isinstance(self.kind, str) or not KIND.match(self.kind):
            raise OpenApiError(f"{where}: x-job kind must look like 'candidate.create'")
        if self.queue not in QUEUE_C:
            raise OpenApiError(f"{where}: x-job queue must be one of {sorted(QUEUE_C)}")
        for name in (self.handler, self.run):
            if name is not None and (not isinstance(name, str) or not C_NAME.match(name)):
                raise OpenApiError(f"{where}: x-job handler and run must be C names bro_...")
        if self.handler is None:
            raise OpenApiError(f"{where}: x-job needs a handler")
        if not isinstance(self.flags, list) or \
                set(self.flags) - set(WORKER_FLAGS) - set(ROUTE_FLAGS):
            raise OpenApiError(f"{where}: x-job flags must be among "
                               f"{sorted(WORKER_FLAGS) + sorted(ROUTE_FLAGS)}")
        if "nodb" in self.flags and ("readonly" not in self.flags or self.run is not None):
            raise OpenApiError(f"{where}: x-job flag nodb needs readonly and no run")

    def row(self):
        """What must agree between routes that share the kind."""
        return (self.queue, self.handler, self.run,
                tuple(sorted(f for f in self.flags if f in WORKER_FLAGS)))


class Route:
    """One operation: one row of the gateway's route table."""

    def __init__(self, doc, path, method, op):
        self.where = f"{method.upper()} {path}"
        self.method, self.path, self.op = method, path, op
        if method not in METHOD_C:
            raise OpenApiError(f"{self.where}: the gateway has no route for this method")
        self.roles = op["x-roles"]
        for r in self.roles:
            if r not in ROLE_C:
                raise OpenApiError(f"{self.where}: unknown role {r!r} in x-roles")
        job, local = op.get("x-job"), op.get("x-local")
        if (job is None) == (local is None):
            raise OpenApiError(f"{self.where}: needs either x-job (a worker answers) or x-local "
                               "(the gateway answers), not both")
        self.job = Job(self.where, job) if job is not None else None
        if local is not None and (not isinstance(local, str) or not C_NAME.match(local)):
            raise OpenApiError(f"{self.where}: x-local must be a C name bro_...")
        self.local = local
        self.body, self.schema = self.request_body(doc)
        accepted = "202" in op["responses"]
        if self.job and accepted != (self.job.run is not None):
            raise OpenApiError(f"{self.where}: an operation answers 202 exactly when its x-job "
                               "has a run function (asynchronous work)")

    def request_body(self, doc):
        """BRO_BODY_* and the name of the JSON body's schema (None when there is no body)."""
        rb = self.op.get("requestBody")
        if rb is None:
            return "BRO_BODY_NONE", None
        rb = resolve(doc, rb["$ref"]) if "$ref" in rb else rb
        content = rb.get("content", {})
        json_media = content.get("application/json")
        if json_media is None or set(content) - {"application/json", "text/csv"}:
            raise OpenApiError(f"{self.where}: a request body is application/json, optionally "
                               "with text/csv")
        ref = json_media.get("schema", {}).get("$ref", "")
        if not ref.startswith("#/components/schemas/"):
            raise OpenApiError(f"{self.where}: the JSON body's schema must be a $ref to "
                               "components/schemas, so its validation table has a name")
        if "example" not in json_media:
            raise OpenApiError(f"{self.where}: the JSON body needs an example the route accepts "
                               "(the test sweeps send it)")
        kind = "BRO_BODY_OR_CSV" if "text/csv" in content else "BRO_BODY_OBJECT"
        return kind, ref.rsplit("/", 1)[1]

    def c_row(self):
        roles = " | ".join(ROLE_C[r] for r in self.roles) or "0"
        flags = [ROUTE_FLAGS[f] for f in (self.job.flags if self.job else []) if f in ROUTE_FLAGS]
        kind = f'"{self.job.kind}"' if self.job else "NULL"
        queue = QUEUE_C[self.job.queue] if self.job else "NULL"
        return (f'    {{{METHOD_C[self.method]}, "{self.path}", {kind}, {self.local or "NULL"}, '
                f'{roles}, {queue}, {self.body}, {" | ".join(flags) or "0"}}},')


def routes_of(doc):
    out = []
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                out.append(Route(doc, path, method, item[method]))
    return out


def jobs_of(doc, routes):
    """Every job kind once, in the order the document first names it: the routes' kinds, then
    the x-jobs without a route."""
    jobs, seen = [], {}
    extra = doc.get("x-jobs", [])
    if not isinstance(extra, list):
        raise OpenApiError("x-jobs must be a list of jobs without a route")
    named = [(r.where, r.job) for r in routes if r.job] + \
        [(f"x-jobs/{i}", Job(f"x-jobs/{i}", spec)) for i, spec in enumerate(extra)]
    for where, job in named:
        first = seen.get(job.kind)
        if first is None:
            seen[job.kind] = (where, job)
            jobs.append(job)
        elif first[1].row() != job.row():
            raise OpenApiError(f"{where}: the kind {job.kind!r} is also named by {first[0]} with "
                               "another queue, handler, run function or worker flags")
    return jobs


# ---- validation tables -----------------------------------------------------------------------

# Patterns the validator knows as types of their own.
PATTERN_TYPES = {"^[0-9]{4}$": ("BRO_V_POSTAL", 4, 4), "^[a-z][a-z0-9_]{1,30}$": ("BRO_V_SLUG", 2, 31)}
FORMAT_TYPES = {"uuid": ("BRO_V_UUID", 36, 36), "date": ("BRO_V_DATE", 10, 10),
                "date-time": ("BRO_V_TIMESTAMP", 20, 35), "email": ("BRO_V_EMAIL", None, None),
                "phone": ("BRO_V_PHONE", None, None)}
ENUM_MAX_CHARS = 40  # an enum value is first checked as a string of 1..40 characters
TAG_ITEM_CHARS = 60  # the validator's fixed bounds of one tag and of one text of a list
TEXT_ITEM_CHARS = 1000
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def deref(doc, p):
    """p with a $ref replaced by its target; the other members of p (a description beside the
    reference, as OpenAPI 3.1 allows) win."""
    if "$ref" not in p:
        return p
    base = deref(doc, resolve(doc, p["$ref"]))
    return {**base, **{k: v for k, v in p.items() if k != "$ref"}}


def flatten(doc, name, where=None):
    """The properties (in order), the required names and whether unknown members are refused,
    of the object schema called name, with its allOf parts folded in."""
    where = where or f"#/components/schemas/{name}"
    s = doc.get("components", {}).get("schemas", {}).get(name)
    if not isinstance(s, dict):
        raise OpenApiError(f"{where}: no such schema")
    props, required, closed = {}, set(), False
    for i, part in enumerate(s.get("allOf", [])):
        if "$ref" not in part:
            raise OpenApiError(f"{where}/allOf/{i}: must be a $ref")
        p, r, _ = flatten(doc, part["$ref"].rsplit("/", 1)[1], f"{where}/allOf/{i}")
        props.update(p)
        required |= r
    props.update(s.get("properties", {}))
    required |= set(s.get("required", []))
    closed = s.get("additionalProperties") is False or s.get("unevaluatedProperties") is False
    return props, required, closed


def nullable_of(doc, p):
    """(p without its null alternative, whether null is allowed). A date that may also be sent as
    a date-time (anyOf date, date-time) becomes a date with x-or-time."""
    p = deref(doc, p)
    if "anyOf" in p:
        alts = [deref(doc, a) for a in p["anyOf"]]
        rest = [a for a in alts if a.get("type") != "null"]
        if sorted(a.get("format", "") for a in rest) == ["date", "date-time"] and \
                all(a.get("type") == "string" for a in rest):
            q = {k: v for k, v in p.items() if k != "anyOf"}
            return {**q, "type": "string", "format": "date", "x-or-time": True}, \
                len(rest) < len(alts)
        return p, False
    if "oneOf" in p:
        alts = [deref(doc, a) for a in p["oneOf"]]
        rest = [a for a in alts if a.get("type") != "null"]
        if len(alts) != 2 or len(rest) != 1:
            return p, False
        return {**rest[0], **{k: v for k, v in p.items() if k != "oneOf"}}, True
    t = p.get("type")
    if isinstance(t, list) and "null" in t:
        others = [x for x in t if x != "null"]
        q = {**p, "type": others[0] if len(others) == 1 else others}
        if "enum" in q:
            q["enum"] = [v for v in q["enum"] if v is not None]
        return q, True
    return p, False


class Field:
    """One row of a validation table."""

    def __init__(self, name, vtype, flags, lo, hi, values=None, items=None, nlo=0, nhi=0):
        self.name, self.vtype, self.flags = name, vtype, flags
        self.lo, self.hi, self.values, self.items = lo, hi, values, items
        self.nlo, self.nhi = nlo, nhi  # a number's bounds (bro_vfield lo, hi)


def bound(p, key, where, default=None):
    v = p.get(key, default)
    if v is None:
        raise OpenApiError(f"{where}: a request field needs {key} (the validator checks it)")
    return v


def string_field(name, p, flags, where):
    if "enum" in p:
        return Field(name, "BRO_V_ENUM", flags, 1, ENUM_MAX_CHARS, values=p["enum"])
    if p.get("contentMediaType") == "text/csv":
        # A file is bounded by the request's size limit, not by a number of characters.
        return Field(name, "BRO_V_STRING", flags + ["BRO_V_FILE"], p.get("minLength", 0),
                     p.get("maxLength", 1 << 40))
    if "format" in p:
        if p["format"] not in FORMAT_TYPES:
            raise OpenApiError(f"{where}: the validator knows no format {p['format']!r}")
        vtype, lo, hi = FORMAT_TYPES[p["format"]]
        if lo is None:
            lo, hi = bound(p, "minLength", where), bound(p, "maxLength", where)
        return Field(name, vtype, flags, lo, hi)
    if "pattern" in p:
        if p["pattern"] not in PATTERN_TYPES:
            raise OpenApiError(f"{where}: the validator knows no pattern {p['pattern']!r}")
        vtype, lo, hi = PATTERN_TYPES[p["pattern"]]
        return Field(name, vtype, flags, lo, hi)
    return Field(name, "BRO_V_STRING", flags, p.get("minLength", 0), bound(p, "maxLength", where))


def number_field(name, p, flags, where):
    """A number needs both bounds, finite and in order: the validator checks them, and C has no
    literal for an unbounded double that the table could hold."""
    lo, hi = bound(p, "minimum", where), bound(p, "maximum", where)
    for key, v in (("minimum", lo), ("maximum", hi)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or \
                v in (float("inf"), float("-inf")):
            raise OpenApiError(f"{where}: {key} of a number must be a finite number")
    if lo > hi:
        raise OpenApiError(f"{where}: minimum must not be above maximum")
    return Field(name, "BRO_V_NUMBER", flags, 0, 0, nlo=lo, nhi=hi)


def array_field(doc, name, p, flags, where):
    items = deref(doc, p.get("items", {}))
    ref = p.get("items", {}).get("$ref", "")
    lo, hi = p.get("minItems", 0), bound(p, "maxItems", where)
    if items.get("type") == "object":
        return Field(name, "BRO_V_OBJECTS", flags, lo, hi, items=ref.rsplit("/", 1)[1])
    if items.get("type") == "string" and "enum" in items:
        return Field(name, "BRO_V_TAGS", flags, lo, hi, values=items["enum"])
    if items.get("type") == "string" and items.get("maxLength") == TAG_ITEM_CHARS \
            and not items.get("x-multiline"):
        return Field(name, "BRO_V_TAGS", flags, lo, hi)
    if items.get("type") == "string" and items.get("maxLength") == TEXT_ITEM_CHARS:
        more = ["BRO_V_MULTILINE"] if items.get("x-multiline") else []
        return Field(name, "BRO_V_TEXTS", flags + more, lo, hi)
    raise OpenApiError(f"{where}: an array of objects, of enum strings, of tags (maxLength "
                       f"{TAG_ITEM_CHARS}) or of texts (maxLength {TEXT_ITEM_CHARS})")


def field_of(doc, name, raw, required, where):
    p, nullable = nullable_of(doc, raw)
    flags = []
    if p.get("readOnly"):
        flags.append("BRO_V_READONLY")
    elif name in required:
        flags.append("BRO_V_REQUIRED")
    if nullable:
        flags.append("BRO_V_NULLABLE")
    if p.get("x-multiline"):
        flags.append("BRO_V_MULTILINE")
    if p.get("x-or-time"):
        flags.append("BRO_V_OR_TIME")
    t = p.get("type")
    if p.get("readOnly"):
        if t == "string" and "enum" in p:
            return Field(name, "BRO_V_ENUM", flags, 0, 0, values=p["enum"])
        vtype = FORMAT_TYPES.get(p.get("format"), ("BRO_V_STRING",))[0] if t == "string" \
            else "BRO_V_INT" if t == "integer" else None
        if vtype is None:
            raise OpenApiError(f"{where}: a read-only request field is a string or an integer")
        return Field(name, vtype, flags, 0, 0)
    if t == "string":
        return string_field(name, p, flags, where)
    if t == "integer":
        hi = p.get("maximum")
        if p.get("x-maximum") == "this-year":
            flags.append("BRO_V_THIS_YEAR")
            hi = 0
        return Field(name, "BRO_V_INT", flags, bound(p, "minimum", where),
                     hi if hi is not None else bound(p, "maximum", where))
    if t == "boolean":
        return Field(name, "BRO_V_BOOL", flags, 0, 0)
    if t == "number":
        return number_field(name, p, flags, where)
    if t == "array":
        return array_field(doc, name, p, flags, where)
    if t == "object" and p.get("propertyNames", {}).get("enum") == WEEKDAYS:
        return Field(name, "BRO_V_AVAILABILITY", flags, 0, 0)
    raise OpenApiError(f"{where}: the validator cannot check this field")


def table_of(doc, name, where):
    """The validation table of the object schema called name: its fields in document order."""
    props, required, closed = flatten(doc, name)
    if not closed:
        raise OpenApiError(f"{where}: the schema {name} must refuse unknown members "
                           "(additionalProperties or unevaluatedProperties false), as the "
                           "worker does")
    base = f"#/components/schemas/{name}"
    fields = [field_of(doc, k, v, required, f"{base}/properties/{k}") for k, v in props.items()]
    ro = [i for i, f in enumerate(fields) if "BRO_V_READONLY" in f.flags]
    if ro and ro != list(range(len(fields) - len(ro), len(fields))):
        raise OpenApiError(f"{base}: read-only properties come after the writable ones, whose "
                           "order is the order of the handlers' statement parameters")
    return fields


def tables_of(doc, routes):
    """{schema name: fields} for every request body and every object nested in one."""
    tables, todo = {}, [(r.schema, r.where) for r in routes if r.schema]
    todo += [(n, "x-schemas") for n in doc.get("x-schemas", [])]
    while todo:
        name, where = todo.pop(0)
        if name in tables:
            continue
        tables[name] = table_of(doc, name, where)
        todo += [(f.items, name) for f in tables[name] if f.items]
    return tables


def query_field(doc, param, where):
    """The validation row of one query parameter. Every value of a query string is a string:
    an integer is checked as its digits (the handler reads the number and says its bounds)."""
    p, _ = nullable_of(doc, param.get("schema", {}))
    if p.get("type") == "integer":
        return Field(param["name"], "BRO_V_STRING", [], 1, len(str(bound(p, "maximum", where))))
    return field_of(doc, param["name"], param.get("schema", {}), set(), where)


def queries_of(doc, routes):
    """{operationId: fields} for every operation that takes query parameters."""
    out = {}
    for r in routes:
        fields = []
        for i, param in enumerate(r.op.get("parameters", [])):
            param = resolve(doc, param["$ref"]) if "$ref" in param else param
            if param.get("in") == "query":
                fields.append(query_field(doc, param, f"{r.where} parameters/{i}"))
        if fields:
            out[r.op["operationId"]] = fields
    return out


def enums_of(doc):
    """{schema name: values} of every named string enum."""
    out = {}
    for name, s in doc.get("components", {}).get("schemas", {}).items():
        if isinstance(s, dict) and s.get("type") == "string" and "enum" in s:
            out[name] = s["enum"]
    return out


# ---- rendering -------------------------------------------------------------------------------

GENERATED = ("/* GENERATED from schemas/openapi.yaml by schemas/gen_surface.py at build time.\n"
             " * Do not edit: change the document (or the generator) instead. */\n")


def render_routes(routes):
    rows = "\n".join(r.c_row() for r in routes)
    # The gateway's request counters are sized from bro_routes_table_n at start (metrics.h).
    return (GENERATED + '#include "common/queue.h"\n#include "local.h"\n'
            '#include "openapi.h"\n#include "routes.h"\n\n'
            "/* method, pattern, kind, local, roles, queue, body, flags */\n"
            f"const bro_route bro_routes_table[] = {{\n{rows}\n}};\n"
            f"const int bro_routes_table_n = {len(routes)};\n")


def render_handlers_h(jobs):
    names = [j.handler for j in jobs] + [j.run for j in jobs if j.run]
    protos = "\n".join(f"int {n}(bro_job *job);" for n in dict.fromkeys(names))
    return (GENERATED + "#ifndef BRO_SURFACE_HANDLERS_H\n#define BRO_SURFACE_HANDLERS_H\n\n"
            '#include "job.h"\n\n'
            "/* Every handler the document names, and only those: a handler function with no\n"
            " * route has no prototype (the worker is built with -Wmissing-prototypes), and a\n"
            " * route whose handler does not exist does not link. */\n"
            f"{protos}\n\n#endif\n")


def render_handlers_c(jobs):
    def row(j):
        flags = " | ".join(WORKER_FLAGS[f] for f in j.flags if f in WORKER_FLAGS) or "0"
        return (f'    {{"{j.kind}", {QUEUE_C[j.queue]}, {flags}, {j.handler}, '
                f'{j.run or "NULL"}}},')
    rows = "\n".join(row(j) for j in jobs)
    return (GENERATED + '#include "common/queue.h"\n#include "handlers.h"\n'
            '#include "surface_handlers.h"\n\n'
            "/* kind, queue, flags, handler, run */\n"
            f"const bro_handler bro_handlers_table[] = {{\n{rows}\n}};\n"
            f"const int bro_handlers_table_n = {len(jobs)};\n")


def c_strings(values):
    return "{" + ", ".join(json.dumps(v) for v in values) + ", NULL}"


def render_schemas_h(tables, queries, enums):
    lines = []
    for name, vals in enums.items():
        lines.append(f"extern const char *const bro_enum_{name}[{len(vals) + 1}];")
    for name, fields in tables.items():
        lines.append(f"extern const bro_vfield bro_schema_{name}[{len(fields)}];")
        writable = sum(1 for f in fields if "BRO_V_READONLY" not in f.flags)
        lines.append(f"enum {{ bro_schema_{name}_n = {len(fields)}, "
                     f"bro_schema_{name}_writable = {writable} }};")
    for name, fields in queries.items():
        lines.append(f"extern const bro_vfield bro_query_{name}[{len(fields)}];")
        lines.append(f"enum {{ bro_query_{name}_n = {len(fields)} }};")
    body = "\n".join(lines)
    return (GENERATED + "#ifndef BRO_SURFACE_SCHEMAS_H\n#define BRO_SURFACE_SCHEMAS_H\n\n"
            '#include "validate.h"\n\n'
            "/* bro_enum_<Schema>: the values of a named enum, NULL-terminated.\n"
            " * bro_schema_<Schema>: the validation table of a request body or of an object in\n"
            " * one, its fields in the document's order: bro_schema_<Schema>_n entries, the\n"
            " * first bro_schema_<Schema>_writable of them writable, the read-only ones last.\n"
            " * bro_query_<operationId>: the query parameters of an operation, in its order. */\n"
            f"{body}\n\n#endif\n")


def render_schemas_c(tables, queries, enums):
    out = [GENERATED, '#include "surface_schemas.h"\n\n#include <stddef.h>\n']
    by_values = {tuple(v): f"bro_enum_{n}" for n, v in enums.items()}
    for name, vals in enums.items():
        out.append(f"const char *const bro_enum_{name}[{len(vals) + 1}] = {c_strings(vals)};")
    named = [("schema", n, f) for n, f in tables.items()] + \
        [("query", n, f) for n, f in queries.items()]
    for what, name, fields in named:
        rows = []
        for f in fields:
            values = "NULL"
            if f.values is not None:
                values = by_values.get(tuple(f.values))
                if values is None:
                    values = f"bro_{what}_{name}_{f.name}_values"
                    out.append(f"static const char *const {values}[] = {c_strings(f.values)};")
                    by_values[tuple(f.values)] = values
            rows.append(f'    {{"{f.name}", {f.vtype}, {" | ".join(f.flags) or "0"}, {f.lo}, '
                        f'{f.hi}LL, {values}, {float(f.nlo)!r}, {float(f.nhi)!r}}},')
        out.append(f"const bro_vfield bro_{what}_{name}[{len(fields)}] = {{\n"
                   + "\n".join(rows) + "\n};")
    return "\n".join(out) + "\n"


def surface(doc):
    """{file name: text} of everything generated from doc."""
    routes = routes_of(doc)
    jobs = jobs_of(doc, routes)
    tables = tables_of(doc, routes)
    queries = queries_of(doc, routes)
    enums = enums_of(doc)
    return {
        "openapi_doc.c": render_c(doc, "schemas/openapi.yaml"),
        "surface_routes.c": render_routes(routes),
        "surface_handlers.h": render_handlers_h(jobs),
        "surface_handlers.c": render_handlers_c(jobs),
        "surface_schemas.h": render_schemas_h(tables, queries, enums),
        "surface_schemas.c": render_schemas_c(tables, queries, enums),
    }


def c_string_lines(text, width=96):
    """text (ASCII) as a sequence of C string literals of at most width characters each."""
    lines = []
    for i in range(0, len(text), width):
        chunk = text[i:i + width].replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'    "{chunk}"')
    return "\n".join(lines)


# What only the build reads: which C answers an operation is not part of the contract.
BUILD_ONLY = ("x-job", "x-local", "x-jobs")


def served(node):
    """node without the members only the build reads."""
    if isinstance(node, dict):
        return {k: served(v) for k, v in node.items() if k not in BUILD_ONLY}
    if isinstance(node, list):
        return [served(v) for v in node]
    return node


def render_c(doc, source_name):
    text = json.dumps(served(doc), ensure_ascii=True, separators=(",", ":"))
    etag = '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'
    etag_c = etag.replace('"', '\\"')
    return (
        f"/* GENERATED from {source_name} by schemas/gen_surface.py at build time.\n"
        " * Do not edit: change the YAML document instead. */\n"
        "#include <stddef.h>\n"
        "\n"
        "extern const char bro_openapi_doc[];\n"
        "extern const size_t bro_openapi_doc_len;\n"
        "extern const char bro_openapi_etag[];\n"
        "\n"
        f'const char bro_openapi_etag[] = "{etag_c}";\n'
        f"const size_t bro_openapi_doc_len = {len(text)};\n"
        "const char bro_openapi_doc[] =\n"
        f"{c_string_lines(text)};\n"
    )


def main(argv):
    if len(argv) != 3:
        print("usage: gen_surface.py INPUT.yaml OUTDIR", file=sys.stderr)
        return 2
    source, outdir = argv[1], argv[2]
    try:
        files = surface(load(source))
    except OpenApiError as e:
        print(f"{source}: {e}", file=sys.stderr)
        return 1
    os.makedirs(outdir, exist_ok=True)
    for name, text in files.items():
        path = os.path.join(outdir, name)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write(text)
        os.replace(tmp, path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
