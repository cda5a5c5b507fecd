/* Candidates (deltakere): create, read, list. Every read or change of personal data writes an
 * audit row in the same statement; a creation also writes its outbox event there, so the
 * change, the audit and the event commit together or not at all. */
#include "records/candidates.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ids.h"
#include "common/jmp.h"
#include "validate.h"

#define BRO_CANDIDATES_LIMIT_DEFAULT 50
#define BRO_CANDIDATES_LIMIT_MAX     200

static const char *const bro_candidates_income[] = {"uforetrygd", "aap",   "sosialhjelp", "arbeid",
                                                    "ingen",      "annet", NULL};
static const char *const bro_candidates_statuses[] = {"henvist",        "tilnaerming", "kartlagt",
                                                      "arbeidstrening", "utproving",   "i_tiltak",
                                                      "avsluttet",      "venter",      NULL};

/* The writable fields, in the order of the INSERT's parameters $7.. below. */
static const bro_vfield bro_candidates_fields[] = {
    {"given_name", BRO_V_STRING, BRO_V_REQUIRED, 1, 200, NULL},
    {"family_name", BRO_V_STRING, BRO_V_REQUIRED, 1, 200, NULL},
    {"birth_year", BRO_V_INT, BRO_V_NULLABLE, 1900, 0, NULL}, /* max: this year, set at run */
    {"phone", BRO_V_PHONE, BRO_V_NULLABLE, 3, 32, NULL},
    {"email", BRO_V_EMAIL, BRO_V_NULLABLE, 3, 254, NULL},
    {"postal_code", BRO_V_POSTAL, BRO_V_NULLABLE, 4, 4, NULL},
    {"income_basis", BRO_V_ENUM, BRO_V_NULLABLE, 1, 40, bro_candidates_income},
    {"referral_source", BRO_V_STRING, BRO_V_NULLABLE, 1, 200, NULL},
    {"interests", BRO_V_TAGS, 0, 0, 50, NULL},
    {"skills", BRO_V_TAGS, 0, 0, 50, NULL},
    {"accommodations", BRO_V_TAGS, 0, 0, 50, NULL},
    {"languages", BRO_V_TAGS, 0, 0, 50, NULL},
    {"availability", BRO_V_AVAILABILITY, 0, 0, 0, NULL},
    {"needs_transport", BRO_V_BOOL, 0, 0, 0, NULL},
    {"prefers_pair_work", BRO_V_BOOL, 0, 0, 0, NULL},
    {"max_travel_km", BRO_V_INT, BRO_V_NULLABLE, 0, 10000, NULL},
    {"primary_contact", BRO_V_STRING, BRO_V_NULLABLE, 1, 200, NULL},
    {"trusted_person", BRO_V_STRING, BRO_V_NULLABLE, 1, 200, NULL},
    {"status", BRO_V_ENUM, BRO_V_READONLY, 0, 0, bro_candidates_statuses},
    {"id", BRO_V_UUID, BRO_V_READONLY, 0, 0, NULL},
    {"ref", BRO_V_STRING, BRO_V_READONLY, 0, 0, NULL},
};
#define BRO_CANDIDATES_NFIELDS                                                                     \
    (int)(sizeof(bro_candidates_fields) / sizeof(bro_candidates_fields[0]))
#define BRO_CANDIDATES_NWRITABLE 18
#define BRO_CANDIDATES_NAUDIT    6 /* $1..$6 below */

/* The resource as clients see it, built by PostgreSQL as one JSON text from row alias c. */
#define BRO_CANDIDATES_JSON                                                                        \
    "json_build_object('id', c.id, 'ref', c.ref, 'given_name', c.given_name, 'family_name', "      \
    "c.family_name, 'birth_year', c.birth_year, 'phone', c.phone, 'email', c.email, "              \
    "'postal_code', c.postal_code, 'income_basis', c.income_basis, 'referral_source', "            \
    "c.referral_source, 'status', c.status, 'measure', c.measure, 'interests', c.interests, "      \
    "'skills', c.skills, 'accommodations', c.accommodations, 'languages', c.languages, "           \
    "'availability', c.availability, 'needs_transport', c.needs_transport, 'prefers_pair_work', "  \
    "c.prefers_pair_work, 'max_travel_km', c.max_travel_km, 'primary_contact', "                   \
    "c.primary_contact, 'trusted_person', c.trusted_person, 'version', c.version, 'etag', "        \
    "'\"' || c.version || '\"', 'created_at', "                                                    \
    "to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'updated_at', "   \
    "to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))::text"

/* $1 key id, $2 role, $3 request id, $4 job id, $5 new candidate id, $6 outbox event id, then
 * the writable fields as $7..$24 in table order. The counter row lock makes refs gapless. */
