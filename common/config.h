/* Configuration from environment variables: one table (name, type, default, bounds), read
 * once at start-up. Every program reads the same variables; errors name the variable. */
#ifndef BRO_CONFIG_H
#define BRO_CONFIG_H

#include <stdio.h>

#include "common/error.h"

typedef struct bro_config {
    char pg[512];           /* BROBYGGER_PG: workers' libpq connection string */
    char pg_admin[512];     /* BROBYGGER_PG_ADMIN: owner connection (admin CLI only) */
    char redis[256];        /* BROBYGGER_REDIS: redis://host:port/db */
    char listen[128];       /* BROBYGGER_LISTEN: gateway API address host:port */
    char admin_listen[128]; /* BROBYGGER_ADMIN_LISTEN: /metrics and operator routes */
    int threads;            /* BROBYGGER_THREADS: gateway event loops; 0 in env = cores */
    char queues[256];       /* BROBYGGER_QUEUES: comma-separated queues a worker serves */
    int worker_concurrency; /* BROBYGGER_WORKER_CONCURRENCY: jobs one worker runs at once */
    int long_nice;          /* BROBYGGER_LONG_NICE: nice of long work and its backends */
    int log_level;          /* BROBYGGER_LOG: bro_log_level */
    int request_timeout_ms; /* BROBYGGER_REQUEST_TIMEOUT_MS: gateway waits this long for a reply */
    int visibility_ms;      /* BROBYGGER_VISIBILITY_MS: pending job reclaimed after this idle */
    int max_attempts;       /* BROBYGGER_MAX_ATTEMPTS: deliveries before dead-lettering */
    int retry_base_ms;      /* BROBYGGER_RETRY_BASE_MS: first backoff; doubles per attempt */
    int heartbeat_ttl_ms;   /* BROBYGGER_HEARTBEAT_TTL_MS: worker heartbeat lifetime */
    int auth_cache_ms;      /* BROBYGGER_AUTH_CACHE_MS: gateway trusts a resolved key this long */
    int max_body;           /* BROBYGGER_MAX_BODY: request body limit in bytes */
    int retention_hours;    /* BROBYGGER_RETENTION_HOURS: stored replies kept this long */
    int janitor_ms;         /* BROBYGGER_JANITOR_MS: how often a worker purges old replies */
    int header_timeout_ms;  /* BROBYGGER_HEADER_TIMEOUT_MS: a request's head must arrive by then */
    int body_timeout_ms;    /* BROBYGGER_BODY_TIMEOUT_MS: its body, after the head */
    int idle_timeout_ms;    /* BROBYGGER_IDLE_TIMEOUT_MS: a keep-alive connection may idle */
    int max_connections;    /* BROBYGGER_MAX_CONNECTIONS: open connections per gateway */
    int aof_rewrite_ms;     /* BROBYGGER_AOF_REWRITE_MS: Redis AOF rewrite period; 0 = never */
    int aof_erasure_delay_ms; /* BROBYGGER_AOF_ERASURE_DELAY_MS: rewrite this soon after erasure */
    char dead_letter_key[72]; /* BROBYGGER_DEAD_LETTER_KEY: 64 hex, "" = bodies not kept */
    char dead_letter_key_file[256]; /* BROBYGGER_DEAD_LETTER_KEY_FILE: file holding that key */
    int dead_letter_hours;          /* BROBYGGER_DEAD_LETTER_HOURS: dead letters kept this long */
    /* Rate limits of the gateway; a rate of 0 means no limit of that kind. */
    int rate_key;               /* BROBYGGER_RATE_KEY: requests/s per API key, sustained */
    int rate_key_burst;         /* BROBYGGER_RATE_KEY_BURST: requests per key at once */
    int rate_tenant;            /* BROBYGGER_RATE_TENANT: requests/s per tenant, sustained */
    int rate_tenant_burst;      /* BROBYGGER_RATE_TENANT_BURST: requests per tenant at once */
    int rate_auth;              /* BROBYGGER_RATE_AUTH: key checks/s per client address */
    int rate_auth_burst;        /* BROBYGGER_RATE_AUTH_BURST: key checks per address at once */
    char trusted_proxies[256];  /* BROBYGGER_TRUSTED_PROXIES: "a,b": X-Forwarded-For believed */
    int matching_cache_tenants; /* BROBYGGER_MATCHING_CACHE_TENANTS: rankings' cache; 0 = off */
} bro_config;

/* Fills cfg from the environment, falling back to documented defaults. On a bad value
 * returns -1 with err naming the variable; cfg is then partly filled and must not be used. */
int bro_config_load(bro_config *cfg, bro_err *err) BRO_MUST_USE;

/* Prints the table (name, default, meaning) as Markdown rows: README's source. */
void bro_config_describe(FILE *out);

/* Splits a redis:// URL into host (copied into host, hostlen bytes), port and database
 * number. Accepts redis://host, redis://host:port and redis://host:port/db. */
int bro_config_redis_url(const char *url, char *host, size_t hostlen, int *port, int *db,
                         bro_err *err) BRO_MUST_USE;

/* Splits "host:port" into its parts (host copied). */
int bro_config_hostport(const char *addr, char *host, size_t hostlen, int *port,
                        bro_err *err) BRO_MUST_USE;

#endif
