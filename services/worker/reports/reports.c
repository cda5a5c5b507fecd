/* The report routes and the run that makes a report. The accept stores the order and answers
 * 202; the run marks it running, counts in one transaction (the figures are of one moment),
 * writes the file outside any transaction, and stores it with status done and the report.ready
 * event in one statement. A run taken over after a crash starts again from the counting: the
 * figures are the same, and nothing was stored before the last step. Platform reports are the
 * same rows in the platform schema, counted tenant by tenant. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ids.h"
#include "common/jmp.h"
#include "common/log.h"
#include "records/records.h"
#include "reports/report.h"
#include "validate.h"
#include "surface_handlers.h"
#include "surface_schemas.h"

/* ---- SQL (unqualified: the tenant's schema, or platform for platform jobs) ----------------- */

#define BRO_REPORTS_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define BRO_REPORTS_JSON                                                                           \
    "json_build_object('id', r.id, 'type', r.type, 'period', r.period, 'period_from',"             \
    " r.period_from, 'period_to', r.period_to, 'format', r.format, 'params', r.params, 'status',"  \
    " r.status, 'progress', round(r.progress::numeric, 3)::float8, 'filename', r.filename,"        \
    " 'content_type', r.content_type, 'size', octet_length(r.file), 'error', r.error,"             \
    " 'created_at', " BRO_REPORTS_TS("r.created_at") ", 'started_at', " BRO_REPORTS_TS(            \
        "r.started_at") ", 'finished_at', " BRO_REPORTS_TS("r.finished_at") ")::text"

/* $1 id, $2 type, $3 period, $4 from, $5 to, $6 format, $7 params, $8 key id. */
static const char *bro_reports_sql_create =
    "INSERT INTO reports AS r (id, type, period, period_from, period_to, format, params,"
    " created_by) VALUES ($1::uuid, $2, $3, $4::date, $5::date, $6, $7::jsonb, $8)"
    " RETURNING " BRO_REPORTS_JSON;
static const char *bro_reports_sql_get = "SELECT " BRO_REPORTS_JSON " FROM reports r"
                                         " WHERE r.id = $1::uuid";
/* $1 cursor (last id seen), $2 limit; one row more than asked says whether a page follows. */
static const char *bro_reports_sql_list =
    "SELECT " BRO_REPORTS_JSON ", r.id::text FROM reports r"
    " WHERE ($1::uuid IS NULL OR r.id < $1::uuid) ORDER BY r.id DESC LIMIT $2::int + 1";
/* $1 id: binary results, the file as it is. */
static const char *bro_reports_sql_file =
    "SELECT status, file, content_type, filename FROM reports WHERE id = $1::uuid";
/* $1 project id. */
static const char *bro_reports_sql_project = "SELECT 1 FROM projects WHERE id = $1::uuid";

/* $1 id. A report done or failed is left alone (a redelivery after the end). */
static const char *bro_reports_sql_start =
    "UPDATE reports SET status = 'running', started_at = coalesce(started_at, now()),"
    " progress = 0.1 WHERE id = $1::uuid AND status IN ('queued', 'running') RETURNING type,"
    " period, format, coalesce(params->>'project_id', ''),"
    " coalesce((params->>'suppress')::boolean, false), coalesce((params->>'detail')::boolean,"
    " false)";
/* $1 id, $2 progress. */
static const char *bro_reports_sql_progress =
    "UPDATE reports SET progress = $2::real WHERE id = $1::uuid AND status = 'running'";
/* $1 id, $2 file, $3 content type, $4 filename, $5 event id: the file, done, and the event. */
static const char *bro_reports_sql_done =
    "WITH upd AS (UPDATE reports SET status = 'done', progress = 1, file = $2, content_type = $3,"
    " filename = $4, finished_at = now() WHERE id = $1::uuid AND status = 'running'"
    " RETURNING id, type, format) INSERT INTO outbox (event_id, event, aggregate_id, payload)"
    " SELECT $5::uuid, 'report.ready', id, jsonb_build_object('report_id', id, 'type', type,"
    " 'format', format) FROM upd";
