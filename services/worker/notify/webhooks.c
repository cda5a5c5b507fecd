/* The /v1/webhooks routes (tenant admin): endpoints with their signing secrets, shown once;
 * their deliveries, a retry, a replay since a time and a ping. Each runs in the job's tenant
 * transaction; a change the delivery thread must act on writes a `webhook.wake` outbox row
 * beside it (no endpoint receives it), which the thread's poll of pending outbox rows sees. */

/* The wake-up a statement adds as a CTE: an outbox row that goes to no endpoint. */
#define BRO_WEBHOOKS_WAKE                                                                          \
    "w AS (INSERT INTO outbox (event_id, event, payload) VALUES (gen_random_uuid(), "              \
    "'webhook.wake', '{}') RETURNING 1)"
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/jmp.h"
#include "notify/notify.h"
#include "notify/sign.h"
#include "records/records.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

#define BRO_WEBHOOKS_LIMIT_MAX 200

#define BRO_WEBHOOKS_TIME(col)                                                                     \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The endpoint as clients see it, from row alias e; never its secrets. */
#define BRO_WEBHOOKS_JSON                                                                                                               \
    "json_build_object('id', e.id, 'url', e.url, 'events', e.events, 'organization_id', "                                               \
    "e.organization_id, 'description', e.description, 'active', e.active, "                                                             \
    "'failing_since', " BRO_WEBHOOKS_TIME(                                                                                              \
        "e.failing_since") ", 'disabled_at', " BRO_WEBHOOKS_TIME("e.disabled_at") ", "                                                  \
                                                                                  "'disabled_"                                          \
                                                                                  "reason', "                                           \
                                                                                  "e.disabled_"                                         \
                                                                                  "reason, "                                            \
                                                                                  "'previous_"                                          \
                                                                                  "secret_until',"                                      \
                                                                                  " CASE "                                              \
                                                                                  "WHEN "                                               \
                                                                                  "e.previous_"                                         \
                                                                                  "until > now() "                                      \
                                                                                  "THEN"                                                \
                                                                                  " " BRO_WEBHOOKS_TIME(                                \
                                                                                      "e."                                              \
                                                                                      "previous_"                                       \
                                                                                      "until") " "                                      \
                                                                                               "E"                                      \
                                                                                               "N"                                      \
                                                                                               "D"                                      \
                                                                                               ","                                      \
                                                                                               " "                                      \
                                                                                               "'"                                      \
                                                                                               "v"                                      \
                                                                                               "e"                                      \
                                                                                               "r"                                      \
                                                                                               "s"                                      \
                                                                                               "i"                                      \
                                                                                               "o"                                      \
                                                                                               "n"                                      \
                                                                                               "'"                                      \
                                                                                               ","                                      \
                                                                                               " "                                      \
                                                                                               "e"                                      \
                                                                                               "."                                      \
                                                                                               "v"                                      \
                                                                                               "e"                                      \
                                                                                               "r"                                      \
                                                                                               "s"                                      \
                                                                                               "i"                                      \
                                                                                               "o"                                      \
                                                                                               "n"                                      \
                                                                                               ","                                      \
                                                                                               " "                                      \
                                                                                               "'"                                      \
                                                                                               "e"                                      \
                                                                                               "t"                                      \
                                                                                               "a"                                      \
                                                                                               "g"                                      \
                                                                                               "'"                                      \
                                                                                               ","                                      \
                                                                                               " "                                      \
                                                                                               "'"                                      \
                                                                                               "\"' || "                                \
                                                                                               "e"                                      \
                                                                                               "."                                      \
                                                                                               "v"                                      \
                                                                                               "e"                                      \
                                                                                               "r"                                      \
                                                                                               "s"                                      \
                                                                                               "i"                                      \
                                                                                               "o"                                      \
                                                                                               "n"                                      \
                                                                                               " "                                      \
                                                                                               "|"                                      \
                                                                                               "|"                                      \
                                                                                               " "                                      \
                                                                                               "'"                                      \
                                                                                               "\"', 'created_at', " BRO_WEBHOOKS_TIME( \
                                                                                                   "e.created_at") ", 'updated_at', " BRO_WEBHOOKS_TIME("e.updated_at") ")"

