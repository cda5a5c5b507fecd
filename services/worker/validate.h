/* Declarative validation of a request body against a field table: type, required, bounds,
 * enum, tags, weekly availability and which characters a text may hold. Every failure is
 * recorded with the field's name so the client learns all that is wrong at once; unknown fields
 * are errors too. */
#ifndef BRO_WORKER_VALIDATE_H
#define BRO_WORKER_VALIDATE_H

#include <msgpack.h>

#include "job.h"

typedef enum bro_vtype {
    BRO_V_STRING,       /* UTF-8 string, min..max characters */
    BRO_V_INT,          /* integer in min..max */
    BRO_V_BOOL,         /* true or false */
    BRO_V_ENUM,         /* string, one of values */
    BRO_V_TAGS,         /* array of up to max strings of 1..60 characters */
    BRO_V_AVAILABILITY, /* map mon..sun -> array subset of day, afternoon, evening */
    BRO_V_UUID,         /* canonical UUID string */
    BRO_V_POSTAL,       /* four digits */
    BRO_V_EMAIL,        /* something@something, up to 254 characters */
    BRO_V_PHONE,        /* digits, spaces and one leading +, 3..32 characters */
    BRO_V_SLUG,         /* tenant slug */
    BRO_V_DATE,         /* YYYY-MM-DD; named *_at, an RFC 3339 date-time too (see below) */
    BRO_V_OBJECTS,      /* array of up to max objects; their members by bro_validate_items */
    BRO_V_TEXTS,        /* array of up to max strings of 1..1000 characters */
    BRO_V_TIMESTAMP,    /* RFC 3339 date-time with a zone (Z or +01:00) */
    BRO_V_NUMBER,       /* a finite number (integer or not) in lo..hi */
} bro_vtype;

#define BRO_V_REQUIRED 0x1 /* must be present (on create) */
#define BRO_V_NULLABLE 0x2 /* null is accepted (clears the field) */
#define BRO_V_READONLY 0x4 /* present in the resource but never accepted in a body */

/* Every string (names, titles, tags, labels, phone numbers, query parameters) is one line by
 * default: no control characters, bidirectional formatting or line separators (see
 * bro_utf8_refused). The free texts that a coordinator writes in several lines carry
 * BRO_V_MULTILINE and keep tabs and line breaks (LF, CRLF): assessment texts, journal text,
 * plan goals, step texts and participants, opening tasks, organisation notes, consent notes,
 * and the reasons of status changes, restrictions and consent withdrawals. */
#define BRO_V_MULTILINE 0x8
/* A whole file's text (an import's CSV): only UTF-8 without NUL is checked here, since its
 * line breaks are its rows; each cell is checked as the field it becomes. */
#define BRO_V_FILE 0x10
/* An integer whose upper bound is the current year (UTC), whatever max says: a birth year. */
#define BRO_V_THIS_YEAR 0x20
/* A date that may also be sent as an RFC 3339 date-time (the document's anyOf date, date-time):
 * the fields named *_at, where a coordinator may paste a time. It is kept as the date. */
#define BRO_V_OR_TIME 0x40

typedef struct bro_vfield {
    const char *name;          /* JSON member name */
    bro_vtype type;            /* what it must be */
    unsigned flags;            /* BRO_V_* */
    long long min, max;        /* characters for strings, value for ints, items for tags */
    const char *const *values; /* NULL-terminated list for BRO_V_ENUM */
    double lo, hi;             /* BRO_V_NUMBER's bounds, inclusive; 0 for other types */
} bro_vfield;

/* A date field with BRO_V_OR_TIME (the *_at dates: given_at, conducted_at, expires_at, which the
 * document describes as anyOf date, date-time) also accepts an RFC 3339 date-time, since clients
 * that keep times send one where a date is enough. Such a value is stored as its date: the first
 * BRO_VALIDATE_DATE_LEN characters, the date as written in the value's own offset, because that is
 * the day the coordinator means ("2026-03-01T23:30:00-05:00" is 2026-03-01, not the UTC date
 * 2026-03-02). */
#define BRO_VALIDATE_DATE_LEN 10
int bro_validate_takes_time(const bro_vfield *f);

/* Checks data (must be a map; NULL or nil is a "body" error) against the table of n fields.
 * partial=1 (PATCH) does not require BRO_V_REQUIRED fields. Records every error in job and
 * returns the number recorded. */
int bro_validate(bro_job *job, const msgpack_object *data, const bro_vfield *fields, int n,
                 int partial);

/* Checks each object of the array o (already known to be an array of maps, as BRO_V_OBJECTS
 * ensures) against the table of n fields, naming errors "<name>.<index>.<member>" (index from
 * 0). Returns the number of errors recorded. */
int bro_validate_items(bro_job *job, const char *name, const msgpack_object *o,
                       const bro_vfield *fields, int n);

#endif
