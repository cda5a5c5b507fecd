"""Reports end to end: each type on small hand-made data whose figures were counted by hand,
seed 000's caseload table reproduced, small-cell suppression across tenants, and each format
opened by an independent reader (openpyxl for xlsx, Python's csv module, headless Chromium for
html). Each hand-made tenant is new, so nothing else the suite does moves its figures."""
import csv
import datetime
import io
import json
import os
import random
import shutil
import subprocess
import tempfile
from fractions import Fraction

import pytest

from conftest import Held, admin, issue_key, lock_waiters, suffix, uuid7, wait_until

TERMINAL = ("done", "failed")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---- hand-made tenants ------------------------------------------------------------------------

def new_tenant(db):
    """A tenant of its own with a reader and a coordinator key."""
    slug = f"rep_{suffix()}"
    while True:
        p = admin("tenant", "create", "--slug", slug, "--name", f"Rapport {slug}",
                  "--kommunenummer", f"{random.randint(1000, 9999)}", check=False)
        if p.returncode == 0:
            break
    return {"slug": slug, "schema": f'"t_{slug}"', "reader": issue_key(slug, "reader"),
            "coordinator": issue_key(slug, "coordinator")}


def at(day, hour=12):
    """A timestamp at noon UTC of an ISO date, so day counts are whole."""
    return f"{day} {hour:02d}:00:00+00"


def add_candidate(db, t, ref, changes, birth_year=None, income=None):
    """A candidate whose history is changes [(status, measure, date)], oldest first; the first
    is the creation. Returns its id."""
    cid = uuid7()
    status, measure, _ = changes[-1]
    with db.cursor() as cur:
        cur.execute(f"INSERT INTO {t['schema']}.candidates (id, ref, given_name, family_name, "
                    f"birth_year, income_basis, status, measure, created_by, created_at) VALUES "
                    f"(%s, %s, 'Test', 'Person', %s, %s, %s, %s, 'test', %s)",
                    (cid, ref, birth_year, income, status, measure, at(changes[0][2])))
        previous = None
        for to, m, day in changes:
            cur.execute(f"INSERT INTO {t['schema']}.status_history (candidate_id, from_status, "
                        f"to_status, measure, key_id, role, at) VALUES (%s, %s, %s, %s, 'test', "
                        f"'coordinator', %s)", (cid, previous, to, m, at(day)))
            previous = to
    return cid


def add_org(db, t, kind):
    oid = uuid7()
    with db.cursor() as cur:
        cur.execute(f"INSERT INTO {t['schema']}.organizations (id, name, kind, created_by) "
                    f"VALUES (%s, %s, %s, 'test')", (oid, f"Org {kind} {suffix()}", kind))
    return oid


def add_opening(db, t, org, kind, role=None, active=True, created="2025-01-01"):
    oid = uuid7()
    with db.cursor() as cur:
        cur.execute(f"INSERT INTO {t['schema']}.openings (id, organization_id, kind, title, role, "
                    f"active, created_by, created_at) VALUES (%s, %s, %s, 'Plass', %s, %s, "
                    f"'test', %s)", (oid, org, kind, role, active, at(created)))
    return oid


def add_match(db, t, cand, opening, status="placed", day="2026-01-20", hours=None,
              nav_decision=None):
    mid = uuid7()
    with db.cursor() as cur:
        cur.execute(f"INSERT INTO {t['schema']}.matches (id, candidate_id, opening_id, status, "
                    f"hours_freed_per_shift, nav_decision, created_at, updated_at) VALUES "
                    f"(%s, %s, %s, %s, %s, %s, %s, %s)",
                    (mid, cand, opening, status, hours, nav_decision, at(day), at(day)))
    return mid


def made(api, body, path="/v1/reports", timeout=60):
    """Orders a report, waits for it to finish; returns (state, the file's response)."""
    r = api.post(path, body)
    assert r.status_code == 202, r.text
    report = r.json()
    assert report["status"] == "queued" and report["progress"] == 0
    rid = report["id"]

    def finished():
        s = api.get(f"{path}/{rid}")
        assert s.status_code == 200, s.text
        return s.json() if s.json()["status"] in TERMINAL else None
    state = wait_until(finished, timeout=timeout, interval=0.1, what=f"report {rid}")
    assert state["status"] == "done", state
    assert state["progress"] == 1
    return state, api.get(f"{path}/{rid}/download")


def table(doc, name):
    return next(t for t in doc["tables"] if t["name"] == name)


def column(doc, name, key, value_key="count"):
    """{row[key]: row[value_key]} of a json report's table."""
    return {row[key]: row[value_key] for row in table(doc, name)["rows"]}


# ---- seed 000: the caseload table -------------------------------------------------------------

@pytest.fixture(scope="module")
def seed000(service, migrated):
    """Seed 000's 65 candidates: VTA 12, VTA-O 4, care helper (omsorgsmedhjelper) 4, work
    training or activity 7 (4 + 3), approach 31, closed 4, and the rest, 3, in intake."""
    from conftest import pg_admin
    db = pg_admin()
    t = new_tenant(db)
    care = add_opening(db, t, add_org(db, t, "municipal_unit"), "vta", role="omsorgsmedhjelper")
    n = 0

    def cand(changes, **kw):
        nonlocal n
        n += 1
        return add_candidate(db, t, f"K-2026-{n:04d}", changes, **kw)
    way = [("henvist", None, "2026-01-05"), ("tilnaerming", None, "2026-01-20"),
           ("kartlagt", None, "2026-02-10"), ("arbeidstrening", None, "2026-03-01")]
    for _ in range(12):
        cand(way + [("i_tiltak", "vta", "2026-05-01")])
    for _ in range(4):
        cand(way + [("i_tiltak", "vta_o", "2026-05-01")])
    for _ in range(4):
        add_match(db, t, cand(way + [("i_tiltak", "vta", "2026-06-01")]), care, day="2026-06-01")
    for _ in range(4):
        cand(way)
    for _ in range(3):
        cand(way + [("i_tiltak", "aktivitet", "2026-04-01")])
    for _ in range(31):
        cand(way[:2])
    for _ in range(4):
        cand(way[:2] + [("avsluttet", None, "2026-03-01")])
    for _ in range(3):
        cand(way[:1])
    db.close()
    return t


