/* AES-256-GCM sealing for blobs that must not be readable where they are stored (dead-letter
 * bodies in Redis). Layout of a sealed blob: version byte 1, 12-byte nonce, ciphertext, 16-byte
 * tag. The key is loaded once from configuration and wiped when the process is done with it. */
#include "common/seal.h"

#include <ctype.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

#define BRO_SEAL_VERSION  1
#define BRO_SEAL_FILE_MAX 256 /* bytes read from a key file; a key is 64 plus a newline */

static int bro_seal_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The id names a key without revealing it: the first 8 bytes of SHA-256 over a label and the
 * key, so an operator can tell which key sealed a blob after a rotation. */
static int bro_seal_key_id(bro_seal_key *key)
{
    static const char label[] = "brobygger seal key id";
    unsigned char in[sizeof(label) + BRO_SEAL_KEY_LEN], md[32];
    unsigned int mdlen = 0;
    memcpy(in, label, sizeof(label));
    memcpy(in + sizeof(label), key->bytes, BRO_SEAL_KEY_LEN);
    int ok = EVP_Digest(in, sizeof(in), md, &mdlen, EVP_sha256(), NULL);
    OPENSSL_cleanse(in, sizeof(in));
    if (!ok)
        return -1;
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        key->id[2 * i] = digits[md[i] >> 4];
        key->id[2 * i + 1] = digits[md[i] & 15];
    }
    key->id[16] = '\0';
    return 0;
}

int bro_seal_key_parse(bro_seal_key *key, const char *hex, const char *name, bro_err *err)
{
    memset(key, 0, sizeof(*key));
    if (strlen(hex) != BRO_SEAL_KEY_HEX)
        return bro_err_set(err, BRO_E_CONFIG, "%s: must be %d hexadecimal characters", name,
                           BRO_SEAL_KEY_HEX);
    unsigned char any = 0;
    for (int i = 0; i < BRO_SEAL_KEY_LEN; i++) {
        int hi = bro_seal_hexval((unsigned char)hex[2 * i]);
        int lo = bro_seal_hexval((unsigned char)hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            bro_seal_key_wipe(key);
            return bro_err_set(err, BRO_E_CONFIG, "%s: must be %d hexadecimal characters", name,
                               BRO_SEAL_KEY_HEX);
        }
        key->bytes[i] = (unsigned char)(hi << 4 | lo);
        any |= key->bytes[i];
    }
    if (any == 0)
        return bro_err_set(err, BRO_E_CONFIG, "%s: a key of zeros is not a key", name);
    if (bro_seal_key_id(key) < 0) {
        bro_seal_key_wipe(key);
        return bro_err_set(err, BRO_E_INTERNAL, "%s: SHA-256 failed", name);
    }
    return 0;
}

/* Reads the key file into buf (NUL-terminated, trailing whitespace cut). */
static int bro_seal_read_file(const char *path, const char *name, char *buf, size_t size,
                              bro_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bro_err_set(err, BRO_E_CONFIG, "%s_FILE: cannot open the key file", name);
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & 077))
        bro_log_warn(NULL, "%s_FILE: the key file can be read by others than its owner", name);
    size_t n = 0;
    ssize_t got;
    while (n + 1 < size && (got = read(fd, buf + n, size - 1 - n)) > 0)
        n += (size_t)got;
    close(fd);
    buf[n] = '\0';
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    return 0;
}

int bro_seal_key_load(bro_seal_key *key, const char *hex, const char *path, const char *name,
                      int *loaded, bro_err *err)
{
    *loaded = 0;
    memset(key, 0, sizeof(*key));
    int have_hex = hex && hex[0], have_path = path && path[0];
    if (have_hex && have_path)
        return bro_err_set(err, BRO_E_CONFIG, "%s and %s_FILE: set one of them, not both", name,
                           name);
    if (!have_hex && !have_path)
        return 0;
    if (have_hex) {
        if (bro_seal_key_parse(key, hex, name, err) < 0)
            return -1;
        *loaded = 1;
        return 0;
    }
    char buf[BRO_SEAL_FILE_MAX];
    char file_name[96];
    snprintf(file_name, sizeof(file_name), "%s_FILE", name);
    int rc = bro_seal_read_file(path, name, buf, sizeof(buf), err);
    if (rc == 0)
        rc = bro_seal_key_parse(key, buf, file_name, err);
    OPENSSL_cleanse(buf, sizeof(buf));
    if (rc < 0)
        return -1;
    *loaded = 1;
    return 0;
}

