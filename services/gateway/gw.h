/* The gateway's per-thread context (event loop, Redis connections, pending requests, key cache)
 * and the life of one HTTP request while it waits for workers. Everything here is owned by one
 * thread; only the metrics are shared, and they are atomic counters. This header includes no
 * other gateway header that includes it. */
#ifndef BRO_GW_H
#define BRO_GW_H

#include <event2/event.h>
#include <event2/event_struct.h>
#include <hiredis/async.h>
#include <stdint.h>

#include "common/apikey.h"
#include "common/config.h"
#include "common/ids.h"
#include "conn.h"
#include "ratelimit.h"
#include "routes.h"

#define BRO_GW_PENDING_BUCKETS 1024 /* pending-request hash buckets per thread */
#define BRO_GW_AUTH_BUCKETS    256  /* key cache hash buckets per thread */
#define BRO_GW_AUTH_MAX        4096 /* cached keys per thread before the cache is flushed */

typedef struct bro_metrics bro_metrics;
typedef struct bro_rpc_result bro_rpc_result;

/* Called exactly once when a request's wait on Redis ends (rpc.h says how); res is borrowed
 * for the call. The callback may answer r or start another wait; it never frees r. */
typedef void (*bro_rpc_done_fn)(bro_gw_req *r, const bro_rpc_result *res);

/* Called exactly once when a key that had to be resolved is decided (auth.h's verdicts); res is
 * the key check's own outcome when it did not get a usable answer, else NULL. */
typedef void (*bro_auth_done_fn)(bro_gw_req *r, int verdict, const bro_rpc_result *res);

/* What a key resolves to, cached per thread. */
typedef struct bro_gw_key {
    char id[BRO_APIKEY_ID_LEN + 1];     /* key id */
    char hash[BRO_APIKEY_HASH_LEN + 1]; /* hex SHA-256 of the secret, "" if unknown key */
    char tenant[32];                    /* "" for platform keys */
    char role[24];                      /* role name */
    char org[40];                       /* partner organisation, "" otherwise */
    unsigned role_bit;                  /* BRO_ROLE_* of role */
    int active;                         /* 0: revoked, expired or unknown */
    int session;                        /* web: 1 for a sign-in session (id: its id) */
    char user[BRO_UUID_LEN + 1];        /* web: a session's user, "" for keys */
    int64_t fetched_ms;                 /* when it was resolved */
    struct bro_gw_key *next;            /* hash chain */
} bro_gw_key;

/* One HTTP request from arrival to answer. Freed by bro_gw_req_release once answered and no
 * Redis callback still refers to it. */
struct bro_gw_req {
    bro_gw *gw;                         /* owning thread */
    bro_conn_req *req;                  /* NULL once answered */
    const bro_route *route;             /* matched route */
    int route_index;                    /* for metrics */
    bro_route_params params;            /* the path's parameters */
    char req_id[65];                    /* X-Request-Id */
    char key_id[BRO_APIKEY_ID_LEN + 1]; /* from the Authorization header */
    char secret[BRO_APIKEY_SECRET_LEN + 1];
    bro_gw_key key;             /* the caller, once authenticated */
    int by_session;             /* web: 1 when the caller came with the session cookie */
    int waiting_auth;           /* 1: the awaited job is an auth.resolve */
    int gone;                   /* 1: the client went away before its answer (499) */
    bro_auth_done_fn auth_done; /* auth.c: who hears of the key check; NULL when none */
    int64_t start_us;           /* monotonic arrival time */
    int64_t deadline_ms;        /* unix ms */
    bro_rl_outcome rl;          /* rate limits of the last post (ratelimit.c) */
    /* The wait on Redis: rpc.c's. */
    bro_rpc_done_fn done;          /* fires once when the wait ends; NULL when not waiting */
    char job_id[BRO_UUID_LEN + 1]; /* job awaited, "" when none */
    struct event timer;            /* deadline timer, when armed */
    int timer_armed;               /* 1 while timer is pending */
    int redis_refs;                /* Redis callbacks that still hold this request */
    int in_pending;                /* 1 while in the pending table */
    unsigned posts;                /* jobs posted for this request so far (a key check, its job) */
    bro_gw_req *next;              /* pending-table chain */
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

/* Frees r once it is answered (r->req NULL), not waiting, and no Redis callback holds it;
 * otherwise does nothing, and the last of those calls it again. */
void bro_gw_req_release(bro_gw_req *r);

#endif
