/* The report model: tables of typed cells, the period a report covers, and the byte buffer the
 * formats write into. Nothing here touches the database. */
#include "reports/report.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- tables -------------------------------------------------------------------------------- */

bro_rtable *bro_report_table(bro_report *r, const char *name, const char *title, const char *note,
                             const bro_rcol *cols, int n)
{
    if (r->ntables >= BRO_REPORT_TABLES_MAX || n < 1 || n > BRO_REPORT_COLS_MAX)
        return NULL;
    bro_rtable *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->name = name;
    t->title = title;
    t->note = note;
    t->ncols = n;
    memcpy(t->cols, cols, sizeof(cols[0]) * (size_t)n);
    t->total_col = -1;
    t->first_count = 1;
    r->tables[r->ntables++] = t;
    return t;
}

int bro_report_reserve(bro_rtable *t, size_t n)
{
    if (n <= (size_t)t->cap)
        return 0;
    if (n > INT_MAX)
        return -1;
    bro_rcell *cells = realloc(t->cells, sizeof(*cells) * n * (size_t)t->ncols);
    if (cells == NULL)
        return -1;
    t->cells = cells;
    t->cap = (int)n;
    return 0;
}

bro_rcell *bro_report_row(bro_rtable *t)
{
    if (t->nrows == t->cap && bro_report_reserve(t, t->cap ? (size_t)t->cap * 2 : 16) < 0)
        return NULL;
    bro_rcell *row = &t->cells[(size_t)t->nrows++ * (size_t)t->ncols];
    memset(row, 0, sizeof(*row) * (size_t)t->ncols);
    return row;
}

static void bro_rcell_clear(bro_rcell *c)
{
    if (c->owned)
        free((char *)c->text);
    c->text = NULL;
    c->owned = 0;
}

int bro_rcell_text(bro_rcell *c, const char *text)
{
    bro_rcell_clear(c);
    c->text = strdup(text ? text : "");
    c->owned = c->text != NULL;
    c->type = c->text ? BRO_RCELL_TEXT : BRO_RCELL_EMPTY;
    return c->text ? 0 : -1;
}

void bro_rcell_label(bro_rcell *c, const char *label)
{
    bro_rcell_clear(c);
    c->text = label;
    c->type = BRO_RCELL_TEXT;
}

void bro_rcell_int(bro_rcell *c, long long v)
{
    c->type = BRO_RCELL_INT;
    c->num = (double)v;
}

void bro_rcell_num(bro_rcell *c, double v)
{
    c->type = BRO_RCELL_NUM;
    c->num = v;
}

void bro_rcell_date(bro_rcell *c, int64_t unix_s)
{
    c->type = BRO_RCELL_DATE;
    c->num = (double)(unix_s >= 0 ? unix_s / 86400 : -((-unix_s + 86399) / 86400));
}

bro_rcell *bro_report_count_row(bro_rtable *t, const char *label, const long long *values, int n)
{
    bro_rcell *row = bro_report_row(t);
    if (row == NULL || bro_rcell_text(&row[0], label) < 0)
        return NULL;
    for (int i = 0; i < n && i + 1 < t->ncols; i++)
        bro_rcell_int(&row[i + 1], values[i]);
    return row;
}

void bro_report_free(bro_report *r)
{
    if (r == NULL)
        return;
    bro_xlsx_stream_free(r->xlsx); /* first: its thread reads the tables */
    r->xlsx = NULL;
    for (int i = 0; i < r->ntables; i++) {
        bro_rtable *t = r->tables[i];
        for (size_t k = 0; k < (size_t)t->nrows * (size_t)t->ncols; k++)
            bro_rcell_clear(&t->cells[k]);
        free(t->cells);
        free(t);
    }
    r->ntables = 0;
}

/* ---- the period ---------------------------------------------------------------------------- */

static int bro_report_days_in(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

int64_t bro_report_epoch(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (era * 146097 + doe - 719468) * 86400;
}

static int bro_report_date(const char *s, int *y, int *m, int *d)
{
    char tail;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", y, m, d, &tail) != 3 || s[4] != '-' ||
        s[7] != '-' || *y < 1990 || *y > 2200 || *m < 1 || *m > 12 || *d < 1 ||
        *d > bro_report_days_in(*y, *m))
        return -1;
    return 0;
}

int bro_report_period(bro_report *r, const char *p)
{
    int y1, m1 = 1, d1 = 1, y2, m2 = 12, d2 = 31, q;
    char tail, a[16], b[16];
    size_t n = strlen(p);
    if (n == 4 && sscanf(p, "%4d%c", &y1, &tail) == 1 && y1 >= 1990 && y1 <= 2200) {
        y2 = y1;
    } else if (n == 7 && p[4] == '-' && p[5] == 'Q' && sscanf(p, "%4d-Q%1d", &y1, &q) == 2 &&
               q >= 1 && q <= 4 && y1 >= 1990 && y1 <= 2200) {
        y2 = y1;
        m1 = 3 * q - 2;
        m2 = 3 * q;
        d2 = bro_report_days_in(y2, m2);
    } else if (n == 7 && p[4] == '-' && sscanf(p, "%4d-%2d%c", &y1, &m1, &tail) == 2 && m1 >= 1 &&
               m1 <= 12 && y1 >= 1990 && y1 <= 2200) {
        y2 = y1;
        m2 = m1;
        d2 = bro_report_days_in(y2, m2);
    } else if (n == 21 && p[10] == '/') {
        memcpy(a, p, 10);
        a[10] = '\0';
        memcpy(b, p + 11, 10);
        b[10] = '\0';
        if (bro_report_date(a, &y1, &m1, &d1) < 0 || bro_report_date(b, &y2, &m2, &d2) < 0)
            return -1;
    } else {
        return -1;
    }
    r->from_s = bro_report_epoch(y1, m1, d1);
    r->end_s = bro_report_epoch(y2, m2, d2) + 86400;
    if (r->end_s <= r->from_s)
        return -1;
    snprintf(r->period, sizeof(r->period), "%s", p);
    snprintf(r->from, sizeof(r->from), "%04d-%02d-%02d", y1, m1, d1);
    snprintf(r->to, sizeof(r->to), "%04d-%02d-%02d", y2, m2, d2);
    return 0;
}

/* ---- the output buffer --------------------------------------------------------------------- */

void bro_rcell_format(const bro_rcell *c, int html, char *out, size_t n)
{
    switch (c->type) {
    case BRO_RCELL_TEXT:
        snprintf(out, n, "%s", c->text);
        break;
    case BRO_RCELL_INT:
        snprintf(out, n, "%lld", (long long)c->num);
        break;
    case BRO_RCELL_NUM:
        snprintf(out, n, "%.1f", c->num);
        if (html && strchr(out, '.'))
            *strchr(out, '.') = ',';
        break;
    case BRO_RCELL_DATE: {
        time_t t = (time_t)c->num * 86400;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(out, n, "%Y-%m-%d", &tm);
        break;
    }
    case BRO_RCELL_HIDDEN:
        snprintf(out, n, ":");
        break;
    default:
        if (n)
            out[0] = '\0';
    }
}