static const char *bro_candidates_sql_create =
    "WITH ref AS ("
    " INSERT INTO ref_counters (year, last)"
    " VALUES (extract(year FROM now() AT TIME ZONE 'Europe/Oslo')::int, 1)"
    " ON CONFLICT (year) DO UPDATE SET last = ref_counters.last + 1 RETURNING year, last),"
    " ins AS ("
    " INSERT INTO candidates (id, ref, given_name, family_name, birth_year, phone, email,"
    " postal_code, income_basis, referral_source, interests, skills, accommodations, languages,"
    " availability, needs_transport, prefers_pair_work, max_travel_km, primary_contact,"
    " trusted_person, created_by)"
    " SELECT $5::uuid, 'K-' || ref.year || '-' || lpad(ref.last::text, 4, '0'), $7, $8,"
    " $9::int, $10, $11, $12, $13, $14,"
    " ARRAY(SELECT jsonb_array_elements_text($15::jsonb)),"
    " ARRAY(SELECT jsonb_array_elements_text($16::jsonb)),"
    " ARRAY(SELECT jsonb_array_elements_text($17::jsonb)),"
    " ARRAY(SELECT jsonb_array_elements_text($18::jsonb)),"
    " coalesce($19::jsonb, '{}'), coalesce($20::boolean, false), coalesce($21::boolean, false),"
    " $22::int, $23, $24, $1 FROM ref RETURNING *),"
    " aud AS (INSERT INTO audit_log (key_id, role, action, candidate_id, request_id, job_id)"
    " SELECT $1, $2, 'candidate.create', id, $3, $4::uuid FROM ins),"
    " evt AS (INSERT INTO outbox (event_id, event, aggregate_id, payload)"
    " SELECT $6::uuid, 'candidate.created', id, jsonb_build_object('id', id, 'ref', ref,"
    " 'status', status) FROM ins)"
    " SELECT " BRO_CANDIDATES_JSON " FROM ins c";

/* $1 key id, $2 role, $3 request id, $4 job id, $5 candidate id. */
static const char *bro_candidates_sql_get =
    "WITH c AS (SELECT * FROM candidates WHERE id = $5::uuid AND erased_at IS NULL),"
    " aud AS (INSERT INTO audit_log (key_id, role, action, candidate_id, request_id, job_id)"
    " SELECT $1, $2, 'candidate.get', id, $3, $4::uuid FROM c)"
    " SELECT " BRO_CANDIDATES_JSON " FROM c";

/* $1..$4 as above, $5 status, $6 q, $7 cursor (last id seen), $8 limit. Newest first; a cursor
 * is the last id of the previous page, so rows created meanwhile never shift later pages. One
 * row more than asked tells whether there is a next page; it is not audited. */
static const char *bro_candidates_sql_list =
    "WITH page AS (SELECT * FROM candidates c WHERE erased_at IS NULL"
    " AND ($5::text IS NULL OR status = $5)"
    " AND ($6::text IS NULL OR (given_name || ' ' || family_name) ILIKE"
    "  '%' || replace(replace(replace($6, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'"
    "  OR ref = upper($6) OR $6 = ANY (interests) OR $6 = ANY (skills))"
    " AND ($7::uuid IS NULL OR id < $7::uuid)"
    " ORDER BY id DESC LIMIT $8::int + 1),"
    " shown AS (SELECT id FROM page ORDER BY id DESC LIMIT $8::int),"
    " aud AS (INSERT INTO audit_log (key_id, role, action, candidate_id, request_id, job_id)"
    " SELECT $1, $2, 'candidate.list', id, $3, $4::uuid FROM shown)"
    " SELECT " BRO_CANDIDATES_JSON ", c.id::text FROM page c ORDER BY c.id DESC";

/* ---- parameters ---------------------------------------------------------------------------- */

/* Text form of a body member for a SQL parameter: strings as they are, numbers and booleans
 * printed, arrays and maps as JSON. NULL (SQL NULL) when absent or nil. Caller frees. */
static char *bro_candidates_text(const msgpack_object *data, const char *name, int *oom)
{
    const msgpack_object *o = bro_jmp_map_get(data, name);
    char buf[32];
    if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
        return NULL;
    char *s = NULL;
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        s = bro_job_strdup(o);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)o->via.u64);
        s = strdup(buf);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        snprintf(buf, sizeof(buf), "%lld", (long long)o->via.i64);
        s = strdup(buf);
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        s = strdup(o->via.boolean ? "true" : "false");
        break;
    default: {
        bro_err err = {0};
        s = bro_jmp_to_json_text(o, NULL, &err);
        break;
    }
    }
    if (s == NULL)
        *oom = 1;
    return s;
}

/* Fills $1..$4 (who, from which request, which job) shared by every statement here. */
static void bro_candidates_audit_params(const bro_job *job, const char **p)
{
    p[0] = job->env->actor.key_id;
    p[1] = job->env->actor.role;
    p[2] = job->env->req;
    p[3] = job->env->id;
}

