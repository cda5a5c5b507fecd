/* The job queue on Redis streams with one consumer group per stream. At-least-once: a job is
 * acknowledged only after its transaction commits; a job left pending by a dead worker is
 * reclaimed with XAUTOCLAIM; retries wait in a delayed sorted set; failures end in a
 * dead-letter stream. This is the synchronous side used by workers and the admin CLI; the
 * gateway posts with its own asynchronous connection using the same key names.
 *
 * Redis keys (all prefixed "bro:"):
 *   bro:q:<queue>        stream; field "e" holds one msgpack envelope
 *   bro:delayed:<queue>  sorted set; member = envelope, score = due time (unix ms)
 *   bro:dead:<queue>     stream; what an operator needs and never the body in clear: fields
 *                        "queue", "error", "attempts", "size" (bytes), "at", "stream_id", and for
 *                        a decodable job "kind", "tenant", "job", "req"; with a dead-letter key
 *                        also "sealed" (the envelope, bro_seal) and "key" (the key's id)
 *   bro:workers          sorted set; member = worker id, score = last heartbeat (unix ms)
 *   bro:worker:<id>      string (JSON: queues, started, jobs_done) with a TTL
 *   bro:reply:<name>     pub/sub channel a gateway thread listens on; message = msgpack reply
 *   bro:aof:requested    string: Redis time (unix ms) of the oldest rewrite request not yet served
 *   bro:aof:rewrite      string with a TTL of one rewrite period: whose turn the period was
 *   bro:metrics          hash: the workers' counters for /metrics, summed over the fleet
 *                        (services/worker/metrics.h names the fields)
 *   bro:audit            stream; field "e" holds one msgpack read-audit record (tenant, who,
 *                        route, job, request, time, candidate ids; no personal data), added in
 *                        the same MULTI as the reply of the read it describes; group "audit"
 *                        (the workers' janitors) moves it into the tenant's audit_log
 *
 * Acknowledged jobs are deleted from their stream (XACK + XDEL), but Redis's append-only file
 * keeps each XADD until the file is rewritten; the worker janitor has Redis rewrite it on a
 * schedule and soon after an erasure (bro_queue_rewrite).
 */
#ifndef BRO_QUEUE_H
#define BRO_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/seal.h"

#define BRO_QUEUE_GROUP     "workers"
#define BRO_QUEUE_FIELD     "e"
#define BRO_QUEUE_MAX       8  /* queues one worker may serve */
#define BRO_QUEUE_NAME_MAX  32 /* bytes of a queue name, NUL included */
#define BRO_QUEUE_BATCH_MAX 64 /* messages one bro_queue_read may return */

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
    const bro_seal_key *seal_key; /* seals dead letters' envelopes (copied); NULL: not kept */
    int no_promote; /* 1: reads leave due delayed jobs to another handle of the process */
} bro_queue_opts;

/* What a dead letter records of the job besides its size and error; NULL members mean the
 * message could not be decoded, and then nothing of its content is kept. */
typedef struct bro_queue_dead_info {
    const char *kind;   /* envelope kind */
    const char *tenant; /* tenant slug, "" for platform jobs */
    const char *job;    /* job id */
    const char *req;    /* request id */
} bro_queue_dead_info;

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

/* Acknowledges and deletes n finished messages, of any of the served queues, in one MULTI/EXEC
 * round trip (per queue one XACK and one XDEL naming all of its ids). */
int bro_queue_ack_many(bro_queue *q, const bro_queue_msg *msgs, int n, bro_err *err) BRO_MUST_USE;

/* Schedules data (the envelope with its attempt raised) to run again after delay_ms and
 * acknowledges m, atomically. */
int bro_queue_retry(bro_queue *q, const bro_queue_msg *m, const char *data, size_t len,
                    int64_t delay_ms, bro_err *err) BRO_MUST_USE;

/* Moves m to bro:dead:<queue> and acknowledges it, atomically. The dead letter keeps reason,
 * attempts (deliveries so far), the message's size and, when info is given, the job's kind,
 * tenant, job id and request id; the envelope itself only sealed under the dead-letter key
 * (aad "<queue>|<tenant>|<job>", so a sealed body cannot pass for another job's), and not at all
 * without a key or without info (an undecodable message). Returns 0 or -1 with err set. */
int bro_queue_dead(bro_queue *q, const bro_queue_msg *m, const bro_queue_dead_info *info,
                   int attempts, const char *reason, bro_err *err) BRO_MUST_USE;

/* Writes into buf the additional data a dead letter's body is sealed with. */
const char *bro_queue_dead_aad(const char *queue, const char *tenant, const char *job, char *buf,
                               size_t n);

/* Tells the group this consumer is still working on m (XCLAIM ... JUSTID to itself), so a long
 * job is not reclaimed by another worker after the visibility timeout. The delivery count is
 * not raised. Returns 0, or -1 with err set. */
int bro_queue_touch(bro_queue *q, const bro_queue_msg *m, bro_err *err) BRO_MUST_USE;

#define BRO_QUEUE_AUDIT_STREAM "bro:audit"
#define BRO_QUEUE_AUDIT_GROUP  "audit"

/* Finishes a job in one MULTI/EXEC round trip: XADD audit (a read-audit record, msgpack;
 * skipped when audit_len is 0) to bro:audit, PUBLISH reply on channel (skipped when channel is
 * ""), then XACK and XDEL m. With Redis's appendfsync always, the record is on disk before any
 * client (the gateway waiting on the channel included) sees the reply: Redis writes and syncs
 * its log before it writes the replies of that event-loop turn. Returns 0 or -1 with err set
 * (then nothing of it happened, or all of it). */
