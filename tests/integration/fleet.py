"""Pieces the fleet tests share: a PostgreSQL and a Redis of a test's own that it may kill and
restart (the session's servers stay untouched), a steady load of creates with Idempotency-Key
and reads that retries what failed with the same key, and the count of effects afterwards."""
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import psycopg2
import redis
import requests

from conftest import admin, free_port, suffix, wait_until

PG_BIN = "/usr/lib/postgresql/15/bin"


class PrivatePg:
    """A PostgreSQL cluster in a temporary directory, on a free port, with the brobygger
    database migrated and one tenant with a coordinator key."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="bro-fleet-pg-")
        shutil.chown(self.dir, "postgres")
        os.chmod(self.dir, 0o700)
        self._as_pg(f"{PG_BIN}/initdb", "-D", self.dir, "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--locale=C.UTF-8")
        with open(os.path.join(self.dir, "postgresql.conf"), "a") as f:
            f.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                    f"unix_socket_directories = '{self.dir}'\nmax_connections = 300\n")
        self.start()
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/brobygger"
        conn = psycopg2.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres")
        conn.autocommit = True
        conn.cursor().execute("CREATE DATABASE brobygger")
        conn.close()
        self.env = {"BROBYGGER_PG": f"postgresql://brobygger_worker@127.0.0.1:{self.port}/brobygger",
                    "BROBYGGER_PG_ADMIN": self.admin_url}
        admin("migrate", env=self.env)
        self.slug = f"fl_{suffix()}"
        admin("tenant", "create", "--slug", self.slug, "--name", "Flåte", "--kommunenummer",
              "4601", env=self.env)
        key = admin("key", "issue", "--tenant", self.slug, "--role", "coordinator", env=self.env)
        self.key = key.stdout.strip().splitlines()[-1]

    def _as_pg(self, *args):
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)

    def start(self):
        self._as_pg(f"{PG_BIN}/pg_ctl", "-D", self.dir, "-l", os.path.join(self.dir, "log"),
                    "-w", "-t", "60", "start")

    def restart(self):
        """Stops at once, as a crash would (committed work is in the WAL), and starts again."""
        self._as_pg(f"{PG_BIN}/pg_ctl", "-D", self.dir, "-m", "immediate", "-w", "stop")
        self.start()

    def connect(self):
        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True
        return conn

    def close(self):
        subprocess.run(["runuser", "-u", "postgres", "--", f"{PG_BIN}/pg_ctl", "-D", self.dir,
                        "-m", "immediate", "-w", "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """A Redis of its own with the production settings: AOF, appendfsync always."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="bro-fleet-redis-")
        self.conf = os.path.join(self.dir, "redis.conf")
        with open(self.conf, "w") as f:
            f.write(f"bind 127.0.0.1\nport {self.port}\ndir {self.dir}\nappendonly yes\n"
                    "appendfsync always\naof-use-rdb-preamble no\nsave \"\"\n")
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self):
        self.p = subprocess.Popen(["redis-server", self.conf], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)

        def up():
            try:
                return client.ping()
            except redis.RedisError:
                return False
        wait_until(up, what="Redis to answer")

    def kill(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait(timeout=10)

    def restart(self):
        """Killed, not shut down: what survives is what the AOF had synced."""
        self.kill()
        self.start()

    def client(self):
        return redis.Redis(port=self.port)

    def close(self):
        if self.p.poll() is None:
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Load:
    """Threads that each create candidates (each with its own Idempotency-Key, retried with the
    same key and body after a 5xx or a lost connection until a 2xx) and read back what they
    created, until stop(). Everything asked and answered is kept for the count afterwards."""

    def __init__(self, base, key, threads=4, pause=0.01):
        self.base, self.key, self.pause = base, key, pause
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.creates = {}  # marker -> {"key", "statuses": [...], "id"}
        self.reads = {"2xx": 0, "5xx": 0, "other": 0, "wrong": 0, "lost": 0}
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=60)

    def _create(self, s, marker, idem):
        """One create, retried with its key until a 2xx; the statuses seen (0: no answer)."""
        body = {"given_name": "Flåte", "family_name": marker}
        seen = []
        for attempt in range(200):
            try:
                r = s.post(self.base + "/v1/candidates", json=body, timeout=15,
                           headers={"Idempotency-Key": idem})
                seen.append(r.status_code)
                if r.status_code < 300:
                    return seen, r.json()["id"]
                if r.status_code < 500 and r.status_code != 429:
                    return seen, None
            except requests.RequestException:
                seen.append(0)
            time.sleep(min(0.05 * (attempt + 1), 0.5))
        return seen, None

    def _read(self, s, cid, marker):
        try:
            r = s.get(self.base + "/v1/candidates/" + cid, timeout=15)
        except requests.RequestException:
            kind = "lost"
        else:
            if r.status_code == 200:
                kind = "2xx" if r.json()["family_name"] == marker else "wrong"
            else:
                kind = "5xx" if r.status_code >= 500 else "other"
        with self.lock:
            self.reads[kind] += 1

    def _run(self, n):
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {self.key}"
        i = 0
        while not self.stopping.is_set():
            i += 1
            marker = f"Fl{n}x{i}x{suffix(4)}"
            idem = f"fleet-{n}-{i}-{suffix(8)}"
            seen, cid = self._create(s, marker, idem)
            with self.lock:
                self.creates[marker] = {"key": idem, "statuses": seen, "id": cid}
            if cid:
                self._read(s, cid, marker)
            time.sleep(self.pause)

    def counted(self, conn, slug):
        """Checks every create against the rows: each that got a 2xx (at once, or after 5xx
        retried with its key) exists exactly once, with the id it was answered. Returns the
        counts, printed by the caller."""
        with conn.cursor() as cur:
            cur.execute(f'SELECT family_name, count(*), min(id::text) FROM "t_{slug}".candidates '
                        "GROUP BY family_name")
            rows = {name: (n, cid) for name, n, cid in cur.fetchall()}
        c = {"creates": len(self.creates), "first_2xx": 0, "retried_2xx": 0, "no_2xx": 0,
             "5xx_answers": 0, "lost_answers": 0, "rows": len(rows), "duplicates": 0,
             "wrong_id": 0, "missing": 0}
        for marker, rec in self.creates.items():
            st = rec["statuses"]
            c["5xx_answers"] += sum(1 for x in st if x >= 500)
            c["lost_answers"] += sum(1 for x in st if x == 0)
            if rec["id"] is None:
                c["no_2xx"] += 1
                continue
            c["first_2xx" if len(st) == 1 else "retried_2xx"] += 1
            n, cid = rows.get(marker, (0, None))
            c["missing"] += n == 0
            c["duplicates"] += n > 1
            c["wrong_id"] += n == 1 and cid != rec["id"]
        c.update({f"reads_{k}": v for k, v in self.reads.items()})
        return c


