/* The gateway's side of the job queue: envelopes posted on one asynchronous connection (through
 * the rate-limit script, or as a plain XADD when no limit applies), the replies on a second one
 * subscribed to this thread's channel, and the table of requests that wait, each with a
 * deadline timer. Every wait ends in exactly one call of the request's callback. A dropped
 * connection ends what depends on it and is re-established on a timer. */
#include "rpc.h"

#include <hiredis/adapters/libevent.h>
#include <stdlib.h>
#include <string.h>

#include "common/envelope.h"
#include "common/log.h"
#include "common/redisaddr.h"
#include "metrics.h"
#include "ratelimit.h"

#define BRO_RPC_RECONNECT_MS 500

static void bro_rpc_connect(bro_gw *gw);

#define BRO_RPC_SENTINEL_MS 200 /* connect and answer timeout of one sentinel */

static unsigned bro_rpc_bucket(const char *id)
{
    unsigned h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h & (BRO_GW_PENDING_BUCKETS - 1);
}

static void bro_rpc_unlink(bro_gw_req *r)
{
    if (!r->in_pending)
        return;
    bro_gw_req **pp = &r->gw->pending[bro_rpc_bucket(r->job_id)];
    while (*pp && *pp != r)
        pp = &(*pp)->next;
    if (*pp)
        *pp = r->next;
    r->next = NULL;
    r->in_pending = 0;
    r->gw->npending--;
}

static bro_gw_req *bro_rpc_find(bro_gw *gw, const char *id)
{
    for (bro_gw_req *r = gw->pending[bro_rpc_bucket(id)]; r; r = r->next)
        if (strcmp(r->job_id, id) == 0)
            return r;
    return NULL;
}

/* Stops waiting: out of the table, timer off. */
static void bro_rpc_stop_waiting(bro_gw_req *r)
{
    bro_rpc_unlink(r);
    if (r->timer_armed) {
        event_del(&r->timer);
        r->timer_armed = 0;
    }
}

/* Ends r's wait with res: the one call of its callback. The callback may start a new wait on r,
 * so nothing of the old one is touched after it. Does nothing when r is not waiting (the wait
 * ended already, e.g. by its deadline, and a late answer finds nobody). */
static void bro_rpc_finish(bro_gw_req *r, const bro_rpc_result *res)
{
    bro_rpc_done_fn done = r->done;
    if (done == NULL)
        return;
    r->done = NULL;
    bro_rpc_stop_waiting(r);
    done(r, res);
}

/* Ends r's wait for a reason other than an answer. */
static void bro_rpc_fail(bro_gw_req *r, int outcome, const char *why)
{
    bro_rpc_result res = {.outcome = outcome, .why = why};
    bro_rpc_finish(r, &res);
}

void bro_rpc_abandon(bro_gw_req *r)
{
    bro_rpc_fail(r, BRO_RPC_GONE, "the client went away");
    bro_gw_req_release(r);
}

static void bro_rpc_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    bro_gw_req *r = arg;
    r->timer_armed = 0;
    __atomic_add_fetch(&r->gw->metrics->timeouts, 1, __ATOMIC_RELAXED);
    bro_rpc_fail(r, BRO_RPC_TIMEOUT, "no worker answered in time");
    bro_gw_req_release(r);
}

/* Arms r's deadline timer unless it is armed already. */
static void bro_rpc_arm(bro_gw_req *r)
{
    if (r->timer_armed)
        return;
    int64_t left = r->deadline_ms - bro_ids_now_ms();
    if (left < 1)
        left = 1;
    struct timeval tv = {left / 1000, (left % 1000) * 1000};
    evtimer_assign(&r->timer, r->gw->base, bro_rpc_on_deadline, r);
    evtimer_add(&r->timer, &tv);
    r->timer_armed = 1;
}

