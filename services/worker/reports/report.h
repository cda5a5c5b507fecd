/* What a report is while it is made: a title and a list of tables of typed cells, which the
 * types (pipeline, indicators, grant, platform) fill from the data and the formats (json, csv,
 * xlsx, html) write out. Texts a reader sees are Norwegian bokmål; column keys are English. */
#ifndef BRO_WORKER_REPORTS_REPORT_H
#define BRO_WORKER_REPORTS_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "job.h"

#define BRO_REPORT_TABLES_MAX 16 /* tables in one report */
#define BRO_REPORT_COLS_MAX   16 /* columns in one table */

/* What a cell holds. */
enum {
    BRO_RCELL_EMPTY = 0, /* nothing: no value (e.g. a median of no spells) */
    BRO_RCELL_TEXT,      /* text, owned by the table */
    BRO_RCELL_INT,       /* a count or an integer */
    BRO_RCELL_NUM,       /* a decimal number */
    BRO_RCELL_DATE,      /* a date: days since 1970-01-01 in num */
    BRO_RCELL_HIDDEN,    /* a suppressed count; num keeps the value for the totals' checks */
};

/* How a table is drawn in the html format. */
enum { BRO_RCHART_NONE = 0, BRO_RCHART_BAR, BRO_RCHART_LINE };

typedef struct bro_rcell {
    unsigned char type;  /* BRO_RCELL_* */
    unsigned char owned; /* text is the table's to free (not a static label) */
    double num;          /* INT, NUM, DATE and HIDDEN */
    const char *text;    /* TEXT; NULL otherwise */
} bro_rcell;

typedef struct bro_rcol {
    const char *key;    /* machine name (json keys), static */
    const char *label;  /* Norwegian heading, static */
    unsigned char type; /* BRO_RCELL_* of its values: TEXT, INT, NUM or DATE */
} bro_rcol;

typedef struct bro_rtable {
    const char *name;  /* machine name, e.g. "caseload"; static */
    const char *title; /* Norwegian title, static */
    const char *note;  /* Norwegian explanation under the title, or NULL */
    int ncols;         /* columns used */
    bro_rcol cols[BRO_REPORT_COLS_MAX];
    int nrows, cap;   /* rows used and allocated */
    bro_rcell *cells; /* nrows * ncols, row by row; owned */
    int chart;        /* BRO_RCHART_* */
    int chart_from;   /* first column charted (label is column 0) */
    int chart_to;     /* one past the last column charted */
    int suppressible; /* counts that small-cell suppression may hide */
    int total_row;    /* 1 when the last row is the columns' total */
    int total_col;    /* index of the rows' total column, or -1 */
    int first_count;  /* first column of counts (suppression) */
    int hidden;       /* cells hidden by suppression */
} bro_rtable;

typedef struct bro_xlsx_stream bro_xlsx_stream;

typedef struct bro_report {
    const char *type;      /* "pipeline", ...; static */
    char title[160];       /* Norwegian, e.g. "Kandidater og tiltak" */
    char subject[200];     /* who or what it is about (the project's name), or "" */
    char period[32];       /* as ordered, e.g. "2026-Q2" */
    char from[11], to[11]; /* the period's first and last day, YYYY-MM-DD */
    int64_t from_s, end_s; /* the period as unix seconds, end exclusive (the day after to) */
    char made_at[24];      /* when it was made, RFC 3339 UTC */
    int suppress;          /* small counts hidden */
    int ntables;           /* tables used */
    bro_rtable *tables[BRO_REPORT_TABLES_MAX]; /* owned */
    bro_xlsx_stream *xlsx; /* the xlsx being written while the data is read, or NULL; owned */
} bro_report;

/* ---- the model (model.c) ------------------------------------------------------------------ */

/* Adds a table to r with the given columns (cols: n entries, copied); NULL when memory ran
 * out or r is full. The table belongs to r. */
bro_rtable *bro_report_table(bro_report *r, const char *name, const char *title, const char *note,
                             const bro_rcol *cols, int n);
/* Appends an empty row; returns its cells (ncols of them), or NULL when memory ran out. */
bro_rcell *bro_report_row(bro_rtable *t);
/* Room for n rows in all, so a long table grows once (-1 out of memory). */
int bro_report_reserve(bro_rtable *t, size_t n) BRO_MUST_USE;
/* Cell setters; text is copied (-1 when that copy fails). */
int bro_rcell_text(bro_rcell *c, const char *text) BRO_MUST_USE;
/* A text cell of a static string (a label), kept without a copy. */
void bro_rcell_label(bro_rcell *c, const char *label);
void bro_rcell_int(bro_rcell *c, long long v);
void bro_rcell_num(bro_rcell *c, double v);
void bro_rcell_date(bro_rcell *c, int64_t unix_s);
/* A row of one text label and counts: label then values[0..n-1] as integers. NULL on failure. */
bro_rcell *bro_report_count_row(bro_rtable *t, const char *label, const long long *values, int n);
/* Frees every table of r and its xlsx stream (r itself is the caller's); NULL is a no-op. */
void bro_report_free(bro_report *r);

