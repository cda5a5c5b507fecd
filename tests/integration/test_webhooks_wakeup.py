"""How the delivery thread hears of new events (issue 18), with the poll of every tenant slowed
to a minute and the sweep to an hour: an event committed soon after a tenant's last delivery
is still delivered at once, because a tenant whose turn just took work is looked at again
(after 5 ms, then twice as long each time it had nothing) until the wait reaches the poll
period. Its own module: the delivering worker of test_webhooks.py polls every tenant every
50 ms and would find the event first."""
from conftest import Service, private_redis, wait_until
# The webhooks module's fixtures: a tenant of this module's own, and a connection that removes
# the test's endpoints after it.
from test_webhooks import NOTIFY_ENV, Receiver, create, db, deliveries, emit, report, tenant  # noqa: F401

SLOW_POLL_ENV = {**NOTIFY_ENV, "BROBYGGER_NOTIFY_POLL_MS": "60000",
                 "BROBYGGER_NOTIFY_SWEEP_MS": "3600000"}


def test_an_event_soon_after_a_delivery_does_not_wait_for_the_poll(service, rds, tenant, db):
    rec = Receiver()
    # The endpoint is made through the session's service, which delivers nothing; the first
    # event waits in the outbox for the delivering worker's sweep at start.
    made = create(service, tenant, rec.url, ["report.ready"])
    first = emit(db, tenant, "report.ready", report(1))
    url, _ = private_redis(rds, 11)
    svc = Service(redis_url=url, workers=1, queues="records,notify", env=SLOW_POLL_ENV)
    try:
        svc.wait_ready()
        wait_until(lambda: deliveries(db, tenant, made["id"]) == [(first, "succeeded", 1)],
                   what="the first event, found by the sweep at start")
        second = emit(db, tenant, "report.ready", report(2))
        # Neither the poll (a minute) nor the sweep (an hour) comes within this wait.
        wait_until(lambda: rec.ids() == [first, second], timeout=15,
                   what="the second event, without waiting for the poll")
        wait_until(lambda: [s for _, s, _ in deliveries(db, tenant, made["id"])] ==
                   ["succeeded", "succeeded"], what="both recorded")
    finally:
        svc.stop()
        rec.stop()
