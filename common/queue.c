/* The worker side of the job queue: Redis streams with a consumer group, XAUTOCLAIM for jobs
 * left pending by dead workers, a delayed sorted set for retries and a dead-letter stream.
 * Synchronous hiredis with a socket timeout on every command; one reconnect per call. */
#include "common/queue.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/config.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/queue_internal.h"
#include "common/redisaddr.h"
#include "common/seal.h"

#define BRO_QUEUE_PROMOTE_EVERY_MS 200 /* how often due delayed jobs are moved back */
#define BRO_QUEUE_PROMOTE_BATCH    100 /* delayed jobs moved per queue per pass */
#define BRO_QUEUE_BACKOFF_CAP_MS   60000

struct bro_queue {
    redisContext *redis; /* NULL while disconnected */
    bro_redis_addr addr; /* BROBYGGER_REDIS: the server, or sentinels asked at each connect */
    char consumer[128];  /* our name within the group */
    char queues[BRO_QUEUE_MAX][BRO_QUEUE_NAME_MAX];      /* queues served */
    char streams[BRO_QUEUE_MAX][BRO_QUEUE_NAME_MAX + 8]; /* "bro:q:<queue>" */
    int nqueues;                                         /* entries used above */
    bro_queue_opts opts;                                 /* timings */
    int64_t last_promote_ms;                             /* last delayed->stream pass */
    int64_t last_reclaim_ms;                             /* last XAUTOCLAIM pass */
    bro_seal_key seal;                                   /* dead-letter key, if has_seal */
    int has_seal;                                        /* 1: dead letters keep sealed bodies */
    int has_audit_group;                                 /* 1: group "audit" known to exist */
    long long reconnects; /* connections made after the first (bro_queue_reconnects) */
    int connected_once;   /* 1 once a connection was made */
};

/* Moves due members of a delayed set onto the stream, atomically per member. */
static const char *bro_queue_promote_lua =
    "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])\n"
    "for _, m in ipairs(due) do\n"
    "  if redis.call('ZREM', KEYS[1], m) == 1 then\n"
    "    redis.call('XADD', KEYS[2], '*', 'e', m)\n"
    "  end\n"
    "end\n"
    "return #due\n";

const char *bro_queue_stream_key(const char *queue, char *buf, size_t n)
{
    snprintf(buf, n, "bro:q:%s", queue);
    return buf;
}

static void bro_queue_timeout(bro_queue *q, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (q->redis)
        redisSetTimeout(q->redis, tv);
}

static void bro_queue_disconnect(bro_queue *q)
{
    if (q->redis) {
        redisFree(q->redis);
        q->redis = NULL;
    }
}

/* Makes sure a live connection exists. */
static int bro_queue_connect(bro_queue *q, bro_err *err)
{
    if (q->redis && q->redis->err == 0)
        return 0;
    bro_queue_disconnect(q);
    struct timeval tv = {q->opts.command_ms / 1000, (q->opts.command_ms % 1000) * 1000};
    /* After a failover the sentinels name the new master: asked before every connect. */
    if (bro_redis_addr_resolve(&q->addr, q->opts.command_ms < 500 ? q->opts.command_ms : 500, err) <
        0)
        return -1;
    q->redis = redisConnectWithTimeout(q->addr.host, q->addr.port, tv);
    if (q->redis == NULL)
        return bro_err_set(err, BRO_E_NOMEM, "redis: cannot allocate context");
    if (q->redis->err) {
        bro_err_set(err, BRO_E_UNAVAILABLE, "redis %s:%d: %s", q->addr.host, q->addr.port,
                    q->redis->errstr);
        bro_queue_disconnect(q);
        return -1;
    }
    bro_queue_timeout(q, q->opts.command_ms);
    if (q->connected_once)
        __atomic_add_fetch(&q->reconnects, 1, __ATOMIC_RELAXED);
    q->connected_once = 1;
    if (q->addr.db != 0) {
        redisReply *r = redisCommand(q->redis, "SELECT %d", q->addr.db);
        int bad = r == NULL || r->type == REDIS_REPLY_ERROR;
        if (r)
            freeReplyObject(r);
        if (bad) {
            bro_queue_disconnect(q);
            return bro_err_set(err, BRO_E_UNAVAILABLE, "redis: SELECT %d failed", q->addr.db);
        }
    }
    return 0;
}

/* 1 for the error a master turned replica answers writes with (a failover happened): the
 * connection is dropped so the next one asks the sentinels again. */
static int bro_queue_demoted(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "READONLY", 8) == 0;
}

/* Runs one command; a NULL reply (transport failure) drops the connection so the next call
 * reconnects. A Redis error reply is returned to the caller as a reply, not as NULL. */
static redisReply *bro_queue_cmd(bro_queue *q, int argc, const char **argv, const size_t *lens,
                                 bro_err *err)
{
    if (bro_queue_connect(q, err) < 0)
        return NULL;
    redisReply *r = redisCommandArgv(q->redis, argc, argv, lens);
    if (r == NULL) {
        bro_err_set(err, BRO_E_UNAVAILABLE, "redis: %s", q->redis->errstr);
        bro_queue_disconnect(q);
    } else if (bro_queue_demoted(r)) {
        bro_queue_disconnect(q); /* the reply says why; the next call finds the new master */
    }
    return r;
}

redisReply *bro_queue_cmd_(bro_queue *q, int argc, const char **argv, const size_t *lens,
                           bro_err *err)
{
    return bro_queue_cmd(q, argc, argv, lens, err);
}

const bro_seal_key *bro_queue_seal_(const bro_queue *q)
{
    return q->has_seal ? &q->seal : NULL;
}

long long bro_queue_reconnects(const bro_queue *q)
{
    return q ? __atomic_load_n(&q->reconnects, __ATOMIC_RELAXED) : 0;
}

