/* Openings: the work trials, sheltered jobs (VTA, VTA-O, VTO), ordinary jobs, activities and
 * volunteer roles a candidate can be matched to. A partner sees and tends only its own
 * organisation's openings: whether they are open, how many places, when, and who supervises. */

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/jmp.h"
#include "records/records.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

/* The fields are bro_schema_OpeningCreate's: the writable ones, in the order of the
 * statements' parameters, then the read-only ones. */
#define BRO_OPENINGS_NWRITABLE bro_schema_OpeningCreate_writable

/* What a partner may change on its own openings. */
static const char *const bro_openings_partner_fields[] = {"active", "capacity", "schedule",
                                                          "supervisor", NULL};

#define BRO_OPENINGS_JSON                                                                          \
    "json_build_object('id', o.id, 'organization_id', o.organization_id, 'kind', o.kind, "         \
    "'title', o.title, 'tasks', o.tasks, 'categories', o.categories, 'accommodations_offered', "   \
    "o.accommodations_offered, 'schedule', o.schedule, 'postal_code', o.postal_code, "             \
    "'capacity', o.capacity, 'pair_work_possible', o.pair_work_possible, 'transport_offered', "    \
    "o.transport_offered, 'supervisor', o.supervisor, 'min_age', o.min_age, 'max_age', "           \
    "o.max_age, 'active', o.active, 'lat', o.lat, 'lon', o.lon, 'role', o.role, 'version', "       \
    "o.version, 'etag', '\"' || o.version || '\"', "                                               \
    "'created_at', to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "   \
    "'updated_at', to_char(o.updated_at AT TIME ZONE 'UTC', "                                      \
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))::text"

/* $1 id, $2 event id, $3 key id, $4..$21 the writable fields. */
static const char *bro_openings_sql_create =
    "WITH o AS (INSERT INTO openings (id, organization_id, kind, title, tasks, categories,"
    " accommodations_offered, schedule, postal_code, capacity, pair_work_possible,"
    " transport_offered, supervisor, min_age, max_age, active, lat, lon, role, created_by) VALUES"
    " ($1::uuid,"
    " $4::uuid, $5, $6, $7, ARRAY(SELECT jsonb_array_elements_text(coalesce($8::jsonb, '[]'))),"
    " ARRAY(SELECT jsonb_array_elements_text(coalesce($9::jsonb, '[]'))),"
    " coalesce($10::jsonb, '{}'), $11, coalesce($12::int, 1), coalesce($13::boolean, false),"
    " coalesce($14::boolean, false), $15, $16::int, $17::int, coalesce($18::boolean, true),"
    " $19::float8, $20::float8, $21, $3)"
    " RETURNING *),"
    " evt AS (INSERT INTO outbox (event_id, event, aggregate_id, payload)"
    " SELECT $2::uuid, 'opening.created', id, jsonb_build_object('id', id, 'organization_id',"
    " organization_id, 'kind', kind) FROM o)"
    " SELECT " BRO_OPENINGS_JSON " FROM o";

