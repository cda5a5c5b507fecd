/* The gateway's shared types: the per-thread context (event loop, Redis connections, pending
 * requests, key cache) and the life of one HTTP request while it waits for workers. Everything
 * here is owned by one thread; only the metrics are shared, and they are atomic counters. */
#ifndef BRO_GATEWAY_H
#define BRO_GATEWAY_H

#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/http.h>
#include <hiredis/async.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>

#include "common/apikey.h"
#include "common/config.h"
#include "common/ids.h"
#include "conn.h"

#define BRO_GW_PENDING_BUCKETS 1024 /* pending-request hash buckets per thread */
#define BRO_GW_AUTH_BUCKETS    256  /* key cache hash buckets per thread */
#define BRO_GW_AUTH_MAX        4096 /* cached keys per thread before the cache is flushed */
#define BRO_GW_PARAMS_MAX      3    /* path parameters per route */

/* Role bits for the route table. */
#define BRO_ROLE_PLATFORM_ADMIN 0x01
#define BRO_ROLE_TENANT_ADMIN   0x02
#define BRO_ROLE_COORDINATOR    0x04
#define BRO_ROLE_PARTNER        0x08
#define BRO_ROLE_READER         0x10
#define BRO_ROLE_ANY            0x1f

typedef struct bro_gw bro_gw;
typedef struct bro_gw_req bro_gw_req;
typedef struct bro_metrics bro_metrics;

#define BRO_BODY_NONE   0 /* no body */
#define BRO_BODY_OBJECT 1 /* a JSON object or msgpack map */
#define BRO_BODY_OR_CSV 2 /* as above, or a text/csv file passed on as {"csv": text} */

/* A route handled in the gateway itself (health, identity, operations). */
typedef void (*bro_gw_local_fn)(bro_gw_req *r);

typedef struct bro_route {
    enum evhttp_cmd_type method; /* EVHTTP_REQ_GET, ... */
    const char *pattern;         /* "/v1/candidates/{id}"; {id} uuid, {slug}, {key_id} */
    const char *kind;            /* job kind, or NULL for a local route */
    bro_gw_local_fn local;       /* local handler when kind is NULL */
    unsigned roles;              /* BRO_ROLE_* allowed; 0 means no key needed */
    const char *queue;           /* queue the job goes to */
    int body;                    /* BRO_BODY_*: what the request must carry */
    unsigned flags;              /* BRO_ROUTE_* */
} bro_route;

/* After a job of this route succeeds, the keys it names may have changed: forget them. */
#define BRO_ROUTE_CHANGES_KEYS 0x1

/* The rows, generated from schemas/openapi.yaml (surface_routes.c in the build directory). */
extern const bro_route bro_routes_table[];
extern const int bro_routes_table_n;

/* What a key resolves to, cached per thread. */
typedef struct bro_gw_key {
    char id[BRO_APIKEY_ID_LEN + 1];     /* key id */
    char hash[BRO_APIKEY_HASH_LEN + 1]; /* hex SHA-256 of the secret, "" if unknown key */
    char tenant[32];                    /* "" for platform keys */
    char role[24];                      /* role name */
    char org[40];                       /* partner organisation, "" otherwise */
    unsigned role_bit;                  /* BRO_ROLE_* of role */
    int active;                         /* 0: revoked, expired or unknown */
    int64_t fetched_ms;                 /* when it was resolved */
    struct bro_gw_key *next;            /* hash chain */
} bro_gw_key;

/* ---- ratelimit.c: GCRA limits per key, per tenant and per client address ---- */
#define BRO_RL_KEY    0 /* the API key of an authenticated request */
#define BRO_RL_TENANT 1 /* all keys of the key's tenant together */
#define BRO_RL_ADDR   2 /* key checks (auth.resolve jobs) caused by one client address */
#define BRO_RL_KINDS  3
#define BRO_RL_CELL   48 /* bytes of a cell's Redis key, NUL included */

/* The limits one post of a request went through, and what the script said of them. */
typedef struct bro_rl_outcome {
    int ncells;                           /* cells checked by the last post; 0: no limit applied */
    int kind[BRO_RL_KINDS];               /* BRO_RL_* of each cell, in the script's order */
    char cell[BRO_RL_KINDS][BRO_RL_CELL]; /* Redis key of each cell: bro:rl:k:<key id>, ... */
    int answered;                         /* 1 once the script's answer is in */
    int refused;                          /* index of the cell that refused + 1; 0: posted */
    long long wait_ms;                    /* refused: until one more request would pass */
    long long left[BRO_RL_KINDS];         /* requests the cell still allows right now */
    long long reset_ms[BRO_RL_KINDS];     /* until the cell's full burst is back */
} bro_rl_outcome;

