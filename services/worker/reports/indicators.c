/* The indicators report: the measurement indicators of the theme plan (seed 001, section 4) that
 * the data can answer, each with its definition printed beside it; the hours freed per shift
 * where placements record them (seed 003); and who is followed up and in a measure, by age band
 * and by income basis. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/pass.h"

/* $1 the end, $2 the start. Activity groups: activity openings that existed and were open at
 * the end; volunteer organisations cooperated with: those with an opening a candidate was
 * matched to (not declined or withdrawn) during the period. */
static const char *bro_indicators_sql_counts =
    "SELECT (SELECT count(*) FROM openings o WHERE o.kind = 'activity' AND o.active"
    " AND o.created_at < to_timestamp($1)),"
    " (SELECT count(DISTINCT g.id) FROM organizations g JOIN openings o"
    " ON o.organization_id = g.id JOIN matches m ON m.opening_id = o.id WHERE g.kind = 'volunteer'"
    " AND m.status NOT IN ('declined', 'withdrawn') AND m.created_at < to_timestamp($1)"
    " AND m.updated_at >= to_timestamp($2))";

/* $1 the end. Placements that record the hours they freed, by role. */
static const char *bro_indicators_sql_hours =
    "SELECT coalesce(o.role, ''), count(*), sum(m.hours_freed_per_shift)::float8,"
    " avg(m.hours_freed_per_shift)::float8 FROM matches m JOIN openings o ON o.id = m.opening_id"
    " WHERE m.status = 'placed' AND m.hours_freed_per_shift IS NOT NULL"
    " AND m.updated_at < to_timestamp($1) GROUP BY 1 ORDER BY 1";

static int bro_indicators_row(bro_rtable *t, const char *label, long long v, const char *def)
{
    bro_rcell *row = bro_report_row(t);
    if (row == NULL || bro_rcell_text(&row[0], label) < 0 || bro_rcell_text(&row[2], def) < 0)
        return -1;
    bro_rcell_int(&row[1], v);
    return 0;
}

