/* Consents (samtykke): what the candidate has agreed may be shared, with whom, how it was given
 * and until when. Withdrawing keeps the row with who withdrew it and when, so the history of
 * what was allowed at any time stays readable; partners' views follow the live ones. */

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ids.h"
#include "common/jmp.h"
#include "records/records.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

#define BRO_CONSENTS_JSON                                                                          \
    "json_build_object('id', k.id, 'candidate_id', k.candidate_id, 'scope', k.scope, "             \
    "'given_at', k.given_at, 'method', k.method, 'expires_at', k.expires_at, 'note', k.note, "     \
    "'active', k.withdrawn_at IS NULL AND (k.expires_at IS NULL OR k.expires_at >= "               \
    "current_date), 'recorded_by', k.recorded_by, 'created_at', to_char(k.created_at AT TIME "     \
    "ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'withdrawn_at', to_char(k.withdrawn_at AT "    \
    "TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'withdrawn_by', k.withdrawn_by, "         \
    "'withdrawal_reason', k.withdrawal_reason)::text"

/* Today's date in Norway, give or take the zone: a consent may be dated up to a day ahead of
 * UTC, never later. */
static void bro_consents_latest_date(char out[16])
{
    time_t t = time(NULL) + 24 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

/* The scope's values, no repeats; the dates in order (a bro_records_sub_check). */
static int bro_consents_check(bro_job *job, const bro_records_sub *r, const char *cand,
                              const char *const *values, const PGresult *locked)
{
    (void)cand;
    (void)locked;
    const msgpack_object *scope = bro_jmp_map_get(job->data, "scope");
    for (uint32_t i = 0; scope && i < scope->via.array.size; i++) {
        const msgpack_object *v = &scope->via.array.ptr[i];
        int known = 0;
        for (int s = 0; bro_enum_ConsentScope[s]; s++)
            known |= strlen(bro_enum_ConsentScope[s]) == v->via.str.size &&
                     memcmp(bro_enum_ConsentScope[s], v->via.str.ptr, v->via.str.size) == 0;
        for (uint32_t k = 0; k < i; k++)
            if (scope->via.array.ptr[k].via.str.size == v->via.str.size &&
                memcmp(scope->via.array.ptr[k].via.str.ptr, v->via.str.ptr, v->via.str.size) == 0)
                bro_job_field_error(job, "scope", "names a scope twice");
        if (!known)
            bro_job_field_error(job, "scope",
                                "must be share_nav, share_employer, "
                                "share_volunteer or contact_relatives");
    }
    if (scope && scope->via.array.size == 0)
        bro_job_field_error(job, "scope", "must name at least one scope");
    /* The dates as stored (a date-time cut to its date): YYYY-MM-DD sorts as text. */
    const char *given = bro_records_sub_value(r, values, "given_at");
    const char *expires = bro_records_sub_value(r, values, "expires_at");
    char latest[16];
    bro_consents_latest_date(latest);
    if (given && strcmp(given, latest) > 0)
        bro_job_field_error(job, "given_at", "must not be in the future");
    if (given && expires && strcmp(expires, given) <= 0)
        bro_job_field_error(job, "expires_at", "must be after given_at");
    return bro_job_check_fields(job);
}

static const bro_records_sub bro_consents = {
    .what = "consent",
    BRO_RECORDS_SUB_SCHEMA(ConsentCreate),
    .check = bro_consents_check,
    .event = 1,
};

/* $1..$5 audit, $6 candidate, $7 id, $8..$12 the fields, $13 outbox event id. */
static const char *bro_consents_sql_create = BRO_RECORDS_SUB_HELD
    " k AS (INSERT INTO consents (id, candidate_id, scope, given_at, method, expires_at, "
    "note,"
    " recorded_by) SELECT $7::uuid, c.id, ARRAY(SELECT "
    "jsonb_array_elements_text($8::jsonb)),"
    " $9::date, $10, $11::date, $12, $1 FROM c RETURNING *),"
    " evt AS (INSERT INTO outbox (event_id, event, aggregate_id, payload)"
    " SELECT $13::uuid, 'consent.given', candidate_id, jsonb_build_object('id', id,"
    " 'candidate_id', candidate_id, 'scope', scope) FROM k)," BRO_RECORDS_AUDIT(
        "consent.create", "k.candidate_id", "k") " SELECT " BRO_CONSENTS_JSON " FROM k";

int bro_consents_create(bro_job *job)
{
    return bro_records_sub_create(job, &bro_consents, bro_consents_sql_create);
}

/* $1 role, $2 candidate, $3 id. */
static const char *bro_consents_sql_get =
    BRO_RECORDS_SUB_GET_SQL("consents", "k", BRO_CONSENTS_JSON);

int bro_consents_get(bro_job *job)
{
    return bro_records_sub_get(job, bro_consents_sql_get, bro_consents.what);
}

/* $1 candidate, $2 cursor, $3 limit, $4 filter. */
static const char *bro_consents_sql_list = BRO_RECORDS_SUB_LIST_SQL(
    "consents", "k", BRO_CONSENTS_JSON,
    "($4::boolean IS NULL OR (k.withdrawn_at IS NULL AND (k.expires_at IS NULL OR "
    "k.expires_at >= current_date)) = $4::boolean) AND");

int bro_consents_list(bro_job *job)
{
    return bro_records_sub_list(job, bro_consents_sql_list, bro_query_listConsents,
                                bro_query_listConsents_n);
}

/* $1 candidate, $2 id: whether the consent is already withdrawn, locked. */
static const char *bro_consents_sql_lock =
    "SELECT (withdrawn_at IS NOT NULL)::text FROM consents WHERE candidate_id = $1::uuid"
    " AND id = $2::uuid FOR UPDATE";

/* $1..$5 audit, $6 candidate, $7 id, $8 reason, $9 outbox event id. */
static const char *bro_consents_sql_withdraw =
    "WITH k AS (UPDATE consents SET withdrawn_at = now(), withdrawn_by = $1,"
    " withdrawal_reason = $8 WHERE id = $7::uuid AND candidate_id = $6::uuid RETURNING *),"
    " evt AS (INSERT INTO outbox (event_id, event, aggregate_id, payload)"
    " SELECT $9::uuid, 'consent.withdrawn', candidate_id, jsonb_build_object('id', id,"
    " 'candidate_id', candidate_id, 'scope', scope) FROM k)," BRO_RECORDS_AUDIT(
        "consent.withdraw", "k.candidate_id", "k") " SELECT " BRO_CONSENTS_JSON " FROM k";

int bro_consents_withdraw(bro_job *job)
{
    char cand[BRO_UUID_LEN + 1], id[BRO_UUID_LEN + 1], event[BRO_UUID_LEN + 1], reason[2001];
    if (bro_records_path_id(job, "id", cand, "candidate") < 0 ||
        bro_records_path_id(job, "sub_id", id, "consent") < 0)
        return -1;
    if (job->query && job->query->via.map.size > 0)
        bro_validate(job, job->query, bro_query_withdrawConsent, bro_query_withdrawConsent_n, 1);
    if (bro_job_check_fields(job) < 0 || bro_records_candidate_hold(job, cand) < 0)
        return -1;
    const char *l[] = {cand, id};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_consents_sql_lock, 2, l, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int rows = PQntuples(res), withdrawn = rows == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (rows != 1)
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such consent");
    if (withdrawn)
        return bro_job_fail(job, BRO_E_CONFLICT, "the consent is already withdrawn");
    bro_ids_uuid7(event);
    const char *p[9];
    bro_records_audit_params(job, p);
    p[5] = cand;
    p[6] = id;
    p[7] = bro_records_qparam(job, "reason", reason, sizeof(reason));
    p[8] = event;
    return bro_job_query_one(job, bro_consents_sql_withdraw, 9, p, 200, "no such consent");
}
