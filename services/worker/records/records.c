/* Shared pieces of the records handlers: parameters, replies and list queries, and the steps
 * every sub-resource of a candidate takes to be created, read, listed and changed. */
#include "records/records.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/jmp.h"

void bro_records_audit_params(const bro_job *job, const char **p)
{
    p[0] = job->env->actor.key_id;
    p[1] = job->env->actor.role;
    p[2] = job->env->req;
    p[3] = job->env->id;
    p[4] = job->route;
}

char *bro_records_text(const msgpack_object *data, const char *name, int *oom)
{
    const msgpack_object *o = data ? bro_jmp_map_get(data, name) : NULL;
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

int bro_records_texts(bro_job *job, const bro_vfield *fields, int n, const char **p, char **owned)
{
    int oom = 0;
    for (int i = 0; i < n; i++) {
        owned[i] = bro_records_text(job->data, fields[i].name, &oom);
        if (owned[i] && bro_validate_takes_time(&fields[i]) &&
            strlen(owned[i]) > BRO_VALIDATE_DATE_LEN)
            owned[i][BRO_VALIDATE_DATE_LEN] = '\0'; /* the date as written, in its own offset */
        p[i] = owned[i];
    }
    if (!oom)
        return 0;
    bro_records_texts_free(owned, n);
    return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
}

void bro_records_texts_free(char **owned, int n)
{
    for (int i = 0; i < n; i++) {
        free(owned[i]);
        owned[i] = NULL;
    }
}

int bro_records_page(bro_job *job, const char *sql, int n, const char *const *p, int limit)
{
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, sql, n, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    const char *next = PQntuples(res) > limit ? PQgetvalue(res, limit - 1, 1) : NULL;
    int rc = bro_job_reply_page(job, res, limit, next);
    PQclear(res);
    return rc;
}

int bro_records_read_one(bro_job *job, const char *sql, int n, const char *const *p,
                         const char *missing)
{
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, sql, n, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int rc = PQntuples(res) == 1 ? 0 : bro_job_fail(job, BRO_E_NOT_FOUND, "%s", missing);
    if (rc == 0)
        rc = bro_job_reply_json(job, 200, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0));
    if (rc == 0)
        rc = bro_job_audit_read(job, PQgetvalue(res, 0, 1));
    PQclear(res);
    return rc;
}

int bro_records_read_page(bro_job *job, const char *sql, int n, const char *const *p, int limit)
{
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, sql, n, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int rows = PQntuples(res);
    int shown = rows > limit ? limit : rows;
    const char *next = rows > limit ? PQgetvalue(res, limit - 1, 1) : NULL;
    int rc = bro_job_reply_page(job, res, limit, next);
    for (int i = 0; i < shown && rc == 0; i++)
        rc = bro_job_audit_read(job, PQgetvalue(res, i, 1));
    PQclear(res);
    return rc;
}

void bro_records_query(bro_job *job, const bro_vfield *fields, int n, char *cursor, int *limit)
{
    if (job->query && job->query->via.map.size > 0)
        bro_validate(job, job->query, fields, n, 1);
    if (bro_job_param(job->query, "cursor", cursor, BRO_UUID_LEN + 1) < 0 ||
        !bro_ids_is_uuid(cursor))
        cursor[0] = '\0';
    char lim[8];
    *limit = BRO_RECORDS_LIMIT_DEFAULT;
    if (bro_job_param(job->query, "limit", lim, sizeof(lim)) == 0) {
        char *end;
        long v = strtol(lim, &end, 10);
        if (*end != '\0' || end == lim || v < 1 || v > BRO_RECORDS_LIMIT_MAX)
            bro_job_field_error(job, "limit", "must be an integer from 1 to %d",
                                BRO_RECORDS_LIMIT_MAX);
        else
            *limit = (int)v;
    }
}

const char *bro_records_qparam(const bro_job *job, const char *name, char *buf, size_t n)
{
    if (bro_job_param(job->query, name, buf, n) < 0) {
        buf[0] = '\0';
        return NULL;
    }
    return buf;
}

int bro_records_path_id(bro_job *job, const char *name, char *id, const char *what)
{
    if (bro_job_param(job->path, name, id, BRO_UUID_LEN + 1) < 0 || !bro_ids_is_uuid(id))
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such %s", what);
    return 0;
}

