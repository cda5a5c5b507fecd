/* The pipeline report: the caseload at the period's end as the coordinators of seed 000 count it
 * (VTA, VTA-O, the care-helper role, work training and activity, approach, closed, intake),
 * candidates by status and by measure, the moves during the period, month by month, the time
 * spent in each status and the placements by role. */
#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reports/pass.h"

/* $1 the end. Placements then, by the opening's role and kind. */
static const char *bro_pipeline_sql_roles =
    "SELECT coalesce(o.role, ''), o.kind, count(*) FROM matches m JOIN openings o"
    " ON o.id = m.opening_id WHERE m.status = 'placed' AND m.updated_at < to_timestamp($1)"
    " GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2";

static const char *const bro_pipeline_kinds[][2] = {{"work_trial", "Arbeidsutprøving"},
                                                    {"vta", "VTA"},
                                                    {"vta_o", "VTA-O"},
                                                    {"vto", "VTO"},
                                                    {"ordinary_job", "Ordinær jobb"},
                                                    {"activity", "Aktivitet"},
                                                    {"volunteer_role", "Frivillig oppgave"}};

/* The report's tables, in their order: all are made before the pass, so an xlsx written while
 * it reads has every sheet in place, and filled after it. */
enum {
    BRO_PIPELINE_CASELOAD = 0,
    BRO_PIPELINE_BY_STATUS,
    BRO_PIPELINE_BY_MEASURE,
    BRO_PIPELINE_FLOWS,
    BRO_PIPELINE_MONTHS,
    BRO_PIPELINE_SPELLS,
    BRO_PIPELINE_ROLES,
    BRO_PIPELINE_DETAIL /* only with a row per candidate */
};

static const bro_rcol bro_pipeline_count_cols[] = {{"group", "Gruppe", BRO_RCELL_TEXT},
                                                   {"count", "Antall", BRO_RCELL_INT}};

static bro_rtable *bro_pipeline_counts(bro_report *r, const char *name, const char *title,
                                       const char *note)
{
    bro_rtable *t = bro_report_table(r, name, title, note, bro_pipeline_count_cols, 2);
    if (t) {
        t->chart = BRO_RCHART_BAR;
        t->chart_from = 1;
        t->chart_to = 2;
        t->suppressible = 1;
        t->total_row = 1;
    }
    return t;
}

static int bro_pipeline_table_flows(bro_report *r)
{
    static const bro_rcol cols[] = {{"from", "Fra", BRO_RCELL_TEXT},
                                    {"to", "Til", BRO_RCELL_TEXT},
                                    {"count", "Antall", BRO_RCELL_INT}};
    bro_rtable *t =
        bro_report_table(r, "flows", "Overganger i perioden",
                         "Hver statusendring i perioden; «Ny» er en ny henvisning.", cols, 3);
    if (t == NULL)
        return -1;
    t->suppressible = 1;
    t->first_count = 2;
    return 0;
}

static int bro_pipeline_table_months(bro_report *r)
{
    static const bro_rcol cols[] = {{"month", "Måned", BRO_RCELL_TEXT},
                                    {"referred", "Nye henvisninger", BRO_RCELL_INT},
                                    {"into_measure", "Inn i tiltak", BRO_RCELL_INT},
                                    {"closed", "Avsluttet", BRO_RCELL_INT},
                                    {"open", "Åpne saker ved månedens slutt", BRO_RCELL_INT}};
    bro_rtable *t = bro_report_table(r, "months", "Måned for måned", NULL, cols, 5);
    if (t == NULL)
        return -1;
    t->chart = BRO_RCHART_LINE;
    t->chart_from = 1;
    t->chart_to = 5;
    t->suppressible = 1;
    return 0;
}

static int bro_pipeline_table_spells(bro_report *r)
{
    static const bro_rcol cols[] = {{"status", "Status", BRO_RCELL_TEXT},
                                    {"spells", "Avsluttede perioder", BRO_RCELL_INT},
                                    {"median_days", "Median dager", BRO_RCELL_NUM},
                                    {"p90_days", "90-persentil dager", BRO_RCELL_NUM}};
    const char *note =
        "Perioder i en status som sluttet i perioden, i dager: median og 90-persentil.";
    return bro_report_table(r, "time_in_status", "Tid i hver status", note, cols, 4) ? 0 : -1;
}

static int bro_pipeline_table_roles(bro_report *r)
{
    static const bro_rcol cols[] = {{"role", "Rolle", BRO_RCELL_TEXT},
                                    {"kind", "Type plass", BRO_RCELL_TEXT},
                                    {"count", "Plasseringer", BRO_RCELL_INT}};
    bro_rtable *t = bro_report_table(r, "placements_by_role", "Plasseringer etter rolle",
                                     "Plasseringer ved periodens slutt, etter plassens rolle og "
                                     "type.",
                                     cols, 3);
    if (t == NULL)
        return -1;
    t->suppressible = 1;
    t->first_count = 2;
    return 0;
}