static int bro_queue_reply_ok(redisReply *r, const char *what, bro_err *err)
{
    if (r->type == REDIS_REPLY_ERROR) {
        bro_err_set(err, BRO_E_REDIS, "redis %s: %.80s", what, r->str);
        freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

/* For a reply of an unexpected type: frees r and fails with Redis's error text, or with "odd
 * reply" when Redis answered something else than an error. */
static int bro_queue_reply_odd(redisReply *r, const char *what, bro_err *err)
{
    if (bro_queue_reply_ok(r, what, err) < 0)
        return -1;
    return bro_err_set(err, BRO_E_REDIS, "redis %s: odd reply", what);
}

static int bro_queue_create_group_named(bro_queue *q, const char *stream, const char *group,
                                        bro_err *err)
{
    const char *argv[] = {"XGROUP", "CREATE", stream, group, "0", "MKSTREAM"};
    redisReply *r = bro_queue_cmd(q, 6, argv, NULL, err);
    if (r == NULL)
        return -1;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) == 0) {
        freeReplyObject(r);
        return 0;
    }
    return bro_queue_reply_ok(r, "XGROUP CREATE", err);
}

static int bro_queue_create_group(bro_queue *q, const char *stream, bro_err *err)
{
    return bro_queue_create_group_named(q, stream, BRO_QUEUE_GROUP, err);
}

bro_queue *bro_queue_open(const char *redis_url, const char *consumer, const char *const *queues,
                          int nqueues, const bro_queue_opts *opts, bro_err *err)
{
    if (nqueues < 0 || nqueues > BRO_QUEUE_MAX) {
        bro_err_set(err, BRO_E_CONFIG, "at most %d queues", BRO_QUEUE_MAX);
        return NULL;
    }
    bro_queue *q = calloc(1, sizeof(*q));
    if (q == NULL) {
        bro_err_set(err, BRO_E_NOMEM, "out of memory");
        return NULL;
    }
    q->opts = *opts;
    if (opts->seal_key) {
        q->seal = *opts->seal_key;
        q->has_seal = 1;
    }
    q->opts.seal_key = NULL; /* the copy above is the one used */
    if (q->opts.command_ms <= 0)
        q->opts.command_ms = 2000;
    if (bro_redis_addr_parse(redis_url, &q->addr, err) < 0)
        goto fail;
    snprintf(q->consumer, sizeof(q->consumer), "%s", consumer);
    for (int i = 0; i < nqueues; i++) {
        if (strlen(queues[i]) == 0 || strlen(queues[i]) >= BRO_QUEUE_NAME_MAX) {
            bro_err_set(err, BRO_E_CONFIG, "bad queue name");
            goto fail;
        }
        snprintf(q->queues[i], sizeof(q->queues[i]), "%s", queues[i]);
        bro_queue_stream_key(queues[i], q->streams[i], sizeof(q->streams[i]));
    }
    q->nqueues = nqueues;
    for (int i = 0; i < nqueues; i++)
        if (bro_queue_create_group(q, q->streams[i], err) < 0)
            goto fail;
    return q;
fail:
    bro_queue_free(q);
    return NULL;
}

void bro_queue_free(bro_queue *q)
{
    if (q == NULL)
        return;
    bro_queue_disconnect(q);
    bro_seal_key_wipe(&q->seal);
    free(q);
}

int bro_queue_enqueue(bro_queue *q, const char *queue, const char *data, size_t len, bro_err *err)
{
    char stream[BRO_QUEUE_NAME_MAX + 8];
    bro_queue_stream_key(queue, stream, sizeof(stream));
    const char *argv[] = {"XADD", stream, "*", BRO_QUEUE_FIELD, data};
    size_t lens[] = {4, strlen(stream), 1, 1, len};
    redisReply *r = bro_queue_cmd(q, 5, argv, lens, err);
    if (r == NULL)
        return -1;
    return bro_queue_reply_ok(r, "XADD", err);
}

/* ---- reading ------------------------------------------------------------------------------- */

static int bro_queue_queue_index(bro_queue *q, const char *stream, size_t len)
{
    for (int i = 0; i < q->nqueues; i++)
        if (strlen(q->streams[i]) == len && memcmp(q->streams[i], stream, len) == 0)
            return i;
    return -1;
}

/* Copies one stream entry [id, [field, value, ...]] into m. A deleted entry (nil fields) or an
 * entry without the "e" field yields data NULL and len 0: it is still owned by us and must be
 * dead-lettered so it does not sit pending for ever. */
static int bro_queue_take_entry(bro_queue *q, int qi, const redisReply *entry, int deliveries,
                                bro_queue_msg *m, bro_err *err)
{
    memset(m, 0, sizeof(*m));
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING)
        return bro_err_set(err, BRO_E_REDIS, "redis: unexpected stream entry shape");
    snprintf(m->queue, sizeof(m->queue), "%s", q->queues[qi]);
    snprintf(m->stream_id, sizeof(m->stream_id), "%s", entry->element[0]->str);
    m->deliveries = deliveries;
    const redisReply *fields = entry->element[1];
    if (fields->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *f = fields->element[i], *v = fields->element[i + 1];
        if (f->type == REDIS_REPLY_STRING && strcmp(f->str, BRO_QUEUE_FIELD) == 0 &&
            v->type == REDIS_REPLY_STRING) {
            m->data = malloc(v->len ? v->len : 1);
            if (m->data == NULL)
                return bro_err_set(err, BRO_E_NOMEM, "out of memory");
            memcpy(m->data, v->str, v->len);
            m->len = v->len;
            break;
        }
    }
    return 0;
}

/* How many times Redis has delivered an entry (XPENDING detail). 0 when unknown. */
static int bro_queue_delivery_count(bro_queue *q, const char *stream, const char *id)
{
    const char *argv[] = {"XPENDING", stream, BRO_QUEUE_GROUP, id, id, "1"};
    bro_err ignore;
    redisReply *r = bro_queue_cmd(q, 6, argv, NULL, &ignore);
    int n = 0;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 4 &&
        r->element[0]->element[3]->type == REDIS_REPLY_INTEGER)
        n = (int)r->element[0]->element[3]->integer;
    if (r)
        freeReplyObject(r);
    return n;
}

