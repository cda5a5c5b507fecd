"""One worker runs several jobs at once (--concurrency, BROBYGGER_WORKER_CONCURRENCY), each in its
own transaction on its own connection: jobs that wait on PostgreSQL do not stop the others, a job
slower than the visibility timeout is not run twice by its own process, SIGTERM finishes every
job in hand, the heartbeat names the concurrency and the jobs in flight, and long jobs (imports)
leave a slot for the records queue's short jobs."""
import contextlib
import json
import signal
import subprocess
import threading
import time

import pytest

from conftest import (BUILD, FAST_ENV, Held, Service, count_candidates, lock_waiters,
                      private_redis, suffix, wait_until)
from test_imports import accepted, finished, post_csv

VISIBILITY_S = int(FAST_ENV["BROBYGGER_VISIBILITY_MS"]) / 1000


def heartbeat(rds, proc):
    """The worker's heartbeat (a dict) once the process has written it."""
    for key in rds.scan_iter("bro:worker:*"):
        value = rds.get(key)
        if value and json.loads(value).get("pid") == proc.p.pid:
            return json.loads(value)
    return None


def post_in_background(api, names):
    """Starts one create per name, each on its own thread; returns (threads, answers)."""
    answers = {}
    threads = [threading.Thread(target=lambda n=n: answers.update(
        {n: api.post("/v1/candidates", {"given_name": "Samtidig", "family_name": n})}))
        for n in names]
    for t in threads:
        t.start()
    return threads, answers


@contextlib.contextmanager
def one_worker(rds, tenants, redis_db, concurrency):
    """A gateway and one worker of `concurrency` slots on a Redis database of their own, with the
    coordinator's key resolved first (so a lock taken later never stands before the key check).
    Yields (svc, own, api, held): held(statement) takes a lock that is released at the end."""
    url, own = private_redis(rds, redis_db)
    svc = Service(redis_url=url, workers=1,
                  env={"BROBYGGER_WORKER_CONCURRENCY": str(concurrency)})
    locks = []

    def held(statement):
        locks.append(Held(statement))
        return locks[-1]
    try:
        svc.wait_ready()
        api = svc.api(tenants["a"]["coordinator"])
        assert api.get("/v1/me").status_code == 200
        yield svc, own, api, held
    finally:
        for lock in locks:
            lock.release()
        svc.stop()


def test_jobs_waiting_on_postgres_do_not_stop_the_others(migrated, tenants, db, rds):
    slug = tenants["a"]["slug"]
    with one_worker(rds, tenants, 7, 4) as (svc, own, api, held):
        lock = held(f'LOCK TABLE "t_{slug}".candidates IN ACCESS EXCLUSIVE MODE')
        names = ["Samtidig" + suffix() for _ in range(3)]
        threads, answers = post_in_background(api, names)
        # Three jobs of one process wait on the lock at once, each on its own connection.
        wait_until(lambda: len(lock_waiters(db)) == 3, what="three jobs waiting on the lock")
        assert len({pid for pid, _ in lock_waiters(db)}) == 3
        # The fourth slot still answers.
        t0 = time.monotonic()
        assert api.get("/v1/me").status_code == 200
        assert time.monotonic() - t0 < 2
        beat = wait_until(lambda: (lambda b: b if b and b["in_flight"] == 3 else None)(
            heartbeat(own, svc.workers[0])), what="a heartbeat with three jobs in flight")
        assert beat["concurrency"] == 4 and beat["queues"] == ["records"]
        lock.release()
        for t in threads:
            t.join(timeout=30)
        assert sorted(r.status_code for r in answers.values()) == [201, 201, 201]
        for name in names:
            assert count_candidates(db, slug, "family_name = %s", (name,)) == 1


