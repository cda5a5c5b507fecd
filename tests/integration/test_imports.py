"""CSV imports end to end: 202 with a job, rows imported by a worker in steps, row errors with
their row and field, the file checked before anything is stored, jobs of another tenant hidden,
and an import that survives its worker being killed with every row imported exactly once."""
import re
import signal
import uuid

import pytest

from conftest import (Held, Service, count_candidates, lock_waiters, private_redis, suffix,
                      valid_org_number, wait_until)
from test_openapi import assert_documented, doc  # noqa: F401 (doc is a fixture)

TERMINAL = ("done", "failed")



def post_csv(api, text, type_=None, headers=None, encoding="utf-8"):
    """POSTs text as a text/csv body (bytes go as they are)."""
    body = text if isinstance(text, bytes) else text.encode(encoding)
    params = {"type": type_} if type_ else None
    return api.s.post(api.base + "/v1/imports", data=body, params=params, timeout=20,
                      headers={"Content-Type": "text/csv; charset=utf-8", **(headers or {})})


def finished(api, job_id, timeout=60):
    """Polls the import until it is done or failed; returns its last state."""
    def poll():
        r = api.get(f"/v1/imports/{job_id}")
        assert r.status_code == 200, r.text
        return r.json() if r.json()["status"] in TERMINAL else None
    return wait_until(poll, timeout=timeout, interval=0.1, what=f"import {job_id} to finish")


def accepted(r):
    assert r.status_code == 202, r.text
    job = r.json()
    uuid.UUID(job["id"])
    assert job["status"] == "queued" and job["kind"] == "import"
    assert job["succeeded"] == 0 and job["failed"] == 0 and job["errors"] == []
    return job


def candidates_named(db, slug, family):
    with db.cursor() as cur:
        cur.execute(f'SELECT given_name, family_name, birth_year, postal_code, ref, interests, '
                    f'needs_transport, income_basis, availability FROM "t_{slug}".candidates '
                    f'WHERE family_name = %s ORDER BY given_name', (family,))
        return cur.fetchall()


def count_jobs(db, slug):
    with db.cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "t_{slug}".jobs')
        return cur.fetchone()[0]


# ---- good and bad rows ------------------------------------------------------------------------

def test_good_rows_are_imported_and_bad_rows_reported(service, tenants, db):
    slug = tenants["a"]["slug"]
    api = service.api(tenants["a"]["coordinator"])
    fam = "Import" + suffix()
    text = ("given_name;family_name;birth_year;postal_code;interests;needs_transport\n"
            f"Anne;{fam};1980;3510;hage, dyr;ja\n"               # row 2: good
            f"Bente;{fam};1800;35100;;nei\n"                     # row 3: fails validation
            f"Cato;{fam};nitten;3510;;kanskje\n"                 # row 4: cells that do not read
            f";{fam};;;;\n"                                      # row 5: no given_name
            ";;;;;\n"                                            # row 6: blank, skipped
            f"Dina;{fam};;0150;snekring|fiske;x\n")              # row 7: good
    job = accepted(post_csv(api, text))
    assert job["total"] == 5 and job["progress"] == 0
    done = finished(api, job["id"])
    assert done["status"] == "done" and done["progress"] == 1
    assert (done["succeeded"], done["failed"], done["total"]) == (2, 3, 5)
    assert done["started_at"] and done["finished_at"] and done["created_at"]
    errors = {(e["row"], e["field"]) for e in done["errors"]}
    assert errors == {(3, "birth_year"), (3, "postal_code"), (4, "birth_year"),
                      (4, "needs_transport"), (5, "given_name")}
    for e in done["errors"]:
        assert e["message"]
        if e["field"] == "postal_code":
            assert e["column"] == "postal_code"

    rows = candidates_named(db, slug, fam)
    assert [r[0] for r in rows] == ["Anne", "Dina"]
    anne, dina = rows
    assert anne[2] == 1980 and anne[3] == "3510" and anne[5] == ["hage", "dyr"] and anne[6]
    assert dina[3] == "0150" and dina[5] == ["snekring", "fiske"] and dina[6] is True
    for r in rows:
        assert re.match(r"^K-\d{4}-\d{4,}$", r[4])
    # Each imported row is audited under the import's job, and the file is not kept.
    with db.cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "t_{slug}".audit_log WHERE job_id = %s '
                    "AND action = 'candidate.create'", (job["id"],))
        assert cur.fetchone()[0] == 2
        cur.execute(f'SELECT input IS NULL, cursor FROM "t_{slug}".jobs WHERE id = %s',
                    (job["id"],))
        assert cur.fetchone() == (True, 6)
    # The generic job route tells the same.
    r = api.get(f"/v1/jobs/{job['id']}")
    assert r.status_code == 200 and r.json() == done