/* One HTTP request from arrival to answer. Freed when answered and no Redis callback still
 * refers to it (redis_refs). */
struct bro_gw_req {
    bro_gw *gw;                                 /* owning thread */
    bro_conn_req *req;                          /* NULL once answered */
    const bro_route *route;                     /* matched route */
    int route_index;                            /* for metrics */
    const char *param_names[BRO_GW_PARAMS_MAX]; /* borrowed from the route pattern */
    char param_values[BRO_GW_PARAMS_MAX][40];   /* copies of the path segments */
    int nparams;                                /* entries used above */
    char req_id[65];                            /* X-Request-Id */
    char job_id[BRO_UUID_LEN + 1];              /* job awaited, "" when none */
    int waiting_auth;                           /* 1: the awaited job is an auth.resolve */
    char key_id[BRO_APIKEY_ID_LEN + 1];         /* from the Authorization header */
    char secret[BRO_APIKEY_SECRET_LEN + 1];
    bro_gw_key key;      /* the caller, once authenticated */
    int64_t start_us;    /* monotonic arrival time */
    int64_t deadline_ms; /* unix ms */
    struct event timer;  /* deadline timer, when armed */
    int timer_armed;     /* 1 while timer is pending */
    int redis_refs;      /* Redis callbacks that still hold this request */
    int in_pending;      /* 1 while in the pending table */
    bro_rl_outcome rl;   /* rate limits of the last post (ratelimit.c) */
    bro_gw_req *next;    /* pending-table chain */
};

struct bro_gw {
    int index;               /* thread number */
    const bro_config *cfg;   /* shared, read-only */
    const char *instance;    /* gateway instance id */
    bro_metrics *metrics;    /* shared atomic counters */
    struct event_base *base; /* this thread's loop */
    bro_conn_server *http;   /* API server on this loop's SO_REUSEPORT socket */
    char redis_host[128];    /* from BROBYGGER_REDIS */
    int redis_port;
    int redis_db;
    redisAsyncContext *cmd; /* commands; NULL while down */
    redisAsyncContext *sub; /* reply subscription; NULL while down */
    int sub_ready;          /* 1 once SUBSCRIBE is confirmed */
    struct event reconnect; /* retry timer after a drop */
    char channel[128];      /* bro:reply:<instance>:<index> */
    bro_gw_req *pending[BRO_GW_PENDING_BUCKETS];
    int npending;
    bro_gw_key *keys[BRO_GW_AUTH_BUCKETS];
    int nkeys;
    char rl_sha[41]; /* hex SHA-1 of the rate-limit script, for EVALSHA (ratelimit.c) */
};

/* ---- routes.c ---- */
/* Finds the route for method and path. Returns it and fills r's params, or NULL with *allow
 * set to the methods that path accepts (0 when the path is unknown: 404). */
const bro_route *bro_routes_match(enum evhttp_cmd_type method, const char *path, bro_gw_req *r,
                                  unsigned *allow, int *index);
int bro_routes_count(void);
const bro_route *bro_routes_at(int i);
/* Writes "GET, POST" for a method bit set into buf. */
void bro_routes_allow_text(unsigned allow, char *buf, size_t n);
/* "GET", "POST", ... for one method. */
const char *bro_routes_method_name(enum evhttp_cmd_type method);
unsigned bro_routes_role_bit(const char *role);

/* Prints the route table to out, one route per line: method, pattern, job kind or "local", and
 * the roles as comma-separated names ("-" when no key is needed), separated by tabs. */
void bro_routes_print(FILE *out);

/* ---- openapi.c and the document generated from schemas/openapi.yaml at build time ---- */
extern const char bro_openapi_doc[];     /* the document as JSON text, NUL-terminated */
extern const size_t bro_openapi_doc_len; /* its length in bytes, without the NUL */
extern const char bro_openapi_etag[];    /* quoted entity tag derived from the text */
/* GET /v1/openapi.json: answers the document with its ETag, or 304 for If-None-Match. */
void bro_openapi_serve(bro_gw_req *r);

/* ---- http.c ---- */
void bro_http_problem(bro_gw_req *r, int status, const char *word, const char *detail,
                      const char *field);
void bro_http_json(bro_gw_req *r, int status, const char *json, size_t len);
void bro_http_reply_body(bro_gw_req *r, int status, int is_error, const msgpack_object *body);
void bro_http_finish(bro_gw_req *r, int status, struct evbuffer *out);
/* Small doors into the HTTP layer for modules that otherwise need not know it (ratelimit.c). */
/* Adds a response header to r's answer (name and value copied); nothing once r is answered. */
void bro_http_add_header(bro_gw_req *r, const char *name, const char *value);
/* The value of the last request header called name (case-insensitive), or NULL; borrowed from
 * r, valid until r is answered. */