def test_a_job_slower_than_the_visibility_timeout_runs_once(migrated, tenants, db, rds):
    slug = tenants["a"]["slug"]
    with one_worker(rds, tenants, 6, 4) as (svc, own, api, held):
        lock = held(f'LOCK TABLE "t_{slug}".candidates IN ACCESS EXCLUSIVE MODE')
        name = "Langsom" + suffix()
        threads, answers = post_in_background(api, [name])
        wait_until(lambda: len(lock_waiters(db)) == 1, what="the job waiting on the lock")
        # Three visibility timeouts: the idle slots of the same process must not take it over.
        most = 0
        deadline = time.monotonic() + 3 * VISIBILITY_S
        while time.monotonic() < deadline:
            most = max(most, len(lock_waiters(db)))
            time.sleep(0.05)
        assert most == 1
        assert own.xpending("bro:q:records", "workers")["pending"] == 1
        lock.release()
        threads[0].join(timeout=30)
        assert count_candidates(db, slug, "family_name = %s", (name,)) == 1
        wait_until(lambda: own.xpending("bro:q:records", "workers")["pending"] == 0,
                   what="the job acknowledged")


def test_sigterm_finishes_every_job_in_hand(migrated, tenants, db, rds):
    slug = tenants["a"]["slug"]
    with one_worker(rds, tenants, 5, 4) as (svc, own, api, held):
        w = svc.workers[0]
        wait_until(lambda: heartbeat(own, w), what="the heartbeat")
        lock = held(f'LOCK TABLE "t_{slug}".candidates IN ACCESS EXCLUSIVE MODE')
        names = ["Stopp" + suffix() for _ in range(3)]
        threads, answers = post_in_background(api, names)
        wait_until(lambda: len(lock_waiters(db)) == 3, what="three jobs in hand")
        w.p.send_signal(signal.SIGTERM)
        with pytest.raises(subprocess.TimeoutExpired):
            w.p.wait(timeout=0.5)  # no exit while its jobs wait
        lock.release()
        assert w.stop() == 0
        for t in threads:
            t.join(timeout=30)
        assert sorted(r.status_code for r in answers.values()) == [201, 201, 201]
        for name in names:
            assert count_candidates(db, slug, "family_name = %s", (name,)) == 1
        assert own.xpending("bro:q:records", "workers")["pending"] == 0
        assert list(own.scan_iter("bro:worker:*")) == []


def test_imports_leave_a_slot_for_short_jobs(migrated, tenants, db, rds):
    slug = tenants["a"]["slug"]
    with one_worker(rds, tenants, 4, 2) as (svc, own, api, held):
        fam = "Lang" + suffix()
        # Every import step updates the ref counter row: held, the first import's run waits.
        lock = held(f'SELECT * FROM "t_{slug}".ref_counters FOR UPDATE')
        first = accepted(post_csv(api, f"fornavn;etternavn\nA;{fam}\n"))
        wait_until(lambda: len(lock_waiters(db)) == 1, what="the first import's run to wait")
        # The second is accepted at once, but its run waits for the long slot: the other slot
        # is kept for the records queue's short jobs, which go on being answered.
        second = accepted(post_csv(api, f"fornavn;etternavn\nB;{fam}\n"))
        for _ in range(5):
            t0 = time.monotonic()
            r = api.get("/v1/candidates", params={"limit": 1})
            assert r.status_code == 200, r.text
            assert time.monotonic() - t0 < 2
        assert len(lock_waiters(db)) == 1
        lock.release()
        assert finished(api, first["id"])["status"] == "done"
        assert finished(api, second["id"])["status"] == "done"
        assert count_candidates(db, slug, "family_name = %s", (fam,)) == 2


def test_concurrency_out_of_bounds_is_bad_usage():
    for value in ("0", "257", "many"):
        p = subprocess.run([f"{BUILD}/brobygger-worker", "--concurrency", value],
                           capture_output=True, text=True, timeout=10)
        assert p.returncode == 2
        assert "--concurrency: must be between 1 and 256" in p.stderr
