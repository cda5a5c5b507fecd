/* The job queue on Redis streams with one consumer group per stream. At-least-once: a job is
 * acknowledged only after its transaction commits; a job left pending by a dead worker is
 * reclaimed with XAUTOCLAIM; retries wait in a delayed sorted set; failures end in a
 * dead-letter stream. This is the synchronous side used by workers and the admin CLI; the
 * gateway posts with its own asynchronous connection using the same key names.
 *
 * Redis keys (all prefixed "bro:"):
 *   bro:q:<queue>        stream; field "e" holds one msgpack envelope
 *   bro:delayed:<queue>  sorted set; member = envelope, score = due time (unix ms)
 *   bro:dead:<queue>     stream; fields "e", "error", "stream_id", "at"
 *   bro:workers          sorted set; member = worker id, score = last heartbeat (unix ms)
 *   bro:worker:<id>      string (JSON: queues, started, jobs_done) with a TTL
 *   bro:reply:<name>     pub/sub channel a gateway thread listens on; message = msgpack reply
 */
#ifndef BRO_QUEUE_H
#define BRO_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define BRO_QUEUE_GROUP     "workers"
#define BRO_QUEUE_FIELD     "e"
#define BRO_QUEUE_MAX       8  /* queues one worker may serve */
#define BRO_QUEUE_NAME_MAX  32 /* bytes of a queue name, NUL included */
#define BRO_QUEUE_BATCH_MAX 16 /* messages one bro_queue_read may return */

/* The queues of DESIGN.md. */
#define BRO_QUEUE_RECORDS  "records"
#define BRO_QUEUE_MATCHING "matching"
#define BRO_QUEUE_NOTIFY   "notify"
#define BRO_QUEUE_REPORTS  "reports"

typedef struct bro_queue bro_queue;

typedef struct bro_queue_opts {
    int visibility_ms; /* idle time after which a pending job is reclaimed */
    int max_attempts;  /* deliveries before a job is dead-lettered */
    int command_ms;    /* timeout of each Redis command (a blocking read adds its block time) */
} bro_queue_opts;

typedef struct bro_queue_msg {
    char queue[BRO_QUEUE_NAME_MAX]; /* queue name, e.g. "records" */
    char stream_id[48];             /* Redis stream entry id */
    char *data;                     /* envelope bytes, owned by the message (bro_queue_msg_clear) */
    size_t len;                     /* bytes in data */
    int deliveries;                 /* times Redis handed this entry out (1 = first) */
} bro_queue_msg;

/* Connects to redis_url and ensures the consumer group of every queue exists (MKSTREAM).
 * consumer names this process within the group. Returns a handle the caller frees with
 * bro_queue_free, or NULL with err set. */
bro_queue *bro_queue_open(const char *redis_url, const char *consumer, const char *const *queues,
                          int nqueues, const bro_queue_opts *opts, bro_err *err);

/* Closes the connection and frees q. NULL is a no-op. */
void bro_queue_free(bro_queue *q);

/* Returns the stream key of a queue ("bro:q:<queue>") written into buf. */
const char *bro_queue_stream_key(const char *queue, char *buf, size_t n);

/* Appends one envelope to a queue's stream. Returns 0 or -1 with err set. */
int bro_queue_enqueue(bro_queue *q, const char *queue, const char *data, size_t len,
                      bro_err *err) BRO_MUST_USE;

/* Takes up to max messages for this consumer: first entries reclaimed from dead consumers
 * (idle past the visibility timeout), else new entries, blocking up to block_ms. Also moves
 * due delayed jobs back onto their streams. *n is the count filled in; each message must be
 * acknowledged, retried or dead-lettered, then cleared. Returns 0 or -1 with err set. */
int bro_queue_read(bro_queue *q, int block_ms, bro_queue_msg *msgs, int max, int *n,
                   bro_err *err) BRO_MUST_USE;

/* Acknowledges and deletes a finished message. */
int bro_queue_ack(bro_queue *q, const bro_queue_msg *m, bro_err *err) BRO_MUST_USE;

/* Schedules data (the envelope with its attempt raised) to run again after delay_ms and
 * acknowledges m, atomically. */
int bro_queue_retry(bro_queue *q, const bro_queue_msg *m, const char *data, size_t len,
                    int64_t delay_ms, bro_err *err) BRO_MUST_USE;

/* Moves m to bro:dead:<queue> with reason and acknowledges it, atomically. */
int bro_queue_dead(bro_queue *q, const bro_queue_msg *m, const char *reason,
                   bro_err *err) BRO_MUST_USE;

/* Tells the group this consumer is still working on m (XCLAIM ... JUSTID to itself), so a long
 * job is not reclaimed by another worker after the visibility timeout. The delivery count is
 * not raised. Returns 0, or -1 with err set. */
int bro_queue_touch(bro_queue *q, const bro_queue_msg *m, bro_err *err) BRO_MUST_USE;

/* Publishes a reply on a channel (the envelope's reply_to). */
int bro_queue_publish(bro_queue *q, const char *channel, const char *data, size_t len,
                      bro_err *err) BRO_MUST_USE;

/* Writes this worker's heartbeat: bro:worker:<consumer> = info (JSON) with ttl_ms, and its
 * score in bro:workers. */
int bro_queue_heartbeat(bro_queue *q, const char *info, int ttl_ms, bro_err *err) BRO_MUST_USE;

/* Exponential backoff with full jitter for attempt (1-based): a value in [0, base*2^(attempt-1)]
 * capped at 60 s, at least base/2. */
int64_t bro_queue_backoff_ms(int attempt, int base_ms);

/* Frees the data of a message and zeroes it. */
void bro_queue_msg_clear(bro_queue_msg *m);

#endif
