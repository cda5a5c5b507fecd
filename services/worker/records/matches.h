/* Reading matches: all of them (a partner: its own openings'), or one candidate's. */
#ifndef BRO_WORKER_RECORDS_MATCHES_H
#define BRO_WORKER_RECORDS_MATCHES_H

#include "job.h"

/* Whether the match row aliased m is live for its partner: a withdrawn or declined match is
 * over, so the partner no longer sees it in its list nor reaches the candidate through it.
 * Coordinators see every status. Written once for every statement that decides what a partner
 * sees. */
#define BRO_MATCHES_PARTNER_LIVE " (m.status NOT IN ('withdrawn', 'declined')) "

/* A match row aliased m as the API's Match, as text: one definition for the lists, the reads
 * and the lifecycle's PATCH answer, so each shows the same members. */
#define BRO_MATCHES_JSON                                                                           \
    "json_build_object('id', m.id, 'candidate_id', m.candidate_id, 'opening_id', m.opening_id, "   \
    "'status', m.status, 'score', m.score, 'explanation', m.explanation, 'run_id', m.run_id, "     \
    "'hours_freed_per_shift', m.hours_freed_per_shift, 'nav_decision', m.nav_decision, "           \
    "'version', m.version, 'etag', '\"' || m.version || '\"', 'created_at', " BRO_SQL_TIME(        \
        "m.created_at") ", 'updated_at', " BRO_SQL_TIME("m.updated_at") ")::text"

#endif
