/* NAV grant projects (tiltak): the fields of the grant report form, kept per project, and the
 * candidates taking part, from whom a grant report counts its quantitative part. A participant
 * is shown by id and ref, never by name. */
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/jmp.h"
#include "job.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

/* The writable fields are bro_schema_ProjectCreate's first ones, $3.. in the statements. */
#define BRO_PROJECTS_N    bro_schema_ProjectCreate_writable
#define BRO_PROJECTS_PAGE 50
#define BRO_PROJECTS_MAX  200

#define BRO_PROJECTS_TS(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define BRO_PROJECTS_JSON                                                                          \
    "json_build_object('id', p.id, 'name', p.name, 'nav_office', p.nav_office, 'start_year',"      \
    " p.start_year, 'start_date', p.start_date, 'report_kind', p.report_kind, 'target_group',"     \
    " p.target_group, 'description', p.description, 'develops', p.develops, 'paragraphs',"         \
    " p.paragraphs, 'interest_created', p.interest_created, 'tried_elsewhere', p.tried_elsewhere," \
    " 'cooperation', p.cooperation, 'achieved', p.achieved, 'goal_examination',"                   \
    " p.goal_examination, 'challenges', p.challenges, 'success_factors', p.success_factors,"       \
    " 'continuation', p.continuation, 'economy_only', p.economy_only, 'participants', (SELECT"     \
    " count(*) FROM project_participants pp WHERE pp.project_id = p.id), 'version', p.version,"    \
    " 'etag', '\"' || p.version || '\"', 'created_at', " BRO_PROJECTS_TS(                          \
        "p.created_at") ", 'updated_at', " BRO_PROJECTS_TS("p.updated_at") ")::text"

/* $1 id, $2 key id, $3..$20 the writable fields. */
static const char *bro_projects_sql_create =
    "WITH p AS (INSERT INTO projects (id, name, nav_office, start_year, start_date, report_kind,"
    " target_group, description, develops, paragraphs, interest_created, tried_elsewhere,"
    " cooperation, achieved, goal_examination, challenges, success_factors, continuation,"
    " economy_only, created_by) VALUES ($1::uuid, $3, $4, $5::int, $6::date,"
    " coalesce($7, 'status'), $8, $9, $10,"
    " ARRAY(SELECT jsonb_array_elements_text(coalesce($11::jsonb, '[]'))), $12::boolean,"
    " $13::boolean, $14, $15, $16, $17, $18, $19, coalesce($20::boolean, false), $2)"
    " RETURNING *) SELECT " BRO_PROJECTS_JSON " FROM p";

#define BRO_PROJECTS_SET(col, n, value)                                                            \
    " " col " = CASE WHEN '" col "' = ANY ($2::text[]) THEN " value " ELSE " col " END,"

/* $1 id, $2 the names of the fields present, $3..$20 the writable fields. */
static const char *bro_projects_sql_update = "WITH p AS (UPDATE projects SET" BRO_PROJECTS_SET(
    "name", "3", "$3") BRO_PROJECTS_SET("nav_office", "4", "$4") BRO_PROJECTS_SET("start_year", "5",
                                                                                  "$5::int")
    BRO_PROJECTS_SET("start_date", "6", "$6::date") BRO_PROJECTS_SET(
        "report_kind", "7", "coalesce($7, 'status')") BRO_PROJECTS_SET("target_group", "8", "$8")
        BRO_PROJECTS_SET("description", "9", "$9") BRO_PROJECTS_SET("develops", "10", "$10")
            BRO_PROJECTS_SET("paragraphs", "11",
                             "ARRAY(SELECT jsonb_array_elements_text(coalesce($11::jsonb,"
                             " '[]')))") BRO_PROJECTS_SET("interest_created", "12", "$12::boolean")
                BRO_PROJECTS_SET("tried_elsewhere", "13", "$13::boolean") BRO_PROJECTS_SET(
                    "cooperation", "14", "$14") BRO_PROJECTS_SET("achieved", "15", "$15")
                    BRO_PROJECTS_SET("goal_examination", "16", "$16")
                        BRO_PROJECTS_SET("challenges", "17", "$17")
                            BRO_PROJECTS_SET("success_factors", "18", "$18")
                                BRO_PROJECTS_SET("continuation", "19", "$19") BRO_PROJECTS_SET(
                                    "economy_only", "20",
                                    "coalesce($20::boolean, false)") " version ="
                                                                     " version + "
                                                                     "1, "
                                                                     "updated_at "
                                                                     "= now()"
                                                                     " WHERE id = "
                                                                     "$1::uuid "
                                                                     "RETURNING *)"
                                                                     " SELECT " BRO_PROJECTS_JSON
                                                                     " FROM p";

