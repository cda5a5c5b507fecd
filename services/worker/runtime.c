/* The consume loop and the life of one job: decode, look up the handler, run it in one
 * transaction with the exactly-once bookkeeping (processed_jobs, idempotency_keys), publish the
 * reply, acknowledge. Transient failures are retried with backoff; the rest are dead-lettered. */
#include "runtime.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/envelope.h"
#include "common/ids.h"
#include "common/jmp.h"
#include "common/log.h"
#include "common/problem.h"
#include "handlers.h"
#include "janitor.h"

#define BRO_RUNTIME_BATCH        8    /* messages taken per read */
#define BRO_RUNTIME_BLOCK_MS     1000 /* longest blocking read, so stop is noticed quickly */
#define BRO_RUNTIME_HEARTBEAT_MS 1000 /* heartbeat period */

static const char *const bro_runtime_known_queues[] = {BRO_QUEUE_RECORDS, BRO_QUEUE_MATCHING,
                                                       BRO_QUEUE_NOTIFY, BRO_QUEUE_REPORTS, NULL};

/* What became of a job. */
typedef enum bro_outcome {
    BRO_OUT_REPLY, /* reply ready (fresh, replayed or a client error): publish and ack */
    BRO_OUT_RETRY, /* transient failure: back to the delayed set */
    BRO_OUT_FAIL,  /* permanent failure: 500 to the asker, job to the dead letters */
} bro_outcome;

/* The reply being built for one job. */
typedef struct bro_result {
    int status;              /* HTTP status */
    int is_error;            /* payload is a problem map */
    msgpack_sbuffer payload; /* one msgpack value, empty for none */
    bro_err err;             /* why, for retries and failures */
    unsigned after_commit;   /* the handler's BRO_JOB_AFTER_*, set once the job committed */
} bro_result;

/* ---- set-up -------------------------------------------------------------------------------- */

int bro_runtime_set_queues(bro_worker *w, const char *csv, bro_err *err)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", csv);
    w->nqueues = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        int known = 0;
        for (int i = 0; bro_runtime_known_queues[i]; i++)
            known |= strcmp(tok, bro_runtime_known_queues[i]) == 0;
        if (!known)
            return bro_err_set(err, BRO_E_CONFIG, "queues: unknown queue \"%.40s\"", tok);
        for (int i = 0; i < w->nqueues; i++)
            if (strcmp(w->queues[i], tok) == 0)
                return bro_err_set(err, BRO_E_CONFIG, "queues: \"%s\" given twice", tok);
        if (w->nqueues == BRO_QUEUE_MAX)
            return bro_err_set(err, BRO_E_CONFIG, "queues: too many");
        snprintf(w->queues[w->nqueues++], BRO_QUEUE_NAME_MAX, "%s", tok);
    }
    if (w->nqueues == 0)
        return bro_err_set(err, BRO_E_CONFIG, "queues: none given");
    return 0;
}

static void bro_runtime_pause(bro_worker *w, int ms)
{
    for (int waited = 0; waited < ms && !*w->stop; waited += 50) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Connects to Redis and PostgreSQL, retrying with backoff until both answer or stop is set. */
static int bro_runtime_connect(bro_worker *w)
{
    for (int attempt = 1; !*w->stop; attempt++) {
        bro_err err = {0};
        if (w->queue == NULL) {
            const char *names[BRO_QUEUE_MAX];
            for (int i = 0; i < w->nqueues; i++)
                names[i] = w->queues[i];
            bro_queue_opts opts = {w->cfg.visibility_ms, w->cfg.max_attempts, 2000,
                                   w->has_dead_key ? &w->dead_key : NULL};
            w->queue = bro_queue_open(w->cfg.redis, w->id, names, w->nqueues, &opts, &err);
        }
        if (w->queue && w->db == NULL)
            w->db = bro_db_connect(w->cfg.pg, &err);
        if (w->queue && w->db)
            return 0;
        bro_log_warn(NULL, "not connected yet (%s), retrying", err.msg);
        bro_runtime_pause(w, (int)bro_queue_backoff_ms(attempt < 6 ? attempt : 6, 200));
    }
    return -1;
}

/* ---- replies ------------------------------------------------------------------------------- */

/* Replaces res's payload with the problem document for code (its status from the error
 * table), with the job's field errors when there are any. */
static void bro_runtime_set_problem(bro_result *res, int code, const char *detail,
                                    const bro_job *job)
{
    bro_problem_field fields[BRO_JOB_FIELD_ERRORS_MAX];
    int nfields = job ? job->nfields : 0;
    for (int i = 0; i < nfields; i++)
        fields[i] = (bro_problem_field){job->fields[i].field, job->fields[i].message};
    bro_problem p = {code, detail, fields, nfields};
    res->status = bro_problem_status(&p);
    res->is_error = 1;
    res->payload.size = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &res->payload, msgpack_sbuffer_write);
    if (bro_problem_pack(&pk, &p) < 0)
        res->payload.size = 0; /* out of memory: the status alone still answers */
}

