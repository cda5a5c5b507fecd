"""For bench_runtime.sh: fills the records queue with N no-op jobs of KIND (default
"bench.noop"; "bench.noop_tx" also opens and commits an empty transaction), no reply wanted,
then, once a worker has begun taking them, times how long it takes to drain the stream and
prints "jobs seconds jobs_per_second". Usage: noop_drain.py REDIS_URL N fill|drain [KIND]."""
import sys
import time
import uuid

import msgpack
import redis


def envelope(kind):
    return msgpack.packb({
        "v": 1, "id": str(uuid.uuid4()), "kind": kind, "tenant": "",
        "actor": {"key_id": "bench", "role": "platform", "org": None}, "reply_to": None,
        "deadline": int(time.time() * 1000) + 3600_000, "attempt": 1, "idem": None,
        "req": "bench", "body": {}})


def fill(r, n, kind):
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.xadd("bro:q:records", {"e": envelope(kind)})
        if i % 2000 == 1999:
            pipe.execute()
    pipe.execute()


def drain(r, n, _kind):
    deadline = time.monotonic() + 600
    while r.xlen("bro:q:records") >= n and time.monotonic() < deadline:
        time.sleep(0.001)
    t0, left0 = time.monotonic(), r.xlen("bro:q:records")
    while r.xlen("bro:q:records") > 0 and time.monotonic() < deadline:
        time.sleep(0.002)
    took = time.monotonic() - t0
    print(left0, f"{took:.3f}", int(left0 / took) if took > 0 else 0)


if __name__ == "__main__":
    client = redis.Redis.from_url(sys.argv[1])
    kind = sys.argv[4] if len(sys.argv) > 4 else "bench.noop"
    (fill if sys.argv[3] == "fill" else drain)(client, int(sys.argv[2]), kind)