/* $1 id, $2 event id, $3 the names of the fields present, $4..$21 the writable fields. */
static const char *bro_openings_sql_update =
    "WITH o AS (UPDATE openings SET"
    " organization_id = CASE WHEN 'organization_id' = ANY ($3::text[]) THEN $4::uuid"
    " ELSE organization_id END,"
    " kind = CASE WHEN 'kind' = ANY ($3::text[]) THEN $5 ELSE kind END,"
    " title = CASE WHEN 'title' = ANY ($3::text[]) THEN $6 ELSE title END,"
    " tasks = CASE WHEN 'tasks' = ANY ($3::text[]) THEN $7 ELSE tasks END,"
    " categories = CASE WHEN 'categories' = ANY ($3::text[]) THEN"
    " ARRAY(SELECT jsonb_array_elements_text(coalesce($8::jsonb, '[]'))) ELSE categories END,"
    " accommodations_offered = CASE WHEN 'accommodations_offered' = ANY ($3::text[]) THEN"
    " ARRAY(SELECT jsonb_array_elements_text(coalesce($9::jsonb, '[]')))"
    " ELSE accommodations_offered END,"
    " schedule = CASE WHEN 'schedule' = ANY ($3::text[]) THEN coalesce($10::jsonb, '{}')"
    " ELSE schedule END,"
    " postal_code = CASE WHEN 'postal_code' = ANY ($3::text[]) THEN $11 ELSE postal_code END,"
    " capacity = CASE WHEN 'capacity' = ANY ($3::text[]) THEN coalesce($12::int, 1)"
    " ELSE capacity END,"
    " pair_work_possible = CASE WHEN 'pair_work_possible' = ANY ($3::text[]) THEN"
    " coalesce($13::boolean, false) ELSE pair_work_possible END,"
    " transport_offered = CASE WHEN 'transport_offered' = ANY ($3::text[]) THEN"
    " coalesce($14::boolean, false) ELSE transport_offered END,"
    " supervisor = CASE WHEN 'supervisor' = ANY ($3::text[]) THEN $15 ELSE supervisor END,"
    " min_age = CASE WHEN 'min_age' = ANY ($3::text[]) THEN $16::int ELSE min_age END,"
    " max_age = CASE WHEN 'max_age' = ANY ($3::text[]) THEN $17::int ELSE max_age END,"
    " active = CASE WHEN 'active' = ANY ($3::text[]) THEN coalesce($18::boolean, true)"
    " ELSE active END,"
    " lat = CASE WHEN 'lat' = ANY ($3::text[]) THEN $19::float8 ELSE lat END,"
    " lon = CASE WHEN 'lon' = ANY ($3::text[]) THEN $20::float8 ELSE lon END,"
    " role = CASE WHEN 'role' = ANY ($3::text[]) THEN $21 ELSE role END,"
    " version = version + 1, updated_at = now() WHERE id = $1::uuid RETURNING *),"
    " evt AS (INSERT INTO outbox (event_id, event, aggregate_id, payload)"
    " SELECT $2::uuid, 'opening.updated', id, jsonb_build_object('id', id, 'organization_id',"
    " organization_id, 'fields', $3::text[]) FROM o)"
    " SELECT " BRO_OPENINGS_JSON " FROM o";

/* $1 id, $2 the partner's organisation or NULL (then any). */
static const char *bro_openings_sql_get =
    "SELECT " BRO_OPENINGS_JSON " FROM openings o WHERE id = $1::uuid"
    " AND ($2::uuid IS NULL OR organization_id = $2::uuid)";

/* $1 partner's organisation or NULL, $2 organization_id, $3 kind, $4 active, $5 category,
 * $6 postal code, $7 cursor, $8 limit. */
static const char *bro_openings_sql_list =
    "SELECT " BRO_OPENINGS_JSON ", o.id::text FROM openings o"
    " WHERE ($1::uuid IS NULL OR organization_id = $1::uuid)"
    " AND ($2::uuid IS NULL OR organization_id = $2::uuid) AND ($3::text IS NULL OR kind = $3)"
    " AND ($4::boolean IS NULL OR active = $4::boolean)"
    " AND ($5::text IS NULL OR categories @> ARRAY[$5::text])"
    " AND ($6::text IS NULL OR postal_code = $6)"
    " AND ($7::uuid IS NULL OR id < $7::uuid) ORDER BY id DESC LIMIT $8::int + 1";

/* $1 id, $2 partner's organisation or NULL: the row as it is, locked for a change. */
static const char *bro_openings_sql_lock =
    "SELECT version::text, coalesce(min_age::text, ''), coalesce(max_age::text, '')"
    " FROM openings WHERE id = $1::uuid AND ($2::uuid IS NULL OR organization_id = $2::uuid)"
    " FOR UPDATE";