/* Sends the reply to whoever waits for it. A lost reply is not fatal: the asker times out and a
 * retry with its Idempotency-Key is answered from the stored response. */
static void bro_runtime_publish(bro_worker *w, const bro_envelope *env, const bro_result *res,
                                const bro_log_ctx *lc)
{
    if (env->reply_to[0] == '\0')
        return;
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    bro_err err = {0};
    if (bro_envelope_reply_pack(&out, env->id, res->status, res->is_error,
                                res->payload.size ? res->payload.data : NULL, res->payload.size,
                                &err) < 0 ||
        bro_queue_publish(w->queue, env->reply_to, out.data, out.size, &err) < 0)
        bro_log_warn(lc, "reply not sent: %s", err.msg);
    msgpack_sbuffer_destroy(&out);
}

/* ---- exactly-once bookkeeping -------------------------------------------------------------- */

static const char *bro_runtime_sql_processed_get =
    "SELECT status::text, reply FROM processed_jobs WHERE job_id = $1";
static const char *bro_runtime_sql_processed_put =
    "INSERT INTO processed_jobs (job_id, kind, status, reply) VALUES ($1, $2, $3, $4)";
static const char *bro_runtime_sql_idem_get =
    "SELECT fingerprint, status::text, reply FROM idempotency_keys "
    "WHERE key_id = $1 AND idem_key = $2";
static const char *bro_runtime_sql_idem_put =
    "INSERT INTO idempotency_keys (key_id, idem_key, fingerprint, status, reply) "
    "VALUES ($1, $2, $3, $4, $5)";

/* Copies a stored (status as text, reply bytea) into res. The results are binary so the bytea
 * comes back as is; a text column in binary format is its plain characters. */
static void bro_runtime_take_stored(bro_result *res, PGresult *r, int col)
{
    res->status = atoi(PQgetvalue(r, 0, col));
    res->is_error = res->status >= 400;
    res->payload.size = 0;
    msgpack_sbuffer_write(&res->payload, PQgetvalue(r, 0, col + 1), PQgetlength(r, 0, col + 1));
}

/* SHA-256 over kind, tenant and the request body: what a repeated Idempotency-Key must match. */
static int bro_runtime_fingerprint(const bro_envelope *env, char hex[65])
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_str_with_body(&pk, env->kind, strlen(env->kind));
    msgpack_pack_str_with_body(&pk, env->tenant, strlen(env->tenant));
    msgpack_pack_object(&pk, *env->body);
    unsigned char md[32];
    unsigned int mdlen = 0;
    int ok = EVP_Digest(buf.data, buf.size, md, &mdlen, EVP_sha256(), NULL);
    msgpack_sbuffer_destroy(&buf);
    if (!ok)
        return -1;
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* Looks for a stored answer to this job id or Idempotency-Key. Returns 1 when res holds the
 * answer, 0 when the handler must run, -1 on a database error (err set). */
static int bro_runtime_lookup(bro_worker *w, const bro_envelope *env, const char *fp,
                              bro_result *res, bro_err *err)
{
    const char *p1[] = {env->id};
    const int fmt1[] = {0};
    PGresult *r =
        bro_db_exec_format(w->db, bro_runtime_sql_processed_get, 1, p1, NULL, fmt1, 1, err);
    if (r == NULL)
        return -1;
    if (PQntuples(r) == 1) {
        bro_runtime_take_stored(res, r, 0);
        PQclear(r);
        return 1;
    }
    PQclear(r);
    if (env->idem[0] == '\0')
        return 0;
    const char *p2[] = {env->actor.key_id, env->idem};
    r = bro_db_exec_format(w->db, bro_runtime_sql_idem_get, 2, p2, NULL, NULL, 1, err);
    if (r == NULL)
        return -1;
    int found = PQntuples(r) == 1;
    if (found && (PQgetlength(r, 0, 0) != 64 || memcmp(PQgetvalue(r, 0, 0), fp, 64) != 0)) {
        bro_runtime_set_problem(res, BRO_E_IDEM_REUSED,
                                "Idempotency-Key was already used with a different request", NULL);
    } else if (found) {
        bro_runtime_take_stored(res, r, 1);
    }
    PQclear(r);
    return found;
}