static const char *bro_records_sql_visible =
    "SELECT 1 FROM candidates c WHERE id = $2::uuid AND" BRO_RECORDS_VISIBLE_ROLE1("c");

static const char *bro_records_sql_hold =
    "SELECT 1 FROM candidates c WHERE id = $2::uuid AND" BRO_RECORDS_VISIBLE_ROLE1("c") "FOR SHARE";

static int bro_records_candidate_check(bro_job *job, const char *id, const char *sql)
{
    const char *p[] = {job->env->actor.role, id};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, sql, 2, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int found = PQntuples(res) == 1;
    PQclear(res);
    return found ? 0 : bro_job_fail(job, BRO_E_NOT_FOUND, "no such candidate");
}

int bro_records_candidate_visible(bro_job *job, const char *id)
{
    return bro_records_candidate_check(job, id, bro_records_sql_visible);
}

int bro_records_candidate_hold(bro_job *job, const char *id)
{
    return bro_records_candidate_check(job, id, bro_records_sql_hold);
}

void bro_records_present(const msgpack_object *data, const bro_vfield *fields, int n, char *buf,
                         size_t size)
{
    snprintf(buf, size, "{");
    for (int i = 0; i < n; i++) {
        if (bro_jmp_map_get(data, fields[i].name) == NULL)
            continue;
        size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s%s", used > 1 ? "," : "", fields[i].name);
    }
    size_t used = strlen(buf);
    snprintf(buf + used, size - used, "}");
}

