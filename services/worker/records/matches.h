/* Reading matches: all of them (a partner: its own openings'), or one candidate's. */
#ifndef BRO_WORKER_RECORDS_MATCHES_H
#define BRO_WORKER_RECORDS_MATCHES_H

#include "job.h"

/* Whether the match row aliased m is live for its partner: a withdrawn or declined match is
 * over, so the partner no longer sees it in its list nor reaches the candidate through it.
 * Coordinators see every status. Written once for every statement that decides what a partner
 * sees. */
#define BRO_MATCHES_PARTNER_LIVE " (m.status NOT IN ('withdrawn', 'declined')) "

#endif
