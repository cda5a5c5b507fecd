/* Candidates (deltakere): create, read, list, search and change. Every read or change of personal
 * data writes an audit row in the same statement; a creation also writes its first status and
 * its outbox event there, so the change, the audit and the event commit together or not at all.
 * A partner reads a candidate only through a match on its own openings, and then only what a
 * live consent for its kind of organisation allows. */
#include "records/candidates.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ids.h"
#include "common/jmp.h"
#include "records/matches.h"
#include "records/records.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

/* The fields are bro_schema_CandidateCreate's (and CandidatePatch's): the writable ones, in the
 * order of the INSERT's parameters $8.. below, then the read-only ones. */
#define BRO_CANDIDATES_NWRITABLE bro_schema_CandidateCreate_writable
#define BRO_CANDIDATES_NPARAMS   (BRO_RECORDS_NAUDIT + 2) /* audit, id, event: fields follow */

/* $1..$5 audit, $6 new candidate id, $7 outbox event id, then the writable fields as $8..$27
 * in table order. The counter row lock makes refs gapless. */
static const char *bro_candidates_sql_create =
    "WITH ref AS ("
    " INSERT INTO ref_counters (year, last)"
    " VALUES (extract(year FROM now() AT TIME ZONE 'Europe/Oslo')::int, 1)"
    " ON CONFLICT (year) DO UPDATE SET last = ref_counters.last + 1 RETURNING year, last),"
    " ins AS ("
    " INSERT INTO candidates (id, ref, given_name, family_name, birth_year, phone, email,"
    " postal_code, income_basis, referral_source, interests, skills, accommodations, languages,"
    " availability, needs_transport, prefers_pair_work, max_travel_km, primary_contact,"
    " trusted_person, lat, lon, created_by)"
    " SELECT $6::uuid, 'K-' || ref.year || '-' || CASE WHEN ref.last < 10000 THEN"
    " lpad(ref.last::text, 4, '0') ELSE ref.last::text END, $8, $9,"
    " $10::int, $11, $12, $13, $14, $15,"
    " ARRAY(SELECT jsonb_array_elements_text($16::jsonb)),"
    " ARRAY(SELECT jsonb_array_elements_text($17::jsonb)),"
    " ARRAY(SELECT jsonb_array_elements_text($18::jsonb)),"
    " ARRAY(SELECT jsonb_array_elements_text($19::jsonb)),"
    " coalesce($20::jsonb, '{}'), coalesce($21::boolean, false), coalesce($22::boolean, false),"
    " $23::int, $24, $25, $26::float8, $27::float8, $1 FROM ref RETURNING *),"
    " hist AS (INSERT INTO status_history (candidate_id, to_status, key_id, role)"
    " SELECT id, status, $1, $2 FROM ins),"
    " evt AS (INSERT INTO outbox (event_id, event, aggregate_id, payload)"
    " SELECT $7::uuid, 'candidate.created', id, jsonb_build_object('id', id, 'ref', ref,"
    " 'status', status) FROM ins)," BRO_RECORDS_AUDIT(
        "candidate.create", "ins.id", "ins") " SELECT " BRO_CANDIDATES_JSON " FROM ins c";

/* $1 role, $2 candidate id. A read: its audit travels with the reply (bro_job_audit_read of
 * column 1), so the statement writes nothing. */
static const char *bro_candidates_sql_get =
    "SELECT " BRO_CANDIDATES_JSON ", c.id::text FROM candidates c WHERE c.id = $2::uuid"
    " AND" BRO_RECORDS_VISIBLE_ROLE1("c");

/* A partner's read: $1 candidate id, $2 the partner's organisation. The candidate must have a
 * live match (BRO_MATCHES_PARTNER_LIVE) on one of the organisation's openings. A live consent
 * whose scope covers the organisation's kind shows the shared profile; otherwise only the
 * anonymous one. Column 1 is the id the read's audit names. */