/* Stores the answer in the same transaction as the handler's changes. */
static int bro_runtime_record(bro_worker *w, const bro_envelope *env, const char *fp,
                              const bro_result *res, const msgpack_sbuffer *stored, bro_err *err)
{
    char status[16];
    snprintf(status, sizeof(status), "%d", res->status);
    const char *p[] = {env->id, env->kind, status, stored->data ? stored->data : ""};
    int lens[] = {0, 0, 0, (int)stored->size};
    int fmts[] = {0, 0, 0, 1};
    PGresult *r = bro_db_exec_bin(w->db, bro_runtime_sql_processed_put, 4, p, lens, fmts, err);
    if (r == NULL)
        return -1;
    PQclear(r);
    if (env->idem[0] == '\0')
        return 0;
    const char *q[] = {env->actor.key_id, env->idem, fp, status, stored->data ? stored->data : ""};
    int qlens[] = {0, 0, 0, 0, (int)stored->size};
    int qfmts[] = {0, 0, 0, 0, 1};
    r = bro_db_exec_bin(w->db, bro_runtime_sql_idem_put, 5, q, qlens, qfmts, err);
    if (r == NULL) {
        /* Another delivery with the same key won the race: run again and replay its answer. */
        if (err->code == BRO_E_CONFLICT)
            err->code = BRO_E_RETRY;
        return -1;
    }
    PQclear(r);
    return 0;
}

/* ---- running one job ----------------------------------------------------------------------- */

/* A failure the request caused (a 4xx word) is answered; the rest is retried or failed. */
static bro_outcome bro_runtime_classify(bro_result *res, const bro_job *job, const bro_err *err)
{
    int status = bro_err_http_status(err->code);
    if (status >= 400 && status < 500) {
        bro_runtime_set_problem(res, err->code, err->msg, job);
        return BRO_OUT_REPLY;
    }
    res->err = *err;
    if (err->code == BRO_E_RETRY || err->code == BRO_E_UNAVAILABLE || err->code == BRO_E_TIMEOUT)
        return BRO_OUT_RETRY;
    return BRO_OUT_FAIL;
}

static void bro_runtime_job_init(bro_job *job, bro_worker *w, const bro_envelope *env)
{
    memset(job, 0, sizeof(*job));
    job->env = env;
    job->db = w->db;
    job->path = bro_jmp_map_get(env->body, "path");
    job->query = bro_jmp_map_get(env->body, "query");
    job->data = bro_jmp_map_get(env->body, "data");
    if (job->data && job->data->type == MSGPACK_OBJECT_NIL)
        job->data = NULL;
    if (bro_job_param(env->body, "route", job->route, sizeof(job->route)) < 0)
        snprintf(job->route, sizeof(job->route), "%s", env->kind);
    if (bro_job_param(env->body, "if_match", job->if_match, sizeof(job->if_match)) < 0)
        job->if_match[0] = '\0';
    job->status = 200;
    msgpack_sbuffer_init(&job->reply);
    msgpack_sbuffer_init(&job->stored);
    msgpack_packer_init(&job->pk, &job->reply, msgpack_sbuffer_write);
}

static void bro_runtime_job_free(bro_job *job)
{
    msgpack_sbuffer_destroy(&job->reply);
    msgpack_sbuffer_destroy(&job->stored);
}

