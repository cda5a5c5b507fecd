/* The kommune's staff users, managed by its tenant admin: name, e-mail, role (a partner's with
 * its organisation) and an argon2id password. Tenant jobs; a change of role, organisation,
 * e-mail or password, and a removal, end the user's sessions in the platform schema within the
 * same transaction. Every change leaves a row in the audit log. */
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/jmp.h"
#include "platform/staff.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

#define BRO_USERS_LIMIT_DEFAULT 50
#define BRO_USERS_LIMIT_MAX     200

/* $1 actor, $2 role, $3 route, $4 request id, $5 job id, then the statement's own. */
#define BRO_USERS_AUDIT(action)                                                                    \
    " aud AS (INSERT INTO audit_log (key_id, role, action, route, request_id, job_id)"             \
    " SELECT $1, $2, '" action "', $3, $4, $5::uuid FROM u)"

/* $6 id, $7 name, $8 e-mail, $9 role, $10 organisation, $11 password hash. */
static const char *bro_users_sql_create =
    "WITH u AS (INSERT INTO users (id, name, email, role, organization_id, password_hash)"
    " VALUES ($6::uuid, $7, $8, $9, $10::uuid, $11) RETURNING *)," BRO_USERS_AUDIT(
        "user.create") " SELECT " BRO_STAFF_USER_JSON "::text FROM u";

/* $6 id, $7 the names of the fields present, $8 name, $9 e-mail, $10 role, $11 organisation,
 * $12 password hash, $13 unlock. */
static const char *bro_users_sql_update =
    "WITH u AS (UPDATE users SET"
    " name = CASE WHEN 'name' = ANY ($7::text[]) THEN $8 ELSE name END,"
    " email = CASE WHEN 'email' = ANY ($7::text[]) THEN $9 ELSE email END,"
    " role = CASE WHEN 'role' = ANY ($7::text[]) THEN $10 ELSE role END,"
    " organization_id = CASE WHEN 'role' = ANY ($7::text[]) OR 'organization_id' = ANY"
    " ($7::text[]) THEN $11::uuid ELSE organization_id END,"
    " password_hash = CASE WHEN 'password' = ANY ($7::text[]) THEN $12 ELSE password_hash END,"
    " failed_attempts = CASE WHEN $13::bool THEN 0 ELSE failed_attempts END,"
    " locked_until = CASE WHEN $13::bool THEN NULL ELSE locked_until END,"
    " version = version + 1, updated_at = now() WHERE id = $6::uuid RETURNING *)," BRO_USERS_AUDIT(
        "user.update") " SELECT " BRO_STAFF_USER_JSON "::text FROM u";

/* $6 id. */
static const char *bro_users_sql_delete =
    "WITH u AS (DELETE FROM users WHERE id = $6::uuid RETURNING *)," BRO_USERS_AUDIT(
        "user.delete") " SELECT id::text FROM u";

/* $1 e-mail, $2 the user itself (NULL on create). */
static const char *bro_users_sql_taken =
    "SELECT 1 FROM users WHERE lower(email) = lower($1) AND ($2::uuid IS NULL OR id <> $2::uuid)";

/* $1 id. */
static const char *bro_users_sql_current =
    "SELECT role, organization_id::text, version::text FROM users WHERE id = $1::uuid FOR UPDATE";

/* ---- checks -------------------------------------------------------------------------------- */

typedef struct bro_users_body {
    char name[808], email[1024], role[24], org[BRO_UUID_LEN + 1];
    char hash[BRO_STAFF_HASH_MAX]; /* "" when no password is set */
    const char *present[8];        /* the names of the fields present */
    int npresent;
    int unlock;
} bro_users_body;

static PGresult *bro_users_exec(bro_job *job, const char *sql, int n, const char *const *p)
{
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, sql, n, p, &err);
    if (res == NULL)
        bro_job_fail(job, err.code, "%s", err.msg);
    return res;
}

/* 1 when sql with p finds a row, 0 when not, -1 with the job failed. */
static int bro_users_exists(bro_job *job, const char *sql, int n, const char *const *p)
{
    PGresult *res = bro_users_exec(job, sql, n, p);
    if (res == NULL)
        return -1;
    int found = PQntuples(res) > 0;
    PQclear(res);
    return found;
}

