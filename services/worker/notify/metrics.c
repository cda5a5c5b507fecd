/* Counters of the delivery thread (see metrics.h), added to Redis in one pipeline. */
#include "notify/metrics.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "common/ids.h"
#include "common/log.h"

#define BRO_METRICS_KEY      "bro:metrics" /* the fleet's hash, which /metrics renders */
#define BRO_METRICS_EVERY_MS 1000

/* Fields "w|<outcome>": brobygger_webhook_deliveries_total{outcome} (services/gateway/fleet.c). */
static const char *const bro_metrics_names[BRO_METRICS__COUNT] = {
    "w|succeeded", "w|gone", "w|status", "w|timeout", "w|refused", "w|error"};

/* Upper bounds of the latency buckets in ms ("l|<index>", the last "l|inf"); fleet.c renders
 * them as seconds and must list the same. */
static const long bro_metrics_bounds_ms[BRO_METRICS_BUCKETS] = {5,   10,   25,   50,   100,   250,
                                                                500, 1000, 2500, 5000, 15000, -1};

void bro_metrics_count(bro_metrics *m, bro_metrics_outcome outcome, long latency_ms)
{
    m->outcomes[outcome]++;
    if (outcome == BRO_METRICS_REFUSED)
        return; /* nothing was sent: no latency */
    int b = 0;
    while (b < BRO_METRICS_BUCKETS - 1 && latency_ms > bro_metrics_bounds_ms[b])
        b++;
    m->buckets[b]++;
    m->latency_sum_ms += latency_ms;
}

static int bro_metrics_connect(bro_metrics *m, const char *redis_url)
{
    char host[256];
    int port = 0, db = 0;
    bro_err err = {0};
    if (bro_config_redis_url(redis_url, host, sizeof(host), &port, &db, &err) < 0)
        return -1;
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (c == NULL || c->err) {
        redisFree(c);
        return -1;
    }
    redisSetTimeout(c, tv);
    redisReply *r = db ? redisCommand(c, "SELECT %d", db) : NULL;
    int ok = db == 0 || (r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    if (!ok) {
        redisFree(c);
        return -1;
    }
    m->redis = c;
    return 0;
}

void bro_metrics_flush(bro_metrics *m, const char *redis_url)
{
    int64_t now = bro_ids_now_ms();
    if (now - m->flushed_ms < BRO_METRICS_EVERY_MS)
        return;
    m->flushed_ms = now;
    if (m->redis == NULL && bro_metrics_connect(m, redis_url) < 0)
        return;
    redisContext *c = m->redis;
    int sent = 0;
    for (int i = 0; i < BRO_METRICS__COUNT; i++)
        if (m->outcomes[i])
            sent += redisAppendCommand(c, "HINCRBY %s %s %lld", BRO_METRICS_KEY,
                                       bro_metrics_names[i], (long long)m->outcomes[i]) == REDIS_OK;
    for (int b = 0; b < BRO_METRICS_BUCKETS; b++) {
        char field[40];
        if (bro_metrics_bounds_ms[b] < 0)
            snprintf(field, sizeof(field), "l|inf");
        else
            snprintf(field, sizeof(field), "l|%d", b);
        if (m->buckets[b])
            sent += redisAppendCommand(c, "HINCRBY %s %s %lld", BRO_METRICS_KEY, field,
                                       (long long)m->buckets[b]) == REDIS_OK;
    }
    if (m->latency_sum_ms)
        sent += redisAppendCommand(c, "HINCRBY %s l|sum_ms %lld", BRO_METRICS_KEY,
                                   (long long)m->latency_sum_ms) == REDIS_OK;
    int ok = 1;
    for (int i = 0; i < sent; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL || r->type == REDIS_REPLY_ERROR)
            ok = 0;
        freeReplyObject(r);
        if (c->err)
            break;
    }
    if (ok && !c->err) {
        memset(m->outcomes, 0, sizeof(m->outcomes));
        memset(m->buckets, 0, sizeof(m->buckets));
        m->latency_sum_ms = 0;
        return;
    }
    bro_log_warn(NULL, "notify: metrics not written to Redis; kept for the next try");
    redisFree(c);
    m->redis = NULL;
}

void bro_metrics_free(bro_metrics *m)
{
    redisFree(m->redis);
    m->redis = NULL;
}
