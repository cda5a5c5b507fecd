/* The fleet's figures (fleet.h): the queues' state and the workers' counters from bro:metrics,
 * rendered as Prometheus text with bounded labels. */
#include "fleet.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/config.h"
#include "common/deadletter.h"
#include "common/log.h"
#include "common/redisaddr.h"

#define BRO_FLEET_KINDS   256 /* job kinds rendered; the workers send those of their table */
#define BRO_FLEET_BUCKETS 15  /* services/worker/metrics.h BRO_WM_BUCKETS */

/* The bounds the workers count durations under (services/worker/metrics.c). */
static const char *const bro_fleet_bounds[BRO_FLEET_BUCKETS] = {
    "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
    "0.5",   "1",      "2.5",   "5",    "10",    "30",   "60"};

/* The bounds the delivery threads count webhook attempts under, in seconds
 * (services/worker/notify/metrics.c, in ms); one bucket more above the last. */
#define BRO_FLEET_WEBHOOK_BUCKETS 11
static const char *const bro_fleet_webhook_bounds[BRO_FLEET_WEBHOOK_BUCKETS] = {
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "15"};

/* Per queue: length, pending, lag, delayed, dead, live consumers; then bro:metrics. Live
 * consumers are workers with a heartbeat that serve the queue. */
static const char *bro_fleet_lua =
    "local live = {}\n"
    "for _, id in ipairs(redis.call('ZRANGE', 'bro:workers', 0, -1)) do\n"
    "  local info = redis.call('GET', 'bro:worker:' .. id)\n"
    "  local ok, w = pcall(cjson.decode, info or 'null')\n"
    "  if ok and type(w) == 'table' and type(w.queues) == 'table' then\n"
    "    for _, q in ipairs(w.queues) do live[q] = (live[q] or 0) + 1 end\n"
    "  end\n"
    "end\n"
    "local out = {}\n"
    "for _, q in ipairs(ARGV) do\n"
    "  local s, pending, lag = 'bro:q:' .. q, 0, 0\n"
    "  local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', s)\n"
    "  if ok then for _, g in ipairs(groups) do\n"
    "    local f = {}\n"
    "    for i = 1, #g, 2 do f[g[i]] = g[i + 1] end\n"
    "    if f['name'] == 'workers' then\n"
    "      pending = f['pending'] or 0\n"
    "      if type(f['lag']) == 'number' then lag = f['lag'] end\n"
    "    end\n"
    "  end end\n"
    "  for _, v in ipairs({redis.call('XLEN', s), pending, lag,"
    " redis.call('ZCARD', 'bro:delayed:' .. q), redis.call('XLEN', 'bro:dead:' .. q),"
    " live[q] or 0}) do table.insert(out, v) end\n"
    "end\n"
    "table.insert(out, redis.call('HGETALL', 'bro:metrics'))\n"
    "return out\n";

struct bro_fleet {
    redisContext *redis; /* NULL until connected, and after a failure */
    bro_redis_addr addr; /* BROBYGGER_REDIS; with sentinels the master is asked at connect */
};

bro_fleet *bro_fleet_new(const char *redis_url)
{
    bro_fleet *f = calloc(1, sizeof(*f));
    bro_err err = {0};
    if (f && bro_redis_addr_parse(redis_url, &f->addr, &err) < 0) {
        bro_log_error(NULL, "%s", err.msg);
        free(f);
        return NULL;
    }
    return f;
}

void bro_fleet_free(bro_fleet *f)
{
    if (f == NULL)
        return;
    if (f->redis)
        redisFree(f->redis);
    free(f);
}

static void bro_fleet_drop(bro_fleet *f)
{
    if (f->redis)
        redisFree(f->redis);
    f->redis = NULL;
}

/* Runs the script; the reply is the caller's, NULL when Redis could not be asked. */
static redisReply *bro_fleet_ask(bro_fleet *f)
{
    struct timeval tv = {0, BRO_FLEET_TIMEOUT_MS * 1000};
    if (f->redis == NULL) {
        bro_err err = {0};
        if (bro_redis_addr_resolve(&f->addr, BRO_FLEET_TIMEOUT_MS, &err) < 0)
            return NULL;
        f->redis = redisConnectWithTimeout(f->addr.host, f->addr.port, tv);
        if (f->redis == NULL || f->redis->err) {
            bro_fleet_drop(f);
            return NULL;
        }
        redisSetTimeout(f->redis, tv);
        int db = f->addr.db;
        redisReply *sel = db ? redisCommand(f->redis, "SELECT %d", db) : NULL;
        int bad = db && (sel == NULL || sel->type == REDIS_REPLY_ERROR);
        if (sel)
            freeReplyObject(sel);
        if (bad) {
            bro_fleet_drop(f);
            return NULL;
        }
    }
    const char *argv[3 + 4] = {"EVAL", bro_fleet_lua, "0"};
    for (int i = 0; i < 4; i++)
        argv[3 + i] = bro_deadletter_queues[i];
    redisReply *r = redisCommandArgv(f->redis, 7, argv, NULL);
    if (r == NULL)
        bro_fleet_drop(f);
    return r;
}

