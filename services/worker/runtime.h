/* The worker runtime: the one consume loop. It reads jobs, runs each handler inside one
 * transaction (tenant or platform), records the job as processed in that transaction, then
 * publishes the reply and acknowledges. Retries, dead letters and heartbeats live here too. */
#ifndef BRO_WORKER_RUNTIME_H
#define BRO_WORKER_RUNTIME_H

#include <signal.h>
#include <stdint.h>

#include "common/config.h"
#include "common/db.h"
#include "common/queue.h"
#include "common/seal.h"

typedef struct bro_worker {
    bro_config cfg;                                 /* loaded once at start */
    char id[128];                                   /* consumer name: host-pid-random */
    char queues[BRO_QUEUE_MAX][BRO_QUEUE_NAME_MAX]; /* queues served */
    int nqueues;                                    /* entries used above */
    bro_queue *queue;                               /* NULL until connected */
    bro_db *db;                                     /* NULL until connected */
    int64_t started_ms;                             /* unix ms */
    int64_t last_heartbeat_ms;                      /* unix ms of the last heartbeat written */
    int64_t last_janitor_ms;                        /* unix ms of the last retention sweep */
    char janitor_after[40];                         /* last tenant swept; "" starts a cycle */
    int64_t last_tidy_ms;                           /* unix ms of the last group/dead-letter tidy */
    int64_t last_aof_ms;                            /* unix ms of the last AOF rewrite check */
    int64_t aof_pause_until_ms;                     /* after a failed check: no tries before */
    int aof_watch;         /* a rewrite this worker started for an erasure is not yet seen done */
    int aof_checked;       /* Redis's AOF settings were checked once */
    bro_seal_key dead_key; /* seals dead letters' bodies, when has_dead_key */
    int has_dead_key;      /* 1: BROBYGGER_DEAD_LETTER_KEY(_FILE) was given */
    long long jobs_done;   /* jobs finished with a reply */
    long long jobs_failed; /* jobs retried or dead-lettered */
    volatile sig_atomic_t *stop; /* set by the signal handler */
} bro_worker;

/* Parses a comma-separated queue list into w->queues. Returns 0, or -1 with err naming the
 * bad entry (unknown queue, duplicate, too many). */
int bro_runtime_set_queues(bro_worker *w, const char *csv, bro_err *err) BRO_MUST_USE;

/* Runs until *w->stop is set: connects (retrying with backoff), consumes, heartbeats. On
 * stop it finishes the messages in hand, then leaves the group (bro_queue_leave: pending
 * entries handed back, consumer and heartbeat removed). Returns 0 on a clean stop. */
int bro_runtime_run(bro_worker *w);

#endif