def test_pipeline_reproduces_the_caseload_of_seed_000(service, seed000):
    reader = service.api(seed000["reader"])
    state, f = made(reader, {"type": "pipeline", "period": "2026", "format": "json"})
    assert f.status_code == 200
    assert f.headers["Content-Type"] == "application/json"
    assert state["filename"] == "kandidater-2026.json"
    doc = f.json()
    caseload = column(doc, "caseload", "group")
    assert caseload["VTA"] == 12
    assert caseload["VTA-O"] == 4
    assert caseload["Omsorgsmedhjelper"] == 4
    assert caseload["Arbeidstrening/aktivitet"] == 7
    assert caseload["Tilnærming"] == 31
    assert caseload["Avsluttet"] == 4
    assert caseload["Henvist (inntak)"] == 3
    assert caseload["Antall kandidater"] == 65
    assert sum(v for k, v in caseload.items() if k != "Antall kandidater") == 65
    roles = {(r["role"], r["kind"]): r["count"] for r in table(doc, "placements_by_role")["rows"]}
    assert roles == {("omsorgsmedhjelper", "VTA"): 4}
    measures = column(doc, "by_measure", "group")
    assert measures["VTA"] == 16 and measures["VTA-O"] == 4 and measures["Aktivitet"] == 3


def test_a_report_moves_through_running_while_it_counts(service, seed000, db):
    """With the history locked the count waits: the report is running, part way, and done
    with progress 1 once the lock goes."""
    reader = service.api(seed000["reader"])
    held = Held(f"LOCK TABLE {seed000['schema']}.status_history IN ACCESS EXCLUSIVE MODE")
    try:
        r = reader.post("/v1/reports", {"type": "pipeline", "period": "2026", "format": "csv"})
        assert r.status_code == 202
        rid = r.json()["id"]
        wait_until(lambda: lock_waiters(db), what="the count to wait on the lock")
        state = reader.get(f"/v1/reports/{rid}").json()
        assert state["status"] == "running" and 0 < state["progress"] < 1, state
        assert reader.get(f"/v1/reports/{rid}/download").status_code == 409
    finally:
        held.release()
    done = wait_until(lambda: reader.get(f"/v1/reports/{rid}").json()["status"] == "done"
                      and reader.get(f"/v1/reports/{rid}").json(), what="the report")
    assert done["progress"] == 1 and done["size"] > 0
    with db.cursor() as cur:
        cur.execute(f"SELECT payload FROM {seed000['schema']}.outbox WHERE event = 'report.ready' "
                    f"AND aggregate_id = %s", (rid,))
        assert cur.fetchall() == [({"report_id": rid, "type": "pipeline", "format": "csv"},)]


def test_a_stored_file_is_compressed_with_lz4(service, seed000, db):
    """A report's file is kept compressed with lz4 (tenant version 11), not pglz: an html page
    shrinks, and the stored value says which method made it."""
    reader = service.api(seed000["reader"])
    r = reader.post("/v1/reports", {"type": "pipeline", "period": "2026", "format": "html"})
    assert r.status_code == 202
    rid = r.json()["id"]
    wait_until(lambda: reader.get(f"/v1/reports/{rid}").json()["status"] == "done",
               what="the report")
    with db.cursor() as cur:
        cur.execute(f"SELECT pg_column_compression(file), pg_column_size(file), length(file) "
                    f"FROM {seed000['schema']}.reports WHERE id = %s", (rid,))
        method, stored, size = cur.fetchone()
    assert method == "lz4" and stored < size, (method, stored, size)


def test_a_report_is_a_job_at_v1_jobs_like_imports_and_matching_runs(service, seed000, db):
    """GET /v1/jobs/{id} answers for a report as for any asynchronous job: kind report, its
    type, running part way while the count waits on a lock, then done with progress 1."""
    reader = service.api(seed000["reader"])
    coordinator = service.api(seed000["coordinator"])
    held = Held(f"LOCK TABLE {seed000['schema']}.status_history IN ACCESS EXCLUSIVE MODE")
    try:
        r = reader.post("/v1/reports", {"type": "indicators", "period": "2026", "format": "json"})
        assert r.status_code == 202
        rid = r.json()["id"]
        wait_until(lambda: lock_waiters(db), what="the count to wait on the lock")
        job = coordinator.get(f"/v1/jobs/{rid}")
        assert job.status_code == 200, job.text
        running = job.json()
        assert (running["id"], running["kind"], running["type"]) == (rid, "report", "indicators")
        assert running["status"] == "running" and 0 < running["progress"] < 1, running
        assert running["finished_at"] is None
    finally:
        held.release()
    done = wait_until(lambda: coordinator.get(f"/v1/jobs/{rid}").json()["status"] == "done"
                      and coordinator.get(f"/v1/jobs/{rid}").json(), what="the report's job")
    assert done["progress"] == 1 and done["summary"] == {} and done["finished_at"] is not None
    assert coordinator.get(f"/v1/jobs/{uuid7()}").status_code == 404


def test_both_reads_of_the_pass_see_the_snapshot_the_count_began_with(service, db):
    """The history is read on a second connection, which imports the count's snapshot. With the
    candidates locked, the count has taken its snapshot and waits; a closure committed then (in
    the lock's own transaction, which ends the wait) is after the snapshot, so neither read sees
    it, though the history's read starts after the commit."""
    from conftest import pg_admin
    setup = pg_admin()
    t = new_tenant(setup)
    cid = add_candidate(setup, t, "K-2026-0201", [("henvist", None, "2026-01-05"),
                                                  ("tilnaerming", None, "2026-01-20")])
    setup.close()
    reader = service.api(t["reader"])
    held = Held(f"LOCK TABLE {t['schema']}.candidates IN ACCESS EXCLUSIVE MODE")
    try:
        r = reader.post("/v1/reports", {"type": "pipeline", "period": "2026", "format": "json"})
        assert r.status_code == 202
        rid = r.json()["id"]
        wait_until(lambda: lock_waiters(db), what="the count to wait on the candidates")
        with held.conn.cursor() as cur:
            cur.execute(f"INSERT INTO {t['schema']}.status_history (candidate_id, from_status, "
                        f"to_status, key_id, role, at) VALUES (%s, 'tilnaerming', 'avsluttet', "
                        f"'test', 'coordinator', %s)", (cid, at("2026-03-01")))
        held.conn.commit()
    finally:
        held.release()
    state = wait_until(lambda: reader.get(f"/v1/reports/{rid}").json()["status"] in TERMINAL
                       and reader.get(f"/v1/reports/{rid}").json(), what="the report")
    assert state["status"] == "done", state
    caseload = column(reader.get(f"/v1/reports/{rid}/download").json(), "caseload", "group")
    assert caseload["Tilnærming"] == 1 and caseload["Avsluttet"] == 0
    state, f = made(reader, {"type": "pipeline", "period": "2026", "format": "json"})
    caseload = column(f.json(), "caseload", "group")
    assert caseload["Tilnærming"] == 0 and caseload["Avsluttet"] == 1  # a later count sees it