static void bro_fleet_queues(struct evbuffer *out, const redisReply *r)
{
    static const char *const names[6][2] = {
        {"length", "Entries in the queue's stream: waiting or being worked on."},
        {"pending", "Entries delivered to a worker and not yet acknowledged."},
        {"lag", "Entries no worker has been handed yet (the consumer group's lag)."},
        {"delayed", "Jobs waiting for their retry."},
        {"dead", "Dead letters (GET /v1/admin/dead-letters)."},
        {"consumers", "Live workers serving the queue (heartbeat fresh)."}};
    for (int m = 0; m < 6; m++) {
        evbuffer_add_printf(out, "# HELP brobygger_queue_%s %s\n# TYPE brobygger_queue_%s gauge\n",
                            names[m][0], names[m][1], names[m][0]);
        for (int q = 0; q < 4; q++) {
            const redisReply *v = r->element[q * 6 + m];
            evbuffer_add_printf(out, "brobygger_queue_%s{queue=\"%s\"} %lld\n", names[m][0],
                                bro_deadletter_queues[q],
                                v->type == REDIS_REPLY_INTEGER ? v->integer : 0LL);
        }
    }
}

/* 1 when s is a label value the workers could have sent: [a-z0-9._-], 1-63 bytes. */
static int bro_fleet_label_ok(const char *s, size_t n)
{
    return n > 0 && n < 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* A field "p|a|b" or "p|a" of bro:metrics split into its parts (copied); 0 when it has not that
 * shape or a part is not a label value. */
static int bro_fleet_split(const redisReply *field, char p, char a[64], char b[64])
{
    const char *s = field->str;
    if (field->type != REDIS_REPLY_STRING || field->len < 3 || s[0] != p || s[1] != '|')
        return 0;
    const char *bar = memchr(s + 2, '|', field->len - 2);
    size_t na = bar ? (size_t)(bar - s - 2) : field->len - 2;
    size_t nb = bar ? field->len - 3 - na : 0;
    if (!bro_fleet_label_ok(s + 2, na) || (bar && !bro_fleet_label_ok(bar + 1, nb)))
        return 0;
    memcpy(a, s + 2, na);
    a[na] = '\0';
    if (bar)
        memcpy(b, bar + 1, nb);
    b[nb] = '\0';
    return 1;
}

static long long bro_fleet_value(const redisReply *v)
{
    return v->type == REDIS_REPLY_STRING ? strtoll(v->str, NULL, 10) : 0;
}

/* Counters of one prefix: label names la (and lb when the fields have two parts). */
static void bro_fleet_counter(struct evbuffer *out, const redisReply *h, char p, const char *name,
                              const char *help, const char *la, const char *lb)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    char a[64], b[64];
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        if (!bro_fleet_split(h->element[i], p, a, b) || (lb != NULL) != (b[0] != '\0'))
            continue;
        if (lb)
            evbuffer_add_printf(out, "%s{%s=\"%s\",%s=\"%s\"} %lld\n", name, la, a, lb, b,
                                bro_fleet_value(h->element[i + 1]));
        else
            evbuffer_add_printf(out, "%s{%s=\"%s\"} %lld\n", name, la, a,
                                bro_fleet_value(h->element[i + 1]));
    }
}

/* One kind's duration histogram, gathered from its "d|" and "s|" fields. */
typedef struct bro_fleet_hist {
    char kind[64];
    long long buckets[BRO_FLEET_BUCKETS + 1]; /* not cumulative; the last is above 60 s */
    long long sum_us;
} bro_fleet_hist;

static bro_fleet_hist *bro_fleet_hist_of(bro_fleet_hist *hs, int *n, const char *kind)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(hs[i].kind, kind) == 0)
            return &hs[i];
    if (*n == BRO_FLEET_KINDS)
        return NULL;
    memset(&hs[*n], 0, sizeof(hs[*n]));
    snprintf(hs[*n].kind, sizeof(hs[*n].kind), "%s", kind);
    return &hs[(*n)++];
}