int bro_queue_finish(bro_queue *q, const bro_queue_msg *m, const char *channel, const char *reply,
                     size_t reply_len, const char *audit, size_t audit_len,
                     bro_err *err) BRO_MUST_USE;

/* Janitor: takes up to max read-audit records for this consumer of group "audit" (created
 * when missing): first those another consumer left pending longer than reclaim_ms (a janitor
 * that died mid-batch), else new ones, without blocking. msgs[i].queue is "audit"; each must
 * be passed to bro_queue_audit_done once its rows are committed, then cleared. */
int bro_queue_audit_take(bro_queue *q, int reclaim_ms, bro_queue_msg *msgs, int max, int *n,
                         bro_err *err) BRO_MUST_USE;

/* Acknowledges and deletes n moved read-audit records (their stream ids), in one round trip. */
int bro_queue_audit_done(bro_queue *q, const char *const *stream_ids, int n,
                         bro_err *err) BRO_MUST_USE;

/* Removes this consumer from group "audit" when nothing is pending for it (a stopping worker). */
int bro_queue_audit_leave(bro_queue *q, bro_err *err) BRO_MUST_USE;

/* Publishes a reply on a channel (the envelope's reply_to). */
int bro_queue_publish(bro_queue *q, const char *channel, const char *data, size_t len,
                      bro_err *err) BRO_MUST_USE;

/* Writes this worker's heartbeat: bro:worker:<consumer> = info (JSON) with ttl_ms, and its
 * score in bro:workers. */
int bro_queue_heartbeat(bro_queue *q, const char *info, int ttl_ms, bro_err *err) BRO_MUST_USE;

/* For a worker that stops: hands back what is still pending for this consumer (marks it idle
 * past the visibility timeout, delivery count untouched, so another worker's next XAUTOCLAIM
 * takes it at once), deletes the consumer from the group of each queue where nothing is pending
 * any more, and removes the heartbeat (bro:worker:<id> and its bro:workers member), in one
 * script. *handed_back counts the entries handed back; their consumer stays until the janitor
 * sees them taken over. Returns 0 or -1 with err set. */
int bro_queue_leave(bro_queue *q, int *handed_back, bro_err *err) BRO_MUST_USE;

/* Janitor: deletes from each served queue's group the consumers of workers that are gone, that
 * is with no heartbeat key and nothing pending. A dead worker's entries are first taken over by
 * XAUTOCLAIM after the visibility timeout; deleting its consumer before that would drop them
 * from the group's pending list for good. *removed counts deletions. */
int bro_queue_tidy(bro_queue *q, int *removed, bro_err *err) BRO_MUST_USE;

/* Janitor: deletes dead letters older than max_age_ms from each served queue's dead-letter
 * stream. */
int bro_queue_expire_dead(bro_queue *q, int64_t max_age_ms, bro_err *err) BRO_MUST_USE;

/* Asks for an append-only-file rewrite soon (after an erasure): records the request's time
 * (Redis's clock) in bro:aof:requested, unless an earlier request is still waiting. Call it only
 * after the job that asks is acknowledged and deleted, or the rewrite would keep its message. */
int bro_queue_request_rewrite(bro_queue *q, bro_err *err) BRO_MUST_USE;

/* What bro_queue_rewrite did. */
typedef enum bro_queue_rewrite_kind {
    BRO_QUEUE_REWRITE_NONE = 0,  /* nothing was due, or another worker had the turn */
    BRO_QUEUE_REWRITE_PERIODIC,  /* this worker had the period's turn */
    BRO_QUEUE_REWRITE_REQUESTED, /* a request older than the delay was served */
    BRO_QUEUE_REWRITE_BUSY,      /* a request was due but a rewrite was running: kept for later */
} bro_queue_rewrite_kind;

/* Janitor: decides, for all workers at once, whether this one has Redis rewrite its AOF now,
 * and if so sends BGREWRITEAOF. Due are a request older than delay_ms (taken, and it restarts
 * the period) or else the period's turn (SET bro:aof:rewrite NX PX period_ms; period 0: never).
 * A rewrite already running serves the period; a request is put back, since that rewrite may
 * have forked before the request. *what says what happened. Returns 0, or -1 with err set. */
int bro_queue_rewrite(bro_queue *q, int period_ms, int delay_ms, bro_queue_rewrite_kind *what,
                      bro_err *err) BRO_MUST_USE;

/* Reads Redis's persistence state: *running 1 while a rewrite runs or is scheduled; *failed 1
 * when the last rewrite failed; *preamble 1 when the AOF starts with an RDB image, which keeps
 * deleted stream entries that share a node with live ones (aof-use-rdb-preamble should be no),
 * -1 when Redis does not say. Returns 0 or -1 with err set. */
int bro_queue_rewrite_state(bro_queue *q, int *running, int *failed, int *preamble,
                            bro_err *err) BRO_MUST_USE;

/* Exponential backoff with full jitter for attempt (1-based): a value in [0, base*2^(attempt-1)]
 * capped at 60 s, at least base/2. */
int64_t bro_queue_backoff_ms(int attempt, int base_ms);

/* Adds deltas[i] to field fields[i] of hash key, for n fields, in one round trip (a script, so
 * all or none). The workers' figures for /metrics travel this way (bro:metrics). */
int bro_queue_add_counts(bro_queue *q, const char *key, int n, const char *const *fields,
                         const long long *deltas, bro_err *err) BRO_MUST_USE;

/* Connections q made after its first one (Redis lost and found again); 0 for NULL. Any thread may
 * read it (atomic). */
long long bro_queue_reconnects(const bro_queue *q);

/* Frees the data of a message and zeroes it. */
void bro_queue_msg_clear(bro_queue_msg *m);

#endif
