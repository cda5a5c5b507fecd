"""A read of personal data is no PostgreSQL write: its audit record travels in the Redis round trip
that carries its reply (bro:audit) and the janitor moves it into the tenant's audit_log in
batches, within a second, exactly once: after a redelivered read, after a janitor that died in
the middle of a batch, and for a record moved twice. A read stores no reply."""
import signal
import threading

import msgpack

from conftest import (Held, Service, audit_moved, lock_waiters, private_redis, suffix,
                      wait_until)


def new_candidate(api):
    r = api.post("/v1/candidates", {"given_name": "Lest", "family_name": "Lest-" + suffix()})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def audit_rows(db, slug, request_id):
    with db.cursor() as cur:
        cur.execute(f'SELECT action, route, candidate_id::text, job_id::text FROM "t_{slug}".'
                    "audit_log WHERE request_id = %s", (request_id,))
        return cur.fetchall()


def read(api, cid, request_id):
    r = api.get(f"/v1/candidates/{cid}", headers={"X-Request-Id": request_id})
    assert r.status_code == 200, r.text
    return r


def test_a_read_is_in_the_access_log_within_a_second_and_stores_no_reply(migrated, tenants, db,
                                                                          rds):
    # A Redis database of its own: no other test's rate-limit cells or audit records in it.
    url, own = private_redis(rds, 1)
    svc = Service(redis_url=url, workers=1)
    slug = tenants["a"]["slug"]
    try:
        svc.wait_ready()
        api = svc.api(tenants["a"]["coordinator"])
        cid = new_candidate(api)
        request_id = "innen-" + suffix(12)
        read(api, cid, request_id)
        rows = wait_until(lambda: audit_rows(db, slug, request_id), timeout=1.0, interval=0.01,
                          what="the read's audit row within a second")
        assert [r[:3] for r in rows] == [("candidate.get", "GET /v1/candidates/{id}", cid)]
        with db.cursor() as cur:
            cur.execute(f'SELECT count(*) FROM "t_{slug}".processed_jobs WHERE job_id = %s',
                        (rows[0][3],))
            assert cur.fetchone()[0] == 0
    finally:
        svc.stop()


def test_a_redelivered_read_adds_no_second_audit_record(migrated, tenants, db, rds):
    url, own = private_redis(rds, 3)
    # The key stays resolved while no worker runs, so the read itself is what waits.
    svc = Service(redis_url=url, workers=1, env={"BROBYGGER_AUTH_CACHE_MS": "60000"})
    slug = tenants["a"]["slug"]
    try:
        svc.wait_ready()
        api = svc.api(tenants["a"]["coordinator"])
        cid = new_candidate(api)
        assert svc.workers[0].stop() == 0
        request_id = "to-" + suffix(12)
        result = {}
        t = threading.Thread(target=lambda: result.update(r=read(api, cid, request_id)))
        t.start()

        def posted():
            for _, fields in own.xrange("bro:q:records"):
                if msgpack.unpackb(fields[b"e"])["kind"] == "candidate.get":
                    return fields[b"e"]
            return None
        envelope = wait_until(posted, what="the read in the queue")
        # The same job delivered a second time, as after a lost acknowledgement.
        own.xadd("bro:q:records", {"e": envelope})
        svc.start_worker()
        t.join(timeout=30)
        assert result["r"].json()["id"] == cid
        wait_until(lambda: own.xlen("bro:q:records") == 0, what="both deliveries done")
        audit_moved(own)
        rows = audit_rows(db, slug, request_id)
        assert [r[:3] for r in rows] == [("candidate.get", "GET /v1/candidates/{id}", cid)]
        assert rows[0][3] == msgpack.unpackb(envelope)["id"]
    finally:
        svc.stop()