static const char *bro_openings_sql_org_exists = "SELECT 1 FROM organizations WHERE id = $1::uuid";

/* ---- checks -------------------------------------------------------------------------------- */

static int bro_openings_is_partner(const bro_job *job)
{
    return strcmp(job->env->actor.role, "partner") == 0;
}

/* An age from the body: its value, or `current` when absent; -1 for null or empty. */
static long bro_openings_age(const msgpack_object *data, const char *name, const char *current)
{
    const msgpack_object *o = bro_jmp_map_get(data, name);
    if (o == NULL)
        return current && current[0] ? strtol(current, NULL, 10) : -1;
    return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (long)o->via.u64 : -1;
}

/* Cross-field and referential checks after the field table passed. */
static int bro_openings_check(bro_job *job, const char *min_now, const char *max_now)
{
    long lo = bro_openings_age(job->data, "min_age", min_now);
    long hi = bro_openings_age(job->data, "max_age", max_now);
    if (lo >= 0 && hi >= 0 && lo > hi)
        bro_job_field_error(job, bro_jmp_map_get(job->data, "max_age") ? "max_age" : "min_age",
                            "min_age must not be above max_age");
    char org[BRO_UUID_LEN + 1];
    if (bro_job_param(job->data, "organization_id", org, sizeof(org)) == 0) {
        const char *p[] = {org};
        bro_err err = {0};
        PGresult *res = bro_db_exec(job->db, bro_openings_sql_org_exists, 1, p, &err);
        if (res == NULL)
            return bro_job_fail(job, err.code, "%s", err.msg);
        if (PQntuples(res) == 0)
            bro_job_field_error(job, "organization_id", "no such organisation");
        PQclear(res);
    }
    return bro_job_check_fields(job);
}

/* ---- handlers ------------------------------------------------------------------------------ */

int bro_openings_create(bro_job *job)
{
    char id[BRO_UUID_LEN + 1], event[BRO_UUID_LEN + 1];
    bro_validate(job, job->data, bro_schema_OpeningCreate, bro_schema_OpeningCreate_n, 0);
    if (bro_job_check_fields(job) < 0 || bro_openings_check(job, NULL, NULL) < 0)
        return -1;
    bro_ids_uuid7(id);
    bro_ids_uuid7(event);
    const char *p[3 + BRO_OPENINGS_NWRITABLE] = {id, event, job->env->actor.key_id};
    char *owned[BRO_OPENINGS_NWRITABLE] = {0};
    if (bro_records_texts(job, bro_schema_OpeningCreate, BRO_OPENINGS_NWRITABLE, p + 3, owned) < 0)
        return -1;
    int rc = bro_job_query_one(job, bro_openings_sql_create, 3 + BRO_OPENINGS_NWRITABLE, p, 201,
                               "the opening was not stored");
    bro_records_texts_free(owned, BRO_OPENINGS_NWRITABLE);
    return rc;
}

int bro_openings_get(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    if (bro_records_path_id(job, "id", id, "opening") < 0)
        return -1;
    const char *org = bro_openings_is_partner(job) ? job->env->actor.org : NULL;
    if (org && !bro_ids_is_uuid(org))
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such opening");
    const char *p[] = {id, org};
    return bro_job_query_one(job, bro_openings_sql_get, 2, p, 200, "no such opening");
}

