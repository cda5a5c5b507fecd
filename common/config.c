/* Configuration: one table of environment variables with defaults and bounds, read once.
 * Every error names the variable at fault. */
#include "common/config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

typedef enum bro_config_type { BRO_CFG_STR, BRO_CFG_INT, BRO_CFG_LEVEL } bro_config_type;

typedef struct bro_config_entry {
    const char *name;     /* environment variable */
    bro_config_type type; /* how to parse it */
    const char *def;      /* default, as text */
    long min, max;        /* bounds for integers */
    size_t offset;        /* into bro_config */
    size_t size;          /* buffer size for strings */
    const char *meaning;  /* one line for README */
} bro_config_entry;

#define BRO_CFG_S(n, field, d, m)                                                                  \
    {                                                                                              \
        n, BRO_CFG_STR, d, 0, 0, offsetof(bro_config, field), sizeof(((bro_config *)0)->field), m  \
    }
#define BRO_CFG_I(n, field, d, lo, hi, m)                                                          \
    {                                                                                              \
        n, BRO_CFG_INT, d, lo, hi, offsetof(bro_config, field), 0, m                               \
    }

static const bro_config_entry bro_config_table[] = {
    BRO_CFG_S("BROBYGGER_PG", pg, "postgresql://brobygger_worker@127.0.0.1:5432/brobygger",
              "workers' libpq connection string"),
    BRO_CFG_S("BROBYGGER_PG_ADMIN", pg_admin, "postgresql://postgres@127.0.0.1:5432/brobygger",
              "owner connection for migrations and tenant creation (admin CLI only)"),
    BRO_CFG_S(
        "BROBYGGER_REDIS", redis, "redis://127.0.0.1:6379/0",
        "Redis, or its Sentinels and master: redis-sentinel://host:port,host:port/<master>/db"),
    BRO_CFG_S("BROBYGGER_LISTEN", listen, "127.0.0.1:8080", "gateway API address"),
    BRO_CFG_S("BROBYGGER_ADMIN_LISTEN", admin_listen, "127.0.0.1:9090",
              "`/metrics` and operator routes"),
    BRO_CFG_I("BROBYGGER_THREADS", threads, "0", 0, 256,
              "gateway event-loop threads (0: one per core)"),
    BRO_CFG_S("BROBYGGER_QUEUES", queues, "records,matching,notify,reports",
              "queues a worker serves (`--queues` wins)"),
    BRO_CFG_I("BROBYGGER_WORKER_CONCURRENCY", worker_concurrency, "16", 1, 256,
              "jobs one worker runs at once, each on its own PostgreSQL connection "
              "(`--concurrency` wins)"),
    BRO_CFG_I("BROBYGGER_LONG_NICE", long_nice, "10", 0, 19,
              "nice value of long work (a worker without records, a records worker's long runs, "
              "deliveries) and of its PostgreSQL backends, so it yields the CPU to interactive "
              "work (0: none)"),
    {"BROBYGGER_LOG", BRO_CFG_LEVEL, "info", 0, 0, offsetof(bro_config, log_level), 0,
     "log level: debug, info, warn, error"},
    BRO_CFG_I("BROBYGGER_REQUEST_TIMEOUT_MS", request_timeout_ms, "5000", 10, 600000,
              "how long the gateway waits for a worker's reply (then 504)"),
    BRO_CFG_I("BROBYGGER_VISIBILITY_MS", visibility_ms, "30000", 100, 86400000,
              "a job pending this long with a silent worker is reclaimed"),
    BRO_CFG_I("BROBYGGER_MAX_ATTEMPTS", max_attempts, "5", 1, 100,
              "deliveries before a job goes to the dead letters"),
    BRO_CFG_I("BROBYGGER_RETRY_BASE_MS", retry_base_ms, "500", 1, 600000,
              "first retry delay; doubles per attempt, with jitter"),
    BRO_CFG_I("BROBYGGER_HEARTBEAT_TTL_MS", heartbeat_ttl_ms, "10000", 1000, 600000,
              "lifetime of a worker heartbeat"),
    BRO_CFG_I("BROBYGGER_AUTH_CACHE_MS", auth_cache_ms, "2000", 0, 60000,
              "how long a gateway trusts a resolved key (bounds revocation delay)"),
    BRO_CFG_I("BROBYGGER_MAX_BODY", max_body, "1048576", 1024, 67108864,
              "request body limit in bytes (then 413)"),
    BRO_CFG_I("BROBYGGER_RETENTION_HOURS", retention_hours, "168", 1, 87600,
              "hours stored replies (exactly-once records, Idempotency-Key answers) are kept"),
    BRO_CFG_I("BROBYGGER_JANITOR_MS", janitor_ms, "600000", 500, 86400000,
              "how often a records worker deletes stored replies past their retention"),
    BRO_CFG_I("BROBYGGER_HEADER_TIMEOUT_MS", header_timeout_ms, "10000", 100, 3600000,
              "from a request's first byte to the end of its head (then 408 and close)"),
    BRO_CFG_I("BROBYGGER_BODY_TIMEOUT_MS", body_timeout_ms, "30000", 100, 3600000,
              "from the end of the head to the end of the body, and the longest stalled write"),
    BRO_CFG_I("BROBYGGER_IDLE_TIMEOUT_MS", idle_timeout_ms, "60000", 100, 3600000,
              "how long a connection may wait with no request in progress (then closed)"),
    BRO_CFG_I("BROBYGGER_MAX_CONNECTIONS", max_connections, "10000", 1, 1000000,
              "open connections per gateway process before new ones are answered 503"),
    BRO_CFG_I("BROBYGGER_AOF_REWRITE_MS", aof_rewrite_ms, "3600000", 0, 604800000,
              "how often one worker has Redis rewrite its append-only file, so deleted jobs "
              "leave the disk (0: never)"),
    BRO_CFG_I("BROBYGGER_AOF_ERASURE_DELAY_MS", aof_erasure_delay_ms, "5000", 0, 3600000,
              "how soon after a candidate's erasure the append-only file is rewritten"),
    BRO_CFG_S("BROBYGGER_DEAD_LETTER_KEY", dead_letter_key, "",
              "64 hex characters: AES-256-GCM key that seals dead letters' bodies (workers only; "
              "unset: bodies are not kept)"),
    BRO_CFG_S("BROBYGGER_DEAD_LETTER_KEY_FILE", dead_letter_key_file, "",
              "a file holding that key instead (owner-readable only)"),
    BRO_CFG_I("BROBYGGER_DEAD_LETTER_HOURS", dead_letter_hours, "168", 1, 87600,
              "hours a dead letter is kept before the janitor deletes it"),
    /* Rate limits (services/gateway/ratelimit.c): requests per second sustained, and the
     * burst a client may send at once; a rate of 0 turns that limit off. */
    BRO_CFG_I("BROBYGGER_RATE_KEY", rate_key, "50", 0, 1000000,
              "requests per second one API key may make, sustained (0: no limit)"),
    BRO_CFG_I("BROBYGGER_RATE_KEY_BURST", rate_key_burst, "100", 1, 1000000,
              "requests one API key may make at once"),
    BRO_CFG_I("BROBYGGER_RATE_TENANT", rate_tenant, "200", 0, 1000000,
              "requests per second all keys of one tenant may make together (0: no limit)"),
    BRO_CFG_I("BROBYGGER_RATE_TENANT_BURST", rate_tenant_burst, "400", 1, 1000000,
              "requests all keys of one tenant may make at once"),
    BRO_CFG_I("BROBYGGER_RATE_AUTH", rate_auth, "50", 0, 1000000,
              "key checks (keys not in the gateway's cache) per second per client address (0: no "
              "limit)"),
    BRO_CFG_I("BROBYGGER_RATE_AUTH_BURST", rate_auth_burst, "500", 1, 1000000,
              "key checks one client address may cause at once"),
    BRO_CFG_S("BROBYGGER_TRUSTED_PROXIES", trusted_proxies, "127.0.0.1",
              "comma-separated addresses of proxies whose `X-Forwarded-For` names the client"),
    BRO_CFG_I("BROBYGGER_MATCHING_CACHE_TENANTS", matching_cache_tenants, "16", 0, 256,
              "tenants whose openings a worker keeps for the rankings; 0 = no cache"),
};
#define BRO_CONFIG_N (sizeof(bro_config_table) / sizeof(bro_config_table[0]))

