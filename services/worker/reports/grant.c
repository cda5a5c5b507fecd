/* The grant report to NAV for one project (tiltak): the form's fields in the form's order (seed
 * 002), the Social Services Act paragraphs as a multiple choice, the narrative the coordinator
 * wrote, and the quantitative part counted from the candidates taking part. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/pass.h"

/* $1 project id. */
static const char *bro_grant_sql_project =
    "SELECT name, coalesce(nav_office, ''), CASE WHEN start_date IS NOT NULL"
    " THEN to_char(start_date, 'DD.MM.YYYY') ELSE coalesce(start_year::text, '') END,"
    " report_kind, coalesce(target_group, ''), coalesce(description, ''),"
    " coalesce(develops, ''), array_to_string(paragraphs, ','),"
    " coalesce(CASE interest_created WHEN true THEN 'Ja' WHEN false THEN 'Nei' END, ''),"
    " coalesce(CASE tried_elsewhere WHEN true THEN 'Ja' WHEN false THEN 'Nei' END, ''),"
    " coalesce(cooperation, ''), coalesce(achieved, ''), coalesce(goal_examination, ''),"
    " coalesce(challenges, ''), coalesce(success_factors, ''),"
    " coalesce(initcap(continuation), ''), economy_only FROM projects WHERE id = $1::uuid";

/* $1 project id, $2 first day, $3 last day, $4 start and $5 end (unix seconds). The
 * participants in the period, new ones, those who moved into a measure (work or activity) in
 * the period, in total and by measure, and where they stood at the end. */
static const char *bro_grant_sql_counts =
    "WITH p AS (SELECT candidate_id, joined_on FROM project_participants"
    " WHERE project_id = $1::uuid AND joined_on <= $3::date"
    " AND (left_on IS NULL OR left_on >= $2::date)),"
    " mv AS (SELECT DISTINCT h.candidate_id, h.measure FROM status_history h"
    " JOIN p USING (candidate_id) WHERE h.to_status = 'i_tiltak'"
    " AND h.at >= to_timestamp($4) AND h.at < to_timestamp($5)),"
    " last AS (SELECT DISTINCT ON (h.candidate_id) h.candidate_id, h.to_status FROM"
    " status_history h JOIN p USING (candidate_id) WHERE h.at < to_timestamp($5)"
    " ORDER BY h.candidate_id, h.id DESC)"
    " SELECT (SELECT count(*) FROM p), (SELECT count(*) FROM p WHERE joined_on >= $2::date),"
    " (SELECT count(DISTINCT candidate_id) FROM mv),"
    " (SELECT count(*) FROM last WHERE to_status = 'i_tiltak'),"
    " (SELECT count(*) FROM last WHERE to_status = 'avsluttet'),"
    " (SELECT count(*) FROM mv WHERE measure = 'vta'),"
    " (SELECT count(*) FROM mv WHERE measure = 'vta_o'),"
    " (SELECT count(*) FROM mv WHERE measure = 'vto'),"
    " (SELECT count(*) FROM mv WHERE measure = 'ordinaert_arbeid'),"
    " (SELECT count(*) FROM mv WHERE measure = 'aktivitet')";

/* The form's fields in its order, and the column of the project query each answer is in. */
static const struct {
    const char *label;
    int col;
} bro_grant_fields[] = {
    {"Navn på tiltaket", 0},
    {"NAV-kontor", 1},
    {"Oppstart (år, eller dato om tiltaket startet i år)", 2},
    {"Statusrapport eller sluttrapport", 3},
    {"Målgruppe", 4},
    {"Beskrivelse av tiltaket", 5},
    {"Hva tiltaket utvikler", 6},
    {"Paragrafer i sosialtjenesteloven", 7},
    {"Har tiltaket skapt interesse hos andre aktører?", 8},
    {"Vil tiltaket bli prøvd ut andre steder?", 9},
    {"Samarbeid med hvilke aktører", 10},
    {"Hva er oppnådd", 11},
    {"Hvordan er måloppnåelse undersøkt", 12},
    {"Hovedutfordringer", 13},
    {"Viktigste suksessfaktorer", 14},
    {"Vil hele eller deler av tiltaket bli videreført?", 15},
};

