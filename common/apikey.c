/* API keys: generation from the OpenSSL CSPRNG, parsing, SHA-256 of the secret and a
 * constant-time comparison. */
#include "common/apikey.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

static const char bro_apikey_alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int bro_apikey_is_base62(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int bro_apikey_parse(const char *token, char id[BRO_APIKEY_ID_LEN + 1],
                     char secret[BRO_APIKEY_SECRET_LEN + 1])
{
    if (token == NULL || strlen(token) != BRO_APIKEY_LEN || strncmp(token, "bro_", 4) != 0 ||
        token[4 + BRO_APIKEY_ID_LEN] != '_')
        return -1;
    for (int i = 4; i < BRO_APIKEY_LEN; i++)
        if (i != 4 + BRO_APIKEY_ID_LEN && !bro_apikey_is_base62(token[i]))
            return -1;
    memcpy(id, token + 4, BRO_APIKEY_ID_LEN);
    id[BRO_APIKEY_ID_LEN] = '\0';
    memcpy(secret, token + 5 + BRO_APIKEY_ID_LEN, BRO_APIKEY_SECRET_LEN);
    secret[BRO_APIKEY_SECRET_LEN] = '\0';
    return 0;
}

/* Fills out with n base62 characters; bytes >= 248 are rejected so every character is
 * equally likely (248 = 4 * 62). */
static int bro_apikey_random(char *out, int n)
{
    unsigned char buf[64];
    int filled = 0;
    while (filled < n) {
        if (RAND_bytes(buf, sizeof(buf)) != 1)
            return -1;
        for (size_t i = 0; i < sizeof(buf) && filled < n; i++)
            if (buf[i] < 248)
                out[filled++] = bro_apikey_alphabet[buf[i] % 62];
    }
    out[n] = '\0';
    return 0;
}

int bro_apikey_generate(char id[BRO_APIKEY_ID_LEN + 1], char secret[BRO_APIKEY_SECRET_LEN + 1],
                        char key[BRO_APIKEY_LEN + 1], bro_err *err)
{
    if (bro_apikey_random(id, BRO_APIKEY_ID_LEN) < 0 ||
        bro_apikey_random(secret, BRO_APIKEY_SECRET_LEN) < 0)
        return bro_err_set(err, BRO_E_INTERNAL, "random generator failed");
    snprintf(key, BRO_APIKEY_LEN + 1, "bro_%s_%s", id, secret);
    return 0;
}

int bro_apikey_hash(const char *secret, char hex[BRO_APIKEY_HASH_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(secret, strlen(secret), md, &len, EVP_sha256(), NULL) != 1 || len != 32)
        return -1;
    for (unsigned int i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

int bro_apikey_hash_equal(const char *a, const char *b)
{
    if (strlen(a) != BRO_APIKEY_HASH_LEN || strlen(b) != BRO_APIKEY_HASH_LEN)
        return 0;
    return CRYPTO_memcmp(a, b, BRO_APIKEY_HASH_LEN) == 0;
}

int bro_apikey_role_valid(const char *role)
{
    static const char *const roles[] = {"platform_admin", "tenant_admin", "coordinator",
                                        "partner",        "reader",       NULL};
    for (int i = 0; roles[i]; i++)
        if (strcmp(role, roles[i]) == 0)
            return 1;
    return 0;
}
