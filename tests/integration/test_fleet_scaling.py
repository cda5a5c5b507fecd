"""Scaling under load: while a steady stream of creates (each with an Idempotency-Key) and reads
runs, the fleet grows from 1 to 6 workers, shrinks with SIGTERM, loses workers that hold jobs to
SIGKILL, and Redis (AOF, appendfsync always) and PostgreSQL are killed and restarted. Afterwards
every create that got a 2xx, at once or after 5xx answers retried with its key, has exactly one
row with the id it was answered, and the service answers again without anyone touching it.

Bounded: each phase waits for its condition at most a few seconds and the whole test fails past
BUDGET_S, so it runs in the suite (about a minute per build on two cores)."""
import signal
import time

import requests

from conftest import Service, wait_until
from fleet import Load, PrivatePg, PrivateRedis

BUDGET_S = 110
WORKER_ENV = {"BROBYGGER_WORKER_CONCURRENCY": "4", "BROBYGGER_MAX_ATTEMPTS": "8"}


def live_workers(rds):
    try:
        return {int(name.decode().split("-")[-2]): name.decode()
                for name in rds.zrange("bro:workers", 0, -1)
                if rds.exists(b"bro:worker:" + name)}
    except Exception:  # Redis restarting: nobody is known to be live
        return {}


def holding(rds, consumer):
    """Jobs the consumer has been handed and not acknowledged."""
    try:
        return next((c["pending"] for c in rds.xinfo_consumers("bro:q:records", "workers")
                     if c["name"].decode() == consumer), 0)
    except Exception:
        return 0


def progressed(load, n=20):
    """Waits until n more creates were answered: the load goes on through the phase."""
    before = len(load.creates)
    wait_until(lambda: len(load.creates) >= before + n, timeout=30, what=f"{n} more creates")


def kill_one_holding_jobs(svc, rds):
    """SIGKILLs a worker at a moment it holds jobs; returns how many it held (0: it had
    acknowledged them just before the signal landed)."""
    def victim():
        for pid, consumer in live_workers(rds).items():
            w = next((w for w in svc.workers if w.p.pid == pid and w.alive()), None)
            if w and holding(rds, consumer) > 0:
                return w, consumer
        return None
    w, consumer = wait_until(victim, timeout=20, interval=0.001, what="a worker holding jobs")
    w.stop(signal.SIGKILL)
    return holding(rds, consumer)


def test_the_fleet_scales_and_survives_faults_under_load(migrated):
    started = time.monotonic()
    pg, red = PrivatePg(), PrivateRedis()
    svc = Service(redis_url=red.url, workers=1, env={**pg.env, **WORKER_ENV})
    load = None
    killed = []
    try:
        svc.wait_ready()
        rds = red.client()
        load = Load(svc.base, pg.key).start()
        progressed(load)
        # Grow 1 -> 6.
        svc.workers += [svc.start_worker() for _ in range(5)]
        wait_until(lambda: len(live_workers(rds)) == 6, timeout=20, what="six live workers")
        progressed(load)
        # Shrink with SIGTERM: each finishes what it holds and leaves.
        for w in svc.workers[1:3]:
            assert w.stop(signal.SIGTERM) == 0, w.stderr()[-2000:]
        wait_until(lambda: len(live_workers(rds)) == 4, what="four live workers")
        progressed(load)
        # SIGKILL workers while they hold jobs; others reclaim them after the visibility timeout.
        held = []
        for _ in range(2):
            held.append(kill_one_holding_jobs(svc, rds))
            killed += [w for w in svc.workers if not w.alive() and w not in killed]
            progressed(load)
        assert sum(held) >= 1, "no worker held a job when it was killed"
        svc.workers.append(svc.start_worker())
        # Redis killed and restarted from its AOF; PostgreSQL crashed and restarted.
        red.restart()
        progressed(load)
        pg.restart()
        progressed(load)
        svc.workers.append(svc.start_worker())
        progressed(load)
        load.stop()
        # Recovered without anyone touching it: a new create is answered at once.
        r = requests.post(svc.base + "/v1/candidates", timeout=15,
                          json={"given_name": "Etter", "family_name": "Stormen"},
                          headers={"Authorization": f"Bearer {pg.key}"})
        assert r.status_code == 201, r.text
        # The operator sees both restarts on /metrics: the workers' and the gateway's reconnects.
        def reconnects():
            text = requests.get(f"http://127.0.0.1:{svc.admin_port}/metrics", timeout=5).text
            got = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                   for line in text.splitlines() if "reconnects_total" in line and line[0] != "#"}
            return got if got.get('brobygger_worker_reconnects_total{server="postgres"}', 0) >= 1 \
                and got.get('brobygger_worker_reconnects_total{server="redis"}', 0) >= 1 \
                and got.get("brobygger_gateway_redis_reconnects_total", 0) >= 1 else None
        seen = wait_until(reconnects, timeout=10, what="the reconnects on /metrics")
        conn = pg.connect()
        c = load.counted(conn, pg.slug)
        conn.close()
        c.update({"reconnects": {k.split("{")[-1].rstrip("}") or k: int(v)
                                 for k, v in seen.items()}, "killed_holding": held, "seconds": round(time.monotonic() - started, 1)})
        print("\nfleet counts:", " ".join(f"{k}={v}" for k, v in c.items()))
        assert c["no_2xx"] == 0 and c["missing"] == 0, c
        assert c["duplicates"] == 0 and c["wrong_id"] == 0, c
        assert c["rows"] == c["first_2xx"] + c["retried_2xx"] + 1, c  # + the last create
        assert c["reads_wrong"] == 0 and c["reads_2xx"] > 0, c
        assert c["creates"] >= 100, c
        assert time.monotonic() - started < BUDGET_S, c
    finally:
        if load:
            load.stop()
        for p in svc.procs:
            if p.alive():
                p.stop()
        for p in svc.procs:
            if p not in killed:
                p.assert_clean()
        red.close()
        pg.close()