def test_json_body_with_type(service, tenants, db):
    api = service.api(tenants["a"]["tenant_admin"])
    fam = "Json" + suffix()
    r = api.post("/v1/imports", {"type": "candidates",
                                 "csv": f"fornavn,etternavn\nJon,{fam}\nJens,{fam}\n"})
    job = accepted(r)
    assert job["type"] == "candidates"
    assert finished(api, job["id"])["succeeded"] == 2
    assert len(candidates_named(db, tenants["a"]["slug"], fam)) == 2


def test_a_row_the_database_refuses_is_reported_and_the_others_kept(service, tenants, db):
    # A unique rule the validation does not know, as organisation numbers have: the second
    # row with the address is refused by the database, under its own savepoint.
    slug = tenants["b"]["slug"]
    api = service.api(tenants["b"]["coordinator"])
    fam = "Unik" + suffix()
    domain = f"@{fam.lower()}.test"
    index = f"test_imports_{fam.lower()}"
    with db.cursor() as cur:
        cur.execute(f'CREATE UNIQUE INDEX {index} ON "t_{slug}".candidates (email) '
                    f"WHERE email LIKE '%%{domain}'")
    try:
        text = ("fornavn;etternavn;e-post\n"
                f"En;{fam};en{domain}\n"
                f"To;{fam};en{domain}\n"
                f"Tre;{fam};tre{domain}\n")
        done = finished(api, accepted(post_csv(api, text))["id"])
        assert (done["succeeded"], done["failed"]) == (2, 1), done
        assert [(e["row"], e["field"]) for e in done["errors"]] == [(3, None)]
        assert "exists already" in done["errors"][0]["message"]
        assert [r[0] for r in candidates_named(db, slug, fam)] == ["En", "Tre"]
    finally:
        with db.cursor() as cur:
            cur.execute(f'DROP INDEX "t_{slug}".{index}')


def test_organizations_import(service, tenants, db):
    slug = tenants["a"]["slug"]
    api = service.api(tenants["a"]["tenant_admin"])
    tag = suffix()
    number = valid_org_number(int.from_bytes(tag.encode(), "big"))
    text = ("Navn;Type;Organisasjonsnummer;Postnummer;Adresse;Notater\n"
            f"Menova {tag};Arbeidsmarkedsbedrift;{number[:3]} {number[3:6]} {number[6:]};3511;"
            "Storgata 1;VTA\n"
            f"Dobbel {tag};arbeidsgiver;{number};3511;;\n"          # the same number: refused
            f"Kiwi {tag};butikk;;3510;;\n"                           # unknown kind
            f"NAV Ringerike {tag};NAV-kontor;;3510;;\n")
    r = post_csv(api, text, type_="organizations")
    done = finished(api, accepted(r)["id"])
    assert done["type"] == "organizations"
    assert (done["succeeded"], done["failed"]) == (2, 2), done
    assert {(e["row"], e["field"]) for e in done["errors"]} >= {(4, "kind")}
    assert {e["row"] for e in done["errors"]} == {3, 4}
    with db.cursor() as cur:
        cur.execute(f'SELECT name, kind, org_number FROM "t_{slug}".organizations '
                    "WHERE name LIKE %s ORDER BY name", (f"%{tag}",))
        assert cur.fetchall() == [(f"Menova {tag}", "labour_market_company", number),
                                  (f"NAV Ringerike {tag}", "nav_office", None)]


# ---- what spreadsheets write ------------------------------------------------------------------