const char *bro_http_last_header(bro_gw_req *r, const char *name);
/* Copies the numeric address of r's peer into out (n bytes). Returns 0, or -1 when unknown. */
int bro_http_peer_addr(bro_gw_req *r, char *out, size_t n);

/* ---- ratelimit.c (the types are above bro_gw_req) ---- */
/* Checks BROBYGGER_TRUSTED_PROXIES and computes the script's SHA-1 into gw. Returns 0, or -1
 * after logging a message that names the variable. */
int bro_ratelimit_init(bro_gw *gw) BRO_MUST_USE;
/* Sends SCRIPT LOAD of the limit script on c, a command connection just opened, so EVALSHA
 * finds it there (commands on one connection run in order). */
void bro_ratelimit_load(bro_gw *gw, redisAsyncContext *c);
/* Chooses the cells r's next post goes through: key and tenant for a job, the client address
 * for a key check (r->waiting_auth). Returns their number; 0 means no limit applies and the
 * job goes out as a plain XADD. */
int bro_ratelimit_prepare(bro_gw_req *r);
/* Sends the post of env (len bytes, still owned by the caller) to stream through the limit
 * script on gw->cmd: EVALSHA, or EVAL of the script's text when eval is 1 (after NOSCRIPT).
 * cb gets the reply with privdata. Returns 0, or -1 when nothing was sent. */
int bro_ratelimit_send(bro_gw_req *r, int eval, const char *stream, const char *env, size_t len,
                       redisCallbackFn *cb, void *privdata) BRO_MUST_USE;
/* Reads the script's reply into r->rl. Returns 0 when the job was posted, 1 when a limit refused
 * it (nothing was posted), -1 for a reply that is not the script's answer. */
int bro_ratelimit_verdict(bro_gw_req *r, const redisReply *rep);
/* Answers r with 429: problem+json naming the limit, Retry-After, RateLimit-Policy, RateLimit. */
void bro_ratelimit_refuse(bro_gw_req *r);
/* Adds RateLimit-Policy and RateLimit to r's answer when the script answered for its post. */
void bro_ratelimit_headers(bro_gw_req *r);
/* "key", "tenant" or "address": a limit's name in headers, problems and metrics. */
const char *bro_ratelimit_name(int kind);

/* ---- rpc.c ---- */
int bro_rpc_start(bro_gw *gw);
void bro_rpc_stop(bro_gw *gw);
/* Posts a job for r (kind, tenant from r->key unless platform) with body; r waits for the
 * reply under r->job_id. Answers r itself with 503 when Redis is down. */
void bro_rpc_post(bro_gw_req *r, const char *kind, const char *queue, const char *tenant,
                  const char *body, size_t body_len);
/* Runs one Redis command for a local route; cb gets the reply (NULL on failure). */
int bro_rpc_command(bro_gw_req *r, redisCallbackFn *cb, int argc, const char **argv);
void bro_rpc_release(bro_gw_req *r);

/* ---- auth.c ---- */
/* Authenticates r from its Authorization header; continues with bro_server_dispatch once the
 * key is known, or answers 401/403 itself. */
void bro_auth_check(bro_gw_req *r);
void bro_auth_resolved(bro_gw_req *r, int status, const msgpack_object *body);
void bro_auth_forget(bro_gw *gw, const char *key_id);
void bro_auth_free_all(bro_gw *gw);

/* ---- server.c ---- */
void bro_server_dispatch(bro_gw_req *r);
int bro_server_start(bro_gw *gw);

/* ---- admin.c ---- */
struct bro_metrics {
    unsigned long long requests[64][6];     /* [route index][status class 0..5], atomic */
    unsigned long long latency_buckets[13]; /* cumulative-style filled at scrape */
    unsigned long long latency_count;
    unsigned long long latency_sum_us;
    unsigned long long auth_hits, auth_misses, redis_errors, timeouts;
    long long in_flight;
    bro_conn_stats conn;   /* connections of both listeners */
    bro_conn_limits api;   /* the API listener's limits */
    bro_conn_limits admin; /* the admin listener's */
    /* Rate limits (ratelimit.c). */
    unsigned long long rate_limited[BRO_RL_KINDS]; /* 429s per limit, BRO_RL_* index, atomic */
};
void bro_admin_observe(bro_gw_req *r, int status);
/* Starts the admin listener on base; the caller frees the result with bro_conn_server_free. */
bro_conn_server *bro_admin_start(struct event_base *base, const bro_config *cfg, bro_metrics *m);
void bro_admin_readyz(bro_gw_req *r);
void bro_admin_queues(bro_gw_req *r);
void bro_admin_workers(bro_gw_req *r);
void bro_admin_me(bro_gw_req *r);
void bro_admin_healthz(bro_gw_req *r);

#endif
