/* The consume loop and the life of one job: decode, look up the handler, run it in one
 * transaction with the exactly-once bookkeeping (processed_jobs, idempotency_keys), publish the
 * reply, acknowledge. Transient failures are retried with backoff; the rest are dead-lettered. */
#include "runtime.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/envelope.h"
#include "common/ids.h"
#include "common/jmp.h"
#include "common/log.h"
#include "common/problem.h"
#include "handlers.h"
#include "janitor.h"
#include "metrics.h"
#include "notify/notify.h"

#define BRO_RUNTIME_BLOCK_MS 1000 /* longest blocking read, so stop is noticed quickly */
/* A read of records alone (the other queues' jobs fill every slot not kept) blocks briefly, so
 * a slot freed meanwhile takes the other queues' next job at once, not a second later. */
#define BRO_RUNTIME_KEPT_BLOCK_MS 50
#define BRO_RUNTIME_HEARTBEAT_MS  1000 /* heartbeat period */
#define BRO_RUNTIME_TICK_MS       50   /* the main thread's heartbeat and janitor tick */
#define BRO_RUNTIME_DEFER_MS      1000 /* a long job with no slot free comes back this soon */

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
    msgpack_sbuffer audit;   /* a read's audit record (bro_runtime_pack_audit), empty for none */
} bro_result;

/* ---- set-up -------------------------------------------------------------------------------- */

/* Slots kept for the records queue's short jobs: a quarter, at least one, none when there is
 * only one slot (then a long job holds the worker as it always did). */
static int bro_runtime_kept_slots(int concurrency)
{
    if (concurrency < 2)
        return 0;
    return concurrency / 4 > 1 ? concurrency / 4 : 1;
}

int bro_runtime_set_queues(bro_worker *w, const char *csv, bro_err *err)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", csv);
    w->nqueues = 0;
    w->serves_records = 0;
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
        w->serves_records |= strcmp(tok, BRO_QUEUE_RECORDS) == 0;
    }
    if (w->nqueues == 0)
        return bro_err_set(err, BRO_E_CONFIG, "queues: none given");
    return 0;
}

/* Gives db's backend the long nice (BROBYGGER_LONG_NICE; 0: none), so PostgreSQL's work for
 * long jobs yields the CPU to the records reads as the worker's own threads do. A database
 * without the prioritize extension is logged once per process, and the work goes on at normal
 * priority. */
static void bro_runtime_nice_db(bro_worker *w, bro_db *db)
{
    bro_err err = {0};
    int rc = w->cfg.long_nice > 0 ? bro_db_set_nice(db, w->cfg.long_nice, &err) : 0;
    if (rc > 0 && atomic_exchange(&w->nice_said, 1) == 0)
        bro_log_warn(NULL, "%s: long work's database time runs at normal priority", err.msg);
    else if (rc < 0)
        bro_log_warn(NULL, "could not lower a backend's priority: %s", err.msg);
}

