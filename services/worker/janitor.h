/* Periodic upkeep on the worker's main thread, on one fixed tick: reads' audit records into
 * audit_log, stored replies past their retention, consumers of workers that are gone, old dead
 * letters, Redis's append-only file. It uses the main thread's connections only. */
#ifndef BRO_WORKER_JANITOR_H
#define BRO_WORKER_JANITOR_H

#include "runtime.h"

/* When BROBYGGER_JANITOR_MS has passed since the last sweep and the worker serves the records
 * queue: deletes stored replies (processed_jobs, idempotency_keys) older than
 * BROBYGGER_RETENTION_HOURS, one short transaction per schema. A tick sweeps the next
 * BRO_JANITOR_BATCH tenants in slug order (and the platform schema at the start of a cycle),
 * so a worker with hundreds of tenants never stops taking jobs for long. Failures are logged
 * and tried again in the next cycle. */
#define BRO_JANITOR_BATCH 32

/* Every BRO_JANITOR_AOF_TICK_MS, on any worker: has Redis rewrite its append-only file when a
 * request after an erasure is BROBYGGER_AOF_ERASURE_DELAY_MS old, or when this worker gets the
 * turn of the BROBYGGER_AOF_REWRITE_MS period (one worker per period across all of them); a
 * rewrite started for an erasure is watched, and asked for again if Redis reports it failed. */
#define BRO_JANITOR_AOF_TICK_MS 1000

/* Every BROBYGGER_HEARTBEAT_TTL_MS, on any worker: deletes from the groups of the queues it
 * serves the consumers of workers that are gone (no heartbeat, nothing pending any more), and
 * dead letters older than BROBYGGER_DEAD_LETTER_HOURS. */

/* Every BRO_JANITOR_AUDIT_TICK_MS, on a records worker: takes up to BRO_JANITOR_AUDIT_BATCH
 * read-audit records from bro:audit (first any another janitor left pending past the
 * visibility timeout), writes them into their tenants' audit_log (one transaction per tenant,
 * ON CONFLICT (read_key) DO NOTHING) and acknowledges them; up to BRO_JANITOR_AUDIT_ROUNDS
 * batches a tick while the stream is not drained. So a read shows in the access log within a
 * tick and a transaction, and each exactly once, whatever crashed in between. */
#define BRO_JANITOR_AUDIT_TICK_MS 100
#define BRO_JANITOR_AUDIT_BATCH   256
#define BRO_JANITOR_AUDIT_ROUNDS  8

/* Runs what of the above is due; called by the main thread's loop. */
void bro_janitor_tick(bro_worker *w);

/* For a worker that stops: leaves the read-audit group when nothing is pending for it. */
void bro_janitor_stop(bro_worker *w);

#endif
