/* The xlsx format with libxlsxwriter: one sheet per table, the heading row bold and frozen,
 * column widths from the longest value, counts and decimals as numbers, dates as dates, and
 * constant_memory so a sheet of 100,000 rows costs a row's memory, not the sheet's. The library
 * writes a file; it goes to a private temporary file that is read back and removed. */
#include "reports/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#define BRO_XLSX_SHEET_CHARS 31    /* what Excel allows in a sheet name */
#define BRO_XLSX_WIDTH_MAX   60    /* widest column, in characters */
#define BRO_XLSX_EXCEL_EPOCH 25569 /* days from Excel's day 0 (1899-12-30) to 1970-01-01 */

typedef struct bro_xlsx_formats {
    lxw_format *head;  /* the heading row */
    lxw_format *date;  /* dates */
    lxw_format *dec;   /* decimals, one place */
    lxw_format *title; /* a note's row */
} bro_xlsx_formats;

/* Characters (not bytes) in a UTF-8 string. */
static size_t bro_xlsx_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Copies title into out without []:*?/\ and cut at max characters (a character boundary). */
static size_t bro_xlsx_cut(const char *title, size_t max, char *out, size_t n)
{
    size_t o = 0, chars = 0;
    for (const char *s = title; *s && o + 1 < n; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch & 0xC0) != 0x80 && ++chars > max)
            break;
        out[o++] = strchr("[]:*?/\\", ch) ? ' ' : (char)ch;
    }
    out[o] = '\0';
    return o;
}

/* A sheet name from the title: what Excel allows (31 characters, none of []:*?/\), and unique
 * in the workbook (cut shorter, with the table's number, when another sheet has it). */
static void bro_xlsx_sheet_name(lxw_workbook *wb, const char *title, int index, char *out, size_t n)
{
    bro_xlsx_cut(title, BRO_XLSX_SHEET_CHARS, out, n);
    if (workbook_get_worksheet_by_name(wb, out) == NULL)
        return;
    size_t o = bro_xlsx_cut(title, BRO_XLSX_SHEET_CHARS - 4, out, n - 5);
    snprintf(out + o, n - o, " %d", index + 1);
}

/* Sets each column's width from its heading and values (constant_memory writes rows at once,
 * so the widths are found before). */
static void bro_xlsx_widths(lxw_worksheet *ws, const bro_rtable *t)
{
    for (int c = 0; c < t->ncols; c++) {
        size_t w = bro_xlsx_chars(t->cols[c].label) + 2;
        for (int i = 0; i < t->nrows; i++) {
            const bro_rcell *cell = &t->cells[(size_t)i * (size_t)t->ncols + (size_t)c];
            size_t len = cell->type == BRO_RCELL_TEXT   ? bro_xlsx_chars(cell->text)
                         : cell->type == BRO_RCELL_DATE ? 10
                                                        : 8;
            if (len + 2 > w)
                w = len + 2;
        }
        worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c,
                             (double)(w > BRO_XLSX_WIDTH_MAX ? BRO_XLSX_WIDTH_MAX : w), NULL);
    }
}

static lxw_error bro_xlsx_cell(lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const bro_rcell *cell,
                               const bro_xlsx_formats *f)
{
    switch (cell->type) {
    case BRO_RCELL_TEXT:
        return worksheet_write_string(ws, r, c, cell->text, NULL);
    case BRO_RCELL_INT:
        return worksheet_write_number(ws, r, c, cell->num, NULL);
    case BRO_RCELL_NUM:
        return worksheet_write_number(ws, r, c, cell->num, f->dec);
    case BRO_RCELL_DATE:
        return worksheet_write_number(ws, r, c, cell->num + BRO_XLSX_EXCEL_EPOCH, f->date);
    case BRO_RCELL_HIDDEN:
        return worksheet_write_string(ws, r, c, ":", NULL);
    default:
        return LXW_NO_ERROR;
    }
}

static lxw_error bro_xlsx_sheet(lxw_workbook *wb, const bro_rtable *t, int index,
                                const bro_xlsx_formats *f)
{
    char name[64];
    bro_xlsx_sheet_name(wb, t->title, index, name, sizeof(name));
    lxw_worksheet *ws = workbook_add_worksheet(wb, name);
    if (ws == NULL)
        return LXW_ERROR_MEMORY_MALLOC_FAILED;
    bro_xlsx_widths(ws, t);
    worksheet_freeze_panes(ws, 1, 0);
    lxw_error e = LXW_NO_ERROR;
    for (int c = 0; c < t->ncols && e == LXW_NO_ERROR; c++)
        e = worksheet_write_string(ws, 0, (lxw_col_t)c, t->cols[c].label, f->head);
    for (int i = 0; i < t->nrows && e == LXW_NO_ERROR; i++) {
        const bro_rcell *row = &t->cells[(size_t)i * (size_t)t->ncols];
        for (int c = 0; c < t->ncols && e == LXW_NO_ERROR; c++)
            e = bro_xlsx_cell(ws, (lxw_row_t)(i + 1), (lxw_col_t)c, &row[c], f);
    }
    if (e == LXW_NO_ERROR && t->note) /* under the table, two rows down */
        e = worksheet_write_string(ws, (lxw_row_t)(t->nrows + 2), 0, t->note, f->title);
    return e;
}

/* Reads the finished file into out. */
static int bro_xlsx_slurp(const char *path, bro_buf *out, bro_err *err)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return bro_err_set(err, BRO_E_INTERNAL, "xlsx: the file cannot be read back");
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        bro_buf_add(out, chunk, n);
    int bad = ferror(fp);
    fclose(fp);
    if (bad || out->failed)
        return bro_err_set(err, out->failed ? BRO_E_NOMEM : BRO_E_INTERNAL, "xlsx: read back");
    return 0;
}

int bro_render_xlsx(const bro_report *r, bro_buf *out, bro_err *err)
{
    const char *dir = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
    char path[512];
    snprintf(path, sizeof(path), "%s/bro-report-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        return bro_err_set(err, BRO_E_INTERNAL, "xlsx: no temporary file");
    close(fd);
    lxw_workbook_options opts = {.constant_memory = LXW_TRUE, .tmpdir = (char *)dir};
    lxw_workbook *wb = workbook_new_opt(path, &opts);
    if (wb == NULL) {
        unlink(path);
        return bro_err_set(err, BRO_E_NOMEM, "xlsx: no workbook");
    }
    workbook_set_properties(wb, &(lxw_doc_properties){.title = (char *)r->title});
    bro_xlsx_formats f = {workbook_add_format(wb), workbook_add_format(wb), workbook_add_format(wb),
                          workbook_add_format(wb)};
    format_set_bold(f.head);
    format_set_bottom(f.head, LXW_BORDER_THIN);
    format_set_num_format(f.date, "dd.mm.yyyy");
    format_set_num_format(f.dec, "0.0");
    format_set_italic(f.title);
    lxw_error e = LXW_NO_ERROR;
    for (int i = 0; i < r->ntables && e == LXW_NO_ERROR; i++)
        e = bro_xlsx_sheet(wb, r->tables[i], i, &f);
    lxw_error closed = workbook_close(wb);
    int rc = 0;
    if (e != LXW_NO_ERROR || closed != LXW_NO_ERROR)
        rc = bro_err_set(err, BRO_E_INTERNAL, "xlsx: %s",
                         lxw_strerror(e != LXW_NO_ERROR ? e : closed));
    else
        rc = bro_xlsx_slurp(path, out, err);
    unlink(path);
    return rc;
}
