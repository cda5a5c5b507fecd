"""What an operator does with dead letters: GET /v1/admin/dead-letters lists them without their
bodies, POST .../{id}/retry runs one again exactly once (a worker opens its sealed envelope),
DELETE .../{id} purges one, and `brobygger-admin dead list|retry|purge` does the same."""
import json
import os
import tempfile
import threading
import time

import msgpack

from conftest import Service, admin, count_candidates, private_redis, wait_until
from test_dead_letter import DEAD_KEY, envelope


def dead_service(migrated, rds, db_index=10):
    """A gateway and one worker with the dead-letter key, on a Redis database of their own."""
    url, own = private_redis(rds, db_index)
    svc = Service(redis_url=url, workers=0, env={"BROBYGGER_DEAD_LETTER_KEY": DEAD_KEY})
    svc.start_worker()
    svc.wait_ready()
    return svc, url, own


def bury(own, tenant, family_name):
    """Posts a candidate create whose attempts are used up: the worker dead-letters it at once
    ("too many deliveries"), its envelope sealed. Returns the envelope."""
    env = envelope("candidate.create", tenant,
                   {"data": {"given_name": "Gjenoppliving", "family_name": family_name}})
    env["attempt"] = 99
    before = own.xlen("bro:dead:records")
    own.xadd("bro:q:records", {"e": msgpack.packb(env)})
    wait_until(lambda: own.xlen("bro:dead:records") == before + 1, what="the dead letter")
    return env


def drained(own):
    groups = own.xinfo_groups("bro:q:records")
    return own.xlen("bro:q:records") == 0 and all(g["pending"] == 0 for g in groups) \
        and own.zcard("bro:delayed:records") == 0


