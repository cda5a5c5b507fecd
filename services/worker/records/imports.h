/* Imports of candidates and organisations from CSV files, and the state of asynchronous jobs.
 * POST /v1/imports accepts a file with 202 and a job id; a worker then imports its rows in
 * steps that each commit their rows with the job's progress, so a crash costs at most one
 * step and no row is imported twice. */
#ifndef BRO_WORKER_RECORDS_IMPORTS_H
#define BRO_WORKER_RECORDS_IMPORTS_H

#include "job.h"

#define BRO_IMPORTS_MAX_ROWS   10000 /* data rows in one file */
#define BRO_IMPORTS_STEP_ROWS  200   /* rows imported per transaction */
#define BRO_IMPORTS_MAX_ERRORS 1000  /* row errors kept per job; later ones are only counted */

/* import.create (accept): reads the type ("candidates" or "organizations", from the body or
 * ?type=, candidates by default) and the CSV text, checks the whole file (UTF-8, quoting,
 * limits) and its header (every column known, the required ones present), stores it in the
 * tenant's jobs table under the job's id and replies 202 with the job. Bad input is 422
 * naming the field ("csv" with the row or column for the file) and stores nothing. */
int bro_imports_create(bro_job *job);

/* import.create (run): imports the rows in steps of BRO_IMPORTS_STEP_ROWS, each in its own
 * transaction that locks the job's row, goes on from its cursor, inserts each valid row under
 * a savepoint and records the others as row errors, and moves the cursor and the counts. A job
 * already done is left alone. Returns -1 only for a transient failure (see handlers.h). */
int bro_imports_run(bro_job *job);

/* import.get: one import job of the tenant with its row errors; 404 when there is none. */
int bro_imports_get(bro_job *job);

/* import.list: the tenant's imports, newest first, paged by ?limit and ?cursor, without their
 * row errors. */
int bro_imports_list(bro_job *job);

/* job.get: any asynchronous job of the tenant; 404 when there is none. */
int bro_jobs_get(bro_job *job);

#endif