static void bro_runtime_pause(bro_worker *w, int ms)
{
    for (int waited = 0; waited < ms && !*w->stop; waited += 50) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Connects the main thread's Redis and PostgreSQL connections (heartbeat, janitor, leave),
 * retrying with backoff until both answer or stop is set. */
static int bro_runtime_connect(bro_worker *w)
{
    for (int attempt = 1; !*w->stop; attempt++) {
        bro_err err = {0};
        if (w->queue == NULL) {
            const char *names[BRO_QUEUE_MAX];
            for (int i = 0; i < w->nqueues; i++)
                names[i] = w->queues[i];
            bro_queue_opts opts = {w->cfg.visibility_ms, w->cfg.max_attempts, 2000,
                                   w->has_dead_key ? &w->dead_key : NULL, 1};
            w->queue = bro_queue_open(w->cfg.redis, w->id, names, w->nqueues, &opts, &err);
        }
        if (w->queue && w->db == NULL && (w->db = bro_db_connect(w->cfg.pg, &err)) &&
            !w->serves_records)
            bro_runtime_nice_db(w, w->db); /* its janitor serves long work only */
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
static void bro_runtime_publish(bro_slot *s, const bro_envelope *env, const bro_result *res,
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
        bro_queue_publish(s->queue, env->reply_to, out.data, out.size, &err) < 0)
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
static int bro_runtime_lookup(bro_slot *s, const bro_envelope *env, const char *fp, bro_result *res,
                              bro_err *err)
{
    const char *p1[] = {env->id};
    const int fmt1[] = {0};
    PGresult *r =
        bro_db_exec_format(s->db, bro_runtime_sql_processed_get, 1, p1, NULL, fmt1, 1, err);
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
    r = bro_db_exec_format(s->db, bro_runtime_sql_idem_get, 2, p2, NULL, NULL, 1, err);
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

/* Stores the answer in the same transaction as the handler's changes and commits: the last
 * insert and the COMMIT share one round trip (bro_db_exec_commit), so the rows the handler
 * locked (a year's ref counter) are held for that round trip and the flush, no longer. */
static int bro_runtime_record(bro_slot *s, const bro_envelope *env, const char *fp,
                              const bro_result *res, const msgpack_sbuffer *stored, bro_err *err)
{
    char status[16];
    snprintf(status, sizeof(status), "%d", res->status);
    const char *p[] = {env->id, env->kind, status, stored->data ? stored->data : ""};
    int lens[] = {0, 0, 0, (int)stored->size};
    int fmts[] = {0, 0, 0, 1};
    if (env->idem[0] == '\0')
        return bro_db_exec_commit(s->db, bro_runtime_sql_processed_put, 4, p, lens, fmts, err);
    PGresult *r = bro_db_exec_bin(s->db, bro_runtime_sql_processed_put, 4, p, lens, fmts, err);
    if (r == NULL)
        return -1;
    PQclear(r);
    const char *q[] = {env->actor.key_id, env->idem, fp, status, stored->data ? stored->data : ""};
    int qlens[] = {0, 0, 0, 0, (int)stored->size};
    int qfmts[] = {0, 0, 0, 0, 1};
    if (bro_db_exec_commit(s->db, bro_runtime_sql_idem_put, 5, q, qlens, qfmts, err) < 0) {
        /* Another delivery with the same key won the race: run again and replay its answer. */
        if (err->code == BRO_E_CONFLICT)
            err->code = BRO_E_RETRY;
        return -1;
    }
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

static void bro_runtime_job_init(bro_job *job, bro_slot *s, const bro_envelope *env)
{
    memset(job, 0, sizeof(*job));
    job->env = env;
    job->db = s->db;
    job->queue = s->queue;
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

static void bro_runtime_pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* Packs the read-audit record of a committed read into res->audit (nothing when it showed no
 * candidate): who, which route and job, when, and the candidates' ids; never their data. */
static void bro_runtime_pack_audit(bro_result *res, const bro_envelope *env, const bro_job *job)
{
    if (job->nread_ids == 0)
        return;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &res->audit, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 10);
    const char *pairs[][2] = {{"tenant", env->tenant},   {"key_id", env->actor.key_id},
                              {"role", env->actor.role}, {"action", env->kind},
                              {"route", job->route},     {"req", env->req},
                              {"job", env->id}};
    bro_runtime_pack_str(&pk, "v");
    msgpack_pack_int(&pk, 1);
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        bro_runtime_pack_str(&pk, pairs[i][0]);
        bro_runtime_pack_str(&pk, pairs[i][1]);
    }
    bro_runtime_pack_str(&pk, "at");
    msgpack_pack_int64(&pk, bro_ids_now_ms());
    bro_runtime_pack_str(&pk, "ids");
    msgpack_pack_array(&pk, (size_t)job->nread_ids);
    for (int i = 0; i < job->nread_ids; i++)
        bro_runtime_pack_str(&pk, job->read_ids[i]);
}

/* Runs the handler once the transaction is open: its reply into res, then (writes) the stored
 * answer and the commit, or (reads) the commit and the audit record. */
static bro_outcome bro_runtime_run_handler(bro_slot *s, const bro_handler *h,
                                           const bro_envelope *env, const char *fp, bro_job *job,
                                           bro_result *res)
{
    bro_err err = {0};
    int readonly = (h->flags & (BRO_H_READONLY | BRO_H_READ)) != 0;
    if (h->fn(job) < 0) {
        bro_db_rollback(s->db);
        return bro_runtime_classify(res, job, &job->err);
    }
    res->status = job->status;
    res->is_error = 0;
    res->payload.size = 0;
    if (job->reply.size)
        msgpack_sbuffer_write(&res->payload, job->reply.data, job->reply.size);
    const msgpack_sbuffer *stored = job->has_stored ? &job->stored : &job->reply;
    if (readonly ? bro_db_commit(s->db, &err) : bro_runtime_record(s, env, fp, res, stored, &err)) {
        bro_db_rollback(s->db); /* whatever is left of the transaction */
        return bro_runtime_classify(res, NULL, &err);
    }
    res->after_commit = job->after_commit;
    if (h->flags & BRO_H_READ)
        bro_runtime_pack_audit(res, env, job);
    return BRO_OUT_REPLY;
}

/* Runs a handler that touches no database (BRO_H_NODB): no connection, no transaction. */
static bro_outcome bro_runtime_run_nodb(bro_slot *s, const bro_handler *h, const bro_envelope *env,
                                        bro_result *res)
{
    bro_job job;
    bro_runtime_job_init(&job, s, env);
    job.db = NULL;
    bro_outcome out = BRO_OUT_REPLY;
    if (h->fn(&job) < 0) {
        out = bro_runtime_classify(res, &job, &job.err);
    } else {
        res->status = job.status;
        res->is_error = 0;
        res->payload.size = 0;
        if (job.reply.size)
            msgpack_sbuffer_write(&res->payload, job.reply.data, job.reply.size);
    }
    bro_runtime_job_free(&job);
    return out;
}

/* Runs h for env inside one transaction. Fills res; returns what to do with the message. */
static bro_outcome bro_runtime_execute(bro_slot *s, const bro_handler *h, const bro_envelope *env,
                                       bro_result *res)
{
    bro_err err = {0};
    int readonly = (h->flags & (BRO_H_READONLY | BRO_H_READ)) != 0;
    const char *tenant = (h->flags & BRO_H_PLATFORM) ? NULL : env->tenant;
    if (!(h->flags & BRO_H_PLATFORM) && env->tenant[0] == '\0') {
        bro_runtime_set_problem(res, BRO_E_FORBIDDEN, "this job needs a tenant", NULL);
        return BRO_OUT_REPLY;
    }
    if (h->flags & BRO_H_NODB)
        return bro_runtime_run_nodb(s, h, env, res);
    char fp[65] = "";
    if (!readonly && env->idem[0] && bro_runtime_fingerprint(env, fp) < 0) {
        bro_err_set(&res->err, BRO_E_INTERNAL, "fingerprint failed");
        return BRO_OUT_FAIL;
    }
    int rc = (h->flags & BRO_H_READ) ? bro_db_begin_read(s->db, tenant, &err)
                                     : bro_db_begin(s->db, tenant, &err);
    if (rc < 0)
        return bro_runtime_classify(res, NULL, &err);
    if (!readonly) {
        int found = bro_runtime_lookup(s, env, fp, res, &err);
        if (found != 0) {
            bro_db_rollback(s->db);
            return found > 0 ? BRO_OUT_REPLY : bro_runtime_classify(res, NULL, &err);
        }
    }
    bro_job job;
    char read_ids[BRO_JOB_READ_AUDIT_MAX][BRO_UUID_LEN + 1]; /* this job's, see bro_job */
    bro_runtime_job_init(&job, s, env);
    if (h->flags & BRO_H_READ)
        job.read_ids = read_ids;
    bro_outcome out = bro_runtime_run_handler(s, h, env, fp, &job, res);
    bro_runtime_job_free(&job);
    return out;
}

static void bro_runtime_dead(bro_slot *s, const bro_queue_msg *m, const bro_envelope *env,
                             int attempts, const char *why, const bro_log_ctx *lc);

typedef struct bro_runtime_keep {
    bro_slot *s;            /* the worker running the job */
    const bro_queue_msg *m; /* the message it holds */
} bro_runtime_keep;

/* Between the steps of a long run: keep the message ours (no reclaim by an idle worker after
 * the visibility timeout). The heartbeat is the main thread's and stays fresh meanwhile. */
static void bro_runtime_keepalive(void *ctx)
{
    bro_runtime_keep *k = ctx;
    bro_err err = {0};
    if (bro_queue_touch(k->s->queue, k->m, &err) < 0)
        bro_log_warn(NULL, "could not keep %s: %s", k->m->stream_id, err.msg);
}

/* The run phase of an accepted asynchronous job, outside any transaction (see handlers.h), on
 * db. */
static int bro_runtime_run_async(bro_slot *s, const bro_handler *h, const bro_envelope *env,
                                 const bro_queue_msg *m, bro_db *db, bro_err *err)
{
    bro_job job;
    bro_runtime_keep keep = {s, m};
    bro_runtime_job_init(&job, s, env);
    job.db = db;
    job.keepalive = bro_runtime_keepalive;
    job.keepalive_ctx = &keep;
    int rc = h->run(&job);
    if (rc < 0)
        *err = job.err;
    bro_runtime_job_free(&job);
    return rc;
}

/* Puts the job back with its attempt raised, or dead-letters it when attempts are used up. */
static void bro_runtime_retry(bro_slot *s, const bro_queue_msg *m, bro_envelope *env, int attempt,
                              const char *why, const bro_log_ctx *lc)
{
    bro_err err = {0};
    if (attempt >= s->w->cfg.max_attempts) {
        bro_log_error(lc, "job %s gave up after %d attempts: %s", env->kind, attempt, why);
        /* Whoever still waits hears it now rather than at its own deadline. */
        bro_result res = {0};
        msgpack_sbuffer_init(&res.payload);
        bro_runtime_set_problem(&res, BRO_E_UNAVAILABLE, "the job could not be completed", NULL);
        bro_runtime_dead(s, m, env, attempt, why, lc);
        bro_runtime_publish(s, env, &res, lc);
        msgpack_sbuffer_destroy(&res.payload);
        msgpack_sbuffer_destroy(&res.audit);
        return;
    }
    atomic_fetch_add(&s->w->jobs_failed, 1);
    msgpack_sbuffer body, out;
    msgpack_sbuffer_init(&body);
    msgpack_sbuffer_init(&out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *env->body);
    env->attempt = attempt + 1;
    int64_t delay = bro_queue_backoff_ms(attempt, s->w->cfg.retry_base_ms);
    if (bro_envelope_pack(&out, env, body.data, body.size, &err) < 0 ||
        bro_queue_retry(s->queue, m, out.data, out.size, delay, &err) < 0)
        bro_log_error(lc, "retry scheduling failed: %s", err.msg);
    else
        bro_log_warn(lc, "job %s retried in %lld ms (attempt %d): %s", env->kind, (long long)delay,
                     attempt, why);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&out);
}

/* Dead-letters m; env is NULL for a message that could not be decoded, whose content is then
 * not kept at all. */
static void bro_runtime_dead(bro_slot *s, const bro_queue_msg *m, const bro_envelope *env,
                             int attempts, const char *why, const bro_log_ctx *lc)
{
    bro_err err = {0};
    atomic_fetch_add(&s->w->jobs_failed, 1);
    bro_wmetrics_end(s->w->metrics, s->index, env ? env->kind : NULL, BRO_WM_FAILED, BRO_E_NONE);
    bro_log_error(lc, "dead-lettered %s on %s: %s", m->stream_id, m->queue, why);
    bro_queue_dead_info info;
    if (env)
        info = (bro_queue_dead_info){env->kind, env->tenant, env->id, env->req};
    if (bro_queue_dead(s->queue, m, env ? &info : NULL, attempts, why, &err) < 0)
        bro_log_error(lc, "dead-letter failed: %s", err.msg);
}

/* After a job's message is acknowledged: what its handler asked for once committed. */
static void bro_runtime_after_commit(bro_slot *s, const bro_result *res, const bro_log_ctx *lc)
{
    bro_err err = {0};
    if ((res->after_commit & BRO_JOB_AFTER_AOF_REWRITE) &&
        bro_queue_request_rewrite(s->queue, &err) < 0)
        bro_log_warn(lc, "AOF rewrite request failed (the periodic rewrite will do): %s", err.msg);
}

/* A job's reply, a read's audit record and the acknowledgement in one Redis round trip
 * (bro_queue_finish, one MULTI): for a read the audit is durable before the data leaves,
 * and a job that was answered is never delivered again. When that fails, none of it happened:
 * the job is delivered again after the visibility timeout and runs again (a read stored
 * nothing; a write's stored reply is sent again). */
static void bro_runtime_answer(bro_slot *s, const bro_envelope *env, const bro_queue_msg *m,
                               const bro_result *res, const bro_log_ctx *lc)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    bro_err err = {0};
    if (env->reply_to[0] && bro_envelope_reply_pack(&out, env->id, res->status, res->is_error,
                                                    res->payload.size ? res->payload.data : NULL,
                                                    res->payload.size, &err) < 0)
        bro_log_warn(lc, "reply not packed: %s", err.msg);
    else if (bro_queue_finish(s->queue, m, out.size ? env->reply_to : "", out.data, out.size,
                              res->audit.data, res->audit.size, &err) < 0)
        bro_log_warn(lc, "reply and acknowledgement not sent (it runs again): %s", err.msg);
    else
        atomic_fetch_add(&s->w->jobs_done, 1);
    msgpack_sbuffer_destroy(&out);
}

/* A long run on a records worker: the job and where its outcome goes, for its own thread. */
typedef struct bro_runtime_long {
    bro_slot *s;             /* the slot that waits for the run */
    const bro_handler *h;    /* the job's handler */
    const bro_envelope *env; /* the job */
    const bro_queue_msg *m;  /* its message, kept claimed meanwhile */
    bro_db *db;              /* the run's own connection, niced; owned by the caller */
    bro_err *err;            /* why the run failed */
    int rc;                  /* the run's result */
} bro_runtime_long;

/* The long run's thread: it lowers its own CPU priority (Linux nice is per thread), which
 * ends with it, then runs the job. */
static void *bro_runtime_long_main(void *arg)
{
    bro_runtime_long *l = arg;
    int nice = l->s->w->cfg.long_nice;
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice) < 0)
        bro_log_debug(NULL, "long run at normal CPU priority: %s", strerror(errno));
    l->rc = bro_runtime_run_async(l->s, l->h, l->env, l->m, l->db, l->err);
    return NULL;
}

