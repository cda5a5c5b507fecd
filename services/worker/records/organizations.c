/* Organisations (employers, NAV offices, labour-market companies, volunteer organisations,
 * municipal units, schools) with their contacts. A partner key belongs to one of them and sees
 * only its own; the coordinators keep the register. */
#include "records/organizations.h"

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

/* The fields are bro_schema_OrganizationCreate's: the writable ones, in the order of the
 * statements' parameters, then the read-only ones. */
#define BRO_ORGANIZATIONS_NWRITABLE bro_schema_OrganizationCreate_writable

#define BRO_ORGANIZATIONS_JSON                                                                     \
    "json_build_object('id', o.id, 'name', o.name, 'kind', o.kind, 'org_number', o.org_number, "   \
    "'contacts', o.contacts, 'postal_code', o.postal_code, 'address', o.address, 'notes', "        \
    "o.notes, 'version', o.version, 'etag', '\"' || o.version || '\"', 'created_at', "             \
    "to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'updated_at', "   \
    "to_char(o.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))::text"

/* $1 id, $2 event id, $3 key id, $4..$10 the writable fields. */
static const char *bro_organizations_sql_create =
    "WITH o AS (INSERT INTO organizations (id, name, kind, org_number, contacts, postal_code,"
    " address, notes, created_by) VALUES ($1::uuid, $4, $5, $6, coalesce($7::jsonb, '[]'), $8,"
    " $9, $10, $3) RETURNING *),"
    " evt AS (INSERT INTO outbox (event_id, event, aggregate_id, payload)"
    " SELECT $2::uuid, 'organization.created', id, jsonb_build_object('id', id, 'kind', kind)"
    " FROM o)"
    " SELECT " BRO_ORGANIZATIONS_JSON " FROM o";

/* $1 id, $2 event id, $3 the names of the fields present, $4..$10 the writable fields. */
static const char *bro_organizations_sql_update =
    "WITH o AS (UPDATE organizations SET"
    " name = CASE WHEN 'name' = ANY ($3::text[]) THEN $4 ELSE name END,"
    " kind = CASE WHEN 'kind' = ANY ($3::text[]) THEN $5 ELSE kind END,"
    " org_number = CASE WHEN 'org_number' = ANY ($3::text[]) THEN $6 ELSE org_number END,"
    " contacts = CASE WHEN 'contacts' = ANY ($3::text[]) THEN coalesce($7::jsonb, '[]')"
    " ELSE contacts END,"
    " postal_code = CASE WHEN 'postal_code' = ANY ($3::text[]) THEN $8 ELSE postal_code END,"
    " address = CASE WHEN 'address' = ANY ($3::text[]) THEN $9 ELSE address END,"
    " notes = CASE WHEN 'notes' = ANY ($3::text[]) THEN $10 ELSE notes END,"
    " version = version + 1, updated_at = now() WHERE id = $1::uuid RETURNING *),"
    " evt AS (INSERT INTO outbox (event_id, event, aggregate_id, payload)"
    " SELECT $2::uuid, 'organization.updated', id, jsonb_build_object('id', id, 'fields',"
    " $3::text[]) FROM o)"
    " SELECT " BRO_ORGANIZATIONS_JSON " FROM o";

/* $1 id, $2 the partner's organisation or NULL (then any). */
static const char *bro_organizations_sql_get =
    "SELECT " BRO_ORGANIZATIONS_JSON " FROM organizations o WHERE id = $1::uuid"
    " AND ($2::uuid IS NULL OR id = $2::uuid)";

/* $1 kind, $2 q (part of the name), $3 cursor, $4 limit. */
static const char *bro_organizations_sql_list =
    "SELECT " BRO_ORGANIZATIONS_JSON ", o.id::text FROM organizations o"
    " WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR lower(name) LIKE '%' ||"
    " replace(replace(replace(lower($2), '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')"
    " AND ($3::uuid IS NULL OR id < $3::uuid) ORDER BY id DESC LIMIT $4::int + 1";