def test_csv_is_rfc_4180_with_a_byte_order_mark(service, seed000):
    state, f = made(service.api(seed000["reader"]),
                    {"type": "pipeline", "period": "2026", "format": "csv"})
    assert f.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert f.headers["Content-Disposition"] == \
        "attachment; filename=\"kandidater-2026.csv\"; filename*=UTF-8''kandidater-2026.csv"
    assert f.content.startswith(b"\xef\xbb\xbf")
    text = f.content[3:].decode("utf-8")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len({len(r) for r in rows}) == 1  # every record of the same width
    start = rows.index(next(r for r in rows if r[0] == "Kandidater ved periodens slutt"))
    assert rows[start + 1][:2] == ["Gruppe", "Antall"]
    counts = {}
    for r in rows[start + 2:]:
        if not r[0]:
            break
        counts[r[0]] = int(r[1])
    assert counts["Omsorgsmedhjelper"] == 4 and counts["Tilnærming"] == 31
    assert counts["Antall kandidater"] == 65


def test_xlsx_reads_back_with_typed_cells_and_frozen_headings(service, seed000):
    openpyxl = pytest.importorskip("openpyxl")
    state, f = made(service.api(seed000["coordinator"]),
                    {"type": "pipeline", "period": "2026", "format": "xlsx", "detail": True})
    assert f.headers["Content-Type"] == XLSX
    wb = openpyxl.load_workbook(io.BytesIO(f.content))
    assert "Kandidater ved periodens slutt" in wb.sheetnames, wb.sheetnames
    ws = wb["Kandidater ved periodens slutt"]
    assert [c.value for c in ws[1]] == ["Gruppe", "Antall"]
    assert ws["A1"].font.b and ws.freeze_panes == "A2"
    rows = {r[0].value: r[1].value for r in ws.iter_rows(min_row=2) if r[0].value}
    assert rows["VTA"] == 12 and isinstance(rows["VTA"], int)
    assert ws.column_dimensions["A"].width >= len("Arbeidstrening/aktivitet")
    detail = wb["Kandidater"]
    assert [c.value for c in detail[1]] == ["Ref.", "Status", "Tiltak", "Rolle", "Status siden",
                                            "Dager i status"]
    body = list(detail.iter_rows(min_row=2, values_only=True))
    assert len(body) == 65
    first = next(r for r in body if r[0] == "K-2026-0001")
    assert first[1:4] == ("I tiltak", "VTA", None)
    assert first[4] == datetime.datetime(2026, 5, 1)  # a date, not text
    # since noon on 1 May: 244 whole days to the period's end (00:00 on 1 January)
    assert first[5] == (datetime.date(2027, 1, 1) - datetime.date(2026, 5, 1)).days - 1
    helper = next(r for r in body if r[0] == "K-2026-0017")
    assert helper[3] == "omsorgsmedhjelper"


@pytest.fixture(scope="module")
def many(service, migrated):
    """9,000 candidates, more than the xlsx's detail sheet holds in its ring of batches while it
    is written, at every status along the way (in a measure by turns of the five), one in fifty
    of those in a measure placed in a role whose name is 60 characters long."""
    from conftest import pg_admin
    db = pg_admin()
    t = new_tenant(db)
    s = t["schema"]
    role = "omsorgsmedhjelper ved sykehjemmet med nattevakt og helgevakt"
    assert len(role) == 60
    care = add_opening(db, t, add_org(db, t, "municipal_unit"), "vta", role=role)
    with db.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE many_c AS SELECT i, gen_random_uuid() AS id,"
            " timestamptz '2025-06-01 12:00+00' + (i % 400) * interval '1 day' AS born,"
            " (ARRAY['henvist', 'tilnaerming', 'kartlagt', 'arbeidstrening', 'utproving',"
            " 'i_tiltak', 'avsluttet', 'venter'])[1 + i % 8] AS status,"
            " CASE WHEN i % 8 = 5 THEN (ARRAY['vta', 'vta_o', 'vto', 'ordinaert_arbeid',"
            " 'aktivitet'])[1 + i / 8 % 5] END AS measure FROM generate_series(1, 9000) i")
        cur.execute(f"INSERT INTO {s}.candidates (id, ref, given_name, family_name, status, "
                    f"measure, created_by, created_at) SELECT id, 'K-M-' || lpad(i::text, 5, "
                    f"'0'), 'Test', 'Person', status, measure, 'test', born FROM many_c")
        cur.execute(f"INSERT INTO {s}.status_history (candidate_id, from_status, to_status, "
                    f"measure, key_id, role, at) SELECT id, NULL, 'henvist', NULL, 'test', "
                    f"'coordinator', born FROM many_c")
        cur.execute(f"INSERT INTO {s}.status_history (candidate_id, from_status, to_status, "
                    f"measure, key_id, role, at) SELECT id, 'henvist', status, measure, 'test', "
                    f"'coordinator', born + (3 + i % 37) * interval '1 day' FROM many_c "
                    f"WHERE status <> 'henvist'")
        cur.execute(f"INSERT INTO {s}.matches (id, candidate_id, opening_id, status, "
                    f"created_at, updated_at) SELECT gen_random_uuid(), id, %s, 'placed', born, "
                    f"born FROM many_c WHERE i %% 8 = 5 AND i %% 50 = 5", (care,))
    db.close()
    return t


def test_xlsx_detail_written_during_the_pass_matches_the_json_after_the_summary_sheets(service,
                                                                                      many):
    """The xlsx's detail sheet is written while the pass reads (issue 19): it still comes after
    every summary sheet, holds every candidate's row as the json has it, in the same order, and
    its widths are those of the longest values (at most 60), as in the other sheets."""
    openpyxl = pytest.importorskip("openpyxl")
    api = service.api(many["coordinator"])
    order = {"type": "pipeline", "period": "2026", "detail": True}
    _, j = made(api, {**order, "format": "json"})
    _, x = made(api, {**order, "format": "xlsx"})
    doc = j.json()
    wb = openpyxl.load_workbook(io.BytesIO(x.content))
    assert wb.sheetnames == [t["title"][:31] for t in doc["tables"]]
    assert wb.sheetnames[-1] == "Kandidater" and len(wb.sheetnames) == 8, wb.sheetnames
    caseload = wb["Kandidater ved periodens slutt"]
    got = {r[0]: r[1] for r in caseload.iter_rows(min_row=2, values_only=True)
           if r[1] is not None}
    assert got == column(doc, "caseload", "group")
    detail = wb["Kandidater"]
    assert detail.freeze_panes == "A2" and detail["A1"].font.b
    rows = table(doc, "candidates")["rows"]
    assert len(rows) == 9000
    want = [(r["ref"], r["status"], r["measure"], r["role"],
             datetime.datetime.fromisoformat(r["since"]), r["days"]) for r in rows]
    assert list(detail.iter_rows(min_row=2, values_only=True)) == want
    assert sum(1 for r in want if r[3]) == 45  # the placed ones, each in the long role
    heads = [c.value for c in detail[1]]
    for i, letter in enumerate("ABCDEF"):
        longest = max([len(heads[i])] + [10 if isinstance(r[i], datetime.datetime) else
                                         len(r[i]) if isinstance(r[i], str) else 8 for r in want])
        width = min(longest + 2, 60)
        assert width <= detail.column_dimensions[letter].width < width + 1, (letter, width)


