/* A cursor read in a thread of its own on a connection of the reports module's own (see
 * reader.h). The job's connection stays the job's: this one is opened here, per read, with the
 * job connection's options, and closed when the read is done. */
#include "reports/reader.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/db.h"
#include "common/log.h"

#define BRO_RREADER_OPTIONS   48  /* connection options copied from the job's connection */
#define BRO_RREADER_CANCEL_MS 100 /* how often a stop resends its cancel while it waits */

struct bro_rreader {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;                /* a batch queued or taken, the end, or a stop */
    PGresult *queue[BRO_RREADER_DEPTH]; /* batches fetched and not yet taken; owned */
    int head, n;                        /* the oldest batch's slot, how many are queued */
    int ended;                          /* the reader's thread queued its last batch or failed */
    int stop;                           /* the job's thread wants no more */
    bro_err err;                        /* why the reader failed; BRO_E_NONE when it did not */
    PGcancel *cancel;                   /* cancels the reader's statement in flight; under mu */
    const char *keys[BRO_RREADER_OPTIONS + 1], *vals[BRO_RREADER_OPTIONS + 1]; /* owned vals */
    char *snapshot, *role, *path, *declare, *param, *fetch;                    /* owned */
    int rows;
    int nice; /* the reader's backend nice, as the job's; 0 none */
};

/* ---- the reader's thread ------------------------------------------------------------------- */

static int bro_rreader_stopped(bro_rreader *r)
{
    pthread_mutex_lock(&r->mu);
    int stop = r->stop;
    pthread_mutex_unlock(&r->mu);
    return stop;
}

/* Runs sql (with $1 = param when not NULL) on c; the result in *out when out is not NULL. */
static int bro_rreader_exec(PGconn *c, const char *sql, const char *param, int binary,
                            PGresult **out, bro_err *err)
{
    const char *p[] = {param};
    PGresult *res = PQexecParams(c, sql, param ? 1 : 0, NULL, param ? p : NULL, NULL, NULL, binary);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (out)
            *out = res;
        else
            PQclear(res);
        return 0;
    }
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (PQstatus(c) != CONNECTION_OK || state == NULL)
        bro_err_set(err, BRO_E_RETRY, "postgres (reports reader): connection lost");
    else
        /* As common/db.c: the primary message names no value we sent; DETAIL may, so never. */
        bro_err_set(err,
                    strcmp(state, "40001") == 0 || strncmp(state, "08", 2) == 0 ||
                            strcmp(state, "57P01") == 0
                        ? BRO_E_RETRY
                        : BRO_E_DB,
                    "postgres (reports reader): SQLSTATE %s: %.70s", state, primary ? primary : "");
    PQclear(res);
    return -1;
}

/* The transaction the job's has: its snapshot, its role, its search_path; then the cursor. */
static int bro_rreader_open(bro_rreader *r, PGconn *c, bro_err *err)
{
    char sql[160];
    if (bro_rreader_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL, 0, NULL, err) <
        0)
        return -1;
    snprintf(sql, sizeof(sql), "SET TRANSACTION SNAPSHOT '%s'", r->snapshot); /* checked */
    if (bro_rreader_exec(c, sql, NULL, 0, NULL, err) < 0)
        return -1;
    char *ident = PQescapeIdentifier(c, r->role, strlen(r->role));
    if (ident == NULL)
        return bro_err_set(err, BRO_E_NOMEM, "postgres (reports reader): cannot escape the role");
    snprintf(sql, sizeof(sql), "SET LOCAL ROLE %s", ident);
    PQfreemem(ident);
    if (bro_rreader_exec(c, sql, NULL, 0, NULL, err) < 0 ||
        bro_rreader_exec(c,
                         "SELECT set_config('search_path', $1, true), set_config('jit', 'off',"
                         " true)",
                         r->path, 0, NULL, err) < 0)
        return -1;
    return bro_rreader_exec(c, r->declare, r->param, 0, NULL, err);
}

/* Queues one batch, waiting while the queue is full. Returns 0, or -1 when stopped (res freed). */
static int bro_rreader_push(bro_rreader *r, PGresult *res)
{
    pthread_mutex_lock(&r->mu);
    while (r->n == BRO_RREADER_DEPTH && !r->stop)
        pthread_cond_wait(&r->cond, &r->mu);
    int stop = r->stop;
    if (!stop) {
        r->queue[(r->head + r->n) % BRO_RREADER_DEPTH] = res;
        r->n++;
        pthread_cond_broadcast(&r->cond);
    }
    pthread_mutex_unlock(&r->mu);
    if (stop)
        PQclear(res);
    return stop ? -1 : 0;
}

static void bro_rreader_read(bro_rreader *r, PGconn *c, bro_err *err)
{
    if (bro_rreader_open(r, c, err) < 0)
        return;
    for (;;) {
        PGresult *res = NULL;
        if (bro_rreader_stopped(r) || bro_rreader_exec(c, r->fetch, NULL, 1, &res, err) < 0)
            return;
        int last = PQntuples(res) < r->rows;
        if (bro_rreader_push(r, res) < 0 || last)
            return;
    }
}