/* Runs a long job's run phase at the long nice, database side included. A worker without
 * records has niced every connection and thread already, and runs it in place. A records
 * worker's slot must keep nice 0 for the records jobs it runs next, and an unprivileged role
 * can raise a backend's nice but never lower it again: so the run gets a fresh connection,
 * niced and closed when the run ends, and a thread of its own whose nice ends with it. That
 * costs one connect per long job, which runs for seconds, and keeps every slot free for
 * records when no long job runs (dedicated long slots would sit idle then). */
static int bro_runtime_run_long(bro_slot *s, const bro_handler *h, const bro_envelope *env,
                                const bro_queue_msg *m, bro_err *err)
{
    bro_worker *w = s->w;
    if (!w->serves_records || w->cfg.long_nice <= 0)
        return bro_runtime_run_async(s, h, env, m, s->db, err);
    bro_db *db = bro_db_connect(w->cfg.pg, err);
    if (db == NULL) {
        err->code = BRO_E_RETRY; /* the database is away: the run comes back */
        return -1;
    }
    bro_runtime_nice_db(w, db);
    bro_runtime_long l = {s, h, env, m, db, err, -1};
    pthread_t t;
    if (pthread_create(&t, NULL, bro_runtime_long_main, &l) == 0)
        pthread_join(t, NULL);
    else
        l.rc = bro_err_set(err, BRO_E_RETRY, "no thread for a long run");
    bro_db_free(db);
    return l.rc;
}