static int bro_indicators_main(bro_job *job, bro_report *r, const bro_rpass *p)
{
    static const bro_rcol cols[] = {{"indicator", "Indikator", BRO_RCELL_TEXT},
                                    {"value", "Antall", BRO_RCELL_INT},
                                    {"definition", "Definisjon", BRO_RCELL_TEXT}};
    bro_rtable *t = bro_report_table(r, "indicators", "Måleindikatorer",
                                     "Temaplanens måleindikatorer som dataene kan svare på, ved "
                                     "periodens slutt.",
                                     cols, 3);
    if (t == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    t->chart = BRO_RCHART_BAR;
    t->chart_from = 1;
    t->chart_to = 2;
    t->suppressible = 1;
    char end[24], from[24];
    snprintf(end, sizeof(end), "%lld", (long long)r->end_s);
    snprintf(from, sizeof(from), "%lld", (long long)r->from_s);
    const char *params[] = {end, from};
    long long counts[2];
    if (bro_rpass_counts(job, bro_indicators_sql_counts, 2, params, counts, 2) < 0)
        return -1;
    int rc =
        bro_indicators_row(t, "Personer med kommunale arbeids- og aktivitetstilbud", p->municipal,
                           "Kandidater i arbeidstrening, arbeidsutprøving eller tiltak ved "
                           "periodens slutt med tiltaket VTO (kommunalt finansiert) eller "
                           "plassert hos en kommunal enhet.") |
        bro_indicators_row(t, "Aktivitetsgrupper", counts[0],
                           "Aktive tilbud av typen aktivitet registrert ved periodens slutt.") |
        bro_indicators_row(t, "Personer i VTA-O med vedtak fra NAV", p->vtao_decision,
                           "Kandidater i tiltaket VTA-O ved periodens slutt der plasseringen er "
                           "registrert med vedtak fra NAV.") |
        bro_indicators_row(t, "Personer i VTA-O uten vedtak fra NAV", p->vtao_no_decision,
                           "Kandidater i tiltaket VTA-O ved periodens slutt uten registrert "
                           "vedtak fra NAV.") |
        bro_indicators_row(t, "Personer i VTA hos arbeidsmarkedsbedrift", p->vta_lmc,
                           "Kandidater i tiltaket VTA ved periodens slutt plassert hos en "
                           "arbeidsmarkedsbedrift (f.eks. Menova, Adaptor).") |
        bro_indicators_row(t, "Frivillige organisasjoner det samarbeides med", counts[1],
                           "Frivillige organisasjoner med en plass som en kandidat ble koblet "
                           "til i perioden (ikke avslått eller trukket).");
    return rc ? bro_job_fail(job, BRO_E_NOMEM, "out of memory") : 0;
}

static int bro_indicators_hours(bro_job *job, bro_report *r)
{
    static const bro_rcol cols[] = {{"role", "Rolle", BRO_RCELL_TEXT},
                                    {"placements", "Plasseringer", BRO_RCELL_INT},
                                    {"hours_total", "Timer frigjort per vakt, sum", BRO_RCELL_NUM},
                                    {"hours_mean", "Timer per vakt, snitt", BRO_RCELL_NUM}};
    bro_rtable *t = bro_report_table(r, "hours_freed", "Frigjort tid for fagpersonalet",
                                     "Timer per vakt som plasseringene frigjør for fagpersonalet, "
                                     "der plassen har registrert det.",
                                     cols, 4);
    if (t == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    t->suppressible = 1;
    char end[24];
    snprintf(end, sizeof(end), "%lld", (long long)r->end_s);
    const char *params[] = {end};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_indicators_sql_hours, 1, params, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        bro_rcell *row = bro_report_row(t);
        const char *role = PQgetvalue(res, i, 0);
        if (row == NULL || bro_rcell_text(&row[0], role[0] ? role : "(ingen egen rolle)") < 0) {
            rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
            break;
        }
        long long n = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        bro_rcell_int(&row[1], n);
        if (!(r->suppress && n <= 3)) { /* a sum over so few tells of one place */
            bro_rcell_num(&row[2], strtod(PQgetvalue(res, i, 2), NULL));
            bro_rcell_num(&row[3], strtod(PQgetvalue(res, i, 3), NULL));
        }
    }
    PQclear(res);
    return rc;
}

/* A breakdown: labels down, followed up and in a measure across, with a total row. */
static int bro_indicators_breakdown(bro_report *r, const char *name, const char *title,
                                    const char *col, const char *const *labels,
                                    const long long *open, const long long *measure, int n)
{
    const bro_rcol cols[] = {{"group", col, BRO_RCELL_TEXT},
                             {"followed_up", "I oppfølging", BRO_RCELL_INT},
                             {"in_measure", "I tiltak", BRO_RCELL_INT}};
    bro_rtable *t = bro_report_table(r, name, title,
                                     "Ved periodens slutt. I oppfølging: alle åpne saker unntatt "
                                     "«Venter»; i tiltak: status «I tiltak».",
                                     cols, 3);
    if (t == NULL)
        return -1;
    t->chart = BRO_RCHART_BAR;
    t->chart_from = 1;
    t->chart_to = 3;
    t->suppressible = 1;
    t->total_row = 1;
    long long sum[2] = {0, 0};
    for (int i = 0; i < n; i++) {
        long long v[] = {open[i], measure[i]};
        sum[0] += open[i];
        sum[1] += measure[i];
        if (bro_report_count_row(t, labels[i], v, 2) == NULL)
            return -1;
    }
    return bro_report_count_row(t, "Totalt", sum, 2) ? 0 : -1;
}

int bro_report_indicators(bro_job *job, bro_report *r, const bro_report_opts *o)
{
    (void)o;
    snprintf(r->title, sizeof(r->title), "Måleindikatorer for arbeid og aktivitet");
    bro_rpass *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    p->r = r;
    int rc = bro_rpass_run(job, p);
    if (rc == 0)
        rc = bro_indicators_main(job, r, p);
    if (rc == 0)
        rc = bro_indicators_hours(job, r);
    if (rc == 0 &&
        (bro_indicators_breakdown(r, "by_age", "Etter aldersgruppe", "Alder", bro_rpass_age_labels,
                                  p->age_open, p->age_measure, BRO_RPASS_AGES) < 0 ||
         bro_indicators_breakdown(r, "by_income", "Etter inntektsgrunnlag", "Inntektsgrunnlag",
                                  bro_rpass_income_labels, p->income_open, p->income_measure,
                                  BRO_RPASS_INCOMES) < 0))
        rc = bro_job_fail(job, BRO_E_NOMEM, "out of memory");
    bro_rpass_free(p);
    free(p);
    return rc;
}