int bro_openings_list(bro_job *job)
{
    char org[BRO_UUID_LEN + 1], kind[41], active[8], category[241], postal[8];
    char cursor[BRO_UUID_LEN + 1], limit_s[8];
    int limit;
    bro_records_query(job, bro_query_listOpenings, bro_query_listOpenings_n, cursor, &limit);
    if (bro_job_check_fields(job) < 0)
        return -1;
    const char *own = bro_openings_is_partner(job) ? job->env->actor.org : NULL;
    if (own && !bro_ids_is_uuid(own))
        own = "00000000-0000-0000-0000-000000000000"; /* a partner with no organisation: none */
    snprintf(limit_s, sizeof(limit_s), "%d", limit);
    const char *p[] = {own,
                       bro_records_qparam(job, "organization_id", org, sizeof(org)),
                       bro_records_qparam(job, "kind", kind, sizeof(kind)),
                       bro_records_qparam(job, "active", active, sizeof(active)),
                       bro_records_qparam(job, "category", category, sizeof(category)),
                       bro_records_qparam(job, "postal_code", postal, sizeof(postal)),
                       cursor[0] ? cursor : NULL,
                       limit_s};
    return bro_records_page(job, bro_openings_sql_list, 8, p, limit);
}

/* A partner may change only some fields of its own openings. */
static int bro_openings_partner_may(bro_job *job)
{
    if (!bro_openings_is_partner(job) || job->data == NULL || job->data->type != MSGPACK_OBJECT_MAP)
        return 0;
    for (uint32_t i = 0; i < job->data->via.map.size; i++) {
        const msgpack_object *k = &job->data->via.map.ptr[i].key;
        int allowed = 0;
        for (int f = 0; bro_openings_partner_fields[f]; f++)
            allowed |= k->type == MSGPACK_OBJECT_STR &&
                       strlen(bro_openings_partner_fields[f]) == k->via.str.size &&
                       memcmp(bro_openings_partner_fields[f], k->via.str.ptr, k->via.str.size) == 0;
        if (!allowed && k->type == MSGPACK_OBJECT_STR)
            bro_job_field_error(job, "body",
                                "a partner may change only active, capacity, "
                                "schedule and supervisor");
    }
    if (job->nfields == 0)
        return 0;
    return bro_job_fail(job, BRO_E_FORBIDDEN, "a partner may change only some fields");
}

int bro_openings_update(bro_job *job)
{
    char id[BRO_UUID_LEN + 1], event[BRO_UUID_LEN + 1], present[512];
    if (bro_records_path_id(job, "id", id, "opening") < 0)
        return -1;
    const char *own = bro_openings_is_partner(job) ? job->env->actor.org : NULL;
    if (own && !bro_ids_is_uuid(own))
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such opening");
    bro_validate(job, job->data, bro_schema_OpeningPatch, bro_schema_OpeningPatch_n, 1);
    if (job->data && job->data->type == MSGPACK_OBJECT_MAP && job->data->via.map.size == 0)
        bro_job_field_error(job, "body", "names no field to change");
    if (bro_job_check_fields(job) < 0)
        return -1;
    const char *l[] = {id, own};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_openings_sql_lock, 2, l, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such opening");
    }
    char version[16], min_now[8], max_now[8];
    snprintf(version, sizeof(version), "%s", PQgetvalue(res, 0, 0));
    snprintf(min_now, sizeof(min_now), "%s", PQgetvalue(res, 0, 1));
    snprintf(max_now, sizeof(max_now), "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    if (bro_openings_partner_may(job) < 0 || bro_job_if_match(job, version) < 0 ||
        bro_openings_check(job, min_now, max_now) < 0)
        return -1;
    bro_records_present(job->data, bro_schema_OpeningCreate, BRO_OPENINGS_NWRITABLE, present,
                        sizeof(present));
    bro_ids_uuid7(event);
    const char *p[3 + BRO_OPENINGS_NWRITABLE] = {id, event, present};
    char *owned[BRO_OPENINGS_NWRITABLE] = {0};
    if (bro_records_texts(job, bro_schema_OpeningCreate, BRO_OPENINGS_NWRITABLE, p + 3, owned) < 0)
        return -1;
    int rc = bro_job_query_one(job, bro_openings_sql_update, 3 + BRO_OPENINGS_NWRITABLE, p, 200,
                               "no such opening");
    bro_records_texts_free(owned, BRO_OPENINGS_NWRITABLE);
    return rc;
}
