/* The worker runtime: up to `concurrency` jobs at once. A fetcher thread takes jobs for the
 * slots waiting; each slot, a thread with its own Redis and PostgreSQL connections, runs its
 * job's handler inside one transaction (tenant or platform), records it as processed there,
 * then publishes the reply and acknowledges. The main thread keeps the heartbeat, the claims on
 * jobs in hand and the janitor. Retries and dead letters live here too. */
#ifndef BRO_WORKER_RUNTIME_H
#define BRO_WORKER_RUNTIME_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/config.h"
#include "common/db.h"
#include "common/queue.h"
#include "common/seal.h"

#define BRO_RUNTIME_CONCURRENCY_MAX 256 /* --concurrency bound: a PostgreSQL connection each */

typedef struct bro_worker bro_worker;

/* One job slot: a thread that runs one job at a time, handed to it by the fetcher, on
 * connections of its own.
 * Everything in a slot is per slot (no lock guards it); a handler reaches only `db`, through
 * bro_job, already inside its job's transaction. */
typedef struct bro_slot {
    bro_worker *w;    /* the process's shared state: read-only but for its atomics */
    int index;        /* 0 .. concurrency - 1 */
    bro_queue *queue; /* this slot's Redis connection; NULL until connected */
    bro_db *db;       /* this slot's PostgreSQL connection; NULL until connected */
    pthread_t thread; /* valid when started */
    int started;      /* 1 once the thread was created */
    /* The job in hand, which the main thread keeps claimed (bro_queue_touch) so that no slot
     * of this process, nor another worker, reclaims a job that is still running: the
     * visibility timeout is for workers that went silent, not for slow jobs. */
    pthread_mutex_t held_lock; /* guards held; taken briefly by the slot and the main thread */
    bro_queue_msg held;        /* queue and stream_id of the job in hand (data always NULL);
                                  stream_id "" when none */
} bro_slot;

/* What the whole process shares. Written before the slots start and read-only afterwards,
 * except the atomics (any slot) and the main thread's own connections and janitor state
 * (`queue`, `db`, the last_* times, aof_*, janitor_after), which no slot touches. */
struct bro_worker {
    bro_config cfg;                                 /* loaded once at start */
    char id[128];                                   /* consumer name: host-pid-random */
    char queues[BRO_QUEUE_MAX][BRO_QUEUE_NAME_MAX]; /* queues served */
    int nqueues;                                    /* entries used above */
    int serves_records; /* 1: records is among queues, so the slots' connections serve records
                           jobs and keep nice 0 (long runs go to connections of their own) */
    int concurrency;    /* job slots: --concurrency */
    bro_slot *slots;    /* concurrency entries, owned */
    bro_queue *queue;   /* the main thread's: heartbeat, janitor, leave; NULL until connected */
    bro_db *db;         /* the main thread's: janitor; NULL until connected */
    int64_t started_ms; /* unix ms */
    int64_t last_heartbeat_ms;  /* unix ms of the last heartbeat written */
    int64_t last_touch_ms;      /* unix ms the slots' jobs were last claimed again */
    int64_t last_audit_ms;      /* unix ms of the last read-audit move */
    int64_t last_janitor_ms;    /* unix ms of the last retention sweep */
    char janitor_after[40];     /* last tenant swept; "" starts a cycle */
    int64_t last_tidy_ms;       /* unix ms of the last group/dead-letter tidy */
    int64_t last_aof_ms;        /* unix ms of the last AOF rewrite check */
    int64_t aof_pause_until_ms; /* after a failed check: no tries before */
    int aof_watch;          /* a rewrite this worker started for an erasure is not yet seen done */
    int aof_checked;        /* Redis's AOF settings were checked once */
    bro_seal_key dead_key;  /* seals dead letters' bodies, when has_dead_key */
    int has_dead_key;       /* 1: BROBYGGER_DEAD_LETTER_KEY(_FILE) was given */
    atomic_llong jobs_done; /* jobs finished with a reply */
    atomic_llong jobs_failed;    /* jobs retried or dead-lettered */
    atomic_int in_flight;        /* jobs a slot holds now */
    atomic_int long_in_flight;   /* asynchronous jobs in their run phase now */
    atomic_int others_in_flight; /* jobs of queues other than records now */
    atomic_int nice_said;        /* 1 once a missing backend-priority extension was logged */
    /* The hand-over from the fetcher thread to the slots, all guarded by `lock`. The fetcher
     * takes at most as many jobs as slots wait, so no job waits behind another. */
    pthread_mutex_t lock;         /* guards the members below, up to acks */
    pthread_cond_t work;          /* signalled: a job in the inbox, or the fetcher stopped */
    pthread_cond_t room;          /* signalled: a slot began to wait */
    bro_queue_msg *inbox;         /* taken, not yet started: a ring of concurrency entries, owned */
    int inbox_head;               /* index of the oldest entry */
    int inbox_len;                /* entries in the ring */
    int idle;                     /* slots waiting for a job */
    int fetch_done;               /* 1: the fetcher takes no more jobs (stop) */
    pthread_t fetcher;            /* valid when fetcher_started */
    int fetcher_started;          /* 1 once the fetcher thread was created */
    pthread_mutex_t ack_lock;     /* guards acks, nacks and acking, apart from the hand-over */
    bro_queue_msg *acks;          /* finished jobs (queue, stream_id; data NULL) not yet
                                     acknowledged: concurrency entries, owned */
    int nacks;                    /* entries used in acks */
    int acking;                   /* 1 while a slot sends the grouped acknowledgement */
    volatile sig_atomic_t *stop;  /* set by the signal handler */
    struct bro_wmetrics *metrics; /* counters for /metrics (metrics.h), owned; NULL: none */
};

/* Parses a comma-separated queue list into w->queues. Returns 0, or -1 with err naming the
 * bad entry (unknown queue, duplicate, too many). */
int bro_runtime_set_queues(bro_worker *w, const char *csv, bro_err *err) BRO_MUST_USE;

/* Runs until *w->stop is set: connects (retrying with backoff), starts w->concurrency slots
 * (each connects for itself) and keeps the heartbeat and the janitor on the calling thread.
 * On stop every slot finishes the job in hand; then the worker leaves the group
 * (bro_queue_leave: pending entries handed back, consumer and heartbeat removed). Returns 0
 * on a clean stop, -1 when the slots could not be started. */
int bro_runtime_run(bro_worker *w);

#endif