static const char *bro_candidates_sql_partner_get =
    "WITH c AS (SELECT * FROM candidates c WHERE id = $1::uuid AND erased_at IS NULL"
    " AND NOT restricted AND EXISTS (SELECT 1 FROM matches m JOIN openings o ON o.id ="
    " m.opening_id WHERE m.candidate_id = c.id AND o.organization_id = $2::uuid"
    " AND" BRO_MATCHES_PARTNER_LIVE ")),"
    " scope AS (SELECT CASE kind WHEN 'nav_office' THEN 'share_nav' WHEN 'volunteer' THEN"
    " 'share_volunteer' WHEN 'employer' THEN 'share_employer' WHEN 'labour_market_company' THEN"
    " 'share_employer' WHEN 'municipal_unit' THEN 'share_employer' END AS s"
    " FROM organizations WHERE id = $2::uuid),"
    " live AS (SELECT scope.s FROM scope, c WHERE EXISTS (SELECT 1 FROM consents k"
    " WHERE k.candidate_id = c.id AND k.withdrawn_at IS NULL AND (k.expires_at IS NULL OR"
    " k.expires_at >= current_date) AND scope.s = ANY (k.scope)))"
    " SELECT CASE WHEN EXISTS (SELECT 1 FROM live) THEN " BRO_CANDIDATES_JSON_SHARED
    " ELSE " BRO_CANDIDATES_JSON_ANONYMOUS " END, c.id::text FROM c";

/* $1 role, $2 status, $3 measure, $4 tag, $5 income basis, $6 q, $7 cursor (last id seen), $8
 * limit. Newest first; a cursor is the last id of the previous page, so rows created meanwhile
 * never shift later pages. q matches any part of the name or ref (a trigram index serves it) or
 * a whole tag. One row more than asked tells whether there is a next page; it is not shown, so
 * not audited (bro_records_read_page audits the rows shown). */
static const char *bro_candidates_sql_list =
    "SELECT " BRO_CANDIDATES_JSON ", c.id::text FROM candidates c WHERE" BRO_RECORDS_VISIBLE_ROLE1(
        "c") " AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR measure = $3)"
             " AND ($4::text IS NULL OR tags @> ARRAY[$4::text]) AND ($5::text IS NULL OR"
             " income_basis = $5) AND ($6::text IS NULL OR search_text LIKE '%' ||"
             " replace(replace(replace(lower($6), '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'"
             " OR tags @> ARRAY[$6::text])"
             " AND ($7::uuid IS NULL OR id < $7::uuid)"
             " ORDER BY id DESC LIMIT $8::int + 1";

/* Locks a visible candidate for a change: $1 role (for visibility), $2 id. */
static const char *bro_candidates_sql_lock =
    "SELECT version::text, status, coalesce(measure, ''), restricted::text FROM candidates c"
    " WHERE id = $2::uuid"
    " AND c.erased_at IS NULL AND (NOT c.restricted OR $1 = 'tenant_admin') FOR UPDATE";

/* $1..$5 audit, $6 id, $7 outbox event id, $8 the names of the fields present (text[]), then
 * the writable fields as $9..$28 in table order. A field absent from $8 keeps its value. */
