/* What the staff users (users.c) and their sign-in sessions (sessions.c) share: the user's JSON,
 * the actor id a session's requests carry, the argon2id parameters and the switch between the
 * platform schema and a tenant's inside one job's transaction. */
#ifndef BRO_PLATFORM_STAFF_H
#define BRO_PLATFORM_STAFF_H

#include "job.h"

/* "user:<uuid>": the actor id (envelope actor.key_id, audit_log.key_id) of a session's
 * requests, so the audit log names the user behind every read and change. */
#define BRO_STAFF_ACTOR_PREFIX "user:"

/* A user row u as the API shows it; never the password hash. */
#define BRO_STAFF_USER_JSON                                                                        \
    "json_build_object('id', u.id, 'name', u.name, 'email', u.email, 'role', u.role,"              \
    " 'organization_id', u.organization_id, 'has_password', u.password_hash IS NOT NULL,"          \
    " 'version', u.version, 'etag', '\"' || u.version || '\"',"                                    \
    " 'locked', coalesce(u.locked_until > now(), false), 'last_sign_in_at', " BRO_SQL_TIME(        \
        "u.last_sign_in_at") ", 'created_at', " BRO_SQL_TIME("u.created_at") ", 'updated_at', "    \
                                                                             "" BRO_SQL_TIME(      \
                                                                                 "u.updated_at") ")"

#define BRO_STAFF_HASH_MAX 128 /* bytes of an argon2id string (crypto_pwhash_STRBYTES) */

/* Hashes password with argon2id (libsodium's crypto_pwhash_str_alg, interactive limits) into
 * out. Returns 0, or -1 with the job failed (out of memory: argon2 needs 64 MiB). */
int bro_staff_hash(bro_job *job, const char *password, char out[BRO_STAFF_HASH_MAX]) BRO_MUST_USE;

/* Takes the role and schema of tenant for the statements that follow in the job's transaction
 * (as_tenant 1), or gives them back for the worker's own role and the platform schema
 * (as_tenant 0). Returns 0, or -1 with the job failed. */
int bro_staff_switch(bro_job *job, const char *tenant, int as_tenant) BRO_MUST_USE;

/* Ends every open session of user_id in tenant. Runs in the platform schema: a tenant job
 * switches there and back around it. Returns 0, or -1 with the job failed. */
int bro_staff_end_sessions(bro_job *job, const char *tenant, const char *user_id) BRO_MUST_USE;

/* The user id of the job's actor when a session made the request (into out), else "".
 * Returns 1 when there is one. */
int bro_staff_actor_user(const bro_job *job, char out[BRO_UUID_LEN + 1]);

#endif
