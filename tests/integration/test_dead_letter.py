"""Undecodable messages go to the dead-letter stream and the worker keeps working."""
import msgpack

from conftest import wait_until


def dead_errors(rds):
    return [fields[b"error"].decode() for _, fields in rds.xrange("bro:dead:records")]


def test_garbage_and_wrong_shape_are_dead_lettered(service, tenants, rds):
    before = rds.xlen("bro:dead:records")
    rds.xadd("bro:q:records", {"e": b"\xc1\xff not msgpack"})
    wrong_shape = msgpack.packb({"v": 1, "id": "x", "kind": "candidate.get"})
    rds.xadd("bro:q:records", {"e": wrong_shape})
    rds.xadd("bro:q:records", {"other": b"no envelope field"})
    wait_until(lambda: rds.xlen("bro:dead:records") >= before + 3, what="dead letters")
    errors = dead_errors(rds)[-3:]
    assert all(e for e in errors)
    assert any("envelope" in e for e in errors)
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