static const char *bro_candidates_sql_update =
    "WITH upd AS (UPDATE candidates SET"
    " given_name = CASE WHEN 'given_name' = ANY ($8::text[]) THEN $9 ELSE given_name END,"
    " family_name = CASE WHEN 'family_name' = ANY ($8::text[]) THEN $10 ELSE family_name END,"
    " birth_year = CASE WHEN 'birth_year' = ANY ($8::text[]) THEN $11::int ELSE birth_year END,"
    " phone = CASE WHEN 'phone' = ANY ($8::text[]) THEN $12 ELSE phone END,"
    " email = CASE WHEN 'email' = ANY ($8::text[]) THEN $13 ELSE email END,"
    " postal_code = CASE WHEN 'postal_code' = ANY ($8::text[]) THEN $14 ELSE postal_code END,"
    " income_basis = CASE WHEN 'income_basis' = ANY ($8::text[]) THEN $15 ELSE income_basis END,"
    " referral_source = CASE WHEN 'referral_source' = ANY ($8::text[]) THEN $16"
    " ELSE referral_source END,"
    " interests = CASE WHEN 'interests' = ANY ($8::text[]) THEN"
    " ARRAY(SELECT jsonb_array_elements_text(coalesce($17::jsonb, '[]'))) ELSE interests END,"
    " skills = CASE WHEN 'skills' = ANY ($8::text[]) THEN"
    " ARRAY(SELECT jsonb_array_elements_text(coalesce($18::jsonb, '[]'))) ELSE skills END,"
    " accommodations = CASE WHEN 'accommodations' = ANY ($8::text[]) THEN"
    " ARRAY(SELECT jsonb_array_elements_text(coalesce($19::jsonb, '[]'))) ELSE accommodations END,"
    " languages = CASE WHEN 'languages' = ANY ($8::text[]) THEN"
    " ARRAY(SELECT jsonb_array_elements_text(coalesce($20::jsonb, '[]'))) ELSE languages END,"
    " availability = CASE WHEN 'availability' = ANY ($8::text[]) THEN coalesce($21::jsonb, '{}')"
    " ELSE availability END,"
    " needs_transport = CASE WHEN 'needs_transport' = ANY ($8::text[]) THEN"
    " coalesce($22::boolean, false) ELSE needs_transport END,"
    " prefers_pair_work = CASE WHEN 'prefers_pair_work' = ANY ($8::text[]) THEN"
    " coalesce($23::boolean, false) ELSE prefers_pair_work END,"
    " max_travel_km = CASE WHEN 'max_travel_km' = ANY ($8::text[]) THEN $24::int"
    " ELSE max_travel_km END,"
    " primary_contact = CASE WHEN 'primary_contact' = ANY ($8::text[]) THEN $25"
    " ELSE primary_contact END,"
    " trusted_person = CASE WHEN 'trusted_person' = ANY ($8::text[]) THEN $26"
    " ELSE trusted_person END,"
    " lat = CASE WHEN 'lat' = ANY ($8::text[]) THEN $27::float8 ELSE lat END,"
    " lon = CASE WHEN 'lon' = ANY ($8::text[]) THEN $28::float8 ELSE lon END,"
    " version = version + 1, updated_at = now() WHERE id = $6::uuid RETURNING *),"
    " evt AS (INSERT INTO outbox (event_id, event, aggregate_id, payload)"
    " SELECT $7::uuid, 'candidate.updated', id, jsonb_build_object('id', id, 'ref', ref,"
    " 'fields', $8::text[]) FROM upd)," BRO_RECORDS_AUDIT(
        "candidate.update", "upd.id", "upd") " SELECT " BRO_CANDIDATES_JSON " FROM upd c";

/* ---- helpers ------------------------------------------------------------------------------- */

int bro_candidates_lock(bro_job *job, const char *id, bro_candidates_state *st)
{
    const char *p[] = {job->env->actor.role, id};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_candidates_sql_lock, 2, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such candidate");
    }
    snprintf(st->version, sizeof(st->version), "%s", PQgetvalue(res, 0, 0));
    snprintf(st->status, sizeof(st->status), "%s", PQgetvalue(res, 0, 1));
    snprintf(st->measure, sizeof(st->measure), "%s", PQgetvalue(res, 0, 2));
    st->restricted = PQgetvalue(res, 0, 3)[0] == 't';
    PQclear(res);
    return 0;
}

/* ---- handlers ------------------------------------------------------------------------------ */

int bro_candidates_insert(bro_job *job, const msgpack_object *data, char **json)
{
    const bro_vfield *fields = bro_schema_CandidateCreate;
    bro_validate(job, data, fields, bro_schema_CandidateCreate_n, 0);
    if (job->nfields > 0)
        return -1;
    char id[BRO_UUID_LEN + 1], event[BRO_UUID_LEN + 1];
    bro_ids_uuid7(id);
    bro_ids_uuid7(event);
    const char *p[BRO_CANDIDATES_NPARAMS + BRO_CANDIDATES_NWRITABLE] = {0};
    char *owned[BRO_CANDIDATES_NWRITABLE] = {0};
    bro_records_audit_params(job, p);
    p[BRO_RECORDS_NAUDIT] = id;
    p[BRO_RECORDS_NAUDIT + 1] = event;
    const msgpack_object *saved = job->data;
    job->data = data;
    int rc =
        bro_records_texts(job, fields, BRO_CANDIDATES_NWRITABLE, p + BRO_CANDIDATES_NPARAMS, owned);
    job->data = saved;
    if (rc < 0)
        return -1;
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_candidates_sql_create,
                                BRO_CANDIDATES_NPARAMS + BRO_CANDIDATES_NWRITABLE, p, &err);
    bro_records_texts_free(owned, BRO_CANDIDATES_NWRITABLE);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    rc = 0;
    if (PQntuples(res) != 1)
        rc = bro_job_fail(job, BRO_E_INTERNAL, "candidate insert returned no row");
    else if (json && (*json = strdup(PQgetvalue(res, 0, 0))) == NULL)
        rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    PQclear(res);
    return rc;
}