static int bro_runtime_long_take(bro_slot *s);
static void bro_runtime_long_done(bro_slot *s);
static void bro_runtime_ack(bro_slot *s, const bro_queue_msg *m, const bro_log_ctx *lc);
static void bro_runtime_defer(bro_slot *s, const bro_queue_msg *m, const bro_log_ctx *lc);

/* What a job's execution leads to: publish, acknowledge, retry or dead-letter. */
static void bro_runtime_finish(bro_slot *s, const bro_handler *h, bro_envelope *env,
                               const bro_queue_msg *m, int attempt, bro_result *res,
                               const bro_log_ctx *lc)
{
    bro_err err = {0};
    bro_outcome out = bro_runtime_execute(s, h, env, res);
    bro_wmetrics_end(
        s->w->metrics, s->index, env->kind,
        bro_wmetrics_outcome_of(out == BRO_OUT_REPLY, out == BRO_OUT_RETRY, res->status),
        res->err.code);
    switch (out) {
    case BRO_OUT_REPLY:
        /* The common case, a reply awaited: reply and acknowledgement in one round trip. A
         * job nobody waits for is acknowledged with others below. */
        if ((h->flags & BRO_H_READ) ||
            (env->reply_to[0] && !(h->run && res->status == 202) && !res->after_commit)) {
            bro_runtime_answer(s, env, m, res, lc);
            bro_log_debug(lc, "%s -> %d", env->kind, res->status);
            break;
        }
        bro_runtime_publish(s, env, res, lc);
        if (h->run && res->status == 202) {
            /* The accept is committed and answered; the run waits for a slot of its own. */
            if (!bro_runtime_long_take(s)) {
                bro_runtime_defer(s, m, lc);
                break;
            }
            int rc = bro_runtime_run_long(s, h, env, m, &res->err);
            bro_runtime_long_done(s);
            if (rc < 0) {
                bro_runtime_retry(s, m, env, attempt, res->err.msg, lc);
                break;
            }
        }
        if (res->after_commit == 0) /* acknowledged with those other slots finish meanwhile */
            bro_runtime_ack(s, m, lc);
        else if (bro_queue_ack(s->queue, m, &err) < 0)
            bro_log_warn(lc, "ack failed: %s", err.msg);
        else
            bro_runtime_after_commit(s, res, lc);
        atomic_fetch_add(&s->w->jobs_done, 1);
        bro_log_debug(lc, "%s -> %d", env->kind, res->status);
        break;
    case BRO_OUT_RETRY:
        bro_runtime_retry(s, m, env, attempt, res->err.msg, lc);
        break;
    case BRO_OUT_FAIL:
        bro_runtime_set_problem(res, BRO_E_INTERNAL, "the job failed", NULL);
        bro_runtime_dead(s, m, env, attempt, res->err.msg[0] ? res->err.msg : "failed", lc);
        bro_runtime_publish(s, env, res, lc);
        break;
    }
}

