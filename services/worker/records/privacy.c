/* The privacy officer's routes: erasure (sletting) of a candidate's personal data, restriction
 * (sperring) where archive law requires the record to be kept, and the access log that answers
 * the citizen's question "who has looked at my case?". All of them are the tenant admin's. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/jmp.h"
#include "records/candidates.h"
#include "records/records.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

/* $1..$5 audit, $6 id, $7 event id. Personal data goes from the candidate, its assessments,
 * plans, journal texts, consent notes and status reasons; what stays (status history, measure,
 * dates, the anonymous ref) keeps the reports' counts right. Stored replies that carried the
 * candidate (exactly-once and idempotency records) are emptied as well. */
static const char *bro_privacy_sql_erase =
    "WITH c AS (UPDATE candidates SET given_name = NULL, family_name = NULL, birth_year = NULL,"
    " phone = NULL, email = NULL, postal_code = NULL, income_basis = NULL,"
    " referral_source = NULL, interests = '{}', skills = '{}', accommodations = '{}',"
    " languages = '{}', availability = '{}', needs_transport = false,"
    " prefers_pair_work = false, max_travel_km = NULL, primary_contact = NULL,"
    " trusted_person = NULL, lat = NULL, lon = NULL, restricted = false, restricted_at = NULL,"
    " restricted_reason = NULL, erased_at = now(), version = version + 1, updated_at = now()"
    " WHERE id = $6::uuid RETURNING id, ref, status, measure, erased_at),"
    " a AS (UPDATE assessments SET resources = NULL, challenges = NULL,"
    " special_considerations = NULL, education = NULL, work_experience = NULL,"
    " communication = NULL, wishes = NULL, erased_at = now()"
    " WHERE candidate_id = $6::uuid AND erased_at IS NULL),"
    " pl AS (UPDATE plans SET goals = '[]', steps = '[]', participants = NULL, erased_at = now()"
    " WHERE candidate_id = $6::uuid AND erased_at IS NULL),"
    " j AS (UPDATE journal SET text = NULL, erased_at = now()"
    " WHERE candidate_id = $6::uuid AND erased_at IS NULL),"
    " k AS (UPDATE consents SET note = NULL, withdrawal_reason = NULL"
    " WHERE candidate_id = $6::uuid),"
    " h AS (UPDATE status_history SET reason = NULL WHERE candidate_id = $6::uuid),"
    " pj AS (UPDATE processed_jobs SET reply = '\\x80'::bytea"
    " WHERE position(convert_to($6::uuid::text, 'UTF8') IN reply) > 0),"
    " ik AS (UPDATE idempotency_keys SET reply = '\\x80'::bytea"
    " WHERE position(convert_to($6::uuid::text, 'UTF8') IN reply) > 0),"
    " evt AS (INSERT INTO outbox (event_id, event, aggregate_id, payload)"
    " SELECT $7::uuid, 'candidate.erased', id, jsonb_build_object('id', id) FROM "
    "c)," BRO_RECORDS_AUDIT(
        "candidate.erase", "c.id",
        "c") " SELECT json_build_object('id', id, 'ref', ref, 'status', status, 'measure', measure,"
             " 'erased', true, 'erased_at', to_char(erased_at AT TIME ZONE 'UTC',"
             " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))::text FROM c";

/* $1..$5 audit, $6 id, $7 event id, $8 restricted (boolean), $9 reason. */
static const char *bro_privacy_sql_restrict =
    "WITH upd AS (UPDATE candidates SET restricted = $8::boolean,"
    " restricted_at = CASE WHEN $8::boolean THEN now() END, restricted_reason = $9,"
    " version = version + 1, updated_at = now() WHERE id = $6::uuid RETURNING *),"
    " evt AS (INSERT INTO outbox (event_id, event, aggregate_id, payload)"
    " SELECT $7::uuid, CASE WHEN restricted THEN 'candidate.restricted' ELSE"
    " 'candidate.unrestricted' END, id, jsonb_build_object('id', id) FROM upd),"
    " aud AS (INSERT INTO audit_log (key_id, role, action, route, candidate_id, request_id,"
    " job_id) SELECT $1, $2, CASE WHEN $8::boolean THEN 'candidate.restrict' ELSE"
    " 'candidate.unrestrict' END, $5, id, $3, $4::uuid FROM upd)"
    " SELECT " BRO_CANDIDATES_JSON " FROM upd c";

/* $1 id: whether the candidate exists at all (erased ones too: their log stays readable). */
static const char *bro_privacy_sql_exists = "SELECT 1 FROM candidates WHERE id = $1::uuid";

/* $1 candidate, $2 cursor, $3 limit. A read, audited with its reply (bro_job_audit_read): the
 * log shows its own reading once the janitor has moved the record, within a second. */