static int bro_queue_promote(bro_queue *q, bro_err *err)
{
    char now[24], batch[16], delayed[BRO_QUEUE_NAME_MAX + 16];
    snprintf(now, sizeof(now), "%lld", (long long)bro_ids_now_ms());
    snprintf(batch, sizeof(batch), "%d", BRO_QUEUE_PROMOTE_BATCH);
    for (int i = 0; i < q->nqueues; i++) {
        snprintf(delayed, sizeof(delayed), "bro:delayed:%s", q->queues[i]);
        const char *argv[] = {"EVAL", bro_queue_promote_lua, "2", delayed, q->streams[i], now,
                              batch};
        redisReply *r = bro_queue_cmd(q, 7, argv, NULL, err);
        if (r == NULL || bro_queue_reply_ok(r, "promote", err) < 0)
            return -1;
    }
    return 0;
}

/* XAUTOCLAIM entries idle past the visibility timeout into this consumer. */
static int bro_queue_reclaim(bro_queue *q, bro_queue_msg *msgs, int max, int *n, bro_err *err)
{
    char idle[24], count[16];
    snprintf(idle, sizeof(idle), "%d", q->opts.visibility_ms);
    for (int i = 0; i < q->nqueues && *n < max; i++) {
        snprintf(count, sizeof(count), "%d", max - *n);
        const char *argv[] = {"XAUTOCLAIM", q->streams[i], BRO_QUEUE_GROUP, q->consumer,
                              idle,         "0-0",         "COUNT",         count};
        redisReply *r = bro_queue_cmd(q, 8, argv, NULL, err);
        if (r == NULL)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            return bro_queue_reply_ok(r, "XAUTOCLAIM", err) < 0 ? -1 : 0;
        }
        const redisReply *entries = r->element[1];
        for (size_t j = 0; j < entries->elements && *n < max; j++) {
            const redisReply *e = entries->element[j];
            if (e->type != REDIS_REPLY_ARRAY || e->elements < 1)
                continue;
            int d = bro_queue_delivery_count(q, q->streams[i], e->element[0]->str);
            if (bro_queue_take_entry(q, i, e, d > 0 ? d : 2, &msgs[*n], err) < 0) {
                freeReplyObject(r);
                return -1;
            }
            bro_log_warn(NULL, "reclaimed job %s on %s after %d deliveries", msgs[*n].stream_id,
                         q->queues[i], msgs[*n].deliveries);
            (*n)++;
        }
        freeReplyObject(r);
    }
    return 0;
}

static int bro_queue_read_new(bro_queue *q, int block_ms, bro_queue_msg *msgs, int max, int *n,
                              bro_err *err)
{
    const char *argv[8 + 2 * BRO_QUEUE_MAX];
    char count[16], block[16];
    int argc = 0;
    snprintf(count, sizeof(count), "%d", max);
    snprintf(block, sizeof(block), "%d", block_ms);
    argv[argc++] = "XREADGROUP";
    argv[argc++] = "GROUP";
    argv[argc++] = BRO_QUEUE_GROUP;
    argv[argc++] = q->consumer;
    argv[argc++] = "COUNT";
    argv[argc++] = count;
    argv[argc++] = "BLOCK";
    argv[argc++] = block;
    argv[argc++] = "STREAMS";
    for (int i = 0; i < q->nqueues; i++)
        argv[argc++] = q->streams[i];
    for (int i = 0; i < q->nqueues; i++)
        argv[argc++] = ">";
    if (bro_queue_connect(q, err) < 0)
        return -1;
    bro_queue_timeout(q, q->opts.command_ms + block_ms);
    redisReply *r = bro_queue_cmd(q, argc, argv, NULL, err);
    bro_queue_timeout(q, q->opts.command_ms);
    if (r == NULL)
        return -1;
    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        return 0;
    }
    if (r->type != REDIS_REPLY_ARRAY)
        return bro_queue_reply_ok(r, "XREADGROUP", err) < 0 ? -1 : 0;
    int rc = 0;
    for (size_t s = 0; s < r->elements && rc == 0; s++) {
        const redisReply *sr = r->element[s];
        if (sr->type != REDIS_REPLY_ARRAY || sr->elements != 2)
            continue;
        int qi = bro_queue_queue_index(q, sr->element[0]->str, sr->element[0]->len);
        const redisReply *entries = sr->element[1];
        for (size_t j = 0; qi >= 0 && j < entries->elements && *n < max; j++) {
            if (bro_queue_take_entry(q, qi, entries->element[j], 1, &msgs[*n], err) < 0) {
                rc = -1;
                break;
            }
            (*n)++;
        }
    }
    freeReplyObject(r);
    return rc;
}

int bro_queue_read(bro_queue *q, int block_ms, bro_queue_msg *msgs, int max, int *n, bro_err *err)
{
    *n = 0;
    if (max > BRO_QUEUE_BATCH_MAX)
        max = BRO_QUEUE_BATCH_MAX;
    int64_t now = bro_ids_now_ms();
    if (!q->opts.no_promote && now - q->last_promote_ms >= BRO_QUEUE_PROMOTE_EVERY_MS) {
        if (bro_queue_promote(q, err) < 0)
            return -1;
        q->last_promote_ms = now;
    }
    int reclaim_every = q->opts.visibility_ms / 4;
    if (reclaim_every > 1000)
        reclaim_every = 1000;
    if (now - q->last_reclaim_ms >= reclaim_every) {
        if (bro_queue_reclaim(q, msgs, max, n, err) < 0)
            goto fail;
        q->last_reclaim_ms = now;
        if (*n > 0)
            return 0;
    }
    /* Wake at least at every promote/reclaim tick so delayed and stale jobs are not starved. */
    if (block_ms > reclaim_every)
        block_ms = reclaim_every > 0 ? reclaim_every : 1;
    if (bro_queue_read_new(q, block_ms, msgs, max, n, err) < 0)
        goto fail;
    return 0;
fail:
    for (int i = 0; i < *n; i++)
        bro_queue_msg_clear(&msgs[i]);
    *n = 0;
    return -1;
}

/* ---- finishing a message ------------------------------------------------------------------- */

