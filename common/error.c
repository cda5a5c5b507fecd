/* The error table (each code's stable word, its one HTTP status and English title) and the
 * helpers that fill a bro_err. */
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Every word a client can receive has status and title; a word no client receives has
 * status 0 and names in `as` the code a client is told instead, so an internal failure never
 * leaks its kind. The list in schemas/openapi.yaml (x-problem-types) documents the same rows;
 * tests/integration/test_problems.py holds the two together. */
static const struct {
    const char *word;  /* stable: problem type suffix and counter label */
    int status;        /* HTTP status when it reaches a client; 0: it never does */
    const char *title; /* English, for API clients */
    int as;            /* when status is 0: the code a client is told */
} bro_err_table[BRO_E__COUNT] = {
    [BRO_E_NONE] = {"none", 0, NULL, BRO_E_INTERNAL},
    [BRO_E_INTERNAL] = {"internal", 500, "Internal Server Error", 0},
    [BRO_E_NOMEM] = {"out-of-memory", 0, NULL, BRO_E_INTERNAL},
    [BRO_E_INVALID] = {"validation", 422, "Validation Failed", 0},
    [BRO_E_DECODE] = {"decode", 400, "Unreadable Body", 0},
    [BRO_E_NOT_FOUND] = {"not-found", 404, "Not Found", 0},
    [BRO_E_CONFLICT] = {"conflict", 409, "Conflict", 0},
    [BRO_E_PRECONDITION] = {"precondition-failed", 412, "Precondition Failed", 0},
    [BRO_E_UNAUTHORIZED] = {"unauthorized", 401, "Unauthorized", 0},
    [BRO_E_FORBIDDEN] = {"forbidden", 403, "Forbidden", 0},
    [BRO_E_TOO_LARGE] = {"too-large", 413, "Content Too Large", 0},
    [BRO_E_UNAVAILABLE] = {"unavailable", 503, "Service Unavailable", 0},
    [BRO_E_TIMEOUT] = {"timeout", 504, "Gateway Timeout", 0},
    [BRO_E_DB] = {"database", 0, NULL, BRO_E_INTERNAL},
    [BRO_E_REDIS] = {"redis", 0, NULL, BRO_E_UNAVAILABLE},
    [BRO_E_CONFIG] = {"config", 0, NULL, BRO_E_INTERNAL},
    [BRO_E_RETRY] = {"retry", 0, NULL, BRO_E_UNAVAILABLE},
    [BRO_E_BAD_REQUEST] = {"bad-request", 400, "Bad Request", 0},
    [BRO_E_METHOD] = {"method-not-allowed", 405, "Method Not Allowed", 0},
    [BRO_E_REQUEST_TIMEOUT] = {"request-timeout", 408, "Request Timeout", 0},
    [BRO_E_URI_TOO_LONG] = {"uri-too-long", 414, "URI Too Long", 0},
    [BRO_E_MEDIA_TYPE] = {"unsupported-media-type", 415, "Unsupported Media Type", 0},
    [BRO_E_EXPECTATION] = {"expectation-failed", 417, "Expectation Failed", 0},
    [BRO_E_IDEM_REUSED] = {"idempotency-key-reused", 422, "Idempotency-Key Reused", 0},
    [BRO_E_RATE_LIMITED] = {"rate-limited", 429, "Too Many Requests", 0},
    [BRO_E_HEADERS_TOO_LARGE] = {"header-fields-too-large", 431, "Request Header Fields Too Large",
                                 0},
    [BRO_E_NOT_IMPLEMENTED] = {"not-implemented", 501, "Not Implemented", 0},
    [BRO_E_OVERLOADED] = {"too-many-connections", 503, "Too Many Connections", 0},
    [BRO_E_HTTP_VERSION] = {"http-version-not-supported", 505, "HTTP Version Not Supported", 0},
    /* web: sign-in sessions */
    [BRO_E_CSRF] = {"csrf", 403, "CSRF Token Missing Or Wrong", 0},
    [BRO_E_LOCKED] = {"account-locked", 423, "Account Locked", 0},
};

const char *bro_err_word(int code)
{
    if (code < 0 || code >= BRO_E__COUNT || bro_err_table[code].word == NULL)
        return "internal";
    return bro_err_table[code].word;
}

int bro_err_public(int code)
{
    if (code < 0 || code >= BRO_E__COUNT || bro_err_table[code].word == NULL)
        return BRO_E_INTERNAL;
    return bro_err_table[code].status ? code : bro_err_table[code].as;
}

int bro_err_http_status(int code)
{
    return bro_err_table[bro_err_public(code)].status;
}

const char *bro_err_title(int code)
{
    return bro_err_table[bro_err_public(code)].title;
}

int bro_err_from_word(const char *word)
{
    for (int code = 0; word && code < BRO_E__COUNT; code++)
        if (bro_err_table[code].word && strcmp(bro_err_table[code].word, word) == 0)
            return code;
    return -1;
}

int bro_err_set(bro_err *err, int code, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

void bro_err_clear(bro_err *err)
{
    if (err == NULL)
        return;
    err->code = BRO_E_NONE;
    err->msg[0] = '\0';
}
