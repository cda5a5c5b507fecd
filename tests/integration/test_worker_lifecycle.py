"""A worker stops cleanly on SIGTERM: it finishes the job in hand, then leaves nothing behind in
the group (no consumer, no heartbeat), so /readyz is 503 as soon as the last one is gone. A
killed worker's consumer is removed by another worker's janitor, but only after its pending job
was taken over."""
import json
import signal
import threading
import time

from conftest import FAST_ENV, Service, count_candidates, private_redis, suffix, wait_until


TTL_S = int(FAST_ENV["BROBYGGER_HEARTBEAT_TTL_MS"]) / 1000


def own_heartbeat(rds, proc):
    """The worker's id once the process itself has written its heartbeat (its pid is in it)."""
    for key in rds.scan_iter("bro:worker:*"):
        value = rds.get(key)
        if value and json.loads(value).get("pid") == proc.p.pid:
            return key.decode()[len("bro:worker:"):]
    return None


def consumers(rds):
    """Consumer name -> pending count in the records queue's group."""
    try:
        return {c["name"].decode() if isinstance(c["name"], bytes) else c["name"]: c["pending"]
                for c in rds.xinfo_consumers("bro:q:records", "workers")}
    except Exception:  # no stream or group yet
        return {}


def readyz(svc):
    return svc.api().get("/readyz").status_code


def test_sigterm_while_idle_exits_zero_promptly(migrated, rds):
    svc = Service(workers=1)
    try:
        w = svc.workers[0]
        # /readyz may already pass on another worker's heartbeat; wait for this one's, which it
        # writes only once its signal handlers are in place and it is in its loop.
        wait_until(lambda: own_heartbeat(rds, w), what="the worker's own heartbeat")
        t0 = time.monotonic()
        assert w.stop(signal.SIGTERM) == 0
        assert time.monotonic() - t0 < 5
        w.assert_clean()
    finally:
        svc.stop()


def test_stopped_workers_leave_no_consumer_or_heartbeat_and_readyz_turns_503(migrated, tenants,
                                                                            rds):
    url, own = private_redis(rds, 12)
    svc = Service(redis_url=url, workers=3)
    try:
        svc.wait_ready()
        ids = [wait_until(lambda w=w: own_heartbeat(own, w), what="heartbeats")
               for w in svc.workers]
        api = svc.api(tenants["a"]["coordinator"])

        def all_consumers():
            # A consumer exists once it has been handed a job; blocked readers are served in
            # turn, so a few jobs reach all three.
            assert api.get("/v1/candidates", params={"limit": 1}).status_code == 200
            return set(ids) <= set(consumers(own))
        wait_until(all_consumers, what="the three consumers")
        for w in svc.workers:
            assert w.stop(signal.SIGTERM) == 0
        # A clean stop removes the heartbeat at once: no waiting for its TTL to run out.
        wait_until(lambda: readyz(svc) == 503, timeout=TTL_S, interval=0.02,
                   what="/readyz 503 after the last worker left")
        assert not set(ids) & set(consumers(own))
        assert not set(ids) & {m.decode() for m in own.zrange("bro:workers", 0, -1)}
        assert list(own.scan_iter("bro:worker:*")) == []
    finally:
        for p in svc.procs:
            p.stop()
        for p in svc.procs:
            p.assert_clean()


def locked_create(db, slug, api, name):
    """Posts a create while the tenant's candidates table is locked, so the worker holds the job.
    Returns the open lock cursor and the thread posting."""
    lock = db.cursor()
    lock.execute("BEGIN")
    lock.execute(f'LOCK TABLE "t_{slug}".candidates IN ACCESS EXCLUSIVE MODE')
    t = threading.Thread(target=lambda: api.post(
        "/v1/candidates", {"given_name": "K", "family_name": name},
        headers={"Idempotency-Key": "life-" + name}))
    t.start()

    def worker_blocked():
        with db.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = "
                        "'brobygger_worker' AND wait_event_type = 'Lock'")
            return cur.fetchone()[0] >= 1
    wait_until(worker_blocked, what="the worker to wait on the lock")
    return lock, t