/* Runs MULTI, the appended commands, EXEC, and checks that EXEC succeeded. */
static int bro_queue_transaction(bro_queue *q, int ncmds, const char ***argvs, const int *argcs,
                                 const size_t **lens, const char *what, bro_err *err)
{
    if (bro_queue_connect(q, err) < 0)
        return -1;
    redisAppendCommand(q->redis, "MULTI");
    for (int i = 0; i < ncmds; i++)
        redisAppendCommandArgv(q->redis, argcs[i], argvs[i], lens[i]);
    redisAppendCommand(q->redis, "EXEC");
    int rc = 0;
    for (int i = 0; i < ncmds + 2; i++) {
        redisReply *r = NULL;
        if (redisGetReply(q->redis, (void **)&r) != REDIS_OK || r == NULL) {
            bro_err_set(err, BRO_E_UNAVAILABLE, "redis %s: %s", what, q->redis->errstr);
            bro_queue_disconnect(q);
            return -1;
        }
        if (i == ncmds + 1 && r->type != REDIS_REPLY_ARRAY)
            rc = bro_err_set(err, BRO_E_REDIS, "redis %s: transaction aborted", what);
        if (bro_queue_demoted(r)) {
            rc = bro_err_set(err, BRO_E_UNAVAILABLE, "redis %s: %.60s", what, r->str);
            freeReplyObject(r);
            bro_queue_disconnect(q);
            return rc;
        }
        freeReplyObject(r);
    }
    return rc;
}

int bro_queue_ack(bro_queue *q, const bro_queue_msg *m, bro_err *err)
{
    char stream[BRO_QUEUE_NAME_MAX + 8];
    bro_queue_stream_key(m->queue, stream, sizeof(stream));
    const char *ack[] = {"XACK", stream, BRO_QUEUE_GROUP, m->stream_id};
    const char *del[] = {"XDEL", stream, m->stream_id};
    const char **argvs[] = {ack, del};
    int argcs[] = {4, 3};
    const size_t *lens[] = {NULL, NULL};
    return bro_queue_transaction(q, 2, argvs, argcs, lens, "ack", err);
}

int bro_queue_ack_many(bro_queue *q, const bro_queue_msg *msgs, int n, bro_err *err)
{
    if (n <= 0)
        return 0;
    char streams[BRO_QUEUE_MAX][BRO_QUEUE_NAME_MAX + 8];
    const char **argvs[2 * BRO_QUEUE_MAX];
    int argcs[2 * BRO_QUEUE_MAX], ncmds = 0, rc = -1;
    const size_t *lens[2 * BRO_QUEUE_MAX] = {0};
    const char **all = malloc(sizeof(char *) * (size_t)(2 * q->nqueues * (n + 4)));
    if (all == NULL)
        return bro_err_set(err, BRO_E_NOMEM, "out of memory");
    const char **next = all;
    for (int i = 0; i < q->nqueues; i++) {
        const char **ack = next, **del = next + n + 4;
        int nids = 0;
        for (int j = 0; j < n; j++)
            if (strcmp(msgs[j].queue, q->queues[i]) == 0)
                ack[3 + nids] = del[2 + nids] = msgs[j].stream_id, nids++;
        if (nids == 0)
            continue;
        bro_queue_stream_key(q->queues[i], streams[i], sizeof(streams[i]));
        ack[0] = "XACK", ack[1] = streams[i], ack[2] = BRO_QUEUE_GROUP;
        del[0] = "XDEL", del[1] = streams[i];
        argvs[ncmds] = ack, argcs[ncmds++] = 3 + nids;
        argvs[ncmds] = del, argcs[ncmds++] = 2 + nids;
        next += 2 * (n + 4);
    }
    rc = ncmds ? bro_queue_transaction(q, ncmds, argvs, argcs, lens, "ack", err) : 0;
    free(all);
    return rc;
}