static int bro_config_set(bro_config *cfg, const bro_config_entry *e, const char *value,
                          bro_err *err)
{
    char *dst = (char *)cfg + e->offset;
    if (e->type == BRO_CFG_STR) {
        if (strlen(value) >= e->size)
            return bro_err_set(err, BRO_E_CONFIG, "%s: longer than %zu bytes", e->name,
                               e->size - 1);
        memcpy(dst, value, strlen(value) + 1);
        return 0;
    }
    if (e->type == BRO_CFG_LEVEL) {
        int level = bro_log_level_parse(value);
        if (level < 0)
            return bro_err_set(err, BRO_E_CONFIG, "%s: must be debug, info, warn or error",
                               e->name);
        *(int *)dst = level;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end != '\0')
        return bro_err_set(err, BRO_E_CONFIG, "%s: not an integer", e->name);
    if (v < e->min || v > e->max)
        return bro_err_set(err, BRO_E_CONFIG, "%s: must be between %ld and %ld", e->name, e->min,
                           e->max);
    *(int *)dst = (int)v;
    return 0;
}

int bro_config_load(bro_config *cfg, bro_err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < BRO_CONFIG_N; i++) {
        const char *v = getenv(bro_config_table[i].name);
        if (v == NULL || v[0] == '\0')
            v = bro_config_table[i].def;
        if (bro_config_set(cfg, &bro_config_table[i], v, err) < 0)
            return -1;
    }
    if (cfg->threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->threads = cores > 0 ? (int)(cores > 256 ? 256 : cores) : 1;
    }
    return 0;
}