/* Parses a period ("2026", "2026-Q2", "2026-05", "2026-01-01/2026-06-30") into r's period,
 * from, to, from_s and end_s. Returns 0, or -1 when it is not one. */
int bro_report_period(bro_report *r, const char *period);

/* Unix seconds of a date at 00:00 UTC (the civil calendar; no time zone is looked up). */
int64_t bro_report_epoch(int y, int m, int d);

/* A cell as text the way a reader sees it in csv and html: counts as integers, decimals with
 * one decimal (comma in html), dates as YYYY-MM-DD, hidden counts as ":". */
void bro_rcell_format(const bro_rcell *c, int html, char *out, size_t n);

/* ---- small-cell suppression (suppress.c) --------------------------------------------------- */

/* Hides the counts from 1 to 3 of every suppressible table (primary suppression), then as many
 * more (secondary) that no hidden cell can be worked out from the row and column totals: in the
 * graph whose nodes are the rows and columns (totals included) and whose edges are the hidden
 * cells, no hidden cell may be a bridge. Returns the number of cells hidden, or -1 on
 * allocation failure. */
int bro_report_suppress_table(bro_rtable *t);
int bro_report_suppress(bro_report *r);

/* ---- the formats (render_*.c); each appends the file to out, returns 0 or -1 ------------- */

int bro_render_json(const bro_report *r, bro_buf *out) BRO_MUST_USE;
int bro_render_csv(const bro_report *r, bro_buf *out) BRO_MUST_USE;
int bro_render_xlsx(const bro_report *r, bro_buf *out, bro_err *err) BRO_MUST_USE;
int bro_render_html(const bro_report *r, bro_buf *out) BRO_MUST_USE;

/* ---- an xlsx written while the data is read (render_xlsx.c) -------------------------------- */

/* Fills cells (the streamed table's columns, zeroed) from one pushed row; texts may point into
 * row, which outlives their use. arg is bro_xlsx_stream_start's. Runs on the writer's thread:
 * it may read only what does not change while the rows are pushed. */
typedef void (*bro_xlsx_row_cells)(const void *row, bro_rcell *cells, const void *arg);

/* Starts r's xlsx while its tables are still empty: a sheet for each table of r, in r's order
 * (so every table must exist now), and a thread that writes table streamed's rows as they are
 * pushed (row_size bytes each, made cells by cells). Until bro_xlsx_stream_end the thread alone
 * touches the workbook. Returns the stream (free with bro_xlsx_stream_free, or put it in
 * r->xlsx, which bro_render_xlsx then finishes and bro_report_free frees), or NULL with err
 * set and no file left. */
bro_xlsx_stream *bro_xlsx_stream_start(const bro_report *r, int streamed, size_t row_size,
                                       bro_xlsx_row_cells cells, const void *arg, bro_err *err);
/* Copies row (row_size bytes) for the writer, waiting while it is behind by the stream's
 * bound. Returns 0, or -1 with err set when the writer failed (the stream is then only freed). */
int bro_xlsx_stream_push(bro_xlsx_stream *s, const void *row, bro_err *err) BRO_MUST_USE;
/* Writes what is left, stops the thread and sets the streamed sheet's widths; the other tables
 * may then be filled, and bro_render_xlsx writes them and closes the file. Returns 0, or -1
 * with err set. */
int bro_xlsx_stream_end(bro_xlsx_stream *s, bro_err *err) BRO_MUST_USE;
/* Stops the thread without writing more, and discards the file. NULL is a no-op. */
void bro_xlsx_stream_free(bro_xlsx_stream *s);

/* ---- the types: each fills r from the data inside the job's transaction ------------------- */

/* Options of a tenant report as ordered. */
typedef struct bro_report_opts {
    int detail;          /* pipeline: one row per candidate */
    int xlsx;            /* the format is xlsx: the pipeline streams its detail (r->xlsx) */
    char project_id[40]; /* grant: the project */
} bro_report_opts;

int bro_report_pipeline(bro_job *job, bro_report *r, const bro_report_opts *o) BRO_MUST_USE;
int bro_report_indicators(bro_job *job, bro_report *r, const bro_report_opts *o) BRO_MUST_USE;
int bro_report_grant(bro_job *job, bro_report *r, const bro_report_opts *o) BRO_MUST_USE;
/* The platform report: one step per tenant (bro_job_step_in), then the totals. */
int bro_report_platform(bro_job *job, bro_report *r) BRO_MUST_USE;

#endif