/* A delivery as clients see it, from row alias d, with its last answer's first 1 KiB. */
#define BRO_WEBHOOKS_DELIVERY_JSON                                                                 \
    "json_build_object('id', d.id, 'event_id', d.event_id, 'event', d.event, 'status', "           \
    "d.status, 'attempts', d.attempts, 'next_attempt_at', " BRO_WEBHOOKS_TIME(                     \
        "d.next_attempt_at") ", 'last_status_code', d.last_status_code, 'last_latency_ms', "       \
                             "d.last_latency_ms, 'last_error', d.last_error, 'last_response', "    \
                             "(SELECT a.response FROM webhook_attempts a WHERE a.delivery_id = "   \
                             "d.id ORDER BY a.id DESC LIMIT 1), 'created_at', " BRO_WEBHOOKS_TIME( \
                                 "d.created_at") ", 'finished_at', " BRO_WEBHOOKS_TIME("d."        \
                                                                                       "finished_" \
                                                                                       "at") ")::" \
                                                                                             "tex" \
                                                                                             "t"

/* $1 id, $2 url, $3 events (JSON array), $4 organisation, $5 description, $6 active, $7 secret
 * (hex), $8 the seal key's id or NULL, $9 the creating key. No row: no such organisation. */
static const char *bro_webhooks_sql_create =
    "WITH e AS (INSERT INTO webhook_endpoints (id, url, events, organization_id, description,"
    " active, secret, secret_seal, created_by) SELECT $1::uuid, $2, ARRAY(SELECT"
    " jsonb_array_elements_text($3::jsonb)), $4::uuid, $5, coalesce($6::boolean, true),"
    " decode($7, 'hex'), $8, $9 WHERE $4::uuid IS NULL OR EXISTS (SELECT 1 FROM organizations"
    " WHERE id = $4::uuid) RETURNING *) SELECT " BRO_WEBHOOKS_JSON "::text FROM e";

static const char *bro_webhooks_sql_get =
    "SELECT " BRO_WEBHOOKS_JSON "::text FROM webhook_endpoints e WHERE id = $1::uuid";

/* $1 cursor (last id seen), $2 limit. */
static const char *bro_webhooks_sql_list =
    "SELECT " BRO_WEBHOOKS_JSON "::text, e.id::text FROM webhook_endpoints e"
    " WHERE ($1::uuid IS NULL OR id < $1::uuid) ORDER BY id DESC LIMIT $2::int + 1";

static const char *bro_webhooks_sql_lock =
    "SELECT version::text FROM webhook_endpoints WHERE id = $1::uuid FOR UPDATE";

/* $1 id, $2 the names present, $3 url, $4 events, $5 organisation, $6 description, $7 active.
 * Re-enabling clears the disabled state and starts the failing time again. No row: no such
 * organisation. */
