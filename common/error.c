/* Error codes as stable words and HTTP statuses; the fill helpers. */
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
    const char *word; /* stable: problem type suffix and counter label */
    int status;       /* HTTP status when it reaches a client */
} bro_err_table[BRO_E__COUNT] = {
    [BRO_E_NONE] = {"none", 200},
    [BRO_E_INTERNAL] = {"internal", 500},
    [BRO_E_NOMEM] = {"out-of-memory", 500},
    [BRO_E_INVALID] = {"validation", 422},
    [BRO_E_DECODE] = {"decode", 400},
    [BRO_E_NOT_FOUND] = {"not-found", 404},
    [BRO_E_CONFLICT] = {"conflict", 409},
    [BRO_E_PRECONDITION] = {"precondition-failed", 412},
    [BRO_E_UNAUTHORIZED] = {"unauthorized", 401},
    [BRO_E_FORBIDDEN] = {"forbidden", 403},
    [BRO_E_TOO_LARGE] = {"too-large", 413},
    [BRO_E_UNAVAILABLE] = {"unavailable", 503},
    [BRO_E_TIMEOUT] = {"timeout", 504},
    [BRO_E_DB] = {"database", 500},
    [BRO_E_REDIS] = {"redis", 500},
    [BRO_E_CONFIG] = {"config", 500},
    [BRO_E_RETRY] = {"retry", 503},
};

const char *bro_err_word(int code)
{
    if (code < 0 || code >= BRO_E__COUNT || bro_err_table[code].word == NULL)
        return "internal";
    return bro_err_table[code].word;
}

int bro_err_http_status(int code)
{
    if (code < 0 || code >= BRO_E__COUNT || bro_err_table[code].word == NULL)
        return 500;
    return bro_err_table[code].status;
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
