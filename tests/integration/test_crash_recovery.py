"""A worker killed with SIGKILL while it holds a job: the job is reclaimed and done once, and a
job it committed but never acknowledged is answered again from its stored reply."""
import signal
import threading

import msgpack

from conftest import (Held, Service, count_candidates, lock_waiters, private_redis, suffix,
                      wait_until)


def test_job_of_killed_worker_is_reclaimed_and_done_once(migrated, tenants, db, rds):
    # A Redis database of its own, so only this test's worker can take the job.
    url, rds = private_redis(rds, 14)
    svc = Service(redis_url=url, workers=1)
    lock = None
    try:
        svc.wait_ready()
        slug = tenants["a"]["slug"]
        api = svc.api(tenants["a"]["coordinator"])
        assert api.get("/v1/me").status_code == 200  # key resolved and cached before the lock
        name = "Crash" + suffix()
        lock = Held(f'LOCK TABLE "t_{slug}".candidates IN ACCESS EXCLUSIVE MODE')
        result = {}

        def create():
            result["r"] = api.post("/v1/candidates", {"given_name": "K", "family_name": name},
                                   headers={"Idempotency-Key": "crash-" + name})

        t = threading.Thread(target=create)
        t.start()
        wait_until(lambda: lock_waiters(db), what="worker waiting on the lock")
        assert rds.xpending("bro:q:records", "workers")["pending"] >= 1
        victim = svc.workers[0]
        victim.stop(signal.SIGKILL)
        lock.release()
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
        if lock:
            lock.release()
        svc.stop_after_kill(svc.procs[1])  # the worker the test killed


def stored_reply(db, slug, name):
    """(job id, status, reply bytes) of the committed create of the candidate called name."""
    with db.cursor() as cur:
        cur.execute(f'SELECT job_id::text, status, reply FROM "t_{slug}".processed_jobs '
                    "WHERE kind = 'candidate.create' AND position(convert_to(%s, 'UTF8') IN reply)"
                    " > 0", (name,))
        rows = cur.fetchall()
    return rows[0][:2] + (bytes(rows[0][2]),) if len(rows) == 1 else None


def test_a_committed_unacknowledged_job_is_replayed_from_its_stored_reply(migrated, tenants, db,
                                                                          rds):
    """The worker commits, then dies before XACK: Redis still holds the job as pending, so it is
    delivered again. The second worker must answer from processed_jobs (the same reply, byte for
    byte) and change nothing: one candidate, one outbox event, one audit row.

    The moment between COMMIT and XACK is made to last: PUBLISH of the reply comes first, and
    CLIENT PAUSE WRITE holds every write command (PUBLISH and XACK included) until the worker
    has been killed."""
    url, rds = private_redis(rds, 7)
    svc = Service(redis_url=url, workers=1, env={"BROBYGGER_REQUEST_TIMEOUT_MS": "30000"})
    slug = tenants["a"]["slug"]
    name = "Replay" + suffix()
    replies = rds.pubsub()
    replies.psubscribe("bro:reply:*")
    paused, lock = False, None
    try:
        svc.wait_ready()
        api = svc.api(tenants["a"]["coordinator"])
        assert api.get("/v1/me").status_code == 200
        lock = Held(f'LOCK TABLE "t_{slug}".candidates IN ACCESS EXCLUSIVE MODE')
        result = {}
        t = threading.Thread(target=lambda: result.update(
            r=api.post("/v1/candidates", {"given_name": "R", "family_name": name})))
        t.start()
        wait_until(lambda: lock_waiters(db), what="worker waiting on the lock")
        rds.execute_command("CLIENT", "PAUSE", "20000", "WRITE")
        paused = True
        lock.release()
        job_id, status, reply = wait_until(lambda: stored_reply(db, slug, name),
                                           what="the job's commit")
        victim = svc.workers[0]
        victim.stop(signal.SIGKILL)
        rds.execute_command("CLIENT", "UNPAUSE")
        paused = False
        pending = rds.xpending("bro:q:records", "workers")
        assert pending["pending"] == 1, pending  # committed, never acknowledged
        second = svc.start_worker()
        wait_until(lambda: rds.xpending("bro:q:records", "workers")["pending"] == 0,
                   what="the redelivered job acknowledged")
        t.join(timeout=30)
        assert "after 2 deliveries" in second.stderr()
        # The asker gets the stored answer, and so does anyone listening for it.
        assert status == 201
        r = result["r"]
        assert r.status_code == 201 and r.json() == msgpack.unpackb(reply)
        sent = []
        while (m := replies.get_message(timeout=0.5)) is not None:
            if m["type"] == "pmessage":
                envelope = msgpack.unpackb(m["data"])
                if envelope["id"] == job_id:
                    sent.append(envelope)
        assert sent == [{"v": 1, "id": job_id, "status": 201, "body": msgpack.unpackb(reply)}]
        # No second effect.
        cid = r.json()["id"]
        with db.cursor() as cur:
            cur.execute(f'SELECT (SELECT count(*) FROM "t_{slug}".candidates WHERE family_name = %s),'
                        f' (SELECT count(*) FROM "t_{slug}".outbox WHERE aggregate_id = %s),'
                        f' (SELECT count(*) FROM "t_{slug}".audit_log WHERE candidate_id = %s),'
                        f' (SELECT count(*) FROM "t_{slug}".processed_jobs WHERE job_id = %s)',
                        (name, cid, cid, job_id))
            assert cur.fetchone() == (1, 1, 1, 1)
    finally:
        if paused:
            rds.execute_command("CLIENT", "UNPAUSE")
        if lock:
            lock.release()
        replies.close()
        svc.stop_after_kill(svc.procs[1])  # the worker the test killed