def test_separators_are_detected(service, tenants, db):
    api = service.api(tenants["a"]["coordinator"])
    for sep in (";", ",", "\t"):
        fam = "Sep" + suffix()
        text = sep.join(["fornavn", "etternavn", "fødselsår"]) + "\r\n" + \
            sep.join(["Siri", fam, "1990"]) + "\r\n" + sep.join(["Sverre", fam, "1991"]) + "\r\n"
        done = finished(api, accepted(post_csv(api, text))["id"])
        assert (done["succeeded"], done["failed"]) == (2, 0), (repr(sep), done)
        rows = candidates_named(db, tenants["a"]["slug"], fam)
        assert [(r[0], r[2]) for r in rows] == [("Siri", 1990), ("Sverre", 1991)]


def test_bom_and_quoted_fields_with_line_breaks(service, tenants, db):
    slug = tenants["a"]["slug"]
    api = service.api(tenants["a"]["coordinator"])
    fam = "Sitat" + suffix()
    # A quoted line break is read as part of its cell, and the cell is one spreadsheet row; a
    # one-line field (referral_source) then refuses it, as the API would.
    text = ("\ufeffFornavn;Etternavn;Henvist av;Tilrettelegging\r\n"
            f"\"Kari \"\"Kua\"\" Ås\";{fam};\"psykisk helse; Ringerike\";\"stille rom, pauser\"\r\n"
            f"Ola;{fam};\"skole\r\nRingerike\";\r\n"
            f"Per;{fam};\"selv\";\r\n")
    done = finished(api, accepted(post_csv(api, text))["id"])
    assert (done["succeeded"], done["failed"]) == (2, 1), done
    assert [(e["row"], e["field"], e["column"]) for e in done["errors"]] == \
        [(3, "referral_source", "Henvist av")]
    with db.cursor() as cur:
        cur.execute(f'SELECT given_name, referral_source, accommodations FROM "t_{slug}".candidates '
                    "WHERE family_name = %s ORDER BY given_name", (fam,))
        rows = cur.fetchall()
    assert rows == [('Kari "Kua" Ås', "psykisk helse; Ringerike", ["stille rom", "pauser"]),
                    ("Per", "selv", [])]


def test_norwegian_headers_and_values(service, tenants, db):
    slug = tenants["a"]["slug"]
    api = service.api(tenants["a"]["coordinator"])
    fam = "Norsk" + suffix()
    header = ("Fornavn;ETTERNAVN; Fødselsår ;Telefon;E-post;Postnummer;Inntektsgrunnlag;"
              "Henvist av;Interesser;Ferdigheter;Tilrettelegging;Språk;Transportbehov;Pararbeid;"
              "Maks reiseavstand (km);Primærkontakt;Tillitsperson;Tilgjengelighet")
    row = (f"Åse;{fam};1975;+47 900 00 000;ase@example.no;150;Uføretrygd;NAV;dyr|gårdsarbeid;"
           "kjøring;skjermet;norsk, arabisk;JA;x;25;Lise i kommunen;søster;man:dag, ons:kveld")
    done = finished(api, accepted(post_csv(api, header + "\n" + row + "\n"))["id"])
    assert (done["succeeded"], done["failed"]) == (1, 0), done
    with db.cursor() as cur:
        cur.execute(f'SELECT given_name, birth_year, phone, email, postal_code, income_basis, '
                    "referral_source, interests, skills, accommodations, languages, "
                    "needs_transport, prefers_pair_work, max_travel_km, primary_contact, "
                    f'trusted_person, availability FROM "t_{slug}".candidates '
                    "WHERE family_name = %s", (fam,))
        got = cur.fetchone()
    assert got == ("Åse", 1975, "+47 900 00 000", "ase@example.no", "0150", "uforetrygd", "NAV",
                   ["dyr", "gårdsarbeid"], ["kjøring"], ["skjermet"], ["norsk", "arabisk"],
                   True, True, 25, "Lise i kommunen", "søster",
                   {"mon": ["day"], "wed": ["evening"]})


# ---- the file is checked before anything is stored --------------------------------------------

