/* What every brobygger-admin command shares: the refusal on stderr, the owner connection, a
 * parameterised statement that refuses with PostgreSQL's reason, and the one-line rule for
 * names and labels. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "common/utf8.h"

int bro_admin_refuse(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("brobygger-admin: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return BRO_ADMIN_REFUSED;
}

bro_db *bro_admin_connect(const bro_config *cfg)
{
    bro_err err = {0};
    bro_db *db = bro_db_connect(cfg->pg_admin, &err);
    if (db == NULL) {
        const char *msg = strncmp(err.msg, "postgres: ", 10) == 0 ? err.msg + 10 : err.msg;
        fprintf(stderr, "brobygger-admin: cannot connect to PostgreSQL: %.*s\n",
                (int)strcspn(msg, "\n"), msg);
        return NULL;
    }
    PGresult *r = PQexec(bro_db_conn(db), "SET client_min_messages = warning");
    PQclear(r);
    return db;
}

/* Runs a parameterised statement; on failure prints the reason and returns NULL. sqlstate, when
 * not NULL, receives the SQLSTATE of a failure (or ""). */
PGresult *bro_admin_exec(PGconn *pg, const char *sql, int n, const char *const *p, char sqlstate[6])
{
    PGresult *r = PQexecParams(pg, sql, n, NULL, p, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (sqlstate)
        sqlstate[0] = '\0';
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (sqlstate && state)
        snprintf(sqlstate, 6, "%s", state);
    if (sqlstate == NULL || state == NULL || strcmp(state, "23505") != 0) {
        const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        bro_admin_refuse("%s", msg ? msg : PQerrorMessage(pg));
    }
    PQclear(r);
    return NULL;
}

/* 1 when s is one line of valid UTF-8 without control or bidirectional formatting characters:
 * the rule the API applies to names and labels. */
int bro_admin_one_line(const char *s)
{
    return bro_utf8_valid(s, strlen(s)) && bro_utf8_refused(s, strlen(s), BRO_UTF8_LINE) < 0;
}
