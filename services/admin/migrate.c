/* `brobygger-admin migrate`: applies the platform migrations (schemas/platform) once each, loads
 * the tenant template (schemas/tenant), ensures the workers' login role and its grants, and
 * brings every tenant schema to the newest template. A second run changes nothing. */
#include <dirent.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"

#define BRO_MIGRATE_LOCK  "7312024"  /* pg_advisory_lock key: one migrate at a time */
#define BRO_MIGRATE_FILES 256        /* migration files per folder */
#define BRO_MIGRATE_MAX   (8u << 20) /* bytes of one migration file */

typedef struct bro_migrate_file {
    char name[256]; /* file name, e.g. 001_init.sql */
    char *sql;      /* contents, owned */
    char sha[65];   /* hex SHA-256 of the contents */
} bro_migrate_file;

#ifndef BRO_SCHEMA_DIR
#define BRO_SCHEMA_DIR ""
#endif

/* The schemas folder: BROBYGGER_SCHEMAS, else the source tree the program was built from, else
 * ../schemas beside the executable (an installed layout). */
static void bro_migrate_schema_dir(const char *argv0, char *out, size_t n)
{
    const char *env = getenv("BROBYGGER_SCHEMAS");
    if (env && env[0]) {
        snprintf(out, n, "%s", env);
        return;
    }
    if (BRO_SCHEMA_DIR[0] && access(BRO_SCHEMA_DIR, R_OK) == 0) {
        snprintf(out, n, "%s", BRO_SCHEMA_DIR);
        return;
    }
    char exe[PATH_MAX - 16];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len <= 0) {
        snprintf(out, n, "schemas");
        return;
    }
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, n, "%s/../schemas", exe);
    (void)argv0;
}

static int bro_migrate_cmp(const void *a, const void *b)
{
    return strcmp(((const bro_migrate_file *)a)->name, ((const bro_migrate_file *)b)->name);
}

static char *bro_migrate_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(BRO_MIGRATE_MAX + 1);
    size_t n = buf ? fread(buf, 1, BRO_MIGRATE_MAX + 1, f) : 0;
    fclose(f);
    if (buf == NULL || n > BRO_MIGRATE_MAX) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Reads every .sql file of dir in name order. Returns the count, or -1 after printing why. */
static int bro_migrate_load(const char *dir, bro_migrate_file *files)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -bro_admin_refuse("cannot open schema folder %s", dir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < BRO_MIGRATE_FILES) {
        size_t len = strlen(de->d_name);
        if (len < 5 || len >= sizeof(files[0].name) || strcmp(de->d_name + len - 4, ".sql") != 0)
            continue;
        snprintf(files[n].name, sizeof(files[n].name), "%s", de->d_name);
        n++;
    }
    closedir(d);
    qsort(files, (size_t)n, sizeof(files[0]), bro_migrate_cmp);
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        size_t len = 0;
        snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
        files[i].sql = bro_migrate_read(path, &len);
        unsigned char md[32];
        unsigned int mdlen = 0;
        if (files[i].sql == NULL || !EVP_Digest(files[i].sql, len, md, &mdlen, EVP_sha256(), NULL))
            return -bro_admin_refuse("cannot read %s", path);
        for (int k = 0; k < 32; k++)
            snprintf(files[i].sha + 2 * k, 3, "%02x", md[k]);
    }
    return n;
}

static void bro_migrate_free(bro_migrate_file *files, int n)
{
    for (int i = 0; i < n; i++)
        free(files[i].sql);
}

/* Runs SQL text (possibly several statements); prints the reason on failure. */
static int bro_migrate_run(PGconn *pg, const char *sql, const char *what)
{
    PGresult *r = PQexec(pg, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) {
        const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        bro_admin_refuse("%s: %s", what, msg ? msg : PQerrorMessage(pg));
    }
    PQclear(r);
    return ok ? 0 : -1;
}

