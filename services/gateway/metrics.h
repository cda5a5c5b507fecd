/* The gateway's counters: one struct per process, shared by every thread and updated with
 * atomic adds. The modules that see an event feed it (http.c each answer, rpc.c Redis errors and
 * timeouts, auth.c the key cache, ratelimit.c 429s, conn.c connections); admin.c renders it on
 * /metrics. It depends on no other part of the gateway. */
#ifndef BRO_METRICS_H
#define BRO_METRICS_H

#include <stdint.h>

#include "conn.h"

#define BRO_METRICS_ROUTES  128 /* counted routes; the last index counts unmatched requests */
#define BRO_METRICS_BUCKETS 12  /* latency bucket bounds; one more bucket above the last */
#define BRO_METRICS_LIMITS  3   /* rate limits counted apart (BRO_RL_KINDS) */

/* Upper bounds of the latency buckets, in ms. */
extern const int bro_metrics_bounds_ms[BRO_METRICS_BUCKETS];

typedef struct bro_metrics {
    unsigned long long requests[BRO_METRICS_ROUTES][6]; /* [route index][status class 0..5] */
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
} bro_metrics;

/* Counts one answer: its route (-1 or out of range: unmatched), its status class, and the time
 * since start_us (monotonic microseconds, as bro_metrics_now_us gives). */
void bro_metrics_observe(bro_metrics *m, int route_index, int status, int64_t start_us);

/* Monotonic clock in microseconds. */
int64_t bro_metrics_now_us(void);

#endif
