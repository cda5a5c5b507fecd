/* Session tokens: the API-key format under the prefix brs_, the CSRF token derived from the
 * secret, and finding the session cookie in a Cookie header. */
#include "common/session.h"

#include <stdio.h>
#include <string.h>

int bro_session_parse(const char *token, char id[BRO_APIKEY_ID_LEN + 1],
                      char secret[BRO_APIKEY_SECRET_LEN + 1])
{
    char key[BRO_APIKEY_LEN + 1];
    if (token == NULL || strlen(token) != BRO_SESSION_LEN || strncmp(token, "brs_", 4) != 0)
        return -1;
    snprintf(key, sizeof(key), "bro_%s", token + 4);
    return bro_apikey_parse(key, id, secret);
}

int bro_session_generate(char id[BRO_APIKEY_ID_LEN + 1], char secret[BRO_APIKEY_SECRET_LEN + 1],
                         char token[BRO_SESSION_LEN + 1], bro_err *err)
{
    char key[BRO_APIKEY_LEN + 1];
    if (bro_apikey_generate(id, secret, key, err) < 0)
        return -1;
    snprintf(token, BRO_SESSION_LEN + 1, "brs_%s", key + 4);
    return 0;
}

int bro_session_csrf(const char *secret, char out[BRO_SESSION_CSRF_LEN + 1])
{
    char in[8 + BRO_APIKEY_SECRET_LEN + 1];
    snprintf(in, sizeof(in), "csrf:%s", secret);
    return bro_apikey_hash(in, out);
}

int bro_session_cookie(const char *header, const char *name, char *out, size_t n)
{
    size_t len = strlen(name);
    const char *p = header;
    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t seg = end ? (size_t)(end - p) : strlen(p);
        if (seg > len && strncmp(p, name, len) == 0 && p[len] == '=') {
            size_t vlen = seg - len - 1;
            if (vlen >= n)
                return -1;
            memcpy(out, p + len + 1, vlen);
            out[vlen] = '\0';
            return 0;
        }
        p = end;
    }
    return -1;
}
