/* The platform report: the pipeline at the period's end for every tenant and in total, counts
 * only. Each tenant is read in a transaction of its own, under its own role, as any job of
 * that tenant would be; the counts are suppressed by the caller before they are written. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/pass.h"

#define BRO_PLATFORM_PROGRESS_EVERY 50 /* tenants between two progress updates */

static const char *bro_platform_sql_tenants =
    "SELECT slug, name || ' (' || kommunenummer || ')' FROM tenants ORDER BY name, slug";
/* $1 the end: each candidate's last status before it. */
static const char *bro_platform_sql_counts =
    "SELECT s, count(*) FROM (SELECT DISTINCT ON (candidate_id) to_status AS s"
    " FROM status_history WHERE at < to_timestamp($1) ORDER BY candidate_id, id DESC) x"
    " GROUP BY s";
/* $1 id, $2 progress. */
static const char *bro_platform_sql_progress =
    "UPDATE reports SET progress = $2::real WHERE id = $1::uuid AND status = 'running'";

typedef struct bro_platform_state {
    bro_report *r;
    PGresult *tenants; /* slug, label */
    long long counts[BRO_RPASS_STATUSES];
    char progress[16];
} bro_platform_state;

static int bro_platform_tenants_step(bro_job *job, void *arg)
{
    bro_platform_state *st = arg;
    bro_err err = {0};
    st->tenants = bro_db_exec(job->db, bro_platform_sql_tenants, 0, NULL, &err);
    return st->tenants ? 0 : bro_job_fail(job, err.code, "%s", err.msg);
}

static int bro_platform_tenant_step(bro_job *job, void *arg)
{
    bro_platform_state *st = arg;
    char end[24];
    snprintf(end, sizeof(end), "%lld", (long long)st->r->end_s);
    const char *p[] = {end};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_platform_sql_counts, 1, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    memset(st->counts, 0, sizeof(st->counts));
    for (int i = 0; i < PQntuples(res); i++) {
        int s = bro_rpass_index(bro_rpass_status_names, BRO_RPASS_STATUSES, PQgetvalue(res, i, 0));
        if (s >= 0)
            st->counts[s] = strtoll(PQgetvalue(res, i, 1), NULL, 10);
    }
    PQclear(res);
    return 0;
}

static int bro_platform_progress_step(bro_job *job, void *arg)
{
    bro_platform_state *st = arg;
    const char *p[] = {job->env->id, st->progress};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_platform_sql_progress, 2, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    PQclear(res);
    return 0;
}

static bro_rtable *bro_platform_table(bro_report *r)
{
    bro_rcol cols[BRO_RPASS_STATUSES + 2] = {{"tenant", "Kommune", BRO_RCELL_TEXT}};
    for (int i = 0; i < BRO_RPASS_STATUSES; i++)
        cols[i + 1] =
            (bro_rcol){bro_rpass_status_names[i], bro_rpass_status_labels[i], BRO_RCELL_INT};
    cols[BRO_RPASS_STATUSES + 1] = (bro_rcol){"total", "Totalt", BRO_RCELL_INT};
    bro_rtable *t =
        bro_report_table(r, "tenants", "Kandidater etter status per kommune",
                         "Status ved periodens slutt. Tall fra 1 til 3 er skjult, og så mange "
                         "andre at ingen skjult verdi kan regnes ut fra summene.",
                         cols, BRO_RPASS_STATUSES + 2);
    if (t) {
        t->suppressible = 1;
        t->total_row = 1;
        t->total_col = BRO_RPASS_STATUSES + 1;
    }
    return t;
}

static int bro_platform_add(bro_rtable *t, const char *label, const long long *counts)
{
    long long v[BRO_RPASS_STATUSES + 1], total = 0;
    for (int i = 0; i < BRO_RPASS_STATUSES; i++)
        total += v[i] = counts[i];
    v[BRO_RPASS_STATUSES] = total;
    return bro_report_count_row(t, label, v, BRO_RPASS_STATUSES + 1) ? 0 : -1;
}

int bro_report_platform(bro_job *job, bro_report *r)
{
    snprintf(r->title, sizeof(r->title), "Kandidater i alle kommuner");
    bro_platform_state st = {.r = r};
    bro_rtable *t = bro_platform_table(r);
    if (t == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    if (bro_job_step(job, bro_platform_tenants_step, &st) < 0)
        return -1;
    long long sum[BRO_RPASS_STATUSES] = {0};
    int n = PQntuples(st.tenants), rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        rc = bro_job_step_in(job, PQgetvalue(st.tenants, i, 0), bro_platform_tenant_step, &st);
        if (rc == 0 && bro_platform_add(t, PQgetvalue(st.tenants, i, 1), st.counts) < 0)
            rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
        for (int s = 0; s < BRO_RPASS_STATUSES; s++)
            sum[s] += st.counts[s];
        if (rc == 0 && (i + 1) % BRO_PLATFORM_PROGRESS_EVERY == 0) {
            snprintf(st.progress, sizeof(st.progress), "%.3f", 0.1 + 0.5 * (i + 1) / n);
            rc = bro_job_step(job, bro_platform_progress_step, &st);
        }
    }
    PQclear(st.tenants);
    if (rc == 0 && bro_platform_add(t, "Alle kommuner", sum) < 0)
        rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    return rc;
}