def test_a_janitor_that_dies_mid_batch_leaves_each_read_audited_once(migrated, tenants, db,
                                                                     rds):
    url, own = private_redis(rds, 2)
    svc = Service(redis_url=url, workers=1)
    slug = tenants["a"]["slug"]
    lock = None
    try:
        svc.wait_ready()
        api = svc.api(tenants["a"]["coordinator"])
        cid = new_candidate(api)
        # The janitor takes the records, then waits on the log inside its transaction.
        lock = Held(f'LOCK TABLE "t_{slug}".audit_log IN ACCESS EXCLUSIVE MODE')
        request_ids = ["halv-" + suffix(12) for _ in range(3)]
        for request_id in request_ids:
            read(api, cid, request_id)  # answered: a read does not touch the log
        wait_until(lambda: lock_waiters(db), what="the janitor waiting inside its batch")
        # It took what had come (one record or more) and holds it; all three are in the stream.
        assert own.xpending("bro:audit", "audit")["pending"] >= 1
        assert own.xlen("bro:audit") == 3
        taken = [fields for _, fields in own.xrange("bro:audit")]
        svc.workers[0].stop(signal.SIGKILL)
        lock.release()
        svc.start_worker()
        # The new janitor claims the dead one's batch after the visibility timeout.
        audit_moved(own, timeout=15)
        for request_id in request_ids:
            assert [r[:3] for r in audit_rows(db, slug, request_id)] == \
                [("candidate.get", "GET /v1/candidates/{id}", cid)]
        # A record moved again (a janitor that died between its commit and its
        # acknowledgement) adds nothing.
        own.xadd("bro:audit", taken[0])
        audit_moved(own)
        for request_id in request_ids:
            assert len(audit_rows(db, slug, request_id)) == 1
        assert own.xpending("bro:audit", "audit")["pending"] == 0
    finally:
        if lock:
            lock.release()
        svc.stop_after_kill(svc.procs[1])  # the worker the test killed


def read_routes():
    """(pattern, kind) of every GET the document flags as a read of one candidate's data."""
    import os
    import sys
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "..", "schemas"))
    try:
        import gen_surface
        doc = gen_surface.load(os.path.join(here, "..", "..", "schemas", "openapi.yaml"))
    finally:
        sys.path.pop(0)
    out = []
    for path, item in doc["paths"].items():
        job = item.get("get", {}).get("x-job", {})
        if "read" in (job.get("flags") or []) and path.startswith("/v1/candidates/{id}"):
            out.append((path, job["kind"]))
    return out


def test_every_read_of_a_candidate_is_audited_through_the_stream(service, tenants, db, rds):
    """Each read route (the document's `read` flag), one sub-resource of each kind in hand: the
    access log names the read's kind, route and candidate within a second, and the read stored
    no reply."""
    routes = read_routes()
    assert {k for _, k in routes} >= {"candidate.get", "candidate.history",
                                      "candidate.access_log", "journal.get", "consent.list"}
    admin = service.api(tenants["a"]["tenant_admin"])
    slug = tenants["a"]["slug"]
    cid = new_candidate(admin)
    subs = {}
    for sub, body in (("assessments", {"resources": "Stø"}),
                      ("consents", {"scope": ["share_nav"], "given_at": "2026-01-05",
                                    "method": "skriftlig"}),
                      ("plans", {"goals": ["Arbeid"]}),
                      ("journal", {"kind": "samtale", "text": "Møte", "occurred_at": "2026-01-05T10:00:00Z"})):
        r = admin.post(f"/v1/candidates/{cid}/{sub}", body)
        assert r.status_code == 201, (sub, r.text)
        subs[sub] = r.json()["id"]
    for pattern, kind in routes:
        path = pattern.replace("{id}", cid)
        if "{sub_id}" in path:
            path = path.replace("{sub_id}", subs[path.split("/")[4]])
        request_id = "hver-" + suffix(12)
        r = admin.get(path, headers={"X-Request-Id": request_id})
        assert r.status_code == 200, (pattern, r.text)
        rows = wait_until(lambda: audit_rows(db, slug, request_id), timeout=1.0, interval=0.01,
                          what=f"the audit row of {pattern}")
        assert [row[:3] for row in rows] == [(kind, "GET " + pattern, cid)], pattern
        with db.cursor() as cur:
            cur.execute(f'SELECT count(*) FROM "t_{slug}".processed_jobs WHERE job_id = %s',
                        (rows[0][3],))
            assert cur.fetchone()[0] == 0, pattern
