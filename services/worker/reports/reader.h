/* A cursor read on a connection of the reports module's own, in a thread of its own, seeing
 * exactly what the job's transaction sees: the job exports its snapshot (pg_export_snapshot),
 * and the reader imports it in a REPEATABLE READ READ ONLY transaction under the job's role and
 * search_path. The reader fetches ahead into a bounded queue of result batches while the job's
 * thread works through them, so two long reads run at once. */
#ifndef BRO_WORKER_REPORTS_READER_H
#define BRO_WORKER_REPORTS_READER_H

#include <libpq-fe.h>

#include "common/error.h"

#define BRO_RREADER_DEPTH 4 /* batches fetched ahead at most */

typedef struct bro_rreader bro_rreader;

/* What the reader runs, and as whom. Every string is copied by bro_rreader_start. */
typedef struct bro_rreader_spec {
    PGconn *like;         /* the job's connection: the reader connects with its options */
    const char *snapshot; /* pg_export_snapshot() of the job's transaction, still open */
    const char *role;     /* the job's current_user, set with SET LOCAL ROLE */
    const char *path;     /* the job's search_path, set with set_config */
    const char *declare;  /* DECLARE <cursor> ... with $1 */
    const char *param;    /* its $1 */
    const char *fetch;    /* FETCH <rows> FROM <cursor>, answered in binary */
    int rows;             /* the rows of one FETCH: a shorter batch is the last */
    int nice;             /* the job backend's nice (bro_db_nice), given to the reader's: 0 none */
} bro_rreader_spec;

/* Starts the reader's thread, which connects, opens its transaction and fetches. The job's
 * transaction must stay open until bro_rreader_free, as the snapshot lives with it. Returns a
 * handle (free with bro_rreader_free), or NULL with err set when no thread could be started;
 * failures of the reader's own connection come through bro_rreader_next. */
bro_rreader *bro_rreader_start(const bro_rreader_spec *spec, bro_err *err);

/* The next batch, waiting for it: a binary result owned by the caller (PQclear), or NULL at
 * the end (err->code BRO_E_NONE) or on failure (err set: BRO_E_RETRY for a lost or refused
 * connection, BRO_E_DB for a refused statement). */
PGresult *bro_rreader_next(bro_rreader *r, bro_err *err);

/* Stops the reader (cancelling a statement in flight), waits for its thread, closes its
 * connection and frees the batches not taken. NULL is a no-op. */
void bro_rreader_free(bro_rreader *r);

#endif
