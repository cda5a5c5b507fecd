/* RFC 4180 CSV as spreadsheets write it, read from a buffer with no I/O: quoted fields with
 * doubled quotes and line breaks, CRLF, LF or CR line ends, a UTF-8 byte order mark, and the
 * separator (';' from Norwegian Excel, ',' or tab from others) found on the header line. */
#ifndef BRO_CSV_H
#define BRO_CSV_H

#include <stddef.h>

#include "common/error.h"

#define BRO_CSV_MAX_FIELDS      256     /* fields in one row */
#define BRO_CSV_MAX_FIELD_BYTES 65536   /* bytes of one field after unescaping */
#define BRO_CSV_MAX_ROWS        1000000 /* rows in one buffer, header included */

typedef struct bro_csv bro_csv;

/* One field: len bytes at ptr, not NUL-terminated. */
typedef struct bro_csv_field {
    const char *ptr; /* into the input or the parser's scratch buffer; see bro_csv_next */
    size_t len;      /* bytes */
} bro_csv_field;

/* One row (record) as bro_csv_next returns it. */
typedef struct bro_csv_row {
    bro_csv_field fields[BRO_CSV_MAX_FIELDS]; /* the first nfields are set */
    size_t nfields;                           /* at least 1: an empty line is one empty field */
    size_t number; /* 1-based row number, header included: the row as a spreadsheet shows it */
    size_t line;   /* 1-based line of the input where the row starts */
} bro_csv_row;

/* Starts reading the len bytes at buf, which must outlive the parser and stay unchanged.
 * sep is the field separator, or 0 to detect it: of ';', tab and ',' the one that occurs most
 * often outside quotes on the first line (';' on a tie, ',' when none occurs); a first line
 * "sep=X", as Excel writes it, names the separator and is not a row. A separator is one ASCII
 * byte other than a quote or a line end (a "sep=" line naming another is an ordinary row). A
 * UTF-8 byte order mark is skipped. Returns a parser the caller frees with bro_csv_free, or NULL
 * with err set (BRO_E_NOMEM, or BRO_E_INVALID for a separator given that is not one). */
bro_csv *bro_csv_new(const char *buf, size_t len, char sep, bro_err *err);

/* Frees the parser. NULL is a no-op. */
void bro_csv_free(bro_csv *c);

/* The separator in use (given or detected). */
char bro_csv_separator(const bro_csv *c);

/* Rows returned so far, the "sep=" line not counted. */
size_t bro_csv_rows(const bro_csv *c);

/* Reads the next row into row. Returns 1 when a row was read, 0 at the end of the input (a
 * final line break ends the last row; it does not start an empty one), or -1 with err set:
 * BRO_E_DECODE for text that is not UTF-8 or holds a NUL byte, a quoted field never closed or
 * a character after a closing quote; BRO_E_TOO_LARGE past a BRO_CSV_MAX_* limit; BRO_E_NOMEM.
 * The message starts with "row N: " (N as in row->number). Errors are sticky: later calls
 * return -1 again. The fields stay valid until the next call or bro_csv_free; they are the
 * raw bytes of the input unless unescaping was needed. Nothing is trimmed. */
int bro_csv_next(bro_csv *c, bro_csv_row *row, bro_err *err) BRO_MUST_USE;

#endif
