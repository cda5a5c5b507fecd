"""A worker stops cleanly on SIGTERM and its heartbeat is visible while it runs."""
import json
import signal
import time

from conftest import Service, wait_until


def own_heartbeat(rds, proc):
    """True once the worker process itself has written its heartbeat (its pid is in it)."""
    for key in rds.scan_iter("bro:worker:*"):
        value = rds.get(key)
        if value and json.loads(value).get("pid") == proc.p.pid:
            return True
    return False


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
