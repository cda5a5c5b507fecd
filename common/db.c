/* The tenant transaction on libpq: BEGIN, SET LOCAL ROLE t_<slug>, SET LOCAL search_path, the
 * job's statements as parameterised queries, COMMIT. Errors are mapped by SQLSTATE so callers
 * can tell a conflict from a transient failure without reading messages. */
#include "common/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/log.h"

struct bro_db {
    PGconn *conn;       /* owned; NULL never (allocation failure aborts connect) */
    char conninfo[512]; /* kept for reconnects */
    int in_txn;         /* 1 between a successful begin and commit/rollback */
};

bro_db *bro_db_connect(const char *conninfo, bro_err *err)
{
    bro_db *db = calloc(1, sizeof(*db));
    if (db == NULL) {
        bro_err_set(err, BRO_E_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(db->conninfo, sizeof(db->conninfo), "%s", conninfo);
    db->conn = PQconnectdb(conninfo);
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

void bro_db_free(bro_db *db)
{
    if (db == NULL)
        return;
    if (db->conn)
        PQfinish(db->conn);
    free(db);
}

PGconn *bro_db_conn(bro_db *db)
{
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
    if (strcmp(state, "23505") == 0)
        code = BRO_E_CONFLICT;
    else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
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
    if (PQstatus(db->conn) == CONNECTION_OK)
        return 0;
    PQreset(db->conn);
    if (PQstatus(db->conn) != CONNECTION_OK)
        return bro_err_set(err, BRO_E_RETRY, "postgres: cannot reconnect: %.80s",
                           PQerrorMessage(db->conn));
    bro_log_info(NULL, "postgres connection re-established");
    return 0;
}

int bro_db_begin(bro_db *db, const char *tenant, bro_err *err)
{
    if (bro_db_ensure(db, err) < 0)
        return -1;
    char sql[256];
    if (tenant == NULL || tenant[0] == '\0') {
        snprintf(sql, sizeof(sql), "BEGIN; SET LOCAL search_path = platform");
    } else {
        if (!bro_ids_is_slug(tenant))
            return bro_err_set(err, BRO_E_INVALID, "bad tenant slug");
        char role[40];
        snprintf(role, sizeof(role), "t_%s", tenant);
        char *ident = PQescapeIdentifier(db->conn, role, strlen(role));
        if (ident == NULL)
            return bro_err_set(err, BRO_E_NOMEM, "postgres: cannot escape identifier");
        snprintf(sql, sizeof(sql), "BEGIN; SET LOCAL ROLE %s; SET LOCAL search_path = %s", ident,
                 ident);
        PQfreemem(ident);
    }
    PGresult *res = PQexec(db->conn, sql);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        int rc = bro_db_fail(db, res, "begin", err);
        PQclear(res);
        bro_db_rollback(db);
        return rc;
    }
    PQclear(res);
    db->in_txn = 1;
    return 0;
}

int bro_db_commit(bro_db *db, bro_err *err)
{
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
    if (PQstatus(db->conn) != CONNECTION_OK) {
        db->in_txn = 0;
        return;
    }
    if (PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
        PGresult *res = PQexec(db->conn, "ROLLBACK");
        PQclear(res);
    }
    db->in_txn = 0;
}

PGresult *bro_db_exec_bin(bro_db *db, const char *sql, int nparams, const char *const *params,
                          const int *lengths, const int *formats, bro_err *err)
{
    PGresult *res = PQexecParams(db->conn, sql, nparams, NULL, params, lengths, formats, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        bro_db_fail(db, res, "query", err);
        PQclear(res);
        return NULL;
    }
    return res;
}

PGresult *bro_db_exec(bro_db *db, const char *sql, int nparams, const char *const *params,
                      bro_err *err)
{
    return bro_db_exec_bin(db, sql, nparams, params, NULL, NULL, err);
}
