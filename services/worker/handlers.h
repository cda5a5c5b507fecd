/* The worker's surface as data: job kind -> handler, queue and flags. The rows are generated
 * from schemas/openapi.yaml: adding a handler is adding its x-job to the operation it serves
 * (or to x-jobs for a kind no route posts) and writing the function. */
#ifndef BRO_WORKER_HANDLERS_H
#define BRO_WORKER_HANDLERS_H

#include "job.h"

typedef int (*bro_handler_fn)(bro_job *job);

#define BRO_H_PLATFORM 0x1 /* runs in the platform transaction (search_path platform, no role) */
#define BRO_H_READONLY 0x2 /* no side effects: not recorded as processed, dropped past deadline */
/* A read of personal data: runs in a READ ONLY transaction, stores no reply (a redelivery runs
 * it again), is dropped past its deadline, and its audit (bro_job_audit_read) travels in the
 * Redis round trip that carries its reply; the janitor moves it into audit_log. */
#define BRO_H_READ 0x4
/* Touches no database (with readonly only): the handler is handed no connection (job->db is
 * NULL) and no transaction is opened. For kinds that answer from the job alone. */
#define BRO_H_NODB 0x8

typedef struct bro_handler {
    const char *kind;   /* envelope kind, e.g. "candidate.create" */
    const char *queue;  /* its queue; a job of this kind read from another is dead-lettered */
    unsigned flags;     /* BRO_H_* */
    bro_handler_fn fn;  /* the handler */
    bro_handler_fn run; /* asynchronous work after fn accepted the job with 202, or NULL */
} bro_handler;

/* An asynchronous job (an import) is accepted by fn in the job's transaction: it stores what
 * the work needs in the tenant's jobs table and replies 202. Once that is committed and the
 * reply sent, the runtime calls run outside any transaction; run does the work in steps with
 * bro_job_step, each committing its rows with the job's progress, so a job redelivered after a
 * crash (its accept is replayed from processed_jobs) runs again from the last step. run
 * returns -1 only for a transient failure (the message is retried); a job that cannot succeed
 * marks itself failed and returns 0. */

/* The generated rows (surface_handlers.c), one per job kind. */
extern const bro_handler bro_handlers_table[];
extern const int bro_handlers_table_n;

/* Returns the handler for kind, or NULL. */
const bro_handler *bro_handlers_find(const char *kind);

/* The whole table and its length, for listing. */
const bro_handler *bro_handlers_all(int *n);

#endif