/* Long jobs (those with a run phase) may fill every slot but the ones kept for the records
 * queue's short jobs: 1 when the slot may start one (release with bro_runtime_long_done). */
static int bro_runtime_long_take(bro_slot *s)
{
    bro_worker *w = s->w;
    int cap = w->concurrency - bro_runtime_kept_slots(w->concurrency);
    int now = atomic_load(&w->long_in_flight);
    while (now < cap)
        if (atomic_compare_exchange_weak(&w->long_in_flight, &now, now + 1))
            return 1;
    return 0;
}

static void bro_runtime_long_done(bro_slot *s)
{
    atomic_fetch_sub(&s->w->long_in_flight, 1);
}

/* No slot may start a long job's run now: the message goes back unchanged (attempt not raised)
 * to run a little later, here or on another worker with room. Its accept is committed, so
 * that delivery replays the accept from processed_jobs and goes on with the run, as after a
 * crash. */
static void bro_runtime_defer(bro_slot *s, const bro_queue_msg *m, const bro_log_ctx *lc)
{
    bro_err err = {0};
    int64_t delay = BRO_RUNTIME_DEFER_MS / 2 + (int64_t)arc4random_uniform(BRO_RUNTIME_DEFER_MS);
    if (bro_queue_retry(s->queue, m, m->data, m->len, delay, &err) < 0)
        bro_log_warn(lc, "could not defer a long job: %s", err.msg);
    else
        bro_log_debug(lc, "long job deferred %lld ms: its slots are busy", (long long)delay);
}

static void bro_runtime_handle(bro_slot *s, bro_queue_msg *m)
{
    msgpack_unpacked holder;
    msgpack_unpacked_init(&holder);
    bro_envelope env;
    bro_err err = {0};
    bro_result res = {0};
    msgpack_sbuffer_init(&res.payload);
    msgpack_sbuffer_init(&res.audit);
    bro_log_ctx lc = {NULL, NULL, NULL};
    bro_wmetrics_begin(s->w->metrics, s->index);
    if (m->data == NULL) {
        bro_runtime_dead(s, m, NULL, m->deliveries, "decode: entry has no envelope field", &lc);
        goto out;
    }
    if (bro_envelope_decode(&env, &holder, m->data, m->len, &err) < 0) {
        bro_runtime_dead(s, m, NULL, m->deliveries, err.msg, &lc);
        goto out;
    }
    lc = (bro_log_ctx){env.tenant[0] ? env.tenant : NULL, env.req, env.id};
    int attempt = env.attempt + (m->deliveries > 1 ? m->deliveries - 1 : 0);
    /* A job that cannot run is dead-lettered before whoever waits hears why, so the record an
     * operator reads exists by the time the client has its answer. */
    const bro_handler *h = bro_handlers_find(env.kind);
    if (h == NULL || strcmp(h->queue, m->queue) != 0) {
        bro_runtime_set_problem(&res, BRO_E_INTERNAL, "no handler for this job", NULL);
        bro_runtime_dead(s, m, &env, attempt,
                         h ? "job kind posted to another queue than its own" : "unknown job kind",
                         &lc);
        bro_runtime_publish(s, &env, &res, &lc);
        goto out;
    }
    if (attempt > s->w->cfg.max_attempts) {
        bro_runtime_set_problem(&res, BRO_E_UNAVAILABLE, "the job could not be completed", NULL);
        bro_runtime_dead(s, m, &env, attempt, "too many deliveries", &lc);
        bro_runtime_publish(s, &env, &res, &lc);
        goto out;
    }
    if ((h->flags & (BRO_H_READONLY | BRO_H_READ)) && env.deadline < bro_ids_now_ms()) {
        bro_log_debug(&lc, "dropped %s: deadline passed", env.kind);
        bro_wmetrics_end(s->w->metrics, s->index, env.kind, BRO_WM_DROPPED, BRO_E_NONE);
        bro_runtime_ack(s, m, &lc);
        goto out;
    }
    bro_runtime_finish(s, h, &env, m, attempt, &res, &lc);
out:
    msgpack_sbuffer_destroy(&res.payload);
    msgpack_sbuffer_destroy(&res.audit);
    msgpack_unpacked_destroy(&holder);
}