int bro_queue_touch(bro_queue *q, const bro_queue_msg *m, bro_err *err)
{
    char stream[BRO_QUEUE_NAME_MAX + 8];
    bro_queue_stream_key(m->queue, stream, sizeof(stream));
    const char *argv[] = {"XCLAIM", stream,       BRO_QUEUE_GROUP, q->consumer,
                          "0",      m->stream_id, "JUSTID"};
    redisReply *r = bro_queue_cmd(q, 7, argv, NULL, err);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

int bro_queue_retry(bro_queue *q, const bro_queue_msg *m, const char *data, size_t len,
                    int64_t delay_ms, bro_err *err)
{
    char stream[BRO_QUEUE_NAME_MAX + 8], delayed[BRO_QUEUE_NAME_MAX + 16], due[24];
    bro_queue_stream_key(m->queue, stream, sizeof(stream));
    snprintf(delayed, sizeof(delayed), "bro:delayed:%s", m->queue);
    snprintf(due, sizeof(due), "%lld", (long long)(bro_ids_now_ms() + delay_ms));
    const char *add[] = {"ZADD", delayed, due, data};
    size_t addlen[] = {4, strlen(delayed), strlen(due), len};
    const char *ack[] = {"XACK", stream, BRO_QUEUE_GROUP, m->stream_id};
    const char *del[] = {"XDEL", stream, m->stream_id};
    const char **argvs[] = {add, ack, del};
    int argcs[] = {4, 4, 3};
    const size_t *lens[] = {addlen, NULL, NULL};
    return bro_queue_transaction(q, 3, argvs, argcs, lens, "retry", err);
}

const char *bro_queue_dead_aad(const char *queue, const char *tenant, const char *job, char *buf,
                               size_t n)
{
    snprintf(buf, n, "%s|%s|%s", queue, tenant, job);
    return buf;
}

/* The fields of a dead letter, built up as argv for XADD. */
typedef struct bro_queue_dead_args {
    const char *argv[32]; /* XADD key * field value ... */
    size_t lens[32];      /* lengths, so the sealed body may hold any byte */
    int argc;             /* entries used */
} bro_queue_dead_args;

static void bro_queue_dead_field(bro_queue_dead_args *a, const char *name, const char *value,
                                 size_t len)
{
    a->argv[a->argc] = name;
    a->lens[a->argc++] = strlen(name);
    a->argv[a->argc] = value;
    a->lens[a->argc++] = len;
}

/* Seals m's envelope for a dead letter of a decodable job. *sealed is NULL when no key is set. */
static int bro_queue_dead_seal(bro_queue *q, const bro_queue_msg *m,
                               const bro_queue_dead_info *info, unsigned char **sealed, size_t *len,
                               bro_err *err)
{
    *sealed = NULL;
    *len = 0;
    if (!q->has_seal || info == NULL || m->data == NULL)
        return 0;
    char aad[BRO_QUEUE_NAME_MAX + 160];
    bro_queue_dead_aad(m->queue, info->tenant, info->job, aad, sizeof(aad));
    return bro_seal(&q->seal, aad, strlen(aad), m->data, m->len, sealed, len, err);
}

int bro_queue_dead(bro_queue *q, const bro_queue_msg *m, const bro_queue_dead_info *info,
                   int attempts, const char *reason, bro_err *err)
{
    char stream[BRO_QUEUE_NAME_MAX + 8], dead[BRO_QUEUE_NAME_MAX + 16], at[24], tries[16], size[24];
    bro_queue_stream_key(m->queue, stream, sizeof(stream));
    snprintf(dead, sizeof(dead), "bro:dead:%s", m->queue);
    snprintf(at, sizeof(at), "%lld", (long long)bro_ids_now_ms());
    snprintf(tries, sizeof(tries), "%d", attempts);
    snprintf(size, sizeof(size), "%zu", m->data ? m->len : (size_t)0);
    unsigned char *sealed = NULL;
    size_t sealed_len = 0;
    if (bro_queue_dead_seal(q, m, info, &sealed, &sealed_len, err) < 0) {
        /* Better a dead letter without its body than a message pending for ever. */
        bro_log_warn(NULL, "dead letter of %s kept without its body: %s", m->stream_id, err->msg);
        bro_err_clear(err);
    }
    bro_queue_dead_args a = {{"XADD", dead, "*"}, {4, strlen(dead), 1}, 3};
    bro_queue_dead_field(&a, "queue", m->queue, strlen(m->queue));
    if (info) {
        bro_queue_dead_field(&a, "kind", info->kind, strlen(info->kind));
        bro_queue_dead_field(&a, "tenant", info->tenant, strlen(info->tenant));
        bro_queue_dead_field(&a, "job", info->job, strlen(info->job));
        bro_queue_dead_field(&a, "req", info->req, strlen(info->req));
    }
    bro_queue_dead_field(&a, "error", reason, strlen(reason));
    bro_queue_dead_field(&a, "attempts", tries, strlen(tries));
    bro_queue_dead_field(&a, "size", size, strlen(size));
    bro_queue_dead_field(&a, "at", at, strlen(at));
    bro_queue_dead_field(&a, "stream_id", m->stream_id, strlen(m->stream_id));
    if (sealed) {
        bro_queue_dead_field(&a, "sealed", (const char *)sealed, sealed_len);
        bro_queue_dead_field(&a, "key", q->seal.id, strlen(q->seal.id));
    }
    const char *ack[] = {"XACK", stream, BRO_QUEUE_GROUP, m->stream_id};
    const char *del[] = {"XDEL", stream, m->stream_id};
    const char **argvs[] = {a.argv, ack, del};
    int argcs[] = {a.argc, 4, 3};
    const size_t *lens[] = {a.lens, NULL, NULL};
    int rc = bro_queue_transaction(q, 3, argvs, argcs, lens, "dead-letter", err);
    free(sealed);
    return rc;
}

int bro_queue_finish(bro_queue *q, const bro_queue_msg *m, const char *channel, const char *reply,
                     size_t reply_len, const char *audit, size_t audit_len, bro_err *err)
{
    char stream[BRO_QUEUE_NAME_MAX + 8];
    bro_queue_stream_key(m->queue, stream, sizeof(stream));
    const char *add[] = {"XADD", BRO_QUEUE_AUDIT_STREAM, "*", BRO_QUEUE_FIELD, audit};
    size_t addlen[] = {4, strlen(BRO_QUEUE_AUDIT_STREAM), 1, 1, audit_len};
    const char *pub[] = {"PUBLISH", channel, reply};
    size_t publen[] = {7, strlen(channel), reply_len};
    const char *ack[] = {"XACK", stream, BRO_QUEUE_GROUP, m->stream_id};
    const char *del[] = {"XDEL", stream, m->stream_id};
    const char **argvs[4];
    int argcs[4], n = 0;
    const size_t *lens[4];
    if (audit_len > 0) {
        argvs[n] = add, argcs[n] = 5, lens[n++] = addlen;
    }
    if (channel[0] != '\0') {
        argvs[n] = pub, argcs[n] = 3, lens[n++] = publen;
    }
    argvs[n] = ack, argcs[n] = 4, lens[n++] = NULL;
    argvs[n] = del, argcs[n] = 3, lens[n++] = NULL;
    return bro_queue_transaction(q, n, argvs, argcs, lens, "finish", err);
}

/* The records of an XREADGROUP or XAUTOCLAIM entry list into msgs (queue "audit"). */
static int bro_queue_audit_entries(const redisReply *entries, bro_queue_msg *msgs, int max, int *n,
                                   bro_err *err)
{
    for (size_t j = 0; entries->type == REDIS_REPLY_ARRAY && j < entries->elements && *n < max;
         j++) {
        const redisReply *e = entries->element[j];
        bro_queue_msg *m = &msgs[*n];
        memset(m, 0, sizeof(*m));
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
            e->element[0]->type != REDIS_REPLY_STRING)
            continue;
        snprintf(m->queue, sizeof(m->queue), "audit");
        snprintf(m->stream_id, sizeof(m->stream_id), "%s", e->element[0]->str);
        const redisReply *f = e->element[1];
        if (f->type == REDIS_REPLY_ARRAY && f->elements >= 2 &&
            f->element[1]->type == REDIS_REPLY_STRING) {
            if ((m->data = malloc(f->element[1]->len + 1)) == NULL)
                return bro_err_set(err, BRO_E_NOMEM, "out of memory");
            memcpy(m->data, f->element[1]->str, f->element[1]->len);
            m->len = f->element[1]->len;
        }
        (*n)++;
    }
    return 0;
}