static const char *bro_webhooks_sql_update =
    "WITH e AS (UPDATE webhook_endpoints SET"
    " url = CASE WHEN 'url' = ANY ($2::text[]) THEN $3 ELSE url END,"
    " events = CASE WHEN 'events' = ANY ($2::text[]) THEN ARRAY(SELECT"
    " jsonb_array_elements_text($4::jsonb)) ELSE events END,"
    " organization_id = CASE WHEN 'organization_id' = ANY ($2::text[]) THEN $5::uuid"
    " ELSE organization_id END,"
    " description = CASE WHEN 'description' = ANY ($2::text[]) THEN $6 ELSE description END,"
    " active = CASE WHEN 'active' = ANY ($2::text[]) THEN $7::boolean ELSE active END,"
    " disabled_at = CASE WHEN 'active' = ANY ($2::text[]) AND $7::boolean THEN NULL"
    " WHEN 'active' = ANY ($2::text[]) AND disabled_at IS NULL THEN now() ELSE disabled_at END,"
    " disabled_reason = CASE WHEN 'active' = ANY ($2::text[]) THEN CASE WHEN $7::boolean THEN"
    " NULL ELSE coalesce(disabled_reason, 'by_admin') END ELSE disabled_reason END,"
    " failing_since = CASE WHEN 'active' = ANY ($2::text[]) AND $7::boolean THEN NULL"
    " ELSE failing_since END,"
    " version = version + 1, updated_at = now() WHERE id = $1::uuid AND ($5::uuid IS NULL OR"
    " NOT ('organization_id' = ANY ($2::text[])) OR EXISTS (SELECT 1 FROM organizations WHERE"
    " id = $5::uuid)) RETURNING *), " BRO_WEBHOOKS_WAKE " SELECT " BRO_WEBHOOKS_JSON
    "::text FROM e, w";

static const char *bro_webhooks_sql_delete =
    "DELETE FROM webhook_endpoints WHERE id = $1::uuid RETURNING 1";

/* $1 id, $2 new secret (hex), $3 its seal, $4 overlap hours. */
static const char *bro_webhooks_sql_rotate =
    "WITH e AS (UPDATE webhook_endpoints SET previous_secret = secret, previous_seal ="
    " secret_seal, previous_until = now() + $4::int * interval '1 hour', secret = decode($2,"
    " 'hex'), secret_seal = $3, version = version + 1, updated_at = now() WHERE id = $1::uuid"
    " RETURNING *) SELECT " BRO_WEBHOOKS_JSON "::text FROM e";

/* $1 endpoint, $2 status, $3 cursor (last seq seen), $4 limit. */
static const char *bro_webhooks_sql_deliveries =
    "SELECT " BRO_WEBHOOKS_DELIVERY_JSON ", d.seq::text FROM webhook_deliveries d"
    " WHERE d.endpoint_id = $1::uuid AND ($2::text IS NULL OR d.status = $2)"
    " AND ($3::bigint IS NULL OR d.seq < $3::bigint) ORDER BY d.seq DESC LIMIT $4::int + 1";

static const char *bro_webhooks_sql_exists =
    "SELECT active::text FROM webhook_endpoints WHERE id = $1::uuid";

/* $1 endpoint, $2 delivery. No row: missing, or being delivered (then state says so). */
static const char *bro_webhooks_sql_retry =
    "WITH d AS (UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(),"
    " finished_at = NULL WHERE endpoint_id = $1::uuid AND id = $2::uuid AND status <>"
    " 'delivering' RETURNING *), " BRO_WEBHOOKS_WAKE " SELECT " BRO_WEBHOOKS_DELIVERY_JSON
    " FROM d, w";

static const char *bro_webhooks_sql_delivery_state =
    "SELECT status FROM webhook_deliveries WHERE endpoint_id = $1::uuid AND id = $2::uuid";

/* $1 endpoint, $2 since. The events the endpoint wants, oldest first, at most 10,000. */
static const char *bro_webhooks_sql_replay =
    "WITH n AS (INSERT INTO webhook_deliveries (endpoint_id, event_id, event, order_key, payload,"
    " event_at) SELECT e.id, o.event_id, o.event, webhook_order_key(o.event, o.payload),"
    " o.payload, o.created_at FROM webhook_endpoints e JOIN outbox o ON o.created_at >="
    " $2::timestamptz AND o.event <> 'ping' WHERE e.id = $1::uuid AND webhook_wants(e, o.event,"
    " o.payload) ORDER BY o.id LIMIT 10000 RETURNING 1), " BRO_WEBHOOKS_WAKE
    " SELECT json_build_object('queued', (SELECT count(*) FROM n))::text"
    " FROM w";

