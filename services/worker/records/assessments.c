/* Mapping interviews (kartlegging): the candidate's resources, challenges, what needs
 * accommodation, school and work experience, how to communicate, and wishes. Every read and
 * change is audited, as the candidate's own data is. */

#include "records/records.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

#define BRO_ASSESSMENTS_JSON                                                                       \
    "json_build_object('id', a.id, 'candidate_id', a.candidate_id, 'resources', a.resources, "     \
    "'challenges', a.challenges, 'special_considerations', a.special_considerations, "             \
    "'education', a.education, 'work_experience', a.work_experience, 'communication', "            \
    "a.communication, 'wishes', a.wishes, 'conducted_at', a.conducted_at, 'version', a.version, "  \
    "'etag', '\"' || a.version || '\"', 'created_by', a.created_by, 'created_at', "                \
    "to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'updated_at', "   \
    "to_char(a.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))::text"

/* The fields are bro_schema_AssessmentCreate's (AssessmentPatch's are the same): the writable
 * ones in the order of the statements' parameters $8.., then the read-only ones. */
static const bro_records_sub bro_assessments = {
    .what = "assessment",
    BRO_RECORDS_SUB_SCHEMA(AssessmentCreate),
};

/* $1..$5 audit, $6 candidate, $7 id, $8..$15 the writable fields. */
static const char *bro_assessments_sql_create = BRO_RECORDS_SUB_HELD
    " a AS (INSERT INTO assessments (id, candidate_id, resources, challenges,"
    " special_considerations, education, work_experience, communication, wishes, "
    "conducted_at,"
    " created_by) SELECT $7::uuid, c.id, $8, $9, $10, $11, $12, $13, $14, $15::date, $1 "
    "FROM c"
    " RETURNING *)," BRO_RECORDS_AUDIT("assessment.create", "a.candidate_id",
                                       "a") " SELECT " BRO_ASSESSMENTS_JSON " FROM a";

int bro_assessments_create(bro_job *job)
{
    return bro_records_sub_create(job, &bro_assessments, bro_assessments_sql_create);
}

/* $1 role, $2 candidate, $3 id. */
static const char *bro_assessments_sql_get =
    BRO_RECORDS_SUB_GET_SQL("assessments", "a", BRO_ASSESSMENTS_JSON);

int bro_assessments_get(bro_job *job)
{
    return bro_records_sub_get(job, bro_assessments_sql_get, bro_assessments.what);
}

/* $1 candidate, $2 cursor, $3 limit. */
static const char *bro_assessments_sql_list =
    BRO_RECORDS_SUB_LIST_SQL("assessments", "a", BRO_ASSESSMENTS_JSON, "");

int bro_assessments_list(bro_job *job)
{
    return bro_records_sub_list(job, bro_assessments_sql_list, bro_query_listAssessments,
                                bro_query_listAssessments_n);
}

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

int bro_assessments_update(bro_job *job)
{
    return bro_records_sub_update(job, &bro_assessments, bro_assessments_sql_lock,
                                  bro_assessments_sql_update);
}
