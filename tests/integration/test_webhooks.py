"""Webhooks end to end: endpoints through the API, events from the tenant's outbox, deliveries to
real HTTP receivers the tests start, signatures checked by the tests' own implementation of the
Standard Webhooks specification (Python's hmac and base64), and the failures a partner's system
has: down, flaky, slow, gone; a worker killed mid-delivery; Redis emptied while events wait.

Events are made as the modules make them: a status change through the API, or an outbox row
written in SQL for the events other modules write (match.*, report.ready)."""
import base64
import hashlib
import hmac
import http.server
import json
import os
import signal
import socket
import threading
import time
import uuid

import psycopg2
import pytest

import rawhttp

from conftest import Proc, Service, admin, free_port, issue_key, private_redis, suffix, uuid7, \
    wait_until

# Retries in fractions of a second, so the whole schedule runs within a test.
NOTIFY_ENV = {
    "BROBYGGER_NOTIFY_DELIVER": "1",
    "BROBYGGER_NOTIFY_RETRY_SCHEDULE_MS": "200,400,800,1600",
    "BROBYGGER_NOTIFY_DISABLE_AFTER_MS": "5000",
    "BROBYGGER_NOTIFY_TIMEOUT_MS": "4000",
    "BROBYGGER_NOTIFY_CONNECT_TIMEOUT_MS": "500",
    "BROBYGGER_NOTIFY_POLL_MS": "50",
    # The sweep of every tenant runs at start only: what the tests see arrive was heard of by
    # the poll, or is a retry the one delivering worker knows is due.
    "BROBYGGER_NOTIFY_SWEEP_MS": "3600000",
}


# ---- a receiver ---------------------------------------------------------------------------------

