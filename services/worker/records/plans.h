/* Action plans (tiltaksplan) of a candidate. */
#ifndef BRO_WORKER_RECORDS_PLANS_H
#define BRO_WORKER_RECORDS_PLANS_H

#include "job.h"

int bro_plans_create(bro_job *job);
int bro_plans_get(bro_job *job);
int bro_plans_list(bro_job *job);
int bro_plans_update(bro_job *job);

#endif
