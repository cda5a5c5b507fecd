"""A worker stops cleanly on SIGTERM and its heartbeat is visible while it runs."""
import signal
import time

from conftest import Service


def test_sigterm_while_idle_exits_zero_promptly(migrated):
    svc = Service(workers=1)
    try:
        svc.wait_ready()
        w = svc.workers[0]
        t0 = time.monotonic()
        assert w.stop(signal.SIGTERM) == 0
        assert time.monotonic() - t0 < 5
        w.assert_clean()
    finally:
        svc.stop()
