/* From a spreadsheet's rows to API bodies: which header names (the API's own or the Norwegian
 * ones a kommune's Excel has) name which field, and how a cell's text becomes the field's
 * value (numbers, ja/nei, tag lists, enum values in Norwegian, weekly availability). */
#ifndef BRO_WORKER_RECORDS_IMPORTS_ROWS_H
#define BRO_WORKER_RECORDS_IMPORTS_ROWS_H

#include <msgpack.h>

#include "common/csv.h"
#include "job.h"

#define BRO_IMPORTS_CANDIDATES    0
#define BRO_IMPORTS_ORGANIZATIONS 1
#define BRO_IMPORTS_NAME_MAX      64 /* bytes kept of a header cell, NUL included */

typedef struct bro_imports_column bro_imports_column;

/* A file's header row, read once per file. */
typedef struct bro_imports_header {
    int type;                                             /* BRO_IMPORTS_* */
    size_t ncells;                                        /* cells up to the last named one */
    const bro_imports_column *cols[BRO_CSV_MAX_FIELDS];   /* the column each cell names */
    char names[BRO_CSV_MAX_FIELDS][BRO_IMPORTS_NAME_MAX]; /* each cell trimmed, for messages */
} bro_imports_header;

/* Returns BRO_IMPORTS_* for a type name ("candidates", "organizations"), or -1. */
int bro_imports_type(const char *name, size_t n);

/* Returns the type's name; never NULL. */
const char *bro_imports_type_name(int type);

/* Reads the header row of a file of the given type into h. Names are matched ignoring case,
 * surrounding blanks and the characters " -_.()". Records a field error "csv" in job for each
 * cell naming no known column, each column named twice, each unnamed cell before a named one
 * and each required column missing. Returns 0, or -1 when it recorded errors. */
int bro_imports_header_read(bro_imports_header *h, int type, const bro_csv_row *row, bro_job *job);

/* The header cell (as written) of the column holding API field `field`, or of its parent for
 * "interests[2]" and "availability.mon"; NULL when no column holds it. */
const char *bro_imports_header_cell(const bro_imports_header *h, const char *field);

/* Returns 1 when every cell of row is empty or blank: Excel's trailing ";;;;" rows. */
int bro_imports_blank(const bro_csv_row *row);

/* Converts a data row into one msgpack map of API field names in sb, which is reset first;
 * empty cells are left out. Returns 1 when every cell is empty (the row is to be skipped), 0
 * when sb holds the map, or -1 after recording field errors in job (by API field name; "" for
 * the row as a whole) for cells that could not be converted. */
int bro_imports_row(const bro_imports_header *h, const bro_csv_row *row, msgpack_sbuffer *sb,
                    bro_job *job);

#endif
