/* The xlsx format with libxlsxwriter: one sheet per table, the heading row bold and frozen,
 * column widths from the longest value, counts and decimals as numbers, dates as dates, and
 * constant_memory so a sheet of 100,000 rows costs a row's memory, not the sheet's. The library
 * writes a file; it goes to a private temporary file that is read back and removed. One table's
 * rows may be streamed: written by a thread of the file's own while the data is still read
 * (bro_xlsx_stream_*), the other tables after. */
#include "reports/report.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#define BRO_XLSX_SHEET_CHARS 31    /* what Excel allows in a sheet name */
#define BRO_XLSX_WIDTH_MAX   60    /* widest column, in characters */
#define BRO_XLSX_EXCEL_EPOCH 25569 /* days from Excel's day 0 (1899-12-30) to 1970-01-01 */
#define BRO_XLSX_BATCH       2048  /* streamed rows handed to the writer at once */
#define BRO_XLSX_BATCHES     4     /* batches a stream holds: filled, handed over or written */

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

/* The characters a cell takes in its column. */
static size_t bro_xlsx_width(const bro_rcell *cell)
{
    return cell->type == BRO_RCELL_TEXT   ? bro_xlsx_chars(cell->text)
           : cell->type == BRO_RCELL_DATE ? 10
                                          : 8;
}

/* Sets the columns' widths: w[c] characters, at most BRO_XLSX_WIDTH_MAX. The <cols> element is
 * made when the workbook closes, so this may come after the rows, even in constant_memory. */
static void bro_xlsx_set_widths(lxw_worksheet *ws, const size_t *w, int ncols)
{
    for (int c = 0; c < ncols; c++)
        worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c,
                             (double)(w[c] > BRO_XLSX_WIDTH_MAX ? BRO_XLSX_WIDTH_MAX : w[c]), NULL);
}

