"""Redis is the one piece every request passes. With BROBYGGER_REDIS naming a Sentinel and a
master, the master is killed under a steady load of creates (each with an Idempotency-Key,
retried with it after a 5xx) and reads: the sentinel promotes the replica, gateway and workers
find it on their next connection, and afterwards every create that got a 2xx has exactly one
row with the id it was answered. Replication is asynchronous, so the last jobs, replies or
acknowledgements the master took may be lost with it; a lost job or reply shows as a 5xx that
the client retries with its key, a lost acknowledgement as a redelivery that processed_jobs
answers, and neither adds a row."""
import time

import requests

from conftest import Service, wait_until
from fleet import Load, PrivatePg, SentinelPair
from test_fleet_scaling import BUDGET_S, progressed


def test_the_master_fails_over_under_load_and_every_effect_happens_once(migrated):
    started = time.monotonic()
    pg, pair = PrivatePg(), SentinelPair()
    svc = Service(redis_url=pair.url, workers=2, env={**pg.env,
                                                     "BROBYGGER_WORKER_CONCURRENCY": "4",
                                                     "BROBYGGER_MAX_ATTEMPTS": "8"})
    load = None
    try:
        svc.wait_ready()
        load = Load(svc.base, pg.key).start()
        progressed(load, 40)
        old = pair.master.port
        pair.master.kill()
        wait_until(lambda: pair.master_port() == pair.replica.port, timeout=30,
                   what="the sentinel to promote the replica")
        progressed(load, 60)
        load.stop()
        r = requests.post(svc.base + "/v1/candidates", timeout=15,
                          json={"given_name": "Etter", "family_name": "Failover"},
                          headers={"Authorization": f"Bearer {pg.key}"})
        assert r.status_code == 201, r.text
        conn = pg.connect()
        c = load.counted(conn, pg.slug)
        conn.close()
        c.update({"old_master": old, "new_master": pair.master_port(),
                  "seconds": round(time.monotonic() - started, 1)})
        print("\nfailover counts:", " ".join(f"{k}={v}" for k, v in c.items()))
        assert c["no_2xx"] == 0 and c["missing"] == 0, c
        assert c["duplicates"] == 0 and c["wrong_id"] == 0, c
        assert c["rows"] == c["first_2xx"] + c["retried_2xx"] + 1, c
        assert c["reads_wrong"] == 0, c
        assert time.monotonic() - started < BUDGET_S, c
    finally:
        if load:
            load.stop()
        svc.stop()
        pair.close()
        pg.close()
