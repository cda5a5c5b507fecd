/* The CSV reader behind imports: one pass over a caller's buffer, fields pointing into it
 * wherever no unescaping is needed, and a scratch buffer (reused per row) for the rest. */
#include "common/csv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/utf8.h"

#define BRO_CSV_SCRATCH_MIN 256 /* first scratch allocation, bytes */

struct bro_csv {
    const char *buf;     /* the input, borrowed */
    size_t len;          /* bytes in buf */
    size_t pos;          /* next byte to read */
    size_t line;         /* 1-based line at pos */
    size_t rows;         /* rows returned */
    char sep;            /* field separator */
    char *scratch;       /* unescaped fields of the current row, owned */
    size_t scratch_cap;  /* bytes allocated */
    size_t scratch_used; /* bytes used by the current row */
    bro_err err;         /* sticky error; code BRO_E_NONE while none */
};

static int bro_csv_fail(bro_csv *c, bro_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int bro_csv_fail(bro_csv *c, bro_err *err, int code, const char *fmt, ...)
{
    c->err.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err.msg, sizeof(c->err.msg), fmt, ap);
    va_end(ap);
    if (err)
        *err = c->err;
    return -1;
}

/* A separator is one ASCII byte: a byte of 0x80 or above is part of a multi-byte UTF-8
 * character, and splitting fields at it would cut characters in two. */
static int bro_csv_sep_ok(char sep)
{
    return sep != '\0' && sep != '"' && sep != '\r' && sep != '\n' && (unsigned char)sep < 0x80;
}

/* Returns the index of the quote closing the quoted field opened at pos, past doubled quotes,
 * or len when it is never closed. */
static size_t bro_csv_closing(const char *buf, size_t len, size_t pos)
{
    for (size_t p = pos + 1;;) {
        const char *q = memchr(buf + p, '"', len - p);
        if (q == NULL)
            return len;
        p = (size_t)(q - buf) + 1;
        if (p == len || buf[p] != '"')
            return p - 1;
        p++;
    }
}

/* Counts the candidate separators outside quoted fields on the line starting at pos. A quote
 * opens a quoted field only where a field starts, as in bro_csv_next. */
static char bro_csv_detect(const char *buf, size_t len, size_t pos)
{
    size_t semi = 0, tab = 0, comma = 0;
    int field_start = 1;
    for (; pos < len; pos++) {
        char ch = buf[pos];
        if (ch == '"' && field_start) {
            pos = bro_csv_closing(buf, len, pos);
            field_start = 0;
            continue;
        }
        if (ch == '\n' || ch == '\r')
            break;
        field_start = ch == ';' || ch == '\t' || ch == ',';
        semi += ch == ';';
        tab += ch == '\t';
        comma += ch == ',';
    }
    if (semi == 0 && tab == 0 && comma == 0)
        return ',';
    if (semi >= tab && semi >= comma)
        return ';';
    return tab >= comma ? '\t' : ',';
}

/* Skips a line end at *pos, if any. Returns 1 when there was one. */
static int bro_csv_eol(const char *buf, size_t len, size_t *pos)
{
    if (*pos < len && buf[*pos] == '\r') {
        (*pos)++;
        if (*pos < len && buf[*pos] == '\n')
            (*pos)++;
        return 1;
    }
    if (*pos < len && buf[*pos] == '\n') {
        (*pos)++;
        return 1;
    }
    return 0;
}

bro_csv *bro_csv_new(const char *buf, size_t len, char sep, bro_err *err)
{
    if (sep != 0 && !bro_csv_sep_ok(sep)) {
        bro_err_set(err, BRO_E_INVALID,
                    "csv: the separator must be one ASCII character, not a quote or a line end");
        return NULL;
    }
    bro_csv *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        bro_err_set(err, BRO_E_NOMEM, "csv: out of memory");
        return NULL;
    }
    c->buf = buf;
    c->len = buf ? len : 0;
    c->line = 1;
    if (c->len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        c->pos = 3;
    /* Excel's "sep=;" line: the separator for the rest, not a row. */
    if (c->len - c->pos >= 5 && strncasecmp(buf + c->pos, "sep=", 4) == 0 &&
        bro_csv_sep_ok(buf[c->pos + 4])) {
        size_t end = c->pos + 5;
        if (end == c->len || bro_csv_eol(buf, c->len, &end)) {
            if (sep == 0)
                sep = buf[c->pos + 4];
            c->pos = end;
            c->line = 2;
        }
    }
    c->sep = sep ? sep : bro_csv_detect(buf, c->len, c->pos);
    return c;
}

void bro_csv_free(bro_csv *c)
{
    if (c == NULL)
        return;
    free(c->scratch);
    free(c);
}

char bro_csv_separator(const bro_csv *c)
{
    return c->sep;
}

size_t bro_csv_rows(const bro_csv *c)
{
    return c->rows;
}

/* Appends n bytes to the scratch buffer, growing it as needed. */
static int bro_csv_append(bro_csv *c, const char *p, size_t n)
{
    if (c->scratch_used + n > c->scratch_cap) {
        size_t cap = c->scratch_cap ? c->scratch_cap : BRO_CSV_SCRATCH_MIN;
        while (cap < c->scratch_used + n)
            cap *= 2;
        char *grown = realloc(c->scratch, cap);
        if (grown == NULL)
            return -1;
        c->scratch = grown;
        c->scratch_cap = cap;
    }
    memcpy(c->scratch + c->scratch_used, p, n);
    c->scratch_used += n;
    return 0;
}

/* Counts the line breaks (CRLF, LF or a lone CR) in n bytes at p. */
static size_t bro_csv_lines(const char *p, size_t n)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] == '\n' || (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n')))
            lines++;
    return lines;
}

