/* Standard Webhooks signatures: `v1,` and the base64 of HMAC-SHA256 over
 * "<webhook-id>.<webhook-timestamp>.<body>" keyed with the secret's decoded bytes, and the
 * `whsec_` form in which a secret is shown once. OpenSSL does the HMAC and the base64. */
#ifndef BRO_NOTIFY_SIGN_H
#define BRO_NOTIFY_SIGN_H

#include <stddef.h>

#include "common/error.h"

#define BRO_SIGN_SECRET_LEN 24  /* bytes of a new signing secret */
#define BRO_SIGN_SECRET_MAX 64  /* bytes a stored secret may have */
#define BRO_SIGN_B64_LEN    45  /* base64 of a SHA-256 digest (44) and NUL */
#define BRO_SIGN_TEXT_MAX   100 /* "whsec_" + base64 of BRO_SIGN_SECRET_MAX bytes, and NUL */

/* Writes "v1,<base64>" into out (at least 3 + BRO_SIGN_B64_LEN bytes) for the message id,
 * timestamp (unix seconds) and body under key (keylen bytes). Returns 0, or -1 when OpenSSL
 * failed. */
int bro_sign(const unsigned char *key, size_t keylen, const char *msg_id, long long timestamp,
             const char *body, size_t bodylen, char *out, size_t outlen) BRO_MUST_USE;

/* Fills key with BRO_SIGN_SECRET_LEN random bytes and text with its "whsec_<base64>" form.
 * Returns 0, or -1 when the random generator failed. */
int bro_sign_new_secret(unsigned char key[BRO_SIGN_SECRET_LEN],
                        char text[BRO_SIGN_TEXT_MAX]) BRO_MUST_USE;

/* Decodes "whsec_<base64>" (or bare base64) into key; returns the key's length, or -1. */
int bro_sign_parse_secret(const char *text, unsigned char key[BRO_SIGN_SECRET_MAX]);

#endif
