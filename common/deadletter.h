/* What an operator does with dead letters (bro:dead:<queue>, see queue.h): list them without
 * their bodies, run one again, or purge it. Shared by the gateway (listing and purging, over its
 * own asynchronous connection, with the script and page builder below), the worker's
 * dead-letter job (retry: only workers hold the key that opens a sealed body) and the admin CLI.
 *
 * A dead letter's id is "<queue>:<stream id>", e.g. "records:1764640000000-0", so one id names
 * it across the four streams. */
#ifndef BRO_DEADLETTER_H
#define BRO_DEADLETTER_H

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <msgpack.h>
#include <stdint.h>

#include "common/error.h"
#include "common/queue.h"

#define BRO_DEADLETTER_ID_MAX        72  /* bytes of an id, NUL included */
#define BRO_DEADLETTER_STREAM_ID_MAX 44  /* bytes of "<ms>-<seq>", NUL included */
#define BRO_DEADLETTER_LIMIT_MAX     200 /* dead letters on one page */

/* The queues whose dead letters an operator sees, in the order listings name them. */
extern const char *const bro_deadletter_queues[4];

/* Lists the newest dead letters of some queues in one round trip: no keys; ARGV[1] the newest
 * stream id to include ("+" for the newest of all), ARGV[2] how many per queue, ARGV[3..] the
 * queues. Returns {queue, entries, queue, entries, ...}, each entries as XREVRANGE gives them. */
extern const char *const bro_deadletter_list_lua;

/* Splits an id into its queue (one of bro_deadletter_queues) and stream id ("<ms>-<seq>").
 * Returns 0, or -1 when id does not have that shape. */
int bro_deadletter_parse_id(const char *id, char queue[BRO_QUEUE_NAME_MAX],
                            char stream_id[BRO_DEADLETTER_STREAM_ID_MAX]);

/* 1 when queue is one of bro_deadletter_queues. */
int bro_deadletter_known_queue(const char *queue);

/* Builds the page {"items": [...], "next_cursor": id|null} from the list script's reply (which
 * asked for limit + 2 per queue, from cursor's stream id): the dead letters after cursor (NULL:
 * from the newest), newest first, at most limit. Each item holds what an operator needs (id,
 * queue, kind, tenant, job_id, request_id, attempts, error, failed_at, size, retryable) and
 * never the body. Returns a new reference the caller owns, or NULL with err set. */
json_t *bro_deadletter_page(const redisReply *reply, const char *cursor, int limit, bro_err *err);

/* The same page, asked of Redis on q's connection. queue NULL lists all four. */
json_t *bro_deadletter_list(bro_queue *q, const char *queue, const char *cursor, int limit,
                            bro_err *err);

/* What a retry put back. */
typedef struct bro_deadletter_retried {
    char queue[BRO_QUEUE_NAME_MAX]; /* the queue it went back to */
    char kind[64];                  /* its job kind */
    char job[40];                   /* its job id (unchanged, so exactly-once still holds) */
    char tenant[32];                /* its tenant, "" for platform jobs */
} bro_deadletter_retried;

/* A retry between its two steps: the dead letter read and its envelope rearmed, nothing put
 * back yet. Filled by bro_deadletter_prepare, emptied by bro_deadletter_prepared_free. */
typedef struct bro_deadletter_prepared {
    char dead[BRO_QUEUE_NAME_MAX + 16];     /* the dead-letter stream's key */
    char stream[BRO_QUEUE_NAME_MAX + 8];    /* the queue's stream key */
    char sid[BRO_DEADLETTER_STREAM_ID_MAX]; /* the dead letter's stream id */
    msgpack_sbuffer env;                    /* the rearmed envelope, owned */
    bro_deadletter_retried info;            /* what the requeue puts back */
} bro_deadletter_prepared;

/* The first step of a retry: reads the dead letter id, opens its sealed envelope with q's
 * dead-letter key and rearms it (first attempt, no reply channel, deadline_ms). Nothing in
 * Redis changes. Free *p with bro_deadletter_prepared_free, also after a failure. Fails as
 * bro_deadletter_retry does. */
int bro_deadletter_prepare(bro_queue *q, const char *id, int64_t deadline_ms,
                           bro_deadletter_prepared *p, bro_err *err) BRO_MUST_USE;

/* The second step: in one script deletes the dead letter and appends the prepared job to its
 * queue, or does nothing when the dead letter is gone (BRO_E_NOT_FOUND): of two retries
 * prepared at once, only one puts the job back. *out gets what was put back. */
int bro_deadletter_requeue(bro_queue *q, const bro_deadletter_prepared *p,
                           bro_deadletter_retried *out, bro_err *err) BRO_MUST_USE;

/* Frees what a prepare kept; a zeroed or already freed *p is a no-op. */
void bro_deadletter_prepared_free(bro_deadletter_prepared *p);

/* Runs a dead letter again (bro_deadletter_prepare, then bro_deadletter_requeue): opens its
 * sealed envelope with q's dead-letter key, gives it a
 * first attempt, no reply channel (whoever asked is long gone) and deadline_ms (unix ms), and
 * in one script deletes the dead letter and appends the job to its queue, so of two retries
 * of one dead letter only one puts the job back. The job keeps its id: if it did commit once,
 * its stored reply is replayed instead of running it twice. Fails with BRO_E_NOT_FOUND when
 * no such dead letter exists (or another retry or purge took it), BRO_E_CONFLICT when it keeps
 * no body or q has not the key that sealed it. */
int bro_deadletter_retry(bro_queue *q, const char *id, int64_t deadline_ms,
                         bro_deadletter_retried *out, bro_err *err) BRO_MUST_USE;

/* Deletes one dead letter. Fails with BRO_E_NOT_FOUND when there is none of that id. */
int bro_deadletter_purge(bro_queue *q, const char *id, bro_err *err) BRO_MUST_USE;

/* Deletes every dead letter of queue; *n counts them. */
int bro_deadletter_purge_queue(bro_queue *q, const char *queue, long long *n,
                               bro_err *err) BRO_MUST_USE;

#endif
