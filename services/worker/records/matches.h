/* Reading matches: all of them (a partner: its own openings'), or one candidate's. */
#ifndef BRO_WORKER_RECORDS_MATCHES_H
#define BRO_WORKER_RECORDS_MATCHES_H

#include "job.h"

int bro_matches_list(bro_job *job);
int bro_matches_of_candidate(bro_job *job);

#endif
