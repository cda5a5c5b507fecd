/* The tenant transaction on libpq: BEGIN, SET LOCAL ROLE t_<slug>, SET LOCAL search_path, the
 * job's statements as parameterised queries, COMMIT. Errors are mapped by SQLSTATE so callers
 * can tell a conflict from a transient failure without reading messages. */
#include "common/db.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/log.h"

#define BRO_DB_STMTS 128 /* prepared statements kept per connection */

/* A statement prepared on this connection under the name "bro<index>". */
typedef struct bro_db_stmt {
    char *sql;     /* owned copy; NULL marks a free slot */
    uint64_t hash; /* of sql, to skip most strcmp calls */
} bro_db_stmt;

struct bro_db {
    PGconn *conn;       /* owned; NULL never (allocation failure aborts connect) */
    char conninfo[512]; /* kept for reconnects */
    int in_txn;         /* 1 between a successful begin and commit/rollback */
    int begin_pending;  /* begun but not yet sent: goes out with the first statement */
    int read_only;      /* the transaction began READ ONLY */
    int repeatable;     /* the transaction began ISOLATION LEVEL REPEATABLE READ */
    int commit_unread;  /* a read-only COMMIT was sent and its result not yet read */
    char role_sql[96];  /* "SET LOCAL ROLE <ident>", "" for the platform */
    char path[72];      /* search_path value: an escaped identifier or "platform" */
    int reset_stmts;    /* a cached plan went stale: forget them all after rollback */
    bro_db_stmt stmts[BRO_DB_STMTS];
    /* sessions re-established after a loss (bro_db_reconnects) */
    long long reconnects;
    int nice; /* the backend's nice value set by bro_db_set_nice, made again after a
                 reconnect; 0: never set */
};

bro_db *bro_db_connect(const char *conninfo, bro_err *err)
{
    bro_db *db = calloc(1, sizeof(*db));
    if (db == NULL) {
        bro_err_set(err, BRO_E_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(db->conninfo, sizeof(db->conninfo), "%s", conninfo);
    /* Statements stay prepared (parse once per connection), but each execution is planned for
     * its values: the lists' optional filters ("$6 IS NULL OR status = $6") only use their
     * indexes in a plan made for the values at hand, never in a generic one. */
    const char *const keys[] = {"dbname", "options", NULL};
    const char *const values[] = {conninfo, "-c plan_cache_mode=force_custom_plan", NULL};
    db->conn = PQconnectdbParams(keys, values, 1);
    if (db->conn == NULL) {
        free(db);
        bro_err_set(err, BRO_E_NOMEM, "postgres: cannot allocate connection");
        return NULL;
    }
    if (PQstatus(db->conn) != CONNECTION_OK) {
        bro_err_set(err, BRO_E_UNAVAILABLE, "postgres: %.100s", PQerrorMessage(db->conn));
        bro_db_free(db);
        return NULL;
    }
    return db;
}

/* Forgets the statement cache (after a reconnect, or DEALLOCATE ALL). */
static void bro_db_forget_stmts(bro_db *db)
{
    for (int i = 0; i < BRO_DB_STMTS; i++) {
        free(db->stmts[i].sql);
        db->stmts[i].sql = NULL;
    }
}

static void bro_db_drain(bro_db *db, int nqueries, PGresult **last, PGresult **failed, int *ok);

/* Reads the result of a read-only transaction's COMMIT, sent without waiting for it (see
 * bro_db_commit). By the time the connection is used again it has long arrived, so this costs
 * no round trip. A failure there lost nothing (the transaction wrote nothing) and is only
 * logged; a lost connection is found by the next begin. */
static void bro_db_settle(bro_db *db)
{
    if (!db->commit_unread)
        return;
    db->commit_unread = 0;
    PGresult *last = NULL, *failed = NULL;
    int ok[1];
    bro_db_drain(db, 1, &last, &failed, ok);
    PQexitPipelineMode(db->conn);
    if (last == NULL || strcmp(PQcmdStatus(last), "COMMIT") != 0)
        bro_log_warn(NULL, "postgres: a read-only commit did not succeed: %.80s",
                     failed ? PQresultErrorMessage(failed) : PQerrorMessage(db->conn));
    PQclear(last);
    PQclear(failed);
}

void bro_db_free(bro_db *db)
{
    if (db == NULL)
        return;
    if (db->conn)
        PQfinish(db->conn);
    bro_db_forget_stmts(db);
    free(db);
}

long long bro_db_reconnects(const bro_db *db)
{
    return db ? __atomic_load_n(&db->reconnects, __ATOMIC_RELAXED) : 0;
}

PGconn *bro_db_conn(bro_db *db)
{
    bro_db_settle(db); /* whoever uses the connection directly finds it idle */
    return db->conn;
}

/* Maps a failed result to an error code by SQLSTATE class. */
static int bro_db_fail(bro_db *db, const PGresult *res, const char *what, bro_err *err)
{
    if (PQstatus(db->conn) != CONNECTION_OK)
        return bro_err_set(err, BRO_E_RETRY, "postgres %s: connection lost", what);
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (state == NULL)
        return bro_err_set(err, BRO_E_DB, "postgres %s: %.80s", what,
                           primary ? primary : PQerrorMessage(db->conn));
    int code = BRO_E_DB;
    if (strcmp(state, "23505") == 0) {
        code = BRO_E_CONFLICT;
    } else if (strcmp(state, "0A000") == 0 && primary && strstr(primary, "cached plan")) {
        db->reset_stmts = 1; /* the schema changed under a prepared statement; run again */
        code = BRO_E_RETRY;
    } else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
               strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
               strcmp(state, "55P03") == 0)
        code = BRO_E_RETRY;
    else if (strcmp(state, "57014") == 0)
        code = BRO_E_TIMEOUT;
    else if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0)
        code = BRO_E_INVALID;
    /* The primary message of our own RAISEs and of constraint errors names no values we were
     * given; libpq's DETAIL field may, so it is never copied. */
    return bro_err_set(err, code, "postgres %s: SQLSTATE %s: %.70s", what, state,
                       primary ? primary : "");
}