/* Runs h for env inside one transaction. Fills res; returns what to do with the message. */
static bro_outcome bro_runtime_execute(bro_worker *w, const bro_handler *h, const bro_envelope *env,
                                       bro_result *res)
{
    bro_err err = {0};
    int readonly = (h->flags & BRO_H_READONLY) != 0;
    const char *tenant = (h->flags & BRO_H_PLATFORM) ? NULL : env->tenant;
    if (!(h->flags & BRO_H_PLATFORM) && env->tenant[0] == '\0') {
        bro_runtime_set_problem(res, BRO_E_FORBIDDEN, "this job needs a tenant", NULL);
        return BRO_OUT_REPLY;
    }
    char fp[65] = "";
    if (!readonly && env->idem[0] && bro_runtime_fingerprint(env, fp) < 0) {
        bro_err_set(&res->err, BRO_E_INTERNAL, "fingerprint failed");
        return BRO_OUT_FAIL;
    }
    if (bro_db_begin(w->db, tenant, &err) < 0)
        return bro_runtime_classify(res, NULL, &err);
    if (!readonly) {
        int found = bro_runtime_lookup(w, env, fp, res, &err);
        if (found != 0) {
            bro_db_rollback(w->db);
            return found > 0 ? BRO_OUT_REPLY : bro_runtime_classify(res, NULL, &err);
        }
    }
    bro_job job;
    bro_runtime_job_init(&job, w, env);
    bro_outcome out = BRO_OUT_REPLY;
    if (h->fn(&job) < 0) {
        bro_db_rollback(w->db);
        out = bro_runtime_classify(res, &job, &job.err);
        goto out;
    }
    res->status = job.status;
    res->is_error = 0;
    res->payload.size = 0;
    if (job.reply.size)
        msgpack_sbuffer_write(&res->payload, job.reply.data, job.reply.size);
    if (!readonly &&
        bro_runtime_record(w, env, fp, res, job.has_stored ? &job.stored : &job.reply, &err) < 0) {
        bro_db_rollback(w->db);
        out = bro_runtime_classify(res, NULL, &err);
        goto out;
    }
    if (bro_db_commit(w->db, &err) < 0)
        out = bro_runtime_classify(res, NULL, &err);
    else
        res->after_commit = job.after_commit;
out:
    bro_runtime_job_free(&job);
    return out;
}

static void bro_runtime_heartbeat(bro_worker *w);
static void bro_runtime_dead(bro_worker *w, const bro_queue_msg *m, const bro_envelope *env,
                             int attempts, const char *why, const bro_log_ctx *lc);

typedef struct bro_runtime_keep {
    bro_worker *w;          /* the worker running the job */
    const bro_queue_msg *m; /* the message it holds */
} bro_runtime_keep;

/* Between the steps of a long run: keep the message ours (no reclaim by an idle worker after
 * the visibility timeout) and the worker's heartbeat fresh. */
static void bro_runtime_keepalive(void *ctx)
{
    bro_runtime_keep *k = ctx;
    bro_err err = {0};
    if (bro_queue_touch(k->w->queue, k->m, &err) < 0)
        bro_log_warn(NULL, "could not keep %s: %s", k->m->stream_id, err.msg);
    bro_runtime_heartbeat(k->w);
}

/* The run phase of an accepted asynchronous job, outside any transaction (see handlers.h). */
static int bro_runtime_run_async(bro_worker *w, const bro_handler *h, const bro_envelope *env,
                                 const bro_queue_msg *m, bro_err *err)
{
    bro_job job;
    bro_runtime_keep keep = {w, m};
    bro_runtime_job_init(&job, w, env);
    job.keepalive = bro_runtime_keepalive;
    job.keepalive_ctx = &keep;
    int rc = h->run(&job);
    if (rc < 0)
        *err = job.err;
    bro_runtime_job_free(&job);
    return rc;
}