/* Reads the fields present in data into b; role and org are the user's as they will be. */
static void bro_users_take(bro_job *job, bro_users_body *b)
{
    static const char *const names[] = {"name", "email", "role", "organization_id", "password"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (bro_jmp_map_get(job->data, names[i]))
            b->present[b->npresent++] = names[i];
    bro_job_param(job->data, "name", b->name, sizeof(b->name));
    bro_job_param(job->data, "email", b->email, sizeof(b->email));
    bro_job_param(job->data, "role", b->role, sizeof(b->role));
    bro_job_param(job->data, "organization_id", b->org, sizeof(b->org));
    const msgpack_object *unlock = bro_jmp_map_get(job->data, "unlock");
    b->unlock = unlock && unlock->type == MSGPACK_OBJECT_BOOLEAN && unlock->via.boolean;
}

/* The checks beyond the schema: a partner has an organisation of this tenant and no one else
 * has one; the e-mail is no other user's. id is the user changed ("" on create). */
static int bro_users_check(bro_job *job, bro_users_body *b, const char *id)
{
    if (strcmp(b->role, "partner") == 0 && b->org[0] == '\0')
        bro_job_field_error(job, "organization_id", "is required for a partner user");
    if (strcmp(b->role, "partner") != 0 && b->org[0] != '\0')
        bro_job_field_error(job, "organization_id", "is only for partner users");
    if (bro_job_check_fields(job) < 0)
        return -1;
    const char *po[] = {b->org};
    int known =
        b->org[0] ? bro_users_exists(job, "SELECT 1 FROM organizations WHERE id = $1::uuid", 1, po)
                  : 1;
    if (known < 0)
        return -1;
    if (!known)
        bro_job_field_error(job, "organization_id", "is not an organisation of this tenant");
    const char *pe[] = {b->email, id[0] ? id : NULL};
    int taken = b->email[0] ? bro_users_exists(job, bro_users_sql_taken, 2, pe) : 0;
    if (taken < 0)
        return -1;
    if (taken) {
        bro_job_field_error(job, "email", "another user has this e-mail address");
        return bro_job_fail(job, BRO_E_CONFLICT, "the e-mail address is taken");
    }
    return bro_job_check_fields(job);
}

/* Hashes the password in data into b->hash when one is given (not null). */
static int bro_users_password(bro_job *job, bro_users_body *b)
{
    char password[808];
    b->hash[0] = '\0';
    if (bro_job_param(job->data, "password", password, sizeof(password)) < 0)
        return 0;
    int rc = bro_staff_hash(job, password, b->hash);
    sodium_memzero(password, sizeof(password));
    return rc;
}

static void bro_users_audit_params(const bro_job *job, const char **p)
{
    p[0] = job->env->actor.key_id;
    p[1] = job->env->actor.role;
    p[2] = job->route;
    p[3] = job->env->req;
    p[4] = job->env->id;
}

/* The path's user id into id, or fails with 404. */
static int bro_users_path_id(bro_job *job, char id[BRO_UUID_LEN + 2])
{
    if (bro_job_param(job->path, "id", id, BRO_UUID_LEN + 2) < 0 || !bro_ids_is_uuid(id))
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such user");
    return 0;
}

/* Ends the sessions of user id: in the platform schema, then back in the tenant's. */
static int bro_users_end_sessions(bro_job *job, const char *id)
{
    if (bro_staff_switch(job, job->env->tenant, 0) < 0 ||
        bro_staff_end_sessions(job, job->env->tenant, id) < 0)
        return -1;
    return bro_staff_switch(job, job->env->tenant, 1);
}

/* ---- handlers ------------------------------------------------------------------------------ */

int bro_users_create(bro_job *job)
{
    bro_validate(job, job->data, bro_schema_UserCreate, bro_schema_UserCreate_n, 0);
    if (bro_job_check_fields(job) < 0)
        return -1;
    bro_users_body b = {0};
    bro_users_take(job, &b);
    if (bro_users_check(job, &b, "") < 0 || bro_users_password(job, &b) < 0)
        return -1;
    char id[BRO_UUID_LEN + 1];
    bro_ids_uuid7(id);
    const char *p[11];
    bro_users_audit_params(job, p);
    const char *own[] = {
        id, b.name, b.email, b.role, b.org[0] ? b.org : NULL, b.hash[0] ? b.hash : NULL};
    memcpy(p + 5, own, sizeof(own));
    return bro_job_query_one(job, bro_users_sql_create, 11, p, 201, "no such user");
}

int bro_users_get(bro_job *job)
{
    char id[BRO_UUID_LEN + 2];
    if (bro_users_path_id(job, id) < 0)
        return -1;
    const char *p[] = {id};
    return bro_job_query_one(
        job, "SELECT " BRO_STAFF_USER_JSON "::text FROM users u WHERE id = $1::uuid", 1, p, 200,
        "no such user");
}

int bro_users_list(bro_job *job)
{
    if (job->query && job->query->via.map.size > 0)
        bro_validate(job, job->query, bro_query_listUsers, bro_query_listUsers_n, 1);
    if (bro_job_check_fields(job) < 0)
        return -1;
    char cursor[BRO_UUID_LEN + 2] = "", lim[8], limit_s[12];
    int limit = BRO_USERS_LIMIT_DEFAULT;
    if (bro_job_param(job->query, "cursor", cursor, sizeof(cursor)) < 0)
        cursor[0] = '\0';
    if (bro_job_param(job->query, "limit", lim, sizeof(lim)) == 0)
        limit = atoi(lim) >= 1 && atoi(lim) <= BRO_USERS_LIMIT_MAX ? atoi(lim) : limit;
    snprintf(limit_s, sizeof(limit_s), "%d", limit + 1);
    const char *p[] = {cursor[0] ? cursor : NULL, limit_s};
    PGresult *res = bro_users_exec(job,
                                   "SELECT " BRO_STAFF_USER_JSON "::text, u.id::text FROM users u"
                                   " WHERE ($1::uuid IS NULL OR id > $1::uuid) ORDER BY id"
                                   " LIMIT $2::int",
                                   2, p);
    if (res == NULL)
        return -1;
    const char *next = PQntuples(res) > limit ? PQgetvalue(res, limit - 1, 1) : NULL;
    int rc = bro_job_reply_page(job, res, limit, next);
    PQclear(res);
    return rc;
}

/* Fills b's role and organisation from the user's current ones where the body leaves them, and
 * checks If-Match against the user's version. */
static int bro_users_current(bro_job *job, const char *id, bro_users_body *b, int has_org)
{
    const char *p[] = {id};
    PGresult *res = bro_users_exec(job, bro_users_sql_current, 1, p);
    if (res == NULL)
        return -1;
    int found = PQntuples(res) == 1;
    if (found && b->role[0] == '\0')
        snprintf(b->role, sizeof(b->role), "%s", PQgetvalue(res, 0, 0));
    if (found && !has_org && strcmp(b->role, "partner") == 0)
        snprintf(b->org, sizeof(b->org), "%s", PQgetvalue(res, 0, 1));
    char version[16] = "";
    if (found)
        snprintf(version, sizeof(version), "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    if (!found)
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such user");
    return bro_job_if_match(job, version);
}

int bro_users_update(bro_job *job)
{
    char id[BRO_UUID_LEN + 2];
    if (bro_users_path_id(job, id) < 0)
        return -1;
    bro_validate(job, job->data, bro_schema_UserUpdate, bro_schema_UserUpdate_n, 1);
    if (bro_job_check_fields(job) < 0)
        return -1;
    bro_users_body b = {0};
    bro_users_take(job, &b);
    if (b.npresent == 0 && !b.unlock) {
        bro_job_field_error(job, "body", "names no field to change");
        return bro_job_check_fields(job);
    }
    int has_org = bro_jmp_map_get(job->data, "organization_id") != NULL;
    if (bro_users_current(job, id, &b, has_org) < 0 || bro_users_check(job, &b, id) < 0 ||
        bro_users_password(job, &b) < 0)
        return -1;
    char present[96] = "{";
    for (int i = 0; i < b.npresent; i++)
        snprintf(present + strlen(present), sizeof(present) - strlen(present), "%s%s", i ? "," : "",
                 b.present[i]);
    strcat(present, "}");
    const char *p[13];
    bro_users_audit_params(job, p);
    const char *own[] = {id,
                         present,
                         b.name,
                         b.email,
                         b.role,
                         b.org[0] ? b.org : NULL,
                         b.hash[0] ? b.hash : NULL,
                         b.unlock ? "true" : "false"};
    memcpy(p + 5, own, sizeof(own));
    /* Anything a session carries or was won with: its holder signs in again. */
    int ends = strstr(present, "role") || strstr(present, "organization_id") ||
               strstr(present, "password") || strstr(present, "email");
    if (ends && bro_users_end_sessions(job, id) < 0)
        return -1;
    return bro_job_query_one(job, bro_users_sql_update, 13, p, 200, "no such user");
}

int bro_users_delete(bro_job *job)
{
    char id[BRO_UUID_LEN + 2];
    if (bro_users_path_id(job, id) < 0)
        return -1;
    const char *p[6];
    bro_users_audit_params(job, p);
    p[5] = id;
    int found = bro_users_exists(job, bro_users_sql_delete, 6, p);
    if (found < 0)
        return -1;
    if (!found)
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such user");
    if (bro_users_end_sessions(job, id) < 0)
        return -1;
    job->status = 204;
    return 0;
}
