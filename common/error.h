/* Errors shared by every Brobygger module: a stable code word plus a fixed message buffer.
 * The word becomes the problem+json `type` suffix and the label of the error counter, so
 * words are never renamed. The table in error.c gives each word its one HTTP status and its
 * English title (common/problem.h writes the documents). No allocation on the error path. */
#ifndef BRO_ERROR_H
#define BRO_ERROR_H

#define BRO_OK    0
#define BRO_AGAIN 1 /* the work goes on asynchronously */

#define BRO_MUST_USE __attribute__((warn_unused_result))

typedef enum bro_err_code {
    BRO_E_NONE = 0,
    BRO_E_INTERNAL,     /* "internal": a bug or an unexpected library failure */
    BRO_E_NOMEM,        /* "out-of-memory" (a client is told "internal") */
    BRO_E_INVALID,      /* "validation": fields failed validation (422, errors name them) */
    BRO_E_DECODE,       /* "decode": bytes could not be decoded (msgpack, JSON) */
    BRO_E_NOT_FOUND,    /* "not-found" */
    BRO_E_CONFLICT,     /* "conflict": duplicate or illegal state transition */
    BRO_E_PRECONDITION, /* "precondition-failed": If-Match mismatch */
    BRO_E_UNAUTHORIZED, /* "unauthorized": missing, malformed, revoked or expired key */
    BRO_E_FORBIDDEN,    /* "forbidden": valid key, wrong role */
    BRO_E_TOO_LARGE,    /* "too-large": body over the limit */
    BRO_E_UNAVAILABLE,  /* "unavailable": Redis, PostgreSQL or workers unreachable */
    BRO_E_TIMEOUT,      /* "timeout": a deadline passed */
    BRO_E_DB,           /* "database": PostgreSQL refused a statement (told "internal") */
    BRO_E_REDIS,        /* "redis": Redis refused a command (told "unavailable") */
    BRO_E_CONFIG,       /* "config": bad configuration value (told "internal") */
    BRO_E_RETRY,        /* "retry": transient failure, run again (told "unavailable") */
    /* Refusals of the HTTP layer and the gateway: each its own word, so one status per word. */
    BRO_E_BAD_REQUEST,       /* "bad-request": malformed HTTP, query or header (400) */
    BRO_E_METHOD,            /* "method-not-allowed" (405, with Allow) */
    BRO_E_REQUEST_TIMEOUT,   /* "request-timeout": the request arrived too slowly (408) */
    BRO_E_URI_TOO_LONG,      /* "uri-too-long" (414) */
    BRO_E_MEDIA_TYPE,        /* "unsupported-media-type": Content-Type or -Encoding (415) */
    BRO_E_EXPECTATION,       /* "expectation-failed": an Expect other than 100-continue (417) */
    BRO_E_IDEM_REUSED,       /* "idempotency-key-reused": same key, another request (422) */
    BRO_E_RATE_LIMITED,      /* "rate-limited" (429, with Retry-After) */
    BRO_E_HEADERS_TOO_LARGE, /* "header-fields-too-large" (431) */
    BRO_E_NOT_IMPLEMENTED,   /* "not-implemented": a method no route knows (501) */
    BRO_E_OVERLOADED,        /* "too-many-connections": over the connection limit (503) */
    BRO_E_HTTP_VERSION,      /* "http-version-not-supported" (505) */
    /* web: sign-in sessions */
    BRO_E_CSRF,   /* "csrf": a session's change without its CSRF token (403) */
    BRO_E_LOCKED, /* "account-locked": too many failed sign-ins, wait (423) */
    BRO_E__COUNT
} bro_err_code;

typedef struct bro_err {
    int code;      /* bro_err_code; BRO_E_NONE when no error */
    char msg[128]; /* human-readable, English, never personal data */
} bro_err;

/* Returns the stable word for a code ("validation", "not-found", ...); never NULL. */
const char *bro_err_word(int code);

/* Returns the code a client is told for code: code itself when its word may reach a client,
 * otherwise the one that stands for it (BRO_E_DB -> BRO_E_INTERNAL, BRO_E_RETRY ->
 * BRO_E_UNAVAILABLE, ...); an unknown code is BRO_E_INTERNAL. */
int bro_err_public(int code);

/* Returns the one HTTP status of the code a client is told for code (400, 404, 500, ...). */
int bro_err_http_status(int code);

/* Returns the English title of the code a client is told for code; never NULL. */
const char *bro_err_title(int code);

/* Returns the code whose word is word, or -1 when no code has it. */
int bro_err_from_word(const char *word);

/* Fills err (which may be NULL) with code and a printf-style message, truncated to fit.
 * Always returns -1 so callers can write `return bro_err_set(err, ...)`. */
int bro_err_set(bro_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Resets err to "no error". err may be NULL. */
void bro_err_clear(bro_err *err);

#endif
