/* Standard Webhooks signing with OpenSSL: HMAC-SHA256 (HMAC()) and EVP base64. Nothing here is
 * hand-written crypto: the code only joins the signed content and formats the result. */
#include "notify/sign.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bro_sign(const unsigned char *key, size_t keylen, const char *msg_id, long long timestamp,
             const char *body, size_t bodylen, char *out, size_t outlen)
{
    char head[128];
    int hn = snprintf(head, sizeof(head), "%s.%lld.", msg_id, timestamp);
    if (hn < 0 || (size_t)hn >= sizeof(head) || outlen < 3 + BRO_SIGN_B64_LEN)
        return -1;
    /* The signed content is one buffer: HMAC() is OpenSSL 3's one-shot call that is not
     * deprecated, and a body is small. */
    char *msg = malloc((size_t)hn + bodylen);
    if (msg == NULL)
        return -1;
    memcpy(msg, head, (size_t)hn);
    memcpy(msg + hn, body, bodylen);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    int ok = HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, (size_t)hn + bodylen,
                  mac, &maclen) != NULL;
    free(msg);
    if (!ok || maclen != 32)
        return -1;
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)maclen);
    return 0;
}

int bro_sign_new_secret(unsigned char key[BRO_SIGN_SECRET_LEN], char text[BRO_SIGN_TEXT_MAX])
{
    if (RAND_bytes(key, BRO_SIGN_SECRET_LEN) != 1)
        return -1;
    memcpy(text, "whsec_", 6);
    EVP_EncodeBlock((unsigned char *)text + 6, key, BRO_SIGN_SECRET_LEN);
    return 0;
}

int bro_sign_parse_secret(const char *text, unsigned char key[BRO_SIGN_SECRET_MAX])
{
    if (strncmp(text, "whsec_", 6) == 0)
        text += 6;
    size_t n = strlen(text);
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > BRO_SIGN_SECRET_MAX + 2)
        return -1;
    unsigned char buf[BRO_SIGN_SECRET_MAX + 3];
    int len = EVP_DecodeBlock(buf, (const unsigned char *)text, (int)n);
    if (len < 0)
        return -1;
    /* EVP_DecodeBlock counts the padding's zero bytes; the '=' say how many to drop. */
    len -= (text[n - 1] == '=') + (text[n - 2] == '=');
    if (len <= 0 || len > BRO_SIGN_SECRET_MAX)
        return -1;
    memcpy(key, buf, (size_t)len);
    return len;
}