static void bro_rpc_fail_all(bro_gw *gw, const char *why)
{
    for (int b = 0; b < BRO_GW_PENDING_BUCKETS; b++) {
        while (gw->pending[b]) {
            bro_gw_req *r = gw->pending[b];
            bro_rpc_stop_waiting(r);
            bro_rpc_fail(r, BRO_RPC_LOST, why);
            bro_gw_req_release(r);
        }
    }
}

/* ---- replies ------------------------------------------------------------------------------- */

static void bro_rpc_on_reply(bro_gw *gw, const char *data, size_t len)
{
    msgpack_unpacked holder;
    msgpack_unpacked_init(&holder);
    bro_reply reply;
    bro_err err = {0};
    if (bro_envelope_reply_decode(&reply, &holder, data, len, &err) < 0) {
        bro_log_warn(NULL, "undecodable reply dropped: %s", err.msg);
        goto out;
    }
    bro_gw_req *r = bro_rpc_find(gw, reply.id);
    if (r == NULL) { /* answered already (deadline) or the client left */
        bro_log_debug(NULL, "reply for %s has nobody waiting", reply.id);
        goto out;
    }
    bro_rpc_result res = {.outcome = BRO_RPC_REPLY,
                          .status = reply.status,
                          .is_error = reply.is_error,
                          .body = reply.body};
    bro_rpc_finish(r, &res);
    bro_gw_req_release(r);
out:
    msgpack_unpacked_destroy(&holder);
}

static void bro_rpc_on_message(redisAsyncContext *c, void *reply, void *privdata)
{
    bro_gw *gw = privdata;
    redisReply *m = reply;
    if (m == NULL || m->type != REDIS_REPLY_ARRAY || m->elements != 3 ||
        m->element[0]->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(m->element[0]->str, "subscribe") == 0) {
        gw->sub_ready = 1;
        return;
    }
    if (strcmp(m->element[0]->str, "message") == 0 && m->element[2]->type == REDIS_REPLY_STRING)
        bro_rpc_on_reply(gw, m->element[2]->str, m->element[2]->len);
}

/* ---- connections --------------------------------------------------------------------------- */

static void bro_rpc_on_reconnect(evutil_socket_t fd, short what, void *arg)
{
    bro_rpc_connect(arg);
}

static void bro_rpc_schedule_reconnect(bro_gw *gw)
{
    struct timeval tv = {0, BRO_RPC_RECONNECT_MS * 1000};
    if (!evtimer_pending(&gw->reconnect, NULL))
        evtimer_add(&gw->reconnect, &tv);
}

static void bro_rpc_on_disconnect(const redisAsyncContext *c, int status)
{
    bro_gw *gw = c->data;
    if (gw == NULL)
        return;
    if (c == gw->cmd) {
        gw->cmd = NULL;
    } else if (c == gw->sub) {
        gw->sub = NULL;
        gw->sub_ready = 0;
        /* Replies on the way are lost with the subscription: fail rather than wait. */
        bro_rpc_fail_all(gw, "lost the connection to the job queue");
    }
    if (status != REDIS_OK) {
        bro_log_warn(NULL, "redis connection lost: %s", c->errstr);
        __atomic_add_fetch(&gw->metrics->redis_lost, 1, __ATOMIC_RELAXED);
    }
    bro_rpc_schedule_reconnect(gw);
}

static void bro_rpc_on_connect(const redisAsyncContext *c, int status)
{
    bro_gw *gw = c->data;
    if (status == REDIS_OK)
        return;
    /* A failed connect is followed by no disconnect callback; hiredis frees the context. */
    if (c == gw->cmd)
        gw->cmd = NULL;
    if (c == gw->sub)
        gw->sub = NULL;
    bro_rpc_schedule_reconnect(gw);
}

/* With sentinels (common/redisaddr.h), the master they name now: asked before each connect, so
 * after a failover the new connections go to the new master. The question blocks this loop for
 * at most BRO_RPC_SENTINEL_MS per sentinel, and only while it has no connection anyway. */
