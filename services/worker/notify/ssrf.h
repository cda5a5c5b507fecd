/* Where a webhook may be sent: the URL's form (https, or http to loopback where allowed; no
 * user info) and the addresses its host resolves to (no private, link-local, loopback or
 * metadata address unless the operator allows). Checked when an endpoint is saved (resolving
 * the host) and again at every attempt, on the address each new connection is made to. */
#ifndef BRO_NOTIFY_SSRF_H
#define BRO_NOTIFY_SSRF_H

#include <sys/socket.h>

#define BRO_SSRF_HOST_MAX 256
#define BRO_SSRF_ADDR_MAX 64 /* an address as text (INET6_ADDRSTRLEN and some) */

typedef enum bro_ssrf_class {
    BRO_SSRF_PUBLIC,
    BRO_SSRF_LOOPBACK, /* 127.0.0.0/8, ::1 */
    BRO_SSRF_PRIVATE,  /* 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7 */
    BRO_SSRF_LINK,     /* 169.254/16, fe80::/10 */
    BRO_SSRF_METADATA, /* 169.254.169.254, fd00:ec2::254: cloud instance metadata */
    BRO_SSRF_RESERVED, /* 0/8, multicast, broadcast, unspecified, documentation, 240/4 */
} bro_ssrf_class;

typedef struct bro_ssrf_policy {
    int allow_loopback; /* 1: loopback addresses, and http to them (tests, local receivers) */
    int allow_private;  /* 1: private, link-local and metadata addresses (on-premises partners) */
} bro_ssrf_policy;

/* A checked target. */
typedef struct bro_ssrf_target {
    char host[BRO_SSRF_HOST_MAX]; /* as in the URL, without brackets */
    int port;                     /* the URL's or the scheme's */
    int https;                    /* 1 for https */
    char addr[BRO_SSRF_ADDR_MAX]; /* bro_ssrf_check: the first address checked; else empty */
} bro_ssrf_target;

/* Classifies an IPv4 or IPv6 address (an IPv4-mapped IPv6 address as its IPv4). */
bro_ssrf_class bro_ssrf_classify(const struct sockaddr *sa);

/* Parses url into t->host, t->port, t->https. Returns 0, or -1 with why (English, naming no
 * value) in msg. */
int bro_ssrf_parse(const char *url, bro_ssrf_target *t, char *msg, size_t msglen);

/* The checks that need no DNS: parses url into t (t->addr left empty) and applies the http
 * rule (http only to a host named as loopback, where the operator allows loopback). Returns 0,
 * or -1 with why in msg. The delivery's first step; bro_ssrf_address_ok does the rest. */
int bro_ssrf_precheck(const char *url, const bro_ssrf_policy *policy, bro_ssrf_target *t, char *msg,
                      size_t msglen);

/* Whether a connection to sa (IPv4 or IPv6) may be made under policy; https 0 means the URL is
 * http, which only a loopback address allowed by the operator may take. Returns 0, or -1 with
 * why in msg. Called for the address a connection is about to use. */
int bro_ssrf_address_ok(const struct sockaddr *sa, const bro_ssrf_policy *policy, int https,
                        char *msg, size_t msglen);

/* Parses url, resolves its host and checks every address against policy (and http against
 * the loopback rule). Fills t, its addr the first address. Returns 0, or -1 with why in msg;
 * *unresolved is 1 when the host did not resolve (DNS may recover), 0 for a refusal. */
int bro_ssrf_check(const char *url, const bro_ssrf_policy *policy, bro_ssrf_target *t,
                   int *unresolved, char *msg, size_t msglen);

#endif
