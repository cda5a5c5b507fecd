/* Imports from CSV files and the job routes. The accept phase checks the whole file and
 * stores it in the jobs table; the run phase works through it in steps, each one transaction
 * that locks the job, continues from its cursor and commits the rows it inserted together with
 * the new cursor and counts. Each row is inserted under a savepoint, so a row the database
 * refuses is reported without undoing the others. */
#include "records/imports.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/csv.h"
#include "common/ids.h"
#include "common/jmp.h"
#include "common/log.h"
#include "records/candidates.h"
#include "records/imports_rows.h"
#include "records/organizations.h"
#include "records/records.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

/* ---- SQL ----------------------------------------------------------------------------------- */

/* A job as clients see it, from row alias j; progress counts the rows handled so far. */
#define BRO_IMPORTS_JOB_FIELDS                                                                     \
    "'id', j.id, 'kind', j.kind, 'type', j.params->>'type', 'status', j.status, 'progress', "      \
    "CASE WHEN j.status = 'done' THEN 1 WHEN j.total = 0 THEN 0 ELSE "                             \
    "round((j.succeeded + j.failed)::numeric / j.total, 4)::float8 END, 'total', j.total, "        \
    "'succeeded', j.succeeded, 'failed', j.failed, 'created_at', "                                 \
    "to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'started_at', "   \
    "to_char(j.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'finished_at', "  \
    "to_char(j.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define BRO_IMPORTS_JOB_EXTRA ", 'errors', j.errors, 'summary', j.summary"
#define BRO_IMPORTS_JOB_JSON                                                                       \
    "json_build_object(" BRO_IMPORTS_JOB_FIELDS BRO_IMPORTS_JOB_EXTRA ")::text"
#define BRO_IMPORTS_JOB_BRIEF_JSON "json_build_object(" BRO_IMPORTS_JOB_FIELDS ")::text"

/* $1 job id, $2 type, $3 the file, $4 data rows, $5 key id. */
static const char *bro_imports_sql_create =
    "INSERT INTO jobs AS j (id, kind, params, input, total, created_by)"
    " VALUES ($1::uuid, 'import', jsonb_build_object('type', $2::text), $3, $4::int, $5)"
    " RETURNING " BRO_IMPORTS_JOB_JSON;

/* $1 job id, $2 whether to return the file. The lock makes steps of concurrent runs of the
 * same job (a job reclaimed while its first worker still runs) take turns. */
static const char *bro_imports_sql_lock =
    "SELECT status, cursor, jsonb_array_length(errors), params->>'type',"
    " CASE WHEN $2::boolean THEN input END FROM jobs WHERE id = $1::uuid FOR UPDATE";

/* $1 job id, $2 finished, $3 cursor, $4 and $5 rows imported and failed in this step, $6 their
 * row errors (a JSON array). A finished job lets go of the file: its rows are in the tables. */
static const char *bro_imports_sql_advance =
    "UPDATE jobs SET status = CASE WHEN $2::boolean THEN 'done' ELSE 'running' END,"
    " started_at = coalesce(started_at, now()),"
    " finished_at = CASE WHEN $2::boolean THEN now() END,"
    " input = CASE WHEN $2::boolean THEN NULL ELSE input END,"
    " cursor = $3::int, succeeded = succeeded + $4::int, failed = failed + $5::int,"
    " errors = errors || $6::jsonb WHERE id = $1::uuid";

/* $1 job id, $2 why. */
static const char *bro_imports_sql_fail =
    "UPDATE jobs SET status = 'failed', started_at = coalesce(started_at, now()),"
    " finished_at = now(), input = NULL, summary = jsonb_build_object('error', $2::text)"
    " WHERE id = $1::uuid AND status IN ('queued', 'running')";

static const char *bro_imports_sql_savepoint = "SAVEPOINT bro_import_row";
static const char *bro_imports_sql_release = "RELEASE SAVEPOINT bro_import_row";
static const char *bro_imports_sql_rollback_row = "ROLLBACK TO SAVEPOINT bro_import_row";

/* A report as a job (kind report, its type, progress as the report shows it), so
 * GET /v1/jobs/{id} answers for every asynchronous job of the tenant; the report itself and
 * its file are at /v1/reports/{id}. From row alias r of the reports table. */
