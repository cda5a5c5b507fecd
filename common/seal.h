/* Authenticated encryption of small blobs under a key that lives outside Redis: AES-256-GCM
 * (OpenSSL EVP) with a fresh random 96-bit nonce per blob. Dead letters keep a failed job's
 * envelope sealed this way, so Redis and its files hold only ciphertext while a retry by an
 * operator can still recover the job. */
#ifndef BRO_SEAL_H
#define BRO_SEAL_H

#include <stddef.h>

#include "common/error.h"

#define BRO_SEAL_KEY_LEN   32                /* bytes of an AES-256 key */
#define BRO_SEAL_KEY_HEX   64                /* hexadecimal characters of a key */
#define BRO_SEAL_NONCE_LEN 12                /* bytes of the GCM nonce */
#define BRO_SEAL_TAG_LEN   16                /* bytes of the GCM tag */
#define BRO_SEAL_OVERHEAD  (1 + 12 + 16)     /* version byte, nonce and tag around the ciphertext */
#define BRO_SEAL_MAX       (4 * 1024 * 1024) /* bytes of plaintext one call accepts */

typedef struct bro_seal_key {
    unsigned char bytes[BRO_SEAL_KEY_LEN]; /* the key; wiped by bro_seal_key_wipe */
    char id[17]; /* 16 hex characters naming the key (not secret): which key sealed a blob */
} bro_seal_key;

/* Parses 64 hexadecimal characters (either case) into key and derives its id. A key of all
 * zeros is refused (a placeholder, not a key). Errors name `name`, the variable it came from. */
int bro_seal_key_parse(bro_seal_key *key, const char *hex, const char *name,
                       bro_err *err) BRO_MUST_USE;

/* Loads the key named by configuration: the hex text itself (variable `name`) or a file holding
 * it (variable `name`_FILE; trailing whitespace ignored); giving both is an error. *loaded is 1
 * when a key was loaded, 0 when neither is set. A key file others may read is accepted with a
 * warning in the log. Returns 0, or -1 with err naming the variable. */
int bro_seal_key_load(bro_seal_key *key, const char *hex, const char *path, const char *name,
                      int *loaded, bro_err *err) BRO_MUST_USE;

/* Overwrites the key material. NULL is a no-op. */
void bro_seal_key_wipe(bro_seal_key *key);

/* Encrypts len bytes of plain, binding aad (authenticated, not encrypted; may be NULL with
 * aadlen 0). *out receives a new buffer of len + BRO_SEAL_OVERHEAD bytes, owned by the caller
 * (free), and *outlen its length. Returns 0, or -1 with err set. */
int bro_seal(const bro_seal_key *key, const void *aad, size_t aadlen, const void *plain, size_t len,
             unsigned char **out, size_t *outlen, bro_err *err) BRO_MUST_USE;

/* Reverses bro_seal: checks the tag over the ciphertext and aad, and returns the plaintext in a
 * new buffer the caller frees. A wrong key, changed bytes or different aad fail with
 * BRO_E_DECODE and no output. */
int bro_seal_open(const bro_seal_key *key, const void *aad, size_t aadlen, const void *sealed,
                  size_t len, unsigned char **out, size_t *outlen, bro_err *err) BRO_MUST_USE;

#endif
