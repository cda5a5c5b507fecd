/* The append-only case journal of a candidate. */
#ifndef BRO_WORKER_RECORDS_JOURNAL_H
#define BRO_WORKER_RECORDS_JOURNAL_H

#include "job.h"

int bro_journal_create(bro_job *job);
int bro_journal_get(bro_job *job);
int bro_journal_list(bro_job *job);

#endif