void bro_config_describe(FILE *out)
{
    fprintf(out, "| variable | default | meaning |\n| --- | --- | --- |\n");
    for (size_t i = 0; i < BRO_CONFIG_N; i++)
        fprintf(out, "| `%s` | `%s` | %s |\n", bro_config_table[i].name, bro_config_table[i].def,
                bro_config_table[i].meaning);
}

static int bro_config_port(const char *s, int *port)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || (*end != '\0' && *end != '/') || v < 1 || v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

int bro_config_hostport(const char *addr, char *host, size_t hostlen, int *port, bro_err *err)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || (size_t)(colon - addr) >= hostlen ||
        bro_config_port(colon + 1, port) < 0 || strchr(colon + 1, '/'))
        return bro_err_set(err, BRO_E_CONFIG, "address \"%.60s\" is not host:port", addr);
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    return 0;
}

int bro_config_redis_url(const char *url, char *host, size_t hostlen, int *port, int *db,
                         bro_err *err)
{
    static const char scheme[] = "redis://";
    if (strncmp(url, scheme, sizeof(scheme) - 1) != 0)
        return bro_err_set(err, BRO_E_CONFIG, "BROBYGGER_REDIS: must start with redis://");
    const char *h = url + sizeof(scheme) - 1;
    const char *slash = strchr(h, '/');
    const char *colon = strchr(h, ':');
    if (colon && slash && colon > slash)
        colon = NULL;
    const char *hend = colon ? colon : (slash ? slash : h + strlen(h));
    if (hend == h || (size_t)(hend - h) >= hostlen)
        return bro_err_set(err, BRO_E_CONFIG, "BROBYGGER_REDIS: bad host");
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    *port = 6379;
    *db = 0;
    if (colon && bro_config_port(colon + 1, port) < 0)
        return bro_err_set(err, BRO_E_CONFIG, "BROBYGGER_REDIS: bad port");
    if (slash && slash[1] != '\0') {
        char *end;
        long v = strtol(slash + 1, &end, 10);
        if (*end != '\0' || v < 0 || v > 15)
            return bro_err_set(err, BRO_E_CONFIG, "BROBYGGER_REDIS: bad database number");
        *db = (int)v;
    }
    return 0;
}