/* Applies each platform file once, in its own transaction. *applied counts new ones. */
static int bro_migrate_platform(PGconn *pg, bro_migrate_file *files, int n, int *applied)
{
    if (bro_migrate_run(pg,
                        "CREATE SCHEMA IF NOT EXISTS platform;"
                        "CREATE TABLE IF NOT EXISTS platform.migrations (name text PRIMARY KEY,"
                        " sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                        "platform schema") < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        const char *p[] = {files[i].name, files[i].sha};
        PGresult *r = bro_admin_exec(pg, "SELECT sha256 FROM platform.migrations WHERE name = $1",
                                     1, p, NULL);
        if (r == NULL)
            return -1;
        int seen = PQntuples(r) == 1, same = seen && strcmp(PQgetvalue(r, 0, 0), files[i].sha) == 0;
        PQclear(r);
        if (seen && !same)
            return -bro_admin_refuse("platform migration %s was changed after it was applied",
                                     files[i].name);
        if (seen)
            continue;
        if (bro_migrate_run(pg, "BEGIN", "begin") < 0)
            return -1;
        if (bro_migrate_run(pg, files[i].sql, files[i].name) < 0) {
            bro_migrate_run(pg, "ROLLBACK", "rollback");
            return -1;
        }
        r = bro_admin_exec(pg, "INSERT INTO platform.migrations (name, sha256) VALUES ($1, $2)", 2,
                           p, NULL);
        if (r == NULL || bro_migrate_run(pg, "COMMIT", "commit") < 0) {
            PQclear(r);
            bro_migrate_run(pg, "ROLLBACK", "rollback");
            return -1;
        }
        PQclear(r);
        printf("applied platform migration %s\n", files[i].name);
        (*applied)++;
    }
    return 0;
}

/* Loads the tenant template; a changed text of a known version is refused. */
static int bro_migrate_template(PGconn *pg, bro_migrate_file *files, int n, int *added)
{
    for (int i = 0; i < n; i++) {
        char version[16];
        int v = atoi(files[i].name);
        if (v <= 0)
            return -bro_admin_refuse("tenant migration %s has no leading version number",
                                     files[i].name);
        snprintf(version, sizeof(version), "%d", v);
        const char *p[] = {version, files[i].name, files[i].sql, files[i].sha};
        PGresult *r = bro_admin_exec(
            pg, "SELECT sha256 FROM platform.tenant_migrations WHERE version = $1", 1, p, NULL);
        if (r == NULL)
            return -1;
        int seen = PQntuples(r) == 1, same = seen && strcmp(PQgetvalue(r, 0, 0), files[i].sha) == 0;
        PQclear(r);
        if (seen && !same)
            return -bro_admin_refuse("tenant migration %s was changed after it was loaded",
                                     files[i].name);
        if (seen)
            continue;
        r = bro_admin_exec(pg,
                           "INSERT INTO platform.tenant_migrations (version, name, sql, sha256)"
                           " VALUES ($1, $2, $3, $4)",
                           4, p, NULL);
        if (r == NULL)
            return -1;
        PQclear(r);
        printf("loaded tenant migration %s\n", files[i].name);
        (*added)++;
    }
    return 0;
}

/* Lets the workers' role (ident, escaped) lower its own backends' CPU priority, when the
 * prioritize extension is there (platform migration 006): nobody else may call it. */
static int bro_migrate_priority(PGconn *pg, const char *ident)
{
    PGresult *r = bro_admin_exec(pg, "SELECT 1 FROM pg_extension WHERE extname = 'prioritize'", 0,
                                 NULL, NULL);
    if (r == NULL)
        return -1;
    int present = PQntuples(r) == 1;
    PQclear(r);
    if (!present) {
        printf("extension prioritize is not installed: long work runs at normal priority\n");
        return 0;
    }
    char sql[512];
    snprintf(sql, sizeof(sql),
             "GRANT EXECUTE ON FUNCTION platform.set_backend_priority(integer, integer),"
             " platform.get_backend_priority(integer) TO %s",
             ident);
    return bro_migrate_run(pg, sql, "backend priority grant");
}

/* The workers' role: LOGIN NOINHERIT, reading the platform catalog, executing the two tenant
 * functions, and a member of every tenant role. Idempotent. */
static int bro_migrate_worker_role(PGconn *pg, const bro_config *cfg)
{
    char role[64] = "brobygger_worker";
    PQconninfoOption *opts = PQconninfoParse(cfg->pg, NULL);
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "user") == 0 && o->val && o->val[0])
            snprintf(role, sizeof(role), "%s", o->val);
    PQconninfoFree(opts);
    char *ident = PQescapeIdentifier(pg, role, strlen(role));
    if (ident == NULL)
        return -bro_admin_refuse("cannot escape role name");
    const char *p[] = {role};
    PGresult *r = bro_admin_exec(pg, "SELECT 1 FROM pg_roles WHERE rolname = $1", 1, p, NULL);
    int exists = r && PQntuples(r) == 1;
    PQclear(r);
    char sql[4096];
    snprintf(sql, sizeof(sql),
             "%s ROLE %s LOGIN NOINHERIT;"
             "GRANT USAGE ON SCHEMA platform TO %s;"
             "GRANT SELECT ON platform.tenants, platform.api_keys TO %s;"
             "GRANT INSERT ON platform.api_keys TO %s;"
             "GRANT UPDATE (revoked_at) ON platform.api_keys TO %s;"
             "GRANT SELECT, INSERT, DELETE ON platform.processed_jobs, platform.idempotency_keys"
             " TO %s;"
             "GRANT SELECT, INSERT, UPDATE (revoked_at) ON platform.sessions TO %s;"
             "GRANT EXECUTE ON FUNCTION platform.provision_tenant(text, text, text),"
             " platform.migrate_tenant(text) TO %s;"
             "GRANT SELECT, INSERT, UPDATE ON platform.reports TO %s;",
             exists ? "ALTER" : "CREATE", ident, ident, ident, ident, ident, ident, ident, ident,
             ident);
    if (bro_migrate_run(pg, sql, "worker role") < 0 || bro_migrate_priority(pg, ident) < 0) {
        PQfreemem(ident);
        return -1;
    }
    PQfreemem(ident);
    r = bro_admin_exec(pg,
                       "INSERT INTO platform.settings (name, value) VALUES ('worker_role', $1)"
                       " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                       1, p, NULL);
    PQclear(r);
    return r ? 0 : -1;
}

