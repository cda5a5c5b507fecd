/* Rate limits: GCRA cells per API key, per tenant and per client address (for key checks), kept
 * in Redis and checked by one Lua script that also posts the job. rpc.c sends through it; the
 * answers (429 and the RateLimit fields) go out through http.c. */
#ifndef BRO_RATELIMIT_H
#define BRO_RATELIMIT_H

#include <hiredis/async.h>
#include <stddef.h>

#include "common/error.h"

#define BRO_RL_KEY    0 /* the API key of an authenticated request */
#define BRO_RL_TENANT 1 /* all keys of the key's tenant together */
#define BRO_RL_ADDR   2 /* key checks (auth.resolve jobs) caused by one client address */
#define BRO_RL_KINDS  3
#define BRO_RL_CELL   48 /* bytes of a cell's Redis key, NUL included */

typedef struct bro_gw bro_gw;
typedef struct bro_gw_req bro_gw_req;

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

#endif