/* One row per candidate: ref, status, measure, role, since when and for how many days (at the
 * period's end). No name: the ref is what a coordinator looks a case up by. */
static int bro_pipeline_table_detail(bro_report *r)
{
    static const bro_rcol cols[] = {
        {"ref", "Ref.", BRO_RCELL_TEXT},           {"status", "Status", BRO_RCELL_TEXT},
        {"measure", "Tiltak", BRO_RCELL_TEXT},     {"role", "Rolle", BRO_RCELL_TEXT},
        {"since", "Status siden", BRO_RCELL_DATE}, {"days", "Dager i status", BRO_RCELL_INT}};
    return bro_report_table(r, "candidates", "Kandidater", NULL, cols, 6) ? 0 : -1;
}

/* Makes every table of the report, empty, in the order of the enum above. */
static int bro_pipeline_tables(bro_report *r, int detail)
{
    if (bro_pipeline_counts(
            r, "caseload", "Kandidater ved periodens slutt",
            "Hver kandidat telles én gang, etter status ved periodens slutt. Kandidater i tiltak "
            "telles etter tiltak; en plassering med egen rolle (f.eks. omsorgsmedhjelper) telles "
            "under rollen. Arbeidstrening/aktivitet er arbeidstrening og tiltaket aktivitet.") ==
            NULL ||
        bro_pipeline_counts(r, "by_status", "Kandidater etter status",
                            "Status ved periodens slutt.") == NULL ||
        bro_pipeline_counts(r, "by_measure", "Kandidater i tiltak etter tiltak",
                            "Kandidater med status «I tiltak» ved periodens slutt.") == NULL ||
        bro_pipeline_table_flows(r) < 0 || bro_pipeline_table_months(r) < 0 ||
        bro_pipeline_table_spells(r) < 0 || bro_pipeline_table_roles(r) < 0)
        return -1;
    return detail ? bro_pipeline_table_detail(r) : 0;
}

static int bro_pipeline_row(bro_rtable *t, const char *label, long long n)
{
    return bro_report_count_row(t, label, &n, 1) ? 0 : -1;
}

/* The caseload in seed 000's order: those in a measure by measure, except that a placement
 * with a role of its own (omsorgsmedhjelper) is counted under the role, then the other
 * statuses, and the total. */
static int bro_pipeline_caseload(bro_report *r, const bro_rpass *p)
{
    bro_rtable *t = r->tables[BRO_PIPELINE_CASELOAD];
    const long long *st = p->status_end, *me = p->measure_end;
    int rc = bro_pipeline_row(t, "VTA", me[0]) | bro_pipeline_row(t, "VTA-O", me[1]);
    for (int i = 0; i < p->nroles; i++) {
        char label[80];
        snprintf(label, sizeof(label), "%c%s",
                 p->roles[i][0] >= 'a' && p->roles[i][0] <= 'z' ? p->roles[i][0] - 32
                                                                : p->roles[i][0],
                 p->roles[i] + 1);
        rc |= bro_pipeline_row(t, label, p->role_end[i]);
    }
    rc |= bro_pipeline_row(t, "Arbeidstrening/aktivitet", st[3] + me[4]) |
          bro_pipeline_row(t, "VTO", me[2]) | bro_pipeline_row(t, "Ordinært arbeid", me[3]) |
          bro_pipeline_row(t, "Arbeidsutprøving", st[4]) |
          bro_pipeline_row(t, "Tilnærming", st[1]) | bro_pipeline_row(t, "Kartlagt", st[2]) |
          bro_pipeline_row(t, "Venter", st[7]) | bro_pipeline_row(t, "Avsluttet", st[6]) |
          bro_pipeline_row(t, "Henvist (inntak)", st[0]) |
          bro_pipeline_row(t, "Antall kandidater", p->candidates);
    return rc ? -1 : 0;
}

static int bro_pipeline_status(bro_report *r, const bro_rpass *p)
{
    bro_rtable *t = r->tables[BRO_PIPELINE_BY_STATUS], *m = r->tables[BRO_PIPELINE_BY_MEASURE];
    int rc = 0;
    long long in_measure = 0;
    for (int i = 0; i < BRO_RPASS_STATUSES; i++)
        rc |= bro_pipeline_row(t, bro_rpass_status_labels[i], p->status_end[i]);
    for (int i = 0; i < BRO_RPASS_MEASURES; i++) {
        rc |= bro_pipeline_row(m, bro_rpass_measure_labels[i], p->measure_all[i]);
        in_measure += p->measure_all[i];
    }
    rc |= bro_pipeline_row(t, "Totalt", p->candidates) | bro_pipeline_row(m, "Totalt", in_measure);
    return rc ? -1 : 0;
}

