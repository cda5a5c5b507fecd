/* The text formats: json (the tables with typed columns, rows as objects keyed by column) and
 * csv (RFC 4180: CRLF, quotes doubled, UTF-8 with a byte order mark so Excel shows æøå; every
 * table as its title row, heading row and rows, all records of the same width). */
#include "reports/report.h"

#include <stdio.h>
#include <string.h>

/* ---- json ---------------------------------------------------------------------------------- */

static void bro_json_str(bro_buf *b, const char *s)
{
    bro_buf_add(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        bro_buf_add(b, run, (size_t)(s - run));
        char esc[8];
        if (ch == '"' || ch == '\\')
            snprintf(esc, sizeof(esc), "\\%c", ch);
        else if (ch == '\n')
            snprintf(esc, sizeof(esc), "\\n");
        else
            snprintf(esc, sizeof(esc), "\\u%04x", ch);
        bro_buf_str(b, esc);
        run = s + 1;
    }
    bro_buf_add(b, run, (size_t)(s - run));
    bro_buf_add(b, "\"", 1);
}

static const char *bro_json_type(unsigned char type)
{
    switch (type) {
    case BRO_RCELL_INT:
        return "integer";
    case BRO_RCELL_NUM:
        return "number";
    case BRO_RCELL_DATE:
        return "date";
    default:
        return "string";
    }
}

static void bro_json_cell(bro_buf *b, const bro_rcell *c)
{
    char text[64];
    switch (c->type) {
    case BRO_RCELL_TEXT:
        bro_json_str(b, c->text);
        break;
    case BRO_RCELL_INT:
        bro_rcell_format(c, 0, text, sizeof(text));
        bro_buf_str(b, text);
        break;
    case BRO_RCELL_NUM: /* full precision: json is read by programs, not people */
        snprintf(text, sizeof(text), "%.10g", c->num);
        bro_buf_str(b, text);
        break;
    case BRO_RCELL_DATE:
        bro_rcell_format(c, 0, text, sizeof(text));
        bro_json_str(b, text);
        break;
    default: /* empty or hidden */
        bro_buf_str(b, "null");
    }
}

static void bro_json_table(bro_buf *b, const bro_rtable *t)
{
    bro_buf_str(b, "{\"name\":");
    bro_json_str(b, t->name);
    bro_buf_str(b, ",\"title\":");
    bro_json_str(b, t->title);
    if (t->note) {
        bro_buf_str(b, ",\"note\":");
        bro_json_str(b, t->note);
    }
    bro_buf_printf(b, ",\"hidden_cells\":%d,\"columns\":[", t->hidden);
    for (int c = 0; c < t->ncols; c++) {
        bro_buf_str(b, c ? ",{\"key\":" : "{\"key\":");
        bro_json_str(b, t->cols[c].key);
        bro_buf_str(b, ",\"label\":");
        bro_json_str(b, t->cols[c].label);
        bro_buf_printf(b, ",\"type\":\"%s\"}", bro_json_type(t->cols[c].type));
    }
    bro_buf_str(b, "],\"rows\":[");
    for (int i = 0; i < t->nrows; i++) {
        const bro_rcell *row = &t->cells[(size_t)i * (size_t)t->ncols];
        bro_buf_str(b, i ? ",{" : "{");
        for (int c = 0; c < t->ncols; c++) {
            if (c)
                bro_buf_add(b, ",", 1);
            bro_json_str(b, t->cols[c].key);
            bro_buf_add(b, ":", 1);
            bro_json_cell(b, &row[c]);
        }
        bro_buf_add(b, "}", 1);
    }
    bro_buf_str(b, "]}");
}

int bro_render_json(const bro_report *r, bro_buf *out)
{
    bro_buf_str(out, "{\"type\":");
    bro_json_str(out, r->type);
    bro_buf_str(out, ",\"title\":");
    bro_json_str(out, r->title);
    if (r->subject[0]) {
        bro_buf_str(out, ",\"subject\":");
        bro_json_str(out, r->subject);
    }
    bro_buf_printf(out, ",\"period\":{\"label\":");
    bro_json_str(out, r->period);
    bro_buf_printf(out,
                   ",\"from\":\"%s\",\"to\":\"%s\"},\"made_at\":\"%s\",\"suppressed\":%s,"
                   "\"tables\":[",
                   r->from, r->to, r->made_at, r->suppress ? "true" : "false");
    for (int i = 0; i < r->ntables; i++) {
        if (i)
            bro_buf_add(out, ",", 1);
        bro_json_table(out, r->tables[i]);
    }
    bro_buf_str(out, "]}\n");
    return out->failed ? -1 : 0;
}

/* ---- csv ----------------------------------------------------------------------------------- */

static void bro_csv_field(bro_buf *b, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        bro_buf_str(b, s);
        return;
    }
    bro_buf_add(b, "\"", 1);
    for (const char *q; (q = strchr(s, '"')) != NULL; s = q + 1) {
        bro_buf_add(b, s, (size_t)(q - s));
        bro_buf_add(b, "\"\"", 2);
    }
    bro_buf_str(b, s);
    bro_buf_add(b, "\"", 1);
}

/* One record of width fields: the given texts, then empty fields. */
static void bro_csv_record(bro_buf *b, const char *const *texts, int n, int width)
{
    for (int i = 0; i < width; i++) {
        if (i)
            bro_buf_add(b, ",", 1);
        if (i < n && texts[i])
            bro_csv_field(b, texts[i]);
    }
    bro_buf_add(b, "\r\n", 2);
}

static void bro_csv_table(bro_buf *b, const bro_rtable *t, int width)
{
    const char *texts[BRO_REPORT_COLS_MAX];
    texts[0] = t->title;
    bro_csv_record(b, texts, 1, width);
    for (int c = 0; c < t->ncols; c++)
        texts[c] = t->cols[c].label;
    bro_csv_record(b, texts, t->ncols, width);
    char cells[BRO_REPORT_COLS_MAX][64];
    for (int i = 0; i < t->nrows; i++) {
        const bro_rcell *row = &t->cells[(size_t)i * (size_t)t->ncols];
        for (int c = 0; c < t->ncols; c++) {
            if (row[c].type == BRO_RCELL_TEXT) {
                texts[c] = row[c].text;
            } else {
                bro_rcell_format(&row[c], 0, cells[c], sizeof(cells[c]));
                texts[c] = cells[c];
            }
        }
        bro_csv_record(b, texts, t->ncols, width);
    }
}

int bro_render_csv(const bro_report *r, bro_buf *out)
{
    int width = 2;
    for (int i = 0; i < r->ntables; i++)
        if (r->tables[i]->ncols > width)
            width = r->tables[i]->ncols;
    bro_buf_add(out, "\xEF\xBB\xBF", 3);
    const char *head[2] = {r->title, r->subject[0] ? r->subject : NULL};
    bro_csv_record(out, head, 2, width);
    char period[80];
    snprintf(period, sizeof(period), "%s til %s", r->from, r->to);
    const char *line[2] = {"Periode", period};
    bro_csv_record(out, line, 2, width);
    for (int i = 0; i < r->ntables; i++) {
        bro_csv_record(out, NULL, 0, width);
        bro_csv_table(out, r->tables[i], width);
    }
    if (r->suppress) {
        const char *note[1] = {"Tall fra 1 til 3, og tall de kan regnes ut fra, er skjult (:)."};
        bro_csv_record(out, NULL, 0, width);
        bro_csv_record(out, note, 1, width);
    }
    return out->failed ? -1 : 0;
}
