/* Consents (samtykke) of a candidate; DELETE withdraws and keeps the history. */
#ifndef BRO_WORKER_RECORDS_CONSENTS_H
#define BRO_WORKER_RECORDS_CONSENTS_H

#include "job.h"

int bro_consents_create(bro_job *job);
int bro_consents_get(bro_job *job);
int bro_consents_list(bro_job *job);
int bro_consents_withdraw(bro_job *job);

#endif