@pytest.fixture
def own_tmp(migrated, rds, tmp_path):
    """A gateway and a reports worker of their own (on a Redis database of their own, so they
    take this test's jobs alone) whose TMPDIR is an empty directory of the test's."""
    from conftest import EdgeService, private_redis
    url, client = private_redis(rds, 5)
    tmp = tmp_path / "worker-tmp"
    tmp.mkdir()
    svc = EdgeService(env={"BROBYGGER_REDIS": url, "TMPDIR": str(tmp)}, workers=0)
    svc.start_worker("records,reports")
    svc.wait_ready()
    yield svc, tmp
    svc.stop_clean()
    client.flushdb()


def test_a_streamed_xlsx_leaves_no_file_behind_done_or_failed(own_tmp, seed000):
    """The xlsx whose detail is written during the pass lives in a temporary file from before
    the pass: it is gone once the report is stored, and when the pass fails after it began
    (a period of more than 120 months is refused by the pass)."""
    svc, tmp = own_tmp
    api = svc.api(seed000["coordinator"])
    order = {"type": "pipeline", "format": "xlsx", "detail": True}
    _, f = made(api, {**order, "period": "2026"})
    assert f.content[:2] == b"PK" and list(tmp.iterdir()) == []
    r = api.post("/v1/reports", {**order, "period": "2020-01-01/2030-12-31"})
    assert r.status_code == 202, r.text
    rid = r.json()["id"]

    def finished():
        s = api.get(f"/v1/reports/{rid}").json()
        return s if s["status"] in TERMINAL else None
    state = wait_until(finished, timeout=60, interval=0.1, what=f"report {rid}")
    assert state["status"] == "failed" and "120 months" in state["error"], state
    assert list(tmp.iterdir()) == []


def test_html_renders_in_chromium_without_console_errors(service, seed000, tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (deploy/local/lib.sh installs it)")
    state, f = made(service.api(seed000["reader"]),
                    {"type": "pipeline", "period": "2026", "format": "html"})
    assert f.headers["Content-Type"] == "text/html; charset=utf-8"
    page = f.content.decode("utf-8")
    assert '<html lang="nb">' in page and "<svg" in page and "<polyline" in page
    assert "Kandidater ved periodens slutt" in page and "Omsorgsmedhjelper" in page
    html = tmp_path / "r.html"
    html.write_bytes(f.content)
    png = tmp_path / "r.png"
    p = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        "--enable-logging=stderr", "--v=0", f"--screenshot={png}",
                        "--window-size=1100,2400", html.as_uri()],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "HOME": str(tmp_path)})
    assert p.returncode == 0, p.stderr[-2000:]
    assert "CONSOLE" not in p.stderr and "Uncaught" not in p.stderr, p.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10000


# ---- the pipeline on a handful of cases -------------------------------------------------------

@pytest.fixture(scope="module")
def few(service, migrated):
    """Four cases around the first quarter of 2026 (period end 2026-04-01 00:00):
    A referred 2025-12-10, approach 2026-01-10, mapped 2026-02-09;
    B referred 2026-01-05, closed 2026-01-15;
    C referred 2026-02-01, approach 2026-03-03, mapped 2026-04-10 (after the period);
    D referred 2026-04-02 (after the period)."""
    from conftest import pg_admin
    db = pg_admin()
    t = new_tenant(db)
    add_candidate(db, t, "K-2025-0001", [("henvist", None, "2025-12-10"),
                                          ("tilnaerming", None, "2026-01-10"),
                                          ("kartlagt", None, "2026-02-09")])
    add_candidate(db, t, "K-2026-0001", [("henvist", None, "2026-01-05"),
                                          ("avsluttet", None, "2026-01-15")])
    add_candidate(db, t, "K-2026-0002", [("henvist", None, "2026-02-01"),
                                          ("tilnaerming", None, "2026-03-03"),
                                          ("kartlagt", None, "2026-04-10")])
    add_candidate(db, t, "K-2026-0003", [("henvist", None, "2026-04-02")])
    db.close()
    return t


def test_pipeline_counts_flows_months_and_time_in_status_by_hand(service, few):
    state, f = made(service.api(few["reader"]),
                    {"type": "pipeline", "period": "2026-Q1", "format": "json"})
    doc = f.json()
    assert doc["period"] == {"label": "2026-Q1", "from": "2026-01-01", "to": "2026-03-31"}
    assert state["period_from"] == "2026-01-01" and state["period_to"] == "2026-03-31"
    status = column(doc, "by_status", "group")
    assert status["Kartlagt"] == 1 and status["Avsluttet"] == 1 and status["Tilnærming"] == 1
    assert status["Henvist (inntak)"] == 0 and status["Totalt"] == 3
    flows = {(r["from"], r["to"]): r["count"] for r in table(doc, "flows")["rows"]}
    assert flows == {("Ny", "Henvist (inntak)"): 2, ("Henvist (inntak)", "Tilnærming"): 2,
                     ("Henvist (inntak)", "Avsluttet"): 1, ("Tilnærming", "Kartlagt"): 1}
    months = [(r["month"], r["referred"], r["into_measure"], r["closed"], r["open"])
              for r in table(doc, "months")["rows"]]
    assert months == [("2026-01", 1, 0, 1, 1), ("2026-02", 1, 0, 0, 2), ("2026-03", 0, 0, 0, 2)]
    spells = {r["status"]: (r["spells"], r["median_days"], r["p90_days"])
              for r in table(doc, "time_in_status")["rows"]}
    # referred: 31 (A), 10 (B), 30 (C) days; approach: 30 (A); C's approach ends after the end
    assert spells["Henvist (inntak)"] == (3, 30, pytest.approx(30.8, abs=1e-4))
    assert spells["Tilnærming"] == (1, 30, 30)
    assert spells["Kartlagt"] == (0, None, None)


