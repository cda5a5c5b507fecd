/* Periodic upkeep a worker does between jobs, on one fixed tick. */
#ifndef BRO_WORKER_JANITOR_H
#define BRO_WORKER_JANITOR_H

#include "runtime.h"

/* When BROBYGGER_JANITOR_MS has passed since the last sweep and the worker serves the records
 * queue: deletes stored replies (processed_jobs, idempotency_keys) older than
 * BROBYGGER_RETENTION_HOURS from the platform schema and every tenant schema, one short
 * transaction each. Failures are logged and the sweep is tried again on the next tick. */
void bro_janitor_tick(bro_worker *w);

#endif