def test_a_dead_letter_is_listed_without_its_body_and_a_retry_runs_it_once(migrated, tenants,
                                                                           rds, db):
    svc, _, own = dead_service(migrated, rds)
    try:
        slug = tenants["a"]["slug"]
        marker = "Dødbrev" + os.urandom(4).hex()
        env = bury(own, slug, marker)
        api = svc.api(tenants["platform"])
        r = api.get("/v1/admin/dead-letters?queue=records")
        assert r.status_code == 200, r.text
        assert marker not in r.text and "Gjenoppliving" not in r.text
        (item,) = r.json()["items"]
        assert r.json()["next_cursor"] is None
        assert item["kind"] == "candidate.create" and item["tenant"] == slug
        assert item["job_id"] == env["id"] and item["request_id"] == "req-dead-1"
        assert item["attempts"] == 99 and item["error"] == "too many deliveries"
        assert item["retryable"] is True and item["queue"] == "records"
        assert item["id"].startswith("records:") and item["failed_at"].endswith("Z")
        # Two operators retry at once: one puts the job back, the other finds nothing.
        statuses = []
        def retry():
            statuses.append(svc.api(tenants["platform"]).post(
                f"/v1/admin/dead-letters/{item['id']}/retry").status_code)
        threads = [threading.Thread(target=retry) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(statuses) == [200, 404]
        wait_until(lambda: count_candidates(db, slug, "family_name = %s", (marker,)) == 1,
                   what="the retried create")
        wait_until(lambda: drained(own), what="the queue to drain")
        assert count_candidates(db, slug, "family_name = %s", (marker,)) == 1
        assert own.xlen("bro:dead:records") == 0
        assert api.post(f"/v1/admin/dead-letters/{item['id']}/retry").status_code == 404
        assert api.get("/v1/admin/dead-letters").json()["items"] == []
    finally:
        svc.stop()


def test_purge_deletes_one_dead_letter_and_a_bodiless_one_is_not_retryable(migrated, tenants,
                                                                          rds):
    svc, _, own = dead_service(migrated, rds)
    try:
        own.xadd("bro:q:records", {"e": b"\xc1 not msgpack"})
        wait_until(lambda: own.xlen("bro:dead:records") == 1, what="the dead letter")
        api = svc.api(tenants["platform"])
        (item,) = api.get("/v1/admin/dead-letters").json()["items"]
        assert item["kind"] is None and item["retryable"] is False
        r = api.post(f"/v1/admin/dead-letters/{item['id']}/retry")
        assert r.status_code == 409 and r.json()["type"].endswith("/conflict"), r.text
        assert api.delete(f"/v1/admin/dead-letters/{item['id']}").status_code == 204
        assert api.delete(f"/v1/admin/dead-letters/{item['id']}").status_code == 404
        assert api.delete("/v1/admin/dead-letters/records:xyz").status_code == 404
        assert own.xlen("bro:dead:records") == 0
        r = api.get("/v1/admin/dead-letters?queue=elsewhere")
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "queue"
        assert svc.api(tenants["a"]["tenant_admin"]).get(
            "/v1/admin/dead-letters").status_code == 403
    finally:
        svc.stop()


def test_dead_letters_page_newest_first_across_queues(migrated, tenants, rds):
    svc, _, own = dead_service(migrated, rds)
    try:
        fields = {"attempts": "1", "size": "0", "at": "0", "stream_id": "0-1"}
        # Stream ids are each stream's own: given here, so the order is known. Two streams may
        # hold the same id (the same millisecond); then the queue's name orders them. Recent
        # ones: the janitor trims dead letters older than BROBYGGER_DEAD_LETTER_HOURS.
        base = int(time.time() * 1000) - 60000
        for i in range(3):
            own.xadd("bro:dead:records", {"queue": "records", "error": f"r{i}", **fields},
                     id=f"{base + 10 * i}-0")
            own.xadd("bro:dead:notify", {"queue": "notify", "error": f"n{i}", **fields},
                     id=f"{base + 5 + 10 * i}-0")
        own.xadd("bro:dead:records", {"queue": "records", "error": "rT", **fields}, id=f"{base + 900}-0")
        own.xadd("bro:dead:notify", {"queue": "notify", "error": "nT", **fields},
                 id=f"{base + 900}-0")
        api = svc.api(tenants["platform"])
        seen, cursor = [], None
        while True:
            r = api.get("/v1/admin/dead-letters", params={"limit": 3, **(
                {"cursor": cursor} if cursor else {})})
            assert r.status_code == 200, r.text
            seen += [i["error"] for i in r.json()["items"]]
            cursor = r.json()["next_cursor"]
            if cursor is None:
                break
        assert seen == ["nT", "rT", "n2", "r2", "n1", "r1", "n0", "r0"]
        # A cursor on one of two equal ids goes on with the other.
        first = api.get("/v1/admin/dead-letters", params={"limit": 1}).json()
        assert first["next_cursor"] == f"notify:{base + 900}-0"
        r = api.get("/v1/admin/dead-letters", params={"limit": 1, "cursor": first["next_cursor"]})
        assert [i["error"] for i in r.json()["items"]] == ["rT"]
        r = api.get("/v1/admin/dead-letters", params={"queue": "notify", "limit": 2})
        assert [i["error"] for i in r.json()["items"]] == ["nT", "n2"]
    finally:
        svc.stop()


def test_the_admin_cli_lists_retries_and_purges_dead_letters(migrated, tenants, rds, db):
    svc, url, own = dead_service(migrated, rds)
    try:
        slug = tenants["a"]["slug"]
        marker = "Kommandolinje" + os.urandom(4).hex()
        env = bury(own, slug, marker)
        bury(own, slug, marker + "b")
        redis_env = {"BROBYGGER_REDIS": url}
        out = admin("dead", "list", "--queue", "records", env=redis_env).stdout.splitlines()
        assert out[0].split("\t")[:3] == ["id", "kind", "tenant"] and len(out) == 3
        assert marker not in "\n".join(out)
        oldest = out[2].split("\t")
        assert oldest[1:4] == ["candidate.create", slug, "99"] and oldest[5] == "yes"
        # Without the key a retry cannot open the job, and says so.
        p = admin("dead", "retry", oldest[0], check=False, env=redis_env)
        assert p.returncode == 1 and "BROBYGGER_DEAD_LETTER_KEY" in p.stderr
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write(DEAD_KEY + "\n")
        os.chmod(f.name, 0o600)
        p = admin("dead", "retry", oldest[0], env={**redis_env,
                                                   "BROBYGGER_DEAD_LETTER_KEY_FILE": f.name})
        assert p.stdout.strip() == f"queued candidate.create {env['id']} on records"
        wait_until(lambda: count_candidates(db, slug, "family_name = %s", (marker,)) == 1,
                   what="the retried create")
        p = admin("dead", "purge", "--queue", "records", "--all", env=redis_env)
        assert p.stdout.strip() == "purged 1 dead letters of records"
        assert own.xlen("bro:dead:records") == 0
        assert admin("dead", "retry", check=False, env=redis_env).returncode == 2
        assert admin("dead", "purge", check=False, env=redis_env).returncode == 2
    finally:
        svc.stop()
