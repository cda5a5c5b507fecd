/* Mapping interviews (kartlegging): the candidate's resources, challenges, what needs
 * accommodation, school and work experience, how to communicate, and wishes. Every read and
 * change is audited, as the candidate's own data is. */

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "common/ids.h"
#include "records/records.h"
#include "validate.h"
#include "surface_handlers.h"

/* The writable fields, in the order of the statements' parameters $8.. below. */
static const bro_vfield bro_assessments_fields[] = {
    {"resources", BRO_V_STRING, BRO_V_NULLABLE | BRO_V_MULTILINE, 1, 4000, NULL},
    {"challenges", BRO_V_STRING, BRO_V_NULLABLE | BRO_V_MULTILINE, 1, 4000, NULL},
    {"special_considerations", BRO_V_STRING, BRO_V_NULLABLE | BRO_V_MULTILINE, 1, 4000, NULL},
    {"education", BRO_V_STRING, BRO_V_NULLABLE | BRO_V_MULTILINE, 1, 4000, NULL},
    {"work_experience", BRO_V_STRING, BRO_V_NULLABLE | BRO_V_MULTILINE, 1, 4000, NULL},
    {"communication", BRO_V_STRING, BRO_V_NULLABLE | BRO_V_MULTILINE, 1, 4000, NULL},
    {"wishes", BRO_V_STRING, BRO_V_NULLABLE | BRO_V_MULTILINE, 1, 4000, NULL},
    {"conducted_at", BRO_V_DATE, BRO_V_NULLABLE, 10, 10, NULL},
    {"id", BRO_V_UUID, BRO_V_READONLY, 0, 0, NULL},
    {"candidate_id", BRO_V_UUID, BRO_V_READONLY, 0, 0, NULL},
    {"version", BRO_V_INT, BRO_V_READONLY, 0, 0, NULL},
};
#define BRO_ASSESSMENTS_NFIELDS                                                                    \
    (int)(sizeof(bro_assessments_fields) / sizeof(bro_assessments_fields[0]))
#define BRO_ASSESSMENTS_NWRITABLE 8

#define BRO_ASSESSMENTS_JSON                                                                       \
    "json_build_object('id', a.id, 'candidate_id', a.candidate_id, 'resources', a.resources, "     \
    "'challenges', a.challenges, 'special_considerations', a.special_considerations, "             \
    "'education', a.education, 'work_experience', a.work_experience, 'communication', "            \
    "a.communication, 'wishes', a.wishes, 'conducted_at', a.conducted_at, 'version', a.version, "  \
    "'etag', '\"' || a.version || '\"', 'created_by', a.created_by, 'created_at', "                \
    "to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'updated_at', "   \
    "to_char(a.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))::text"

/* $1..$5 audit, $6 candidate, $7 id, $8..$15 the writable fields. */
static const char *bro_assessments_sql_create =
    "WITH c AS (SELECT id FROM candidates c WHERE id = $6::uuid AND" BRO_RECORDS_VISIBLE("c")
        BRO_RECORDS_HOLD
    "),"
    " a AS (INSERT INTO assessments (id, candidate_id, resources, challenges,"
    " special_considerations, education, work_experience, communication, wishes, "
    "conducted_at,"
    " created_by) SELECT $7::uuid, c.id, $8, $9, $10, $11, $12, $13, $14, $15::date, $1 "
    "FROM c"
    " RETURNING *)," BRO_RECORDS_AUDIT("assessment.create", "a.candidate_id",
                                       "a") " SELECT " BRO_ASSESSMENTS_JSON " FROM a";

/* $1..$5 audit, $6 candidate, $7 id. */
static const char *bro_assessments_sql_get =
    "WITH c AS (SELECT id FROM candidates c WHERE id = $6::uuid AND" BRO_RECORDS_VISIBLE(
        "c") "),"
             " a AS (SELECT a.* FROM assessments a JOIN c ON c.id = a.candidate_id WHERE a.id = "
             "$7::uuid)," BRO_RECORDS_AUDIT("assessment.get", "a.candidate_id",
                                            "a") " SELECT " BRO_ASSESSMENTS_JSON " FROM a";

/* $1..$5 audit, $6 candidate, $7 cursor, $8 limit. */
static const char *bro_assessments_sql_list =
    "WITH c AS (SELECT id FROM candidates c WHERE id = $6::uuid AND" BRO_RECORDS_VISIBLE(
        "c") ")," BRO_RECORDS_AUDIT("assessment.list", "c.id",
                                    "c") " SELECT " BRO_ASSESSMENTS_JSON
                                         ", a.id::text FROM c JOIN assessments a ON a.candidate_id "
                                         "="
                                         " c.id WHERE ($7::uuid IS NULL OR a.id < $7::uuid) ORDER "
                                         "BY a.id DESC LIMIT $8::int + 1";