/* The paragraphs as stored and as the form names them (a title where the law's is certain). */
static const char *const bro_grant_paragraphs[][2] = {
    {"1", "§ 1 Lovens formål"},
    {"12", "§ 12"},
    {"14", "§ 14"},
    {"15", "§ 15 Boliger til vanskeligstilte"},
    {"17", "§ 17 Opplysning, råd og veiledning"},
    {"18", "§ 18 Stønad til livsopphold"},
    {"19", "§ 19 Stønad i særlige tilfeller"},
    {"20", "§ 20 Vilkår"},
    {"20a", "§ 20 a Vilkår om aktivitet for stønadsmottakere under 30 år"},
    {"27", "§ 27 Midlertidig botilbud"},
    {"28_33", "§ 28/§ 33 Individuell plan"},
    {"29_40", "§ 29–§ 40 Kvalifiseringsprogram"},
    {"42", "§ 42"},
};
#define BRO_GRANT_NPARAGRAPHS (sizeof(bro_grant_paragraphs) / sizeof(bro_grant_paragraphs[0]))

/* "§ 12, § 14" from the stored "12,14"; "" when none. */
static void bro_grant_paragraph_list(const char *stored, char *out, size_t n)
{
    out[0] = '\0';
    char copy[128];
    snprintf(copy, sizeof(copy), "%s", stored);
    char *save = NULL;
    for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        size_t used = strlen(out);
        snprintf(out + used, n - used, "%s§ %s", used ? ", " : "",
                 strcmp(p, "28_33") == 0   ? "28/§ 33"
                 : strcmp(p, "29_40") == 0 ? "29–§ 40"
                 : strcmp(p, "20a") == 0   ? "20 a"
                                           : p);
    }
}

static int bro_grant_form(bro_report *r, const PGresult *res)
{
    static const bro_rcol cols[] = {{"field", "Felt", BRO_RCELL_TEXT},
                                    {"answer", "Svar", BRO_RCELL_TEXT}};
    bro_rtable *t = bro_report_table(r, "form", "Rapportskjema", NULL, cols, 2);
    if (t == NULL)
        return -1;
    for (size_t i = 0; i < sizeof(bro_grant_fields) / sizeof(bro_grant_fields[0]); i++) {
        const char *v = PQgetvalue(res, 0, bro_grant_fields[i].col);
        char text[400];
        if (bro_grant_fields[i].col == 3)
            v = strcmp(v, "slutt") == 0 ? "Sluttrapport" : "Statusrapport";
        if (bro_grant_fields[i].col == 7) {
            bro_grant_paragraph_list(v, text, sizeof(text));
            v = text;
        }
        bro_rcell *row = bro_report_row(t);
        if (row == NULL || bro_rcell_text(&row[0], bro_grant_fields[i].label) < 0 ||
            bro_rcell_text(&row[1], v) < 0)
            return -1;
    }
    if (PQgetvalue(res, 0, 16)[0] == 't') {
        bro_rcell *row = bro_report_row(t);
        if (row == NULL || bro_rcell_text(&row[0], "Merknad") < 0 ||
            bro_rcell_text(&row[1], "Kun økonomirapport er levert i år.") < 0)
            return -1;
    }
    return 0;
}

