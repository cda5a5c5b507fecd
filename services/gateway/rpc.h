/* The gateway's side of the job queue: a request posts a job (or a local route sends one Redis
 * command) and waits; its completion callback fires exactly once, as hiredis's do, whatever
 * ends the wait: a reply, the deadline, a rate limit, or Redis lost. This module knows nothing
 * of keys or of HTTP answers: what a result means to the client is the callback's business. */
#ifndef BRO_RPC_H
#define BRO_RPC_H

#include <hiredis/hiredis.h>
#include <msgpack.h>
#include <stddef.h>

#include "gw.h"

/* Why a wait ended. */
enum {
    BRO_RPC_REPLY,       /* the answer came: a worker's reply, or Redis's to a command */
    BRO_RPC_TIMEOUT,     /* the request's deadline passed first */
    BRO_RPC_LIMITED,     /* a rate limit refused the post (r->rl says which); nothing was posted */
    BRO_RPC_UNREACHABLE, /* nothing was sent: Redis is not connected */
    BRO_RPC_LOST,        /* sent, but Redis did not take it or the connection went (or stops) */
    BRO_RPC_INVALID,     /* the job could not be made into an envelope: err_code says why */
    BRO_RPC_GONE,        /* the client went away first; whatever is answered goes nowhere */
};

/* The end of one wait, borrowed by the callback for the length of the call. */
struct bro_rpc_result {
    int outcome;                /* BRO_RPC_* */
    int status;                 /* REPLY to a job: the worker's HTTP status */
    int is_error;               /* REPLY to a job: 1 when body is a problem */
    const msgpack_object *body; /* REPLY to a job: the body, or NULL */
    const redisReply *reply;    /* REPLY to a command: Redis's answer, never NULL */
    const char *why;            /* otherwise: one sentence for a log or an answer */
    int err_code;               /* INVALID: BRO_E_TOO_LARGE or another BRO_E_* */
};

/* A job to post: the envelope's kind, queue, tenant ("" for the platform) and Idempotency-Key
 * (NULL for none), and the body as msgpack (body_len bytes, still owned by the caller). */
typedef struct bro_rpc_job {
    const char *kind;
    const char *queue;
    const char *tenant;
    const char *idem;
    const char *body;
    size_t body_len;
} bro_rpc_job;

/* Connects this thread's two Redis connections (commands, and the reply subscription) and keeps
 * them up. Returns 0, or -1 after logging why (configuration). */
int bro_rpc_start(bro_gw *gw);
/* Ends r's wait, if it is waiting, with BRO_RPC_GONE, and lets go of r once nothing else holds
 * it: its client went away. A reply that comes later finds nobody. */
void bro_rpc_abandon(bro_gw_req *r);

/* Ends every wait of gw with BRO_RPC_LOST and closes the connections. */
void bro_rpc_stop(bro_gw *gw);

/* Posts job for r, with the caller named by r->key, and waits for the reply under a new job id
 * until r->deadline_ms. done fires exactly once, possibly before this returns (nothing could be
 * sent). r must not be waiting already. */
void bro_rpc_post(bro_gw_req *r, const bro_rpc_job *job, bro_rpc_done_fn done);

/* Sends one Redis command (argv strings, copied) for r and waits for Redis's answer until
 * r->deadline_ms; done fires exactly once, possibly before this returns. */
void bro_rpc_command(bro_gw_req *r, int argc, const char **argv, bro_rpc_done_fn done);

#endif