/* Brings each tenant to the newest template and renews the worker's membership. */
static int bro_migrate_tenants(PGconn *pg, int *upgraded)
{
    PGresult *list =
        bro_admin_exec(pg, "SELECT slug FROM platform.tenants ORDER BY slug", 0, NULL, NULL);
    if (list == NULL)
        return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(list) && rc == 0; i++) {
        const char *p[] = {PQgetvalue(list, i, 0)};
        PGresult *r = bro_admin_exec(
            pg,
            "SELECT platform.migrate_tenant($1), format('GRANT %I TO %I', 't_' || $1,"
            " (SELECT value FROM platform.settings WHERE name = 'worker_role'))",
            1, p, NULL);
        if (r == NULL) {
            rc = -1;
            break;
        }
        int n = atoi(PQgetvalue(r, 0, 0));
        rc = bro_migrate_run(pg, PQgetvalue(r, 0, 1), "tenant grant");
        if (n > 0) {
            printf("tenant %s: applied %d migration(s)\n", p[0], n);
            (*upgraded)++;
        }
        PQclear(r);
    }
    PQclear(list);
    return rc;
}

int bro_admin_migrate(PGconn *pg, const bro_config *cfg, const char *argv0)
{
    char dir[PATH_MAX], sub[PATH_MAX + 16];
    static bro_migrate_file platform[BRO_MIGRATE_FILES], tenant[BRO_MIGRATE_FILES];
    int np = -1, nt = -1, applied = 0, added = 0, upgraded = 0, rc = BRO_ADMIN_REFUSED;
    bro_migrate_schema_dir(argv0, dir, sizeof(dir));
    snprintf(sub, sizeof(sub), "%s/platform", dir);
    np = bro_migrate_load(sub, platform);
    snprintf(sub, sizeof(sub), "%s/tenant", dir);
    nt = np < 0 ? -1 : bro_migrate_load(sub, tenant);
    if (np < 0 || nt < 0)
        goto out;
    if (bro_migrate_run(pg, "SELECT pg_advisory_lock(" BRO_MIGRATE_LOCK ")", "lock") < 0)
        goto out;
    if (bro_migrate_platform(pg, platform, np, &applied) == 0 &&
        bro_migrate_template(pg, tenant, nt, &added) == 0 &&
        bro_migrate_worker_role(pg, cfg) == 0 && bro_migrate_tenants(pg, &upgraded) == 0)
        rc = BRO_ADMIN_OK;
    bro_migrate_run(pg, "SELECT pg_advisory_unlock(" BRO_MIGRATE_LOCK ")", "unlock");
    if (rc == BRO_ADMIN_OK && applied + added + upgraded == 0)
        printf("already up to date: nothing to do\n");
out:
    if (np > 0)
        bro_migrate_free(platform, np);
    if (nt > 0)
        bro_migrate_free(tenant, nt);
    return rc;
}
