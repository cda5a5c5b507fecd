/* Periodic upkeep a worker does between jobs, on one fixed tick: stored replies past their
 * retention, consumers of workers that are gone, old dead letters, Redis's append-only file. */
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

/* Runs what of the above is due; called by the consume loop between reads. */
void bro_janitor_tick(bro_worker *w);

#endif