/* Reconnects when the connection was lost between jobs. */
static int bro_db_ensure(bro_db *db, bro_err *err)
{
    bro_db_settle(db);
    if (PQstatus(db->conn) == CONNECTION_OK)
        return 0;
    PQreset(db->conn);
    if (PQstatus(db->conn) != CONNECTION_OK)
        return bro_err_set(err, BRO_E_RETRY, "postgres: cannot reconnect: %.80s",
                           PQerrorMessage(db->conn));
    bro_db_forget_stmts(db); /* a new session has none of them */
    __atomic_add_fetch(&db->reconnects, 1, __ATOMIC_RELAXED);
    bro_log_info(NULL, "postgres connection re-established");
    /* A new backend starts at nice 0: long work would otherwise go on at the records' priority. */
    bro_err nerr = {0};
    if (db->nice > 0 && bro_db_nice_conn(db->conn, db->nice, &nerr) != 0)
        bro_log_warn(NULL, "postgres: backend priority not set again: %s", nerr.msg);
    return 0;
}

/* ---- backend priority ---------------------------------------------------------------------- */

/* Swallows the extension's NOTICE ("Set priority of backend ..."), which libpq would otherwise
 * print on stderr. */
static void bro_db_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int bro_db_nice_conn(PGconn *conn, int nice, bro_err *err)
{
    char value[16];
    snprintf(value, sizeof(value), "%d", nice);
    const char *params[] = {value};
    PQnoticeProcessor old = PQsetNoticeProcessor(conn, bro_db_quiet, NULL);
    /* On the session's own login role, outside any transaction, so before any SET ROLE: the
     * extension lets a role change only its own backends. */
    PGresult *r =
        PQexecParams(conn, "SELECT platform.set_backend_priority(pg_backend_pid(), $1::int)", 1,
                     NULL, params, NULL, NULL, 0);
    PQsetNoticeProcessor(conn, old, NULL);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    int rc = 0;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) /* lower than before: refused, warned */
            rc = bro_err_set(err, BRO_E_DB, "postgres: backend priority %d refused", nice);
    } else if (state && (strcmp(state, "42883") == 0 || strcmp(state, "3F000") == 0 ||
                         strcmp(state, "42501") == 0)) {
        rc = 1; /* no such function or schema, or not ours to call: the extension is not set up */
        bro_err_set(err, BRO_E_NOT_FOUND, "postgres: extension prioritize missing (SQLSTATE %s)",
                    state);
    } else {
        rc = bro_err_set(err, BRO_E_DB, "postgres: backend priority: %.80s",
                         state ? state : PQerrorMessage(conn));
    }
    PQclear(r);
    return rc;
}