def test_bad_files_are_422_and_store_nothing(service, tenants, db):
    slug = tenants["a"]["slug"]
    api = service.api(tenants["a"]["coordinator"])
    cases = [
        ("fornavn;etternavn;favorittfarge\nKari;Nordmann;blå\n", "favorittfarge"),
        ("fornavn;postnummer\nKari;3510\n", "etternavn"),
        ("", "empty"),
        ("\ufeff", "empty"),
        ("fornavn;etternavn\n", "no rows"),
        ("fornavn;etternavn\nKari;\"Nordmann\n", "row 2"),
        ("fornavn;fornavn;etternavn\nA;B;C\n", "both name given_name"),
    ]
    jobs = count_jobs(db, slug)
    for text, part in cases:
        r = post_csv(api, text)
        assert r.status_code == 422, (text, r.text)
        problem = r.json()
        assert r.headers["Content-Type"].startswith("application/problem+json")
        messages = " ".join(e["message"] for e in problem["errors"])
        assert all(e["field"] == "csv" for e in problem["errors"]), problem
        assert part in messages, (part, problem)
    assert count_jobs(db, slug) == jobs


def test_too_many_rows_is_refused(service, tenants, db):
    api = service.api(tenants["a"]["coordinator"])
    text = "fornavn;etternavn\n" + "A;B\n" * 10001
    r = post_csv(api, text)
    # The body (40 kB) is far under BROBYGGER_MAX_BODY, so this is no 413: the rows are a
    # field that fails validation.
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{"field": "csv",
                                   "message": "more than 10000 rows; split the file"}]


