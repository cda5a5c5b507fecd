"""A worker killed with SIGKILL while it holds a job: the job is reclaimed and done once."""
import signal
import threading

import redis

from conftest import Service, count_candidates, suffix, wait_until


def test_job_of_killed_worker_is_reclaimed_and_done_once(migrated, tenants, db, rds):
    # A Redis database of its own, so only this test's worker can take the job.
    kw = rds.connection_pool.connection_kwargs
    url = f"redis://{kw['host']}:{kw['port']}/14"
    rds = redis.Redis.from_url(url)
    rds.flushdb()
    svc = Service(redis_url=url, workers=1)
    try:
        svc.wait_ready()
        slug = tenants["a"]["slug"]
        api = svc.api(tenants["a"]["coordinator"])
        assert api.get("/v1/me").status_code == 200  # key resolved and cached before the lock
        name = "Crash" + suffix()
        lock = db.cursor()
        lock.execute("BEGIN")
        lock.execute(f'LOCK TABLE "t_{slug}".candidates IN ACCESS EXCLUSIVE MODE')
        result = {}

        def create():
            result["r"] = api.post("/v1/candidates", {"given_name": "K", "family_name": name},
                                   headers={"Idempotency-Key": "crash-" + name})

        t = threading.Thread(target=create)
        t.start()

        def worker_blocked():
            with db.cursor() as cur:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = "
                            "'brobygger_worker' AND wait_event_type = 'Lock'")
                return cur.fetchone()[0] >= 1
        wait_until(worker_blocked, what="worker waiting on the lock")
        assert rds.xpending("bro:q:records", "workers")["pending"] >= 1
        victim = svc.workers[0]
        victim.stop(signal.SIGKILL)
        lock.execute("ROLLBACK")
        svc.start_worker()
        t.join(timeout=30)
        # Done exactly once: one row, one processed job, nothing pending any more.
        wait_until(lambda: count_candidates(db, slug, "family_name = %s", (name,)) == 1,
                   what="the job to be redone")
        wait_until(lambda: rds.xpending("bro:q:records", "workers")["pending"] == 0,
                   what="pending entry acknowledged")
        assert count_candidates(db, slug, "family_name = %s", (name,)) == 1
        # The client either got the answer or timed out; a retry with its key is answered from
        # the stored response, without a second row.
        r = api.post("/v1/candidates", {"given_name": "K", "family_name": name},
                     headers={"Idempotency-Key": "crash-" + name})
        assert r.status_code == 201 and r.json()["family_name"] == name
        assert count_candidates(db, slug, "family_name = %s", (name,)) == 1
    finally:
        for p in svc.procs:
            if p.alive():
                p.stop()
        for p in svc.procs[:1] + svc.procs[2:]:
            p.assert_clean()