/* The same without the event: the platform schema has no outbox (no tenant to tell). */
static const char *bro_reports_sql_done_platform =
    "UPDATE reports SET status = 'done', progress = 1, file = $2, content_type = $3,"
    " filename = $4, finished_at = now() WHERE id = $1::uuid AND status = 'running'"
    " AND $5::uuid IS NOT NULL";
/* $1 id, $2 why. */
static const char *bro_reports_sql_fail =
    "UPDATE reports SET status = 'failed', finished_at = now(), error = $2"
    " WHERE id = $1::uuid AND status IN ('queued', 'running')";

/* ---- accept -------------------------------------------------------------------------------- */

/* Copies string member name of the body into buf ("" when absent). */
static void bro_reports_member(const bro_job *job, const char *name, char *buf, size_t n)
{
    if (bro_job_param(job->data, name, buf, n) < 0)
        buf[0] = '\0';
}

static int bro_reports_flag(const bro_job *job, const char *name)
{
    const msgpack_object *o = bro_jmp_map_get(job->data, name);
    return o && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
}

/* Checks the period and, for a grant report, the project; stores the order and replies 202. */
static int bro_reports_accept(bro_job *job, const char *type, int platform)
{
    char period[32], format[16], project[BRO_UUID_LEN + 1];
    bro_reports_member(job, "period", period, sizeof(period));
    bro_reports_member(job, "format", format, sizeof(format));
    bro_reports_member(job, "project_id", project, sizeof(project));
    bro_report r = {0};
    if (bro_report_period(&r, period) < 0)
        bro_job_field_error(job, "period",
                            "must be a year (2026), a quarter (2026-Q2), a month "
                            "(2026-05) or two dates (2026-01-01/2026-06-30)");
    if (strcmp(type, "grant") == 0 && project[0] == '\0')
        bro_job_field_error(job, "project_id", "is required for a grant report");
    if (strcmp(type, "grant") != 0 && project[0] != '\0')
        bro_job_field_error(job, "project_id", "is only given for a grant report");
    if (bro_job_check_fields(job) < 0)
        return -1;
    if (project[0]) {
        const char *p[] = {project};
        bro_err err = {0};
        PGresult *res = bro_db_exec(job->db, bro_reports_sql_project, 1, p, &err);
        if (res == NULL)
            return bro_job_fail(job, err.code, "%s", err.msg);
        int found = PQntuples(res) == 1;
        PQclear(res);
        if (!found) {
            bro_job_field_error(job, "project_id", "names no project of this kommune");
            return bro_job_check_fields(job);
        }
    }
    char params[160];
    snprintf(params, sizeof(params), "{\"suppress\": %s, \"detail\": %s%s%s%s}",
             platform || bro_reports_flag(job, "suppress") ? "true" : "false",
             bro_reports_flag(job, "detail") ? "true" : "false",
             project[0] ? ", \"project_id\": \"" : "", project, project[0] ? "\"" : "");
    const char *p[] = {job->env->id, type,   r.period, r.from,
                       r.to,         format, params,   job->env->actor.key_id};
    return bro_job_query_one(job, bro_reports_sql_create, 8, p, 202, "the report was not stored");
}

/* report.create (accept): type, period and format, `project_id` for a grant report, and
 * `suppress` / `detail`; 422 naming the field when they do not hold, 202 with the report. */
int bro_reports_create(bro_job *job)
{
    bro_validate(job, job->data, bro_schema_ReportCreate, bro_schema_ReportCreate_n, 0);
    if (bro_job_check_fields(job) < 0)
        return -1;
    char type[16];
    bro_reports_member(job, "type", type, sizeof(type));
    return bro_reports_accept(job, type, 0);
}