static const char *bro_privacy_sql_access_log =
    "SELECT json_build_object('id', a.id, 'at', to_char(a.at AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'key_id', a.key_id, 'role', a.role, 'action', a.action,"
    " 'route', a.route, 'request_id', a.request_id)::text, a.id::text"
    " FROM audit_log a WHERE a.candidate_id = $1::uuid AND ($2::bigint IS NULL OR a.id < $2)"
    " ORDER BY a.id DESC LIMIT $3::int + 1";

/* Only the tenant admin; the route table says so too, this keeps the handler safe alone. */
static int bro_privacy_admin_only(bro_job *job)
{
    if (strcmp(job->env->actor.role, "tenant_admin") == 0)
        return 0;
    return bro_job_fail(job, BRO_E_FORBIDDEN, "only the tenant admin may do this");
}

int bro_candidates_erase(bro_job *job)
{
    char id[BRO_UUID_LEN + 1], event[BRO_UUID_LEN + 1];
    bro_candidates_state st;
    if (bro_privacy_admin_only(job) < 0 || bro_records_path_id(job, "id", id, "candidate") < 0 ||
        bro_candidates_lock(job, id, &st) < 0 || bro_job_if_match(job, st.version) < 0)
        return -1;
    bro_ids_uuid7(event);
    const char *p[BRO_RECORDS_NAUDIT + 2];
    bro_records_audit_params(job, p);
    p[5] = id;
    p[6] = event;
    if (bro_job_query_one(job, bro_privacy_sql_erase, BRO_RECORDS_NAUDIT + 2, p, 200,
                          "no such candidate") < 0)
        return -1;
    /* The erased data is gone from PostgreSQL at commit, but the messages that carried it are
     * still in Redis's append-only file until the file is rewritten. */
    job->after_commit |= BRO_JOB_AFTER_AOF_REWRITE;
    return 0;
}

static int bro_privacy_set(bro_job *job, int restrict_it)
{
    char id[BRO_UUID_LEN + 1], event[BRO_UUID_LEN + 1];
    if (bro_privacy_admin_only(job) < 0 || bro_records_path_id(job, "id", id, "candidate") < 0)
        return -1;
    if (restrict_it) {
        bro_validate(job, job->data, bro_schema_Restriction, bro_schema_Restriction_n, 0);
        if (bro_job_check_fields(job) < 0)
            return -1;
    }
    char *reason = restrict_it ? bro_job_strdup(bro_jmp_map_get(job->data, "reason")) : NULL;
    if (restrict_it && reason == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    bro_candidates_state st;
    int rc = -1;
    if (bro_candidates_lock(job, id, &st) < 0 || bro_job_if_match(job, st.version) < 0)
        goto out;
    bro_ids_uuid7(event);
    const char *p[BRO_RECORDS_NAUDIT + 4];
    bro_records_audit_params(job, p);
    p[5] = id;
    p[6] = event;
    p[7] = restrict_it ? "true" : "false";
    p[8] = reason;
    /* Restricting twice or lifting what is not there is a conflict, not a silent success. */
    if (st.restricted == restrict_it) {
        rc = bro_job_fail(job, BRO_E_CONFLICT, "the candidate is %s restricted",
                          restrict_it ? "already" : "not");
        goto out;
    }
    rc = bro_job_query_one(job, bro_privacy_sql_restrict, BRO_RECORDS_NAUDIT + 4, p, 200,
                           "no such candidate");
out:
    free(reason);
    return rc;
}

int bro_candidates_restrict(bro_job *job)
{
    return bro_privacy_set(job, 1);
}

int bro_candidates_unrestrict(bro_job *job)
{
    return bro_privacy_set(job, 0);
}

int bro_candidates_access_log(bro_job *job)
{
    char id[BRO_UUID_LEN + 1], cursor[24], limit_s[8];
    int limit;
    if (bro_privacy_admin_only(job) < 0 || bro_records_path_id(job, "id", id, "candidate") < 0)
        return -1;
    bro_records_query_seq(job, bro_query_listCandidateAccessLog, bro_query_listCandidateAccessLog_n,
                          cursor, &limit);
    if (bro_job_check_fields(job) < 0)
        return -1;
    const char *q[] = {id};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_privacy_sql_exists, 1, q, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int found = PQntuples(res) == 1;
    PQclear(res);
    if (!found)
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such candidate");
    snprintf(limit_s, sizeof(limit_s), "%d", limit);
    const char *p[] = {id, cursor[0] ? cursor : NULL, limit_s};
    if (bro_records_page(job, bro_privacy_sql_access_log, 3, p, limit) < 0)
        return -1;
    return bro_job_audit_read(job, id);
}
