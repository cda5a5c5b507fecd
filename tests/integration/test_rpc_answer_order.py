"""The gateway talks to Redis on two connections: it posts jobs on one (through the rate-limit
script) and hears the workers' replies on the other. A worker can answer a key check before
Redis's answer to the post has come back on the first connection; by then the request has
posted its own job. That late answer belongs to the key check and must not be read as the
answer to the request's job (it was, and the request got 503 "the job queue did not take the
request", about once in a thousand requests under load). Here a proxy in front of Redis
delays every answer on the gateway's posting connections, and the request's own job waits on a
lock until the late answer has come, so the order is the same every time."""
import os
import queue
import socket
import threading
import time

from conftest import Held, Proc, Service, free_port, lock_waiters, private_redis, wait_until

DELAY = 0.3  # seconds added to every answer on a connection that does not subscribe


class DelayingProxy:
    """TCP proxy to Redis; answers to connections that never sent SUBSCRIBE arrive DELAY
    seconds late, in order."""

    def __init__(self, host, port):
        self.target = (host, port)
        self.port = free_port()
        self.lock = threading.Lock()
        self.held = 0  # answer chunks received from Redis and not yet passed on
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            state = {"subscriber": False}
            out = queue.Queue()
            threading.Thread(target=self.up, args=(client, server, state), daemon=True).start()
            threading.Thread(target=self.down, args=(server, out, state), daemon=True).start()
            threading.Thread(target=self.send, args=(client, out), daemon=True).start()

    def up(self, client, server, state):
        while data := self.recv(client):
            if b"SUBSCRIBE" in data.upper():
                state["subscriber"] = True
            server.sendall(data)
        server.close()

    def down(self, server, out, state):
        due = 0.0
        while data := self.recv(server):
            with self.lock:
                self.held += 1
            due = max(due, time.monotonic() + (0 if state["subscriber"] else DELAY))
            out.put((due, data))
        out.put((due, None))

    def send(self, client, out):
        while True:
            due, data = out.get()
            if data is None:
                client.close()
                return
            time.sleep(max(0.0, due - time.monotonic()))  # the delay itself, not a wait on a condition
            try:
                client.sendall(data)
            except OSError:
                return
            finally:
                with self.lock:
                    self.held -= 1

    @staticmethod
    def recv(sock):
        try:
            return sock.recv(65536)
        except OSError:
            return b""

    def idle(self):
        with self.lock:
            return self.held == 0

    def close(self):
        self.listener.close()


def test_a_late_answer_to_the_key_check_is_not_taken_for_the_jobs(service, rds, db, tenants):
    # This year's ref counter row exists, so a create waits on its lock.
    made = service.api(tenants["a"]["coordinator"]).post(
        "/v1/candidates", {"given_name": "Før", "family_name": "Svar"})
    assert made.status_code == 201, made.text
    url, _ = private_redis(rds, 4)
    kw = rds.connection_pool.connection_kwargs
    proxy = DelayingProxy(kw["host"], kw["port"])
    # The gateway through the proxy, the worker straight to Redis: the worker's replies come
    # on time on the gateway's subscribing connection, Redis's answers to posts late.
    svc = Service(redis_url=f"redis://127.0.0.1:{proxy.port}/4", workers=0)
    svc.workers = [Proc("brobygger-worker", ["--queues", "records"],
                        env={**svc.env, "BROBYGGER_REDIS": url})]
    svc.procs += svc.workers
    slug = tenants["a"]["slug"]
    lock = None
    try:
        svc.wait_ready()
        api = svc.api(tenants["a"]["coordinator"])  # a key this gateway has not checked yet
        lock = Held(f'SELECT * FROM "t_{slug}".ref_counters FOR UPDATE')
        result = {}
        sender = threading.Thread(target=lambda: result.update(r=api.post(
            "/v1/candidates", {"given_name": "Sen", "family_name": "Svar"})))
        sender.start()
        # The key check is answered, the create waits on the lock, and every late answer of
        # Redis (the key check's post among them) has reached the gateway.
        wait_until(lambda: len(lock_waiters(db)) >= 1, what="the create waiting on the lock")
        wait_until(proxy.idle, what="Redis's late answers passed on")
        lock.release()
        sender.join(timeout=30)
        assert result["r"].status_code == 201, result["r"].text
    finally:
        if lock:
            lock.release()
        svc.stop()
        proxy.close()
