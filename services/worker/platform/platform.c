/* Platform jobs: resolving API keys for the gateway, creating and listing tenants, issuing,
 * listing and revoking keys. They run in the platform transaction; tenant creation itself is the
 * database function platform.provision_tenant, shared with the admin CLI. */

#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/apikey.h"
#include "common/ids.h"
#include "common/jmp.h"
#include "common/keys.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

#define BRO_PLATFORM_LIMIT_DEFAULT 50
#define BRO_PLATFORM_LIMIT_MAX     200
#define BRO_PLATFORM_TIME(col)                                                                     \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char *bro_platform_sql_resolve =
    "SELECT json_build_object('key_id', id, 'secret_sha256', secret_sha256, 'tenant', tenant,"
    " 'role', role, 'org', organization_id,"
    " 'active', revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()))::text"
    " FROM api_keys WHERE id = $1";

static const char *bro_platform_sql_tenant_dup =
    "SELECT slug = $1, kommunenummer = $2 FROM tenants WHERE slug = $1 OR kommunenummer = $2";

static const char *bro_platform_sql_tenant_get =
    "SELECT json_build_object('slug', slug, 'name', name, 'kommunenummer', kommunenummer,"
    " 'cluster', cluster, 'schema_version', schema_version, 'created_at', " BRO_PLATFORM_TIME(
        "created_at") ")::text, slug FROM tenants";

/* A platform job reads a tenant's schema as the tenant: the workers' role is a NOINHERIT
 * member of every tenant role, so it sees nothing there until it takes one. $1 the tenant's
 * role, $2 its schema. Both settings are LOCAL: they end with the job's transaction. */
static const char *bro_platform_sql_as_tenant =
    "SELECT set_config('role', $1, true), set_config('search_path', $2, true)";

/* ... and back to the workers' own role and the platform schema. */
static const char *bro_platform_sql_as_platform =
    "SELECT set_config('role', 'none', true), set_config('search_path', 'platform', true)";

/* A tenant's keys for its admin: what each is for and its state, never the secret's hash.
 * $1 tenant, $2 cursor (the last id of the previous page, or NULL), $3 limit + 1, $4 the times'
 * to_char format. */
static const char *bro_platform_sql_key_list =
    "SELECT json_build_object('id', id, 'role', role, 'label', label,"
    " 'organization_id', organization_id,"
    " 'created_at', to_char(created_at AT TIME ZONE 'UTC', $4),"
    " 'expires_at', to_char(expires_at AT TIME ZONE 'UTC', $4),"
    " 'revoked_at', to_char(revoked_at AT TIME ZONE 'UTC', $4))::text, id"
    " FROM api_keys WHERE tenant = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3";

/* The list's times as RFC 3339 UTC, in to_char's words. */
static const char *bro_platform_time_format = "YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"";

/* $1 organisation id; run as the tenant, in its schema. */
static const char *bro_platform_sql_org_known =
    "SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1::uuid)";

static int bro_platform_is_platform_admin(const bro_job *job)
{
    return strcmp(job->env->actor.role, "platform_admin") == 0;
}

/* Runs sql and replies with its single JSON row, or fails with not_found naming `what`. */
static int bro_platform_one(bro_job *job, const char *sql, int n, const char *const *p, int status,
                            const char *what)
{
    char missing[64];
    snprintf(missing, sizeof(missing), "no such %s", what);
    return bro_job_query_one(job, sql, n, p, status, missing);
}

int bro_platform_auth_resolve(bro_job *job)
{
    char id[BRO_APIKEY_ID_LEN + 2];
    const msgpack_object *o = job->data ? bro_jmp_map_get(job->data, "key_id") : NULL;
    if (o == NULL || o->type != MSGPACK_OBJECT_STR || o->via.str.size != BRO_APIKEY_ID_LEN)
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such key");
    memcpy(id, o->via.str.ptr, BRO_APIKEY_ID_LEN);
    id[BRO_APIKEY_ID_LEN] = '\0';
    const char *p[] = {id};
    return bro_platform_one(job, bro_platform_sql_resolve, 1, p, 200, "key");
}

/* ---- tenants ------------------------------------------------------------------------------- */

