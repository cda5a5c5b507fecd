/* Mapping interviews (kartlegging) of a candidate. */
#ifndef BRO_WORKER_RECORDS_ASSESSMENTS_H
#define BRO_WORKER_RECORDS_ASSESSMENTS_H

#include "job.h"

int bro_assessments_create(bro_job *job);
int bro_assessments_get(bro_job *job);
int bro_assessments_list(bro_job *job);
int bro_assessments_update(bro_job *job);

#endif
