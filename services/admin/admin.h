/* brobygger-admin internals: each command is a function taking the owner connection and its
 * arguments, returning the process exit status (0 done, 1 refused, 2 bad usage). */
#ifndef BRO_ADMIN_H
#define BRO_ADMIN_H

#include <libpq-fe.h>

#include "common/config.h"

#define BRO_ADMIN_OK      0
#define BRO_ADMIN_REFUSED 1
#define BRO_ADMIN_USAGE   2

/* Prints "brobygger-admin: <reason>" on stderr and returns BRO_ADMIN_REFUSED (1), so a helper
 * returning -1 on failure can write `return -bro_admin_refuse(...)`. */
int bro_admin_refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Connects with the owner connection string; NULL after printing the reason. */
PGconn *bro_admin_connect(const bro_config *cfg);

int bro_admin_migrate(PGconn *pg, const bro_config *cfg, const char *argv0);
int bro_admin_tenant_create(PGconn *pg, const char *slug, const char *name, const char *knr);
int bro_admin_tenant_list(PGconn *pg);
int bro_admin_key_issue(PGconn *pg, const char *tenant, const char *role, const char *label,
                        const char *org);
int bro_admin_key_revoke(PGconn *pg, const char *id);

#endif
