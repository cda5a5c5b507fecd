/* Candidates (deltakere): create, read and list within the tenant's schema. */
#ifndef BRO_WORKER_RECORDS_CANDIDATES_H
#define BRO_WORKER_RECORDS_CANDIDATES_H

#include "job.h"

int bro_candidates_create(bro_job *job);
int bro_candidates_get(bro_job *job);
int bro_candidates_list(bro_job *job);

#endif
