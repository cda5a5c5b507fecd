/* SSRF rules for webhook URLs. At creation a host is resolved and every address it has must
 * pass, since a client may connect to any of them; at delivery the URL's form is checked first
 * and then each address the client is about to connect to, so DNS that changes in between
 * (rebinding) cannot move a connection to an address the rules refuse. */
#include "notify/ssrf.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bro_ssrf_class bro_ssrf_classify4(const unsigned char *b)
{
    if (b[0] == 127)
        return BRO_SSRF_LOOPBACK;
    if (b[0] == 169 && b[1] == 254)
        return b[2] == 169 && b[3] == 254 ? BRO_SSRF_METADATA : BRO_SSRF_LINK;
    if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
        (b[0] == 100 && (b[1] & 0xc0) == 64))
        return BRO_SSRF_PRIVATE;
    if (b[0] == 0 || b[0] >= 224 || (b[0] == 192 && b[1] == 0 && b[2] == 2) ||
        (b[0] == 198 && (b[1] & 0xfe) == 18) || (b[0] == 198 && b[1] == 51 && b[2] == 100) ||
        (b[0] == 203 && b[1] == 0 && b[2] == 113) || (b[0] == 192 && b[1] == 0 && b[2] == 0))
        return BRO_SSRF_RESERVED;
    return BRO_SSRF_PUBLIC;
}

bro_ssrf_class bro_ssrf_classify(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return bro_ssrf_classify4(
            (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr);
    if (sa->sa_family != AF_INET6)
        return BRO_SSRF_RESERVED;
    const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char zeros[15] = {0};
    static const unsigned char metadata[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0,    0,
                                               0,    0,    0,    0,    0, 0, 0x02, 0x54};
    if (memcmp(b, mapped, 12) == 0)
        return bro_ssrf_classify4(b + 12);
    if (memcmp(b, zeros, 15) == 0)
        return b[15] == 1 ? BRO_SSRF_LOOPBACK : BRO_SSRF_RESERVED;
    if (memcmp(b, metadata, 16) == 0)
        return BRO_SSRF_METADATA;
    if ((b[0] & 0xfe) == 0xfc)
        return BRO_SSRF_PRIVATE;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return BRO_SSRF_LINK;
    if (b[0] == 0xff || (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8))
        return BRO_SSRF_RESERVED;
    return BRO_SSRF_PUBLIC;
}

static int bro_ssrf_fail(char *msg, size_t msglen, const char *why)
{
    snprintf(msg, msglen, "%s", why);
    return -1;
}

/* The authority's host and port: [v6]:port, host:port or host. */
static int bro_ssrf_authority(const char *a, size_t n, bro_ssrf_target *t, char *msg, size_t msglen)
{
    const char *colon = NULL;
    size_t hlen;
    const char *h = a;
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (close == NULL)
            return bro_ssrf_fail(msg, msglen, "the URL's IPv6 address is not closed");
        h = a + 1;
        hlen = (size_t)(close - h);
        if ((size_t)(close + 1 - a) < n) {
            if (close[1] != ':')
                return bro_ssrf_fail(msg, msglen, "the URL's authority is malformed");
            colon = close + 1;
        }
    } else {
        colon = memchr(a, ':', n);
        hlen = colon ? (size_t)(colon - a) : n;
    }
    if (hlen == 0 || hlen >= BRO_SSRF_HOST_MAX)
        return bro_ssrf_fail(msg, msglen, "the URL needs a host");
    memcpy(t->host, h, hlen);
    t->host[hlen] = '\0';
    for (size_t i = 0; i < hlen; i++)
        if (!(t->host[i] == '.' || t->host[i] == '-' || t->host[i] == ':' || t->host[i] == '_' ||
              (t->host[i] >= '0' && t->host[i] <= '9') ||
              (t->host[i] >= 'a' && t->host[i] <= 'z') || (t->host[i] >= 'A' && t->host[i] <= 'Z')))
            return bro_ssrf_fail(msg, msglen, "the URL's host has characters a host cannot have");
    t->port = t->https ? 443 : 80;
    if (colon) {
        size_t plen = n - (size_t)(colon + 1 - a);
        char port[8];
        if (plen == 0 || plen > 5)
            return bro_ssrf_fail(msg, msglen, "the URL's port must be 1 to 65535");
        memcpy(port, colon + 1, plen);
        port[plen] = '\0';
        char *end;
        long v = strtol(port, &end, 10);
        if (*end != '\0' || v < 1 || v > 65535)
            return bro_ssrf_fail(msg, msglen, "the URL's port must be 1 to 65535");
        t->port = (int)v;
    }
    return 0;
}