def test_bad_type_and_fields_are_422(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    text = "fornavn;etternavn\nA;B\n"
    r = post_csv(api, text, type_="openings")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "type"
    r = api.post("/v1/imports", {"type": "candidates", "csv": text, "extra": 1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "extra"
    r = api.post("/v1/imports", {"type": "organizations", "csv": text},
                 params={"type": "candidates"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "type"
    r = api.post("/v1/imports", {"csv": 5})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "csv"


def test_windows_1252_file_is_refused_with_a_clear_message(service, tenants, db):
    slug = tenants["a"]["slug"]
    api = service.api(tenants["a"]["coordinator"])
    jobs = count_jobs(db, slug)
    text = "fornavn;etternavn\nKari;Nordmann\nBjørn;Dæhli\n".encode("cp1252")
    r = post_csv(api, text)
    # A text/csv body that is not UTF-8 cannot be read at all: 400 naming the body (422 would
    # mean it was read and a field failed).
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert "row 3" in detail and "CSV UTF-8" in detail, detail
    assert [e["field"] for e in r.json()["errors"]] == ["body"]
    assert count_jobs(db, slug) == jobs


def test_reader_cannot_import(service, tenants):
    r = post_csv(service.api(tenants["a"]["reader"]), "fornavn;etternavn\nA;B\n")
    assert r.status_code == 403


# ---- jobs: idempotency, tenants, lists --------------------------------------------------------

def test_idempotency_key_gives_the_same_job(service, tenants, db):
    api = service.api(tenants["a"]["coordinator"])
    fam = "Idem" + suffix()
    text = f"fornavn;etternavn\nIda;{fam}\n"
    key = {"Idempotency-Key": "import-" + fam}
    first = accepted(post_csv(api, text, headers=key))
    again = post_csv(api, text, headers=key)
    assert again.status_code == 202 and again.json()["id"] == first["id"]
    finished(api, first["id"])
    third = post_csv(api, text, headers=key)
    assert third.status_code == 202 and third.json()["id"] == first["id"]
    assert len(candidates_named(db, tenants["a"]["slug"], fam)) == 1
    # The same key with another file is refused.
    assert post_csv(api, text + f"Ola;{fam}\n", headers=key).status_code == 422


def test_other_tenant_gets_404_on_the_job(service, tenants):
    a = service.api(tenants["a"]["coordinator"])
    b = service.api(tenants["b"]["coordinator"])
    job = accepted(post_csv(a, f"fornavn;etternavn\nA;{suffix()}\n"))
    assert b.get(f"/v1/imports/{job['id']}").status_code == 404
    assert b.get(f"/v1/jobs/{job['id']}").status_code == 404
    ids = [j["id"] for j in b.get("/v1/imports", params={"limit": 200}).json()["items"]]
    assert job["id"] not in ids
    assert a.get(f"/v1/jobs/{uuid.uuid4()}").status_code == 404
    finished(a, job["id"])


def test_list_is_newest_first_in_pages_without_errors(service, tenants):
    api = service.api(tenants["a"]["coordinator"])
    made = [accepted(post_csv(api, f"fornavn;etternavn\nA;{suffix()}\n"))["id"]
            for _ in range(3)]
    page = api.get("/v1/imports", params={"limit": 2}).json()
    assert [j["id"] for j in page["items"]] == made[::-1][:2]
    assert all("errors" not in j for j in page["items"])
    rest = api.get("/v1/imports", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert rest["items"][0]["id"] == made[0]
    assert api.get("/v1/imports", params={"limit": 0}).status_code == 422
    for job_id in made:
        finished(api, job_id)


def test_answers_fit_the_openapi_document(service, tenants, doc):  # noqa: F811
    api = service.api(tenants["a"]["coordinator"])
    body = {"type": "candidates", "csv": f"fornavn;etternavn;fødselsår\nA;{suffix()};1800\n"}
    r = api.post("/v1/imports", body)
    assert_documented(doc, "POST", "/v1/imports", r, body)
    job = r.json()
    finished(api, job["id"])
    r = api.get(f"/v1/imports/{job['id']}")
    assert r.json()["errors"], r.text
    assert_documented(doc, "GET", "/v1/imports/{id}", r)
    assert_documented(doc, "GET", "/v1/jobs/{id}", api.get(f"/v1/jobs/{job['id']}"))
    assert_documented(doc, "GET", "/v1/jobs/{id}", api.get(f"/v1/jobs/{uuid.uuid4()}"))
    assert_documented(doc, "GET", "/v1/imports", api.get("/v1/imports", params={"limit": 2}))
    assert_documented(doc, "POST", "/v1/imports", post_csv(api, "fornavn;x\n"))
    assert_documented(doc, "POST", "/v1/imports",
                      post_csv(api, "fornavn;etternavn\nBjørn;B\n".encode("cp1252")))


# ---- a worker killed during a large import ----------------------------------------------------

def test_import_survives_a_killed_worker_with_every_row_once(migrated, tenants, db, rds):
    # A Redis database of its own, so only this test's workers take the job.
    url, own = private_redis(rds, 13)
    svc = Service(redis_url=url, workers=1)
    slug = tenants["a"]["slug"]
    lock = None
    try:
        svc.wait_ready()
        api = svc.api(tenants["a"]["coordinator"])
        fam = "Krasj" + suffix()
        n = 3000
        text = "fornavn;etternavn;fødselsår\n" + "".join(
            f"Rad{i:05d};{fam};{1950 + i % 50}\n" for i in range(n))
        job = accepted(post_csv(api, text))

        def cursor():
            with db.cursor() as cur:
                cur.execute(f'SELECT cursor FROM "t_{slug}".jobs WHERE id = %s', (job["id"],))
                return cur.fetchone()[0]
        wait_until(lambda: cursor() >= 200, timeout=60, what="the first step")
        # Hold the row every candidate insert updates: the worker stops inside its next step,
        # with the job locked and the step's transaction open.
        lock = Held(f'SELECT * FROM "t_{slug}".ref_counters FOR UPDATE')
        wait_until(lambda: lock_waiters(db), what="the worker to wait inside a step")
        at_kill = cursor()
        assert 0 < at_kill < n
        svc.workers[0].stop(signal.SIGKILL)
        lock.release()
        # Two workers: one resumes the import (its steps run back to back), the other answers
        # the polls below within the request timeout.
        svc.start_worker()
        svc.start_worker()
        done = finished(api, job["id"], timeout=180)
        assert done["status"] == "done", done
        assert (done["succeeded"], done["failed"], done["total"]) == (n, 0, n)
        assert count_candidates(db, slug, "family_name = %s", (fam,)) == n
        with db.cursor() as cur:
            cur.execute(f'SELECT count(DISTINCT given_name), count(DISTINCT ref) FROM "t_{slug}".'
                        "candidates WHERE family_name = %s", (fam,))
            assert cur.fetchone() == (n, n)
        wait_until(lambda: own.xpending("bro:q:records", "workers")["pending"] == 0,
                   what="the import's message acknowledged")
    finally:
        if lock:
            lock.release()
        svc.stop_after_kill(svc.procs[1])  # the worker the test killed