/* $1 org number, $2 the organisation itself (NULL on create). */
static const char *bro_organizations_sql_taken =
    "SELECT 1 FROM organizations WHERE org_number = $1 AND ($2::uuid IS NULL OR id <> $2::uuid)";

static const char *bro_organizations_sql_lock =
    "SELECT version::text FROM organizations WHERE id = $1::uuid FOR UPDATE";

/* ---- checks -------------------------------------------------------------------------------- */

/* Normalises an organisasjonsnummer (spaces dropped) into out and checks its mod-11 digit. */
static int bro_organizations_number(const char *in, char out[10])
{
    size_t n = 0;
    for (; *in; in++) {
        if (*in == ' ')
            continue;
        if (*in < '0' || *in > '9' || n == 9)
            return 0;
        out[n++] = *in;
    }
    out[n] = '\0';
    if (n != 9)
        return 0;
    static const int weights[] = {3, 2, 7, 6, 5, 4, 3, 2};
    int sum = 0;
    for (int i = 0; i < 8; i++)
        sum += (out[i] - '0') * weights[i];
    int check = 11 - sum % 11;
    if (check == 11)
        check = 0;
    return check != 10 && check == out[8] - '0';
}

/* Validates data (partial for PATCH) including contacts and the org number, which it puts in
 * number ("" when absent or null). Records field errors; returns their count. */
static int bro_organizations_validate(bro_job *job, const msgpack_object *data, int partial,
                                      char number[10])
{
    int before = job->nfields;
    number[0] = '\0';
    bro_validate(job, data, bro_schema_OrganizationCreate, bro_schema_OrganizationCreate_n,
                 partial);
    if (job->nfields > before)
        return job->nfields - before;
    const msgpack_object *contacts = bro_jmp_map_get(data, "contacts");
    bro_validate_items(job, "contacts", contacts, bro_schema_Contact, bro_schema_Contact_n);
    char raw[16];
    if (bro_job_param(data, "org_number", raw, sizeof(raw)) == 0 &&
        !bro_organizations_number(raw, number))
        bro_job_field_error(job, "org_number", "must be a valid organisasjonsnummer (9 digits)");
    return job->nfields - before;
}

/* 409 naming org_number when another organisation of the tenant has it. */
static int bro_organizations_unique(bro_job *job, const char *number, const char *self)
{
    if (number[0] == '\0')
        return 0;
    const char *p[] = {number, self};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_organizations_sql_taken, 2, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int taken = PQntuples(res) > 0;
    PQclear(res);
    if (!taken)
        return 0;
    bro_job_field_error(job, "org_number", "another organisation has this number");
    return bro_job_fail(job, BRO_E_CONFLICT, "the organisation number is already registered");
}

/* Parameters $4..$10 from data, with the normalised org number in place of the raw one. */
static int bro_organizations_params(bro_job *job, const msgpack_object *data, const char *number,
                                    const char **p, char **owned)
{
    const msgpack_object *saved = job->data;
    job->data = data;
    int rc = bro_records_texts(job, bro_schema_OrganizationCreate, BRO_ORGANIZATIONS_NWRITABLE, p,
                               owned);
    job->data = saved;
    if (rc == 0 && number[0])
        p[2] = number;
    return rc;
}

/* ---- handlers ------------------------------------------------------------------------------ */