/* ---- the slots ----------------------------------------------------------------------------- */

/* Opens a queue handle for the worker's queues (records_only: the records queue alone). Only
 * the fetcher's handle of all queues moves due delayed jobs back. */
static bro_queue *bro_runtime_open_queue(bro_worker *w, int records_only, int promote, bro_err *err)
{
    const char *names[BRO_QUEUE_MAX];
    int n = 0;
    for (int i = 0; i < w->nqueues; i++)
        if (!records_only || strcmp(w->queues[i], BRO_QUEUE_RECORDS) == 0)
            names[n++] = w->queues[i];
    bro_queue_opts opts = {w->cfg.visibility_ms, w->cfg.max_attempts, 2000,
                           w->has_dead_key ? &w->dead_key : NULL, !promote};
    return bro_queue_open(w->cfg.redis, w->id, names, n, &opts, err);
}

/* Connects a slot's own Redis and PostgreSQL connections, retrying with backoff until both
 * answer or stop is set. */
static int bro_runtime_slot_connect(bro_slot *s)
{
    bro_worker *w = s->w;
    for (int attempt = 1; !*w->stop; attempt++) {
        bro_err err = {0};
        if (s->queue == NULL)
            s->queue = bro_runtime_open_queue(w, 0, 0, &err);
        /* A worker without records runs long work only, so each slot's connection is niced for
         * good; a records worker's slots keep nice 0 (bro_runtime_run_long). */
        if (s->queue && s->db == NULL && (s->db = bro_db_connect(w->cfg.pg, &err)) &&
            !w->serves_records)
            bro_runtime_nice_db(w, s->db);
        if (s->queue && s->db)
            return 0;
        bro_log_warn(NULL, "slot %d not connected yet (%s), retrying", s->index, err.msg);
        bro_runtime_pause(w, (int)bro_queue_backoff_ms(attempt < 6 ? attempt : 6, 200));
    }
    return -1;
}

/* Records the job in hand (m NULL: none) for bro_runtime_touch_held. */
static void bro_runtime_hold(bro_slot *s, const bro_queue_msg *m)
{
    pthread_mutex_lock(&s->held_lock);
    if (m) {
        s->held = *m;
        s->held.data = NULL; /* the slot's to free, never the main thread's */
        s->held.len = 0;
    } else {
        s->held.stream_id[0] = '\0';
    }
    pthread_mutex_unlock(&s->held_lock);
}

/* Acknowledges a finished job together with those other slots finish meanwhile: the first
 * slot to arrive sends, in one round trip, every acknowledgement waiting, and goes on while
 * more arrive; the others only leave theirs. Under load one round trip serves many jobs; alone,
 * a job is acknowledged at once. A failed send leaves the jobs pending: they are delivered
 * again after the visibility timeout and replayed from their stored replies. */
static void bro_runtime_ack(bro_slot *s, const bro_queue_msg *m, const bro_log_ctx *lc)
{
    bro_worker *w = s->w;
    bro_err err = {0};
    pthread_mutex_lock(&w->ack_lock);
    if (w->nacks == w->concurrency) { /* a slow send: this one goes alone */
        pthread_mutex_unlock(&w->ack_lock);
        if (bro_queue_ack(s->queue, m, &err) < 0)
            bro_log_warn(lc, "ack failed: %s", err.msg);
        return;
    }
    w->acks[w->nacks] = *m;
    w->acks[w->nacks].data = NULL;
    w->acks[w->nacks++].len = 0;
    if (w->acking) {
        pthread_mutex_unlock(&w->ack_lock);
        return;
    }
    w->acking = 1;
    bro_queue_msg batch[BRO_RUNTIME_CONCURRENCY_MAX];
    while (w->nacks > 0) {
        int n = w->nacks;
        memcpy(batch, w->acks, sizeof(batch[0]) * (size_t)n);
        w->nacks = 0;
        pthread_mutex_unlock(&w->ack_lock);
        if (bro_queue_ack_many(s->queue, batch, n, &err) < 0)
            bro_log_warn(lc, "ack of %d job(s) failed: %s", n, err.msg);
        pthread_mutex_lock(&w->ack_lock);
    }
    w->acking = 0;
    pthread_mutex_unlock(&w->ack_lock);
}

/* Waits up to 100 ms on cond (so a stop is noticed even unsignalled). Called with w->lock. */
static void bro_runtime_wait(bro_worker *w, pthread_cond_t *cond)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cond, &w->lock, &ts);
}

/* A slot's life: wait for a job from the fetcher, run it, again, until the fetcher has stopped
 * and nothing is left in the inbox: every job taken is finished, even when stop arrives
 * meanwhile (one dropped would only wait for its visibility timeout). */