/* Each column's width from its heading and values, two characters more than the longest. */
static void bro_xlsx_widths(lxw_worksheet *ws, const bro_rtable *t)
{
    size_t w[BRO_REPORT_COLS_MAX];
    for (int c = 0; c < t->ncols; c++) {
        w[c] = bro_xlsx_chars(t->cols[c].label) + 2;
        for (int i = 0; i < t->nrows; i++) {
            size_t len = bro_xlsx_width(&t->cells[(size_t)i * (size_t)t->ncols + (size_t)c]);
            if (len + 2 > w[c])
                w[c] = len + 2;
        }
    }
    bro_xlsx_set_widths(ws, w, t->ncols);
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

/* Adds table index's sheet, its heading row frozen; NULL when memory ran out. */
static lxw_worksheet *bro_xlsx_add_sheet(lxw_workbook *wb, const bro_rtable *t, int index)
{
    char name[64];
    bro_xlsx_sheet_name(wb, t->title, index, name, sizeof(name));
    lxw_worksheet *ws = workbook_add_worksheet(wb, name);
    if (ws)
        worksheet_freeze_panes(ws, 1, 0);
    return ws;
}

static lxw_error bro_xlsx_heading(lxw_worksheet *ws, const bro_rtable *t, const bro_xlsx_formats *f)
{
    lxw_error e = LXW_NO_ERROR;
    for (int c = 0; c < t->ncols && e == LXW_NO_ERROR; c++)
        e = worksheet_write_string(ws, 0, (lxw_col_t)c, t->cols[c].label, f->head);
    return e;
}

/* The note under a table of nrows rows, two rows down, when it has one. */
static lxw_error bro_xlsx_note(lxw_worksheet *ws, const bro_rtable *t, size_t nrows,
                               const bro_xlsx_formats *f)
{
    if (t->note == NULL)
        return LXW_NO_ERROR;
    return worksheet_write_string(ws, (lxw_row_t)(nrows + 2), 0, t->note, f->title);
}

/* Writes table t into its sheet ws: widths, heading, rows and note. */
static lxw_error bro_xlsx_sheet(lxw_worksheet *ws, const bro_rtable *t, const bro_xlsx_formats *f)
{
    bro_xlsx_widths(ws, t);
    lxw_error e = bro_xlsx_heading(ws, t, f);
    for (int i = 0; i < t->nrows && e == LXW_NO_ERROR; i++) {
        const bro_rcell *row = &t->cells[(size_t)i * (size_t)t->ncols];
        for (int c = 0; c < t->ncols && e == LXW_NO_ERROR; c++)
            e = bro_xlsx_cell(ws, (lxw_row_t)(i + 1), (lxw_col_t)c, &row[c], f);
    }
    return e == LXW_NO_ERROR ? bro_xlsx_note(ws, t, (size_t)t->nrows, f) : e;
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

/* A workbook in a private temporary file (path, n bytes), its formats in f, and a sheet for
 * every table of r in sheets[], in r's order. Returns the workbook, or NULL with err set and
 * no file left. */
static lxw_workbook *bro_xlsx_open(const bro_report *r, char *path, size_t n, bro_xlsx_formats *f,
                                   lxw_worksheet **sheets, bro_err *err)
{
    const char *dir = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
    snprintf(path, n, "%s/bro-report-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        bro_err_set(err, BRO_E_INTERNAL, "xlsx: no temporary file");
        return NULL;
    }
    close(fd);
    lxw_workbook_options opts = {.constant_memory = LXW_TRUE, .tmpdir = (char *)dir};
    lxw_workbook *wb = workbook_new_opt(path, &opts);
    if (wb == NULL) {
        unlink(path);
        bro_err_set(err, BRO_E_NOMEM, "xlsx: no workbook");
        return NULL;
    }
    workbook_set_properties(wb, &(lxw_doc_properties){.title = (char *)r->title});
    *f = (bro_xlsx_formats){workbook_add_format(wb), workbook_add_format(wb),
                            workbook_add_format(wb), workbook_add_format(wb)};
    format_set_bold(f->head);
    format_set_bottom(f->head, LXW_BORDER_THIN);
    format_set_num_format(f->date, "dd.mm.yyyy");
    format_set_num_format(f->dec, "0.0");
    format_set_italic(f->title);
    for (int i = 0; i < r->ntables; i++)
        if ((sheets[i] = bro_xlsx_add_sheet(wb, r->tables[i], i)) == NULL) {
            workbook_close(wb);
            unlink(path);
            bro_err_set(err, BRO_E_NOMEM, "xlsx: no sheet");
            return NULL;
        }
    return wb;
}

/* Writes every table of r but skip (-1: none) into its sheet, closes wb and reads the file
 * into out; the file is removed in any case. */
static int bro_xlsx_finish(const bro_report *r, lxw_workbook *wb, lxw_worksheet **sheets,
                           const bro_xlsx_formats *f, int skip, const char *path, bro_buf *out,
                           bro_err *err)
{
    lxw_error e = LXW_NO_ERROR;
    for (int i = 0; i < r->ntables && e == LXW_NO_ERROR; i++)
        if (i != skip)
            e = bro_xlsx_sheet(sheets[i], r->tables[i], f);
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

/* ---- a streamed table ------------------------------------------------------------------------ */

/* The batches go round a ring: the caller fills batch[fill], hands it over (handed + 1) and
 * fills the next once the writer has written it (handed < BRO_XLSX_BATCHES); the writer writes
 * batch[take] while handed > 0 and counts it off after. A batch is thus touched by one thread
 * at a time, and the workbook by the writer alone between start and end. */
struct bro_xlsx_stream {
    const bro_report *r; /* the report whose tables are the sheets; the caller's */
    char path[512];      /* the temporary file */
    lxw_workbook *wb;    /* owned; NULL once closed */
    bro_xlsx_formats f;  /* the workbook's */
    lxw_worksheet *sheets[BRO_REPORT_TABLES_MAX]; /* one per table, the workbook's */
    int streamed;                                 /* index of the table whose rows are pushed */
    size_t row_size;                              /* bytes of a pushed row */
    bro_xlsx_row_cells cells;                     /* turns a pushed row into cells */
    const void *arg;                              /* cells' last argument, the caller's */
    unsigned char *batch[BRO_XLSX_BATCHES];       /* BRO_XLSX_BATCH rows each; owned */
    size_t batch_n[BRO_XLSX_BATCHES];             /* rows in each */
    int fill;                                     /* the batch the caller fills (the caller's) */
    int take;                                     /* the batch written next (the writer's) */
    size_t rows;                       /* rows written to the streamed sheet (the writer's) */
    size_t width[BRO_REPORT_COLS_MAX]; /* the streamed columns' widths so far (the writer's) */
    pthread_t thread;                  /* the writer, while running */
    pthread_mutex_t mu;                /* guards handed, ending, failed */
    pthread_cond_t cv;                 /* handed or failed changed */
    int handed;                        /* batches handed over and not yet written */
    int ending;                        /* 1: no batch comes after those handed over */
    lxw_error failed;                  /* the writer's first error, or LXW_NO_ERROR */
    int aborted;                       /* 1: the writer skips what is left (bro_xlsx_stream_free) */
    int running;                       /* the thread runs and is not joined */
    int ended;                         /* bro_xlsx_stream_end succeeded */
};

/* Writes batch k's rows to the streamed sheet. */
static lxw_error bro_xlsx_stream_batch(bro_xlsx_stream *s, int k)
{
    const bro_rtable *t = s->r->tables[s->streamed];
    lxw_worksheet *ws = s->sheets[s->streamed];
    lxw_error e = LXW_NO_ERROR;
    for (size_t i = 0; i < s->batch_n[k] && e == LXW_NO_ERROR; i++) {
        bro_rcell cells[BRO_REPORT_COLS_MAX];
        memset(cells, 0, sizeof(cells));
        s->cells(s->batch[k] + i * s->row_size, cells, s->arg);
        lxw_row_t at = (lxw_row_t)(++s->rows);
        for (int c = 0; c < t->ncols && e == LXW_NO_ERROR; c++) {
            size_t len = bro_xlsx_width(&cells[c]) + 2;
            if (len > s->width[c])
                s->width[c] = len;
            e = bro_xlsx_cell(ws, at, (lxw_col_t)c, &cells[c], &s->f);
        }
    }
    return e;
}

static void *bro_xlsx_stream_writer(void *arg)
{
    bro_xlsx_stream *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->handed == 0 && !s->ending)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->handed == 0)
            break;
        int skip = s->failed != LXW_NO_ERROR || s->aborted;
        pthread_mutex_unlock(&s->mu);
        lxw_error e = skip ? LXW_NO_ERROR : bro_xlsx_stream_batch(s, s->take);
        s->take = (s->take + 1) % BRO_XLSX_BATCHES;
        pthread_mutex_lock(&s->mu);
        if (s->failed == LXW_NO_ERROR)
            s->failed = e;
        s->handed--;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

bro_xlsx_stream *bro_xlsx_stream_start(const bro_report *r, int streamed, size_t row_size,
                                       bro_xlsx_row_cells cells, const void *arg, bro_err *err)
{
    bro_xlsx_stream *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        bro_err_set(err, BRO_E_NOMEM, "out of memory");
        return NULL;
    }
    s->r = r;
    s->streamed = streamed;
    s->row_size = row_size;
    s->cells = cells;
    s->arg = arg;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    for (int k = 0; k < BRO_XLSX_BATCHES; k++)
        if ((s->batch[k] = malloc(row_size * BRO_XLSX_BATCH)) == NULL) {
            bro_err_set(err, BRO_E_NOMEM, "out of memory");
            goto fail;
        }
    s->wb = bro_xlsx_open(r, s->path, sizeof(s->path), &s->f, s->sheets, err);
    if (s->wb == NULL)
        goto fail;
    const bro_rtable *t = r->tables[streamed];
    for (int c = 0; c < t->ncols; c++)
        s->width[c] = bro_xlsx_chars(t->cols[c].label) + 2;
    lxw_error e = bro_xlsx_heading(s->sheets[streamed], t, &s->f);
    if (e != LXW_NO_ERROR) {
        bro_err_set(err, BRO_E_INTERNAL, "xlsx: %s", lxw_strerror(e));
        goto fail;
    }
    if (pthread_create(&s->thread, NULL, bro_xlsx_stream_writer, s) != 0) {
        bro_err_set(err, BRO_E_INTERNAL, "xlsx: no writer thread");
        goto fail;
    }
    s->running = 1;
    return s;
fail:
    bro_xlsx_stream_free(s);
    return NULL;
}

/* Hands batch[fill] over and waits for room to fill the next. */
static int bro_xlsx_stream_hand(bro_xlsx_stream *s, bro_err *err)
{
    pthread_mutex_lock(&s->mu);
    s->handed++;
    pthread_cond_broadcast(&s->cv);
    while (s->handed == BRO_XLSX_BATCHES)
        pthread_cond_wait(&s->cv, &s->mu);
    lxw_error failed = s->failed;
    pthread_mutex_unlock(&s->mu);
    s->fill = (s->fill + 1) % BRO_XLSX_BATCHES;
    s->batch_n[s->fill] = 0;
    if (failed != LXW_NO_ERROR)
        return bro_err_set(err, BRO_E_INTERNAL, "xlsx: %s", lxw_strerror(failed));
    return 0;
}

int bro_xlsx_stream_push(bro_xlsx_stream *s, const void *row, bro_err *err)
{
    if (!s->running)
        return bro_err_set(err, BRO_E_INTERNAL, "xlsx: the stream is not running");
    size_t n = s->batch_n[s->fill];
    memcpy(s->batch[s->fill] + n * s->row_size, row, s->row_size);
    s->batch_n[s->fill] = n + 1;
    return n + 1 < BRO_XLSX_BATCH ? 0 : bro_xlsx_stream_hand(s, err);
}

/* Stops the writer: hands the last batch over (unless abort) and joins it. */
static lxw_error bro_xlsx_stream_join(bro_xlsx_stream *s, int abort)
{
    pthread_mutex_lock(&s->mu);
    if (abort)
        s->aborted = 1;
    else if (s->batch_n[s->fill] > 0)
        s->handed++;
    s->ending = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    s->running = 0;
    return s->failed;
}

int bro_xlsx_stream_end(bro_xlsx_stream *s, bro_err *err)
{
    if (!s->running)
        return bro_err_set(err, BRO_E_INTERNAL, "xlsx: the stream is not running");
    lxw_error e = bro_xlsx_stream_join(s, 0);
    const bro_rtable *t = s->r->tables[s->streamed];
    if (e == LXW_NO_ERROR)
        e = bro_xlsx_note(s->sheets[s->streamed], t, s->rows, &s->f);
    if (e != LXW_NO_ERROR)
        return bro_err_set(err, BRO_E_INTERNAL, "xlsx: %s", lxw_strerror(e));
    bro_xlsx_set_widths(s->sheets[s->streamed], s->width, t->ncols);
    s->ended = 1;
    return 0;
}

void bro_xlsx_stream_free(bro_xlsx_stream *s)
{
    if (s == NULL)
        return;
    if (s->running)
        (void)bro_xlsx_stream_join(s, 1);
    if (s->wb) { /* closing is what frees the library's own temporary files */
        workbook_close(s->wb);
        unlink(s->path);
    }
    for (int k = 0; k < BRO_XLSX_BATCHES; k++)
        free(s->batch[k]);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- the format -------------------------------------------------------------------------- */

int bro_render_xlsx(const bro_report *r, bro_buf *out, bro_err *err)
{
    bro_xlsx_stream *s = r->xlsx;
    if (s) {
        if (!s->ended || s->r != r)
            return bro_err_set(err, BRO_E_INTERNAL, "xlsx: the streamed table was not ended");
        lxw_workbook *wb = s->wb;
        s->wb = NULL; /* closed by the finish, whatever it returns */
        return bro_xlsx_finish(r, wb, s->sheets, &s->f, s->streamed, s->path, out, err);
    }
    char path[512];
    bro_xlsx_formats f;
    lxw_worksheet *sheets[BRO_REPORT_TABLES_MAX];
    lxw_workbook *wb = bro_xlsx_open(r, path, sizeof(path), &f, sheets, err);
    if (wb == NULL)
        return -1;
    return bro_xlsx_finish(r, wb, sheets, &f, -1, path, out, err);
}