/* platform_report.create (accept): period and format; counts are always suppressed. */
int bro_reports_platform_create(bro_job *job)
{
    bro_validate(job, job->data, bro_schema_PlatformReportCreate, bro_schema_PlatformReportCreate_n,
                 0);
    if (bro_job_check_fields(job) < 0)
        return -1;
    return bro_reports_accept(job, "platform", 1);
}

/* ---- reads --------------------------------------------------------------------------------- */

static int bro_reports_path_id(bro_job *job, char *id)
{
    if (bro_job_param(job->path, "id", id, BRO_UUID_LEN + 1) < 0 || !bro_ids_is_uuid(id))
        return bro_job_fail(job, BRO_E_NOT_FOUND, "no such report");
    return 0;
}

/* report.get: the report's state without its file; 404 when there is none. */
int bro_reports_get(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    if (bro_reports_path_id(job, id) < 0)
        return -1;
    const char *p[] = {id};
    return bro_job_query_one(job, bro_reports_sql_get, 1, p, 200, "no such report");
}

int bro_reports_platform_get(bro_job *job)
{
    return bro_reports_get(job);
}

/* Runs sql ($1 cursor, $2 limit; rows of JSON text and id) and replies with the page. */
static int bro_reports_page(bro_job *job, const char *sql, const bro_vfield *q, int nq)
{
    char cursor[BRO_UUID_LEN + 1], limit_s[16];
    int limit;
    bro_records_query(job, q, nq, cursor, &limit);
    if (bro_job_check_fields(job) < 0)
        return -1;
    snprintf(limit_s, sizeof(limit_s), "%d", limit);
    const char *p[] = {cursor[0] ? cursor : NULL, limit_s};
    return bro_records_page(job, sql, 2, p, limit);
}

/* report.list: the tenant's reports, newest first, paged. */
int bro_reports_list(bro_job *job)
{
    return bro_reports_page(job, bro_reports_sql_list, bro_query_listReports,
                            bro_query_listReports_n);
}

int bro_reports_platform_list(bro_job *job)
{
    return bro_reports_page(job, bro_reports_sql_list, bro_query_listPlatformReports,
                            bro_query_listPlatformReports_n);
}

