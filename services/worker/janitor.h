/* Periodic upkeep a worker does between jobs, on one fixed tick. */
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
void bro_janitor_tick(bro_worker *w);

#endif
