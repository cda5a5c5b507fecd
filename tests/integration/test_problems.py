"""Problem words (issue 15, item 3): the words documented in schemas/openapi.yaml
(x-problem-types, with a Norwegian text for each) are exactly the error table the processes send
from (brobygger-gateway --problems), every literal word the gateway's code sends is in it with
its one status, and real answers from the gateway and from a worker carry the table's type,
title and status."""
import os
import re
import subprocess

import pytest
import requests
import yaml

from conftest import BUILD, suffix

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
YAML = os.path.join(ROOT, "schemas", "openapi.yaml")
BASE = "https://brobygger.no/problems/"
# A refusal in the gateway's code: a call that names a status and a word, e.g.
# bro_h1_refuse(p, 431, "header-fields-too-large".
CALL = re.compile(r'\b(bro_\w*(?:problem|refuse))\(\s*\w+,\s*(\d{3}),\s*"([a-z-]+)"')
# An answer that names only its word, its status coming from the table:
# bro_http_problem(r, "not-found", ...).
WORD_CALL = re.compile(r'\b(bro_http_problem)\(\s*\w+,\s*"([a-z-]+)"')


@pytest.fixture(scope="module")
def table():
    """[(word, status, title)] as the gateway prints its table."""
    p = subprocess.run([os.path.join(BUILD, "brobygger-gateway"), "--problems"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    rows = []
    for line in p.stdout.splitlines():
        word, status, title = line.split("\t")
        rows.append((word, int(status), title))
    assert rows, "--problems printed nothing"
    return rows


@pytest.fixture(scope="module")
def documented():
    with open(YAML, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    return doc["components"]["schemas"]["Problem"]["x-problem-types"]


def by_word(table):
    return {word: (status, title) for word, status, title in table}


def test_documented_words_are_the_table(table, documented):
    words = [w for w, _, _ in table]
    assert len(set(words)) == len(words), f"a word twice in the table: {words}"
    listed = [(d["word"], d["status"], d["title"]) for d in documented]
    assert len({w for w, _, _ in listed}) == len(listed), "a word documented twice"
    missing = sorted(set(table) - set(listed))
    extra = sorted(set(listed) - set(table))
    assert not missing and not extra, \
        f"in the table, not documented (or documented otherwise): {missing}; " \
        f"documented, not in the table: {extra}"
    for d in documented:
        assert set(d) == {"word", "status", "title", "text"}, d
        assert d["text"].strip() and d["text"] != d["title"], f"{d['word']}: no Norwegian text"


def test_every_word_the_code_sends_is_in_the_table_with_its_status(table):
    words = by_word(table)
    wrong, seen = [], 0
    for top in ("services", "common"):
        for folder, _, files in os.walk(os.path.join(ROOT, top)):
            for name in (n for n in files if n.endswith(".c")):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                for func, status, word in CALL.findall(text):
                    seen += 1
                    if words.get(word, (None,))[0] != int(status):
                        wrong.append(f"{os.path.relpath(path, ROOT)}: {func} {status} {word!r}, "
                                     f"table: {words.get(word, 'no such word')}")
                for func, word in WORD_CALL.findall(text):
                    seen += 1
                    if word not in words:
                        wrong.append(f"{os.path.relpath(path, ROOT)}: {func} {word!r}: no such "
                                     "word in the table")
    assert seen >= 50, f"only {seen} calls found: has the calls' shape changed?"
    assert not wrong, "\n".join(wrong)


def assert_word(table, r, word):
    """r is a problem+json answer of this word with the table's status and title."""
    status, title = by_word(table)[word]
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    p = r.json()
    assert (p["type"], p["title"], p["status"]) == (BASE + word, title, status), p
    assert p["detail"], p
    return p


def test_answers_carry_the_table(service, tenants, table):
    api = service.api(tenants["a"]["coordinator"])
    # the gateway alone: no key, no route, a malformed header
    assert_word(table, requests.get(service.base + "/v1/me"), "unauthorized")
    assert_word(table, api.get("/v1/no-such-thing"), "not-found")
    p = assert_word(table, api.post("/v1/candidates", {"given_name": "A", "family_name": "B"},
                                    headers={"Idempotency-Key": "x" * 300}), "bad-request")
    assert p["errors"] == [{"field": "Idempotency-Key",
                            "message": "must be 1-255 printable ASCII characters"}]
    # a worker: validation with its fields, in English
    p = assert_word(table, api.post("/v1/candidates", {"given_name": "", "birth_year": 1800}),
                    "validation")
    assert {e["field"] for e in p["errors"]} >= {"given_name", "family_name", "birth_year"}, p
    # a worker: the same Idempotency-Key with another body
    headers = {"Idempotency-Key": "problem-" + suffix(12)}
    name = "Problem" + suffix()
    assert api.post("/v1/candidates", {"given_name": "I", "family_name": name},
                    headers=headers).status_code == 201
    p = assert_word(table, api.post("/v1/candidates", {"given_name": "J", "family_name": name},
                                    headers=headers), "idempotency-key-reused")
    assert "errors" not in p