int bro_organizations_insert(bro_job *job, const msgpack_object *data, char **json)
{
    char number[10], id[BRO_UUID_LEN + 1], event[BRO_UUID_LEN + 1];
    if (bro_organizations_validate(job, data, 0, number) > 0)
        return -1;
    if (bro_organizations_unique(job, number, NULL) < 0)
        return -1;
    bro_ids_uuid7(id);
    bro_ids_uuid7(event);
    const char *p[3 + BRO_ORGANIZATIONS_NWRITABLE] = {id, event, job->env->actor.key_id};
    char *owned[BRO_ORGANIZATIONS_NWRITABLE] = {0};
    if (bro_organizations_params(job, data, number, p + 3, owned) < 0)
        return -1;
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_organizations_sql_create,
                                3 + BRO_ORGANIZATIONS_NWRITABLE, p, &err);
    bro_records_texts_free(owned, BRO_ORGANIZATIONS_NWRITABLE);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int rc = 0;
    if (PQntuples(res) != 1)
        rc = bro_job_fail(job, BRO_E_INTERNAL, "organisation insert returned no row");
    else if (json && (*json = strdup(PQgetvalue(res, 0, 0))) == NULL)
        rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    PQclear(res);
    return rc;
}

int bro_organizations_create(bro_job *job)
{
    char *json = NULL;
    if (bro_organizations_insert(job, job->data, &json) < 0)
        return job->err.code ? -1 : bro_job_check_fields(job);
    int rc = bro_job_reply_json(job, 201, json, strlen(json));
    free(json);
    return rc;
}

int bro_organizations_get(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    if (bro_records_path_id(job, "id", id, "organisation") < 0)
        return -1;
    int partner = strcmp(job->env->actor.role, "partner") == 0;
    const char *p[] = {id, partner ? job->env->actor.org : NULL};
    if (partner && !bro_ids_is_uuid(job->env->actor.org))
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such organisation");
    return bro_job_query_one(job, bro_organizations_sql_get, 2, p, 200, "no such organisation");
}

int bro_organizations_list(bro_job *job)
{
    char kind[41], q[801], cursor[BRO_UUID_LEN + 1], limit_s[8];
    int limit;
    bro_records_query(job, bro_query_listOrganizations, bro_query_listOrganizations_n, cursor,
                      &limit);
    if (bro_job_check_fields(job) < 0)
        return -1;
    snprintf(limit_s, sizeof(limit_s), "%d", limit);
    const char *p[] = {bro_records_qparam(job, "kind", kind, sizeof(kind)),
                       bro_records_qparam(job, "q", q, sizeof(q)), cursor[0] ? cursor : NULL,
                       limit_s};
    return bro_records_page(job, bro_organizations_sql_list, 4, p, limit);
}

int bro_organizations_update(bro_job *job)
{
    char id[BRO_UUID_LEN + 1], event[BRO_UUID_LEN + 1], number[10], present[256];
    if (bro_records_path_id(job, "id", id, "organisation") < 0)
        return -1;
    bro_organizations_validate(job, job->data, 1, number);
    if (job->data && job->data->type == MSGPACK_OBJECT_MAP && job->data->via.map.size == 0)
        bro_job_field_error(job, "body", "names no field to change");
    if (bro_job_check_fields(job) < 0)
        return -1;
    const char *l[] = {id};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_organizations_sql_lock, 1, l, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    char version[16] = "";
    if (PQntuples(res) == 1)
        snprintf(version, sizeof(version), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (version[0] == '\0')
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such organisation");
    if (bro_job_if_match(job, version) < 0 || bro_organizations_unique(job, number, id) < 0)
        return -1;
    bro_records_present(job->data, bro_schema_OrganizationCreate, BRO_ORGANIZATIONS_NWRITABLE,
                        present, sizeof(present));
    bro_ids_uuid7(event);
    const char *p[3 + BRO_ORGANIZATIONS_NWRITABLE] = {id, event, present};
    char *owned[BRO_ORGANIZATIONS_NWRITABLE] = {0};
    if (bro_organizations_params(job, job->data, number, p + 3, owned) < 0)
        return -1;
    int rc = bro_job_query_one(job, bro_organizations_sql_update, 3 + BRO_ORGANIZATIONS_NWRITABLE,
                               p, 200, "no such organisation");
    bro_records_texts_free(owned, BRO_ORGANIZATIONS_NWRITABLE);
    return rc;
}
