/* Action plans (tiltaksplan): the goals the candidate sets with the coordinator, primary
 * contact or relatives, and the steps toward them, each with who is responsible and when. */

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "common/jmp.h"
#include "records/records.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

#define BRO_PLANS_JSON                                                                             \
    "json_build_object('id', p.id, 'candidate_id', p.candidate_id, 'goals', p.goals, 'steps', "    \
    "p.steps, 'participants', p.participants, 'valid_from', p.valid_from, 'valid_to', "            \
    "p.valid_to, 'version', p.version, 'etag', '\"' || p.version || '\"', 'created_by', "          \
    "p.created_by, 'created_at', to_char(p.created_at AT TIME ZONE 'UTC', "                        \
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'updated_at', to_char(p.updated_at AT TIME ZONE 'UTC', "   \
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))::text"

/* The steps' members and the order of the dates (a bro_records_sub_check). Where the body
 * does not name a date, the stored one counts: columns 1 and 2 of the locked row ("" for
 * none), nothing on create. */
static int bro_plans_check(bro_job *job, const bro_records_sub *r, const char *cand,
                           const char *const *values, const PGresult *locked)
{
    (void)r;
    (void)cand;
    (void)values;
    const char *from_now = locked ? PQgetvalue(locked, 0, 1) : "";
    const char *to_now = locked ? PQgetvalue(locked, 0, 2) : "";
    bro_validate_items(job, "steps", bro_jmp_map_get(job->data, "steps"), bro_schema_PlanStep,
                       bro_schema_PlanStep_n);
    char from[16], to[16];
    const msgpack_object *f = bro_jmp_map_get(job->data, "valid_from");
    const msgpack_object *t = bro_jmp_map_get(job->data, "valid_to");
    if (bro_job_param(job->data, "valid_from", from, sizeof(from)) < 0)
        snprintf(from, sizeof(from), "%s", f ? "" : from_now);
    if (bro_job_param(job->data, "valid_to", to, sizeof(to)) < 0)
        snprintf(to, sizeof(to), "%s", t ? "" : to_now);
    if (from[0] && to[0] && strcmp(to, from) < 0) /* YYYY-MM-DD sorts as text */
        bro_job_field_error(job, t ? "valid_to" : "valid_from",
                            "valid_to must not be before valid_from");
    return bro_job_check_fields(job);
}

static const bro_records_sub bro_plans = {
    .what = "plan",
    BRO_RECORDS_SUB_SCHEMA(PlanCreate),
    .check = bro_plans_check,
};

/* $1..$5 audit, $6 candidate, $7 id, $8..$12 the writable fields. */
static const char *bro_plans_sql_create = BRO_RECORDS_SUB_HELD
    " p AS (INSERT INTO plans (id, candidate_id, goals, steps, participants, valid_from,"
    " valid_to, created_by) SELECT $7::uuid, c.id, coalesce($8::jsonb, '[]'),"
    " coalesce($9::jsonb, '[]'), $10, $11::date, $12::date, $1 FROM c RETURNING "
    "*)," BRO_RECORDS_AUDIT("plan.create", "p.candidate_id", "p") " SELECT " BRO_PLANS_JSON
                                                                  " FROM p";

int bro_plans_create(bro_job *job)
{
    return bro_records_sub_create(job, &bro_plans, bro_plans_sql_create);
}

/* $1 role, $2 candidate, $3 id. */
static const char *bro_plans_sql_get = BRO_RECORDS_SUB_GET_SQL("plans", "p", BRO_PLANS_JSON);

int bro_plans_get(bro_job *job)
{
    return bro_records_sub_get(job, bro_plans_sql_get, bro_plans.what);
}

/* $1 candidate, $2 cursor, $3 limit. */
static const char *bro_plans_sql_list = BRO_RECORDS_SUB_LIST_SQL("plans", "p", BRO_PLANS_JSON, "");

int bro_plans_list(bro_job *job)
{
    return bro_records_sub_list(job, bro_plans_sql_list, bro_query_listPlans,
                                bro_query_listPlans_n);
}

/* $1 candidate, $2 id: version and dates of the plan, locked. */
static const char *bro_plans_sql_lock =
    "SELECT version::text, coalesce(valid_from::text, ''), coalesce(valid_to::text, '')"
    " FROM plans WHERE candidate_id = $1::uuid AND id = $2::uuid FOR UPDATE";

/* $1..$5 audit, $6 candidate, $7 id, $8..$12 the writable fields, $13 the fields present. */
static const char *bro_plans_sql_update =
    "WITH p AS (UPDATE plans SET"
    " goals = CASE WHEN 'goals' = ANY ($13::text[]) THEN coalesce($8::jsonb, '[]') ELSE goals END,"
    " steps = CASE WHEN 'steps' = ANY ($13::text[]) THEN coalesce($9::jsonb, '[]') ELSE steps END,"
    " participants = CASE WHEN 'participants' = ANY ($13::text[]) THEN $10 ELSE participants END,"
    " valid_from = CASE WHEN 'valid_from' = ANY ($13::text[]) THEN $11::date ELSE valid_from END,"
    " valid_to = CASE WHEN 'valid_to' = ANY ($13::text[]) THEN $12::date ELSE valid_to END,"
    " version = version + 1, updated_at = now() WHERE id = $7::uuid AND candidate_id = $6::uuid"
    " RETURNING *)," BRO_RECORDS_AUDIT("plan.update", "p.candidate_id",
                                       "p") " SELECT " BRO_PLANS_JSON " FROM p";

int bro_plans_update(bro_job *job)
{
    return bro_records_sub_update(job, &bro_plans, bro_plans_sql_lock, bro_plans_sql_update);
}