def test_sigterm_finishes_the_job_in_hand_then_leaves(migrated, tenants, db, rds):
    url, own = private_redis(rds, 12)
    svc = Service(redis_url=url, workers=1)
    lock = None
    try:
        svc.wait_ready()
        slug = tenants["a"]["slug"]
        api = svc.api(tenants["a"]["coordinator"])
        assert api.get("/v1/me").status_code == 200  # key resolved before the lock
        w = svc.workers[0]
        wid = wait_until(lambda: own_heartbeat(own, w), what="the heartbeat")
        name = "Stopp" + suffix()
        lock, t = locked_create(db, slug, api, name)
        assert consumers(own)[wid] == 1
        w.p.send_signal(signal.SIGTERM)
        lock.execute("ROLLBACK")
        assert w.stop() == 0
        t.join(timeout=30)
        assert count_candidates(db, slug, "family_name = %s", (name,)) == 1
        assert wid not in consumers(own)
        assert own.xpending("bro:q:records", "workers")["pending"] == 0
        assert not own.exists(f"bro:worker:{wid}")
    finally:
        if lock is not None:
            lock.close()
        for p in svc.procs:
            p.stop()
        for p in svc.procs:
            p.assert_clean()


def test_janitor_removes_a_killed_workers_consumer_only_after_its_job_was_taken_over(
        migrated, tenants, db, rds):
    url, own = private_redis(rds, 11)
    svc = Service(redis_url=url, workers=1)
    lock = None
    try:
        svc.wait_ready()
        slug = tenants["a"]["slug"]
        api = svc.api(tenants["a"]["coordinator"])
        assert api.get("/v1/me").status_code == 200
        victim = svc.workers[0]
        vid = wait_until(lambda: own_heartbeat(own, victim), what="the victim's heartbeat")
        name = "Drept" + suffix()
        lock, t = locked_create(db, slug, api, name)
        victim.stop(signal.SIGKILL)
        lock.execute("ROLLBACK")
        # The survivor takes the job over only after a visibility timeout longer than the
        # heartbeat's TTL, so its janitor first sees the victim with no heartbeat and a job
        # pending: it must keep that consumer, or the job would never run.
        svc.env = {**svc.env, "BROBYGGER_VISIBILITY_MS": str(int(TTL_S * 2000))}
        survivor = svc.start_worker()
        sid = wait_until(lambda: own_heartbeat(own, survivor), what="the survivor's heartbeat")
        wait_until(lambda: not own.exists(f"bro:worker:{vid}"), timeout=TTL_S + 2,
                   what="the victim's heartbeat to expire")
        pending_seen = 0

        def victim_gone():
            nonlocal pending_seen
            now = consumers(own)
            pending_seen += now.get(vid, 0) > 0
            return vid not in now
        wait_until(victim_gone, timeout=TTL_S * 3 + 10, interval=0.1,
                   what="the janitor to remove the victim's consumer")
        assert pending_seen > 0  # seen without a heartbeat and with its job, and kept then
        t.join(timeout=30)
        # Taken over, not dropped with the consumer: deleting a consumer that still holds an
        # entry drops it from the group, and the job would never run.
        wait_until(lambda: count_candidates(db, slug, "family_name = %s", (name,)) == 1,
                   what="the job done by the survivor")
        assert own.xpending("bro:q:records", "workers")["pending"] == 0
        assert sid in consumers(own)
    finally:
        if lock is not None:
            lock.close()
        for p in svc.procs:
            if p.alive():
                p.stop()
        for p in [svc.gateway] + svc.procs[2:]:  # not the killed one
            p.assert_clean()


def nice_of(proc):
    """The process's nice value (field 19 of /proc/PID/stat, after the command's parentheses)."""
    with open(f"/proc/{proc.p.pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])


def test_a_worker_of_long_queues_only_yields_the_cpu_and_a_records_worker_does_not(migrated, rds):
    svc = Service(workers=1, queues="records,matching")
    try:
        mixed = svc.workers[0]
        long_only = svc.start_worker("matching,reports")
        for w in (mixed, long_only):
            wait_until(lambda w=w: own_heartbeat(rds, w), what="the worker's heartbeat")
        assert nice_of(mixed) == 0
        assert nice_of(long_only) == 10  # BROBYGGER_LONG_NICE's default
    finally:
        svc.stop()
