"""Undecodable messages and jobs that fail for good go to the dead-letter stream and the worker
keeps working. A dead letter keeps what an operator needs (kind, tenant, ids, error, attempts,
size) and never the body in clear: with a dead-letter key the envelope is sealed under it,
without one it is not kept."""
import os

import msgpack
import redis
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import Proc, Service, count_candidates, private_redis, uuid7, wait_until
from test_redis_hygiene import files_holding

DEAD_KEY = "5f" * 16 + "a0" * 16


def dead_errors(rds):
    return [fields[b"error"].decode() for _, fields in rds.xrange("bro:dead:records")]


def test_garbage_and_wrong_shape_are_dead_lettered(service, tenants, rds):
    before = rds.xlen("bro:dead:records")
    garbage = b"\xc1\xff not msgpack"
    rds.xadd("bro:q:records", {"e": garbage})
    wrong_shape = msgpack.packb({"v": 1, "id": "x", "kind": "candidate.get"})
    rds.xadd("bro:q:records", {"e": wrong_shape})
    rds.xadd("bro:q:records", {"other": b"no envelope field"})
    wait_until(lambda: rds.xlen("bro:dead:records") >= before + 3, what="dead letters")
    errors = dead_errors(rds)[-3:]
    assert all(e for e in errors)
    assert any("envelope" in e for e in errors)
    # Undecodable: its size and error only, nothing of the bytes.
    entries = [fields for _, fields in rds.xrange("bro:dead:records")][-3:]
    assert sorted(int(f[b"size"]) for f in entries) == sorted([0, len(garbage), len(wrong_shape)])
    for f in entries:
        assert set(f) == {b"queue", b"error", b"attempts", b"size", b"at", b"stream_id"}
    assert all(w.alive() for w in service.workers)
    api = service.api(tenants["a"]["coordinator"])
    assert api.post("/v1/candidates", {"given_name": "A", "family_name": "B"}).status_code == 201


def test_unknown_version_is_dead_lettered(service, rds):
    before = rds.xlen("bro:dead:records")
    env = {"v": 2, "id": "01a20696-c570-7166-a468-9b3df28d303c", "kind": "candidate.get",
           "tenant": "", "actor": {"key_id": "", "role": "", "org": None}, "reply_to": None,
           "deadline": 0, "attempt": 1, "idem": None, "req": "r", "body": {}}
    rds.xadd("bro:q:records", {"e": msgpack.packb(env)})
    wait_until(lambda: rds.xlen("bro:dead:records") >= before + 1, what="dead letter")
    assert "version" in dead_errors(rds)[-1]


def envelope(kind, tenant, body):
    return {"v": 1, "id": uuid7(), "kind": kind, "tenant": tenant,
            "actor": {"key_id": "k1", "role": "coordinator", "org": None}, "reply_to": None,
            "deadline": 0, "attempt": 1, "idem": None, "req": "req-dead-1", "body": body}


def rewrite(own):
    """Has Redis rewrite its AOF now and waits until it finished."""
    def started():
        try:
            own.bgrewriteaof()
            return True
        except redis.ResponseError:  # one already running: start ours after it
            return False
    wait_until(started, what="a rewrite to start")
    wait_until(lambda: own.info("persistence")["aof_rewrite_in_progress"] == 0,
               what="the rewrite to finish")


def test_a_dead_letter_keeps_no_body_in_clear_and_seals_it_under_the_key(migrated, tenants, rds):
    url, own = private_redis(rds, 9)
    svc = Service(redis_url=url, workers=0)
    svc.env = {**svc.env, "BROBYGGER_DEAD_LETTER_KEY": DEAD_KEY}
    svc.start_worker()
    try:
        svc.wait_ready()
        marker = "Markør" + os.urandom(6).hex()
        slug = tenants["a"]["slug"]
        env = envelope("candidate.nothing", slug, {"data": {"given_name": marker}})
        packed = msgpack.packb(env)
        own.xadd("bro:q:records", {"e": packed})
        garbage = b"\xc1" + marker.encode()
        own.xadd("bro:q:records", {"e": garbage})
        wait_until(lambda: own.xlen("bro:dead:records") == 2, what="two dead letters")
        # Two jobs run at once by a worker's slots: their dead letters come in either order.
        job, bad = sorted((fields for _, fields in own.xrange("bro:dead:records")),
                          key=lambda fields: b"kind" not in fields)
        for fields in (job, bad):
            assert all(marker.encode() not in v for v in fields.values())
            assert b"e" not in fields
        # The failed job: what an operator needs, and its envelope sealed.
        assert job[b"kind"] == b"candidate.nothing" and job[b"tenant"] == slug.encode()
        assert job[b"job"] == env["id"].encode() and job[b"req"] == b"req-dead-1"
        assert job[b"error"] == b"unknown job kind" and job[b"attempts"] == b"1"
        assert int(job[b"size"]) == len(packed) and job[b"queue"] == b"records"
        sealed = job[b"sealed"]
        assert sealed[0] == 1 and len(sealed) == len(packed) + 29
        aad = f"records|{slug}|{env['id']}".encode()
        assert AESGCM(bytes.fromhex(DEAD_KEY)).decrypt(sealed[1:13], sealed[13:], aad) == packed
        # The undecodable message: its size and error alone.
        assert set(bad) == {b"queue", b"error", b"attempts", b"size", b"at", b"stream_id"}
        assert int(bad[b"size"]) == len(garbage)
        # Once the AOF is rewritten, the marker is in no file of Redis.
        rewrite(own)
        wait_until(lambda: not files_holding(rds, marker), what="the marker to leave the disk")
    finally:
        for p in svc.procs:
            p.stop()
        for p in svc.procs:
            p.assert_clean()


def test_without_a_key_a_dead_letter_keeps_no_body(migrated, tenants, rds):
    url, own = private_redis(rds, 9)
    svc = Service(redis_url=url, workers=1)
    try:
        svc.wait_ready()
        env = envelope("candidate.nothing", tenants["a"]["slug"], {"data": {"x": "Markør"}})
        own.xadd("bro:q:records", {"e": msgpack.packb(env)})
        wait_until(lambda: own.xlen("bro:dead:records") == 1, what="the dead letter")
        (_, fields), = own.xrange("bro:dead:records")
        assert fields[b"kind"] == b"candidate.nothing" and fields[b"error"] == b"unknown job kind"
        assert b"sealed" not in fields and b"e" not in fields
        assert "Markør".encode() not in b"".join(fields.values())
    finally:
        svc.stop()


def test_a_job_on_another_queue_than_its_kinds_is_dead_lettered_not_run(migrated, tenants, rds,
                                                                        db):
    # The handler table names each kind's queue: a candidate read that turns up on the matching
    # queue (a gateway or tool that posted it wrongly) is not run there.
    url, own = private_redis(rds, 9)
    svc = Service(redis_url=url, workers=0)
    worker = Proc("brobygger-worker", ["--queues", "matching"], env=svc.env)
    svc.procs.append(worker)
    try:
        env = envelope("candidate.create", tenants["a"]["slug"],
                       {"data": {"given_name": "Feil", "family_name": "Kø"}})
        own.xadd("bro:q:matching", {"e": msgpack.packb(env)})
        wait_until(lambda: own.xlen("bro:dead:matching") == 1, what="the dead letter")
        (_, fields), = own.xrange("bro:dead:matching")
        assert fields[b"kind"] == b"candidate.create"
        assert fields[b"error"] == b"job kind posted to another queue than its own"
        assert count_candidates(db, tenants["a"]["slug"], "family_name = %s", ("Kø",)) == 0
    finally:
        svc.stop()
