/* The notify module's counters: attempts per outcome and their latency, summed in the delivery
 * thread and added to the fleet's Redis hash bro:metrics about once a second (HINCRBY, so every
 * worker adds to the same totals), which every gateway renders on /metrics as
 * brobygger_webhook_deliveries_total and brobygger_webhook_delivery_seconds. Counts only: no
 * tenant, URL or payload is ever a field. */
#ifndef BRO_NOTIFY_METRICS_H
#define BRO_NOTIFY_METRICS_H

#include <stdint.h>

#include "common/config.h"

typedef enum bro_metrics_outcome {
    BRO_METRICS_SUCCEEDED, /* a 2xx answer */
    BRO_METRICS_GONE,      /* 410: the endpoint was disabled */
    BRO_METRICS_STATUS,    /* any other answer */
    BRO_METRICS_TIMEOUT,   /* no answer within the timeouts */
    BRO_METRICS_REFUSED,   /* the address rules refused the target; nothing was sent */
    BRO_METRICS_ERROR,     /* no connection, TLS or another transport failure */
    BRO_METRICS__COUNT
} bro_metrics_outcome;

#define BRO_METRICS_BUCKETS 12 /* latency buckets, see bro_metrics_bounds_ms */

typedef struct bro_metrics {
    int64_t outcomes[BRO_METRICS__COUNT]; /* attempts not yet added to Redis */
    int64_t buckets[BRO_METRICS_BUCKETS]; /* attempts at or under each bound, not cumulative */
    int64_t latency_sum_ms;               /* of the attempts counted */
    int64_t flushed_ms;                   /* unix ms of the last flush */
    void *redis;                          /* redisContext, owned; NULL until connected */
} bro_metrics;

/* Counts one attempt. */
void bro_metrics_count(bro_metrics *m, bro_metrics_outcome outcome, long latency_ms);

/* Adds what was counted to Redis (redis_url: BROBYGGER_REDIS) once a second; on failure the
 * counts wait for the next try. */
void bro_metrics_flush(bro_metrics *m, const char *redis_url);

/* Closes the connection. */
void bro_metrics_free(bro_metrics *m);

#endif