int bro_ssrf_parse(const char *url, bro_ssrf_target *t, char *msg, size_t msglen)
{
    memset(t, 0, sizeof(*t));
    const char *rest;
    if (strncasecmp(url, "https://", 8) == 0) {
        t->https = 1;
        rest = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        rest = url + 7;
    } else {
        return bro_ssrf_fail(msg, msglen, "must be an https:// URL");
    }
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return bro_ssrf_fail(msg, msglen, "must not contain spaces or non-ASCII characters");
    size_t n = strcspn(rest, "/?#");
    if (rest[n] == '#' || strchr(rest, '#'))
        return bro_ssrf_fail(msg, msglen, "must not have a fragment");
    if (memchr(rest, '@', n))
        return bro_ssrf_fail(msg, msglen, "must not carry user information");
    return bro_ssrf_authority(rest, n, t, msg, msglen);
}

static int bro_ssrf_allowed(bro_ssrf_class c, const bro_ssrf_policy *p)
{
    switch (c) {
    case BRO_SSRF_PUBLIC:
        return 1;
    case BRO_SSRF_LOOPBACK:
        return p->allow_loopback || p->allow_private;
    case BRO_SSRF_PRIVATE:
    case BRO_SSRF_LINK:
    case BRO_SSRF_METADATA:
        return p->allow_private;
    default:
        return 0;
    }
}

int bro_ssrf_precheck(const char *url, const bro_ssrf_policy *policy, bro_ssrf_target *t, char *msg,
                      size_t msglen)
{
    if (bro_ssrf_parse(url, t, msg, msglen) < 0)
        return -1;
    /* http goes to loopback alone: a name that is not loopback by itself is refused before
     * anything is resolved. */
    if (!t->https && !(policy->allow_loopback &&
                       (strcmp(t->host, "localhost") == 0 || strncmp(t->host, "127.", 4) == 0 ||
                        strcmp(t->host, "::1") == 0)))
        return bro_ssrf_fail(msg, msglen, "must be an https:// URL");
    return 0;
}

/* Why class c is refused, for msg. */
static const char *bro_ssrf_why(bro_ssrf_class c)
{
    return c == BRO_SSRF_LOOPBACK   ? "the URL's host is a loopback address"
           : c == BRO_SSRF_METADATA ? "the URL's host is a cloud metadata address"
           : c == BRO_SSRF_PUBLIC   ? "the URL's host is refused"
                                    : "the URL's host is a private, link-local or reserved address";
}

int bro_ssrf_address_ok(const struct sockaddr *sa, const bro_ssrf_policy *policy, int https,
                        char *msg, size_t msglen)
{
    bro_ssrf_class c = bro_ssrf_classify(sa);
    if (!bro_ssrf_allowed(c, policy))
        return bro_ssrf_fail(msg, msglen, bro_ssrf_why(c));
    if (!https && !(c == BRO_SSRF_LOOPBACK && policy->allow_loopback))
        return bro_ssrf_fail(msg, msglen, "must be an https:// URL");
    return 0;
}

int bro_ssrf_check(const char *url, const bro_ssrf_policy *policy, bro_ssrf_target *t,
                   int *unresolved, char *msg, size_t msglen)
{
    *unresolved = 0;
    if (bro_ssrf_precheck(url, policy, t, msg, msglen) < 0)
        return -1;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char port[8];
    snprintf(port, sizeof(port), "%d", t->port);
    if (getaddrinfo(t->host, port, &hints, &res) != 0 || res == NULL) {
        *unresolved = 1;
        return bro_ssrf_fail(msg, msglen, "the URL's host does not resolve");
    }
    int rc = 0;
    for (struct addrinfo *ai = res; ai && rc == 0; ai = ai->ai_next)
        rc = bro_ssrf_address_ok(ai->ai_addr, policy, t->https, msg, msglen);
    if (rc == 0) {
        const void *a = res->ai_family == AF_INET
                            ? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                            : (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
        char text[BRO_SSRF_ADDR_MAX - 2];
        inet_ntop(res->ai_family, a, text, sizeof(text));
        snprintf(t->addr, sizeof(t->addr), res->ai_family == AF_INET6 ? "[%s]" : "%s", text);
    }
    freeaddrinfo(res);
    return rc;
}
