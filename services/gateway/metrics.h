/* The gateway's counters: one struct per process, shared by every thread and updated with
 * atomic adds. The modules that see an event feed it (http.c each answer, rpc.c Redis errors and
 * timeouts, auth.c the key cache, ratelimit.c 429s, conn.c connections); admin.c renders it on
 * /metrics. It depends on no other part of the gateway. */
#ifndef BRO_METRICS_H
#define BRO_METRICS_H

#include <stdint.h>

#include "common/error.h"
#include "conn.h"

#define BRO_METRICS_BUCKETS 12 /* latency bucket bounds; one more bucket above the last */
#define BRO_METRICS_LIMITS  3  /* rate limits counted apart (BRO_RL_KINDS) */

/* Upper bounds of the latency buckets, in ms. */
extern const int bro_metrics_bounds_ms[BRO_METRICS_BUCKETS];

typedef struct bro_metrics {
    /* [route index][status class 0..5], one row per row of the route table and a last one for
     * unmatched requests: sized from the table at start (bro_metrics_init), so a route added to
     * the document is counted as itself. Owned. */
    unsigned long long (*requests)[6];
    int nroutes; /* rows of the route table; requests has one more */
    unsigned long long latency_buckets[BRO_METRICS_BUCKETS + 1]; /* made cumulative at scrape */
    unsigned long long latency_count;
    unsigned long long latency_sum_us;
    unsigned long long auth_hits, auth_misses, redis_errors, timeouts;
    unsigned long long client_gone; /* waits ended because the client went away (server.c) */
    long long in_flight;
    bro_conn_stats conn;                                 /* connections of both listeners */
    bro_conn_limits api;                                 /* the API listener's limits */
    bro_conn_limits admin;                               /* the admin listener's */
    unsigned long long rate_limited[BRO_METRICS_LIMITS]; /* 429s per limit, BRO_RL_* index */
    unsigned long long problems[BRO_E__COUNT]; /* problem answers by word (bro_err_code) */
    unsigned long long redis_lost;             /* Redis connections lost (then re-made) */
} bro_metrics;

/* Sizes m's per-route counters for nroutes routes. Returns 0, or -1 when out of memory. */
int bro_metrics_init(bro_metrics *m, int nroutes) BRO_MUST_USE;

/* Frees what bro_metrics_init allocated. */
void bro_metrics_free(bro_metrics *m);

/* Counts a problem answer by its word; a word the error table lacks counts as "internal". */
void bro_metrics_problem(bro_metrics *m, const char *word);

/* Counts one answer: its route (-1 or out of range: unmatched), its status class, and the time
 * since start_us (monotonic microseconds, as bro_metrics_now_us gives). */
void bro_metrics_observe(bro_metrics *m, int route_index, int status, int64_t start_us);

/* Monotonic clock in microseconds. */
int64_t bro_metrics_now_us(void);

#endif