static int bro_pipeline_flows(bro_report *r, const bro_rpass *p)
{
    bro_rtable *t = r->tables[BRO_PIPELINE_FLOWS];
    for (int f = 0; f <= BRO_RPASS_STATUSES; f++)
        for (int to = 0; to < BRO_RPASS_STATUSES; to++) {
            if (p->flows[f][to] == 0)
                continue;
            bro_rcell *row = bro_report_row(t);
            if (row == NULL ||
                bro_rcell_text(&row[0], f == 0 ? "Ny" : bro_rpass_status_labels[f - 1]) < 0 ||
                bro_rcell_text(&row[1], bro_rpass_status_labels[to]) < 0)
                return -1;
            bro_rcell_int(&row[2], p->flows[f][to]);
        }
    return 0;
}

static int bro_pipeline_months(bro_report *r, const bro_rpass *p)
{
    bro_rtable *t = r->tables[BRO_PIPELINE_MONTHS];
    for (int m = 0; m < p->nmonths; m++) {
        char label[16];
        time_t at = (time_t)p->month_start[m];
        struct tm tm;
        gmtime_r(&at, &tm);
        strftime(label, sizeof(label), "%Y-%m", &tm);
        long long v[] = {p->month_new[m], p->month_in[m], p->month_closed[m], p->month_open[m]};
        if (bro_report_count_row(t, label, v, 4) == NULL)
            return -1;
    }
    return 0;
}

/* The k-th smallest of days[0..n-1] (k < n), moving the others so that none before k is
 * larger and none after it smaller (quickselect). A quantile needs two order statistics, not
 * the whole order: sorting 400,000 spells took more of the pass's CPU than selecting does. */
static float bro_pipeline_select(float *days, size_t n, size_t k)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, want = (ptrdiff_t)k;
    while (lo < hi) {
        float pivot = days[lo + (hi - lo) / 2];
        ptrdiff_t i = lo, j = hi;
        while (i <= j) { /* Hoare's partition: stops at values equal to the pivot */
            while (days[i] < pivot)
                i++;
            while (days[j] > pivot)
                j--;
            if (i <= j) {
                float t = days[i];
                days[i++] = days[j];
                days[j--] = t;
            }
        }
        if (want <= j)
            hi = j;
        else if (want >= i)
            lo = i;
        else
            break; /* between j and i every value is the pivot */
    }
    return days[k];
}

/* The q-quantile of days (linear between the nearest ranks, as percentile_cont). The ranks
 * lo and lo + 1 are selected; days is reordered. */
static double bro_pipeline_quantile(float *days, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    double frac = pos - (double)lo;
    float a = bro_pipeline_select(days, n, lo);
    if (lo + 1 >= n)
        return a;
    float b = days[lo + 1]; /* after the select, the smallest of days[lo + 1..] is rank lo + 1 */
    for (size_t i = lo + 2; i < n; i++)
        if (days[i] < b)
            b = days[i];
    return a + frac * (b - a);
}

static int bro_pipeline_spells(bro_report *r, bro_rpass *p)
{
    bro_rtable *t = r->tables[BRO_PIPELINE_SPELLS];
    for (int s = 0; s < BRO_RPASS_STATUSES; s++) {
        bro_rpass_spells *sp = &p->spells[s];
        bro_rcell *row = bro_report_row(t);
        if (row == NULL || bro_rcell_text(&row[0], bro_rpass_status_labels[s]) < 0)
            return -1;
        bro_rcell_int(&row[1], (long long)sp->n);
        if (sp->n == 0 || (r->suppress && sp->n <= 3)) {
            if (r->suppress && sp->n > 0)
                row[1].type = BRO_RCELL_HIDDEN; /* a median of so few is a person's own */
            continue;
        }
        bro_rcell_num(&row[2], bro_pipeline_quantile(sp->days, sp->n, 0.5));
        bro_rcell_num(&row[3], bro_pipeline_quantile(sp->days, sp->n, 0.9));
    }
    return 0;
}

static const char *bro_pipeline_kind_label(const char *kind)
{
    for (size_t i = 0; i < sizeof(bro_pipeline_kinds) / sizeof(bro_pipeline_kinds[0]); i++)
        if (strcmp(bro_pipeline_kinds[i][0], kind) == 0)
            return bro_pipeline_kinds[i][1];
    return kind;
}