static const char *bro_projects_sql_get =
    "SELECT " BRO_PROJECTS_JSON " FROM projects p WHERE p.id = $1::uuid";
static const char *bro_projects_sql_lock =
    "SELECT version::text FROM projects WHERE id = $1::uuid FOR UPDATE";
static const char *bro_projects_sql_delete = "DELETE FROM projects WHERE id = $1::uuid RETURNING 1";
/* $1 cursor (last id seen), $2 limit. */
static const char *bro_projects_sql_list =
    "SELECT " BRO_PROJECTS_JSON ", p.id::text FROM projects p"
    " WHERE ($1::uuid IS NULL OR p.id < $1::uuid) ORDER BY p.id DESC LIMIT $2::int + 1";

#define BRO_PARTICIPANT_JSON                                                                       \
    "json_build_object('candidate_id', pp.candidate_id, 'ref', c.ref, 'joined_on', pp.joined_on,"  \
    " 'left_on', pp.left_on)::text"
/* $1 project, $2 candidate, $3 joined (NULL: today), $4 left, $5 key id. A candidate who takes
 * part already gets the new dates. */
static const char *bro_projects_sql_add =
    "WITH pp AS (INSERT INTO project_participants (project_id, candidate_id, joined_on, left_on,"
    " added_by) SELECT $1::uuid, c.id, coalesce($3::date, current_date), $4::date, $5"
    " FROM candidates c WHERE c.id = $2::uuid AND c.erased_at IS NULL"
    " ON CONFLICT (project_id, candidate_id) DO UPDATE SET joined_on = excluded.joined_on,"
    " left_on = excluded.left_on RETURNING *)"
    " SELECT " BRO_PARTICIPANT_JSON " FROM pp JOIN candidates c ON c.id = pp.candidate_id";
/* $1 cursor (last candidate id seen), $2 limit, $3 project. */
static const char *bro_projects_sql_participants =
    "SELECT " BRO_PARTICIPANT_JSON ", pp.candidate_id::text FROM project_participants pp"
    " JOIN candidates c ON c.id = pp.candidate_id WHERE pp.project_id = $3::uuid"
    " AND ($1::uuid IS NULL OR pp.candidate_id > $1::uuid) ORDER BY pp.candidate_id"
    " LIMIT $2::int + 1";
static const char *bro_projects_sql_remove =
    "DELETE FROM project_participants WHERE project_id = $1::uuid AND candidate_id = $2::uuid"
    " RETURNING 1";
static const char *bro_projects_sql_exists = "SELECT 1 FROM projects WHERE id = $1::uuid";

/* ---- helpers ------------------------------------------------------------------------------- */

static int bro_projects_id(bro_job *job, const char *name, char *id, const char *what)
{
    if (bro_job_param(job->path, name, id, BRO_UUID_LEN + 1) < 0 || !bro_ids_is_uuid(id))
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such %s", what);
    return 0;
}

/* The writable fields as SQL text parameters: strings as they are, the rest as JSON (numbers,
 * booleans, the paragraphs' array); NULL when absent or nil. owned[] gets what to free. */
static int bro_projects_params(bro_job *job, const char **p, char **owned)
{
    for (int i = 0; i < BRO_PROJECTS_N; i++) {
        const msgpack_object *o = bro_jmp_map_get(job->data, bro_schema_ProjectCreate[i].name);
        owned[i] = NULL;
        if (o == NULL || o->type == MSGPACK_OBJECT_NIL) {
            p[i] = NULL;
            continue;
        }
        bro_err err = {0};
        size_t len = 0;
        owned[i] =
            o->type == MSGPACK_OBJECT_STR ? bro_job_strdup(o) : bro_jmp_to_json_text(o, &len, &err);
        if (owned[i] == NULL) {
            for (int k = 0; k < i; k++)
                free(owned[k]);
            return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
        }
        p[i] = owned[i];
    }
    return 0;
}

static void bro_projects_params_free(char **owned)
{
    for (int i = 0; i < BRO_PROJECTS_N; i++)
        free(owned[i]);
}