def test_a_bad_order_is_422_naming_the_field_and_stores_nothing(service, few, db):
    reader = service.api(few["reader"])
    cases = [({"type": "pipeline", "period": "2026-13", "format": "json"}, "period"),
             ({"type": "pipeline", "period": "2026", "format": "pdf"}, "format"),
             ({"type": "grant", "period": "2026", "format": "json"}, "project_id"),
             ({"type": "grant", "period": "2026", "format": "json", "project_id": uuid7()},
              "project_id"),
             ({"type": "pipeline", "period": "2026", "format": "csv", "project_id": uuid7()},
              "project_id"),
             ({"type": "pipeline", "period": "2026-02-30/2026-03-01", "format": "csv"}, "period")]
    for body, field in cases:
        r = reader.post("/v1/reports", body)
        assert r.status_code == 422, (body, r.text)
        assert [e["field"] for e in r.json()["errors"]] == [field], (body, r.text)
    with db.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {few['schema']}.reports WHERE type = 'grant'")
        assert cur.fetchone()[0] == 0


def test_the_reader_orders_and_reads_reports_and_nothing_else(service, few, tenants):
    reader = service.api(few["reader"])
    state, f = made(reader, {"type": "pipeline", "period": "2026", "format": "json"})
    listed = reader.get("/v1/reports", params={"limit": 200}).json()["items"]
    assert state["id"] in [r["id"] for r in listed]
    assert reader.get("/v1/candidates").status_code == 403
    assert reader.get("/v1/projects").status_code == 403
    # another tenant's report does not exist for this one
    other = service.api(tenants["b"]["reader"])
    assert other.get(f"/v1/reports/{state['id']}").status_code == 404
    assert other.get(f"/v1/reports/{state['id']}/download").status_code == 404


# ---- indicators -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def placed(service, migrated):
    """Seven cases at the end of 2026, each placed where an indicator looks:
    c1 VTO at a municipal unit (born 1990, uføretrygd); c2 VTA at a labour-market company (born
    2000, AAP); c3 and c4 VTA-O at an employer, with and without NAV's decision; c5 in work
    training, matched (interested) with a volunteer organisation; c6 and c7 care helpers who free
    2.0 and 2.5 hours per shift. One active and one closed activity opening."""
    from conftest import pg_admin
    db = pg_admin()
    t = new_tenant(db)
    municipal, lmc = add_org(db, t, "municipal_unit"), add_org(db, t, "labour_market_company")
    volunteer, employer = add_org(db, t, "volunteer"), add_org(db, t, "employer")
    vto = add_opening(db, t, municipal, "vto")
    vta = add_opening(db, t, lmc, "vta")
    vtao = add_opening(db, t, employer, "vta_o")
    care = add_opening(db, t, municipal, "vta", role="omsorgsmedhjelper")
    friends = add_opening(db, t, volunteer, "volunteer_role")
    add_opening(db, t, municipal, "activity")
    add_opening(db, t, municipal, "activity", active=False)
    way = [("henvist", None, "2026-01-05"), ("tilnaerming", None, "2026-01-20"),
           ("kartlagt", None, "2026-02-10"), ("arbeidstrening", None, "2026-03-01")]
    c = [add_candidate(db, t, "K-2026-0001", way + [("i_tiltak", "vto", "2026-04-01")],
                       birth_year=1990, income="uforetrygd"),
         add_candidate(db, t, "K-2026-0002", way + [("i_tiltak", "vta", "2026-04-01")],
                       birth_year=2000, income="aap")]
    c += [add_candidate(db, t, f"K-2026-000{i}", way + [("i_tiltak", "vta_o", "2026-04-01")])
          for i in (3, 4)]
    c += [add_candidate(db, t, "K-2026-0005", way)]
    c += [add_candidate(db, t, f"K-2026-000{i}", way + [("i_tiltak", "vta", "2026-04-01")])
          for i in (6, 7)]
    add_match(db, t, c[0], vto)
    add_match(db, t, c[1], vta)
    add_match(db, t, c[2], vtao, nav_decision=True)
    add_match(db, t, c[3], vtao, nav_decision=False)
    add_match(db, t, c[4], friends, status="interested")
    add_match(db, t, c[5], care, hours=2.0)
    add_match(db, t, c[6], care, hours=2.5)
    db.close()
    return t


def test_indicators_by_hand_with_their_definitions(service, placed):
    state, f = made(service.api(placed["reader"]),
                    {"type": "indicators", "period": "2026", "format": "json"})
    doc = f.json()
    rows = {r["indicator"]: r for r in table(doc, "indicators")["rows"]}
    values = {k: r["value"] for k, r in rows.items()}
    assert values == {
        # c1 (VTO), and c6 and c7, placed at a municipal unit (the care centre)
        "Personer med kommunale arbeids- og aktivitetstilbud": 3,
        "Aktivitetsgrupper": 1,
        "Personer i VTA-O med vedtak fra NAV": 1,
        "Personer i VTA-O uten vedtak fra NAV": 1,
        "Personer i VTA hos arbeidsmarkedsbedrift": 1,
        "Frivillige organisasjoner det samarbeides med": 1,
    }
    assert all(len(r["definition"]) > 40 for r in rows.values())
    hours = table(doc, "hours_freed")["rows"]
    assert hours == [{"role": "omsorgsmedhjelper", "placements": 2, "hours_total": 4.5,
                      "hours_mean": 2.25}]
    age = {r["group"]: (r["followed_up"], r["in_measure"]) for r in table(doc, "by_age")["rows"]}
    assert age["30–39 år"] == (1, 1) and age["18–29 år"] == (1, 1)
    assert age["Ukjent alder"] == (5, 4) and age["Totalt"] == (7, 6)
    income = {r["group"]: r["in_measure"] for r in table(doc, "by_income")["rows"]}
    assert income["Uføretrygd"] == 1 and income["Arbeidsavklaringspenger (AAP)"] == 1
    assert income["Ikke registrert"] == 4


def test_suppressed_indicators_hide_small_counts(service, placed):
    state, f = made(service.api(placed["reader"]),
                    {"type": "indicators", "period": "2026", "format": "json", "suppress": True})
    doc = f.json()
    assert doc["suppressed"] is True
    values = {r["indicator"]: r["value"] for r in table(doc, "indicators")["rows"]}
    assert set(values.values()) == {None}  # every indicator here is 1 or 3
    assert table(doc, "hours_freed")["rows"][0]["hours_total"] is None
    age = {r["group"]: r["followed_up"] for r in table(doc, "by_age")["rows"]}
    assert age["30–39 år"] is None and age["18–29 år"] is None and age["Totalt"] == 7


# ---- a placement's figures, recorded through the API ------------------------------------------

