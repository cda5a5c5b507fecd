/* Problem documents (RFC 9457), the one builder every process uses: the gateway's refusals and
 * local answers as JSON, the worker's failed jobs as msgpack through Redis. Type, status and
 * title come from the error table (error.c), so a word has one status wherever it is sent. */
#ifndef BRO_PROBLEM_H
#define BRO_PROBLEM_H

#include <msgpack.h>
#include <stddef.h>
#include <stdio.h>

#include "common/error.h"

#define BRO_PROBLEM_BASE "https://brobygger.no/problems/"

/* One part of the request at fault: errors[i] of the document. Both strings are borrowed. */
typedef struct bro_problem_field {
    const char *field;   /* dotted member ("availability.mon"), a header's name, or "body" */
    const char *message; /* English, names no personal data */
} bro_problem_field;

/* What a document says. Everything is borrowed for the length of one write call and may live
 * on the caller's stack; the builder keeps nothing. */
typedef struct bro_problem {
    int code;                        /* bro_err_code; internal words are told as their stand-in */
    const char *detail;              /* one English sentence, no personal data; NULL: the title */
    const bro_problem_field *fields; /* nfields entries; NULL when none */
    int nfields;                     /* 0: no "errors" member */
} bro_problem;

/* Writes pieces of a JSON text in order; returns 0, or -1 to stop (the write then fails).
 * The same shape as jansson's json_dump_callback_t. */
typedef int (*bro_problem_sink)(const char *buf, size_t len, void *ctx);

/* The HTTP status of p: the one status of the word it is sent as. */
int bro_problem_status(const bro_problem *p);

/* Packs p as one msgpack map into pk: type, title, status, detail, and errors when nfields.
 * The packer's buffer is the only memory that grows. Returns 0, or -1 when the packer's write
 * failed (out of memory), leaving a partial map the caller discards. */
int bro_problem_pack(msgpack_packer *pk, const bro_problem *p) BRO_MUST_USE;

/* Writes p as compact JSON, members in the order above, through sink. A string that is not
 * valid UTF-8 is replaced (detail by the title, a field error is left out) rather than
 * written broken. The document is built and freed inside the call; what sink keeps is the
 * caller's. Returns 0, or -1 when out of memory or sink refused. */
int bro_problem_json(const bro_problem *p, bro_problem_sink sink, void *ctx) BRO_MUST_USE;

/* Prints every word a client can receive, one a line: word, status, title, tab-separated, in
 * the table's order (brobygger-gateway --problems). Returns 0, or -1 on a write error. */
int bro_problem_print_table(FILE *out);

#endif
