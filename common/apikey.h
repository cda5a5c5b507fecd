/* API keys: bro_<8 char id>_<32 char secret>, both base62. Only the SHA-256 of the secret is
 * stored; the id finds the row. OpenSSL provides the randomness and the hash. */
#ifndef BRO_APIKEY_H
#define BRO_APIKEY_H

#include "common/error.h"

#define BRO_APIKEY_ID_LEN     8
#define BRO_APIKEY_SECRET_LEN 32
#define BRO_APIKEY_LEN        (4 + BRO_APIKEY_ID_LEN + 1 + BRO_APIKEY_SECRET_LEN) /* 45 */
#define BRO_APIKEY_HASH_LEN   64                                                  /* hex SHA-256 */

/* Splits a key into id and secret (NUL-terminated copies). Returns 0, or -1 when the token is
 * not exactly the documented format (prefix, lengths, alphabet). */
int bro_apikey_parse(const char *token, char id[BRO_APIKEY_ID_LEN + 1],
                     char secret[BRO_APIKEY_SECRET_LEN + 1]) BRO_MUST_USE;

/* Makes a new key from the OpenSSL CSPRNG (unbiased base62). Returns 0, or -1 with err set
 * when the generator fails. */
int bro_apikey_generate(char id[BRO_APIKEY_ID_LEN + 1], char secret[BRO_APIKEY_SECRET_LEN + 1],
                        char key[BRO_APIKEY_LEN + 1], bro_err *err) BRO_MUST_USE;

/* Writes the lowercase hex SHA-256 of secret and a NUL into hex. Returns 0 or -1. */
int bro_apikey_hash(const char *secret, char hex[BRO_APIKEY_HASH_LEN + 1]) BRO_MUST_USE;

/* Compares two hex hashes in constant time; returns 1 when equal. */
int bro_apikey_hash_equal(const char *a, const char *b);

/* Returns 1 when role is one of the five roles of API.md. */
int bro_apikey_role_valid(const char *role);

#endif