#define BRO_IMPORTS_REPORT_JOB_JSON                                                                \
    "json_build_object('id', r.id, 'kind', 'report', 'type', r.type, 'status', r.status,"          \
    " 'progress', round(r.progress::numeric, 4)::float8, 'created_at', "                           \
    "to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'started_at', "   \
    "to_char(r.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'finished_at', "  \
    "to_char(r.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'errors',"       \
    " '[]'::json, 'summary', CASE WHEN r.error IS NULL THEN '{}'::json"                            \
    " ELSE json_build_object('error', r.error) END)::text"

/* $1 job id: an import or matching run (jobs), else a report. */
static const char *bro_imports_sql_get_job =
    "SELECT " BRO_IMPORTS_JOB_JSON " FROM jobs j WHERE j.id = $1::uuid"
    " UNION ALL SELECT " BRO_IMPORTS_REPORT_JOB_JSON " FROM reports r WHERE r.id = $1::uuid";
static const char *bro_imports_sql_get_import =
    "SELECT " BRO_IMPORTS_JOB_JSON " FROM jobs j WHERE j.id = $1::uuid AND j.kind = 'import'";

/* $1 cursor (last id seen), $2 limit; one row more than asked says whether a page follows. */
static const char *bro_imports_sql_list =
    "SELECT " BRO_IMPORTS_JOB_BRIEF_JSON ", j.id::text FROM jobs j WHERE j.kind = 'import'"
    " AND ($1::uuid IS NULL OR j.id < $1::uuid) ORDER BY j.id DESC LIMIT $2::int + 1";

/* ---- accept -------------------------------------------------------------------------------- */

/* Reads the type and the file from the body and the query string. */
static int bro_imports_input(bro_job *job, int *type, const char **csv, size_t *len)
{
    bro_validate(job, job->data, bro_schema_ImportCreate, bro_schema_ImportCreate_n, 0);
    if (job->query && job->query->via.map.size > 0)
        bro_validate(job, job->query, bro_query_createImport, bro_query_createImport_n, 1);
    if (bro_job_check_fields(job) < 0)
        return -1;
    const msgpack_object *body_type = bro_jmp_map_get(job->data, "type");
    const msgpack_object *query_type = job->query ? bro_jmp_map_get(job->query, "type") : NULL;
    if (body_type && query_type &&
        (body_type->via.str.size != query_type->via.str.size ||
         memcmp(body_type->via.str.ptr, query_type->via.str.ptr, body_type->via.str.size) != 0)) {
        bro_job_field_error(job, "type", "the body and the query string name different types");
        return bro_job_check_fields(job);
    }
    const msgpack_object *t = body_type ? body_type : query_type;
    *type = t ? bro_imports_type(t->via.str.ptr, t->via.str.size) : BRO_IMPORTS_CANDIDATES;
    const msgpack_object *o = bro_jmp_map_get(job->data, "csv");
    *csv = o->via.str.ptr;
    *len = o->via.str.size;
    return 0;
}

/* Turns a CSV reader's failure into the job's: a file that does not read is the client's. */
static int bro_imports_csv_fail(bro_job *job, const bro_err *err)
{
    if (err->code == BRO_E_NOMEM || err->code == BRO_E_INTERNAL)
        return bro_job_fail(job, err->code, "%s", err->msg);
    bro_job_field_error(job, "csv", "%s", err->msg);
    return bro_job_check_fields(job);
}

/* Reads the whole file once: it must read as CSV to the end, its header must name known
 * columns, and it must have 1..BRO_IMPORTS_MAX_ROWS rows with a value. */