/* Runs sql ($1 cursor, $2 limit, then extra) and replies with the page of (JSON, cursor). */
static int bro_projects_page(bro_job *job, const bro_vfield *q, int nq, const char *sql,
                             const char *extra)
{
    if (job->query && job->query->via.map.size > 0)
        bro_validate(job, job->query, q, nq, 1);
    char cursor[BRO_UUID_LEN + 1], lim[8], limit_s[16];
    if (bro_job_param(job->query, "cursor", cursor, sizeof(cursor)) < 0 || !bro_ids_is_uuid(cursor))
        cursor[0] = '\0';
    int limit = BRO_PROJECTS_PAGE;
    if (bro_job_param(job->query, "limit", lim, sizeof(lim)) == 0) {
        char *end;
        long v = strtol(lim, &end, 10);
        if (*end != '\0' || end == lim || v < 1 || v > BRO_PROJECTS_MAX)
            bro_job_field_error(job, "limit", "must be an integer from 1 to %d", BRO_PROJECTS_MAX);
        else
            limit = (int)v;
    }
    if (bro_job_check_fields(job) < 0)
        return -1;
    snprintf(limit_s, sizeof(limit_s), "%d", limit);
    const char *p[] = {cursor[0] ? cursor : NULL, limit_s, extra};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, sql, extra ? 3 : 2, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    const char *next = PQntuples(res) > limit ? PQgetvalue(res, limit - 1, 1) : NULL;
    int rc = bro_job_reply_page(job, res, limit, next);
    PQclear(res);
    return rc;
}

/* 404 unless the project exists. */
static int bro_projects_exists(bro_job *job, const char *id)
{
    const char *p[] = {id};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_projects_sql_exists, 1, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int found = PQntuples(res) == 1;
    PQclear(res);
    return found ? 0 : bro_job_fail(job, BRO_E_NOT_FOUND, "no such project");
}

/* The paragraphs must be the law's as the schema lists them, each once: the validator checks an
 * array's length and strings, not their values. */
static void bro_projects_check_paragraphs(bro_job *job, const bro_vfield *fields, int n)
{
    const msgpack_object *o = bro_jmp_map_get(job->data, "paragraphs");
    const bro_vfield *f = NULL;
    for (int i = 0; i < n; i++)
        if (strcmp(fields[i].name, "paragraphs") == 0)
            f = &fields[i];
    if (o == NULL || f == NULL || f->values == NULL || o->type != MSGPACK_OBJECT_ARRAY)
        return;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *item = &o->via.array.ptr[i];
        int known = 0, twice = 0;
        for (int k = 0; f->values[k] && item->type == MSGPACK_OBJECT_STR; k++)
            known |= strlen(f->values[k]) == item->via.str.size &&
                     memcmp(f->values[k], item->via.str.ptr, item->via.str.size) == 0;
        for (uint32_t k = 0; k < i; k++)
            twice |=
                item->type == MSGPACK_OBJECT_STR &&
                o->via.array.ptr[k].type == MSGPACK_OBJECT_STR &&
                o->via.array.ptr[k].via.str.size == item->via.str.size &&
                memcmp(o->via.array.ptr[k].via.str.ptr, item->via.str.ptr, item->via.str.size) == 0;
        char name[32];
        snprintf(name, sizeof(name), "paragraphs[%u]", i);
        if (!known)
            bro_job_field_error(job, name, "is not a paragraph of the list (1, 12, ..., 42)");
        else if (twice)
            bro_job_field_error(job, name, "is given twice");
    }
}

/* ---- projects ------------------------------------------------------------------------------ */

/* project.create: the form's fields (name required); 201 with the project. */
int bro_projects_create(bro_job *job)
{
    bro_validate(job, job->data, bro_schema_ProjectCreate, bro_schema_ProjectCreate_n, 0);
    bro_projects_check_paragraphs(job, bro_schema_ProjectCreate, bro_schema_ProjectCreate_n);
    if (bro_job_check_fields(job) < 0)
        return -1;
    const char *p[2 + BRO_PROJECTS_N];
    char *owned[BRO_PROJECTS_N];
    if (bro_projects_params(job, p + 2, owned) < 0)
        return -1;
    p[0] = job->env->id;
    p[1] = job->env->actor.key_id;
    int rc = bro_job_query_one(job, bro_projects_sql_create, 2 + BRO_PROJECTS_N, p, 201,
                               "the project was not stored");
    bro_projects_params_free(owned);
    return rc;
}

/* project.get */
int bro_projects_get(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    if (bro_projects_id(job, "id", id, "project") < 0)
        return -1;
    const char *p[] = {id};
    return bro_job_query_one(job, bro_projects_sql_get, 1, p, 200, "no such project");
}

/* project.list: newest first, paged. */
int bro_projects_list(bro_job *job)
{
    return bro_projects_page(job, bro_query_listProjects, bro_query_listProjects_n,
                             bro_projects_sql_list, NULL);
}

/* The names of the body's members as a text[] literal ({name,achieved}); names are from the
 * validated schema, so they need no quoting. */
static void bro_projects_present(const bro_job *job, char *out, size_t n)
{
    size_t used = 0;
    out[used++] = '{';
    for (int i = 0; i < BRO_PROJECTS_N; i++) {
        const char *name = bro_schema_ProjectCreate[i].name;
        if (bro_jmp_map_get(job->data, name) == NULL)
            continue;
        used += (size_t)snprintf(out + used, n - used, "%s%s", used > 1 ? "," : "", name);
    }
    snprintf(out + used, n - used, "}");
}