int bro_db_set_nice(bro_db *db, int nice, bro_err *err)
{
    if (db->in_txn)
        return bro_err_set(err, BRO_E_INTERNAL, "backend priority set inside a transaction");
    bro_db_settle(db);
    int rc = bro_db_nice_conn(db->conn, nice, err);
    if (rc == 0)
        db->nice = nice;
    return rc;
}

int bro_db_nice(const bro_db *db)
{
    return db ? db->nice : 0;
}

static int bro_db_begin_as(bro_db *db, const char *tenant, int read_only, bro_err *err);

int bro_db_begin(bro_db *db, const char *tenant, bro_err *err)
{
    return bro_db_begin_as(db, tenant, 0, err);
}

int bro_db_begin_read(bro_db *db, const char *tenant, bro_err *err)
{
    return bro_db_begin_as(db, tenant, 1, err);
}

int bro_db_begin_repeatable(bro_db *db, const char *tenant, bro_err *err)
{
    if (bro_db_begin_as(db, tenant, 0, err) < 0)
        return -1;
    db->repeatable = 1;
    return 0;
}

static int bro_db_begin_as(bro_db *db, const char *tenant, int read_only, bro_err *err)
{
    if (bro_db_ensure(db, err) < 0)
        return -1;
    if (tenant == NULL || tenant[0] == '\0') {
        db->role_sql[0] = '\0';
        snprintf(db->path, sizeof(db->path), "platform");
    } else {
        if (!bro_ids_is_slug(tenant))
            return bro_err_set(err, BRO_E_INVALID, "bad tenant slug");
        char role[40];
        snprintf(role, sizeof(role), "t_%s", tenant);
        char *ident = PQescapeIdentifier(db->conn, role, strlen(role));
        if (ident == NULL)
            return bro_err_set(err, BRO_E_NOMEM, "postgres: cannot escape identifier");
        snprintf(db->role_sql, sizeof(db->role_sql), "SET LOCAL ROLE %s", ident);
        snprintf(db->path, sizeof(db->path), "%s", ident);
        PQfreemem(ident);
    }
    /* Nothing is sent yet: BEGIN, the role and the search_path travel in one pipeline with
     * the first statement, so a job pays one round trip for them, not two. */
    db->begin_pending = 1;
    db->read_only = read_only;
    db->repeatable = 0;
    db->in_txn = 1;
    return 0;
}

/* A read-only transaction's COMMIT goes out without waiting for its answer: it has nothing to
 * flush and cannot fail for want of it, and its result is read before the connection's next
 * use (bro_db_settle). A read then costs PostgreSQL one round trip: BEGIN READ ONLY, role, path
 * and the statement in one pipeline, and this COMMIT riding behind it. */
static int bro_db_commit_unwaited(bro_db *db, bro_err *err)
{
    db->in_txn = 0;
    if (PQenterPipelineMode(db->conn) != 1 ||
        !PQsendQueryParams(db->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) ||
        !PQpipelineSync(db->conn)) {
        bro_err_set(err, BRO_E_RETRY, "postgres commit: send failed: %.80s",
                    PQerrorMessage(db->conn));
        if (PQpipelineStatus(db->conn) != PQ_PIPELINE_OFF)
            PQexitPipelineMode(db->conn);
        return -1;
    }
    db->commit_unread = 1;
    return 0;
}

int bro_db_commit(bro_db *db, bro_err *err)
{
    if (db->begin_pending) { /* nothing was run: nothing to commit */
        db->begin_pending = 0;
        db->in_txn = 0;
        return 0;
    }
    if (db->read_only) /* nothing to make durable, nothing to wait for */
        return bro_db_commit_unwaited(db, err);
    PGresult *res = PQexec(db->conn, "COMMIT");
    db->in_txn = 0;
    /* A COMMIT of an aborted transaction reports success with the tag ROLLBACK. */
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK ||
        strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        int rc = res && PQresultStatus(res) == PGRES_COMMAND_OK
                     ? bro_err_set(err, BRO_E_DB, "postgres commit: transaction was aborted")
                     : bro_db_fail(db, res, "commit", err);
        PQclear(res);
        return rc;
    }
    PQclear(res);
    return 0;
}