static void *bro_rreader_main(void *arg)
{
    bro_rreader *r = arg;
    bro_err err = {0};
    PGconn *c = PQconnectdbParams(r->keys, r->vals, 0);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        bro_err_set(&err, BRO_E_RETRY, "postgres (reports reader): cannot connect");
    } else {
        pthread_mutex_lock(&r->mu);
        r->cancel = PQgetCancel(c);
        pthread_mutex_unlock(&r->mu);
        /* The job's long work, its reads too, yields the CPU as the job's own backend does. */
        bro_err nerr = {0};
        if (r->nice > 0 && bro_db_nice_conn(c, r->nice, &nerr) != 0)
            bro_log_debug(NULL, "reports reader at normal priority: %s", nerr.msg);
        bro_rreader_read(r, c, &err);
    }
    pthread_mutex_lock(&r->mu);
    if (r->cancel)
        PQfreeCancel(r->cancel);
    r->cancel = NULL;
    r->ended = 1;
    r->err = err;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
    PQfinish(c); /* the read-only transaction ends with the connection */
    return NULL;
}

/* ---- the job's side ------------------------------------------------------------------------ */

/* The job connection's options as connection parameters (keys static in libpq's table are
 * copied with the values, both owned by r). */
static int bro_rreader_options(bro_rreader *r, PGconn *like)
{
    PQconninfoOption *opts = PQconninfo(like);
    if (opts == NULL)
        return -1;
    int n = 0, rc = 0;
    for (PQconninfoOption *o = opts; o->keyword && n < BRO_RREADER_OPTIONS; o++) {
        if (o->val == NULL || o->val[0] == '\0')
            continue;
        r->keys[n] = strdup(o->keyword);
        r->vals[n] = strdup(o->val);
        if (r->keys[n] == NULL || r->vals[n] == NULL)
            rc = -1;
        n++;
    }
    PQconninfoFree(opts);
    return rc;
}

static void bro_rreader_release(bro_rreader *r)
{
    for (int i = 0; i < BRO_RREADER_OPTIONS; i++) {
        free((char *)r->keys[i]);
        free((char *)r->vals[i]);
    }
    free(r->snapshot);
    free(r->role);
    free(r->path);
    free(r->declare);
    free(r->param);
    free(r->fetch);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* A snapshot's name as PostgreSQL makes them (hex digits and dashes), so it can be spelled in
 * SET TRANSACTION SNAPSHOT, which takes no parameter. */
static int bro_rreader_snapshot_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < 64 && strspn(s, "0123456789ABCDEFabcdef-") == n;
}

bro_rreader *bro_rreader_start(const bro_rreader_spec *spec, bro_err *err)
{
    if (!bro_rreader_snapshot_ok(spec->snapshot) || spec->rows <= 0) {
        bro_err_set(err, BRO_E_INTERNAL, "reports reader: not a snapshot name");
        return NULL;
    }
    bro_rreader *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        bro_err_set(err, BRO_E_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->snapshot = strdup(spec->snapshot);
    r->role = strdup(spec->role);
    r->path = strdup(spec->path);
    r->declare = strdup(spec->declare);
    r->param = strdup(spec->param);
    r->fetch = strdup(spec->fetch);
    r->rows = spec->rows;
    r->nice = spec->nice;
    if (!r->snapshot || !r->role || !r->path || !r->declare || !r->param || !r->fetch ||
        bro_rreader_options(r, spec->like) < 0) {
        bro_rreader_release(r);
        bro_err_set(err, BRO_E_NOMEM, "out of memory");
        return NULL;
    }
    int rc = pthread_create(&r->thread, NULL, bro_rreader_main, r);
    if (rc != 0) {
        bro_rreader_release(r);
        bro_err_set(err, BRO_E_RETRY, "reports reader: cannot start a thread (%s)", strerror(rc));
        return NULL;
    }
    return r;
}

PGresult *bro_rreader_next(bro_rreader *r, bro_err *err)
{
    pthread_mutex_lock(&r->mu);
    while (r->n == 0 && !r->ended)
        pthread_cond_wait(&r->cond, &r->mu);
    PGresult *res = NULL;
    if (r->n > 0) {
        res = r->queue[r->head];
        r->head = (r->head + 1) % BRO_RREADER_DEPTH;
        r->n--;
        pthread_cond_broadcast(&r->cond);
    } else if (r->err.code != BRO_E_NONE) {
        *err = r->err;
    }
    pthread_mutex_unlock(&r->mu);
    return res;
}

void bro_rreader_free(bro_rreader *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_broadcast(&r->cond);
    /* A statement in flight (a FETCH, or one waiting on a lock) is cancelled; a cancel that
     * arrived between two statements is sent again until the thread has ended. */
    while (!r->ended) {
        char why[128];
        if (r->cancel)
            PQcancel(r->cancel, why, sizeof(why));
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += BRO_RREADER_CANCEL_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        (void)pthread_cond_timedwait(&r->cond, &r->mu, &until); /* woken or timed out: look */
    }
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    for (int i = 0; i < r->n; i++)
        PQclear(r->queue[(r->head + i) % BRO_RREADER_DEPTH]);
    bro_rreader_release(r);
}