static void *bro_runtime_slot_main(void *arg)
{
    bro_slot *s = arg;
    bro_worker *w = s->w;
    if (bro_runtime_slot_connect(s) < 0) {
        pthread_mutex_lock(&w->lock);
        while (!w->fetch_done || w->inbox_len > 0) { /* no connection: leave the jobs to others */
            bro_runtime_wait(w, &w->work);
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
    }
    pthread_mutex_lock(&w->lock);
    for (;;) {
        w->idle++;
        pthread_cond_signal(&w->room);
        while (w->inbox_len == 0 && !w->fetch_done)
            bro_runtime_wait(w, &w->work);
        w->idle--;
        if (w->inbox_len == 0)
            break;
        bro_queue_msg m = w->inbox[w->inbox_head];
        w->inbox_head = (w->inbox_head + 1) % w->concurrency;
        w->inbox_len--;
        pthread_mutex_unlock(&w->lock);
        int other = strcmp(m.queue, BRO_QUEUE_RECORDS) != 0;
        bro_runtime_hold(s, &m);
        bro_runtime_handle(s, &m);
        bro_runtime_hold(s, NULL);
        bro_queue_msg_clear(&m);
        atomic_fetch_sub(&w->in_flight, 1);
        if (other)
            atomic_fetch_sub(&w->others_in_flight, 1);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* How many jobs the fetcher may take now (0: none), and whether from records alone: jobs of
 * the other queues may fill every slot but the kept ones. Called with w->lock. */
static int bro_runtime_room(bro_worker *w, int kept, int *records_only)
{
    int room = w->idle - w->inbox_len;
    int others = w->concurrency - kept - atomic_load(&w->others_in_flight);
    *records_only = kept > 0 && others <= 0;
    if (kept > 0 && !*records_only && others < room)
        room = others; /* what comes may all be of the other queues */
    return room < BRO_QUEUE_BATCH_MAX ? room : BRO_QUEUE_BATCH_MAX;
}

/* Hands n taken jobs to the waiting slots. */
static void bro_runtime_deliver(bro_worker *w, bro_queue_msg *msgs, int n)
{
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < n; i++) {
        w->inbox[(w->inbox_head + w->inbox_len++) % w->concurrency] = msgs[i];
        atomic_fetch_add(&w->in_flight, 1);
        if (strcmp(msgs[i].queue, BRO_QUEUE_RECORDS) != 0)
            atomic_fetch_add(&w->others_in_flight, 1);
    }
    if (n >= w->idle) /* wake as many slots as there are jobs, not every slot for one job */
        pthread_cond_broadcast(&w->work);
    else
        for (int i = 0; i < n; i++)
            pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->lock);
}

/* The fetcher: one thread that takes jobs for all slots, as many at once as slots wait (at
 * most BRO_QUEUE_BATCH_MAX a read), blocking while none are free. When the worker serves more
 * than records, a quarter of the slots is kept for records: once the other queues' jobs fill
 * the rest, it reads records alone. */
static void *bro_runtime_fetch_main(void *arg)
{
    bro_worker *w = arg;
    int serves_others = 0, serves_records = 0;
    for (int i = 0; i < w->nqueues; i++) {
        int rec = strcmp(w->queues[i], BRO_QUEUE_RECORDS) == 0;
        serves_records |= rec;
        serves_others |= !rec;
    }
    int kept = serves_records && serves_others ? bro_runtime_kept_slots(w->concurrency) : 0;
    bro_queue *all = NULL, *records = NULL;
    bro_queue_msg msgs[BRO_QUEUE_BATCH_MAX];
    memset(msgs, 0, sizeof(msgs));
    for (int failures = 0, attempt = 1; !*w->stop;) {
        bro_err err = {0};
        if (all == NULL || (kept && records == NULL)) {
            if (all == NULL)
                all = bro_runtime_open_queue(w, 0, 1, &err);
            if (all && kept && records == NULL)
                records = bro_runtime_open_queue(w, 1, 0, &err);
            if (all == NULL || (kept && records == NULL)) {
                bro_log_warn(NULL, "fetcher not connected yet (%s), retrying", err.msg);
                bro_runtime_pause(w, (int)bro_queue_backoff_ms(attempt < 6 ? attempt++ : 6, 200));
                continue;
            }
        }
        int records_only = 0, room;
        pthread_mutex_lock(&w->lock);
        while ((room = bro_runtime_room(w, kept, &records_only)) <= 0 && !*w->stop)
            bro_runtime_wait(w, &w->room);
        pthread_mutex_unlock(&w->lock);
        if (room <= 0)
            break;
        int n = 0;
        if (bro_queue_read(records_only ? records : all,
                           records_only ? BRO_RUNTIME_KEPT_BLOCK_MS : BRO_RUNTIME_BLOCK_MS, msgs,
                           room, &n, &err) < 0) {
            bro_log_warn(NULL, "queue read failed: %s", err.msg);
            bro_runtime_pause(w, (int)bro_queue_backoff_ms(++failures < 6 ? failures : 6, 200));
            continue;
        }
        failures = 0;
        bro_runtime_deliver(w, msgs, n);
    }
    pthread_mutex_lock(&w->lock);
    w->fetch_done = 1;
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->lock);
    bro_queue_free(all);
    bro_queue_free(records);
    return NULL;
}

/* Starts the slots and the fetcher with every signal blocked in them, so SIGTERM reaches the
 * main thread. Returns 0, or -1 when memory or threads ran out (the started ones keep
 * running until stop). */
static int bro_runtime_slots_start(bro_worker *w)
{
    w->slots = calloc((size_t)w->concurrency, sizeof(*w->slots));
    w->inbox = calloc((size_t)w->concurrency, sizeof(*w->inbox));
    w->acks = calloc((size_t)w->concurrency, sizeof(*w->acks));
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->ack_lock, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->room, NULL);
    if (w->slots == NULL || w->inbox == NULL || w->acks == NULL)
        return -1;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = 0;
    for (int i = 0; i < w->concurrency && rc == 0; i++) {
        bro_slot *s = &w->slots[i];
        *s = (bro_slot){.w = w, .index = i};
        pthread_mutex_init(&s->held_lock, NULL);
        if (pthread_create(&s->thread, NULL, bro_runtime_slot_main, s) != 0)
            rc = -1;
        else
            s->started = 1;
    }
    if (rc == 0 && pthread_create(&w->fetcher, NULL, bro_runtime_fetch_main, w) != 0)
        rc = -1;
    else if (rc == 0)
        w->fetcher_started = 1;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Waits for the fetcher, then for every slot to finish the jobs in hand, then closes their
 * connections. */
