"""Input hygiene (issue 13, item 6): one-line texts refuse control characters, bidirectional
formatting and line separators with a 422 naming the field, multi-line texts keep their line
breaks and tabs, imports refuse the same per row and column, and a msgpack body with a repeated
key is refused like a JSON one."""
import msgpack
import pytest
import requests

from conftest import count_candidates, suffix, wait_until

# What no text may hold, one line or several: a control, an escape sequence, a bidi override.
REFUSED = ["Ka\x01ri", "\x1b[31mKari", "Kari\u202eirak"]
# What a one-line text refuses besides: line breaks, tabs, isolates, separators, C1 and DEL.
ALSO_REFUSED_IN_ONE_LINE = ["Kari\nNordmann", "Kari\tNordmann", "Kari\r\nN", "\u2066Kari\u2069",
                            "Kari\u2028", "Kari\u0085", "Kari\u007f", "\u200fKari"]


def new_candidate(api, **fields):
    r = api.post("/v1/candidates", {"given_name": "Rein", "family_name": suffix(), **fields})
    assert r.status_code == 201, r.text
    return r.json()


def fields_of(r):
    return [e["field"] for e in r.json()["errors"]]


@pytest.mark.parametrize("name", REFUSED + ALSO_REFUSED_IN_ONE_LINE)
def test_a_name_with_control_or_bidi_characters_is_422_naming_it(service, tenants, db, name):
    slug = tenants["a"]["slug"]
    before = count_candidates(db, slug)
    r = service.api(tenants["a"]["coordinator"]).post(
        "/v1/candidates", {"given_name": name, "family_name": "Nordmann"})
    assert r.status_code == 422, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    assert fields_of(r) == ["given_name"]
    assert count_candidates(db, slug) == before