/* $1 endpoint, $2 event id. */
static const char *bro_webhooks_sql_ping =
    "INSERT INTO outbox (event_id, event, aggregate_id, payload) VALUES ($2::uuid, 'ping',"
    " $1::uuid, jsonb_build_object('endpoint_id', $1::uuid))";

/* ---- pieces -------------------------------------------------------------------------------- */

static int bro_webhooks_id(bro_job *job, const char *name, char id[BRO_UUID_LEN + 1],
                           const char *what)
{
    if (bro_job_param(job->path, name, id, BRO_UUID_LEN + 1) < 0 || !bro_ids_is_uuid(id))
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such %s", what);
    return 0;
}

/* A member of the body as a new string for a statement parameter: text for strings, JSON for
 * arrays, "true"/"false" for booleans; NULL when absent or null. *present says whether the
 * member was sent. Caller frees. */
static char *bro_webhooks_member(const bro_job *job, const char *name, int *present)
{
    const msgpack_object *o = job->data ? bro_jmp_map_get(job->data, name) : NULL;
    *present = o != NULL;
    if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
        return NULL;
    if (o->type == MSGPACK_OBJECT_STR)
        return bro_job_strdup(o);
    if (o->type == MSGPACK_OBJECT_BOOLEAN)
        return strdup(o->via.boolean ? "true" : "false");
    bro_err err = {0};
    size_t len = 0;
    return bro_jmp_to_json_text(o, &len, &err);
}

/* Checks url against the module's address rules as a field error on `url`. */
static void bro_webhooks_check_url(bro_job *job, const char *url)
{
    bro_ssrf_target t;
    int unresolved = 0;
    char why[128];
    if (url &&
        bro_ssrf_check(url, &bro_notify_settings()->policy, &t, &unresolved, why, sizeof(why)) < 0)
        bro_job_field_error(job, "url", "%s", why);
}

/* A new secret: its whsec_ text, and its bytes as hex, sealed when a key is configured (the
 * seal binds tenant and endpoint). Returns 0, or -1 with the job failed. */
static int bro_webhooks_secret(bro_job *job, const char *endpoint, char text[BRO_SIGN_TEXT_MAX],
                               char **hex, const char **seal_id)
{
    unsigned char key[BRO_SIGN_SECRET_LEN];
    if (bro_sign_new_secret(key, text) < 0)
        return bro_job_fail(job, BRO_E_INTERNAL, "no random bytes for a secret");
    const bro_seal_key *seal = bro_notify_seal_key();
    unsigned char *blob = key;
    size_t len = sizeof(key);
    *seal_id = NULL;
    if (seal) {
        char aad[128];
        snprintf(aad, sizeof(aad), "webhook:%s:%s", job->env->tenant, endpoint);
        bro_err err = {0};
        if (bro_seal(seal, aad, strlen(aad), key, sizeof(key), &blob, &len, &err) < 0) {
            OPENSSL_cleanse(key, sizeof(key));
            return bro_job_fail(job, err.code, "%s", err.msg);
        }
        *seal_id = seal->id;
    }
    *hex = malloc(2 * len + 1);
    for (size_t i = 0; *hex && i < len; i++)
        snprintf(*hex + 2 * i, 3, "%02x", blob[i]);
    OPENSSL_cleanse(key, sizeof(key));
    if (blob != key)
        free(blob);
    return *hex ? 0 : bro_job_fail(job, BRO_E_NOMEM, "out of memory");
}

/* Replies with the endpoint JSON plus its secret, and stores the reply without the secret, so
 * a replayed request never shows it again. */