static void bro_rpc_find_master(bro_gw *gw)
{
    bro_redis_addr a;
    bro_err err = {0};
    if (bro_redis_addr_parse(gw->cfg->redis, &a, &err) < 0 || a.nsentinels == 0)
        return;
    if (bro_redis_addr_resolve(&a, BRO_RPC_SENTINEL_MS, &err) < 0) {
        bro_log_warn(NULL, "%s", err.msg);
        return;
    }
    snprintf(gw->redis_host, sizeof(gw->redis_host), "%s", a.host);
    gw->redis_port = a.port;
}

/* A master turned replica (a failover) answers writes with READONLY: the connection is dropped,
 * and the reconnect asks the sentinels for the new master. */
static void bro_rpc_check_demoted(redisAsyncContext *c, const redisReply *rep)
{
    if (rep && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "READONLY", 8) == 0)
        redisAsyncDisconnect(c);
}

static redisAsyncContext *bro_rpc_open(bro_gw *gw)
{
    bro_rpc_find_master(gw);
    redisAsyncContext *c = redisAsyncConnect(gw->redis_host, gw->redis_port);
    if (c == NULL)
        return NULL;
    if (c->err) {
        redisAsyncFree(c);
        return NULL;
    }
    c->data = gw;
    redisLibeventAttach(c, gw->base);
    redisAsyncSetConnectCallback(c, bro_rpc_on_connect);
    redisAsyncSetDisconnectCallback(c, bro_rpc_on_disconnect);
    if (gw->redis_db != 0)
        redisAsyncCommand(c, NULL, NULL, "SELECT %d", gw->redis_db);
    return c;
}

static void bro_rpc_connect(bro_gw *gw)
{
    if (gw->cmd == NULL) {
        gw->cmd = bro_rpc_open(gw);
        if (gw->cmd)
            bro_ratelimit_load(gw, gw->cmd);
    }
    if (gw->sub == NULL) {
        gw->sub = bro_rpc_open(gw);
        if (gw->sub)
            redisAsyncCommand(gw->sub, bro_rpc_on_message, gw, "SUBSCRIBE %s", gw->channel);
    }
    if (gw->cmd == NULL || gw->sub == NULL)
        bro_rpc_schedule_reconnect(gw);
}

int bro_rpc_start(bro_gw *gw)
{
    snprintf(gw->channel, sizeof(gw->channel), "bro:reply:%s:%d", gw->instance, gw->index);
    evtimer_assign(&gw->reconnect, gw->base, bro_rpc_on_reconnect, gw);
    if (bro_ratelimit_init(gw) < 0)
        return -1;
    bro_rpc_connect(gw);
    return 0;
}

void bro_rpc_stop(bro_gw *gw)
{
    evtimer_del(&gw->reconnect);
    bro_rpc_fail_all(gw, "the gateway is stopping");
    redisAsyncContext *cmd = gw->cmd, *sub = gw->sub;
    gw->cmd = gw->sub = NULL;
    if (cmd) {
        cmd->data = NULL;
        redisAsyncFree(cmd);
    }
    if (sub) {
        sub->data = NULL;
        redisAsyncFree(sub);
    }
}

/* ---- posting jobs -------------------------------------------------------------------------- */

static void bro_rpc_on_xadd(redisAsyncContext *c, void *reply, void *privdata)
{
    bro_gw_req *r = privdata;
    redisReply *rep = reply;
    r->redis_refs--;
    if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
        __atomic_add_fetch(&r->gw->metrics->redis_errors, 1, __ATOMIC_RELAXED);
        bro_log_warn(NULL, "posting a job failed: %s",
                     rep            ? rep->str
                     : c->errstr[0] ? c->errstr
                                    : "no reply");
        if (r->in_pending)
            bro_rpc_fail(r, BRO_RPC_LOST, "the job queue did not take the request");
        bro_rpc_check_demoted(c, rep);
    }
    bro_gw_req_release(r);
}

/* A post through the rate-limit script. The envelope is kept until Redis has answered, so a
 * NOSCRIPT (the script cache flushed) can be answered with one EVAL of the same post. */