/* XAUTOCLAIM (reclaim_ms > 0) or XREADGROUP of the audit stream, appended to msgs. */
static int bro_queue_audit_fetch(bro_queue *q, int reclaim_ms, bro_queue_msg *msgs, int max, int *n,
                                 bro_err *err)
{
    char count[16], idle[16];
    snprintf(count, sizeof(count), "%d", max - *n);
    snprintf(idle, sizeof(idle), "%d", reclaim_ms);
    const char *claim[] = {"XAUTOCLAIM",
                           BRO_QUEUE_AUDIT_STREAM,
                           BRO_QUEUE_AUDIT_GROUP,
                           q->consumer,
                           idle,
                           "0-0",
                           "COUNT",
                           count};
    const char *read[] = {"XREADGROUP", "GROUP",   BRO_QUEUE_AUDIT_GROUP,  q->consumer, "COUNT",
                          count,        "STREAMS", BRO_QUEUE_AUDIT_STREAM, ">"};
    redisReply *r = reclaim_ms > 0 ? bro_queue_cmd(q, 8, claim, NULL, err)
                                   : bro_queue_cmd(q, 9, read, NULL, err);
    if (r == NULL)
        return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR)
        rc = bro_queue_reply_odd(r, "audit take", err), r = NULL;
    else if (reclaim_ms > 0 && r->type == REDIS_REPLY_ARRAY && r->elements >= 2)
        rc = bro_queue_audit_entries(r->element[1], msgs, max, n, err);
    else if (reclaim_ms == 0 && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
             r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2)
        rc = bro_queue_audit_entries(r->element[0]->element[1], msgs, max, n, err);
    if (r)
        freeReplyObject(r);
    return rc;
}

int bro_queue_audit_take(bro_queue *q, int reclaim_ms, bro_queue_msg *msgs, int max, int *n,
                         bro_err *err)
{
    *n = 0;
    if (!q->has_audit_group &&
        bro_queue_create_group_named(q, BRO_QUEUE_AUDIT_STREAM, BRO_QUEUE_AUDIT_GROUP, err) < 0)
        return -1;
    q->has_audit_group = 1;
    int rc = bro_queue_audit_fetch(q, reclaim_ms > 0 ? reclaim_ms : 1, msgs, max, n, err);
    if (rc == 0 && *n == 0)
        rc = bro_queue_audit_fetch(q, 0, msgs, max, n, err);
    if (rc < 0) {
        for (int i = 0; i < *n; i++)
            bro_queue_msg_clear(&msgs[i]);
        *n = 0;
        q->has_audit_group = 0; /* NOGROUP after a flush, say: create it again next time */
    }
    return rc;
}

int bro_queue_audit_done(bro_queue *q, const char *const *stream_ids, int n, bro_err *err)
{
    if (n <= 0)
        return 0;
    const char **ack = malloc(sizeof(char *) * (size_t)(n + 3));
    const char **del = malloc(sizeof(char *) * (size_t)(n + 2));
    int rc = -1;
    if (ack == NULL || del == NULL) {
        bro_err_set(err, BRO_E_NOMEM, "out of memory");
        goto out;
    }
    ack[0] = "XACK", ack[1] = BRO_QUEUE_AUDIT_STREAM, ack[2] = BRO_QUEUE_AUDIT_GROUP;
    del[0] = "XDEL", del[1] = BRO_QUEUE_AUDIT_STREAM;
    for (int i = 0; i < n; i++)
        ack[3 + i] = del[2 + i] = stream_ids[i];
    const char **argvs[] = {ack, del};
    int argcs[] = {n + 3, n + 2};
    const size_t *lens[] = {NULL, NULL};
    rc = bro_queue_transaction(q, 2, argvs, argcs, lens, "audit done", err);
out:
    free(ack);
    free(del);
    return rc;
}

static int bro_queue_eval_int(bro_queue *q, int argc, const char **argv, long long *out,
                              const char *what, bro_err *err);

/* KEYS[1] the audit stream. ARGV: group, consumer. Deletes the consumer if nothing is pending. */
static const char *bro_queue_audit_leave_lua =
    "local ok, p = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])\n"
    "if ok and #p == 0 then redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2]) end\n"
    "return 0\n";

int bro_queue_audit_leave(bro_queue *q, bro_err *err)
{
    const char *argv[] = {
        "EVAL",     bro_queue_audit_leave_lua, "1", BRO_QUEUE_AUDIT_STREAM, BRO_QUEUE_AUDIT_GROUP,
        q->consumer};
    long long n = 0;
    return bro_queue_eval_int(q, 6, argv, &n, "audit leave", err);
}

/* KEYS[1] a hash; ARGV field, delta, field, delta, ... */
static const char *bro_queue_counts_lua = "for i = 1, #ARGV, 2 do\n"
                                          "  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])\n"
                                          "end\n"
                                          "return 0\n";

int bro_queue_add_counts(bro_queue *q, const char *key, int n, const char *const *fields,
                         const long long *deltas, bro_err *err)
{
    if (n <= 0)
        return 0;
    const char **argv = calloc((size_t)(4 + 2 * n), sizeof(*argv));
    char(*nums)[24] = calloc((size_t)n, sizeof(*nums));
    int rc = -1;
    if (argv == NULL || nums == NULL) {
        bro_err_set(err, BRO_E_NOMEM, "out of memory");
        goto out;
    }
    argv[0] = "EVAL", argv[1] = bro_queue_counts_lua, argv[2] = "1", argv[3] = key;
    for (int i = 0; i < n; i++) {
        snprintf(nums[i], sizeof(nums[i]), "%lld", deltas[i]);
        argv[4 + 2 * i] = fields[i];
        argv[5 + 2 * i] = nums[i];
    }
    long long ignored = 0;
    rc = bro_queue_eval_int(q, 4 + 2 * n, argv, &ignored, "counts", err);
out:
    free(argv);
    free(nums);
    return rc;
}

int bro_queue_publish(bro_queue *q, const char *channel, const char *data, size_t len, bro_err *err)
{
    const char *argv[] = {"PUBLISH", channel, data};
    size_t lens[] = {7, strlen(channel), len};
    redisReply *r = bro_queue_cmd(q, 3, argv, lens, err);
    if (r == NULL)
        return -1;
    return bro_queue_reply_ok(r, "PUBLISH", err);
}

