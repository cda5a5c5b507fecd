"""A worker killed with SIGKILL in the middle of a matching run: another worker takes the run
over, and its proposals, their history and their events are stored exactly once."""
import random
import signal

from conftest import (Held, Service, admin, issue_key, lock_waiters, private_redis, suffix,
                      wait_until)


def seeded_tenant(db):
    """A tenant of its own with 20 candidates who fit each of 8 openings of 2 places each, so
    the optimum fills all 16 places."""
    slug = f"it_mk_{suffix()}"
    admin("tenant", "create", "--slug", slug, "--name", "Krasj",
          "--kommunenummer", f"{random.randint(1000, 9999)}")
    with db.cursor() as cur:
        cur.execute(f'SET search_path = "t_{slug}"')
        cur.execute("INSERT INTO candidates (id, ref, given_name, family_name, postal_code, "
                    "income_basis, status, interests, created_by) SELECT gen_random_uuid(), "
                    "'K-2026-' || lpad(i::text, 5, '0'), 'Deltaker', 'Nr ' || i, '3510', "
                    "'uforetrygd', 'kartlagt', ARRAY['dyr'], 'test' FROM generate_series(1, 20) i")
        cur.execute("INSERT INTO organizations (id, name, kind, created_by) VALUES "
                    "(gen_random_uuid(), 'Gård', 'employer', 'test')")
        cur.execute("INSERT INTO openings (id, organization_id, kind, title, categories, "
                    "postal_code, capacity, created_by) SELECT gen_random_uuid(), "
                    "(SELECT id FROM organizations), 'activity', 'Dyrepass ' || i, "
                    "ARRAY['dyrepass'], '3510', 2, 'test' FROM generate_series(1, 8) i")
        cur.execute("RESET search_path")
    return slug


def stored(db, slug, rid):
    with db.cursor() as cur:
        cur.execute(f'SELECT count(*), count(DISTINCT candidate_id) FROM "t_{slug}".matches '
                    f'WHERE run_id = %s', (rid,))
        matches, candidates = cur.fetchone()
        cur.execute(f'SELECT count(*) FROM "t_{slug}".match_history WHERE run_id = %s', (rid,))
        history = cur.fetchone()[0]
        cur.execute(f'SELECT count(*) FROM "t_{slug}".outbox WHERE event = %s AND '
                    f"payload->>'run_id' = %s", ("match.proposed", rid))
        return matches, candidates, history, cur.fetchone()[0]


def test_a_run_whose_worker_is_killed_midway_is_taken_over_and_stored_once(migrated, db, rds):
    url, rds = private_redis(rds, 13)
    svc = Service(redis_url=url, workers=1, queues="records,matching")
    lock = None
    try:
        svc.wait_ready()
        slug = seeded_tenant(db)
        api = svc.api(issue_key(slug, "coordinator"))
        # The run's last step takes this lock before it stores: holding it keeps the run
        # between its progress steps and its store, where a crash must not store twice.
        lock = Held(f"SELECT pg_advisory_xact_lock(hashtext('t_{slug}' || ':matching.run'))")
        r = api.post("/v1/matching-runs", {})
        assert r.status_code == 202, r.text
        rid = r.json()["id"]

        def midway():
            g = api.get(f"/v1/matching-runs/{rid}").json()
            return g if 0 < g["progress"] < 1 and g["status"] == "running" else None
        seen = wait_until(midway, timeout=30, what="the run to be midway")
        wait_until(lambda: lock_waiters(db), what="the run waiting to store")
        svc.workers[0].stop(signal.SIGKILL)
        with db.cursor() as cur:  # the killed worker's session, which PostgreSQL would end
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename ="
                        " 'brobygger_worker' AND wait_event_type = 'Lock'")
        lock.release()
        assert stored(db, slug, rid) == (0, 0, 0, 0)  # nothing stored before the last step
        svc.start_worker()

        def done():
            g = api.get(f"/v1/matching-runs/{rid}").json()
            return g if g["status"] in ("done", "failed") else None
        out = wait_until(done, timeout=60, what="the run taken over")
        assert 0 < seen["progress"] < 1
        assert out["status"] == "done" and out["progress"] == 1, out
        assert out["summary"]["assigned"] == 16 and out["summary"]["replaced"] == 0
        assert stored(db, slug, rid) == (16, 16, 16, 16)
        wait_until(lambda: rds.xpending("bro:q:matching", "workers")["pending"] == 0,
                   what="the run's message acknowledged")
    finally:
        if lock:
            lock.release()
        svc.stop_after_kill(svc.procs[1])  # the worker the test killed
