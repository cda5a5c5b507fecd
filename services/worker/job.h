/* What a handler sees of a job: the decoded envelope, a connection already inside the job's
 * transaction, the request parts (path, query, data) and a place to write its reply. Handlers
 * never open transactions or set roles themselves (STYLE.md rule 6). */
#ifndef BRO_WORKER_JOB_H
#define BRO_WORKER_JOB_H

#include <msgpack.h>

#include "common/db.h"
#include "common/envelope.h"
#include "common/error.h"
#include "common/ids.h"
#include "common/queue.h"

/* A timestamptz column as the API writes times: RFC 3339 in UTC, whole seconds. */
#define BRO_SQL_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define BRO_JOB_FIELD_ERRORS_MAX 32

/* What a handler may ask the runtime to do once the job has committed and its message is
 * acknowledged and deleted (bro_job.after_commit). */
#define BRO_JOB_AFTER_AOF_REWRITE 0x1 /* personal data was erased: rewrite Redis's AOF soon */

typedef struct bro_field_error {
    char field[64];    /* dotted path of the field at fault, e.g. "availability.mon" */
    char message[128]; /* English, names no personal data */
} bro_field_error;

/* Candidates one read may name in its audit record: a page at most (BRO_RECORDS_LIMIT_MAX). */
#define BRO_JOB_READ_AUDIT_MAX 200

typedef struct bro_job {
    const bro_envelope *env;     /* borrowed; lives for the whole job */
    bro_db *db;                  /* inside the job's transaction */
    const msgpack_object *path;  /* map of path params, or NULL */
    const msgpack_object *query; /* map of query params, or NULL */
    const msgpack_object *data;  /* request body, or NULL for nil/absent */
    char route[128];             /* "GET /v1/candidates/{id}": what the audit log names */
    char if_match[80];           /* the If-Match header, "" when none */
    int status;                  /* HTTP status of the reply; set by the handler */
    msgpack_sbuffer reply;       /* the reply body: exactly one msgpack value, or empty */
    msgpack_packer pk;           /* packs into reply */
    msgpack_sbuffer stored;      /* optional: what to store instead of reply (secrets redacted) */
    int has_stored;              /* 1 when stored holds a value */
    bro_err err;                 /* set when the handler fails */
    bro_field_error fields[BRO_JOB_FIELD_ERRORS_MAX]; /* validation errors */
    int nfields;                                      /* entries used above */
    void (*keepalive)(void *ctx);       /* called before each bro_job_step; NULL outside a run */
    void *keepalive_ctx;                /* the runtime's, for keepalive */
    unsigned after_commit;              /* BRO_JOB_AFTER_*; ignored when the job does not commit */
    char (*read_ids)[BRO_UUID_LEN + 1]; /* a read's audited candidates (runtime's, per job); NULL
                                for jobs that are not reads (BRO_H_READ) */
    int nread_ids;                      /* entries used in read_ids */
    bro_queue *queue; /* the slot's Redis connection, for platform jobs on the queues themselves
                         (dead-letter retry); borrowed, NULL outside the runtime */
} bro_job;

/* Records a field error (dropped silently past BRO_JOB_FIELD_ERRORS_MAX). */
void bro_job_field_error(bro_job *job, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fails the job with code and message; always returns -1. */
int bro_job_fail(bro_job *job, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* For a read (BRO_H_READ): records that candidate_id (a UUID) was shown to the caller. The
 * runtime sends one audit record naming them with the reply, and the janitor writes one
 * audit_log row per candidate, as the write routes do in their own statement. Returns 0, or -1
 * with the job failed (not a read, not a UUID, more than BRO_JOB_READ_AUDIT_MAX). */
int bro_job_audit_read(bro_job *job, const char *candidate_id) BRO_MUST_USE;

/* Fails with BRO_E_INVALID when field errors were recorded; returns 0 when there were none. */
int bro_job_check_fields(bro_job *job);

/* Copies a string path/query parameter into buf; returns 0, or -1 when absent or too long. */
int bro_job_param(const msgpack_object *map, const char *name, char *buf, size_t n);

/* Takes a PostgreSQL result holding one JSON text in column 0 of row 0 and packs it as the reply
 * with the given status. Returns 0, or -1 with job->err set. */
int bro_job_reply_json(bro_job *job, int status, const char *json, size_t len) BRO_MUST_USE;

/* Runs sql with n parameters in the job's transaction and discards its rows. Returns 0, or
 * -1 through bro_job_fail with the database's error. */
int bro_job_exec(bro_job *job, const char *sql, int n, const char *const *p) BRO_MUST_USE;

/* Runs sql and replies with the JSON text in column 0 of its one row and the given status;
 * when no row comes back the job fails with 404 and `missing` as detail. */
int bro_job_query_one(bro_job *job, const char *sql, int n, const char *const *p, int status,
                      const char *missing) BRO_MUST_USE;

/* Packs a page {"items": [<json rows>], "next_cursor": cursor|nil} from column 0 of res
 * (each a JSON text); at most limit rows are used. */
int bro_job_reply_page(bro_job *job, const void *res, int limit,
                       const char *next_cursor) BRO_MUST_USE;

/* Checks If-Match against the resource's current version: 0 when the header is absent or
 * names this version ("*" names any); otherwise fails the job with 412 and returns -1. */
int bro_job_if_match(bro_job *job, const char *version) BRO_MUST_USE;

/* Runs fn(job, arg) in a transaction of its own in the job's tenant and commits it; for the
 * run phase of asynchronous jobs, which works outside the job's transaction. Returns fn's
 * result; on -1 the step is rolled back and job->err says why. */
int bro_job_step(bro_job *job, int (*fn)(bro_job *job, void *arg), void *arg) BRO_MUST_USE;

/* As bro_job_step, in a REPEATABLE READ transaction (bro_db_begin_repeatable): every statement
 * of fn sees one snapshot, which fn may export to a connection of its module's own. */
int bro_job_step_repeatable(bro_job *job, int (*fn)(bro_job *job, void *arg),
                            void *arg) BRO_MUST_USE;

/* As bro_job_step, in the transaction of another tenant than the job's (slug; NULL or "" for the
 * platform): for platform jobs that read every tenant, one transaction each. */
int bro_job_step_in(bro_job *job, const char *tenant, int (*fn)(bro_job *job, void *arg),
                    void *arg) BRO_MUST_USE;

/* Replies 200 with a file instead of a JSON value: the body is the map {"file": <bin>,
 * "content_type", "filename"}, which the gateway answers as the raw bytes with that
 * Content-Type and a Content-Disposition naming the file. data is copied. Returns 0, or -1 with
 * job->err set. */
int bro_job_reply_file(bro_job *job, const char *content_type, const char *filename,
                       const void *data, size_t len) BRO_MUST_USE;

/* The handler of the job kind "bench.noop", which no route posts: it answers 200 with no body
 * and touches nothing, so a benchmark of it measures the runtime alone (take, finish). */
int bro_job_noop(bro_job *job);

/* Copies msgpack string o (must be a str) into a new NUL-terminated string; NULL if o is not a
 * string or on allocation failure. Caller frees. */
char *bro_job_strdup(const msgpack_object *o);

#endif