static int bro_webhooks_reply_secret(bro_job *job, int status, const char *json, const char *text)
{
    bro_err err = {0};
    json_t *obj = json_loads(json, 0, NULL);
    if (obj == NULL)
        return bro_job_fail(job, BRO_E_INTERNAL, "endpoint not readable");
    msgpack_packer stored;
    msgpack_packer_init(&stored, &job->stored, msgpack_sbuffer_write);
    int rc = bro_jmp_pack_json(&stored, obj, &err);
    json_object_set_new(obj, "secret", json_string(text));
    if (rc == 0)
        rc = bro_jmp_pack_json(&job->pk, obj, &err);
    json_decref(obj);
    if (rc < 0)
        return bro_job_fail(job, err.code, "%s", err.msg);
    job->has_stored = 1;
    job->status = status;
    return 0;
}

/* ---- endpoints ----------------------------------------------------------------------------- */

int bro_webhooks_create(bro_job *job)
{
    bro_validate(job, job->data, bro_schema_WebhookCreate, bro_schema_WebhookCreate_n, 0);
    if (bro_job_check_fields(job) < 0)
        return -1;
    int present;
    char *v[5];
    const char *names[5] = {"url", "events", "organization_id", "description", "active"};
    for (int i = 0; i < 5; i++)
        v[i] = bro_webhooks_member(job, names[i], &present);
    bro_webhooks_check_url(job, v[0]);
    char id[BRO_UUID_LEN + 1], text[BRO_SIGN_TEXT_MAX], *hex = NULL;
    const char *seal = NULL;
    bro_ids_uuid7(id);
    int rc = bro_job_check_fields(job);
    if (rc == 0)
        rc = bro_webhooks_secret(job, id, text, &hex, &seal);
    if (rc == 0) {
        const char *p[] = {id, v[0], v[1], v[2], v[3], v[4], hex, seal, job->env->actor.key_id};
        bro_err err = {0};
        PGresult *res = bro_db_exec(job->db, bro_webhooks_sql_create, 9, p, &err);
        if (res == NULL)
            rc = bro_job_fail(job, err.code, "%s", err.msg);
        else if (PQntuples(res) != 1) {
            bro_job_field_error(job, "organization_id", "no such organisation");
            rc = bro_job_check_fields(job);
        } else
            rc = bro_webhooks_reply_secret(job, 201, PQgetvalue(res, 0, 0), text);
        PQclear(res);
    }
    OPENSSL_cleanse(text, sizeof(text));
    free(hex);
    for (int i = 0; i < 5; i++)
        free(v[i]);
    return rc;
}

int bro_webhooks_get(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    if (bro_webhooks_id(job, "id", id, "webhook") < 0)
        return -1;
    const char *p[] = {id};
    return bro_job_query_one(job, bro_webhooks_sql_get, 1, p, 200, "no such webhook");
}

/* Reads limit and the cursor (cursor NULL: none taken) from the query; field errors on bad
 * ones. */
static void bro_webhooks_page_query(bro_job *job, const bro_vfield *fields, int n, int *limit)
{
    if (job->query && job->query->via.map.size > 0)
        bro_validate(job, job->query, fields, n, 1);
    char lim[8];
    *limit = 50;
    if (bro_job_param(job->query, "limit", lim, sizeof(lim)) == 0) {
        char *end;
        long v = strtol(lim, &end, 10);
        if (*end != '\0' || end == lim || v < 1 || v > BRO_WEBHOOKS_LIMIT_MAX)
            bro_job_field_error(job, "limit", "must be an integer from 1 to %d",
                                BRO_WEBHOOKS_LIMIT_MAX);
        else
            *limit = (int)v;
    }
}

int bro_webhooks_list(bro_job *job)
{
    int limit;
    char cursor[BRO_UUID_LEN + 1], lim[8];
    bro_webhooks_page_query(job, bro_query_listWebhooks, bro_query_listWebhooks_n, &limit);
    if (bro_job_check_fields(job) < 0)
        return -1;
    int has = bro_job_param(job->query, "cursor", cursor, sizeof(cursor)) == 0;
    snprintf(lim, sizeof(lim), "%d", limit);
    const char *p[] = {has ? cursor : NULL, lim};
    return bro_records_page(job, bro_webhooks_sql_list, 2, p, limit);
}

