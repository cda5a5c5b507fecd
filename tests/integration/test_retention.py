"""Stored replies (exactly-once records and Idempotency-Key answers) are copies of what was
sent, personal data included; a records worker deletes them once they are older than
BROBYGGER_RETENTION_HOURS, in the platform schema and every tenant's."""
import uuid

from conftest import Proc, wait_until


def test_old_stored_replies_are_deleted_and_fresh_ones_kept(migrated, tenants, db):
    schemas = ["platform", f't_{tenants["a"]["slug"]}', f't_{tenants["b"]["slug"]}']
    old, fresh = {}, {}
    with db.cursor() as cur:
        for s in schemas:
            old[s], fresh[s] = str(uuid.uuid4()), str(uuid.uuid4())
            cur.execute(f'INSERT INTO "{s}".processed_jobs (job_id, kind, status, reply, created_at)'
                        " VALUES (%s, 'candidate.get', 200, '\\x80', now() - interval '101 hours'),"
                        " (%s, 'candidate.get', 200, '\\x80', now() - interval '99 hours')",
                        (old[s], fresh[s]))
            cur.execute(f'INSERT INTO "{s}".idempotency_keys (key_id, idem_key, fingerprint, '
                        "status, reply, created_at) VALUES ('retent01', %s, 'x', 201, '\\x80',"
                        " now() - interval '101 hours'), ('retent01', %s, 'x', 201, '\\x80',"
                        " now() - interval '99 hours')", (old[s], fresh[s]))

    def remaining(s):
        """The stored replies of this test still there: (job ids, Idempotency-Keys)."""
        with db.cursor() as cur:
            cur.execute(f'SELECT job_id::text FROM "{s}".processed_jobs WHERE job_id IN (%s, %s)',
                        (old[s], fresh[s]))
            jobs = {r[0] for r in cur.fetchall()}
            cur.execute(f'SELECT idem_key FROM "{s}".idempotency_keys WHERE idem_key IN (%s, %s)',
                        (old[s], fresh[s]))
            return jobs, {r[0] for r in cur.fetchall()}

    worker = Proc("brobygger-worker", ["--queues", "records"],
                  env={"BROBYGGER_JANITOR_MS": "500", "BROBYGGER_RETENTION_HOURS": "100"})
    try:
        for s in schemas:
            wait_until(lambda: remaining(s) == ({fresh[s]}, {fresh[s]}),
                       what=f"the sweep of {s}")
    finally:
        assert worker.stop() == 0
        worker.assert_clean()
