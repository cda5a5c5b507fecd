/* Where Redis is: BROBYGGER_REDIS names one server (redis://host:port/db) or a set of Redis
 * Sentinels and the master they watch (redis-sentinel://host:port,host:port/<master>/db, as
 * Debian's redis-sentinel runs them). Every connection the programs open asks here first, so
 * after a failover the next connection goes to the new master. */
#ifndef BRO_REDISADDR_H
#define BRO_REDISADDR_H

#include <stddef.h>

#include "common/error.h"

#define BRO_REDISADDR_SENTINELS 8 /* sentinels one URL may name */

typedef struct bro_redis_addr {
    char host[128]; /* the server, or for sentinels the master last found; "" before that */
    int port;
    int db;                                          /* database number, 0..15 */
    int nsentinels;                                  /* 0: host and port are the server */
    char sentinel_host[BRO_REDISADDR_SENTINELS][64]; /* the sentinels, in the URL's order */
    int sentinel_port[BRO_REDISADDR_SENTINELS];
    char master[64]; /* the master's name the sentinels know */
} bro_redis_addr;

/* Parses url (either form; a sentinel's port defaults to 26379). Returns 0, or -1 with err
 * (BRO_E_CONFIG) naming BROBYGGER_REDIS. */
int bro_redis_addr_parse(const char *url, bro_redis_addr *a, bro_err *err) BRO_MUST_USE;

/* For sentinels: asks each in turn (timeout_ms to connect and to answer) for the master's
 * address and stores it in a->host and a->port; the first that answers wins. A direct address
 * is left as it is. Returns 0, or -1 with err (BRO_E_UNAVAILABLE) when no sentinel knew. */
int bro_redis_addr_resolve(bro_redis_addr *a, int timeout_ms, bro_err *err) BRO_MUST_USE;

#endif
