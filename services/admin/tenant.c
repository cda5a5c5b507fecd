/* Tenants and API keys from the command line. Tenant creation is the database function
 * platform.provision_tenant, the same one the worker calls for POST /v1/admin/tenants. */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "common/apikey.h"
#include "common/ids.h"
#include "common/utf8.h"

/* Runs a parameterised statement; on failure prints the reason and returns NULL. sqlstate, when
 * not NULL, receives the SQLSTATE of a failure (or ""). */
static PGresult *bro_admin_exec(PGconn *pg, const char *sql, int n, const char *const *p,
                                char sqlstate[6])
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
static int bro_admin_one_line(const char *s)
{
    return bro_utf8_valid(s, strlen(s)) && bro_utf8_refused(s, strlen(s), BRO_UTF8_LINE) < 0;
}

static int bro_admin_tenant_exists(PGconn *pg, const char *slug)
{
    const char *p[] = {slug};
    PGresult *r = bro_admin_exec(pg, "SELECT 1 FROM platform.tenants WHERE slug = $1", 1, p, NULL);
    int found = r && PQntuples(r) == 1;
    PQclear(r);
    return found;
}

int bro_admin_tenant_create(PGconn *pg, const char *slug, const char *name, const char *knr)
{
    if (!bro_ids_is_slug(slug))
        return bro_admin_refuse("invalid slug \"%s\": use 2 to 31 of a-z, 0-9 and _, starting "
                                "with a letter",
                                slug);
    if (strlen(knr) != 4 || strspn(knr, "0123456789") != 4)
        return bro_admin_refuse("invalid kommunenummer \"%s\": four digits", knr);
    if (name[0] == '\0' || strlen(name) > 200)
        return bro_admin_refuse("invalid name: 1 to 200 characters");
    if (!bro_admin_one_line(name))
        return bro_admin_refuse("invalid name: one line without control characters");
    if (bro_admin_tenant_exists(pg, slug))
        return bro_admin_refuse("tenant \"%s\" already exists", slug);
    const char *p[] = {slug, name, knr};
    char state[6];
    PGresult *r = bro_admin_exec(pg, "SELECT platform.provision_tenant($1, $2, $3)", 3, p, state);
    if (r == NULL)
        return strcmp(state, "23505") == 0
                   ? bro_admin_refuse("kommunenummer %s is already used by another tenant", knr)
                   : BRO_ADMIN_REFUSED;
    PQclear(r);
    printf("%s\n", slug);
    return BRO_ADMIN_OK;
}

int bro_admin_tenant_list(PGconn *pg)
{
    PGresult *r = bro_admin_exec(pg,
                                 "SELECT slug, name, kommunenummer, schema_version "
                                 "FROM platform.tenants ORDER BY slug",
                                 0, NULL, NULL);
    if (r == NULL)
        return BRO_ADMIN_REFUSED;
    for (int i = 0; i < PQntuples(r); i++)
        printf("%s\t%s\t%s\t%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
               PQgetvalue(r, i, 3));
    PQclear(r);
    return BRO_ADMIN_OK;
}

/* A partner key names an organisation of its own tenant. The organisation lives in the
 * tenant's schema, which the owner connection reads directly. Returns 0 when org is one of
 * tenant's organisations, -1 after printing why not. */
static int bro_admin_org_known(PGconn *pg, const char *tenant, const char *org)
{
    char schema[48];
    snprintf(schema, sizeof(schema), "t_%s", tenant);
    char *ident = PQescapeIdentifier(pg, schema, strlen(schema));
    if (ident == NULL)
        return -bro_admin_refuse("cannot escape the schema name");
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT 1 FROM %s.organizations WHERE id = $1::uuid", ident);
    PQfreemem(ident);
    const char *p[] = {org};
    PGresult *r = bro_admin_exec(pg, sql, 1, p, NULL);
    if (r == NULL)
        return -1;
    int found = PQntuples(r) == 1;
    PQclear(r);
    if (!found)
        return -bro_admin_refuse("organisation %s is not one of tenant \"%s\"'s", org, tenant);
    return 0;
}

int bro_admin_key_issue(PGconn *pg, const char *tenant, const char *role, const char *label,
                        const char *org)
{
    if (!bro_apikey_role_valid(role))
        return bro_admin_refuse("unknown role \"%s\"", role);
    if (tenant && strcmp(role, "platform_admin") == 0)
        return bro_admin_refuse("a platform_admin key has no tenant: use --platform");
    if (strcmp(role, "partner") == 0 && (org == NULL || !bro_ids_is_uuid(org)))
        return bro_admin_refuse("a partner key needs --organization with the organisation's id");
    if (org && strcmp(role, "partner") != 0)
        return bro_admin_refuse("--organization is only for partner keys");
    if (label && strlen(label) > 100)
        return bro_admin_refuse("label longer than 100 characters");
    if (label && !bro_admin_one_line(label))
        return bro_admin_refuse("label must be one line without control characters");
    if (tenant && !bro_admin_tenant_exists(pg, tenant))
        return bro_admin_refuse("unknown tenant \"%s\"", tenant);
    if (org && bro_admin_org_known(pg, tenant, org) < 0)
        return BRO_ADMIN_REFUSED;
    char id[BRO_APIKEY_ID_LEN + 1], secret[BRO_APIKEY_SECRET_LEN + 1], key[BRO_APIKEY_LEN + 1];
    char hash[BRO_APIKEY_HASH_LEN + 1];
    bro_err err = {0};
    if (bro_apikey_generate(id, secret, key, &err) < 0 || bro_apikey_hash(secret, hash) < 0)
        return bro_admin_refuse("cannot generate a key");
    const char *p[] = {id, hash, tenant, role, org, label};
    PGresult *r = bro_admin_exec(pg,
                                 "INSERT INTO platform.api_keys (id, secret_sha256, tenant, role, "
                                 "organization_id, label) VALUES ($1, $2, $3, $4, $5::uuid, $6)",
                                 6, p, NULL);
    if (r == NULL)
        return BRO_ADMIN_REFUSED;
    PQclear(r);
    printf("issued key %s: role %s, tenant %s\n", id, role, tenant ? tenant : "(platform)");
    printf("the key is shown once; only its hash is stored\n");
    printf("%s\n", key);
    return BRO_ADMIN_OK;
}

int bro_admin_key_revoke(PGconn *pg, const char *id)
{
    const char *p[] = {id};
    PGresult *r = bro_admin_exec(pg,
                                 "UPDATE platform.api_keys SET revoked_at = now() "
                                 "WHERE id = $1 AND revoked_at IS NULL RETURNING id",
                                 1, p, NULL);
    if (r == NULL)
        return BRO_ADMIN_REFUSED;
    int done = PQntuples(r) == 1;
    PQclear(r);
    if (done) {
        printf("revoked key %s\n", id);
        return BRO_ADMIN_OK;
    }
    r = bro_admin_exec(pg, "SELECT 1 FROM platform.api_keys WHERE id = $1", 1, p, NULL);
    int exists = r && PQntuples(r) == 1;
    PQclear(r);
    return bro_admin_refuse(exists ? "key %s is already revoked" : "unknown key %s", id);
}
