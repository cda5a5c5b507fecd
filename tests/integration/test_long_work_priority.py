"""Long work yields the CPU on PostgreSQL's side too: the backend of an import's run (on a
records worker) and of a matching run (on a worker without records) runs at the long nice
(BROBYGGER_LONG_NICE, through the prioritize extension), the import's own thread too, and a
records job's backend keeps nice 0, also on the slot that has just run an import."""
import os
import threading

from conftest import Held, Service, issue_key, lock_waiters, private_redis, suffix, wait_until
from test_imports import accepted, finished, post_csv
from test_matching_crash import seeded_tenant

NICE = 12  # not the default (10), so the figure seen comes from the setting


def nice_of(pid):
    """The nice value of a process or thread: field 19 of /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])


def niced_threads(proc):
    """Thread ids of the worker process at the long nice."""
    return [t for t in os.listdir(f"/proc/{proc.p.pid}/task")
            if nice_of(f"{proc.p.pid}/task/{t}") == NICE]


def waiter(db):
    """The one worker backend waiting on a lock, once there is one."""
    rows = wait_until(lambda: lock_waiters(db), what="a worker statement waiting on the lock")
    assert len(rows) == 1, rows
    return rows[0][0]


def test_an_import_runs_niced_and_its_records_slot_keeps_nice_0(migrated, tenants, db, rds):
    # One slot: the records job below runs on the very slot that ran the import.
    url, _ = private_redis(rds, 12)
    svc = Service(redis_url=url, workers=1, queues="records",
                  env={"BROBYGGER_WORKER_CONCURRENCY": "1", "BROBYGGER_LONG_NICE": str(NICE)})
    slug = tenants["a"]["slug"]
    lock = None
    try:
        svc.wait_ready()
        api = svc.api(tenants["a"]["coordinator"])
        # The year's ref counter row exists once the tenant has a candidate.
        r = api.post("/v1/candidates", {"given_name": "Før", "family_name": "Import"})
        assert r.status_code == 201, r.text
        assert niced_threads(svc.workers[0]) == []
        # Every import step updates the ref counter row: held, the run waits inside a step.
        lock = Held(f'SELECT * FROM "t_{slug}".ref_counters FOR UPDATE')
        job = accepted(post_csv(api, f"fornavn;etternavn\nA;Pri{suffix()}\n"))
        pid = waiter(db)
        assert nice_of(pid) == NICE
        with db.cursor() as cur:
            cur.execute("SELECT platform.get_backend_priority(%s)", (pid,))
            assert cur.fetchone()[0] == NICE
        assert len(niced_threads(svc.workers[0])) == 1  # the run's thread, not the slot's
        lock.release()
        assert finished(api, job["id"])["status"] == "done"
        assert niced_threads(svc.workers[0]) == []
        # A create takes the same row: held, the create waits, on the slot's own connection.
        lock = Held(f'SELECT * FROM "t_{slug}".ref_counters FOR UPDATE')
        answers = []
        t = threading.Thread(target=lambda: answers.append(api.post(
            "/v1/candidates", {"given_name": "Etter", "family_name": "Import"})))
        t.start()
        create_pid = waiter(db)
        assert create_pid != pid
        assert nice_of(create_pid) == 0
        lock.release()
        t.join(timeout=20)
        assert answers and answers[0].status_code == 201, answers
    finally:
        if lock:
            lock.release()
        svc.stop()


def test_a_matching_run_on_a_worker_without_records_runs_niced(migrated, db, rds):
    url, _ = private_redis(rds, 12)
    svc = Service(redis_url=url, workers=1, queues="records",
                  env={"BROBYGGER_LONG_NICE": str(NICE)})
    svc.start_worker("matching")
    lock = None
    try:
        svc.wait_ready()
        slug = seeded_tenant(db)
        api = svc.api(issue_key(slug, "coordinator"))
        # The run's last step takes this lock before it stores.
        lock = Held(f"SELECT pg_advisory_xact_lock(hashtext('t_{slug}' || ':matching.run'))")
        r = api.post("/v1/matching-runs", {})
        assert r.status_code == 202, r.text
        assert nice_of(waiter(db)) == NICE
        lock.release()
        lock = None

        def done():
            g = api.get(f"/v1/matching-runs/{r.json()['id']}").json()
            return g if g["status"] in ("done", "failed") else None
        assert wait_until(done, timeout=60, what="the run")["status"] == "done"
    finally:
        if lock:
            lock.release()
        svc.stop()
