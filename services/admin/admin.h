/* brobygger-admin internals: each command is a function taking the owner connection and its
 * arguments, returning the process exit status (0 done, 1 refused, 2 bad usage). */
#ifndef BRO_ADMIN_H
#define BRO_ADMIN_H

#include <libpq-fe.h>

#include "common/config.h"
#include "common/db.h"

#define BRO_ADMIN_OK      0
#define BRO_ADMIN_REFUSED 1
#define BRO_ADMIN_USAGE   2

/* Prints "brobygger-admin: <reason>" on stderr and returns BRO_ADMIN_REFUSED (1), so a helper
 * returning -1 on failure can write `return -bro_admin_refuse(...)`. */
int bro_admin_refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- admin.c: what the commands share ---- */

/* Connects with the owner connection string (BROBYGGER_PG_ADMIN); NULL after printing the
 * reason. The caller frees it with bro_db_free; bro_db_conn gives its libpq connection. */
bro_db *bro_admin_connect(const bro_config *cfg);

/* Runs a parameterised statement on pg; on failure prints PostgreSQL's reason and returns NULL.
 * sqlstate, when not NULL, receives the SQLSTATE of a failure (or ""), and a unique violation
 * (23505) is then left to the caller to word. The result is the caller's (PQclear). */
PGresult *bro_admin_exec(PGconn *pg, const char *sql, int n, const char *const *p,
                         char sqlstate[6]);

/* 1 when s is one line of valid UTF-8 without control or bidirectional formatting characters:
 * the rule the API applies to names and labels. */
int bro_admin_one_line(const char *s);

/* 1 when tenant slug exists (tenant.c). */
int bro_admin_tenant_exists(PGconn *pg, const char *slug);

/* ---- the commands ---- */

int bro_admin_migrate(PGconn *pg, const bro_config *cfg, const char *argv0);
int bro_admin_tenant_create(PGconn *pg, const char *slug, const char *name, const char *knr);
int bro_admin_tenant_list(PGconn *pg);
/* keys.c */
int bro_admin_key_issue(bro_db *db, const char *tenant, const char *role, const char *label,
                        const char *org);
int bro_admin_key_revoke(bro_db *db, const char *id);
/* dead.c: `dead list|retry|purge ...`, argv from the verb on; on Redis alone, no PostgreSQL. */
int bro_admin_dead(const bro_config *cfg, int argc, char **argv);

#endif