typedef struct bro_rpc_limited {
    bro_gw_req *r;   /* the request; holds one redis_ref for this post */
    char *env;       /* envelope bytes, owned */
    size_t env_len;  /* bytes in env */
    char stream[64]; /* bro:q:<queue> */
    int evaled;      /* 1 once the EVAL fallback was sent */
    unsigned post;   /* r->posts when it was sent */
} bro_rpc_limited;

static void bro_rpc_on_limited(redisAsyncContext *c, void *reply, void *privdata)
{
    bro_rpc_limited *p = privdata;
    bro_gw_req *r = p->r;
    redisReply *rep = reply;
    if (p->post != r->posts) {
        /* The worker's reply to this post came first, on the other connection, and the request
         * has posted its next job (a key check, then the request's own job): this answer is
         * the earlier post's, whose job is done, and says nothing of the next one's limits. */
        r->redis_refs--;
        free(p->env);
        free(p);
        bro_gw_req_release(r);
        return;
    }
    if (rep && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0 &&
        !p->evaled && c == r->gw->cmd) {
        p->evaled = 1;
        bro_log_warn(NULL, "the rate-limit script was not loaded in Redis: loading it again");
        bro_ratelimit_load(r->gw, c);
        if (bro_ratelimit_send(r, 1, p->stream, p->env, p->env_len, bro_rpc_on_limited, p) == 0)
            return; /* the same redis_ref now waits for the EVAL */
    }
    r->redis_refs--;
    int verdict = rep ? bro_ratelimit_verdict(r, rep) : -1;
    if (verdict < 0) {
        __atomic_add_fetch(&r->gw->metrics->redis_errors, 1, __ATOMIC_RELAXED);
        bro_log_warn(NULL, "rate-limited post failed: %s",
                     rep == NULL                      ? (c->errstr[0] ? c->errstr : "no reply")
                     : rep->type == REDIS_REPLY_ERROR ? rep->str
                                                      : "an answer of another shape");
        bro_rpc_check_demoted(c, rep);
    }
    if (verdict != 0 && r->in_pending)
        bro_rpc_fail(r, verdict > 0 ? BRO_RPC_LIMITED : BRO_RPC_LOST,
                     verdict > 0 ? "a rate limit refused the request"
                                 : "the job queue did not take the request");
    free(p->env);
    free(p);
    bro_gw_req_release(r);
}

/* Sends the envelope in sb to stream: through the rate-limit script when a limit applies to r,
 * else as a plain XADD. Takes sb's data in either case. Returns 0, or -1 when nothing was sent;
 * on success r holds one more redis_ref. */
static int bro_rpc_send(bro_gw_req *r, const char *stream, msgpack_sbuffer *sb)
{
    bro_gw *gw = r->gw;
    r->posts++;
    if (bro_ratelimit_prepare(r) == 0) {
        const char *argv[] = {"XADD", stream, "*", "e", sb->data};
        const size_t lens[] = {4, strlen(stream), 1, 1, sb->size};
        int rc = redisAsyncCommandArgv(gw->cmd, bro_rpc_on_xadd, r, 5, argv, lens);
        msgpack_sbuffer_destroy(sb);
        if (rc != REDIS_OK)
            return -1;
        r->redis_refs++;
        return 0;
    }
    bro_rpc_limited *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        msgpack_sbuffer_destroy(sb);
        return -1;
    }
    p->r = r;
    p->post = r->posts;
    p->env_len = sb->size;
    p->env = msgpack_sbuffer_release(sb);
    snprintf(p->stream, sizeof(p->stream), "%s", stream);
    if (bro_ratelimit_send(r, 0, p->stream, p->env, p->env_len, bro_rpc_on_limited, p) < 0) {
        free(p->env);
        free(p);
        return -1;
    }
    r->redis_refs++;
    return 0;
}