@pytest.fixture(scope="module")
def recorded(service, migrated):
    """A care helper's VTA placement and a VTA-O placement, both placed on 2026-01-20, whose
    role, hours and NAV decision are left for the API to record."""
    from conftest import pg_admin
    db = pg_admin()
    t = new_tenant(db)
    care = add_opening(db, t, add_org(db, t, "municipal_unit"), "vta")
    vtao = add_opening(db, t, add_org(db, t, "employer"), "vta_o")
    way = [("henvist", None, "2026-01-05"), ("arbeidstrening", None, "2026-01-10")]
    helper = add_candidate(db, t, "K-2026-0101", way + [("i_tiltak", "vta", "2026-01-20")])
    other = add_candidate(db, t, "K-2026-0102", way + [("i_tiltak", "vta_o", "2026-01-20")])
    t.update(care=care, care_match=add_match(db, t, helper, care), vtao=vtao,
             vtao_match=add_match(db, t, other, vtao))
    db.close()
    return t


def updated_at(db, t, match):
    with db.cursor() as cur:
        cur.execute(f"SELECT updated_at FROM {t['schema']}.matches WHERE id = %s", (match,))
        return cur.fetchone()[0]


def test_recorded_hours_role_and_decision_appear_in_the_indicators(service, recorded, db):
    """The opening's role and the placement's hours and NAV decision set through the API are
    what the indicators count; the match's updated_at (the placement's start) stays."""
    coord = service.api(recorded["coordinator"])
    opening = coord.get(f"/v1/openings/{recorded['care']}")
    r = coord.patch(f"/v1/openings/{recorded['care']}", {"role": "omsorgsmedhjelper"},
                    headers={"If-Match": opening.headers["ETag"]})
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "omsorgsmedhjelper"
    started = updated_at(db, recorded, recorded["care_match"])
    r = coord.patch(f"/v1/matches/{recorded['care_match']}/placement",
                    {"hours_freed_per_shift": 3.5}, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    m = r.json()
    assert (m["hours_freed_per_shift"], m["nav_decision"], m["version"]) == (3.5, None, 2)
    assert (m["status"], m["updated_at"]) == ("placed", "2026-01-20T12:00:00Z")
    assert r.headers["ETag"] == '"2"'
    r = coord.patch(f"/v1/matches/{recorded['vtao_match']}/placement", {"nav_decision": True})
    assert r.status_code == 200, r.text
    assert r.json()["nav_decision"] is True and r.json()["hours_freed_per_shift"] is None
    assert updated_at(db, recorded, recorded["care_match"]) == started
    assert updated_at(db, recorded, recorded["vtao_match"]) == started
    with db.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {recorded['schema']}.audit_log WHERE action = "
                    f"'match.placement'")
        assert cur.fetchone()[0] == 2
    state, f = made(service.api(recorded["reader"]),
                    {"type": "indicators", "period": "2026", "format": "json"})
    doc = f.json()
    assert table(doc, "hours_freed")["rows"] == [
        {"role": "omsorgsmedhjelper", "placements": 1, "hours_total": 3.5, "hours_mean": 3.5}]
    values = {r["indicator"]: r["value"] for r in table(doc, "indicators")["rows"]}
    assert values["Personer i VTA-O med vedtak fra NAV"] == 1
    assert values["Personer i VTA-O uten vedtak fra NAV"] == 0
    assert values["Personer med kommunale arbeids- og aktivitetstilbud"] == 1


def test_a_placement_keeps_one_decimal_and_honours_if_match(service, recorded):
    coord = service.api(recorded["coordinator"])
    path = f"/v1/matches/{recorded['vtao_match']}/placement"
    r = coord.patch(path, {"hours_freed_per_shift": 1.25})
    assert r.status_code == 200 and r.json()["hours_freed_per_shift"] == 1.3, r.text
    stale = coord.patch(path, {"hours_freed_per_shift": 2}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412, stale.text
    r = coord.patch(path, {"hours_freed_per_shift": None}, headers={"If-Match": r.headers["ETag"]})
    assert r.status_code == 200 and r.json()["hours_freed_per_shift"] is None, r.text
    reader = service.api(recorded["reader"])
    assert reader.patch(path, {"nav_decision": False}).status_code == 403
    assert coord.patch(f"/v1/matches/{uuid7()}/placement", {"nav_decision": False}).status_code \
        == 404


@pytest.mark.parametrize("body, field, message", [
    ({"hours_freed_per_shift": "2"}, "hours_freed_per_shift", "must be a number"),
    ({"hours_freed_per_shift": 24.5}, "hours_freed_per_shift", "must be between 0 and 24"),
    ({"hours_freed_per_shift": -1}, "hours_freed_per_shift", "must be between 0 and 24"),
    ({"hours_freed_per_shift": True}, "hours_freed_per_shift", "must be a number"),
    ({"nav_decision": "ja"}, "nav_decision", "must be true or false"),
    ({"status": "placed"}, "status", "is not a known field"),
    ({}, "body", "names no field to change"),
], ids=["string", "above", "below", "boolean", "decision", "unknown", "empty"])
def test_bad_placement_figures_are_422_naming_the_field(service, recorded, db, body, field,
                                                        message):
    def version():
        with db.cursor() as cur:
            cur.execute(f"SELECT version FROM {recorded['schema']}.matches WHERE id = %s",
                        (recorded["care_match"],))
            return cur.fetchone()[0]
    coord = service.api(recorded["coordinator"])
    before = version()
    r = coord.patch(f"/v1/matches/{recorded['care_match']}/placement", body)
    assert r.status_code == 422, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert {"field": field, "message": message} in \
        [{k: e[k] for k in ("field", "message")} for e in r.json()["errors"]]
    assert version() == before


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")],
                         ids=["nan", "inf", "-inf"])
def test_a_placement_refuses_numbers_that_are_not_finite(service, recorded, db, value):
    """JSON cannot carry them; msgpack, which the gateway also takes, can. The gateway refuses
    such a body as unreadable before any worker sees it (the worker's validator refuses them
    too: tests/unit/services/worker/test_validate.c)."""
    import msgpack
    import requests
    with db.cursor() as cur:
        cur.execute(f"SELECT version FROM {recorded['schema']}.matches WHERE id = %s",
                    (recorded["care_match"],))
        before = cur.fetchone()[0]
    r = requests.patch(f"{service.api().base}/v1/matches/{recorded['care_match']}/placement",
                       data=msgpack.packb({"hours_freed_per_shift": value}), timeout=20,
                       headers={"Authorization": f"Bearer {recorded['coordinator']}",
                                "Content-Type": "application/msgpack"})
    assert r.status_code == 400, r.text
    assert r.json()["errors"] == [{"field": "body", "message": "number is not finite"}]
    with db.cursor() as cur:
        cur.execute(f"SELECT version FROM {recorded['schema']}.matches WHERE id = %s",
                    (recorded["care_match"],))
        assert cur.fetchone()[0] == before


