#!/usr/bin/env python3
"""Build step: converts schemas/openapi.yaml to the JSON the gateway serves at
GET /v1/openapi.json and writes it, with its ETag, as a generated C file. Refuses (exit 1, one
message naming the file and line) a document that is not valid YAML or not a usable OpenAPI
3.x document, so a broken document fails the build instead of being served.

usage: gen_openapi.py INPUT.yaml OUTPUT.c
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


def c_string_lines(text, width=96):
    """text (ASCII) as a sequence of C string literals of at most width characters each."""
    lines = []
    for i in range(0, len(text), width):
        chunk = text[i:i + width].replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'    "{chunk}"')
    return "\n".join(lines)


def render_c(doc, source_name):
    text = json.dumps(doc, ensure_ascii=True, separators=(",", ":"))
    etag = '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'
    etag_c = etag.replace('"', '\\"')
    return (
        f"/* GENERATED from {source_name} by services/gateway/gen_openapi.py at build time.\n"
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
        print("usage: gen_openapi.py INPUT.yaml OUTPUT.c", file=sys.stderr)
        return 2
    source, out = argv[1], argv[2]
    try:
        doc = load(source)
    except OpenApiError as e:
        print(f"{source}: {e}", file=sys.stderr)
        return 1
    text = render_c(doc, "schemas/openapi.yaml")
    with open(out + ".tmp", "w", encoding="ascii") as f:
        f.write(text)
    os.replace(out + ".tmp", out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