/* report.download: the file with its type and name; 409 while it is not done. */
int bro_reports_download(bro_job *job)
{
    char id[BRO_UUID_LEN + 1];
    if (bro_reports_path_id(job, id) < 0)
        return -1;
    const char *p[] = {id};
    bro_err err = {0};
    PGresult *res = bro_db_exec_format(job->db, bro_reports_sql_file, 1, p, NULL, NULL, 1, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int rc;
    if (PQntuples(res) != 1) {
        rc = bro_job_fail(job, BRO_E_NOT_FOUND, "no such report");
    } else if (PQgetlength(res, 0, 0) != 4 || memcmp(PQgetvalue(res, 0, 0), "done", 4) != 0 ||
               PQgetisnull(res, 0, 1)) {
        rc = bro_job_fail(job, BRO_E_CONFLICT, "the report is not ready: see its status");
    } else {
        char type[128], name[128];
        snprintf(type, sizeof(type), "%.*s", PQgetlength(res, 0, 2), PQgetvalue(res, 0, 2));
        snprintf(name, sizeof(name), "%.*s", PQgetlength(res, 0, 3), PQgetvalue(res, 0, 3));
        rc = bro_job_reply_file(job, type, name, PQgetvalue(res, 0, 1),
                                (size_t)PQgetlength(res, 0, 1));
    }
    PQclear(res);
    return rc;
}

int bro_reports_platform_download(bro_job *job)
{
    return bro_reports_download(job);
}

/* ---- run ----------------------------------------------------------------------------------- */

/* What a run carries between its steps. */
typedef struct bro_reports_run_state {
    bro_report report;    /* the figures */
    bro_report_opts opts; /* as ordered */
    char format[8];       /* json, csv, xlsx, html */
    int found;            /* 1 when the report is still to be made */
    int platform;         /* a platform report */
    const char *why;      /* for the failed step: why it stopped */
} bro_reports_run_state;

static int bro_reports_start_step(bro_job *job, void *arg)
{
    bro_reports_run_state *st = arg;
    const char *p[] = {job->env->id};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_reports_sql_start, 1, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    st->found = PQntuples(res) == 1;
    int rc = 0;
    if (st->found) {
        static const char *const types[] = {"pipeline", "indicators", "grant", "platform"};
        for (int i = 0; i < 4; i++)
            if (strcmp(PQgetvalue(res, 0, 0), types[i]) == 0)
                st->report.type = types[i];
        snprintf(st->format, sizeof(st->format), "%s", PQgetvalue(res, 0, 2));
        snprintf(st->opts.project_id, sizeof(st->opts.project_id), "%s", PQgetvalue(res, 0, 3));
        st->report.suppress = PQgetvalue(res, 0, 4)[0] == 't';
        st->opts.detail = PQgetvalue(res, 0, 5)[0] == 't';
        st->opts.xlsx = strcmp(st->format, "xlsx") == 0;
        int suppress = st->report.suppress;
        if (st->report.type == NULL || bro_report_period(&st->report, PQgetvalue(res, 0, 1)) < 0)
            rc = bro_job_fail(job, BRO_E_INTERNAL, "the stored order does not read");
        st->report.suppress = suppress;
    }
    PQclear(res);
    return rc;
}

static int bro_reports_progress(bro_job *job, const char *progress)
{
    const char *p[] = {job->env->id, progress};
    return bro_job_exec(job, bro_reports_sql_progress, 2, p);
}

/* Counts, in one REPEATABLE READ transaction (every count of one snapshot, which the pass
 * shares with its second connection), and moves the progress to 0.6 with it. */
static int bro_reports_count_step(bro_job *job, void *arg)
{
    bro_reports_run_state *st = arg;
    bro_report *r = &st->report;
    bro_report_free(r);
    int rc;
    if (strcmp(r->type, "pipeline") == 0)
        rc = bro_report_pipeline(job, r, &st->opts);
    else if (strcmp(r->type, "indicators") == 0)
        rc = bro_report_indicators(job, r, &st->opts);
    else
        rc = bro_report_grant(job, r, &st->opts);
    if (rc == 0 && r->suppress && bro_report_suppress(r) < 0)
        rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    return rc < 0 ? -1 : bro_reports_progress(job, "0.6");
}

typedef struct bro_reports_file {
    bro_buf out;              /* the file */
    const char *content_type; /* static */
    char filename[96];
} bro_reports_file;

/* Writes the file in the ordered format. */
static int bro_reports_render(bro_job *job, bro_reports_run_state *st, bro_reports_file *f)
{
    static const char *const names[][2] = {{"pipeline", "kandidater"},
                                           {"indicators", "indikatorer"},
                                           {"grant", "tilskuddsrapport"},
                                           {"platform", "plattform"}};
    const char *base = "rapport";
    for (int i = 0; i < 4; i++)
        if (strcmp(names[i][0], st->report.type) == 0)
            base = names[i][1];
    char period[32];
    snprintf(period, sizeof(period), "%s", st->report.period);
    for (char *c = period; *c; c++)
        if (*c == '/')
            *c = '_';
    snprintf(f->filename, sizeof(f->filename), "%s-%s.%s", base, period, st->format);
    bro_err err = {0};
    int rc;
    if (strcmp(st->format, "csv") == 0) {
        f->content_type = "text/csv; charset=utf-8";
        rc = bro_render_csv(&st->report, &f->out);
    } else if (strcmp(st->format, "xlsx") == 0) {
        f->content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
        rc = bro_render_xlsx(&st->report, &f->out, &err);
    } else if (strcmp(st->format, "html") == 0) {
        f->content_type = "text/html; charset=utf-8";
        rc = bro_render_html(&st->report, &f->out);
    } else {
        f->content_type = "application/json";
        rc = bro_render_json(&st->report, &f->out);
    }
    if (rc < 0)
        return bro_job_fail(job, err.code ? err.code : BRO_E_NOMEM, "%s",
                            err.code ? err.msg : "out of memory");
    return 0;
}

static int bro_reports_store_step(bro_job *job, void *arg)
{
    const bro_reports_file *f = ((void **)arg)[0];
    const bro_reports_run_state *st = ((void **)arg)[1];
    char event[BRO_UUID_LEN + 1];
    bro_ids_uuid7(event);
    const char *p[] = {job->env->id, f->out.data ? f->out.data : "", f->content_type, f->filename,
                       event};
    int lengths[] = {0, (int)f->out.len, 0, 0, 0}, formats[] = {0, 1, 0, 0, 0};
    bro_err err = {0};
    PGresult *res = bro_db_exec_bin(
        job->db, st->platform ? bro_reports_sql_done_platform : bro_reports_sql_done, 5, p, lengths,
        formats, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    PQclear(res);
    return 0;
}

static int bro_reports_fail_step(bro_job *job, void *arg)
{
    const bro_reports_run_state *st = arg;
    const char *p[] = {job->env->id, st->why};
    return bro_job_exec(job, bro_reports_sql_fail, 2, p);
}

static int bro_reports_progress_step(bro_job *job, void *arg)
{
    return bro_reports_progress(job, arg);
}

static int bro_reports_transient(int code)
{
    return code == BRO_E_RETRY || code == BRO_E_UNAVAILABLE || code == BRO_E_TIMEOUT;
}

/* Counts, writes and stores the report; st->found is 0 when there was nothing left to do. */
static int bro_reports_steps(bro_job *job, bro_reports_run_state *st, bro_reports_file *f)
{
    if (bro_job_step(job, bro_reports_start_step, st) < 0)
        return -1;
    if (!st->found)
        return 0;
    if (st->platform) {
        if (bro_report_platform(job, &st->report) < 0 || bro_report_suppress(&st->report) < 0 ||
            bro_job_step(job, bro_reports_progress_step, "0.6") < 0)
            return job->err.code ? -1 : bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    } else if (bro_job_step_repeatable(job, bro_reports_count_step, st) < 0) {
        return -1;
    }
    if (bro_reports_render(job, st, f) < 0 ||
        bro_job_step(job, bro_reports_progress_step, "0.9") < 0)
        return -1;
    void *both[] = {f, st};
    return bro_job_step(job, bro_reports_store_step, both);
}

static int bro_reports_make(bro_job *job, int platform)
{
    bro_reports_run_state *st = calloc(1, sizeof(*st));
    bro_reports_file *f = calloc(1, sizeof(*f));
    if (st == NULL || f == NULL) {
        free(st);
        free(f);
        return bro_job_fail(job, BRO_E_RETRY, "out of memory");
    }
    st->platform = platform;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(st->report.made_at, sizeof(st->report.made_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
    int rc = bro_reports_steps(job, st, f);
    if (rc < 0 && !bro_reports_transient(job->err.code)) {
        /* It would fail again: the report ends as failed and says why. */
        bro_log_ctx lc = {job->env->tenant[0] ? job->env->tenant : NULL, job->env->req,
                          job->env->id};
        bro_log_error(&lc, "report failed: %s", job->err.msg);
        char why[160];
        snprintf(why, sizeof(why), "%s", job->nfields ? job->fields[0].message : job->err.msg);
        st->why = why;
        bro_err_clear(&job->err);
        rc = bro_job_step(job, bro_reports_fail_step, st);
    }
    bro_report_free(&st->report);
    bro_buf_free(&f->out);
    free(st);
    free(f);
    return rc;
}

/* report.create (run): counts, writes and stores the report (see the file's head). Returns -1
 * only for a transient failure; a report that cannot be made is marked failed. */
int bro_reports_run(bro_job *job)
{
    return bro_reports_make(job, 0);
}

/* platform_report.create (run): as bro_reports_run, counting every tenant. */
int bro_reports_platform_run(bro_job *job)
{
    return bro_reports_make(job, 1);
}