int bro_queue_heartbeat(bro_queue *q, const char *info, int ttl_ms, bro_err *err)
{
    char key[160], ttl[16], now[24], stale[24];
    int64_t t = bro_ids_now_ms();
    snprintf(key, sizeof(key), "bro:worker:%s", q->consumer);
    snprintf(ttl, sizeof(ttl), "%d", ttl_ms);
    snprintf(now, sizeof(now), "%lld", (long long)t);
    snprintf(stale, sizeof(stale), "%lld", (long long)(t - 3600000));
    const char *set[] = {"SET", key, info, "PX", ttl};
    const char *add[] = {"ZADD", "bro:workers", now, q->consumer};
    const char *trim[] = {"ZREMRANGEBYSCORE", "bro:workers", "-inf", stale};
    const char **argvs[] = {set, add, trim};
    int argcs[] = {5, 4, 4};
    const size_t *lens[] = {NULL, NULL, NULL};
    return bro_queue_transaction(q, 3, argvs, argcs, lens, "heartbeat", err);
}

/* ---- leaving, tidying, the append-only file ------------------------------------------------ */

/* KEYS: the streams served, then the heartbeat key and bro:workers. ARGV: group, consumer, idle
 * (ms). Hands back what is pending (XCLAIM to itself with IDLE: eligible for XAUTOCLAIM at once,
 * JUSTID: no delivery counted), deletes the consumer where nothing is pending, drops the
 * heartbeat. Returns the number handed back. */
static const char *bro_queue_leave_lua =
    "local n, kept = #KEYS - 2, 0\n"
    "for i = 1, n do\n"
    "  local p = redis.call('XPENDING', KEYS[i], ARGV[1], '-', '+', 1000, ARGV[2])\n"
    "  for _, e in ipairs(p) do\n"
    "    redis.call('XCLAIM', KEYS[i], ARGV[1], ARGV[2], 0, e[1], 'IDLE', ARGV[3], 'JUSTID')\n"
    "    kept = kept + 1\n"
    "  end\n"
    "  if #p == 0 then redis.call('XGROUP', 'DELCONSUMER', KEYS[i], ARGV[1], ARGV[2]) end\n"
    "end\n"
    "redis.call('DEL', KEYS[n + 1])\n"
    "redis.call('ZREM', KEYS[n + 2], ARGV[2])\n"
    "return kept\n";

/* KEYS: the streams served. ARGV: group, heartbeat key prefix. Deletes consumers that have
 * nothing pending and no heartbeat; the check and the delete are one atomic step, so an entry
 * taken meanwhile cannot be dropped. Returns the number deleted. */
static const char *bro_queue_tidy_lua =
    "local removed = 0\n"
    "for _, s in ipairs(KEYS) do\n"
    "  local ok, consumers = pcall(redis.call, 'XINFO', 'CONSUMERS', s, ARGV[1])\n"
    "  if ok then for _, c in ipairs(consumers) do\n"
    "    local name, pending\n"
    "    for i = 1, #c, 2 do\n"
    "      if c[i] == 'name' then name = c[i + 1] elseif c[i] == 'pending' then pending = c[i + 1] "
    "end\n"
    "    end\n"
    "    if name and pending == 0 and redis.call('EXISTS', ARGV[2] .. name) == 0 then\n"
    "      redis.call('XGROUP', 'DELCONSUMER', s, ARGV[1], name)\n"
    "      removed = removed + 1\n"
    "    end\n"
    "  end end\n"
    "end\n"
    "return removed\n";

/* KEYS[1] bro:aof:requested. Records Redis's time unless an earlier request waits. */
static const char *bro_queue_request_lua =
    "local t = redis.call('TIME')\n"
    "redis.call('SET', KEYS[1], t[1] * 1000 + math.floor(t[2] / 1000), 'NX')\n"
    "return 1\n";

/* KEYS[1] bro:aof:requested, KEYS[2] bro:aof:rewrite. ARGV: delay (ms), period (ms), owner.
 * Returns {what, request time}: 2 a due request taken, 1 the period's turn, 0 nothing. */
static const char *bro_queue_claim_lua =
    "local t = redis.call('TIME')\n"
    "local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "local req = redis.call('GET', KEYS[1])\n"
    "local period = tonumber(ARGV[2])\n"
    "if req and tonumber(req) + tonumber(ARGV[1]) <= now then\n"
    "  redis.call('DEL', KEYS[1])\n"
    "  if period > 0 then redis.call('SET', KEYS[2], ARGV[3], 'PX', period) end\n"
    "  return {2, req}\n"
    "end\n"
    "if period > 0 and redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', period) then\n"
    "  return {1, '0'}\n"
    "end\n"
    "return {0, '0'}\n";

/* Runs a script; *out gets its integer reply. */
static int bro_queue_eval_int(bro_queue *q, int argc, const char **argv, long long *out,
                              const char *what, bro_err *err)
{
    redisReply *r = bro_queue_cmd(q, argc, argv, NULL, err);
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_INTEGER)
        return bro_queue_reply_odd(r, what, err);
    *out = r->integer;
    freeReplyObject(r);
    return 0;
}

int bro_queue_leave(bro_queue *q, int *handed_back, bro_err *err)
{
    char heartbeat[160], nkeys[16], idle[24];
    const char *argv[3 + BRO_QUEUE_MAX + 2 + 3];
    int argc = 0;
    *handed_back = 0;
    snprintf(heartbeat, sizeof(heartbeat), "bro:worker:%s", q->consumer);
    snprintf(nkeys, sizeof(nkeys), "%d", q->nqueues + 2);
    snprintf(idle, sizeof(idle), "%d", q->opts.visibility_ms);
    argv[argc++] = "EVAL";
    argv[argc++] = bro_queue_leave_lua;
    argv[argc++] = nkeys;
    for (int i = 0; i < q->nqueues; i++)
        argv[argc++] = q->streams[i];
    argv[argc++] = heartbeat;
    argv[argc++] = "bro:workers";
    argv[argc++] = BRO_QUEUE_GROUP;
    argv[argc++] = q->consumer;
    argv[argc++] = idle;
    long long n = 0;
    if (bro_queue_eval_int(q, argc, argv, &n, "leave", err) < 0)
        return -1;
    *handed_back = (int)n;
    return 0;
}

