/* Errors shared by every Brobygger module: a stable code word plus a fixed message buffer.
 * The word becomes the problem+json `type` suffix and the label of the error counter, so
 * codes are never renamed. No allocation happens on the error path. */
#ifndef BRO_ERROR_H
#define BRO_ERROR_H

#define BRO_OK    0
#define BRO_AGAIN 1 /* the work goes on asynchronously */

#define BRO_MUST_USE __attribute__((warn_unused_result))

typedef enum bro_err_code {
    BRO_E_NONE = 0,
    BRO_E_INTERNAL,     /* "internal": a bug or an unexpected library failure */
    BRO_E_NOMEM,        /* "out-of-memory" */
    BRO_E_INVALID,      /* "validation": input failed validation */
    BRO_E_DECODE,       /* "decode": bytes could not be decoded (msgpack, JSON) */
    BRO_E_NOT_FOUND,    /* "not-found" */
    BRO_E_CONFLICT,     /* "conflict": duplicate or illegal state transition */
    BRO_E_PRECONDITION, /* "precondition-failed": If-Match mismatch */
    BRO_E_UNAUTHORIZED, /* "unauthorized": missing, malformed, revoked or expired key */
    BRO_E_FORBIDDEN,    /* "forbidden": valid key, wrong role */
    BRO_E_TOO_LARGE,    /* "too-large": body over the limit */
    BRO_E_UNAVAILABLE,  /* "unavailable": Redis, PostgreSQL or workers unreachable */
    BRO_E_TIMEOUT,      /* "timeout": a deadline passed */
    BRO_E_DB,           /* "database": PostgreSQL refused a statement */
    BRO_E_REDIS,        /* "redis": Redis refused a command */
    BRO_E_CONFIG,       /* "config": bad configuration value */
    BRO_E_RETRY,        /* "retry": transient failure, the job should run again */
    BRO_E__COUNT
} bro_err_code;

typedef struct bro_err {
    int code;      /* bro_err_code; BRO_E_NONE when no error */
    char msg[128]; /* human-readable, English, never personal data */
} bro_err;

/* Returns the stable word for a code ("validation", "not-found", ...); never NULL. */
const char *bro_err_word(int code);

/* Returns the HTTP status that best fits a code (400, 404, 500, ...). */
int bro_err_http_status(int code);

/* Fills err (which may be NULL) with code and a printf-style message, truncated to fit.
 * Always returns -1 so callers can write `return bro_err_set(err, ...)`. */
int bro_err_set(bro_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Resets err to "no error". err may be NULL. */
void bro_err_clear(bro_err *err);

#endif