/* Reads the quoted field whose opening quote is at c->pos. Sets f to the field in the input
 * when it holds no doubled quote; otherwise unescapes it into the scratch buffer, sets
 * f->ptr to NULL and *off to its offset there (the buffer may move until the row ends). */
static int bro_csv_quoted(bro_csv *c, size_t number, bro_csv_field *f, size_t *off, bro_err *err)
{
    const char *buf = c->buf;
    size_t start_line = c->line, pos = c->pos + 1, len = 0;
    int copied = 0;
    for (;;) {
        const char *q = memchr(buf + pos, '"', c->len - pos);
        if (q == NULL)
            return bro_csv_fail(c, err, BRO_E_DECODE,
                                "row %zu: a quoted field opened on line %zu is never closed",
                                number, start_line);
        size_t seg = (size_t)(q - (buf + pos)), end = (size_t)(q - buf);
        int doubled = end + 1 < c->len && buf[end + 1] == '"';
        len += seg + (size_t)doubled;
        if (len > BRO_CSV_MAX_FIELD_BYTES)
            return bro_csv_fail(c, err, BRO_E_TOO_LARGE, "row %zu: a field is longer than %d bytes",
                                number, BRO_CSV_MAX_FIELD_BYTES);
        c->line += bro_csv_lines(buf + pos, seg);
        if (!doubled && !copied) { /* the common case: no unescaping, no copy */
            f->ptr = buf + pos;
            f->len = seg;
            c->pos = end + 1;
            return 0;
        }
        if (!copied)
            *off = c->scratch_used;
        copied = 1;
        if (bro_csv_append(c, buf + pos, seg + (size_t)doubled) < 0)
            return bro_csv_fail(c, err, BRO_E_NOMEM, "row %zu: out of memory", number);
        pos = end + 1 + (size_t)doubled;
        if (!doubled) {
            f->ptr = NULL;
            f->len = len;
            c->pos = pos;
            return 0;
        }
    }
}

/* The row's raw bytes must be text: UTF-8 without NUL. */
static int bro_csv_check_text(bro_csv *c, size_t number, size_t start, bro_err *err)
{
    const char *p = c->buf + start;
    size_t n = c->pos - start;
    if (number == 1 && c->len >= 2 &&
        (memcmp(c->buf, "\xff\xfe", 2) == 0 || memcmp(c->buf, "\xfe\xff", 2) == 0))
        return bro_csv_fail(c, err, BRO_E_DECODE,
                            "row 1: the text is UTF-16; in Excel, save the file as \"CSV UTF-8\"");
    if (memchr(p, '\0', n) != NULL)
        return bro_csv_fail(c, err, BRO_E_DECODE, "row %zu: the file contains a NUL byte", number);
    if (!bro_utf8_valid(p, n))
        return bro_csv_fail(c, err, BRO_E_DECODE,
                            "row %zu: the text is not UTF-8; in Excel, save the file as "
                            "\"CSV UTF-8\"",
                            number);
    return 0;
}

int bro_csv_next(bro_csv *c, bro_csv_row *row, bro_err *err)
{
    if (c->err.code != BRO_E_NONE) {
        if (err)
            *err = c->err;
        return -1;
    }
    if (c->pos >= c->len)
        return 0;
    size_t number = c->rows + 1, start = c->pos;
    if (number > BRO_CSV_MAX_ROWS)
        return bro_csv_fail(c, err, BRO_E_TOO_LARGE, "row %zu: more than %d rows", number,
                            BRO_CSV_MAX_ROWS);
    size_t off[BRO_CSV_MAX_FIELDS];
    row->nfields = 0;
    row->number = number;
    row->line = c->line;
    c->scratch_used = 0;
    for (;;) {
        if (row->nfields == BRO_CSV_MAX_FIELDS)
            return bro_csv_fail(c, err, BRO_E_TOO_LARGE, "row %zu: more than %d fields", number,
                                BRO_CSV_MAX_FIELDS);
        bro_csv_field *f = &row->fields[row->nfields];
        if (c->pos < c->len && c->buf[c->pos] == '"') {
            if (bro_csv_quoted(c, number, f, &off[row->nfields], err) < 0)
                return -1;
            char next = c->pos < c->len ? c->buf[c->pos] : c->sep;
            if (next != c->sep && next != '\r' && next != '\n')
                return bro_csv_fail(c, err, BRO_E_DECODE,
                                    "row %zu: unexpected text after a closing quote on line %zu",
                                    number, c->line);
        } else {
            size_t s = c->pos;
            while (c->pos < c->len && c->buf[c->pos] != c->sep && c->buf[c->pos] != '\r' &&
                   c->buf[c->pos] != '\n')
                c->pos++;
            f->ptr = c->buf + s;
            f->len = c->pos - s;
            if (f->len > BRO_CSV_MAX_FIELD_BYTES)
                return bro_csv_fail(c, err, BRO_E_TOO_LARGE,
                                    "row %zu: a field is longer than %d bytes", number,
                                    BRO_CSV_MAX_FIELD_BYTES);
        }
        row->nfields++;
        if (c->pos < c->len && c->buf[c->pos] == c->sep) {
            c->pos++;
            continue;
        }
        break; /* the end of the input or of the line */
    }
    if (bro_csv_check_text(c, number, start, err) < 0)
        return -1;
    if (bro_csv_eol(c->buf, c->len, &c->pos))
        c->line++;
    for (size_t i = 0; i < row->nfields; i++)
        if (row->fields[i].ptr == NULL)
            row->fields[i].ptr = c->scratch + off[i];
    c->rows = number;
    return 1;
}