class SentinelPair:
    """A master and a replica (both AOF, appendfsync always) watched by one Redis Sentinel
    (Debian's redis-sentinel) under the master name "bro", quorum 1, down after 1 s."""

    def __init__(self):
        self.master, self.replica = PrivateRedis(), PrivateRedis()
        self.replica.client().replicaof("127.0.0.1", self.master.port)
        wait_until(lambda: self.replica.client().info("replication")["master_link_status"]
                   == "up", what="the replica to follow the master")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="bro-fleet-sentinel-")
        self.conf = os.path.join(self.dir, "sentinel.conf")
        with open(self.conf, "w") as f:
            f.write(f"bind 127.0.0.1\nport {self.port}\ndir {self.dir}\n"
                    f"sentinel monitor bro 127.0.0.1 {self.master.port} 1\n"
                    "sentinel down-after-milliseconds bro 1000\n"
                    "sentinel failover-timeout bro 10000\n")
        self.p = subprocess.Popen(["redis-sentinel", self.conf], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        self.url = f"redis-sentinel://127.0.0.1:{self.port}/bro/0"
        wait_until(lambda: self.master_port() == self.master.port, what="the sentinel")

    def master_port(self):
        try:
            host_port = redis.Redis(port=self.port).sentinel_get_master_addr_by_name("bro")
            return int(host_port[1]) if host_port else None
        except redis.RedisError:
            return None

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=10)
        self.master.close()
        self.replica.close()
        shutil.rmtree(self.dir, ignore_errors=True)