class Receiver:
    """An HTTP server on loopback that records every POST (headers, body, time) and answers
    what `answer(n)` says for the n-th request (status, seconds to wait first)."""

    def __init__(self, answer=lambda n: (200, 0)):
        self.answer = answer
        self.requests = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.server = None
        self.start()

    def start(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    n = len(receiver.requests)
                    receiver.requests.append({"headers": {k.lower(): v for k, v in
                                                          self.headers.items()},
                                              "body": body, "at": time.monotonic()})
                status, wait = receiver.answer(n)
                if wait:
                    time.sleep(wait)
                reply = b'{"ok": true}'
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            allow_reuse_address = True
            request_queue_size = 128  # a burst of connections waits in the backlog

        self.server = Server(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hook"

    def events(self):
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests]

    def ids(self):
        with self.lock:
            return [r["headers"]["webhook-id"] for r in self.requests]


def verify(secret, request):
    """The Standard Webhooks check, written here from the specification: HMAC-SHA256 with the
    base64-decoded secret over "<webhook-id>.<webhook-timestamp>.<body>", compared with each
    space-separated `v1,<base64>` of webhook-signature. Returns how many signatures matched."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    h = request["headers"]
    content = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + request["body"]
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    return sum(1 for sig in h["webhook-signature"].split(" ")
               if sig.startswith("v1,") and hmac.compare_digest(sig[3:], expected))


# ---- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tenant(migrated):
    """A tenant of its own, so no other test's events reach these endpoints."""
    slug = f"it_wh_{suffix()}"
    for knr in range(7000, 7100):
        if admin("tenant", "create", "--slug", slug, "--name", "Webhooks", "--kommunenummer",
                 str(knr), check=False).returncode == 0:
            break
    return {"slug": slug, "admin": issue_key(slug, "tenant_admin"),
            "coordinator": issue_key(slug, "coordinator"), "schema": f'"t_{slug}"'}


@pytest.fixture(scope="module")
def svc(rds, tenant):
    """A gateway and one delivering worker on a Redis database of their own; the one process
    that delivers, so the tests that kill or replace it know where each attempt runs."""
    url, _ = private_redis(rds, 11)
    s = Service(redis_url=url, workers=1, queues="records,notify", env=NOTIFY_ENV)
    s.wait_ready()
    yield s
    s.stop_after_kill(None)


@pytest.fixture
def db(tenant):
    conn = psycopg2.connect(os.environ["BROBYGGER_PG_ADMIN"])
    conn.autocommit = True
    yield conn
    with conn.cursor() as cur:  # the next test starts with no endpoint
        cur.execute(f"DELETE FROM {tenant['schema']}.webhook_endpoints")
    conn.close()


def create(svc, tenant, url, events=("*",), **more):
    r = svc.api(tenant["admin"]).post("/v1/webhooks", {"url": url, "events": list(events), **more})
    assert r.status_code == 201, r.text
    return r.json()


def emit(db, tenant, event, payload, aggregate=None):
    """An outbox row as a module writes it; returns its event id (the webhook-id)."""
    eid = str(uuid.uuid4())
    with db.cursor() as cur:
        cur.execute(f"INSERT INTO {tenant['schema']}.outbox (event_id, event, aggregate_id, "
                    f"payload) VALUES (%s, %s, %s, %s)", (eid, event, aggregate, json.dumps(payload)))
    return eid


def deliveries(db, tenant, endpoint):
    with db.cursor() as cur:
        cur.execute(f"SELECT event_id::text, status, attempts FROM {tenant['schema']}."
                    f"webhook_deliveries WHERE endpoint_id = %s ORDER BY seq", (endpoint,))
        return cur.fetchall()


def scrape(svc):
    """The samples of the service's /metrics, as {"name{labels}": value}."""
    return rawhttp.metrics(svc.admin_port)[0]


def counted(svc, outcome):
    """The delivering workers' attempts of one outcome, as the gateway's /metrics shows them."""
    return int(scrape(svc).get(f'brobygger_webhook_deliveries_total{{outcome="{outcome}"}}', 0))


def report(n):
    return {"report_id": str(uuid.uuid4()), "type": "pipeline", "format": "csv", "n": n}


# ---- endpoints ----------------------------------------------------------------------------------

def test_the_secret_is_shown_once_and_the_endpoint_can_be_changed_and_deleted(svc, tenant, db):
    api = svc.api(tenant["admin"])
    made = create(svc, tenant, "http://127.0.0.1:9/hook", ["report.ready"], description="Rapport")
    assert made["secret"].startswith("whsec_")
    assert len(base64.b64decode(made["secret"][6:])) == 24
    got = api.get(f"/v1/webhooks/{made['id']}")
    assert got.status_code == 200 and "secret" not in got.json()
    assert got.json()["events"] == ["report.ready"]
    assert [w["id"] for w in api.get("/v1/webhooks").json()["items"]] == [made["id"]]
    r = api.patch(f"/v1/webhooks/{made['id']}", {"active": False}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["active"] is False
    assert r.json()["disabled_reason"] == "by_admin"
    assert api.patch(f"/v1/webhooks/{made['id']}", {"active": True},
                     headers={"If-Match": '"1"'}).status_code == 412
    assert api.delete(f"/v1/webhooks/{made['id']}").status_code == 204
    assert api.get(f"/v1/webhooks/{made['id']}").status_code == 404


def test_the_webhook_routes_answer_as_documented(svc, tenant, db):
    from test_openapi import assert_documented
    import requests
    doc = requests.get(svc.base + "/v1/openapi.json", timeout=10).json()
    api = svc.api(tenant["admin"])
    body = {"url": "http://127.0.0.1:9/hook", "events": ["report.ready", "ping"],
            "description": "Dokumentert", "active": True}
    r = api.post("/v1/webhooks", body)
    assert_documented(doc, "POST", "/v1/webhooks", r, body)
    wid = r.json()["id"]
    assert r.headers["ETag"] == r.json()["etag"] == '"1"'
    assert_documented(doc, "POST", "/v1/webhooks", api.post("/v1/webhooks", {"url": "x"}))
    assert_documented(doc, "GET", "/v1/webhooks", api.get("/v1/webhooks", params={"limit": 1}))
    assert_documented(doc, "GET", "/v1/webhooks/{id}", api.get(f"/v1/webhooks/{wid}"))
    assert_documented(doc, "PATCH", "/v1/webhooks/{id}",
                      api.patch(f"/v1/webhooks/{wid}", {"description": None}), {"description": None})
    r = api.post(f"/v1/webhooks/{wid}/rotate-secret", {})
    assert_documented(doc, "POST", "/v1/webhooks/{id}/rotate-secret", r)
    r = api.post(f"/v1/webhooks/{wid}/ping")
    assert_documented(doc, "POST", "/v1/webhooks/{id}/ping", r)
    wait_until(lambda: deliveries(db, tenant, wid), what="the ping's delivery")
    r = api.get(f"/v1/webhooks/{wid}/deliveries", params={"status": "pending", "limit": 5})
    assert_documented(doc, "GET", "/v1/webhooks/{id}/deliveries", r)
    assert_documented(doc, "POST", "/v1/webhooks/{id}/deliveries/{sub_id}/retry",
                      api.post(f"/v1/webhooks/{wid}/deliveries/{uuid7()}/retry"))
    r = api.post(f"/v1/webhooks/{wid}/replay", {"since": "2026-01-01T00:00:00Z"})
    assert_documented(doc, "POST", "/v1/webhooks/{id}/replay", r)
    assert_documented(doc, "DELETE", "/v1/webhooks/{id}", api.delete(f"/v1/webhooks/{wid}"))
    assert_documented(doc, "GET", "/v1/webhooks/{id}", api.get(f"/v1/webhooks/{wid}"))


def test_only_the_tenant_admin_manages_webhooks(svc, tenant, db):
    r = svc.api(tenant["coordinator"]).post("/v1/webhooks", {"url": "https://example.no/h",
                                                              "events": ["*"]})
    assert r.status_code == 403


@pytest.mark.parametrize("url, why", [
    ("http://example.no/hook", "must be an https:// URL"),
    ("ftp://example.no/hook", "must be an https:// URL"),
    ("https://user:pw@example.no/hook", "must not carry user information"),
    ("https://10.0.0.7/hook", "private"),
    ("https://192.168.1.1/hook", "private"),
    ("https://169.254.169.254/latest/meta-data", "metadata"),
    ("https://[fe80::1]/hook", "private, link-local"),
    ("https://0.0.0.0/hook", "reserved"),
    ("https://nowhere.invalid/hook", "does not resolve"),
])
def test_urls_to_private_addresses_or_without_https_are_refused(svc, tenant, db, url, why):
    r = svc.api(tenant["admin"]).post("/v1/webhooks", {"url": url, "events": ["*"]})
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["url"]
    assert why in r.json()["errors"][0]["message"]


def test_an_address_refused_at_delivery_time_is_not_contacted(svc, tenant, db):
    """DNS can change after creation: the check runs again before each attempt. Here the URL
    is changed under the API's feet to one the rules refuse; no request may leave."""
    rec = Receiver()
    made = create(svc, tenant, rec.url, ["report.ready"])
    with db.cursor() as cur:
        cur.execute(f"UPDATE {tenant['schema']}.webhook_endpoints SET url = %s WHERE id = %s",
                    (f"https://10.0.0.7:{rec.port}/hook", made["id"]))
    emit(db, tenant, "report.ready", report(1))
    wait_until(lambda: (deliveries(db, tenant, made["id"]) or [(0, 0, 0)])[0][2] >= 2,
               what="two refused attempts")
    with db.cursor() as cur:
        cur.execute(f"SELECT DISTINCT a.error FROM {tenant['schema']}.webhook_attempts a JOIN "
                    f"{tenant['schema']}.webhook_deliveries d ON d.id = a.delivery_id "
                    f"WHERE d.endpoint_id = %s", (made["id"],))
        assert [r[0] for r in cur.fetchall()] == [
            "refused: the URL's host is a private, link-local or reserved address"]
    assert rec.requests == []
    rec.stop()


def test_a_name_resolving_to_loopback_is_refused_where_loopback_is_not_allowed(svc, tenant, db):
    """The delivery-time check is made on the address the client connects to, after its own
    resolution: `localhost` passes the URL's form (https, a name), resolves to loopback, and no
    connection reaches the listener while the operator does not allow loopback."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    first = Receiver()
    made = create(svc, tenant, first.url, ["report.ready"])
    first.stop()
    with db.cursor() as cur:
        cur.execute(f"UPDATE {tenant['schema']}.webhook_endpoints SET url = %s WHERE id = %s",
                    (f"https://localhost:{port}/hook", made["id"]))
    for w in svc.workers:
        assert w.stop() == 0
    strict = Proc("brobygger-worker", ["--queues", "records,notify"],
                  env={**svc.env, "BROBYGGER_NOTIFY_ALLOW_LOOPBACK": "0"})
    svc.workers = [strict]
    svc.procs.append(strict)
    try:
        emit(db, tenant, "report.ready", report(1))
        wait_until(lambda: (deliveries(db, tenant, made["id"]) or [(0, 0, 0)])[0][2] >= 2,
                   what="two refused attempts")
        with db.cursor() as cur:
            cur.execute(f"SELECT DISTINCT a.error FROM {tenant['schema']}.webhook_attempts a "
                        f"JOIN {tenant['schema']}.webhook_deliveries d ON d.id = a.delivery_id "
                        f"WHERE d.endpoint_id = %s", (made["id"],))
            assert [r[0] for r in cur.fetchall()] == [
                "refused: the URL's host is a loopback address"]
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()
        with db.cursor() as cur:  # nothing of this test is left for the next worker to try
            cur.execute(f"DELETE FROM {tenant['schema']}.webhook_endpoints WHERE id = %s",
                        (made["id"],))
        assert strict.stop() == 0
        svc.workers = [svc.start_worker()]


def test_deliveries_are_counted_on_metrics_by_outcome_and_latency(svc, tenant, db):
    """/metrics shows the attempts per outcome and their latency histogram, with no label but
    the outcome: never a URL, a tenant or an endpoint."""
    rec = Receiver(lambda n: (500 if n < 2 else 200, 0))
    made = create(svc, tenant, rec.url, ["report.ready"])
    before = scrape(svc)
    for i in range(3):
        emit(db, tenant, "report.ready", report(i))
    wait_until(lambda: [s for _, s, _ in deliveries(db, tenant, made["id"])] == ["succeeded"] * 3,
               timeout=15, what="three deliveries, two after a 500")

    def grown():
        now = scrape(svc)
        ok = now.get('brobygger_webhook_deliveries_total{outcome="succeeded"}', 0) - before.get(
            'brobygger_webhook_deliveries_total{outcome="succeeded"}', 0)
        bad = now.get('brobygger_webhook_deliveries_total{outcome="status"}', 0) - before.get(
            'brobygger_webhook_deliveries_total{outcome="status"}', 0)
        return (ok, bad) == (3, 2) and now
    now = wait_until(grown, what="the attempts on /metrics")
    count = "brobygger_webhook_delivery_seconds_count"
    assert now[count] - before.get(count, 0) == 5
    assert now['brobygger_webhook_delivery_seconds_bucket{le="+Inf"}'] == now[count]
    assert now["brobygger_webhook_delivery_seconds_sum"] > 0
    labels = {k.partition("{")[2] for k in now if k.startswith("brobygger_webhook_")}
    assert labels <= {"", 'outcome="succeeded"}', 'outcome="status"}', 'outcome="gone"}',
                      'outcome="timeout"}', 'outcome="refused"}', 'outcome="error"}'} | {
        f'le="{b}"}}' for b in ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
                                "2.5", "5", "15", "+Inf")}
    text = rawhttp.metrics(svc.admin_port)[1]
    assert tenant["slug"] not in text and made["id"] not in text
    rec.stop()


# ---- delivery -----------------------------------------------------------------------------------

def test_a_status_change_arrives_signed_per_standard_webhooks(svc, tenant, db):
    rec = Receiver()
    made = create(svc, tenant, rec.url, ["candidate.status_changed"])
    coord = svc.api(tenant["coordinator"])
    cand = coord.post("/v1/candidates", {"given_name": "Signe", "family_name": "Ert"}).json()
    r = coord.post(f"/v1/candidates/{cand['id']}/status", {"to": "tilnaerming"})
    assert r.status_code == 200, r.text
    wait_until(lambda: len(rec.requests) == 1, what="the delivery")
    req = rec.requests[0]
    assert verify(made["secret"], req) == 1
    assert abs(int(req["headers"]["webhook-timestamp"]) - time.time()) < 30
    body = json.loads(req["body"])
    assert set(body) == {"id", "type", "timestamp", "tenant", "data"}
    assert body["type"] == "candidate.status_changed" and body["tenant"] == tenant["slug"]
    assert body["id"] == req["headers"]["webhook-id"]
    assert body["data"]["to"] == "tilnaerming" and body["data"]["candidate"]["id"] == cand["id"]
    with db.cursor() as cur:
        cur.execute(f"SELECT event_id::text FROM {tenant['schema']}.outbox WHERE event = "
                    f"'candidate.status_changed' AND aggregate_id = %s", (cand["id"],))
        assert cur.fetchone()[0] == body["id"]
    wait_until(lambda: deliveries(db, tenant, made["id"]) == [(body["id"], "succeeded", 1)],
               what="the delivery recorded")
    page = svc.api(tenant["admin"]).get(f"/v1/webhooks/{made['id']}/deliveries").json()
    assert [(d["event_id"], d["status"], d["last_status_code"]) for d in page["items"]] == \
        [(body["id"], "succeeded", 200)]
    assert page["items"][0]["last_response"] == '{"ok": true}'
    rec.stop()


def test_a_receiver_down_then_up_gets_everything_once_per_id(svc, tenant, db):
    rec = Receiver()
    rec.stop()
    made = create(svc, tenant, rec.url, ["report.ready"])
    sent = [emit(db, tenant, "report.ready", report(i)) for i in range(5)]
    wait_until(lambda: all(a >= 2 for _, _, a in deliveries(db, tenant, made["id"]))
               and len(deliveries(db, tenant, made["id"])) == 5, what="failed attempts")
    rec.start()
    wait_until(lambda: all(s == "succeeded" for _, s, _ in deliveries(db, tenant, made["id"])),
               timeout=20, what="every delivery after the receiver came back")
    assert sorted(set(rec.ids())) == sorted(sent)
    assert sorted(e["id"] for e in rec.events()) == sorted(rec.ids())
    assert all(verify(made["secret"], r) == 1 for r in rec.requests)
    rec.stop()


def test_a_receiver_failing_half_the_time_gets_everything(svc, tenant, db):
    # The first request of every event fails and the next succeeds: half the answers are 500s,
    # and no delivery can use up its schedule on an unlucky run of even request numbers (as
    # failing every other request overall could, with deliveries interleaved).
    def first_try_fails(n):
        wid = rec.requests[n]["headers"]["webhook-id"]
        first = all(r["headers"]["webhook-id"] != wid for r in rec.requests[:n])
        return (500 if first else 204, 0)
    rec = Receiver(first_try_fails)
    made = create(svc, tenant, rec.url, ["report.ready"])
    statuses = counted(svc, "status")
    sent = [emit(db, tenant, "report.ready", report(i)) for i in range(8)]
    wait_until(lambda: [s for _, s, _ in deliveries(db, tenant, made["id"])] == ["succeeded"] * 8,
               timeout=25, what="every delivery despite the 500s")
    assert set(rec.ids()) == set(sent)
    with db.cursor() as cur:
        cur.execute(f"SELECT count(*) FILTER (WHERE status_code = 500), count(*) FILTER (WHERE "
                    f"status_code = 204) FROM {tenant['schema']}.webhook_attempts a JOIN "
                    f"{tenant['schema']}.webhook_deliveries d ON d.id = a.delivery_id WHERE "
                    f"d.endpoint_id = %s", (made["id"],))
        failed, ok = cur.fetchone()
        cur.execute(f"SELECT a.status_code, a.error FROM {tenant['schema']}.webhook_attempts a "
                    f"JOIN {tenant['schema']}.webhook_deliveries d ON d.id = a.delivery_id WHERE "
                    f"d.endpoint_id = %s ORDER BY a.id", (made["id"],))
        everything = cur.fetchall()
    # Every answer recorded came from a request the receiver saw. On a loaded machine an
    # attempt may also time out while the receiver is still answering it: then the receiver saw
    # a request whose attempt has no status code, and the delivery is retried like after a 500.
    assert ok == 8 and failed + ok <= len(rec.requests)
    assert failed + ok + len([e for e in everything if e[0] is None]) >= len(rec.requests)
    wait_until(lambda: counted(svc, "status") - statuses == failed,
               what="the 500s counted in the metrics")
    rec.stop()


def test_a_slow_receiver_does_not_hold_up_a_fast_one(svc, tenant, db):
    slow, fast = Receiver(lambda n: (200, 3)), Receiver()
    create(svc, tenant, slow.url, ["report.ready"])
    create(svc, tenant, fast.url, ["report.ready"])
    started = time.monotonic()
    for i in range(20):
        emit(db, tenant, "report.ready", report(i))
    wait_until(lambda: len(fast.requests) == 20, what="the fast receiver's 20 events")
    assert time.monotonic() - started < 2.5
    assert len(slow.requests) < 20  # still working through its own
    slow.stop()
    fast.stop()


def seq_scans(db, tenant):
    """Sequential scans of the tenant's deliveries and outbox so far, all sessions."""
    with db.cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute("SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_user_tables WHERE schemaname"
                    " = %s AND relname IN ('webhook_deliveries', 'webhook_attempts', 'outbox')",
                    (f"t_{tenant['slug']}",))
        return int(cur.fetchone()[0])


def test_the_delivery_thread_reads_no_table_whole(svc, tenant, db):
    # Its generic plans are made on small tables, where a scan of the whole table looks cheap;
    # kept for the process's life, such a plan would read every row ever made on every turn.
    recs = [Receiver(), Receiver()]
    for rec in recs:
        create(svc, tenant, rec.url, ["report.ready"])
    time.sleep(2.5)  # what other sessions did before is counted (stats are flushed each second)
    before = seq_scans(db, tenant)
    for i in range(30):
        emit(db, tenant, "report.ready", report(i))
    wait_until(lambda: all(len(set(rec.ids())) == 30 for rec in recs), what="the 60 deliveries")
    time.sleep(2.5)  # their results recorded, the counts flushed
    assert seq_scans(db, tenant) == before
    for rec in recs:
        rec.stop()


def test_events_about_one_candidate_arrive_in_commit_order(svc, tenant, db):
    rec = Receiver(lambda n: (500 if n == 0 else 200, 0))
    made = create(svc, tenant, rec.url, ["match.status_changed"])
    cand, org = str(uuid.uuid4()), str(uuid.uuid4())
    statuses = ["presented", "interested", "meeting", "trial", "placed"]
    for st in statuses:
        emit(db, tenant, "match.status_changed", {"match_id": str(uuid.uuid4()),
                                                  "candidate_id": cand, "organization_id": org,
                                                  "status": st})
    wait_until(lambda: [s for _, s, _ in deliveries(db, tenant, made["id"])] ==
               ["succeeded"] * 5, what="the five deliveries")
    seen = []
    for e in rec.events():  # the first attempt failed: later ones waited for its retry
        if e["data"]["status"] not in seen:
            seen.append(e["data"]["status"])
    assert seen == statuses
    assert rec.events()[0]["data"]["status"] == rec.events()[1]["data"]["status"] == "presented"
    rec.stop()


def test_an_event_waits_for_the_retry_of_an_earlier_one_of_its_candidate(svc, tenant, db):
    """An event committed while an earlier one about its candidate waits for its retry is not
    sent ahead of it, though the endpoint has room: the dispatch makes it pending, not leased."""
    rec = Receiver(lambda n: (500 if n < 2 else 200, 0))  # two retries: time to see one wait
    made = create(svc, tenant, rec.url, ["match.status_changed"])
    cand, org = str(uuid.uuid4()), str(uuid.uuid4())

    def change(status):
        return emit(db, tenant, "match.status_changed", {
            "match_id": str(uuid.uuid4()), "candidate_id": cand, "organization_id": org,
            "status": status})
    first = change("presented")
    wait_until(lambda: [(e, s) for e, s, _ in deliveries(db, tenant, made["id"])] ==
               [(first, "pending")], interval=0.02, what="a failed attempt and its retry waiting")
    second = change("interested")
    wait_until(lambda: [s for _, s, _ in deliveries(db, tenant, made["id"])] ==
               ["succeeded"] * 2, what="both deliveries")
    assert rec.ids() == [first, first, first, second]
    rec.stop()


def dispatched(db, tenant, event_id):
    with db.cursor() as cur:
        cur.execute(f"SELECT dispatched_at IS NOT NULL FROM {tenant['schema']}.outbox WHERE "
                    f"event_id = %s", (event_id,))
        return cur.fetchone()[0]


def test_gone_disables_at_once_and_tells_the_other_endpoints(svc, tenant, db):
    gone, other = Receiver(lambda n: (410, 0)), Receiver()
    made = create(svc, tenant, gone.url, ["report.ready"])
    gones = counted(svc, "gone")
    watcher = create(svc, tenant, other.url, ["webhook.disabled"])
    emit(db, tenant, "report.ready", report(1))
    wait_until(lambda: len(other.requests) == 1, what="webhook.disabled")
    body = other.events()[0]
    assert body["type"] == "webhook.disabled"
    assert body["data"] == {"endpoint_id": made["id"], "reason": "gone"}
    assert verify(watcher["secret"], other.requests[0]) == 1
    got = svc.api(tenant["admin"]).get(f"/v1/webhooks/{made['id']}").json()
    assert got["active"] is False and got["disabled_reason"] == "gone"
    later = emit(db, tenant, "report.ready", report(2))
    wait_until(lambda: dispatched(db, tenant, later), what="the later event dispatched")
    assert len(gone.requests) == 1  # one 410 and nothing more
    assert [s for _, s, _ in deliveries(db, tenant, made["id"])] == ["failed"]
    wait_until(lambda: counted(svc, "gone") - gones == 1, what="the 410 counted")
    gone.stop()
    other.stop()


def test_the_whole_schedule_fails_a_delivery_and_long_failing_disables(svc, tenant, db):
    rec, other = Receiver(lambda n: (503, 0)), Receiver()
    made = create(svc, tenant, rec.url, ["report.ready"])
    create(svc, tenant, other.url, ["webhook.disabled"])
    emit(db, tenant, "report.ready", report(1))
    wait_until(lambda: deliveries(db, tenant, made["id"]) and
               deliveries(db, tenant, made["id"])[0][1:] == ("failed", 5),
               timeout=20, what="five attempts (the schedule's four retries), then failed")
    assert len(rec.requests) == 5 and len(set(rec.ids())) == 1
    assert other.requests == []  # failing, not yet for longer than 5 s

    def failing_long():
        with db.cursor() as cur:
            cur.execute(f"SELECT failing_since < now() - interval '5 seconds' FROM "
                        f"{tenant['schema']}.webhook_endpoints WHERE id = %s", (made["id"],))
            return cur.fetchone()[0]
    wait_until(failing_long, what="the endpoint failing for 5 s")
    emit(db, tenant, "report.ready", report(2))
    wait_until(lambda: len(other.requests) == 1, what="webhook.disabled")
    assert other.events()[0]["data"] == {"endpoint_id": made["id"], "reason": "failing"}
    assert len(rec.requests) == 6
    rec.stop()
    other.stop()


def test_a_worker_killed_mid_delivery_delivers_after_restart(svc, tenant, db):
    release = threading.Event()
    rec = Receiver(lambda n: (200, 0) if n > 0 or release.wait(10) else (500, 0))
    made = create(svc, tenant, rec.url, ["report.ready"])
    eid = emit(db, tenant, "report.ready", report(1))
    wait_until(lambda: len(rec.requests) == 1, what="the first attempt")
    victim = svc.workers.pop(0)
    victim.p.send_signal(signal.SIGKILL)
    victim.p.wait()
    release.set()
    assert deliveries(db, tenant, made["id"]) == [(eid, "delivering", 1)]
    svc.workers.append(svc.start_worker())
    wait_until(lambda: deliveries(db, tenant, made["id"]) == [(eid, "succeeded", 2)],
               timeout=20, what="the delivery after the lease ran out")
    assert rec.ids() == [eid, eid]
    rec.stop()


def test_events_waiting_when_redis_is_emptied_are_delivered_from_the_outbox(svc, tenant, db, rds):
    """The delivering worker is replaced by one that answers the routes only; a status change
    is committed, Redis is emptied, and a delivering worker started afterwards still finds the
    event: it was never anywhere but the outbox."""
    rec = Receiver()
    made = create(svc, tenant, rec.url, ["candidate.status_changed"])
    for w in svc.workers:
        assert w.stop() == 0
    svc.workers = [Proc("brobygger-worker", ["--queues", "records,notify"],
                        env={**svc.env, "BROBYGGER_NOTIFY_DELIVER": "0"})]
    svc.procs.append(svc.workers[0])
    svc.wait_ready()
    coord = svc.api(tenant["coordinator"])
    cand = coord.post("/v1/candidates", {"given_name": "Re", "family_name": "Dis"}).json()
    assert coord.post(f"/v1/candidates/{cand['id']}/status", {"to": "kartlagt"}).status_code == 200
    _, own = private_redis(rds, 11)  # empties the database the service uses
    assert own.dbsize() == 0 and rec.requests == []
    svc.workers.append(svc.start_worker())
    wait_until(lambda: [st for _, st, _ in deliveries(db, tenant, made["id"])] == ["succeeded"],
               what="the event from the outbox")
    assert len(rec.requests) == 1 and rec.events()[0]["data"]["to"] == "kartlagt"
    rec.stop()


# ---- what a partner sees ------------------------------------------------------------------------

def partner_world(svc, tenant, db, kind, scope):
    """An organisation of kind with an opening, a candidate matched to it and a consent of
    scope; another organisation without a match. Returns (org, other, candidate, consent)."""
    s = tenant["schema"]
    org, other, opening = uuid7(), uuid7(), uuid7()
    coord = svc.api(tenant["coordinator"])
    cand = coord.post("/v1/candidates", {"given_name": "Kari", "family_name": "Partner",
                                         "birth_year": 1990, "email": "kari@example.no"}).json()
    with db.cursor() as cur:
        for o in (org, other):
            cur.execute(f"INSERT INTO {s}.organizations (id, name, kind, created_by) VALUES "
                        f"(%s, %s, %s, 'test')", (o, "Org " + suffix(), kind))
        cur.execute(f"INSERT INTO {s}.openings (id, organization_id, kind, title, created_by) "
                    f"VALUES (%s, %s, 'work_trial', 'Plass', 'test')", (opening, org))
        cur.execute(f"INSERT INTO {s}.matches (id, candidate_id, opening_id, status) VALUES "
                    f"(%s, %s, %s, 'presented')", (uuid7(), cand["id"], opening))
        cur.execute(f"INSERT INTO {s}.journal (id, candidate_id, kind, text, occurred_at, "
                    f"author_key_id, author_role) VALUES (%s, %s, 'notat', 'HEMMELIG JOURNAL', "
                    f"now(), 'test', 'coordinator')", (uuid7(), cand["id"]))
    consent = coord.post(f"/v1/candidates/{cand['id']}/consents",
                         {"scope": [scope], "given_at": "2026-01-01", "method": "skriftlig"})
    assert consent.status_code == 201, consent.text
    return org, other, cand, consent.json()


@pytest.mark.parametrize("kind, scope", [("employer", "share_employer"),
                                         ("nav_office", "share_nav"),
                                         ("volunteer", "share_volunteer")])
def test_a_partner_sees_what_its_consent_allows_and_only_its_own(svc, tenant, db, kind, scope):
    rec, stranger = Receiver(), Receiver()
    org, other, cand, consent = partner_world(svc, tenant, db, kind, scope)
    create(svc, tenant, rec.url, ["candidate.status_changed", "consent.withdrawn"],
           organization_id=org)
    create(svc, tenant, stranger.url, ["*"], organization_id=other)
    coord = svc.api(tenant["coordinator"])
    assert coord.post(f"/v1/candidates/{cand['id']}/status", {"to": "kartlagt"}).status_code == 200
    wait_until(lambda: len(rec.requests) == 1, what="the status change")
    shared = rec.events()[0]["data"]
    assert shared["candidate"]["given_name"] == "Kari" and shared["candidate"]["consent"] == scope
    assert "ref" not in shared
    assert coord.delete(f"/v1/candidates/{cand['id']}/consents/{consent['id']}").status_code == 200
    wait_until(lambda: len(rec.requests) == 2, what="the withdrawal")
    anon = rec.events()[1]
    assert anon["type"] == "consent.withdrawn"
    assert "given_name" not in anon["data"]["candidate"]
    assert anon["data"]["candidate"]["age_band"] is not None
    assert all(b"HEMMELIG" not in r["body"] for r in rec.requests)
    time.sleep(0.5)  # what the stranger would have got has been dispatched by now
    assert stranger.requests == []
    rec.stop()
    stranger.stop()


def test_a_partner_gets_match_events_of_its_own_organisation_only(svc, tenant, db):
    mine, theirs = Receiver(), Receiver()
    org, other = uuid7(), uuid7()
    with db.cursor() as cur:
        for o in (org, other):
            cur.execute(f"INSERT INTO {tenant['schema']}.organizations (id, name, kind, "
                        f"created_by) VALUES (%s, %s, 'employer', 'test')", (o, "Org " + suffix()))
    create(svc, tenant, mine.url, ["match.proposed"], organization_id=org)
    create(svc, tenant, theirs.url, ["match.proposed", "report.ready"], organization_id=other)
    for o in (org, org, other):
        emit(db, tenant, "match.proposed", {"match_id": str(uuid.uuid4()),
                                            "candidate_id": str(uuid.uuid4()),
                                            "organization_id": o, "status": "proposed"})
    emit(db, tenant, "report.ready", report(1))  # the tenant's own, never a partner's
    wait_until(lambda: len(mine.requests) == 2 and len(theirs.requests) == 1,
               what="each partner's own matches")
    assert {e["data"]["organization_id"] for e in mine.events()} == {org}
    assert [e["type"] for e in theirs.events()] == ["match.proposed"]
    mine.stop()
    theirs.stop()


# ---- operations ---------------------------------------------------------------------------------

def test_rotation_signs_with_both_secrets(svc, tenant, db):
    rec = Receiver()
    made = create(svc, tenant, rec.url, ["report.ready"])
    r = svc.api(tenant["admin"]).post(f"/v1/webhooks/{made['id']}/rotate-secret",
                                      {"overlap_hours": 24})
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != made["secret"] and r.json()["previous_secret_until"] is not None
    emit(db, tenant, "report.ready", report(1))
    wait_until(lambda: len(rec.requests) == 1, what="the delivery")
    assert len(rec.requests[0]["headers"]["webhook-signature"].split(" ")) == 2
    assert verify(new, rec.requests[0]) == 1 and verify(made["secret"], rec.requests[0]) == 1
    r = svc.api(tenant["admin"]).post(f"/v1/webhooks/{made['id']}/rotate-secret",
                                      {"overlap_hours": 0})
    emit(db, tenant, "report.ready", report(2))
    wait_until(lambda: len(rec.requests) == 2, what="the second delivery")
    assert rec.requests[1]["headers"]["webhook-signature"].count("v1,") == 1
    assert verify(r.json()["secret"], rec.requests[1]) == 1
    rec.stop()


def test_ping_retry_and_replay(svc, tenant, db):
    rec = Receiver()
    made = create(svc, tenant, rec.url, ["report.ready"])
    api = svc.api(tenant["admin"])
    ping = api.post(f"/v1/webhooks/{made['id']}/ping")
    assert ping.status_code == 200, ping.text
    wait_until(lambda: len(rec.requests) == 1, what="the ping")
    assert rec.events()[0]["type"] == "ping" and rec.ids() == [ping.json()["event_id"]]
    with db.cursor() as cur:
        cur.execute("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
        since = cur.fetchone()[0]
    first = emit(db, tenant, "report.ready", report(1))
    wait_until(lambda: (first, "succeeded", 1) in deliveries(db, tenant, made["id"]),
               what="the report delivered")
    d = [x for x in api.get(f"/v1/webhooks/{made['id']}/deliveries").json()["items"]
         if x["event_id"] == first][0]
    r = api.post(f"/v1/webhooks/{made['id']}/deliveries/{d['id']}/retry")
    assert r.status_code == 200 and r.json()["status"] == "pending"
    wait_until(lambda: len(rec.requests) == 3, what="the retried delivery")
    assert rec.ids()[2] == first
    r = api.post(f"/v1/webhooks/{made['id']}/replay", {"since": since})
    assert r.status_code == 200 and r.json() == {"queued": 1}  # the report; pings are not replayed
    wait_until(lambda: len(rec.requests) == 4, what="the replay")
    assert rec.ids()[3] == first
    assert api.post(f"/v1/webhooks/{uuid7()}/ping").status_code == 404
    rec.stop()