int bro_platform_tenant_create(bro_job *job)
{
    bro_validate(job, job->data, bro_schema_TenantCreate, bro_schema_TenantCreate_n, 0);
    if (bro_job_check_fields(job) < 0)
        return -1;
    char *slug = bro_job_strdup(bro_jmp_map_get(job->data, "slug"));
    char *name = bro_job_strdup(bro_jmp_map_get(job->data, "name"));
    char *knr = bro_job_strdup(bro_jmp_map_get(job->data, "kommunenummer"));
    bro_err err = {0};
    PGresult *res = NULL;
    int rc = -1;
    if (!slug || !name || !knr) {
        bro_job_fail(job, BRO_E_NOMEM, "out of memory");
        goto out;
    }
    const char *p[] = {slug, knr};
    res = bro_db_exec(job->db, bro_platform_sql_tenant_dup, 2, p, &err);
    if (res == NULL) {
        bro_job_fail(job, err.code, "%s", err.msg);
        goto out;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        if (PQgetvalue(res, i, 0)[0] == 't')
            bro_job_field_error(job, "slug", "a tenant with this slug exists");
        if (PQgetvalue(res, i, 1)[0] == 't')
            bro_job_field_error(job, "kommunenummer", "a tenant with this kommunenummer exists");
    }
    PQclear(res);
    if (job->nfields) {
        bro_job_fail(job, BRO_E_CONFLICT, "the tenant exists");
        goto out;
    }
    const char *pp[] = {slug, name, knr};
    res = bro_db_exec(job->db, "SELECT platform.provision_tenant($1, $2, $3)", 3, pp, &err);
    if (res == NULL) {
        bro_job_fail(job, err.code, "%s", err.msg);
        goto out;
    }
    PQclear(res);
    char sql[512];
    snprintf(sql, sizeof(sql), "%s WHERE slug = $1", bro_platform_sql_tenant_get);
    rc = bro_platform_one(job, sql, 1, p, 201, "tenant");
out:
    free(slug);
    free(name);
    free(knr);
    return rc;
}

/* Reads ?limit= and ?cursor= for a list ordered by a text key (slug, key id), after checking
 * the query against the operation's generated rows (fields, nfields of them). */
static int bro_platform_page_query(bro_job *job, const bro_vfield *fields, int nfields,
                                   char *cursor, size_t n, int *limit)
{
    if (job->query && job->query->via.map.size > 0)
        bro_validate(job, job->query, fields, nfields, 1);
    if (bro_job_param(job->query, "cursor", cursor, n) < 0)
        cursor[0] = '\0';
    char lim[8];
    *limit = BRO_PLATFORM_LIMIT_DEFAULT;
    if (bro_job_param(job->query, "limit", lim, sizeof(lim)) == 0) {
        char *end;
        long v = strtol(lim, &end, 10);
        if (*end || end == lim || v < 1 || v > BRO_PLATFORM_LIMIT_MAX)
            bro_job_field_error(job, "limit", "must be an integer from 1 to %d",
                                BRO_PLATFORM_LIMIT_MAX);
        else
            *limit = (int)v;
    }
    return bro_job_check_fields(job);
}

int bro_platform_tenant_list(bro_job *job)
{
    char cursor[40], limit_s[12], sql[512]; /* limit_s: any int and its NUL */
    int limit;
    if (bro_platform_page_query(job, bro_query_listTenants, bro_query_listTenants_n, cursor,
                                sizeof(cursor), &limit) < 0)
        return -1;
    snprintf(limit_s, sizeof(limit_s), "%d", limit + 1);
    snprintf(sql, sizeof(sql), "%s WHERE ($1::text IS NULL OR slug > $1) ORDER BY slug LIMIT $2",
             bro_platform_sql_tenant_get);
    const char *p[] = {cursor[0] ? cursor : NULL, limit_s};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, sql, 2, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    const char *next = PQntuples(res) > limit ? PQgetvalue(res, limit - 1, 1) : NULL;
    int rc = bro_job_reply_page(job, res, limit, next);
    PQclear(res);
    return rc;
}

/* ---- keys ---------------------------------------------------------------------------------- */

/* Which tenant a key.issue job issues for: the path's for a platform admin (it must exist),
 * the caller's own otherwise. */
static int bro_platform_key_tenant(bro_job *job, char *tenant, size_t n)
{
    if (!bro_platform_is_platform_admin(job)) {
        snprintf(tenant, n, "%s", job->env->tenant);
        return 0;
    }
    if (bro_job_param(job->path, "slug", tenant, n) < 0 || !bro_ids_is_slug(tenant))
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such tenant");
    const char *p[] = {tenant};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, "SELECT 1 FROM tenants WHERE slug = $1", 1, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int found = PQntuples(res) == 1;
    PQclear(res);
    return found ? 0 : bro_job_fail(job, BRO_E_NOT_FOUND, "no such tenant");
}

/* Runs sql with the n parameters p; on error fails the job and returns NULL. */
static PGresult *bro_platform_exec(bro_job *job, const char *sql, int n, const char *const *p)
{
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, sql, n, p, &err);
    if (res == NULL)
        bro_job_fail(job, err.code, "%s", err.msg);
    return res;
}

/* Records a field error on organization_id unless org is an organisation of tenant. The
 * organisation lives in the tenant's schema, so the check takes the tenant's role and schema for
 * this one read, inside the job's transaction, and gives them back before the key is written to
 * the platform schema; on any failure the job's transaction is rolled back with the switch.
 * Returns 0 (known or not: see job->nfields), or -1 with the job failed. */
static int bro_platform_key_org(bro_job *job, const char *tenant, const char *org)
{
    char role[48], schema[48];
    if (!bro_ids_is_slug(tenant))
        return bro_job_fail(job, BRO_E_INTERNAL, "bad tenant slug");
    snprintf(role, sizeof(role), "t_%s", tenant);
    snprintf(schema, sizeof(schema), "\"t_%s\"", tenant);
    const char *as[] = {role, schema}, *id[] = {org};
    PGresult *res = bro_platform_exec(job, bro_platform_sql_as_tenant, 2, as);
    if (res == NULL)
        return -1;
    PQclear(res);
    if ((res = bro_platform_exec(job, bro_platform_sql_org_known, 1, id)) == NULL)
        return -1;
    int known = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if ((res = bro_platform_exec(job, bro_platform_sql_as_platform, 0, NULL)) == NULL)
        return -1;
    PQclear(res);
    if (!known)
        bro_job_field_error(job, "organization_id", "is not an organisation of this tenant");
    return 0;
}

