/* Staff sign-in sessions as the cookie carries them: brs_<8 char id>_<32 char secret>, the
 * shape of an API key under its own prefix, so the two can never be taken for each other. The
 * CSRF token is derived from the secret, so it needs no storage and only the holder of the
 * cookie can know it. */
#ifndef BRO_SESSION_H
#define BRO_SESSION_H

#include <stddef.h>

#include "common/apikey.h"
#include "common/error.h"

#define BRO_SESSION_LEN      BRO_APIKEY_LEN /* 45 */
#define BRO_SESSION_CSRF_LEN 64             /* hex */
#define BRO_SESSION_COOKIE   "bro_session"  /* the cookie's name */

/* Splits a session token into id and secret (NUL-terminated copies). Returns 0, or -1 when the
 * token is not exactly brs_<id>_<secret> in base62. */
int bro_session_parse(const char *token, char id[BRO_APIKEY_ID_LEN + 1],
                      char secret[BRO_APIKEY_SECRET_LEN + 1]) BRO_MUST_USE;

/* Makes a new session id, secret and token from the OpenSSL CSPRNG. Returns 0, or -1 with err
 * set when the generator fails. */
int bro_session_generate(char id[BRO_APIKEY_ID_LEN + 1], char secret[BRO_APIKEY_SECRET_LEN + 1],
                         char token[BRO_SESSION_LEN + 1], bro_err *err) BRO_MUST_USE;

/* Writes the session's CSRF token (hex SHA-256 of "csrf:" and the secret) and a NUL into out.
 * Returns 0 or -1. */
int bro_session_csrf(const char *secret, char out[BRO_SESSION_CSRF_LEN + 1]) BRO_MUST_USE;

/* Finds the value of cookie name in a Cookie header and copies it into out (n bytes). Returns
 * 0, or -1 when absent or longer than n - 1. */
int bro_session_cookie(const char *header, const char *name, char *out, size_t n) BRO_MUST_USE;

#endif