/* project.update: the fields present, If-Match honoured; bumps the version. */
int bro_projects_update(bro_job *job)
{
    char id[BRO_UUID_LEN + 1], present[512];
    if (bro_projects_id(job, "id", id, "project") < 0)
        return -1;
    bro_validate(job, job->data, bro_schema_ProjectPatch, bro_schema_ProjectPatch_n, 0);
    bro_projects_check_paragraphs(job, bro_schema_ProjectPatch, bro_schema_ProjectPatch_n);
    if (bro_job_check_fields(job) < 0)
        return -1;
    const char *lp[] = {id};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_projects_sql_lock, 1, lp, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int rc = PQntuples(res) == 1 ? bro_job_if_match(job, PQgetvalue(res, 0, 0))
                                 : bro_job_fail(job, BRO_E_NOT_FOUND, "no such project");
    PQclear(res);
    if (rc < 0)
        return -1;
    const char *p[2 + BRO_PROJECTS_N];
    char *owned[BRO_PROJECTS_N];
    if (bro_projects_params(job, p + 2, owned) < 0)
        return -1;
    bro_projects_present(job, present, sizeof(present));
    p[0] = id;
    p[1] = present;
    rc = bro_job_query_one(job, bro_projects_sql_update, 2 + BRO_PROJECTS_N, p, 200,
                           "no such project");
    bro_projects_params_free(owned);
    return rc;
}

/* Runs sql ($1, $2) that returns a row when something was deleted: 204, or 404 with missing. */
static int bro_projects_delete_row(bro_job *job, const char *sql, const char *a, const char *b,
                                   const char *missing)
{
    const char *p[] = {a, b};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, sql, b ? 2 : 1, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int found = PQntuples(res) == 1;
    PQclear(res);
    if (!found)
        return bro_job_fail(job, BRO_E_NOT_FOUND, "%s", missing);
    job->status = 204;
    return 0;
}

/* project.delete: the project and its participant list; its reports keep their files. */
int bro_projects_delete(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    if (bro_projects_id(job, "id", id, "project") < 0)
        return -1;
    return bro_projects_delete_row(job, bro_projects_sql_delete, id, NULL, "no such project");
}

/* ---- participants -------------------------------------------------------------------------- */

/* project.participant_add: a candidate of this kommune takes part (from joined_on, today when
 * left out, until left_on); 201 with the participant. */
int bro_projects_participant_add(bro_job *job)
{
    char id[BRO_UUID_LEN + 1], cand[BRO_UUID_LEN + 1], joined[16] = "", left[16] = "";
    if (bro_projects_id(job, "id", id, "project") < 0)
        return -1;
    bro_validate(job, job->data, bro_schema_ParticipantCreate, bro_schema_ParticipantCreate_n, 0);
    if (bro_job_check_fields(job) < 0 || bro_projects_exists(job, id) < 0)
        return -1;
    bro_job_param(job->data, "candidate_id", cand, sizeof(cand));
    int has_joined = bro_job_param(job->data, "joined_on", joined, sizeof(joined)) == 0;
    int has_left = bro_job_param(job->data, "left_on", left, sizeof(left)) == 0;
    if (has_joined && has_left && strcmp(left, joined) < 0) {
        bro_job_field_error(job, "left_on", "is before joined_on");
        return bro_job_check_fields(job);
    }
    const char *p[] = {id, cand, has_joined ? joined : NULL, has_left ? left : NULL,
                       job->env->actor.key_id};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_projects_sql_add, 5, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int rc;
    if (PQntuples(res) != 1) {
        bro_job_field_error(job, "candidate_id", "names no candidate of this kommune");
        rc = bro_job_check_fields(job);
    } else {
        rc = bro_job_reply_json(job, 201, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0));
    }
    PQclear(res);
    return rc;
}

/* project.participant_list: by candidate id, paged; ids, refs and dates only. */
int bro_projects_participant_list(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    if (bro_projects_id(job, "id", id, "project") < 0 || bro_projects_exists(job, id) < 0)
        return -1;
    return bro_projects_page(job, bro_query_listProjectParticipants,
                             bro_query_listProjectParticipants_n, bro_projects_sql_participants,
                             id);
}

/* project.participant_remove: sub_id is the candidate; 204, or 404 when not taking part. */
int bro_projects_participant_remove(bro_job *job)
{
    char id[BRO_UUID_LEN + 1], cand[BRO_UUID_LEN + 1];
    if (bro_projects_id(job, "id", id, "project") < 0 ||
        bro_projects_id(job, "sub_id", cand, "participant") < 0)
        return -1;
    return bro_projects_delete_row(job, bro_projects_sql_remove, id, cand, "no such participant");
}
