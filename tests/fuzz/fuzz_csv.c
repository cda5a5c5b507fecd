/* libFuzzer target: the CSV reader on arbitrary bytes, with the separator detected and given.
 * Each row read must hold to the contract (limits, row numbers, UTF-8 fields) and survive a
 * round trip: written out again with every field quoted, it reads back the same. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/csv.h"
#include "common/utf8.h"

/* Writes row quoted, separated by sep, into a new buffer; returns it with its length. */
static char *fuzz_csv_write(const bro_csv_row *row, char sep, size_t *len)
{
    size_t cap = 2;
    for (size_t i = 0; i < row->nfields; i++)
        cap += 2 * row->fields[i].len + 3;
    char *out = malloc(cap), *p = out;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < row->nfields; i++) {
        if (i)
            *p++ = sep;
        *p++ = '"';
        for (size_t k = 0; k < row->fields[i].len; k++) {
            if (row->fields[i].ptr[k] == '"')
                *p++ = '"';
            *p++ = row->fields[i].ptr[k];
        }
        *p++ = '"';
    }
    *p++ = '\n';
    *len = (size_t)(p - out);
    return out;
}

static void fuzz_csv_round_trip(const bro_csv_row *row, char sep)
{
    size_t len = 0;
    char *text = fuzz_csv_write(row, sep, &len);
    if (text == NULL)
        return;
    bro_err err = {0};
    bro_csv *again = bro_csv_new(text, len, sep, &err);
    static bro_csv_row back;
    if (again == NULL || bro_csv_next(again, &back, &err) != 1 || back.nfields != row->nfields)
        __builtin_trap();
    for (size_t i = 0; i < row->nfields; i++)
        if (back.fields[i].len != row->fields[i].len ||
            memcmp(back.fields[i].ptr, row->fields[i].ptr, row->fields[i].len) != 0)
            __builtin_trap();
    if (bro_csv_next(again, &back, &err) != 0)
        __builtin_trap();
    bro_csv_free(again);
    free(text);
}

static void fuzz_csv_read(const char *data, size_t size, char sep)
{
    bro_err err = {0};
    bro_csv *c = bro_csv_new(data, size, sep, &err);
    if (c == NULL)
        return;
    static bro_csv_row row;
    size_t expect = 1;
    int rc;
    while ((rc = bro_csv_next(c, &row, &err)) == 1) {
        if (row.number != expect++ || row.nfields < 1 || row.nfields > BRO_CSV_MAX_FIELDS ||
            bro_csv_rows(c) != row.number)
            __builtin_trap();
        for (size_t i = 0; i < row.nfields; i++)
            if (row.fields[i].len > BRO_CSV_MAX_FIELD_BYTES ||
                !bro_utf8_valid(row.fields[i].ptr, row.fields[i].len))
                __builtin_trap();
        fuzz_csv_round_trip(&row, bro_csv_separator(c));
    }
    if (rc < 0 && (err.code == BRO_E_NONE || strncmp(err.msg, "row ", 4) != 0))
        __builtin_trap(); /* a failure always says why, and where */
    bro_csv_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The input is copied so reading past its end is caught, even by one byte. */
    char *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    fuzz_csv_read(copy, size, 0);
    fuzz_csv_read(copy, size, ',');
    free(copy);
    return 0;
}