void bro_db_rollback(bro_db *db)
{
    bro_db_settle(db);
    db->begin_pending = 0;
    db->in_txn = 0;
    if (PQstatus(db->conn) != CONNECTION_OK)
        return;
    if (PQpipelineStatus(db->conn) != PQ_PIPELINE_OFF)
        PQexitPipelineMode(db->conn);
    if (PQtransactionStatus(db->conn) != PQTRANS_IDLE)
        PQclear(PQexec(db->conn, "ROLLBACK"));
    if (db->reset_stmts) {
        PQclear(PQexec(db->conn, "DEALLOCATE ALL"));
        bro_db_forget_stmts(db);
        db->reset_stmts = 0;
    }
}

/* FNV-1a: only a first filter before strcmp in the statement cache. */
static uint64_t bro_db_hash(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Finds sql in the statement cache. Returns its slot with *fresh = 0, or a newly taken slot
 * with *fresh = 1 (the caller prepares it), or -1 when the cache is full. */
static int bro_db_stmt_slot(bro_db *db, const char *sql, int *fresh)
{
    uint64_t h = bro_db_hash(sql);
    int empty = -1;
    for (int i = 0; i < BRO_DB_STMTS; i++) {
        if (db->stmts[i].sql == NULL) {
            if (empty < 0)
                empty = i;
        } else if (db->stmts[i].hash == h && strcmp(db->stmts[i].sql, sql) == 0) {
            *fresh = 0;
            return i;
        }
    }
    if (empty < 0 || (db->stmts[empty].sql = strdup(sql)) == NULL)
        return -1;
    db->stmts[empty].hash = h;
    *fresh = 1;
    return empty;
}

/* Reads every result up to the pipeline's sync. The last query's result is returned in *last
 * (owned by the caller); the first failure, if any, in *failed; ok[q] says whether query q
 * succeeded. */
static void bro_db_drain(bro_db *db, int nqueries, PGresult **last, PGresult **failed, int *ok)
{
    *last = *failed = NULL;
    for (int q = 0; q < nqueries; q++)
        ok[q] = 0;
    for (int q = 0; q < nqueries; q++) {
        PGresult *keep = NULL, *r;
        while ((r = PQgetResult(db->conn)) != NULL) {
            PQclear(keep);
            keep = r;
        }
        ExecStatusType st = keep ? PQresultStatus(keep) : PGRES_FATAL_ERROR;
        ok[q] = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
        if (!ok[q] && *failed == NULL && st != PGRES_PIPELINE_ABORTED) {
            *failed = keep;
        } else if (q == nqueries - 1 && ok[q]) {
            *last = keep;
        } else {
            PQclear(keep);
        }
        if (keep == NULL && PQstatus(db->conn) != CONNECTION_OK)
            break;
    }
    PGresult *r; /* the sync itself, and nothing after it */
    while ((r = PQgetResult(db->conn)) != NULL) {
        int sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
        PQclear(r);
        if (sync)
            break;
    }
}

/* Runs one statement as bro_db_exec_format does; with commit, COMMIT goes out in the same
 * pipeline and the result returned is the COMMIT's. */
static PGresult *bro_db_run(bro_db *db, const char *sql, int nparams, const char *const *params,
                            const int *lengths, const int *formats, int result_format, int commit,
                            bro_err *err)
{
    int fresh = 0;
    int slot = bro_db_stmt_slot(db, sql, &fresh);
    if (!commit && !db->begin_pending && slot >= 0 && !fresh) { /* one message */
        char name[16];
        snprintf(name, sizeof(name), "bro%d", slot);
        PGresult *res =
            PQexecPrepared(db->conn, name, nparams, params, lengths, formats, result_format);
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            bro_db_fail(db, res, "query", err);
            PQclear(res);
            return NULL;
        }
        return res;
    }
    /* Otherwise one pipeline: the pending BEGIN, role and search_path, the PREPARE of a new
     * statement, the statement itself, then a single sync and a single round trip. */
    if (PQenterPipelineMode(db->conn) != 1)
        return bro_err_set(err, BRO_E_RETRY, "postgres: cannot enter pipeline mode"), NULL;
    int n = 0, sent = 1, prep = -1, ok[5];
    if (db->begin_pending) {
        const char *path[] = {db->path};
        const char *begin = db->read_only    ? "BEGIN READ ONLY"
                            : db->repeatable ? "BEGIN ISOLATION LEVEL REPEATABLE READ"
                                             : "BEGIN";
        sent = sent && PQsendQueryParams(db->conn, begin, 0, NULL, NULL, NULL, NULL, 0);
        n++;
        if (db->role_sql[0]) {
            sent = sent && PQsendQueryParams(db->conn, db->role_sql, 0, NULL, NULL, NULL, NULL, 0);
            n++;
        }
        sent = sent && PQsendQueryParams(db->conn, "SELECT set_config('search_path', $1, true)", 1,
                                         NULL, path, NULL, NULL, 0);
        n++;
        db->begin_pending = 0;
    }
    char name[16];
    snprintf(name, sizeof(name), "bro%d", slot);
    if (slot >= 0 && fresh) {
        sent = sent && PQsendPrepare(db->conn, name, sql, nparams, NULL);
        prep = n++;
    }
    if (slot >= 0)
        sent = sent && PQsendQueryPrepared(db->conn, name, nparams, params, lengths, formats,
                                           result_format);
    else
        sent = sent && PQsendQueryParams(db->conn, sql, nparams, NULL, params, lengths, formats,
                                         result_format);
    n++;
    if (commit) {
        sent = sent && PQsendQueryParams(db->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
        n++;
    }
    sent = sent && PQpipelineSync(db->conn);
    PGresult *last = NULL, *failed = NULL;
    if (sent)
        bro_db_drain(db, n, &last, &failed, ok);
    PQexitPipelineMode(db->conn);
    if (last != NULL && failed == NULL)
        return last;
    if (prep >= 0 && !(sent && ok[prep])) { /* not prepared after all: free the slot */
        free(db->stmts[slot].sql);
        db->stmts[slot].sql = NULL;
        if (!sent) /* unknown whether the server has it: start over */
            db->reset_stmts = 1;
    }
    if (sent)
        bro_db_fail(db, failed, "query", err);
    else
        bro_err_set(err, BRO_E_RETRY, "postgres: send failed: %.80s", PQerrorMessage(db->conn));
    PQclear(failed);
    PQclear(last);
    return NULL;
}

PGresult *bro_db_exec_format(bro_db *db, const char *sql, int nparams, const char *const *params,
                             const int *lengths, const int *formats, int result_format,
                             bro_err *err)
{
    return bro_db_run(db, sql, nparams, params, lengths, formats, result_format, 0, err);
}

int bro_db_send(bro_db *db, const char *sql, int result_format, bro_err *err)
{
    bro_db_settle(db);
    if (db->begin_pending || !db->in_txn)
        return bro_err_set(err, BRO_E_INTERNAL, "postgres: a statement sent outside a transaction");
    if (PQsendQueryParams(db->conn, sql, 0, NULL, NULL, NULL, NULL, result_format) != 1)
        return bro_db_fail(db, NULL, "send", err);
    return 0;
}

PGresult *bro_db_receive(bro_db *db, bro_err *err)
{
    PGresult *keep = NULL, *r;
    while ((r = PQgetResult(db->conn)) != NULL) {
        PQclear(keep);
        keep = r;
    }
    ExecStatusType st = keep ? PQresultStatus(keep) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        bro_db_fail(db, keep, "query", err);
        PQclear(keep);
        return NULL;
    }
    return keep;
}

int bro_db_exec_commit(bro_db *db, const char *sql, int nparams, const char *const *params,
                       const int *lengths, const int *formats, bro_err *err)
{
    PGresult *res = bro_db_run(db, sql, nparams, params, lengths, formats, 0, 1, err);
    db->in_txn = 0;
    if (res == NULL) {
        bro_db_rollback(db); /* the pipeline's COMMIT did not run: end what is left */
        return -1;
    }
    /* A COMMIT of an aborted transaction reports success with the tag ROLLBACK. */
    int ok = strcmp(PQcmdStatus(res), "COMMIT") == 0;
    PQclear(res);
    return ok ? 0 : bro_err_set(err, BRO_E_DB, "postgres commit: transaction was aborted");
}

PGresult *bro_db_exec_bin(bro_db *db, const char *sql, int nparams, const char *const *params,
                          const int *lengths, const int *formats, bro_err *err)
{
    return bro_db_exec_format(db, sql, nparams, params, lengths, formats, 0, err);
}

PGresult *bro_db_exec(bro_db *db, const char *sql, int nparams, const char *const *params,
                      bro_err *err)
{
    return bro_db_exec_bin(db, sql, nparams, params, NULL, NULL, err);
}
