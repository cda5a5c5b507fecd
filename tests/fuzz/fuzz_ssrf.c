/* libFuzzer target: the webhook URL rules (services/worker/notify/ssrf.c) on arbitrary text,
 * the parts that need no DNS. What passes must be what a connection can be made from: a host
 * of host characters only and under its limit, a port 1-65535, no user information, and http
 * only to a host named as loopback where the policy allows loopback. The first 16 bytes are
 * also classified as an IPv4 and an IPv6 address, and an IPv4-mapped IPv6 address must be
 * classified as its IPv4. */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "services/worker/notify/ssrf.c"

#define FUZZ_SSRF_MAX 4096 /* longer inputs say nothing new */

static void fuzz_ssrf_target_ok(const char *url, const bro_ssrf_target *t)
{
    size_t n = strlen(t->host);
    if (n == 0 || n >= BRO_SSRF_HOST_MAX || t->port < 1 || t->port > 65535)
        __builtin_trap();
    if (strspn(t->host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:") != n)
        __builtin_trap();
    const char *rest = strstr(url, "://") + 3;
    if (memchr(rest, '@', strcspn(rest, "/?#")) || strchr(url, '#'))
        __builtin_trap();
}

static void fuzz_ssrf_url(const char *url)
{
    bro_ssrf_target t;
    char msg[128];
    if (bro_ssrf_parse(url, &t, msg, sizeof(msg)) == 0)
        fuzz_ssrf_target_ok(url, &t);
    else if (msg[0] == '\0')
        __builtin_trap(); /* a refusal always says why */
    static const bro_ssrf_policy policies[3] = {{0, 0}, {1, 0}, {0, 1}};
    for (int i = 0; i < 3; i++) {
        if (bro_ssrf_precheck(url, &policies[i], &t, msg, sizeof(msg)) < 0)
            continue;
        fuzz_ssrf_target_ok(url, &t);
        if (!t.https && (!policies[i].allow_loopback ||
                         (strcmp(t.host, "localhost") != 0 && strncmp(t.host, "127.", 4) != 0 &&
                          strcmp(t.host, "::1") != 0)))
            __builtin_trap();
    }
}

static void fuzz_ssrf_addresses(const uint8_t *data, size_t size)
{
    unsigned char b[16] = {0};
    memcpy(b, data, size < 16 ? size : 16);
    struct sockaddr_in v4 = {0};
    v4.sin_family = AF_INET;
    memcpy(&v4.sin_addr, b, 4);
    struct sockaddr_in6 v6 = {0}, mapped = {0};
    v6.sin6_family = mapped.sin6_family = AF_INET6;
    memcpy(v6.sin6_addr.s6_addr, b, 16);
    memcpy(mapped.sin6_addr.s6_addr + 10, "\xff\xff", 2);
    memcpy(mapped.sin6_addr.s6_addr + 12, b, 4);
    bro_ssrf_class c4 = bro_ssrf_classify((const struct sockaddr *)&v4);
    bro_ssrf_class c6 = bro_ssrf_classify((const struct sockaddr *)&v6);
    if (c4 > BRO_SSRF_RESERVED || c6 > BRO_SSRF_RESERVED ||
        bro_ssrf_classify((const struct sockaddr *)&mapped) != c4)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_ssrf_addresses(data, size);
    if (size > FUZZ_SSRF_MAX)
        return 0;
    char *url = malloc(size + 1);
    if (url == NULL)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0'; /* the rules take C strings; a NUL inside ends the URL early */
    fuzz_ssrf_url(url);
    free(url);
    return 0;
}
