/* Openings: placements and activities a candidate can be matched to. */
#ifndef BRO_WORKER_RECORDS_OPENINGS_H
#define BRO_WORKER_RECORDS_OPENINGS_H

#include "job.h"

int bro_openings_create(bro_job *job);
int bro_openings_get(bro_job *job);
int bro_openings_list(bro_job *job);
int bro_openings_update(bro_job *job);

#endif