/* Puts the job back with its attempt raised, or dead-letters it when attempts are used up. */
static void bro_runtime_retry(bro_worker *w, const bro_queue_msg *m, bro_envelope *env, int attempt,
                              const char *why, const bro_log_ctx *lc)
{
    bro_err err = {0};
    if (attempt >= w->cfg.max_attempts) {
        bro_log_error(lc, "job %s gave up after %d attempts: %s", env->kind, attempt, why);
        /* Whoever still waits hears it now rather than at its own deadline. */
        bro_result res = {0};
        msgpack_sbuffer_init(&res.payload);
        bro_runtime_set_problem(&res, BRO_E_UNAVAILABLE, "the job could not be completed", NULL);
        bro_runtime_publish(w, env, &res, lc);
        msgpack_sbuffer_destroy(&res.payload);
        bro_runtime_dead(w, m, env, attempt, why, lc);
        return;
    }
    w->jobs_failed++;
    msgpack_sbuffer body, out;
    msgpack_sbuffer_init(&body);
    msgpack_sbuffer_init(&out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *env->body);
    env->attempt = attempt + 1;
    int64_t delay = bro_queue_backoff_ms(attempt, w->cfg.retry_base_ms);
    if (bro_envelope_pack(&out, env, body.data, body.size, &err) < 0 ||
        bro_queue_retry(w->queue, m, out.data, out.size, delay, &err) < 0)
        bro_log_error(lc, "retry scheduling failed: %s", err.msg);
    else
        bro_log_warn(lc, "job %s retried in %lld ms (attempt %d): %s", env->kind, (long long)delay,
                     attempt, why);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&out);
}

/* Dead-letters m; env is NULL for a message that could not be decoded, whose content is then
 * not kept at all. */
static void bro_runtime_dead(bro_worker *w, const bro_queue_msg *m, const bro_envelope *env,
                             int attempts, const char *why, const bro_log_ctx *lc)
{
    bro_err err = {0};
    w->jobs_failed++;
    bro_log_error(lc, "dead-lettered %s on %s: %s", m->stream_id, m->queue, why);
    bro_queue_dead_info info;
    if (env)
        info = (bro_queue_dead_info){env->kind, env->tenant, env->id, env->req};
    if (bro_queue_dead(w->queue, m, env ? &info : NULL, attempts, why, &err) < 0)
        bro_log_error(lc, "dead-letter failed: %s", err.msg);
}

/* After a job's message is acknowledged: what its handler asked for once committed. */
static void bro_runtime_after_commit(bro_worker *w, const bro_result *res, const bro_log_ctx *lc)
{
    bro_err err = {0};
    if ((res->after_commit & BRO_JOB_AFTER_AOF_REWRITE) &&
        bro_queue_request_rewrite(w->queue, &err) < 0)
        bro_log_warn(lc, "AOF rewrite request failed (the periodic rewrite will do): %s", err.msg);
}

static void bro_runtime_handle(bro_worker *w, bro_queue_msg *m)
{
    msgpack_unpacked holder;
    msgpack_unpacked_init(&holder);
    bro_envelope env;
    bro_err err = {0};
    bro_result res = {0};
    msgpack_sbuffer_init(&res.payload);
    bro_log_ctx lc = {NULL, NULL, NULL};
    if (m->data == NULL) {
        bro_runtime_dead(w, m, NULL, m->deliveries, "decode: entry has no envelope field", &lc);
        goto out;
    }
    if (bro_envelope_decode(&env, &holder, m->data, m->len, &err) < 0) {
        bro_runtime_dead(w, m, NULL, m->deliveries, err.msg, &lc);
        goto out;
    }
    lc = (bro_log_ctx){env.tenant[0] ? env.tenant : NULL, env.req, env.id};
    int attempt = env.attempt + (m->deliveries > 1 ? m->deliveries - 1 : 0);
    const bro_handler *h = bro_handlers_find(env.kind);
    if (h == NULL) {
        bro_runtime_set_problem(&res, BRO_E_INTERNAL, "no handler for this job", NULL);
        bro_runtime_publish(w, &env, &res, &lc);
        bro_runtime_dead(w, m, &env, attempt, "unknown job kind", &lc);
        goto out;
    }
    if (attempt > w->cfg.max_attempts) {
        bro_runtime_set_problem(&res, BRO_E_UNAVAILABLE, "the job could not be completed", NULL);
        bro_runtime_publish(w, &env, &res, &lc);
        bro_runtime_dead(w, m, &env, attempt, "too many deliveries", &lc);
        goto out;
    }
    if ((h->flags & BRO_H_READONLY) && env.deadline < bro_ids_now_ms()) {
        bro_log_debug(&lc, "dropped %s: deadline passed", env.kind);
        if (bro_queue_ack(w->queue, m, &err) < 0)
            bro_log_warn(&lc, "ack failed: %s", err.msg);
        goto out;
    }
    switch (bro_runtime_execute(w, h, &env, &res)) {
    case BRO_OUT_REPLY:
        bro_runtime_publish(w, &env, &res, &lc);
        if (h->run && res.status == 202 && bro_runtime_run_async(w, h, &env, m, &res.err) < 0) {
            bro_runtime_retry(w, m, &env, attempt, res.err.msg, &lc);
            break;
        }
        if (bro_queue_ack(w->queue, m, &err) < 0)
            bro_log_warn(&lc, "ack failed: %s", err.msg);
        else
            bro_runtime_after_commit(w, &res, &lc);
        w->jobs_done++;
        bro_log_debug(&lc, "%s -> %d", env.kind, res.status);
        break;
    case BRO_OUT_RETRY:
        bro_runtime_retry(w, m, &env, attempt, res.err.msg, &lc);
        break;
    case BRO_OUT_FAIL:
        bro_runtime_set_problem(&res, BRO_E_INTERNAL, "the job failed", NULL);
        bro_runtime_publish(w, &env, &res, &lc);
        bro_runtime_dead(w, m, &env, attempt, res.err.msg[0] ? res.err.msg : "failed", &lc);
        break;
    }
out:
    msgpack_sbuffer_destroy(&res.payload);
    msgpack_unpacked_destroy(&holder);
}