/* Locks the endpoint and checks If-Match. Returns 0, or -1 with the job failed. */
static int bro_webhooks_lock(bro_job *job, const char *id)
{
    const char *p[] = {id};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_webhooks_sql_lock, 1, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int rc = PQntuples(res) == 1 ? bro_job_if_match(job, PQgetvalue(res, 0, 0))
                                 : bro_job_fail(job, BRO_E_NOT_FOUND, "no such webhook");
    PQclear(res);
    return rc;
}

int bro_webhooks_update(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    if (bro_webhooks_id(job, "id", id, "webhook") < 0)
        return -1;
    bro_validate(job, job->data, bro_schema_WebhookPatch, bro_schema_WebhookPatch_n, 1);
    if (bro_job_check_fields(job) < 0 || bro_webhooks_lock(job, id) < 0)
        return -1;
    const char *names[5] = {"url", "events", "organization_id", "description", "active"};
    char *v[5], list[96] = "{";
    for (int i = 0; i < 5; i++) {
        int present = 0;
        v[i] = bro_webhooks_member(job, names[i], &present);
        if (present)
            snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", list[1] ? "," : "",
                     names[i]);
    }
    strcat(list, "}");
    if (v[0])
        bro_webhooks_check_url(job, v[0]);
    int rc = bro_job_check_fields(job);
    if (rc == 0) {
        const char *p[] = {id, list, v[0], v[1], v[2], v[3], v[4]};
        bro_err err = {0};
        PGresult *res = bro_db_exec(job->db, bro_webhooks_sql_update, 7, p, &err);
        if (res == NULL)
            rc = bro_job_fail(job, err.code, "%s", err.msg);
        else if (PQntuples(res) != 1) {
            bro_job_field_error(job, "organization_id", "no such organisation");
            rc = bro_job_check_fields(job);
        } else
            rc = bro_job_reply_json(job, 200, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0));
        PQclear(res);
    }
    for (int i = 0; i < 5; i++)
        free(v[i]);
    return rc;
}

int bro_webhooks_delete(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    if (bro_webhooks_id(job, "id", id, "webhook") < 0)
        return -1;
    const char *p[] = {id};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_webhooks_sql_delete, 1, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int found = PQntuples(res) == 1;
    PQclear(res);
    if (!found)
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such webhook");
    job->status = 204;
    return 0;
}

int bro_webhooks_rotate(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    if (bro_webhooks_id(job, "id", id, "webhook") < 0)
        return -1;
    if (job->data)
        bro_validate(job, job->data, bro_schema_WebhookRotate, bro_schema_WebhookRotate_n, 1);
    if (bro_job_check_fields(job) < 0 || bro_webhooks_lock(job, id) < 0)
        return -1;
    const msgpack_object *o = job->data ? bro_jmp_map_get(job->data, "overlap_hours") : NULL;
    char hours[8], text[BRO_SIGN_TEXT_MAX], *hex = NULL;
    snprintf(hours, sizeof(hours), "%d",
             o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int)o->via.u64 : 24);
    const char *seal = NULL;
    int rc = bro_webhooks_secret(job, id, text, &hex, &seal);
    if (rc == 0) {
        const char *p[] = {id, hex, seal, hours};
        bro_err err = {0};
        PGresult *res = bro_db_exec(job->db, bro_webhooks_sql_rotate, 4, p, &err);
        if (res == NULL)
            rc = bro_job_fail(job, err.code, "%s", err.msg);
        else
            rc = PQntuples(res) == 1
                     ? bro_webhooks_reply_secret(job, 200, PQgetvalue(res, 0, 0), text)
                     : bro_job_fail(job, BRO_E_NOT_FOUND, "no such webhook");
        PQclear(res);
    }
    OPENSSL_cleanse(text, sizeof(text));
    free(hex);
    return rc;
}

/* ---- deliveries ---------------------------------------------------------------------------- */