static int bro_candidates_this_year(void)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    return tm.tm_year + 1900;
}

/* Runs sql and replies with the one JSON row it returns (404 when none). */
static int bro_candidates_one(bro_job *job, const char *sql, int n, const char *const *p,
                              int status)
{
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, sql, n, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such candidate");
    }
    int rc = bro_job_reply_json(job, status, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0));
    PQclear(res);
    return rc;
}

/* ---- handlers ------------------------------------------------------------------------------ */

int bro_candidates_create(bro_job *job)
{
    bro_vfield fields[BRO_CANDIDATES_NFIELDS];
    memcpy(fields, bro_candidates_fields, sizeof(fields));
    fields[2].max = bro_candidates_this_year();
    bro_validate(job, job->data, fields, BRO_CANDIDATES_NFIELDS, 0);
    if (bro_job_check_fields(job) < 0)
        return -1;

    char id[BRO_UUID_LEN + 1], event[BRO_UUID_LEN + 1];
    bro_ids_uuid7(id);
    bro_ids_uuid7(event);
    const char *p[BRO_CANDIDATES_NAUDIT + BRO_CANDIDATES_NWRITABLE] = {0};
    char *owned[BRO_CANDIDATES_NWRITABLE] = {0};
    bro_candidates_audit_params(job, p);
    p[4] = id;
    p[5] = event;
    int oom = 0, rc;
    for (int i = 0; i < BRO_CANDIDATES_NWRITABLE; i++) {
        owned[i] = bro_candidates_text(job->data, fields[i].name, &oom);
        p[BRO_CANDIDATES_NAUDIT + i] = owned[i];
    }
    if (oom)
        rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    else
        rc = bro_candidates_one(job, bro_candidates_sql_create,
                                BRO_CANDIDATES_NAUDIT + BRO_CANDIDATES_NWRITABLE, p, 201);
    for (int i = 0; i < BRO_CANDIDATES_NWRITABLE; i++)
        free(owned[i]);
    return rc;
}

int bro_candidates_get(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    if (bro_job_param(job->path, "id", id, sizeof(id)) < 0 || !bro_ids_is_uuid(id))
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such candidate");
    const char *p[5];
    bro_candidates_audit_params(job, p);
    p[4] = id;
    return bro_candidates_one(job, bro_candidates_sql_get, 5, p, 200);
}

/* Reads ?status=&q=&cursor=&limit=, recording field errors for bad values. */
static void bro_candidates_list_query(bro_job *job, char *status, char *q, char *cursor, int *limit)
{
    static const bro_vfield query_fields[] = {
        {"status", BRO_V_ENUM, 0, 1, 40, bro_candidates_statuses},
        {"q", BRO_V_STRING, 0, 1, 200, NULL},
        {"cursor", BRO_V_UUID, 0, 36, 36, NULL},
        {"limit", BRO_V_STRING, 0, 1, 3, NULL},
    };
    if (job->query && job->query->via.map.size > 0)
        bro_validate(job, job->query, query_fields, 4, 1);
    if (bro_job_param(job->query, "status", status, 40) < 0)
        status[0] = '\0';
    if (bro_job_param(job->query, "q", q, 801) < 0)
        q[0] = '\0';
    if (bro_job_param(job->query, "cursor", cursor, BRO_UUID_LEN + 1) < 0)
        cursor[0] = '\0';
    char lim[8];
    *limit = BRO_CANDIDATES_LIMIT_DEFAULT;
    if (bro_job_param(job->query, "limit", lim, sizeof(lim)) == 0) {
        char *end;
        long v = strtol(lim, &end, 10);
        if (*end != '\0' || end == lim || v < 1 || v > BRO_CANDIDATES_LIMIT_MAX)
            bro_job_field_error(job, "limit", "must be an integer from 1 to %d",
                                BRO_CANDIDATES_LIMIT_MAX);
        else
            *limit = (int)v;
    }
}

int bro_candidates_list(bro_job *job)
{
    char status[40], q[801], cursor[BRO_UUID_LEN + 1], limit_s[8];
    int limit;
    bro_candidates_list_query(job, status, q, cursor, &limit);
    if (bro_job_check_fields(job) < 0)
        return -1;
    snprintf(limit_s, sizeof(limit_s), "%d", limit);
    const char *p[8];
    bro_candidates_audit_params(job, p);
    p[4] = status[0] ? status : NULL;
    p[5] = q[0] ? q : NULL;
    p[6] = cursor[0] ? cursor : NULL;
    p[7] = limit_s;
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_candidates_sql_list, 8, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    const char *next = PQntuples(res) > limit ? PQgetvalue(res, limit - 1, 1) : NULL;
    int rc = bro_job_reply_page(job, res, limit, next);
    PQclear(res);
    return rc;
}
