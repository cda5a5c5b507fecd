/* One pass over a tenant's status history and candidates, shared by the pipeline and the
 * indicators reports: each candidate's status and measure at the period's end, its placement
 * then, the moves during the period, month by month, and the length of every status spell that
 * ended in the period. The rows come through cursors in chunks, so a caseload of 100,000 with a
 * million changes never sits in memory at once. */
#ifndef BRO_WORKER_REPORTS_PASS_H
#define BRO_WORKER_REPORTS_PASS_H

#include "reports/report.h"

#define BRO_RPASS_STATUSES 8   /* henvist .. venter, as bro_rpass_status_names */
#define BRO_RPASS_MEASURES 5   /* vta .. aktivitet, as bro_rpass_measure_names */
#define BRO_RPASS_MONTHS   120 /* months a period may span */
#define BRO_RPASS_ROLES    16  /* distinct placement roles counted by name */
#define BRO_RPASS_AGES     8   /* age bands */
#define BRO_RPASS_INCOMES  7   /* income bases, unknown included */

extern const char *const bro_rpass_status_names[BRO_RPASS_STATUSES];
extern const char *const bro_rpass_status_labels[BRO_RPASS_STATUSES];
extern const char *const bro_rpass_measure_names[BRO_RPASS_MEASURES];
extern const char *const bro_rpass_measure_labels[BRO_RPASS_MEASURES];
extern const char *const bro_rpass_age_labels[BRO_RPASS_AGES];
extern const char *const bro_rpass_income_names[BRO_RPASS_INCOMES];
extern const char *const bro_rpass_income_labels[BRO_RPASS_INCOMES];

/* Durations of one status's spells, in days. */
typedef struct bro_rpass_spells {
    float *days; /* owned */
    size_t n, cap;
} bro_rpass_spells;

/* A candidate as the detail rows show it (no name: ref, status, measure, since). */
typedef struct bro_rpass_row {
    char ref[32];
    int status, measure; /* indexes, -1 for none */
    char role[64];       /* the placement's role, "" for none */
    int64_t since;       /* unix seconds of the last change before the end */
} bro_rpass_row;

/* Where each candidate's detail row goes instead of rows, when set: row is the pass's own and
 * only valid during the call (copy what is kept). Returns 0, or -1 with err set, which ends the
 * pass with the job failed with err. */
typedef int (*bro_rpass_sink)(void *arg, const bro_rpass_row *row, bro_err *err);

typedef struct bro_rpass {
    const bro_report *r;                       /* the period */
    int nmonths;                               /* months from the period's first to its last */
    int64_t month_start[BRO_RPASS_MONTHS + 1]; /* unix seconds; [nmonths] is the end */
    long long candidates;                      /* with a status at the end */
    long long status_end[BRO_RPASS_STATUSES];
    long long measure_end[BRO_RPASS_MEASURES]; /* of those in i_tiltak without a role */
    long long measure_all[BRO_RPASS_MEASURES]; /* of everyone in i_tiltak */
    char roles[BRO_RPASS_ROLES][64];           /* roles of placements of those in i_tiltak */
    long long role_end[BRO_RPASS_ROLES];
    int nroles;
    long long flows[BRO_RPASS_STATUSES + 1][BRO_RPASS_STATUSES]; /* [from (+1: new)][to] */
    long long month_new[BRO_RPASS_MONTHS], month_in[BRO_RPASS_MONTHS],
        month_closed[BRO_RPASS_MONTHS], month_open[BRO_RPASS_MONTHS];
    bro_rpass_spells spells[BRO_RPASS_STATUSES];
    /* indicators */
    long long municipal, vtao_decision, vtao_no_decision, vta_lmc;
    long long age_open[BRO_RPASS_AGES], age_measure[BRO_RPASS_AGES];
    long long income_open[BRO_RPASS_INCOMES], income_measure[BRO_RPASS_INCOMES];
    /* detail */
    int want_rows;       /* 1: a row per candidate, in rows or to sink */
    bro_rpass_row *rows; /* owned; empty when sink is set */
    size_t nrows, caprows;
    bro_rpass_sink sink; /* NULL: the rows are kept in rows */
    void *sink_arg;      /* sink's first argument, the caller's */
} bro_rpass;

/* Runs the pass for r's period in the job's transaction, which must be REPEATABLE READ
 * (bro_job_step_repeatable): the candidates are read on job->db, the history on a second
 * connection the pass opens and closes itself (reader.h), under the job's exported snapshot.
 * Returns 0, or -1 with the job failed. */
int bro_rpass_run(bro_job *job, bro_rpass *p) BRO_MUST_USE;
void bro_rpass_free(bro_rpass *p);

/* The index of name in names (n of them), or -1. */
int bro_rpass_index(const char *const *names, int n, const char *name);

/* Runs sql (one row, one column per value wanted) and reads its integers into out[0..n-1].
 * Returns 0, or -1 with the job failed. */
int bro_rpass_counts(bro_job *job, const char *sql, int np, const char *const *p, long long *out,
                     int n) BRO_MUST_USE;

#endif