/* $1 candidate, $2 id. */
static const char *bro_assessments_sql_lock =
    "SELECT version::text FROM assessments WHERE candidate_id = $1::uuid AND id = $2::uuid"
    " FOR UPDATE";

/* $1..$5 audit, $6 candidate, $7 id, $8..$15 the writable fields, $16 the fields present. */
static const char *bro_assessments_sql_update =
    "WITH a AS (UPDATE assessments SET"
    " resources = CASE WHEN 'resources' = ANY ($16::text[]) THEN $8 ELSE resources END,"
    " challenges = CASE WHEN 'challenges' = ANY ($16::text[]) THEN $9 ELSE challenges END,"
    " special_considerations = CASE WHEN 'special_considerations' = ANY ($16::text[]) THEN $10"
    " ELSE special_considerations END,"
    " education = CASE WHEN 'education' = ANY ($16::text[]) THEN $11 ELSE education END,"
    " work_experience = CASE WHEN 'work_experience' = ANY ($16::text[]) THEN $12"
    " ELSE work_experience END,"
    " communication = CASE WHEN 'communication' = ANY ($16::text[]) THEN $13"
    " ELSE communication END,"
    " wishes = CASE WHEN 'wishes' = ANY ($16::text[]) THEN $14 ELSE wishes END,"
    " conducted_at = CASE WHEN 'conducted_at' = ANY ($16::text[]) THEN $15::date"
    " ELSE conducted_at END,"
    " version = version + 1, updated_at = now() WHERE id = $7::uuid AND candidate_id = $6::uuid"
    " RETURNING *)," BRO_RECORDS_AUDIT("assessment.update", "a.candidate_id",
                                       "a") " SELECT " BRO_ASSESSMENTS_JSON " FROM a";

int bro_assessments_create(bro_job *job)
{
    char cand[BRO_UUID_LEN + 1], id[BRO_UUID_LEN + 1];
    if (bro_records_path_id(job, "id", cand, "candidate") < 0)
        return -1;
    bro_validate(job, job->data, bro_assessments_fields, BRO_ASSESSMENTS_NFIELDS, 0);
    if (bro_job_check_fields(job) < 0)
        return -1;
    bro_ids_uuid7(id);
    const char *p[7 + BRO_ASSESSMENTS_NWRITABLE];
    char *owned[BRO_ASSESSMENTS_NWRITABLE] = {0};
    bro_records_audit_params(job, p);
    p[5] = cand;
    p[6] = id;
    if (bro_records_texts(job, bro_assessments_fields, BRO_ASSESSMENTS_NWRITABLE, p + 7, owned) < 0)
        return -1;
    int rc = bro_job_query_one(job, bro_assessments_sql_create, 7 + BRO_ASSESSMENTS_NWRITABLE, p,
                               201, "no such candidate");
    bro_records_texts_free(owned, BRO_ASSESSMENTS_NWRITABLE);
    return rc;
}

int bro_assessments_get(bro_job *job)
{
    return bro_records_sub_get(job, bro_assessments_sql_get, "assessment");
}

int bro_assessments_list(bro_job *job)
{
    return bro_records_sub_list(job, bro_assessments_sql_list, NULL);
}

int bro_assessments_update(bro_job *job)
{
    char cand[BRO_UUID_LEN + 1], id[BRO_UUID_LEN + 1], present[256];
    if (bro_records_path_id(job, "id", cand, "candidate") < 0 ||
        bro_records_path_id(job, "sub_id", id, "assessment") < 0)
        return -1;
    bro_validate(job, job->data, bro_assessments_fields, BRO_ASSESSMENTS_NFIELDS, 1);
    if (job->data && job->data->type == MSGPACK_OBJECT_MAP && job->data->via.map.size == 0)
        bro_job_field_error(job, "body", "names no field to change");
    if (bro_job_check_fields(job) < 0 || bro_records_candidate_hold(job, cand) < 0)
        return -1;
    const char *l[] = {cand, id};
    if (bro_records_lock_version(job, bro_assessments_sql_lock, l, 2, "assessment") < 0)
        return -1;
    bro_records_present(job->data, bro_assessments_fields, BRO_ASSESSMENTS_NWRITABLE, present,
                        sizeof(present));
    const char *p[8 + BRO_ASSESSMENTS_NWRITABLE];
    char *owned[BRO_ASSESSMENTS_NWRITABLE] = {0};
    bro_records_audit_params(job, p);
    p[5] = cand;
    p[6] = id;
    if (bro_records_texts(job, bro_assessments_fields, BRO_ASSESSMENTS_NWRITABLE, p + 7, owned) < 0)
        return -1;
    p[7 + BRO_ASSESSMENTS_NWRITABLE] = present;
    int rc = bro_job_query_one(job, bro_assessments_sql_update, 8 + BRO_ASSESSMENTS_NWRITABLE, p,
                               200, "no such assessment");
    bro_records_texts_free(owned, BRO_ASSESSMENTS_NWRITABLE);
    return rc;
}