def test_every_one_line_field_of_a_candidate_refuses_them(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    cid = new_candidate(api)["id"]
    for field, value in (("family_name", "Nord\u202emann"), ("referral_source", "skole\x01"),
                         ("primary_contact", "Ola\nHansen"), ("trusted_person", "\x1bmor"),
                         ("email", "kari\x01@example.no"), ("phone", "\u202e22 33 44 55")):
        r = api.patch(f"/v1/candidates/{cid}", {field: value})
        assert r.status_code == 422 and fields_of(r) == [field], (field, r.text)
    r = api.patch(f"/v1/candidates/{cid}", {"interests": ["dyr", "hage\u202e"]})
    assert r.status_code == 422 and fields_of(r) == ["interests[1]"], r.text
    r = api.get("/v1/candidates", params={"q": "Rein\x1b"})
    assert r.status_code == 422 and fields_of(r) == ["q"], r.text
    # Letters of any script and emoji are text, not formatting.
    r = api.patch(f"/v1/candidates/{cid}", {"family_name": "Ødegård-Sæther", "interests":
                                            ["\u05e9\u05dc\u05d5\u05dd", "hest \U0001f434"]})
    assert r.status_code == 200, r.text
    assert r.json()["family_name"] == "Ødegård-Sæther"


def test_nested_names_are_named_by_their_place(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    r = api.post("/v1/organizations", {"name": "Kiwi " + suffix(), "kind": "employer",
                                       "contacts": [{"name": "Ola"}, {"name": "Kari\u202e"}]})
    assert r.status_code == 422 and fields_of(r) == ["contacts.1.name"], r.text
    r = api.post("/v1/organizations", {"name": "Kiwi\x1b[0m", "kind": "employer"})
    assert r.status_code == 422 and fields_of(r) == ["name"], r.text


def test_a_journal_text_keeps_line_breaks_and_tabs(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    cid = new_candidate(api)["id"]
    text = "Samtale med Kari.\n\n\tØnsker:\n\t- dyr\r\n\t- hage\nAvtalt nytt møte."
    r = api.post(f"/v1/candidates/{cid}/journal",
                 {"kind": "samtale", "text": text, "occurred_at": "2026-03-02T10:15:00Z"})
    assert r.status_code == 201, r.text
    assert r.json()["text"] == text
    assert api.get(f"/v1/candidates/{cid}/journal/{r.json()['id']}").json()["text"] == text


@pytest.mark.parametrize("text", REFUSED + ["linje\rlinje", "a\u2029b", "\u2067x"])
def test_a_journal_text_refuses_the_other_controls(service, tenants, text):
    api = service.api(tenants["a"]["coordinator"])
    cid = new_candidate(api)["id"]
    r = api.post(f"/v1/candidates/{cid}/journal",
                 {"kind": "notat", "text": "ok\n" + text, "occurred_at": "2026-03-02T10:15:00Z"})
    assert r.status_code == 422 and fields_of(r) == ["text"], r.text
    assert api.get(f"/v1/candidates/{cid}/journal").json()["items"] == []


def test_other_multi_line_texts_keep_line_breaks(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    cid = new_candidate(api)["id"]
    r = api.post(f"/v1/candidates/{cid}/assessments",
                 {"resources": "Flink med dyr.\nLiker å være ute.", "wishes": "\tGårdsarbeid"})
    assert r.status_code == 201 and r.json()["resources"] == "Flink med dyr.\nLiker å være ute."
    r = api.post(f"/v1/candidates/{cid}/plans",
                 {"goals": ["Jobbe to dager i uka\nmed dyr"],
                  "steps": [{"text": "Besøke gården\nsammen", "responsible": "Ola"}]})
    assert r.status_code == 201 and r.json()["steps"][0]["text"] == "Besøke gården\nsammen"
    r = api.post(f"/v1/candidates/{cid}/plans",
                 {"steps": [{"text": "Besøke gården", "responsible": "Ola\nHansen"}]})
    assert r.status_code == 422 and fields_of(r) == ["steps.0.responsible"], r.text
    r = api.post(f"/v1/candidates/{cid}/plans", {"goals": ["ok", "mål\u202e"]})
    assert r.status_code == 422 and fields_of(r) == ["goals[1]"], r.text


def test_the_tenant_name_and_key_label_are_one_line(service, tenants):
    platform = service.api(tenants["platform"])
    for name in REFUSED + ["Ny\nkommune"]:
        r = platform.post("/v1/admin/tenants", {"slug": "hyg_" + suffix(), "name": name,
                                                "kommunenummer": "0999"})
        assert r.status_code == 422 and fields_of(r) == ["name"], r.text
    r = service.api(tenants["a"]["tenant_admin"]).post(
        "/v1/keys", {"role": "reader", "label": "rapport\u202e"})
    assert r.status_code == 422 and fields_of(r) == ["label"], r.text


def test_an_import_refuses_them_per_row_and_column(service, tenants, db):
    slug = tenants["a"]["slug"]
    api = service.api(tenants["a"]["coordinator"])
    fam = "Hyg" + suffix()
    text = ("fornavn;etternavn;henvist av\n"
            f"Anne;{fam};skole\n"                    # row 2: good
            f"Ka\x01ri;{fam};selv\n"                 # row 3: a control in the given name
            f"Bente;{fam};\x1b[31mNAV\n"             # row 4: an escape in the referral source
            f"Cato;{fam}\u202e;selv\n"               # row 5: an override in the family name
            f"Dina;{fam};\"skole\nRingerike\"\n")    # row 6: a line break in a one-line cell
    r = api.s.post(api.base + "/v1/imports", data=text.encode(), timeout=20,
                   headers={"Content-Type": "text/csv; charset=utf-8"})
    assert r.status_code == 202, r.text

    def finished():
        job = api.get(f"/v1/imports/{r.json()['id']}").json()
        return job if job["status"] in ("done", "failed") else None
    done = wait_until(finished, timeout=60, what="the import to finish")
    assert (done["status"], done["succeeded"], done["failed"]) == ("done", 1, 4), done
    assert sorted((e["row"], e["field"], e["column"]) for e in done["errors"]) == [
        (3, "given_name", "fornavn"), (4, "referral_source", "henvist av"),
        (5, "family_name", "etternavn"), (6, "referral_source", "henvist av")]
    assert count_candidates(db, slug, "family_name = %s", (fam,)) == 1


def test_an_organisation_import_keeps_line_breaks_in_notes(service, tenants, db):
    api = service.api(tenants["a"]["coordinator"])
    tag = suffix()
    text = (f"navn;type;notater\r\nGården {tag};arbeidsgiver;\"Hester og sauer.\r\nRing før "
            f"besøk.\"\r\nKafé\x01 {tag};arbeidsgiver;\r\n")
    r = api.s.post(api.base + "/v1/imports", data=text.encode(), params={"type": "organizations"},
                   timeout=20, headers={"Content-Type": "text/csv; charset=utf-8"})
    assert r.status_code == 202, r.text

    def finished():
        job = api.get(f"/v1/imports/{r.json()['id']}").json()
        return job if job["status"] in ("done", "failed") else None
    done = wait_until(finished, timeout=60, what="the import to finish")
    assert (done["succeeded"], done["failed"]) == (1, 1), done
    assert [(e["row"], e["field"]) for e in done["errors"]] == [(3, "name")]
    with db.cursor() as cur:
        cur.execute(f'SELECT notes FROM "t_{tenants["a"]["slug"]}".organizations WHERE name = %s',
                    (f"Gården {tag}",))
        assert cur.fetchone()[0] == "Hester og sauer.\r\nRing før besøk."


def msgpack_post(service, key, data):
    return requests.post(service.base + "/v1/candidates", data=data, timeout=20,
                         headers={"Authorization": f"Bearer {key}",
                                  "Content-Type": "application/msgpack"})


def test_a_msgpack_body_with_a_repeated_key_is_400(service, tenants, db):
    slug = tenants["a"]["slug"]
    key = tenants["a"]["coordinator"]
    before = count_candidates(db, slug)
    fam = msgpack.packb("Nordmann")
    # {"given_name": "A", "family_name": ..., "given_name": "B"}: packb cannot repeat a key
    top = b"\x83\xaagiven_name\xa1A\xabfamily_name" + fam + b"\xaagiven_name\xa1B"
    # the same one level down: {"given_name": "A", "family_name": ..., "availability":
    # {"mon": ["day"], "mon": ["evening"]}}
    nested = (b"\x83\xaagiven_name\xa1A\xabfamily_name" + fam + b"\xacavailability\x82"
              + b"\xa3mon" + msgpack.packb(["day"]) + b"\xa3mon" + msgpack.packb(["evening"]))
    for data in (top, nested):
        r = msgpack_post(service, key, data)
        assert r.status_code == 400, r.text
        assert r.headers["Content-Type"] == "application/problem+json"
        assert fields_of(r) == ["body"]
    assert count_candidates(db, slug) == before
    # the same bodies without the repeat are fine
    r = msgpack_post(service, key, msgpack.packb({"given_name": "A", "family_name": "Nordmann",
                                                  "availability": {"mon": ["day"]}}))
    assert r.status_code == 201, r.text