int bro_queue_tidy(bro_queue *q, int *removed, bro_err *err)
{
    char nkeys[16];
    const char *argv[3 + BRO_QUEUE_MAX + 2];
    int argc = 0;
    *removed = 0;
    snprintf(nkeys, sizeof(nkeys), "%d", q->nqueues);
    argv[argc++] = "EVAL";
    argv[argc++] = bro_queue_tidy_lua;
    argv[argc++] = nkeys;
    for (int i = 0; i < q->nqueues; i++)
        argv[argc++] = q->streams[i];
    argv[argc++] = BRO_QUEUE_GROUP;
    argv[argc++] = "bro:worker:";
    long long n = 0;
    if (bro_queue_eval_int(q, argc, argv, &n, "tidy", err) < 0)
        return -1;
    *removed = (int)n;
    return 0;
}

int bro_queue_expire_dead(bro_queue *q, int64_t max_age_ms, bro_err *err)
{
    char dead[BRO_QUEUE_NAME_MAX + 16], minid[32];
    snprintf(minid, sizeof(minid), "%lld", (long long)(bro_ids_now_ms() - max_age_ms));
    for (int i = 0; i < q->nqueues; i++) {
        snprintf(dead, sizeof(dead), "bro:dead:%s", q->queues[i]);
        const char *argv[] = {"XTRIM", dead, "MINID", minid};
        redisReply *r = bro_queue_cmd(q, 4, argv, NULL, err);
        if (r == NULL || bro_queue_reply_ok(r, "XTRIM", err) < 0)
            return -1;
    }
    return 0;
}

int bro_queue_request_rewrite(bro_queue *q, bro_err *err)
{
    const char *argv[] = {"EVAL", bro_queue_request_lua, "1", "bro:aof:requested"};
    long long n = 0;
    return bro_queue_eval_int(q, 4, argv, &n, "rewrite request", err);
}

/* Sends BGREWRITEAOF. Returns 0 when Redis started or scheduled it, BRO_AGAIN when one is
 * already running, -1 on any other failure. */
static int bro_queue_bgrewrite(bro_queue *q, bro_err *err)
{
    const char *argv[] = {"BGREWRITEAOF"};
    redisReply *r = bro_queue_cmd(q, 1, argv, NULL, err);
    if (r == NULL)
        return -1;
    if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "already in progress")) {
        freeReplyObject(r);
        return BRO_AGAIN;
    }
    return bro_queue_reply_ok(r, "BGREWRITEAOF", err);
}

/* Puts a taken request back (unless a newer one was made meanwhile, which a later rewrite
 * serves as well). */
static void bro_queue_unclaim(bro_queue *q, const char *requested)
{
    const char *argv[] = {"SET", "bro:aof:requested", requested, "NX"};
    bro_err ignore;
    redisReply *r = bro_queue_cmd(q, 4, argv, NULL, &ignore);
    if (r)
        freeReplyObject(r);
}

int bro_queue_rewrite(bro_queue *q, int period_ms, int delay_ms, bro_queue_rewrite_kind *what,
                      bro_err *err)
{
    char delay[16], period[16], requested[32] = "";
    *what = BRO_QUEUE_REWRITE_NONE;
    snprintf(delay, sizeof(delay), "%d", delay_ms);
    snprintf(period, sizeof(period), "%d", period_ms);
    const char *argv[] = {
        "EVAL", bro_queue_claim_lua, "2", "bro:aof:requested", "bro:aof:rewrite", delay,
        period, q->consumer};
    redisReply *r = bro_queue_cmd(q, 8, argv, NULL, err);
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_STRING)
        return bro_queue_reply_odd(r, "rewrite claim", err);
    long long turn = r->element[0]->integer;
    snprintf(requested, sizeof(requested), "%s", r->element[1]->str);
    freeReplyObject(r);
    if (turn == 0)
        return 0;
    int rc = bro_queue_bgrewrite(q, err);
    if (rc < 0 || (rc == BRO_AGAIN && turn == 2)) {
        if (turn == 2) /* the request stays until a rewrite that surely began after it */
            bro_queue_unclaim(q, requested);
        if (rc == BRO_AGAIN)
            *what = BRO_QUEUE_REWRITE_BUSY;
        return rc < 0 ? -1 : 0;
    }
    if (rc == 0)
        *what = turn == 2 ? BRO_QUEUE_REWRITE_REQUESTED : BRO_QUEUE_REWRITE_PERIODIC;
    return 0;
}

/* The integer after "name:" in an INFO reply, or -1. */
static int bro_queue_info_int(const char *info, const char *name)
{
    const char *p = strstr(info, name);
    return p ? atoi(p + strlen(name)) : -1;
}

int bro_queue_rewrite_state(bro_queue *q, int *running, int *failed, int *preamble, bro_err *err)
{
    const char *argv[] = {"INFO", "persistence"};
    redisReply *r = bro_queue_cmd(q, 2, argv, NULL, err);
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_STRING)
        return bro_queue_reply_odd(r, "INFO", err);
    *running = bro_queue_info_int(r->str, "aof_rewrite_in_progress:") == 1 ||
               bro_queue_info_int(r->str, "aof_rewrite_scheduled:") == 1;
    *failed = strstr(r->str, "aof_last_bgrewrite_status:err") != NULL;
    freeReplyObject(r);
    /* CONFIG may be refused to this client (a managed Redis); then the answer is unknown. */
    const char *cfg[] = {"CONFIG", "GET", "aof-use-rdb-preamble"};
    bro_err ignore;
    r = bro_queue_cmd(q, 3, cfg, NULL, &ignore);
    *preamble = -1;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING)
        *preamble = strcmp(r->element[1]->str, "yes") == 0;
    if (r)
        freeReplyObject(r);
    return 0;
}

int64_t bro_queue_backoff_ms(int attempt, int base_ms)
{
    if (attempt < 1)
        attempt = 1;
    int64_t ceiling = base_ms;
    for (int i = 1; i < attempt && ceiling < BRO_QUEUE_BACKOFF_CAP_MS; i++)
        ceiling *= 2;
    if (ceiling > BRO_QUEUE_BACKOFF_CAP_MS)
        ceiling = BRO_QUEUE_BACKOFF_CAP_MS;
    int64_t floor = base_ms / 2;
    if (ceiling <= floor)
        return floor;
    return floor + (int64_t)arc4random_uniform((uint32_t)(ceiling - floor + 1));
}

void bro_queue_msg_clear(bro_queue_msg *m)
{
    free(m->data);
    memset(m, 0, sizeof(*m));
}
