/* Staff sign-in: the password check (argon2id) with lock-out after repeated failures, the
 * session that follows, its resolution for the gateway (as auth.resolve does for keys) and
 * signing out, of one session or all of a user's. Platform jobs: the sessions live in the
 * platform schema, the users in their tenant's, and a job takes the tenant's role for them. */
#include <libpq-fe.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/ids.h"
#include "common/jmp.h"
#include "common/session.h"
#include "platform/staff.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

#define BRO_SESSIONS_FAILS_TO_LOCK 5            /* failed sign-ins in a row that lock */
#define BRO_SESSIONS_LOCK          "15 minutes" /* how long a lock-out lasts */
#define BRO_SESSIONS_LIFETIME      "12 hours"   /* a working day, then sign in again */

/* A hash of a password no one has, made once per process: checked when the e-mail is unknown,
 * so an unknown address costs the same time as a wrong password and the timing tells nothing. */
static char bro_sessions_decoy[BRO_STAFF_HASH_MAX];
static pthread_once_t bro_sessions_decoy_once = PTHREAD_ONCE_INIT;

/* Also libsodium's own start (sodium_init), which must come before its other functions. */
static void bro_sessions_decoy_make(void)
{
    char pw[33];
    if (sodium_init() < 0)
        return;
    randombytes_buf(pw, sizeof(pw) - 1);
    for (size_t i = 0; i < sizeof(pw) - 1; i++)
        pw[i] = (char)('a' + (unsigned char)pw[i] % 26);
    pw[sizeof(pw) - 1] = '\0';
    if (crypto_pwhash_str_alg(
            bro_sessions_decoy, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
        bro_sessions_decoy[0] = '\0';
}

static const char *bro_sessions_sql_resolve =
    "SELECT json_build_object('session_id', id, 'secret_sha256', secret_sha256, 'tenant', tenant,"
    " 'role', role, 'org', organization_id, 'user_id', user_id,"
    " 'active', revoked_at IS NULL AND expires_at > now())::text FROM sessions WHERE id = $1";

/* $1 e-mail; run as the tenant. */
static const char *bro_sessions_sql_user =
    "SELECT u.id::text, u.password_hash, coalesce(u.locked_until > now(), false), u.role,"
    " u.organization_id::text FROM users u WHERE lower(u.email) = lower($1) FOR UPDATE";

/* $1 user id. A failure counts on from a lock-out that has passed as from a fresh start. */
static const char *bro_sessions_sql_failed =
    "UPDATE users SET failed_attempts = CASE WHEN locked_until <= now() THEN 1"
    " ELSE failed_attempts + 1 END,"
    " locked_until = CASE WHEN (CASE WHEN locked_until <= now() THEN 1 ELSE failed_attempts + 1"
    " END) >= $2::int THEN now() + interval '" BRO_SESSIONS_LOCK "' ELSE NULL END"
    " WHERE id = $1::uuid RETURNING locked_until IS NOT NULL";

/* $1 user id, $2 actor, $3 route, $4 request id, $5 job id. */
static const char *bro_sessions_sql_signed_in =
    "WITH u AS (UPDATE users SET failed_attempts = 0, locked_until = NULL,"
    " last_sign_in_at = now() WHERE id = $1::uuid RETURNING *),"
    " aud AS (INSERT INTO audit_log (key_id, role, action, route, request_id, job_id)"
    " SELECT $2, role, 'session.create', $3, $4, $5::uuid FROM u)"
    " SELECT " BRO_STAFF_USER_JSON "::text FROM u";

/* $1 id, $2 secret hash, $3 tenant, $4 user, $5 role, $6 organisation. */
static const char *bro_sessions_sql_insert =
    "INSERT INTO sessions (id, secret_sha256, tenant, user_id, role, organization_id,"
    " expires_at) VALUES ($1, $2, $3, $4::uuid, $5, $6::uuid, now() + interval "
    "'" BRO_SESSIONS_LIFETIME "') RETURNING " BRO_SQL_TIME("expires_at");

/* ---- shared with users.c ------------------------------------------------------------------- */

int bro_staff_hash(bro_job *job, const char *password, char out[BRO_STAFF_HASH_MAX])
{
    pthread_once(&bro_sessions_decoy_once, bro_sessions_decoy_make);
    if (crypto_pwhash_str_alg(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return bro_job_fail(job, BRO_E_RETRY, "argon2id: out of memory");
    return 0;
}

static PGresult *bro_sessions_exec(bro_job *job, const char *sql, int n, const char *const *p)
{
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, sql, n, p, &err);
    if (res == NULL)
        bro_job_fail(job, err.code, "%s", err.msg);
    return res;
}

int bro_staff_switch(bro_job *job, const char *tenant, int as_tenant)
{
    char role[48] = "none", schema[48] = "platform";
    if (as_tenant) {
        if (!bro_ids_is_slug(tenant))
            return bro_job_fail(job, BRO_E_INTERNAL, "bad tenant slug");
        snprintf(role, sizeof(role), "t_%s", tenant);
        snprintf(schema, sizeof(schema), "\"t_%s\"", tenant);
    }
    const char *p[] = {role, schema};
    PGresult *res = bro_sessions_exec(
        job, "SELECT set_config('role', $1, true), set_config('search_path', $2, true)", 2, p);
    PQclear(res);
    return res ? 0 : -1;
}

int bro_staff_end_sessions(bro_job *job, const char *tenant, const char *user_id)
{
    const char *p[] = {tenant, user_id};
    PGresult *res = bro_sessions_exec(job,
                                      "UPDATE sessions SET revoked_at = now() WHERE tenant = $1"
                                      " AND user_id = $2::uuid AND revoked_at IS NULL",
                                      2, p);
    PQclear(res);
    return res ? 0 : -1;
}

int bro_staff_actor_user(const bro_job *job, char out[BRO_UUID_LEN + 1])
{
    const char *k = job->env->actor.key_id;
    size_t n = strlen(BRO_STAFF_ACTOR_PREFIX);
    out[0] = '\0';
    if (strncmp(k, BRO_STAFF_ACTOR_PREFIX, n) != 0 || !bro_ids_is_uuid(k + n))
        return 0;
    snprintf(out, BRO_UUID_LEN + 1, "%s", k + n);
    return 1;
}

/* ---- resolution ---------------------------------------------------------------------------- */

int bro_sessions_resolve(bro_job *job)
{
    char id[BRO_APIKEY_ID_LEN + 2];
    if (bro_job_param(job->data, "session_id", id, sizeof(id)) < 0 ||
        strlen(id) != BRO_APIKEY_ID_LEN)
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such session");
    const char *p[] = {id};
    return bro_job_query_one(job, bro_sessions_sql_resolve, 1, p, 200, "no such session");
}

/* ---- sign-in ------------------------------------------------------------------------------- */

typedef struct bro_sessions_user {
    char id[BRO_UUID_LEN + 1];
    char hash[BRO_STAFF_HASH_MAX]; /* "" when the user has no password */
    char role[24];
    char org[BRO_UUID_LEN + 1]; /* "" unless a partner */
    int locked;
    int found;
} bro_sessions_user;

/* Reads the user of email (as the tenant, locked for the attempt). Returns 0 or -1. */
static int bro_sessions_user_get(bro_job *job, const char *email, bro_sessions_user *u)
{
    const char *p[] = {email};
    PGresult *res = bro_sessions_exec(job, bro_sessions_sql_user, 1, p);
    if (res == NULL)
        return -1;
    memset(u, 0, sizeof(*u));
    if (PQntuples(res) == 1) {
        u->found = 1;
        snprintf(u->id, sizeof(u->id), "%s", PQgetvalue(res, 0, 0));
        snprintf(u->hash, sizeof(u->hash), "%s", PQgetvalue(res, 0, 1));
        u->locked = PQgetvalue(res, 0, 2)[0] == 't';
        snprintf(u->role, sizeof(u->role), "%s", PQgetvalue(res, 0, 3));
        snprintf(u->org, sizeof(u->org), "%s", PQgetvalue(res, 0, 4));
    }
    PQclear(res);
    return 0;
}

/* A wrong password: the failure is counted and committed at once (the job itself fails, and
 * its rollback must not take the count with it), then the answer is 401, or 423 when this
 * attempt locked the account. A fresh transaction is left for the runtime to roll back. */
static int bro_sessions_refuse(bro_job *job, const bro_sessions_user *u)
{
    char limit[8];
    snprintf(limit, sizeof(limit), "%d", BRO_SESSIONS_FAILS_TO_LOCK);
    const char *p[] = {u->id, limit};
    PGresult *res = bro_sessions_exec(job, bro_sessions_sql_failed, 2, p);
    if (res == NULL)
        return -1;
    int locked = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    bro_err err = {0};
    if (bro_db_commit(job->db, &err) < 0 || bro_db_begin(job->db, NULL, &err) < 0)
        return bro_job_fail(job, err.code, "%s", err.msg);
    if (locked)
        return bro_job_fail(job, BRO_E_LOCKED, "too many failed sign-ins; try again later");
    return bro_job_fail(job, BRO_E_UNAUTHORIZED, "wrong e-mail or password");
}

/* Checks the password of the user of email in tenant; on success fills u and leaves the user's
 * JSON (with its last sign-in) in *user_json (caller frees). Returns 0, or -1 with the job
 * failed (401 for every wrong combination, 423 while locked). */
static int bro_sessions_check(bro_job *job, const char *tenant, const char *email,
                              const char *password, bro_sessions_user *u, char **user_json)
{
    const char *tp[] = {tenant};
    PGresult *res = bro_sessions_exec(job, "SELECT 1 FROM tenants WHERE slug = $1", 1, tp);
    if (res == NULL)
        return -1;
    int known = PQntuples(res) == 1;
    PQclear(res);
    memset(u, 0, sizeof(*u));
    if (known && (bro_staff_switch(job, tenant, 1) < 0 || bro_sessions_user_get(job, email, u) < 0))
        return -1;
    pthread_once(&bro_sessions_decoy_once, bro_sessions_decoy_make);
    const char *hash = u->found && u->hash[0] ? u->hash : bro_sessions_decoy;
    int ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0 &&
             hash != bro_sessions_decoy;
    if (!u->found || !u->hash[0])
        return bro_job_fail(job, BRO_E_UNAUTHORIZED, "wrong e-mail or password");
    if (u->locked)
        return bro_job_fail(job, BRO_E_LOCKED, "too many failed sign-ins; try again later");
    if (!ok)
        return bro_sessions_refuse(job, u);
    char actor[64], job_id[BRO_UUID_LEN + 1];
    snprintf(actor, sizeof(actor), "%s%s", BRO_STAFF_ACTOR_PREFIX, u->id);
    snprintf(job_id, sizeof(job_id), "%s", job->env->id);
    const char *p[] = {u->id, actor, job->route, job->env->req, job_id};
    if ((res = bro_sessions_exec(job, bro_sessions_sql_signed_in, 5, p)) == NULL)
        return -1;
    *user_json = PQntuples(res) == 1 ? strdup(PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    if (*user_json == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    return bro_staff_switch(job, tenant, 0);
}

/* Packs {session_id, csrf_token, expires_at, user} and the token as the reply, and only
 * {session_id, expires_at, user} as what is stored for a replay: neither the token nor the CSRF
 * token derived from it is in any table, and a replay signs no one in. */
static int bro_sessions_reply(bro_job *job, const char *id, const char *csrf, const char *expires,
                              const char *user_json, const char *token)
{
    json_t *user = json_loads(user_json, 0, NULL);
    json_t *obj = json_pack("{s:s, s:s, s:o}", "session_id", id, "expires_at", expires, "user",
                            user ? user : json_null());
    bro_err err = {0};
    int rc = 0;
    if (obj == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    msgpack_packer stored;
    msgpack_packer_init(&stored, &job->stored, msgpack_sbuffer_write);
    if (bro_jmp_pack_json(&stored, obj, &err) < 0)
        rc = bro_job_fail(job, BRO_E_INTERNAL, "%s", err.msg);
    json_object_set_new(obj, "csrf_token", json_string(csrf));
    json_object_set_new(obj, "token", json_string(token));
    if (rc == 0 && bro_jmp_pack_json(&job->pk, obj, &err) < 0)
        rc = bro_job_fail(job, BRO_E_INTERNAL, "%s", err.msg);
    json_decref(obj);
    job->has_stored = 1;
    job->status = 201;
    return rc;
}

/* Makes the session of u in tenant and replies with it. */
static int bro_sessions_start(bro_job *job, const char *tenant, const bro_sessions_user *u,
                              const char *user_json)
{
    char id[BRO_APIKEY_ID_LEN + 1], secret[BRO_APIKEY_SECRET_LEN + 1];
    char token[BRO_SESSION_LEN + 1], sha[BRO_APIKEY_HASH_LEN + 1], csrf[BRO_SESSION_CSRF_LEN + 1];
    bro_err err = {0};
    if (bro_session_generate(id, secret, token, &err) < 0 || bro_apikey_hash(secret, sha) < 0 ||
        bro_session_csrf(secret, csrf) < 0)
        return bro_job_fail(job, BRO_E_INTERNAL, "cannot make a session");
    const char *p[] = {id, sha, tenant, u->id, u->role, u->org[0] ? u->org : NULL};
    PGresult *res = bro_db_exec(job->db, bro_sessions_sql_insert, 6, p, &err);
    if (res == NULL) /* an id collision is a unique violation: run again */
        return bro_job_fail(job, err.code == BRO_E_CONFLICT ? BRO_E_RETRY : err.code, "%s",
                            err.msg);
    char expires[40];
    snprintf(expires, sizeof(expires), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    int rc = bro_sessions_reply(job, id, csrf, expires, user_json, token);
    sodium_memzero(secret, sizeof(secret));
    sodium_memzero(token, sizeof(token));
    return rc;
}

int bro_sessions_create(bro_job *job)
{
    bro_validate(job, job->data, bro_schema_SignIn, bro_schema_SignIn_n, 0);
    if (bro_job_check_fields(job) < 0)
        return -1;
    char tenant[40], email[256], password[808];
    if (bro_job_param(job->data, "tenant", tenant, sizeof(tenant)) < 0 ||
        bro_job_param(job->data, "email", email, sizeof(email)) < 0 ||
        bro_job_param(job->data, "password", password, sizeof(password)) < 0)
        return bro_job_fail(job, BRO_E_UNAUTHORIZED, "wrong e-mail or password");
    bro_sessions_user u;
    char *user_json = NULL;
    int rc = bro_sessions_check(job, tenant, email, password, &u, &user_json);
    sodium_memzero(password, sizeof(password));
    if (rc == 0)
        rc = bro_sessions_start(job, tenant, &u, user_json);
    free(user_json);
    return rc;
}

/* ---- signing out --------------------------------------------------------------------------- */

int bro_sessions_revoke(bro_job *job)
{
    char id[BRO_APIKEY_ID_LEN + 2], user[BRO_UUID_LEN + 1];
    if (bro_job_param(job->path, "session_id", id, sizeof(id)) < 0 ||
        strlen(id) != BRO_APIKEY_ID_LEN || !bro_staff_actor_user(job, user))
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such session");
    /* Only the user's own sessions: another's looks absent. */
    const char *p[] = {id, job->env->tenant, user};
    PGresult *res = bro_sessions_exec(
        job,
        "UPDATE sessions SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1"
        " AND tenant = $2 AND user_id = $3::uuid RETURNING 1",
        3, p);
    if (res == NULL)
        return -1;
    int found = PQntuples(res) == 1;
    PQclear(res);
    if (!found)
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such session");
    job->status = 204;
    return 0;
}

int bro_sessions_revoke_all(bro_job *job)
{
    char user[BRO_UUID_LEN + 1];
    if (bro_staff_actor_user(job, user) && bro_staff_end_sessions(job, job->env->tenant, user) < 0)
        return -1;
    job->status = 204; /* with an API key there is no session to end */
    return 0;
}
