/* BROBYGGER_REDIS (redisaddr.h): a server's address, or sentinels asked for the master's. */
#include "common/redisaddr.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/config.h"

static const char bro_redisaddr_scheme[] = "redis-sentinel://";

/* "host[:port]" of one sentinel, n bytes of s. */
static int bro_redisaddr_sentinel(bro_redis_addr *a, const char *s, size_t n, bro_err *err)
{
    char hp[96];
    if (n == 0 || n >= sizeof(hp) || a->nsentinels == BRO_REDISADDR_SENTINELS)
        return bro_err_set(err, BRO_E_CONFIG, "BROBYGGER_REDIS: bad sentinel list");
    memcpy(hp, s, n);
    hp[n] = '\0';
    int i = a->nsentinels;
    a->sentinel_port[i] = 26379;
    if (strchr(hp, ':') == NULL) {
        if (n >= sizeof(a->sentinel_host[i]))
            return bro_err_set(err, BRO_E_CONFIG, "BROBYGGER_REDIS: bad sentinel host");
        memcpy(a->sentinel_host[i], hp, n + 1);
    } else if (bro_config_hostport(hp, a->sentinel_host[i], sizeof(a->sentinel_host[i]),
                                   &a->sentinel_port[i], err) < 0) {
        return bro_err_set(err, BRO_E_CONFIG, "BROBYGGER_REDIS: bad sentinel \"%.60s\"", hp);
    }
    a->nsentinels++;
    return 0;
}

int bro_redis_addr_parse(const char *url, bro_redis_addr *a, bro_err *err)
{
    memset(a, 0, sizeof(*a));
    if (strncmp(url, bro_redisaddr_scheme, sizeof(bro_redisaddr_scheme) - 1) != 0)
        return bro_config_redis_url(url, a->host, sizeof(a->host), &a->port, &a->db, err);
    const char *s = url + sizeof(bro_redisaddr_scheme) - 1;
    const char *slash = strchr(s, '/');
    if (slash == NULL)
        return bro_err_set(err, BRO_E_CONFIG,
                           "BROBYGGER_REDIS: redis-sentinel://sentinels/"
                           "<master name>[/db]");
    for (const char *p = s; p < slash;) {
        const char *comma = memchr(p, ',', (size_t)(slash - p));
        const char *end = comma ? comma : slash;
        if (bro_redisaddr_sentinel(a, p, (size_t)(end - p), err) < 0)
            return -1;
        p = end + (comma != NULL);
    }
    if (a->nsentinels == 0)
        return bro_err_set(err, BRO_E_CONFIG, "BROBYGGER_REDIS: no sentinel named");
    const char *name = slash + 1, *dbs = strchr(name, '/');
    size_t n = dbs ? (size_t)(dbs - name) : strlen(name);
    if (n == 0 || n >= sizeof(a->master) || strcspn(name, " \t\r\n") < n)
        return bro_err_set(err, BRO_E_CONFIG, "BROBYGGER_REDIS: bad master name");
    memcpy(a->master, name, n);
    a->master[n] = '\0';
    if (dbs && dbs[1]) {
        char *end;
        long v = strtol(dbs + 1, &end, 10);
        if (*end != '\0' || v < 0 || v > 15)
            return bro_err_set(err, BRO_E_CONFIG, "BROBYGGER_REDIS: bad database number");
        a->db = (int)v;
    }
    return 0;
}

/* One sentinel's answer: 0 with the master's address in a, or -1. */
static int bro_redisaddr_ask(bro_redis_addr *a, int i, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(a->sentinel_host[i], a->sentinel_port[i], tv);
    if (c == NULL || c->err) {
        if (c)
            redisFree(c);
        return -1;
    }
    redisSetTimeout(c, tv);
    redisReply *r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", a->master);
    int rc = -1;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING &&
        r->element[0]->len < sizeof(a->host)) {
        int port = atoi(r->element[1]->str);
        if (port > 0 && port < 65536) {
            snprintf(a->host, sizeof(a->host), "%s", r->element[0]->str);
            a->port = port;
            rc = 0;
        }
    }
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return rc;
}

int bro_redis_addr_resolve(bro_redis_addr *a, int timeout_ms, bro_err *err)
{
    for (int i = 0; i < a->nsentinels; i++)
        if (bro_redisaddr_ask(a, i, timeout_ms) == 0)
            return 0;
    if (a->nsentinels == 0)
        return 0;
    return bro_err_set(err, BRO_E_UNAVAILABLE, "no sentinel named a master for %s", a->master);
}
