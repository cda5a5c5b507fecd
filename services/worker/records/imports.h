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

#endif