/* Packs the issued key's JSON as the reply, and the same without the secret as what is stored
 * for replays: only the hash of a secret is ever kept. */
static int bro_platform_key_reply(bro_job *job, const char *row, const char *key)
{
    json_error_t jerr;
    json_t *obj = json_loads(row, 0, &jerr);
    bro_err err = {0};
    if (obj == NULL)
        return bro_job_fail(job, BRO_E_INTERNAL, "key row is not JSON");
    int rc = 0;
    msgpack_packer stored;
    msgpack_packer_init(&stored, &job->stored, msgpack_sbuffer_write);
    json_object_set_new(obj, "key", json_null());
    if (bro_jmp_pack_json(&stored, obj, &err) < 0)
        rc = bro_job_fail(job, BRO_E_INTERNAL, "%s", err.msg);
    json_object_set_new(obj, "key", json_string(key));
    if (rc == 0 && bro_jmp_pack_json(&job->pk, obj, &err) < 0)
        rc = bro_job_fail(job, BRO_E_INTERNAL, "%s", err.msg);
    json_decref(obj);
    job->has_stored = 1;
    job->status = 201;
    return rc;
}

int bro_platform_key_issue(bro_job *job)
{
    bro_validate(job, job->data, bro_schema_KeyCreate, bro_schema_KeyCreate_n, 0);
    char tenant[40], role[40] = "", label[404] = "", org[BRO_UUID_LEN + 1] = "";
    bro_job_param(job->data, "role", role, sizeof(role));
    bro_job_param(job->data, "label", label, sizeof(label));
    bro_job_param(job->data, "organization_id", org, sizeof(org));
    if (job->nfields == 0 && strcmp(role, "partner") == 0 && org[0] == '\0')
        bro_job_field_error(job, "organization_id", "is required for a partner key");
    if (job->nfields == 0 && strcmp(role, "partner") != 0 && org[0] != '\0')
        bro_job_field_error(job, "organization_id", "is only for partner keys");
    if (bro_job_check_fields(job) < 0 || bro_platform_key_tenant(job, tenant, sizeof(tenant)) < 0)
        return -1;
    /* A partner key is bound to one organisation of the key's own tenant, never another's. */
    if (org[0] && (bro_platform_key_org(job, tenant, org) < 0 || bro_job_check_fields(job) < 0))
        return -1;
    bro_keys_issued k;
    bro_err err = {0};
    if (bro_keys_issue(job->db, tenant, role, org[0] ? org : NULL, label[0] ? label : NULL, &k,
                       &err) < 0) /* an id collision is a unique violation: run again */
        return bro_job_fail(job, err.code == BRO_E_CONFLICT ? BRO_E_RETRY : err.code, "%s",
                            err.msg);
    int rc = bro_platform_key_reply(job, k.row, k.key);
    free(k.row);
    return rc;
}

int bro_platform_key_revoke(bro_job *job)
{
    char id[BRO_APIKEY_ID_LEN + 2];
    if (bro_job_param(job->path, "key_id", id, sizeof(id)) < 0 || strlen(id) != BRO_APIKEY_ID_LEN)
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such key");
    /* A tenant admin reaches only its own tenant's keys; others look absent. */
    const char *tenant = bro_platform_is_platform_admin(job) ? NULL : job->env->tenant;
    bro_err err = {0};
    int rc = bro_keys_revoke(job->db, id, tenant, &err);
    if (rc < 0)
        return bro_job_fail(job, err.code, "%s", err.msg);
    if (rc == BRO_KEYS_UNKNOWN)
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such key");
    job->status = 204; /* also for a key revoked before: what was asked holds */
    return 0;
}

int bro_platform_key_list(bro_job *job)
{
    char cursor[BRO_APIKEY_ID_LEN + 2], limit_s[12]; /* limit_s: any int and its NUL */
    int limit;
    if (bro_platform_page_query(job, bro_query_listKeys, bro_query_listKeys_n, cursor,
                                sizeof(cursor), &limit) < 0)
        return -1;
    snprintf(limit_s, sizeof(limit_s), "%d", limit + 1);
    /* Only the caller's own tenant: the route is for tenant admins, whose tenant is the job's. */
    const char *p[] = {job->env->tenant, cursor[0] ? cursor : NULL, limit_s,
                       bro_platform_time_format};
    PGresult *res = bro_platform_exec(job, bro_platform_sql_key_list, 4, p);
    if (res == NULL)
        return -1;
    const char *next = PQntuples(res) > limit ? PQgetvalue(res, limit - 1, 1) : NULL;
    int rc = bro_job_reply_page(job, res, limit, next);
    PQclear(res);
    return rc;
}