def test_an_opening_role_is_bounded(service, recorded):
    coord = service.api(recorded["coordinator"])
    r = coord.patch(f"/v1/openings/{recorded['vtao']}", {"role": "x" * 61})
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["role"]


# ---- grant projects and the NAV grant report --------------------------------------------------

PROJECT = {"name": "Arbeid for alle", "nav_office": "NAV Ringerike", "start_year": 2025,
           "report_kind": "status", "target_group": "Personer på uføretrygd, 18–67 år",
           "description": "Koordinatorer finner tilrettelagt arbeid.",
           "develops": "Samarbeid mellom kommune, NAV og bedrifter.",
           "paragraphs": ["12", "28_33"], "interest_created": True, "tried_elsewhere": False,
           "cooperation": "NAV, Menova, Frivilligsentralen", "achieved": "Fire er i arbeid.",
           "goal_examination": "Telling av overganger.", "challenges": "Transport.",
           "success_factors": "Tett oppfølging.", "continuation": "delvis"}


def test_projects_are_created_changed_listed_and_deleted(service, few):
    coord = service.api(few["coordinator"])
    r = coord.post("/v1/projects", PROJECT)
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["paragraphs"] == ["12", "28_33"] and p["version"] == 1 and p["participants"] == 0
    assert r.headers["ETag"] == '"1"'
    r = coord.patch(f"/v1/projects/{p['id']}", {"achieved": "Fem er i arbeid."},
                    headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["achieved"] == "Fem er i arbeid."
    assert r.json()["name"] == PROJECT["name"] and r.json()["version"] == 2
    r = coord.patch(f"/v1/projects/{p['id']}", {"name": "X"}, headers={"If-Match": '"1"'})
    assert r.status_code == 412
    r = coord.post("/v1/projects", {"name": "Y", "paragraphs": ["99"]})
    assert r.status_code == 422 and "errors" in r.json(), r.text
    assert r.json()["errors"][0]["field"].startswith("paragraphs"), r.text
    assert p["id"] in [x["id"] for x in coord.get("/v1/projects").json()["items"]]
    assert coord.delete(f"/v1/projects/{p['id']}").status_code == 204
    assert coord.get(f"/v1/projects/{p['id']}").status_code == 404


@pytest.fixture(scope="module")
def project(service, migrated):
    """A project with three participants in the first quarter of 2026:
    p1 joined 2026-01-01, into VTA 2026-02-01; p2 joined 2025-06-01, still in approach;
    p3 joined 2026-03-01 and left 2026-03-20, into activity 2026-03-10, closed 2026-03-25;
    p4 left before the period (2025-12-01)."""
    from conftest import pg_admin
    db = pg_admin()
    t = new_tenant(db)
    coord = service.api(t["coordinator"])
    r = coord.post("/v1/projects", PROJECT)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    way = [("henvist", None, "2025-05-01"), ("tilnaerming", None, "2025-06-01"),
           ("kartlagt", None, "2025-09-01"), ("arbeidstrening", None, "2025-11-01")]
    p1 = add_candidate(db, t, "K-2025-0001", way + [("i_tiltak", "vta", "2026-02-01")])
    p2 = add_candidate(db, t, "K-2025-0002", way[:2])
    p3 = add_candidate(db, t, "K-2025-0003", way + [("i_tiltak", "aktivitet", "2026-03-10"),
                                                     ("avsluttet", None, "2026-03-25")])
    p4 = add_candidate(db, t, "K-2025-0004", way[:2])
    for cand, joined, left in ((p1, "2026-01-01", None), (p2, "2025-06-01", None),
                               (p3, "2026-03-01", "2026-03-20"), (p4, "2025-06-01", "2025-12-01")):
        body = {"candidate_id": cand, "joined_on": joined, "left_on": left}
        r = coord.post(f"/v1/projects/{pid}/participants", body)
        assert r.status_code == 201, r.text
        assert r.json()["ref"].startswith("K-2025-") and "given_name" not in r.json()
    db.close()
    return {**t, "project_id": pid, "p1": p1}


def test_participants_are_listed_by_ref_and_removed(service, project):
    coord = service.api(project["coordinator"])
    pid = project["project_id"]
    items = coord.get(f"/v1/projects/{pid}/participants").json()["items"]
    assert sorted(i["ref"] for i in items) == ["K-2025-0001", "K-2025-0002", "K-2025-0003",
                                               "K-2025-0004"]
    r = coord.post(f"/v1/projects/{pid}/participants", {"candidate_id": uuid7()})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "candidate_id"
    r = coord.post(f"/v1/projects/{pid}/participants",
                   {"candidate_id": project["p1"], "joined_on": "2026-02-01",
                    "left_on": "2026-01-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "left_on"
    assert coord.delete(f"/v1/projects/{pid}/participants/{uuid7()}").status_code == 404
    assert coord.get(f"/v1/projects/{pid}").json()["participants"] == 4


def test_grant_report_has_the_forms_fields_in_order_and_counts_by_hand(service, project):
    state, f = made(service.api(project["reader"]),
                    {"type": "grant", "period": "2026-Q1", "format": "json",
                     "project_id": project["project_id"]})
    doc = f.json()
    assert doc["title"] == "Statusrapport om tilskudd til NAV"
    assert doc["subject"] == "Arbeid for alle"
    form = [(r["field"], r["answer"]) for r in table(doc, "form")["rows"]]
    assert [k for k, _ in form] == [
        "Navn på tiltaket", "NAV-kontor", "Oppstart (år, eller dato om tiltaket startet i år)",
        "Statusrapport eller sluttrapport", "Målgruppe", "Beskrivelse av tiltaket",
        "Hva tiltaket utvikler", "Paragrafer i sosialtjenesteloven",
        "Har tiltaket skapt interesse hos andre aktører?",
        "Vil tiltaket bli prøvd ut andre steder?", "Samarbeid med hvilke aktører",
        "Hva er oppnådd", "Hvordan er måloppnåelse undersøkt", "Hovedutfordringer",
        "Viktigste suksessfaktorer", "Vil hele eller deler av tiltaket bli videreført?"]
    answers = dict(form)
    assert answers["Oppstart (år, eller dato om tiltaket startet i år)"] == "2025"
    assert answers["Statusrapport eller sluttrapport"] == "Statusrapport"
    assert answers["Paragrafer i sosialtjenesteloven"] == "§ 12, § 28/§ 33"
    assert answers["Har tiltaket skapt interesse hos andre aktører?"] == "Ja"
    assert answers["Vil tiltaket bli prøvd ut andre steder?"] == "Nei"
    assert answers["Vil hele eller deler av tiltaket bli videreført?"] == "Delvis"
    choice = {r["paragraph"]: r["applies"] for r in table(doc, "paragraphs")["rows"]}
    assert len(choice) == 13 and [k for k, v in choice.items() if v == "Ja"] == [
        "§ 12", "§ 28/§ 33 Individuell plan"]
    numbers = column(doc, "participants", "measure")
    assert numbers == {"Deltakere i perioden": 3, "Nye deltakere i perioden": 2,
                       "Overganger til arbeid eller aktivitet": 2,
                       "I tiltak ved periodens slutt": 1, "Avsluttet ved periodens slutt": 1}
    moves = column(doc, "transitions", "measure")
    assert moves["VTA"] == 1 and moves["Aktivitet"] == 1 and moves["VTA-O"] == 0


# ---- across tenants: the platform report and its suppression ----------------------------------

def determined(rows, hidden):
    """The hidden cells of a table with its totals (rows: lists of ints, the last column and the
    last row the totals) that the published values fix exactly. A hidden cell is fixed exactly
    when its unit vector lies in the row space of the lines' equations over the hidden cells;
    solved over the integers modulo a large prime (exact for 0/1 equations with overwhelming
    likelihood), independently of how the service chose them."""
    prime = 2_147_483_647
    cells = sorted(hidden)
    index = {c: k for k, c in enumerate(cells)}
    nr, nc = len(rows), len(rows[0])
    lines = [[(i, j) for j in range(nc - 1)] + [(i, nc - 1)] for i in range(nr)] + \
            [[(i, j) for i in range(nr - 1)] + [(nr - 1, j)] for j in range(nc)]
    basis = {}  # pivot -> reduced vector

    def reduce(vec):
        vec = list(vec)
        for pivot, b in basis.items():
            if vec[pivot]:
                f = vec[pivot]
                vec = [(x - f * y) % prime for x, y in zip(vec, b)]
        return vec
    for line in lines:
        vec = [0] * len(cells)
        for k, cell in enumerate(line):  # parts minus the total: sum is 0
            if cell in index:
                vec[index[cell]] = (vec[index[cell]] + (1 if k < len(line) - 1 else -1)) % prime
        vec = reduce(vec)
        pivot = next((k for k, x in enumerate(vec) if x), None)
        if pivot is None:
            continue
        inv = pow(vec[pivot], prime - 2, prime)
        vec = [x * inv % prime for x in vec]
        for p2, b in list(basis.items()):
            if b[pivot]:
                f = b[pivot]
                basis[p2] = [(x - f * y) % prime for x, y in zip(b, vec)]
        basis[pivot] = vec
    out = set()
    for c in cells:
        unit = [0] * len(cells)
        unit[index[c]] = 1
        if not any(reduce(unit)):
            out.add(c)
    return out


def test_determined_finds_a_lone_hidden_cell_and_passes_a_cycle():
    rows = [[2, 5, 7], [6, 8, 14], [8, 13, 21]]
    assert determined(rows, {(0, 0)}) == {(0, 0)}
    assert determined(rows, {(0, 0), (0, 1), (1, 0), (1, 1)}) == set()


def test_platform_report_suppresses_so_no_hidden_count_can_be_worked_out(service, tenants, seed000,
                                                                        few, db):
    platform = service.api(tenants["platform"])
    state, f = made(platform, {"period": "2026", "format": "json"}, path="/v1/admin/reports")
    assert state["type"] == "platform" and state["params"]["suppress"] is True
    doc = f.json()
    t = table(doc, "tenants")
    keys = [c["key"] for c in t["columns"]]
    assert keys == ["tenant", "henvist", "tilnaerming", "kartlagt", "arbeidstrening",
                    "utproving", "i_tiltak", "avsluttet", "venter", "total"]
    rows = t["rows"]
    assert rows[-1]["tenant"] == "Alle kommuner"
    by_name = {r["tenant"]: r for r in rows}
    # the seed 000 tenant: its 3 in intake hidden; what is shown is its own (secondary
    # suppression may hide more of the row)
    with db.cursor() as cur:
        cur.execute("SELECT name || ' (' || kommunenummer || ')' FROM platform.tenants "
                    "WHERE slug = %s", (seed000["slug"],))
        seed_row = by_name[cur.fetchone()[0]]
    expected = {"henvist": 3, "tilnaerming": 31, "kartlagt": 0, "arbeidstrening": 4,
                "utproving": 0, "i_tiltak": 23, "avsluttet": 4, "venter": 0, "total": 65}
    assert seed_row["henvist"] is None
    assert {k: v for k, v in seed_row.items() if k != "tenant" and v is not None} == \
        {k: v for k, v in expected.items() if seed_row[k] is not None}
    # no published count is from 1 to 3
    published = [v for r in rows for k, v in r.items() if k != "tenant" and v is not None]
    assert not [v for v in published if 1 <= v <= 3]
    # true values from the database, to check what is published and what is hidden
    truth = []
    with db.cursor() as cur:
        for r in rows[:-1]:
            cur.execute("SELECT slug FROM platform.tenants WHERE name || ' (' || kommunenummer "
                        "|| ')' = %s", (r["tenant"],))
            slug = cur.fetchone()[0]
            cur.execute(f'SELECT s, count(*) FROM (SELECT DISTINCT ON (candidate_id) to_status s '
                        f'FROM "t_{slug}".status_history WHERE at < %s ORDER BY candidate_id, '
                        f'id DESC) x GROUP BY s', ("2027-01-01",))
            got = dict(cur.fetchall())
            truth.append([got.get(k, 0) for k in keys[1:-1]] + [sum(got.values())])
    truth.append([sum(col) for col in zip(*truth)])
    hidden = set()
    for i, r in enumerate(rows):
        for j, k in enumerate(keys[1:]):
            if r[k] is None:
                hidden.add((i, j))
            else:
                assert r[k] == truth[i][j], (r["tenant"], k)
    assert all(not 1 <= truth[i][j] <= 3 for i in range(len(rows)) for j in range(len(keys) - 1)
               if (i, j) not in hidden)
    assert hidden and determined(truth, hidden) == set()
    assert t["hidden_cells"] == len(hidden)


def test_platform_routes_are_the_platform_admins(service, tenants, seed000):
    reader = service.api(seed000["reader"])
    assert reader.post("/v1/admin/reports", {"period": "2026", "format": "csv"}).status_code == 403
    r = service.api(tenants["platform"]).post("/v1/reports", {"type": "pipeline",
                                                                "period": "2026",
                                                                "format": "csv"})
    assert r.status_code == 403