static int bro_imports_scan(bro_job *job, int type, const char *csv, size_t len, int *total)
{
    bro_err err = {0};
    bro_csv *c = bro_csv_new(csv, len, 0, &err);
    if (c == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    bro_csv_row *row = malloc(sizeof(*row));
    bro_imports_header *header = malloc(sizeof(*header));
    int rc = -1;
    *total = 0;
    if (row == NULL || header == NULL) {
        bro_job_fail(job, BRO_E_NOMEM, "out of memory");
        goto out;
    }
    int got = bro_csv_next(c, row, &err);
    if (got == 0) {
        bro_job_field_error(job, "csv", "the file is empty");
        bro_job_check_fields(job);
        goto out;
    }
    if (got < 0) {
        bro_imports_csv_fail(job, &err);
        goto out;
    }
    if (bro_imports_header_read(header, type, row, job) < 0) {
        bro_job_check_fields(job);
        goto out;
    }
    while ((got = bro_csv_next(c, row, &err)) == 1) {
        if (!bro_imports_blank(row) && ++*total > BRO_IMPORTS_MAX_ROWS) {
            bro_job_field_error(job, "csv", "more than %d rows; split the file",
                                BRO_IMPORTS_MAX_ROWS);
            bro_job_check_fields(job);
            goto out;
        }
    }
    if (got < 0) {
        bro_imports_csv_fail(job, &err);
        goto out;
    }
    if (*total == 0) {
        bro_job_field_error(job, "csv", "the file has a header but no rows under it");
        bro_job_check_fields(job);
        goto out;
    }
    rc = 0;
out:
    free(row);
    free(header);
    bro_csv_free(c);
    return rc;
}

/* import.create (accept): reads the type ("candidates" or "organizations", from the body or
 * ?type=, candidates by default) and the CSV text, checks the whole file (UTF-8, quoting,
 * limits) and its header (every column known, the required ones present), stores it in the
 * tenant's jobs table under the job's id and replies 202 with the job. Bad input is 422
 * naming the field ("csv" with the row or column for the file) and stores nothing. */
int bro_imports_create(bro_job *job)
{
    int type = BRO_IMPORTS_CANDIDATES, total = 0;
    const char *csv = NULL;
    size_t len = 0;
    if (bro_imports_input(job, &type, &csv, &len) < 0 ||
        bro_imports_scan(job, type, csv, len, &total) < 0)
        return -1;
    char total_s[16];
    snprintf(total_s, sizeof(total_s), "%d", total);
    char *text = malloc(len + 1);
    if (text == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    memcpy(text, csv, len);
    text[len] = '\0';
    const char *p[] = {job->env->id, bro_imports_type_name(type), text, total_s,
                       job->env->actor.key_id};
    int rc = bro_job_query_one(job, bro_imports_sql_create, 5, p, 202, "the job was not stored");
    free(text);
    return rc;
}

/* ---- run ----------------------------------------------------------------------------------- */

/* What a run keeps between its steps. */
typedef struct bro_imports_run_state {
    char *input;               /* the file, owned; NULL until the first step read it */
    size_t len;                /* bytes in input */
    int type;                  /* BRO_IMPORTS_* */
    bro_csv *csv;              /* reader positioned after `consumed` data rows, or NULL */
    size_t consumed;           /* data rows read, blank ones included: the job's cursor */
    int done;                  /* 1 when the job is finished (by this run or another) */
    bro_imports_header header; /* the file's header */
    bro_csv_row row;           /* the row being imported */
    msgpack_sbuffer body;      /* the row as an API body */
} bro_imports_run_state;

/* Row errors of one step and how many the job may still keep. */
typedef struct bro_imports_errors {
    json_t *list; /* new errors */
    int room;     /* how many more are kept */
} bro_imports_errors;

static void bro_imports_row_error(bro_imports_errors *e, size_t row, const char *field,
                                  const char *column, const char *message)
{
    if (e->room <= 0)
        return;
    json_t *item =
        json_pack("{s:I, s:s?, s:s?, s:s}", "row", (json_int_t)row, "field",
                  field && field[0] ? field : NULL, "column", column, "message", message);
    if (item && json_array_append_new(e->list, item) == 0)
        e->room--;
}

/* Opens the reader on the stored file, reads the header and skips the rows before cursor. */
static int bro_imports_rewind(bro_job *job, bro_imports_run_state *st, size_t cursor)
{
    bro_err err = {0};
    bro_csv_free(st->csv);
    st->csv = bro_csv_new(st->input, st->len, 0, &err);
    if (st->csv == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    job->nfields = 0;
    if (bro_csv_next(st->csv, &st->row, &err) != 1 ||
        bro_imports_header_read(&st->header, st->type, &st->row, job) < 0)
        return bro_job_fail(job, BRO_E_INTERNAL, "the stored file no longer reads");
    for (st->consumed = 0; st->consumed < cursor; st->consumed++)
        if (bro_csv_next(st->csv, &st->row, &err) != 1)
            return bro_job_fail(job, BRO_E_INTERNAL, "the stored file is shorter than its cursor");
    return 0;
}

static int bro_imports_exec(bro_job *job, const char *sql)
{
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, sql, 0, NULL, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    PQclear(res);
    return 0;
}

static int bro_imports_insert(bro_job *job, int type, const msgpack_object *data)
{
    if (type == BRO_IMPORTS_ORGANIZATIONS)
        return bro_organizations_insert(job, data, NULL);
    if (type != BRO_IMPORTS_CANDIDATES)
        return bro_job_fail(job, BRO_E_INTERNAL, "no insert for this type");
    return bro_candidates_insert(job, data, NULL);
}

/* Imports the current row. Returns 1 when it was inserted, 0 when it was reported as a row
 * error, -1 when the step cannot go on (job->err says why). */
static int bro_imports_one(bro_job *job, bro_imports_run_state *st, bro_imports_errors *errors)
{
    size_t number = st->row.number;
    job->nfields = 0;
    bro_err_clear(&job->err);
    if (bro_imports_row(&st->header, &st->row, &st->body, job) == 0) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        if (msgpack_unpack_next(&u, st->body.data, st->body.size, NULL) != MSGPACK_UNPACK_SUCCESS) {
            msgpack_unpacked_destroy(&u);
            return bro_job_fail(job, BRO_E_INTERNAL, "row %zu did not pack", number);
        }
        int rc = bro_imports_exec(job, bro_imports_sql_savepoint);
        if (rc == 0)
            rc = bro_imports_insert(job, st->type, &u.data);
        msgpack_unpacked_destroy(&u);
        if (rc == 0)
            return bro_imports_exec(job, bro_imports_sql_release) < 0 ? -1 : 1;
        bro_err why = job->err;
        if (bro_imports_exec(job, bro_imports_sql_rollback_row) < 0)
            return -1;
        if (job->nfields == 0) {
            /* A refusal by a constraint is the row's; anything else stops the step. */
            if (why.code != BRO_E_CONFLICT && why.code != BRO_E_INVALID) {
                job->err = why;
                return -1;
            }
            bro_imports_row_error(errors, number, NULL, NULL,
                                  why.code == BRO_E_CONFLICT
                                      ? "conflicts with a record that exists already"
                                      : "a value was refused by the database");
            return 0;
        }
    }
    for (int i = 0; i < job->nfields; i++)
        bro_imports_row_error(errors, number, job->fields[i].field,
                              bro_imports_header_cell(&st->header, job->fields[i].field),
                              job->fields[i].message);
    job->nfields = 0;
    return 0;
}

/* Locks the job and reads where it stands; sets st->done when there is nothing left to do.
 * Returns the number of errors it holds, or -1. */
static int bro_imports_lock(bro_job *job, bro_imports_run_state *st)
{
    const char *p[] = {job->env->id, st->input ? "false" : "true"};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_imports_sql_lock, 2, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int rc = 0;
    const char *status = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "done";
    if (strcmp(status, "done") == 0 || strcmp(status, "failed") == 0) {
        st->done = 1;
        goto out;
    }
    if (st->input == NULL) {
        const char *type = PQgetvalue(res, 0, 3);
        st->type = bro_imports_type(type, strlen(type));
        st->len = (size_t)PQgetlength(res, 0, 4);
        if (PQgetisnull(res, 0, 4) || st->type < 0) {
            rc = bro_job_fail(job, BRO_E_INTERNAL, "the job has no file or no type");
            goto out;
        }
        if ((st->input = malloc(st->len + 1)) == NULL) {
            rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
            goto out;
        }
        memcpy(st->input, PQgetvalue(res, 0, 4), st->len + 1);
    }
    size_t cursor = strtoul(PQgetvalue(res, 0, 1), NULL, 10);
    rc = atoi(PQgetvalue(res, 0, 2));
    if (st->csv == NULL || st->consumed != cursor)
        rc = bro_imports_rewind(job, st, cursor) < 0 ? -1 : rc;
out:
    PQclear(res);
    return rc;
}

/* One step: up to BRO_IMPORTS_STEP_ROWS rows from the job's cursor, committed by the caller
 * together with the cursor, the counts and the row errors. */
static int bro_imports_step(bro_job *job, void *arg)
{
    bro_imports_run_state *st = arg;
    int kept = bro_imports_lock(job, st);
    if (kept < 0 || st->done)
        return kept < 0 ? -1 : 0;
    bro_imports_errors errors = {json_array(), BRO_IMPORTS_MAX_ERRORS - kept};
    if (errors.list == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    int succeeded = 0, failed = 0, finished = 0, rc = 0;
    bro_err err = {0};
    for (int i = 0; i < BRO_IMPORTS_STEP_ROWS && rc == 0; i++) {
        int got = bro_csv_next(st->csv, &st->row, &err);
        if (got == 0) {
            finished = 1;
            break;
        }
        if (got < 0) {
            rc = bro_job_fail(job, BRO_E_INTERNAL, "the stored file no longer reads: %s", err.msg);
            break;
        }
        st->consumed++;
        if (bro_imports_blank(&st->row))
            continue;
        int one = bro_imports_one(job, st, &errors);
        if (one < 0)
            rc = -1;
        else
            *(one ? &succeeded : &failed) += 1;
    }
    char *list = rc == 0 ? json_dumps(errors.list, JSON_COMPACT) : NULL;
    json_decref(errors.list);
    if (rc < 0)
        return -1;
    if (list == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    char cursor[24], ok[16], bad[16];
    snprintf(cursor, sizeof(cursor), "%zu", st->consumed);
    snprintf(ok, sizeof(ok), "%d", succeeded);
    snprintf(bad, sizeof(bad), "%d", failed);
    const char *p[] = {job->env->id, finished ? "true" : "false", cursor, ok, bad, list};
    PGresult *res = bro_db_exec(job->db, bro_imports_sql_advance, 6, p, &err);
    free(list);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    PQclear(res);
    st->done = finished;
    return 0;
}

static int bro_imports_fail_step(bro_job *job, void *arg)
{
    const bro_err *why = arg;
    const char *p[] = {job->env->id, why->msg};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_imports_sql_fail, 2, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    PQclear(res);
    return 0;
}

/* import.create (run): imports the rows in steps of BRO_IMPORTS_STEP_ROWS, each in its own
 * transaction that locks the job's row, goes on from its cursor, inserts each valid row under
 * a savepoint and records the others as row errors, and moves the cursor and the counts. A job
 * already done is left alone. Returns -1 only for a transient failure (see handlers.h). */
int bro_imports_run(bro_job *job)
{
    bro_imports_run_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return bro_job_fail(job, BRO_E_RETRY, "out of memory");
    msgpack_sbuffer_init(&st->body);
    int rc = 0;
    while (rc == 0 && !st->done)
        rc = bro_job_step(job, bro_imports_step, st);
    int transient = job->err.code == BRO_E_RETRY || job->err.code == BRO_E_UNAVAILABLE ||
                    job->err.code == BRO_E_TIMEOUT;
    if (rc < 0 && !transient) {
        /* It would fail again: the job ends as failed and says why. */
        bro_log_ctx lc = {job->env->tenant, job->env->req, job->env->id};
        bro_log_error(&lc, "import failed: %s", job->err.msg);
        bro_err why = job->err;
        rc = bro_job_step(job, bro_imports_fail_step, &why);
    }
    msgpack_sbuffer_destroy(&st->body);
    bro_csv_free(st->csv);
    free(st->input);
    free(st);
    return rc;
}

/* ---- reads --------------------------------------------------------------------------------- */

/* import.get: one import job of the tenant with its row errors; 404 when there is none. */
int bro_imports_get(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    if (bro_records_path_id(job, "id", id, "import") < 0)
        return -1;
    const char *p[] = {id};
    return bro_job_query_one(job, bro_imports_sql_get_import, 1, p, 200, "no such import");
}

/* job.get: any asynchronous job of the tenant; 404 when there is none. */
int bro_jobs_get(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    if (bro_records_path_id(job, "id", id, "job") < 0)
        return -1;
    const char *p[] = {id};
    return bro_job_query_one(job, bro_imports_sql_get_job, 1, p, 200, "no such job");
}

/* import.list: the tenant's imports, newest first, paged by ?limit and ?cursor, without their
 * row errors. */
int bro_imports_list(bro_job *job)
{
    char cursor[BRO_UUID_LEN + 1], limit_s[16];
    int limit;
    bro_records_query(job, bro_query_listImports, bro_query_listImports_n, cursor, &limit);
    if (bro_job_check_fields(job) < 0)
        return -1;
    snprintf(limit_s, sizeof(limit_s), "%d", limit);
    const char *p[] = {cursor[0] ? cursor : NULL, limit_s};
    return bro_records_page(job, bro_imports_sql_list, 2, p, limit);
}