int bro_records_lock_version(bro_job *job, const char *sql, const char *const *p, int n,
                             const char *what)
{
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, sql, n, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    char version[16] = "";
    if (PQntuples(res) == 1)
        snprintf(version, sizeof(version), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (version[0] == '\0')
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such %s", what);
    return bro_job_if_match(job, version);
}

void bro_records_query_seq(bro_job *job, const bro_vfield *fields, int n, char cursor[24],
                           int *limit)
{
    char unused[BRO_UUID_LEN + 1];
    bro_records_query(job, fields, n, unused, limit);
    if (bro_records_qparam(job, "cursor", cursor, 24) &&
        strspn(cursor, "0123456789") != strlen(cursor))
        bro_job_field_error(job, "cursor", "must be a cursor from an earlier page");
}

int bro_records_sub_get(bro_job *job, const char *sql, const char *what)
{
    char cand[BRO_UUID_LEN + 1], id[BRO_UUID_LEN + 1];
    if (bro_records_path_id(job, "id", cand, "candidate") < 0 ||
        bro_records_path_id(job, "sub_id", id, what) < 0)
        return -1;
    const char *p[] = {job->env->actor.role, cand, id};
    char missing[64];
    snprintf(missing, sizeof(missing), "no such %s", what);
    return bro_records_read_one(job, sql, 3, p, missing);
}

int bro_records_sub_list(bro_job *job, const char *sql, const bro_vfield *query, int n)
{
    char cand[BRO_UUID_LEN + 1], cursor[BRO_UUID_LEN + 1], value[64], limit_s[8];
    int limit;
    const bro_vfield *filter = NULL;
    for (int i = 0; i < n; i++)
        if (strcmp(query[i].name, "limit") != 0 && strcmp(query[i].name, "cursor") != 0)
            filter = &query[i];
    if (bro_records_path_id(job, "id", cand, "candidate") < 0)
        return -1;
    bro_records_query(job, query, n, cursor, &limit);
    if (bro_job_check_fields(job) < 0 || bro_records_candidate_visible(job, cand) < 0)
        return -1;
    snprintf(limit_s, sizeof(limit_s), "%d", limit);
    const char *p[4] = {cand, cursor[0] ? cursor : NULL, limit_s, NULL};
    if (filter)
        p[3] = bro_records_qparam(job, filter->name, value, sizeof(value));
    if (bro_records_page(job, sql, 3 + (filter != NULL), p, limit) < 0)
        return -1;
    return bro_job_audit_read(job, cand); /* the list shows the candidate's records */
}

const char *bro_records_sub_value(const bro_records_sub *r, const char *const *values,
                                  const char *name)
{
    for (int i = 0; i < r->nwritable; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return values[i];
    return NULL;
}

/* Fills p with the parameters every create and update statement starts with: the audit,
 * $6 candidate, $7 id, then the writable fields (owned[] gets what to free). Returns the count
 * filled, or -1 with the job failed. */
static int bro_records_sub_params(bro_job *job, const bro_records_sub *r, const char *cand,
                                  const char *id, const char **p, char **owned)
{
    if (r->nwritable > BRO_RECORDS_SUB_MAX_WRITABLE)
        return bro_job_fail(job, BRO_E_INTERNAL, "%s has too many fields", r->what);
    bro_records_audit_params(job, p);
    p[5] = cand;
    p[6] = id;
    if (bro_records_texts(job, r->fields, r->nwritable, p + 7, owned) < 0)
        return -1;
    return 7 + r->nwritable;
}

int bro_records_sub_create(bro_job *job, const bro_records_sub *r, const char *sql)
{
    char cand[BRO_UUID_LEN + 1], id[BRO_UUID_LEN + 1], event[BRO_UUID_LEN + 1];
    if (bro_records_path_id(job, "id", cand, "candidate") < 0)
        return -1;
    bro_validate(job, job->data, r->fields, r->nfields, 0);
    if (bro_job_check_fields(job) < 0)
        return -1;
    bro_ids_uuid7(id);
    const char *p[8 + BRO_RECORDS_SUB_MAX_WRITABLE];
    char *owned[BRO_RECORDS_SUB_MAX_WRITABLE] = {0};
    int n = bro_records_sub_params(job, r, cand, id, p, owned);
    if (n < 0)
        return -1;
    int rc = r->check ? r->check(job, r, cand, p + 7, NULL) : 0;
    if (rc == 0 && r->event) {
        bro_ids_uuid7(event);
        p[n++] = event;
    }
    if (rc == 0)
        rc = bro_job_query_one(job, sql, n, p, 201, "no such candidate");
    bro_records_texts_free(owned, r->nwritable);
    return rc;
}

/* The path's candidate and sub-resource and a body that names something to change, valid by
 * r's table; then the candidate held. Returns 0, or -1 with the job failed. */
static int bro_records_sub_update_start(bro_job *job, const bro_records_sub *r, char *cand,
                                        char *id)
{
    if (bro_records_path_id(job, "id", cand, "candidate") < 0 ||
        bro_records_path_id(job, "sub_id", id, r->what) < 0)
        return -1;
    bro_validate(job, job->data, r->fields, r->nfields, 1);
    if (job->data && job->data->type == MSGPACK_OBJECT_MAP && job->data->via.map.size == 0)
        bro_job_field_error(job, "body", "names no field to change");
    if (bro_job_check_fields(job) < 0 || bro_records_candidate_hold(job, cand) < 0)
        return -1;
    return 0;
}

int bro_records_sub_update(bro_job *job, const bro_records_sub *r, const char *lock_sql,
                           const char *update_sql)
{
    char cand[BRO_UUID_LEN + 1], id[BRO_UUID_LEN + 1], present[512], missing[64];
    if (bro_records_sub_update_start(job, r, cand, id) < 0)
        return -1;
    const char *l[] = {cand, id};
    bro_err err = {0};
    PGresult *locked = bro_db_exec(job->db, lock_sql, 2, l, &err);
    if (locked == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    const char *p[8 + BRO_RECORDS_SUB_MAX_WRITABLE];
    char *owned[BRO_RECORDS_SUB_MAX_WRITABLE] = {0};
    int rc = -1, n, nowned = 0; /* nowned: entries of owned to free */
    snprintf(missing, sizeof(missing), "no such %s", r->what);
    if (PQntuples(locked) != 1) {
        rc = bro_job_fail(job, BRO_E_NOT_FOUND, "%s", missing);
        goto out;
    }
    if (bro_job_if_match(job, PQgetvalue(locked, 0, 0)) < 0)
        goto out;
    n = bro_records_sub_params(job, r, cand, id, p, owned);
    if (n < 0)
        goto out;
    nowned = r->nwritable;
    if (r->check && r->check(job, r, cand, p + 7, locked) < 0)
        goto out;
    bro_records_present(job->data, r->fields, r->nwritable, present, sizeof(present));
    p[n++] = present;
    rc = bro_job_query_one(job, update_sql, n, p, 200, missing);
out:
    PQclear(locked);
    bro_records_texts_free(owned, nowned);
    return rc;
}