static void bro_fleet_durations(struct evbuffer *out, const redisReply *h)
{
    bro_fleet_hist *hs = calloc(BRO_FLEET_KINDS, sizeof(*hs));
    int n = 0;
    char a[64], b[64];
    for (size_t i = 0; hs && i + 1 < h->elements; i += 2) {
        int is_bucket = bro_fleet_split(h->element[i], 'd', a, b);
        if (!is_bucket && !bro_fleet_split(h->element[i], 's', a, b))
            continue;
        bro_fleet_hist *k = bro_fleet_hist_of(hs, &n, a);
        int at = strcmp(b, "inf") == 0 ? BRO_FLEET_BUCKETS : atoi(b);
        if (k && !is_bucket)
            k->sum_us += bro_fleet_value(h->element[i + 1]);
        else if (k && at >= 0 && at <= BRO_FLEET_BUCKETS)
            k->buckets[at] += bro_fleet_value(h->element[i + 1]);
    }
    evbuffer_add_printf(out, "# HELP brobygger_job_duration_seconds From a slot taking a job to "
                             "its end, by kind (all workers).\n"
                             "# TYPE brobygger_job_duration_seconds histogram\n");
    for (int k = 0; k < n; k++) {
        long long cum = 0;
        for (int i = 0; i <= BRO_FLEET_BUCKETS; i++) {
            cum += hs[k].buckets[i];
            evbuffer_add_printf(out,
                                "brobygger_job_duration_seconds_bucket{kind=\"%s\",le=\"%s\"} "
                                "%lld\n",
                                hs[k].kind, i < BRO_FLEET_BUCKETS ? bro_fleet_bounds[i] : "+Inf",
                                cum);
        }
        evbuffer_add_printf(out, "brobygger_job_duration_seconds_sum{kind=\"%s\"} %.6f\n",
                            hs[k].kind, hs[k].sum_us / 1e6);
        evbuffer_add_printf(out, "brobygger_job_duration_seconds_count{kind=\"%s\"} %lld\n",
                            hs[k].kind, cum);
    }
    free(hs);
}

/* The webhook attempts' latency histogram, from the "l|" fields of the delivery threads. */
static void bro_fleet_webhook_latency(struct evbuffer *out, const redisReply *h)
{
    long long buckets[BRO_FLEET_WEBHOOK_BUCKETS + 1] = {0}, sum_ms = 0;
    char a[64], b[64];
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        if (!bro_fleet_split(h->element[i], 'l', a, b) || b[0] != '\0')
            continue;
        long long v = bro_fleet_value(h->element[i + 1]);
        char *end = NULL;
        long at = strcmp(a, "inf") == 0 ? BRO_FLEET_WEBHOOK_BUCKETS : strtol(a, &end, 10);
        if (strcmp(a, "sum_ms") == 0)
            sum_ms += v;
        else if ((end == NULL || *end == '\0') && at >= 0 && at <= BRO_FLEET_WEBHOOK_BUCKETS)
            buckets[at] += v;
    }
    evbuffer_add_printf(out, "# HELP brobygger_webhook_delivery_seconds From a webhook attempt's "
                             "start to its answer or failure (all delivering workers).\n"
                             "# TYPE brobygger_webhook_delivery_seconds histogram\n");
    long long cum = 0;
    for (int i = 0; i <= BRO_FLEET_WEBHOOK_BUCKETS; i++) {
        cum += buckets[i];
        evbuffer_add_printf(out, "brobygger_webhook_delivery_seconds_bucket{le=\"%s\"} %lld\n",
                            i < BRO_FLEET_WEBHOOK_BUCKETS ? bro_fleet_webhook_bounds[i] : "+Inf",
                            cum);
    }
    evbuffer_add_printf(out, "brobygger_webhook_delivery_seconds_sum %.3f\n", sum_ms / 1e3);
    evbuffer_add_printf(out, "brobygger_webhook_delivery_seconds_count %lld\n", cum);
}

void bro_fleet_render(bro_fleet *f, struct evbuffer *out)
{
    redisReply *r = f ? bro_fleet_ask(f) : NULL;
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 4 * 6 + 1 &&
             r->element[24]->type == REDIS_REPLY_ARRAY;
    evbuffer_add_printf(out,
                        "# HELP brobygger_fleet_up 1 when Redis answered this scrape's "
                        "questions about queues and workers.\n"
                        "# TYPE brobygger_fleet_up gauge\nbrobygger_fleet_up %d\n",
                        ok);
    if (ok) {
        const redisReply *h = r->element[24];
        bro_fleet_queues(out, r);
        bro_fleet_counter(out, h, 'j', "brobygger_jobs_total",
                          "Jobs ended, by kind and outcome "
                          "(all workers).",
                          "kind", "outcome");
        bro_fleet_durations(out, h);
        bro_fleet_counter(out, h, 'e', "brobygger_job_errors_total",
                          "Jobs retried or dead-lettered, by the code word of their error.", "code",
                          NULL);
        bro_fleet_counter(out, h, 'r', "brobygger_worker_reconnects_total",
                          "Connections the workers made again after losing them.", "server", NULL);
        bro_fleet_counter(out, h, 'w', "brobygger_webhook_deliveries_total",
                          "Webhook delivery attempts ended, by outcome (all delivering workers).",
                          "outcome", NULL);
        bro_fleet_webhook_latency(out, h);
    }
    if (r)
        freeReplyObject(r);
}
