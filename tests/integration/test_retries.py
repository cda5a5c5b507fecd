"""A job that fails for a passing reason is retried through the delayed set with a backoff
(between half the base and base * 2^(attempt-1) ms, jitter included), its attempt counted in
the envelope; after BROBYGGER_MAX_ATTEMPTS it goes to bro:dead:<queue> with its last error,
acknowledged, and its effect never happens. The transient failure is a real one: the worker
waits on a lock the test holds, and the test cancels its statement (SQLSTATE 57014)."""
import threading
import time

import msgpack

from conftest import (Held, Service, count_candidates, lock_waiters, private_redis, suffix,
                      wait_until)

MAX_ATTEMPTS = 3
BASE_MS = 400


def blocked_worker(db):
    """(pid, query_start) of the worker statement waiting on the test's lock, or None."""
    rows = lock_waiters(db)
    return rows[0] if len(rows) == 1 else None


def now_ms():
    return time.time() * 1000


def test_transient_failures_back_off_then_dead_letter_after_max_attempts(migrated, tenants, db,
                                                                          rds):
    url, rds = private_redis(rds, 8)
    svc = Service(redis_url=url, workers=1, env={
        "BROBYGGER_MAX_ATTEMPTS": str(MAX_ATTEMPTS), "BROBYGGER_RETRY_BASE_MS": str(BASE_MS),
        "BROBYGGER_REQUEST_TIMEOUT_MS": "1500"})
    slug = tenants["a"]["slug"]
    name = "Retry" + suffix()
    lock = None
    try:
        svc.wait_ready()
        api = svc.api(tenants["a"]["coordinator"])
        assert api.get("/v1/me").status_code == 200
        lock = Held(f'LOCK TABLE "t_{slug}".candidates IN ACCESS EXCLUSIVE MODE')
        result = {}
        t = threading.Thread(target=lambda: result.update(
            r=api.post("/v1/candidates", {"given_name": "R", "family_name": name})))
        t.start()
        # The asker stops waiting after BROBYGGER_REQUEST_TIMEOUT_MS; the retries go on.
        t.join(timeout=30)
        assert result["r"].status_code == 504, result["r"].text
        job_id = None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            pid, started = wait_until(lambda: blocked_worker(db), what=f"attempt {attempt}")
            cancelled_at = now_ms()
            with db.cursor() as cur:
                cur.execute("SELECT pg_cancel_backend(%s)", (pid,))

            def went():  # back to the delayed set, to the dead letters, or (wrong) run again
                again = blocked_worker(db)
                return rds.zcard("bro:delayed:records") or rds.xlen("bro:dead:records") or \
                    (again is not None and again[1] != started)
            wait_until(went, what=f"attempt {attempt} to be retried or dead-lettered")
            seen_at = now_ms()
            if attempt == MAX_ATTEMPTS:
                break
            assert rds.xlen("bro:dead:records") == 0, f"dead-lettered after attempt {attempt}"
            assert rds.zcard("bro:delayed:records") == 1, "run again without a delay"
            [(member, due)] = rds.zrange("bro:delayed:records", 0, -1, withscores=True)
            env = msgpack.unpackb(member)
            job_id = job_id or env["id"]
            assert (env["id"], env["kind"], env["attempt"]) == \
                (job_id, "candidate.create", attempt + 1)
            ceiling = BASE_MS * 2 ** (attempt - 1)
            assert cancelled_at + BASE_MS / 2 <= due <= seen_at + ceiling, \
                (attempt, due - cancelled_at, ceiling)
            # not taken again before it is due (the next attempt is seen running after that)
            wait_until(lambda: blocked_worker(db), what=f"attempt {attempt + 1}")
            assert now_ms() >= due - 5
        assert rds.zcard("bro:delayed:records") == 0, "retried past the maximum attempts"
        [(_, fields)] = rds.xrange("bro:dead:records")
        # What an operator needs, and no envelope in clear (no dead-letter key is set here).
        assert (fields[b"job"].decode(), fields[b"kind"], fields[b"attempts"]) == \
            (job_id, b"candidate.create", str(MAX_ATTEMPTS).encode())
        assert b"e" not in fields and b"sealed" not in fields
        assert "SQLSTATE 57014" in fields[b"error"].decode()
        assert rds.xpending("bro:q:records", "workers")["pending"] == 0
        assert rds.xlen("bro:q:records") == 0
        assert f"gave up after {MAX_ATTEMPTS} attempts" in svc.workers[0].stderr()
        lock.release()
        assert count_candidates(db, slug, "family_name = %s", (name,)) == 0
        with db.cursor() as cur:
            cur.execute(f'SELECT count(*) FROM "t_{slug}".processed_jobs WHERE job_id = %s',
                        (job_id,))
            assert cur.fetchone()[0] == 0
        # the worker goes on with the next job
        r = api.post("/v1/candidates", {"given_name": "R", "family_name": name + "x"})
        assert r.status_code == 201, r.text
    finally:
        if lock:
            lock.release()
        svc.stop()


def test_the_asker_still_waiting_hears_503_when_the_attempts_are_used_up(migrated, tenants, db,
                                                                         rds):
    """A client whose deadline outlasts every retry gets the failure when the job is given up,
    not a 504 at its own deadline."""
    url, rds = private_redis(rds, 8)
    svc = Service(redis_url=url, workers=1, env={
        "BROBYGGER_MAX_ATTEMPTS": "2", "BROBYGGER_RETRY_BASE_MS": "100",
        "BROBYGGER_REQUEST_TIMEOUT_MS": "30000"})
    slug = tenants["a"]["slug"]
    lock = None
    try:
        svc.wait_ready()
        api = svc.api(tenants["a"]["coordinator"])
        assert api.get("/v1/me").status_code == 200
        lock = Held(f'LOCK TABLE "t_{slug}".candidates IN ACCESS EXCLUSIVE MODE')
        result = {}

        def post():
            try:
                result["r"] = api.post("/v1/candidates",
                                       {"given_name": "R", "family_name": "Gir" + suffix()})
            except Exception as e:  # noqa: BLE001 (reported below)
                result["error"] = e
        t = threading.Thread(target=post)
        t.start()
        started = None
        for attempt in (1, 2):
            pid, started = wait_until(
                lambda: (w := blocked_worker(db)) and w[1] != started and w,
                what=f"attempt {attempt}")
            with db.cursor() as cur:
                cur.execute("SELECT pg_cancel_backend(%s)", (pid,))
        began = time.monotonic()
        t.join(timeout=20)
        assert time.monotonic() - began < 10, "the asker waited for its own deadline"
        assert "error" not in result, result
        r = result["r"]
        assert r.status_code == 503, r.text
        assert r.headers["Content-Type"] == "application/problem+json"
        assert r.json()["type"].endswith("/unavailable")
        assert rds.xlen("bro:dead:records") == 1
    finally:
        if lock:
            lock.release()
        svc.stop()