/* The envelope of job for r, packed into sb. Returns 0, or -1 with err set. */
static int bro_rpc_envelope(bro_gw_req *r, const bro_rpc_job *job, char id[BRO_UUID_LEN + 1],
                            msgpack_sbuffer *sb, bro_err *err)
{
    bro_envelope e;
    memset(&e, 0, sizeof(e));
    e.v = BRO_ENVELOPE_VERSION;
    bro_ids_uuid7(e.id);
    snprintf(e.kind, sizeof(e.kind), "%s", job->kind);
    snprintf(e.tenant, sizeof(e.tenant), "%s", job->tenant);
    /* A session's requests name its user, so the audit log does (web: "user:<uuid>"). */
    if (r->key.session)
        snprintf(e.actor.key_id, sizeof(e.actor.key_id), "user:%s", r->key.user);
    else
        snprintf(e.actor.key_id, sizeof(e.actor.key_id), "%s", r->key.id);
    snprintf(e.actor.role, sizeof(e.actor.role), "%s", r->key.role);
    snprintf(e.actor.org, sizeof(e.actor.org), "%s", r->key.org);
    snprintf(e.reply_to, sizeof(e.reply_to), "%s", r->gw->channel);
    e.deadline = r->deadline_ms;
    e.attempt = 1;
    if (job->idem)
        snprintf(e.idem, sizeof(e.idem), "%s", job->idem);
    snprintf(e.req, sizeof(e.req), "%s", r->req_id);
    memcpy(id, e.id, BRO_UUID_LEN + 1);
    return bro_envelope_pack(sb, &e, job->body, job->body_len, err);
}

void bro_rpc_post(bro_gw_req *r, const bro_rpc_job *job, bro_rpc_done_fn done)
{
    bro_gw *gw = r->gw;
    r->done = done;
    if (gw->cmd == NULL || !gw->sub_ready) {
        bro_rpc_fail(r, BRO_RPC_UNREACHABLE, "the job queue is not reachable");
        return;
    }
    char id[BRO_UUID_LEN + 1];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    bro_err err = {0};
    if (bro_rpc_envelope(r, job, id, &sb, &err) < 0) {
        msgpack_sbuffer_destroy(&sb);
        bro_rpc_result res = {.outcome = BRO_RPC_INVALID, .why = err.msg, .err_code = err.code};
        bro_rpc_finish(r, &res);
        return;
    }
    char stream[64];
    snprintf(stream, sizeof(stream), "bro:q:%s", job->queue);
    if (bro_rpc_send(r, stream, &sb) < 0) {
        bro_rpc_fail(r, BRO_RPC_UNREACHABLE, "the job queue is not reachable");
        return;
    }
    memcpy(r->job_id, id, sizeof(r->job_id));
    unsigned b = bro_rpc_bucket(r->job_id);
    r->next = gw->pending[b];
    gw->pending[b] = r;
    r->in_pending = 1;
    gw->npending++;
    bro_rpc_arm(r);
}

/* ---- commands for local routes ------------------------------------------------------------- */

static void bro_rpc_on_command(redisAsyncContext *c, void *reply, void *privdata)
{
    bro_gw_req *r = privdata;
    r->redis_refs--;
    if (reply) {
        bro_rpc_result res = {.outcome = BRO_RPC_REPLY, .reply = reply};
        bro_rpc_finish(r, &res);
    } else {
        bro_rpc_fail(r, BRO_RPC_LOST, "Redis does not answer");
    }
    bro_gw_req_release(r);
}

void bro_rpc_command(bro_gw_req *r, int argc, const char **argv, bro_rpc_done_fn done)
{
    r->done = done;
    if (r->gw->cmd == NULL ||
        redisAsyncCommandArgv(r->gw->cmd, bro_rpc_on_command, r, argc, argv, NULL) != REDIS_OK) {
        bro_rpc_fail(r, BRO_RPC_UNREACHABLE, "Redis is not reachable");
        return;
    }
    r->redis_refs++;
    /* hiredis has no per-command timeout here: the request's deadline stands in for it. */
    bro_rpc_arm(r);
}