/* ---- the loop ------------------------------------------------------------------------------ */

static void bro_runtime_heartbeat(bro_worker *w)
{
    int64_t now = bro_ids_now_ms();
    if (now - w->last_heartbeat_ms < BRO_RUNTIME_HEARTBEAT_MS)
        return;
    json_t *queues = json_array();
    for (int i = 0; i < w->nqueues; i++)
        json_array_append_new(queues, json_string(w->queues[i]));
    json_t *info = json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:i}", "id", w->id, "queues", queues,
                             "started_ms", (json_int_t)w->started_ms, "heartbeat_ms",
                             (json_int_t)now, "jobs_done", (json_int_t)w->jobs_done, "jobs_failed",
                             (json_int_t)w->jobs_failed, "pid", (int)getpid());
    char *text = info ? json_dumps(info, JSON_COMPACT) : NULL;
    bro_err err = {0};
    if (text && bro_queue_heartbeat(w->queue, text, w->cfg.heartbeat_ttl_ms, &err) == 0)
        w->last_heartbeat_ms = now;
    else
        bro_log_warn(NULL, "heartbeat failed: %s", err.msg);
    free(text);
    json_decref(info);
}

/* A clean stop leaves nothing behind in the group: no consumer, no heartbeat, so /readyz and
 * the queue views see at once that this worker is gone. */
static void bro_runtime_leave(bro_worker *w)
{
    int handed_back = 0;
    bro_err err = {0};
    if (bro_queue_leave(w->queue, &handed_back, &err) < 0)
        bro_log_warn(NULL, "could not leave the group (the janitors will): %s", err.msg);
    else if (handed_back > 0)
        bro_log_warn(NULL, "handed back %d pending job(s) for another worker", handed_back);
}

int bro_runtime_run(bro_worker *w)
{
    w->started_ms = bro_ids_now_ms();
    if (bro_runtime_connect(w) < 0)
        return 0;
    bro_log_info(NULL, "worker %s serving %d queue(s)", w->id, w->nqueues);
    bro_queue_msg msgs[BRO_RUNTIME_BATCH];
    memset(msgs, 0, sizeof(msgs));
    int failures = 0;
    while (!*w->stop) {
        bro_runtime_heartbeat(w);
        bro_janitor_tick(w);
        int n = 0;
        bro_err err = {0};
        if (bro_queue_read(w->queue, BRO_RUNTIME_BLOCK_MS, msgs, BRO_RUNTIME_BATCH, &n, &err) < 0) {
            bro_log_warn(NULL, "queue read failed: %s", err.msg);
            bro_runtime_pause(w, (int)bro_queue_backoff_ms(++failures < 6 ? failures : 6, 200));
            continue;
        }
        failures = 0;
        /* Every message taken is finished, even when stop arrives meanwhile: one that is not
         * would only wait for its visibility timeout. */
        for (int i = 0; i < n; i++) {
            bro_runtime_handle(w, &msgs[i]);
            bro_queue_msg_clear(&msgs[i]);
        }
    }
    bro_log_info(NULL, "worker %s stopping after %lld jobs", w->id, w->jobs_done);
    bro_runtime_leave(w);
    return 0;
}