int bro_candidates_create(bro_job *job)
{
    char *json = NULL;
    if (bro_candidates_insert(job, job->data, &json) < 0)
        return job->nfields > 0 ? bro_job_check_fields(job) : -1;
    int rc = bro_job_reply_json(job, 201, json, strlen(json));
    free(json);
    return rc;
}

int bro_candidates_get(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    if (bro_records_path_id(job, "id", id, "candidate") < 0)
        return -1;
    if (strcmp(job->env->actor.role, "partner") == 0) {
        if (!bro_ids_is_uuid(job->env->actor.org))
            return bro_job_fail(job, BRO_E_NOT_FOUND, "no such candidate");
        const char *p[] = {id, job->env->actor.org};
        return bro_records_read_one(job, bro_candidates_sql_partner_get, 2, p, "no such candidate");
    }
    const char *p[] = {job->env->actor.role, id};
    return bro_records_read_one(job, bro_candidates_sql_get, 2, p, "no such candidate");
}

int bro_candidates_list(bro_job *job)
{
    char status[41], measure[41], tag[241], income[41], q[801], cursor[BRO_UUID_LEN + 1];
    char limit_s[8];
    int limit;
    bro_records_query(job, bro_query_listCandidates, bro_query_listCandidates_n, cursor, &limit);
    if (bro_job_check_fields(job) < 0)
        return -1;
    snprintf(limit_s, sizeof(limit_s), "%d", limit);
    const char *p[8];
    p[0] = job->env->actor.role;
    p[1] = bro_records_qparam(job, "status", status, sizeof(status));
    p[2] = bro_records_qparam(job, "measure", measure, sizeof(measure));
    p[3] = bro_records_qparam(job, "tag", tag, sizeof(tag));
    p[4] = bro_records_qparam(job, "income_basis", income, sizeof(income));
    p[5] = bro_records_qparam(job, "q", q, sizeof(q));
    p[6] = cursor[0] ? cursor : NULL;
    p[7] = limit_s;
    return bro_records_read_page(job, bro_candidates_sql_list, 8, p, limit);
}

int bro_candidates_update(bro_job *job)
{
    char id[BRO_UUID_LEN + 1], event[BRO_UUID_LEN + 1], present[512];
    if (bro_records_path_id(job, "id", id, "candidate") < 0)
        return -1;
    const bro_vfield *fields = bro_schema_CandidatePatch;
    bro_validate(job, job->data, fields, bro_schema_CandidatePatch_n, 1);
    if (job->data && job->data->type == MSGPACK_OBJECT_MAP && job->data->via.map.size == 0)
        bro_job_field_error(job, "body", "names no field to change");
    if (bro_job_check_fields(job) < 0)
        return -1;
    bro_candidates_state st;
    if (bro_candidates_lock(job, id, &st) < 0 || bro_job_if_match(job, st.version) < 0)
        return -1;
    bro_ids_uuid7(event);
    bro_records_present(job->data, fields, BRO_CANDIDATES_NWRITABLE, present, sizeof(present));
    const char *p[BRO_RECORDS_NAUDIT + 3 + BRO_CANDIDATES_NWRITABLE] = {0};
    char *owned[BRO_CANDIDATES_NWRITABLE] = {0};
    bro_records_audit_params(job, p);
    p[5] = id;
    p[6] = event;
    p[7] = present;
    if (bro_records_texts(job, fields, BRO_CANDIDATES_NWRITABLE, p + 8, owned) < 0)
        return -1;
    int rc = bro_job_query_one(job, bro_candidates_sql_update, 8 + BRO_CANDIDATES_NWRITABLE, p, 200,
                               "no such candidate");
    bro_records_texts_free(owned, BRO_CANDIDATES_NWRITABLE);
    return rc;
}