static int bro_pipeline_roles(bro_job *job, bro_report *r)
{
    bro_rtable *t = r->tables[BRO_PIPELINE_ROLES];
    char end[24];
    snprintf(end, sizeof(end), "%lld", (long long)r->end_s);
    const char *params[] = {end};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_pipeline_sql_roles, 1, params, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        bro_rcell *row = bro_report_row(t);
        const char *role = PQgetvalue(res, i, 0);
        if (row == NULL || bro_rcell_text(&row[0], role[0] ? role : "(ingen egen rolle)") < 0 ||
            bro_rcell_text(&row[1], bro_pipeline_kind_label(PQgetvalue(res, i, 1))) < 0)
            rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
        else
            bro_rcell_int(&row[2], strtoll(PQgetvalue(res, i, 2), NULL, 10));
    }
    PQclear(res);
    return rc;
}

/* A candidate's detail row as cells (bro_xlsx_row_cells): texts point into row or are labels;
 * arg is the report (its end, which does not change while the pass runs). */
static void bro_pipeline_detail_cells(const void *row, bro_rcell *cells, const void *arg)
{
    const bro_rpass_row *c = row;
    const bro_report *r = arg;
    bro_rcell_label(&cells[0], c->ref);
    bro_rcell_label(&cells[1], bro_rpass_status_labels[c->status]);
    if (c->measure >= 0)
        bro_rcell_label(&cells[2], bro_rpass_measure_labels[c->measure]);
    if (c->role[0])
        bro_rcell_label(&cells[3], c->role);
    bro_rcell_date(&cells[4], c->since);
    bro_rcell_int(&cells[5], (r->end_s - c->since) / 86400);
}

/* The detail table from the rows the pass kept, the texts of each candidate copied. */
static int bro_pipeline_detail(bro_report *r, const bro_rpass *p)
{
    bro_rtable *t = r->tables[BRO_PIPELINE_DETAIL];
    if (bro_report_reserve(t, p->nrows) < 0)
        return -1;
    for (size_t i = 0; i < p->nrows; i++) {
        const bro_rpass_row *c = &p->rows[i];
        bro_rcell *row = bro_report_row(t);
        if (row == NULL)
            return -1;
        bro_pipeline_detail_cells(c, row, r);
        if (bro_rcell_text(&row[0], c->ref) < 0 ||
            (c->role[0] && bro_rcell_text(&row[3], c->role) < 0))
            return -1;
    }
    return 0;
}

/* The pass's sink when the detail is streamed into the xlsx. */
static int bro_pipeline_sink(void *arg, const bro_rpass_row *row, bro_err *err)
{
    return bro_xlsx_stream_push(arg, row, err);
}

/* Starts the xlsx whose detail sheet is written while the pass reads (see render_xlsx.c). */
static int bro_pipeline_stream(bro_job *job, bro_report *r, bro_rpass *p)
{
    bro_err err = {0};
    r->xlsx = bro_xlsx_stream_start(r, BRO_PIPELINE_DETAIL, sizeof(bro_rpass_row),
                                    bro_pipeline_detail_cells, r, &err);
    if (r->xlsx == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    p->sink = bro_pipeline_sink;
    p->sink_arg = r->xlsx;
    return 0;
}

int bro_report_pipeline(bro_job *job, bro_report *r, const bro_report_opts *o)
{
    snprintf(r->title, sizeof(r->title), "Kandidater og tiltak");
    bro_rpass *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    p->r = r;
    p->want_rows = o->detail && !r->suppress; /* refs never leave the kommune */
    int rc = 0;
    if (bro_pipeline_tables(r, p->want_rows) < 0)
        rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    if (rc == 0 && p->want_rows && o->xlsx)
        rc = bro_pipeline_stream(job, r, p);
    if (rc == 0)
        rc = bro_rpass_run(job, p);
    bro_err err = {0};
    if (rc == 0 && r->xlsx && bro_xlsx_stream_end(r->xlsx, &err) < 0)
        rc = bro_job_fail(job, err.code, "%s", err.msg);
    if (rc < 0) { /* the writer stops now, not when the report is freed */
        bro_xlsx_stream_free(r->xlsx);
        r->xlsx = NULL;
    }
    if (rc == 0 && (bro_pipeline_caseload(r, p) < 0 || bro_pipeline_status(r, p) < 0 ||
                    bro_pipeline_flows(r, p) < 0 || bro_pipeline_months(r, p) < 0 ||
                    bro_pipeline_spells(r, p) < 0))
        rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    if (rc == 0)
        rc = bro_pipeline_roles(job, r);
    if (rc == 0 && p->want_rows && r->xlsx == NULL && bro_pipeline_detail(r, p) < 0)
        rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    bro_rpass_free(p);
    free(p);
    return rc;
}