/* The multiple choice: every paragraph, marked where it applies. */
static int bro_grant_choice(bro_report *r, const char *stored)
{
    static const bro_rcol cols[] = {{"paragraph", "Paragraf", BRO_RCELL_TEXT},
                                    {"applies", "Gjelder", BRO_RCELL_TEXT}};
    bro_rtable *t = bro_report_table(r, "paragraphs", "Paragrafer i sosialtjenesteloven",
                                     "Flere kan gjelde.", cols, 2);
    if (t == NULL)
        return -1;
    char list[160];
    snprintf(list, sizeof(list), ",%s,", stored);
    for (size_t i = 0; i < BRO_GRANT_NPARAGRAPHS; i++) {
        char key[16];
        snprintf(key, sizeof(key), ",%s,", bro_grant_paragraphs[i][0]);
        bro_rcell *row = bro_report_row(t);
        if (row == NULL || bro_rcell_text(&row[0], bro_grant_paragraphs[i][1]) < 0 ||
            bro_rcell_text(&row[1], strstr(list, key) ? "Ja" : "Nei") < 0)
            return -1;
    }
    return 0;
}

static int bro_grant_numbers(bro_report *r, const long long *v)
{
    static const bro_rcol cols[] = {{"measure", "Mål", BRO_RCELL_TEXT},
                                    {"count", "Antall", BRO_RCELL_INT}};
    bro_rtable *t = bro_report_table(r, "participants", "Deltakere og overganger",
                                     "Deltakere i tiltaket i perioden, og overganger til arbeid "
                                     "eller aktivitet (status «I tiltak») i perioden.",
                                     cols, 2);
    bro_rtable *m =
        bro_report_table(r, "transitions", "Overganger etter tiltak",
                         "Deltakere som gikk over til hvert tiltak i perioden.", cols, 2);
    if (t == NULL || m == NULL)
        return -1;
    t->chart = m->chart = BRO_RCHART_BAR;
    t->chart_from = m->chart_from = 1;
    t->chart_to = m->chart_to = 2;
    t->suppressible = m->suppressible = 1;
    static const char *const labels[] = {
        "Deltakere i perioden", "Nye deltakere i perioden", "Overganger til arbeid eller aktivitet",
        "I tiltak ved periodens slutt", "Avsluttet ved periodens slutt"};
    for (int i = 0; i < 5; i++)
        if (bro_report_count_row(t, labels[i], &v[i], 1) == NULL)
            return -1;
    for (int i = 0; i < BRO_RPASS_MEASURES; i++)
        if (bro_report_count_row(m, bro_rpass_measure_labels[i], &v[5 + i], 1) == NULL)
            return -1;
    return 0;
}

int bro_report_grant(bro_job *job, bro_report *r, const bro_report_opts *o)
{
    snprintf(r->title, sizeof(r->title), "Rapport om tilskudd til NAV");
    const char *p[] = {o->project_id};
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_grant_sql_project, 1, p, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    if (PQntuples(res) != 1) {
        PQclear(res);
        bro_job_field_error(job, "project_id", "the project was deleted");
        return bro_job_check_fields(job);
    }
    snprintf(r->subject, sizeof(r->subject), "%s", PQgetvalue(res, 0, 0));
    if (strcmp(PQgetvalue(res, 0, 3), "slutt") == 0)
        snprintf(r->title, sizeof(r->title), "Sluttrapport om tilskudd til NAV");
    else
        snprintf(r->title, sizeof(r->title), "Statusrapport om tilskudd til NAV");
    int rc = bro_grant_form(r, res) < 0 || bro_grant_choice(r, PQgetvalue(res, 0, 7)) < 0
                 ? bro_job_fail(job, BRO_E_NOMEM, "out of memory")
                 : 0;
    PQclear(res);
    if (rc < 0)
        return -1;
    char from[24], end[24];
    snprintf(from, sizeof(from), "%lld", (long long)r->from_s);
    snprintf(end, sizeof(end), "%lld", (long long)r->end_s);
    const char *q[] = {o->project_id, r->from, r->to, from, end};
    long long v[10];
    if (bro_rpass_counts(job, bro_grant_sql_counts, 5, q, v, 10) < 0)
        return -1;
    return bro_grant_numbers(r, v) < 0 ? bro_job_fail(job, BRO_E_NOMEM, "out of memory") : 0;
}
