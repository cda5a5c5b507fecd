/* Helpers handlers use to read a job and write its reply. */
#include "job.h"

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/jmp.h"

void bro_job_field_error(bro_job *job, const char *field, const char *fmt, ...)
{
    if (job->nfields >= BRO_JOB_FIELD_ERRORS_MAX)
        return;
    bro_field_error *fe = &job->fields[job->nfields++];
    snprintf(fe->field, sizeof(fe->field), "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fe->message, sizeof(fe->message), fmt, ap);
    va_end(ap);
}

int bro_job_fail(bro_job *job, int code, const char *fmt, ...)
{
    job->err.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(job->err.msg, sizeof(job->err.msg), fmt, ap);
    va_end(ap);
    return -1;
}

int bro_job_audit_read(bro_job *job, const char *candidate_id)
{
    if (job->read_ids == NULL)
        return bro_job_fail(job, BRO_E_INTERNAL, "audit of a read in a job that is not a read");
    if (!bro_ids_is_uuid(candidate_id))
        return bro_job_fail(job, BRO_E_INTERNAL, "audit of a read: not a candidate id");
    if (job->nread_ids >= BRO_JOB_READ_AUDIT_MAX)
        return bro_job_fail(job, BRO_E_INTERNAL, "audit of a read: too many candidates");
    memcpy(job->read_ids[job->nread_ids++], candidate_id, BRO_UUID_LEN + 1);
    return 0;
}

int bro_job_check_fields(bro_job *job)
{
    if (job->nfields == 0)
        return 0;
    return bro_job_fail(job, BRO_E_INVALID, "the request has %d invalid field%s", job->nfields,
                        job->nfields == 1 ? "" : "s");
}

int bro_job_param(const msgpack_object *map, const char *name, char *buf, size_t n)
{
    const msgpack_object *o = map ? bro_jmp_map_get(map, name) : NULL;
    if (o == NULL || o->type != MSGPACK_OBJECT_STR || o->via.str.size >= n)
        return -1;
    memcpy(buf, o->via.str.ptr, o->via.str.size);
    buf[o->via.str.size] = '\0';
    return 0;
}

char *bro_job_strdup(const msgpack_object *o)
{
    if (o == NULL || o->type != MSGPACK_OBJECT_STR)
        return NULL;
    char *s = malloc(o->via.str.size + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, o->via.str.ptr, o->via.str.size);
    s[o->via.str.size] = '\0';
    return s;
}

int bro_job_reply_json(bro_job *job, int status, const char *json, size_t len)
{
    bro_err err = {0};
    if (bro_jmp_pack_json_text(&job->pk, json, len, &err) < 0)
        return bro_job_fail(job, BRO_E_INTERNAL, "reply conversion: %s", err.msg);
    job->status = status;
    return 0;
}

int bro_job_exec(bro_job *job, const char *sql, int n, const char *const *p)
{
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, sql, n, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    PQclear(res);
    return 0;
}

int bro_job_query_one(bro_job *job, const char *sql, int n, const char *const *p, int status,
                      const char *missing)
{
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, sql, n, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return bro_job_fail(job, BRO_E_NOT_FOUND, "%s", missing);
    }
    int rc = bro_job_reply_json(job, status, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0));
    PQclear(res);
    return rc;
}

int bro_job_reply_page(bro_job *job, const void *vres, int limit, const char *next_cursor)
{
    const PGresult *res = vres;
    int rows = PQntuples(res);
    if (rows > limit)
        rows = limit;
    msgpack_pack_map(&job->pk, 2);
    msgpack_pack_str_with_body(&job->pk, "items", 5);
    msgpack_pack_array(&job->pk, rows);
    for (int i = 0; i < rows; i++) {
        bro_err err = {0};
        if (bro_jmp_pack_json_text(&job->pk, PQgetvalue(res, i, 0), PQgetlength(res, i, 0), &err) <
            0)
            return bro_job_fail(job, BRO_E_INTERNAL, "reply conversion: %s", err.msg);
    }
    msgpack_pack_str_with_body(&job->pk, "next_cursor", 11);
    if (next_cursor)
        msgpack_pack_str_with_body(&job->pk, next_cursor, strlen(next_cursor));
    else
        msgpack_pack_nil(&job->pk);
    job->status = 200;
    return 0;
}

int bro_job_if_match(bro_job *job, const char *version)
{
    if (job->if_match[0] == '\0' || strcmp(job->if_match, "*") == 0)
        return 0;
    /* A list of tags, strong or weak (W/"3"), as RFC 9110 allows. */
    char want[32];
    snprintf(want, sizeof(want), "\"%s\"", version);
    const char *p = job->if_match;
    while (*p) {
        p += strspn(p, " ,");
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        size_t n = strcspn(p, ",");
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n == strlen(want) && memcmp(p, want, n) == 0)
            return 0;
        p += strcspn(p, ",");
    }
    return bro_job_fail(job, BRO_E_PRECONDITION,
                        "If-Match does not name the current version (%s); read it again", want);
}

/* fn in a transaction of its own in tenant, READ COMMITTED or (repeatable) REPEATABLE READ. */
static int bro_job_step_as(bro_job *job, const char *tenant, int repeatable,
                           int (*fn)(bro_job *job, void *arg), void *arg)
{
    bro_err err = {0};
    if (job->keepalive)
        job->keepalive(job->keepalive_ctx);
    if ((repeatable ? bro_db_begin_repeatable(job->db, tenant, &err)
                    : bro_db_begin(job->db, tenant, &err)) < 0)
        return bro_job_fail(job, err.code, "%s", err.msg);
    if (fn(job, arg) < 0) {
        bro_db_rollback(job->db);
        return -1;
    }
    if (bro_db_commit(job->db, &err) < 0)
        return bro_job_fail(job, err.code, "%s", err.msg);
    return 0;
}

int bro_job_step(bro_job *job, int (*fn)(bro_job *job, void *arg), void *arg)
{
    return bro_job_step_as(job, job->env->tenant, 0, fn, arg);
}

int bro_job_step_in(bro_job *job, const char *tenant, int (*fn)(bro_job *job, void *arg), void *arg)
{
    return bro_job_step_as(job, tenant, 0, fn, arg);
}

int bro_job_step_repeatable(bro_job *job, int (*fn)(bro_job *job, void *arg), void *arg)
{
    return bro_job_step_as(job, job->env->tenant, 1, fn, arg);
}

int bro_job_reply_file(bro_job *job, const char *content_type, const char *filename,
                       const void *data, size_t len)
{
    if (len > BRO_REPLY_MAX - 65536) /* room for the reply's other members */
        return bro_job_fail(job, BRO_E_TOO_LARGE, "the file is larger than a reply may be");
    msgpack_pack_map(&job->pk, 3);
    msgpack_pack_str_with_body(&job->pk, "file", 4);
    msgpack_pack_bin_with_body(&job->pk, data, len);
    msgpack_pack_str_with_body(&job->pk, "content_type", 12);
    msgpack_pack_str_with_body(&job->pk, content_type, strlen(content_type));
    msgpack_pack_str_with_body(&job->pk, "filename", 8);
    msgpack_pack_str_with_body(&job->pk, filename, strlen(filename));
    job->status = 200;
    return 0;
}

int bro_job_noop(bro_job *job)
{
    job->status = 200;
    return 0;
}
