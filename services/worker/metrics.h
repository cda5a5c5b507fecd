/* The worker's figures for /metrics: jobs by kind and outcome, job durations by kind, errors by
 * their code word, Redis and PostgreSQL reconnects. Slots count with atomic adds; the main
 * thread adds what changed since its last flush to the fleet-wide hash bro:metrics in Redis
 * about once a second, and every gateway renders that hash on /metrics (README, "Metrics").
 * Labels are bounded: kinds come from the handler table (one more row for a kind no handler
 * has), outcomes are the five below, codes the error table's.
 *
 * Fields of bro:metrics: "j|<kind>|<outcome>" jobs, "d|<kind>|<bucket>" durations (bucket
 * index into bro_wmetrics_bounds_s, or "inf"), "s|<kind>" summed microseconds, "e|<word>"
 * errors, "r|redis" and "r|postgres" reconnects. */
#ifndef BRO_WORKER_METRICS_H
#define BRO_WORKER_METRICS_H

#include "common/queue.h"

/* What became of a job. */
#define BRO_WM_OK       0 /* answered 1xx-3xx */
#define BRO_WM_REJECTED 1 /* answered 4xx: the request was at fault */
#define BRO_WM_RETRIED  2 /* a transient failure: back to the delayed set (or dead at the end) */
#define BRO_WM_FAILED   3 /* dead-lettered: undecodable, no handler, attempts used up, a bug */
#define BRO_WM_DROPPED  4 /* a read past its deadline, not run */
#define BRO_WM_OUTCOMES 5

#define BRO_WM_BUCKETS 15 /* duration bucket bounds; one more bucket above the last */

/* Upper bounds of the duration buckets, in seconds. */
extern const double bro_wmetrics_bounds_s[BRO_WM_BUCKETS];

/* The name of an outcome ("ok", "rejected", "retried", "failed", "dropped"). */
const char *bro_wmetrics_outcome_name(int outcome);

typedef struct bro_wmetrics bro_wmetrics;

/* Counters for a worker of `slots` job slots, sized from the handler table. Returns NULL when
 * out of memory; the caller frees it with bro_wmetrics_free (NULL is a no-op). */
bro_wmetrics *bro_wmetrics_new(int slots);
void bro_wmetrics_free(bro_wmetrics *m);

/* Slot `slot` takes a job now: its duration runs from here. m may be NULL (not counted). */
void bro_wmetrics_begin(bro_wmetrics *m, int slot);

/* The slot's job ended with outcome (BRO_WM_*); kind NULL or unknown counts as "unknown"; code
 * (a bro_err_code) is counted for retried and failed jobs. Only the first end after a begin
 * counts, so a path that ends a job twice (retry, then dead letter) counts it once. */
void bro_wmetrics_end(bro_wmetrics *m, int slot, const char *kind, int outcome, int code);

/* The outcome of a job a handler ran: replied (status), retried, or failed. */
int bro_wmetrics_outcome_of(int replied, int retried, int status);

typedef struct bro_worker bro_worker;

/* The main thread's tick: about once a second (or now, when force), flushes w->metrics on
 * w->queue with the reconnects of every handle of the process; a failure is logged and the
 * figures wait for the next tick. */
void bro_wmetrics_tick(bro_worker *w, int force);

/* Adds to bro:metrics on q what changed since the last flush, with the reconnects given (the
 * totals of the process's handles so far). Called by the main thread alone. Returns 0, or -1
 * with err set (the figures are kept for the next flush). */
int bro_wmetrics_flush(bro_wmetrics *m, bro_queue *q, long long redis_reconnects,
                       long long pg_reconnects, bro_err *err) BRO_MUST_USE;

#endif