void bro_seal_key_wipe(bro_seal_key *key)
{
    if (key)
        OPENSSL_cleanse(key, sizeof(*key));
}

/* One GCM pass: encrypting (enc 1) or decrypting (enc 0) in into out, with the tag written
 * (enc) or checked (dec). Returns 0, or -1 (for decryption: the tag did not match). */
static int bro_seal_gcm(int enc, const bro_seal_key *key, const unsigned char *nonce,
                        const void *aad, size_t aadlen, const unsigned char *in, size_t len,
                        unsigned char *out, unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, ok = ctx != NULL;
    ok = ok && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, BRO_SEAL_NONCE_LEN, NULL) == 1;
    ok = ok && EVP_CipherInit_ex(ctx, NULL, NULL, key->bytes, nonce, enc) == 1;
    if (ok && aadlen > 0)
        ok = EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen) == 1;
    if (ok && len > 0)
        ok = EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1;
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, BRO_SEAL_TAG_LEN, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(ctx, out + (len > 0 ? n : 0), &n) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, BRO_SEAL_TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

int bro_seal(const bro_seal_key *key, const void *aad, size_t aadlen, const void *plain, size_t len,
             unsigned char **out, size_t *outlen, bro_err *err)
{
    *out = NULL;
    *outlen = 0;
    if (len > BRO_SEAL_MAX || aadlen > BRO_SEAL_MAX)
        return bro_err_set(err, BRO_E_TOO_LARGE, "seal: more than %d bytes", BRO_SEAL_MAX);
    unsigned char *buf = malloc(len + BRO_SEAL_OVERHEAD);
    if (buf == NULL)
        return bro_err_set(err, BRO_E_NOMEM, "out of memory");
    buf[0] = BRO_SEAL_VERSION;
    unsigned char *nonce = buf + 1, *ct = buf + 1 + BRO_SEAL_NONCE_LEN, *tag = ct + len;
    if (RAND_bytes(nonce, BRO_SEAL_NONCE_LEN) != 1 ||
        bro_seal_gcm(1, key, nonce, aad, aadlen, plain, len, ct, tag) < 0) {
        free(buf);
        return bro_err_set(err, BRO_E_INTERNAL, "seal: encryption failed");
    }
    *out = buf;
    *outlen = len + BRO_SEAL_OVERHEAD;
    return 0;
}

int bro_seal_open(const bro_seal_key *key, const void *aad, size_t aadlen, const void *sealed,
                  size_t len, unsigned char **out, size_t *outlen, bro_err *err)
{
    *out = NULL;
    *outlen = 0;
    const unsigned char *in = sealed;
    if (len < BRO_SEAL_OVERHEAD || len - BRO_SEAL_OVERHEAD > BRO_SEAL_MAX ||
        aadlen > BRO_SEAL_MAX || in[0] != BRO_SEAL_VERSION)
        return bro_err_set(err, BRO_E_DECODE, "seal: not a sealed blob");
    size_t n = len - BRO_SEAL_OVERHEAD;
    unsigned char *buf = malloc(n ? n : 1);
    if (buf == NULL)
        return bro_err_set(err, BRO_E_NOMEM, "out of memory");
    unsigned char tag[BRO_SEAL_TAG_LEN];
    memcpy(tag, in + 1 + BRO_SEAL_NONCE_LEN + n, BRO_SEAL_TAG_LEN);
    if (bro_seal_gcm(0, key, in + 1, aad, aadlen, in + 1 + BRO_SEAL_NONCE_LEN, n, buf, tag) < 0) {
        OPENSSL_cleanse(buf, n);
        free(buf);
        return bro_err_set(err, BRO_E_DECODE, "seal: wrong key or changed data");
    }
    *out = buf;
    *outlen = n;
    return 0;
}