static void bro_runtime_slots_stop(bro_worker *w)
{
    if (w->fetcher_started) {
        pthread_join(w->fetcher, NULL);
    } else {
        pthread_mutex_lock(&w->lock);
        w->fetch_done = 1;
        pthread_cond_broadcast(&w->work);
        pthread_mutex_unlock(&w->lock);
    }
    for (int i = 0; w->slots && i < w->concurrency; i++) {
        bro_slot *s = &w->slots[i];
        if (s->started)
            pthread_join(s->thread, NULL);
        bro_queue_free(s->queue);
        bro_db_free(s->db);
        pthread_mutex_destroy(&s->held_lock);
    }
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->room);
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->ack_lock);
    free(w->slots);
    free(w->inbox);
    free(w->acks);
    w->slots = NULL;
}

/* ---- the main thread ----------------------------------------------------------------------- */

static void bro_runtime_heartbeat(bro_worker *w)
{
    int64_t now = bro_ids_now_ms();
    if (now - w->last_heartbeat_ms < BRO_RUNTIME_HEARTBEAT_MS)
        return;
    json_t *queues = json_array();
    for (int i = 0; i < w->nqueues; i++)
        json_array_append_new(queues, json_string(w->queues[i]));
    json_t *info =
        json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:i, s:i, s:i, s:i}", "id", w->id, "queues",
                  queues, "started_ms", (json_int_t)w->started_ms, "heartbeat_ms", (json_int_t)now,
                  "jobs_done", (json_int_t)atomic_load(&w->jobs_done), "jobs_failed",
                  (json_int_t)atomic_load(&w->jobs_failed), "pid", (int)getpid(), "concurrency",
                  w->concurrency, "in_flight", atomic_load(&w->in_flight), "long_in_flight",
                  atomic_load(&w->long_in_flight));
    char *text = info ? json_dumps(info, JSON_COMPACT) : NULL;
    bro_err err = {0};
    if (text && bro_queue_heartbeat(w->queue, text, w->cfg.heartbeat_ttl_ms, &err) == 0)
        w->last_heartbeat_ms = now;
    else
        bro_log_warn(NULL, "heartbeat failed: %s", err.msg);
    free(text);
    json_decref(info);
}

/* Every third of the visibility timeout (at most each second): claims again, for this
 * consumer, the job each slot holds, which resets its idle time. A job is then reclaimed only
 * when its whole process went silent. A job finished meanwhile is no longer pending, and the
 * claim passes it by. */
static void bro_runtime_touch_held(bro_worker *w)
{
    int64_t now = bro_ids_now_ms();
    int every = w->cfg.visibility_ms / 3 < 1000 ? w->cfg.visibility_ms / 3 : 1000;
    if (now - w->last_touch_ms < every)
        return;
    w->last_touch_ms = now;
    for (int i = 0; i < w->concurrency; i++) {
        bro_slot *s = &w->slots[i];
        bro_queue_msg m;
        pthread_mutex_lock(&s->held_lock);
        m = s->held;
        pthread_mutex_unlock(&s->held_lock);
        bro_err err = {0};
        if (m.stream_id[0] && bro_queue_touch(w->queue, &m, &err) < 0)
            bro_log_warn(NULL, "could not keep %s: %s", m.stream_id, err.msg);
    }
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
    if (w->concurrency < 1)
        w->concurrency = 1;
    if (bro_runtime_connect(w) < 0)
        return 0;
    int rc = bro_runtime_slots_start(w);
    if (rc < 0)
        bro_log_error(NULL, "could not start %d job slots; stopping", w->concurrency);
    /* A module's own thread beside the slots: notify's deliveries run outside any job. */
    bro_err nerr = {0};
    for (int i = 0; rc == 0 && i < w->nqueues; i++)
        if (strcmp(w->queues[i], BRO_QUEUE_NOTIFY) == 0 &&
            (rc = bro_notify_start(&w->cfg, w->has_dead_key ? &w->dead_key : NULL, w->stop,
                                   &nerr)) < 0)
            bro_log_error(NULL, "%s; stopping", nerr.msg);
        else
            bro_log_info(NULL, "worker %s serving %d queue(s) with %d job slot(s)", w->id,
                         w->nqueues, w->concurrency);
    while (rc == 0 && !*w->stop) {
        bro_runtime_heartbeat(w);
        bro_wmetrics_tick(w, 0);
        bro_runtime_touch_held(w);
        bro_janitor_tick(w);
        bro_runtime_pause(w, BRO_RUNTIME_TICK_MS);
    }
    if (rc < 0)
        *w->stop = 1;
    bro_notify_stop();
    bro_runtime_slots_stop(w);
    bro_wmetrics_tick(w, 1);
    bro_log_info(NULL, "worker %s stopping after %lld jobs", w->id,
                 (long long)atomic_load(&w->jobs_done));
    bro_janitor_stop(w);
    bro_runtime_leave(w);
    return rc;
}
