/* The tenant transaction on libpq. One job runs in one transaction: BEGIN; SET LOCAL ROLE
 * t_<slug>; SET LOCAL search_path = t_<slug>; ...; COMMIT. Identifiers pass through
 * PQescapeIdentifier; values only ever travel as parameters. */
#ifndef BRO_DB_H
#define BRO_DB_H

#include <libpq-fe.h>

#include "common/error.h"

typedef struct bro_db bro_db;

/* Connects with a libpq connection string. Returns a handle (free with bro_db_free) or NULL
 * with err set. */
bro_db *bro_db_connect(const char *conninfo, bro_err *err);

/* Closes and frees. NULL is a no-op. */
void bro_db_free(bro_db *db);

/* Starts a transaction for tenant (a slug), or for the platform when tenant is NULL or "":
 * then no role is assumed and search_path is "platform". Reconnects once if the connection
 * was lost. Nothing is sent until the first statement: BEGIN, SET LOCAL ROLE and the
 * search_path go out pipelined with it, so errors of the begin surface there. Returns 0, or
 * -1 with err set (BRO_E_RETRY when the database is unreachable). */
int bro_db_begin(bro_db *db, const char *tenant, bro_err *err) BRO_MUST_USE;

/* Like bro_db_begin, for a transaction that only reads: BEGIN READ ONLY, so a statement that
 * would write fails (SQLSTATE 25006) instead of costing a WAL flush; its commit writes
 * nothing and waits for no disk. */
int bro_db_begin_read(bro_db *db, const char *tenant, bro_err *err) BRO_MUST_USE;

/* Like bro_db_begin, for a transaction whose statements all see one snapshot: BEGIN ISOLATION
 * LEVEL REPEATABLE READ. For reads that must agree with each other (a report's counts), and for
 * a snapshot exported to another connection (pg_export_snapshot), which is then the whole
 * transaction's. A write that meets a change committed since fails with BRO_E_RETRY. */
int bro_db_begin_repeatable(bro_db *db, const char *tenant, bro_err *err) BRO_MUST_USE;

/* Commits. On failure the transaction is gone; err->code is BRO_E_RETRY for serialization
 * failures and lost connections, BRO_E_DB otherwise. */
int bro_db_commit(bro_db *db, bro_err *err) BRO_MUST_USE;

/* Rolls back if a transaction is open; harmless otherwise. */
void bro_db_rollback(bro_db *db);

/* Runs one parameterised statement (text parameters; NULL entries are SQL NULL), prepared on
 * first use and kept per connection, keyed by its text: SQL text must therefore be constant,
 * with every value a parameter. Returns the
 * result, owned by the caller (PQclear), or NULL with err set: BRO_E_CONFLICT for unique
 * violations, BRO_E_RETRY for serialization failures, deadlocks and lost connections,
 * BRO_E_DB otherwise; err->msg carries the SQLSTATE, never parameter values. */
PGresult *bro_db_exec(bro_db *db, const char *sql, int nparams, const char *const *params,
                      bro_err *err);

/* Like bro_db_exec but for parameters given with lengths and formats (binary bytea etc.). */
PGresult *bro_db_exec_bin(bro_db *db, const char *sql, int nparams, const char *const *params,
                          const int *lengths, const int *formats, bro_err *err);

/* Like bro_db_exec_bin with the result format chosen: 0 text, 1 binary. */
PGresult *bro_db_exec_format(bro_db *db, const char *sql, int nparams, const char *const *params,
                             const int *lengths, const int *formats, int result_format,
                             bro_err *err);

/* Sends sql (constant, no parameters) in the open transaction without waiting for it, answered
 * in result_format (0 text, 1 binary), so the caller works while PostgreSQL does; nothing else
 * may run on db until bro_db_receive has taken its result. -1 with err set when it could not be
 * sent (then nothing is outstanding). */
int bro_db_send(bro_db *db, const char *sql, int result_format, bro_err *err) BRO_MUST_USE;

/* Waits for the result of the statement bro_db_send sent: owned by the caller (PQclear), or
 * NULL with err set as bro_db_exec would. */
PGresult *bro_db_receive(bro_db *db, bro_err *err);

/* Runs one last statement of the transaction (as bro_db_exec_bin) and COMMIT in one pipeline:
 * one round trip, so locks taken earlier are held for that round trip and the commit's flush,
 * no longer. Returns 0 when both succeeded, or -1 with err set as bro_db_exec and
 * bro_db_commit would (the transaction is then gone). */
int bro_db_exec_commit(bro_db *db, const char *sql, int nparams, const char *const *params,
                       const int *lengths, const int *formats, bro_err *err) BRO_MUST_USE;

/* Raises the CPU nice value of db's PostgreSQL backend to nice (1..19), through the prioritize
 * extension's platform.set_backend_priority, and again after every reconnect, so long work's
 * database time yields to interactive work's. Call it outside a transaction (the extension
 * checks the session's login role). The nice value cannot be lowered again by an unprivileged
 * role: a connection niced once stays so until it is closed. Returns 0 when set, 1 when the
 * extension is not installed or not granted here (err says which; nothing changed), -1 with
 * err set otherwise. */
int bro_db_set_nice(bro_db *db, int nice, bro_err *err) BRO_MUST_USE;

/* The same for a bare libpq connection (a module's own, e.g. the reports reader's); nothing is
 * remembered for reconnects. */
int bro_db_nice_conn(PGconn *conn, int nice, bro_err *err) BRO_MUST_USE;

/* The nice value bro_db_set_nice gave db's backend; 0 when none (or db is NULL). */
int bro_db_nice(const bro_db *db);

/* The underlying connection, for PQescape* helpers. Owned by db. */
PGconn *bro_db_conn(bro_db *db);

/* Sessions db re-established after PostgreSQL was lost (PQreset); 0 for NULL. Any thread may read
 * it (atomic). */
long long bro_db_reconnects(const bro_db *db);

#endif