/* Whether the endpoint exists: 1 active, 0 inactive; -1 with the job failed (404). */
static int bro_webhooks_endpoint(bro_job *job, const char *id)
{
    const char *p[] = {id};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_webhooks_sql_exists, 1, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int rc = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0)[0] == 't'
                                 : bro_job_fail(job, BRO_E_NOT_FOUND, "no such webhook");
    PQclear(res);
    return rc;
}

int bro_webhooks_deliveries(bro_job *job)
{
    char id[BRO_UUID_LEN + 1], status[16], cursor[24], lim[8];
    int limit;
    if (bro_webhooks_id(job, "id", id, "webhook") < 0)
        return -1;
    bro_webhooks_page_query(job, bro_query_listWebhookDeliveries, bro_query_listWebhookDeliveries_n,
                            &limit);
    int has_cursor = bro_job_param(job->query, "cursor", cursor, sizeof(cursor)) == 0;
    if (has_cursor && strspn(cursor, "0123456789") != strlen(cursor))
        bro_job_field_error(job, "cursor", "must be a cursor from an earlier page");
    if (bro_job_check_fields(job) < 0 || bro_webhooks_endpoint(job, id) < 0)
        return -1;
    int has_status = bro_job_param(job->query, "status", status, sizeof(status)) == 0;
    snprintf(lim, sizeof(lim), "%d", limit);
    const char *p[] = {id, has_status ? status : NULL, has_cursor ? cursor : NULL, lim};
    return bro_records_page(job, bro_webhooks_sql_deliveries, 4, p, limit);
}

int bro_webhooks_retry(bro_job *job)
{
    char id[BRO_UUID_LEN + 1], did[BRO_UUID_LEN + 1];
    if (bro_webhooks_id(job, "id", id, "webhook") < 0 ||
        bro_webhooks_id(job, "sub_id", did, "delivery") < 0)
        return -1;
    const char *p[] = {id, did};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_webhooks_sql_retry, 2, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int rc = PQntuples(res) == 1
                 ? bro_job_reply_json(job, 200, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0))
                 : 1;
    PQclear(res);
    if (rc != 1)
        return rc;
    if ((res = bro_db_exec(job->db, bro_webhooks_sql_delivery_state, 2, p, &err)) == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int busy = PQntuples(res) == 1;
    PQclear(res);
    return busy ? bro_job_fail(job, BRO_E_CONFLICT, "the delivery is being delivered now")
                : bro_job_fail(job, BRO_E_NOT_FOUND, "no such delivery");
}

int bro_webhooks_replay(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    if (bro_webhooks_id(job, "id", id, "webhook") < 0)
        return -1;
    bro_validate(job, job->data, bro_schema_WebhookReplay, bro_schema_WebhookReplay_n, 0);
    if (bro_job_check_fields(job) < 0 || bro_webhooks_endpoint(job, id) < 0)
        return -1;
    int present;
    char *since = bro_webhooks_member(job, "since", &present);
    const char *p[] = {id, since};
    int rc = bro_job_query_one(job, bro_webhooks_sql_replay, 2, p, 200, "no such webhook");
    free(since);
    return rc;
}

int bro_webhooks_ping(bro_job *job)
{
    char id[BRO_UUID_LEN + 1], event[BRO_UUID_LEN + 1];
    if (bro_webhooks_id(job, "id", id, "webhook") < 0)
        return -1;
    int active = bro_webhooks_endpoint(job, id);
    if (active < 0)
        return -1;
    if (!active)
        return bro_job_fail(job, BRO_E_CONFLICT, "the webhook is not active");
    bro_ids_uuid7(event);
    const char *p[] = {id, event};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_webhooks_sql_ping, 2, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    PQclear(res);
    char json[96];
    int n = snprintf(json, sizeof(json), "{\"queued\":1,\"event_id\":\"%s\"}", event);
    return bro_job_reply_json(job, 200, json, (size_t)n);
}
