/* Candidates (deltakere): the resource, its pipeline and its privacy routes. The pieces the
 * three files share (the JSON the clients see, the row lock) are declared here. */
#ifndef BRO_WORKER_RECORDS_CANDIDATES_H
#define BRO_WORKER_RECORDS_CANDIDATES_H

#include "job.h"

/* The resource as clients see it, built by PostgreSQL as one JSON text from row alias c. */
#define BRO_CANDIDATES_JSON                                                                        \
    "json_build_object('id', c.id, 'ref', c.ref, 'given_name', c.given_name, 'family_name', "      \
    "c.family_name, 'birth_year', c.birth_year, 'phone', c.phone, 'email', c.email, "              \
    "'postal_code', c.postal_code, 'income_basis', c.income_basis, 'referral_source', "            \
    "c.referral_source, 'status', c.status, 'measure', c.measure, 'interests', c.interests, "      \
    "'skills', c.skills, 'accommodations', c.accommodations, 'languages', c.languages, "           \
    "'availability', c.availability, 'needs_transport', c.needs_transport, 'prefers_pair_work', "  \
    "c.prefers_pair_work, 'max_travel_km', c.max_travel_km, 'primary_contact', "                   \
    "c.primary_contact, 'trusted_person', c.trusted_person, 'lat', c.lat, 'lon', c.lon, "          \
    "'restricted', c.restricted, "                                                                 \
    "'version', c.version, 'etag', "                                                               \
    "'\"' || c.version || '\"', 'created_at', "                                                    \
    "to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'updated_at', "   \
    "to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))::text"

/* What a partner with a live consent sees: who the person is and what matters for the work,
 * none of the coordinator's case data. */
#define BRO_CANDIDATES_JSON_SHARED                                                                 \
    "json_build_object('id', c.id, 'given_name', c.given_name, 'family_name', c.family_name, "     \
    "'birth_year', c.birth_year, 'phone', c.phone, 'email', c.email, 'interests', c.interests, "   \
    "'skills', c.skills, 'accommodations', c.accommodations, 'languages', c.languages, "           \
    "'availability', c.availability, 'needs_transport', c.needs_transport, 'prefers_pair_work', "  \
    "c.prefers_pair_work, 'max_travel_km', c.max_travel_km, 'consent', (SELECT s FROM "            \
    "live))::text"

/* What a partner sees without consent: no name, contact or birth year; an age band instead. */
#define BRO_CANDIDATES_JSON_ANONYMOUS                                                              \
    "json_build_object('id', c.id, 'age_band', CASE WHEN c.birth_year IS NULL THEN NULL ELSE "     \
    "CASE WHEN extract(year FROM now())::int - c.birth_year < 18 THEN 'under_18' "                 \
    "WHEN extract(year FROM now())::int - c.birth_year < 25 THEN '18-24' "                         \
    "WHEN extract(year FROM now())::int - c.birth_year < 35 THEN '25-34' "                         \
    "WHEN extract(year FROM now())::int - c.birth_year < 45 THEN '35-44' "                         \
    "WHEN extract(year FROM now())::int - c.birth_year < 55 THEN '45-54' "                         \
    "WHEN extract(year FROM now())::int - c.birth_year < 68 THEN '55-67' ELSE '68+' END END, "     \
    "'interests', c.interests, 'skills', c.skills, 'accommodations', c.accommodations, "           \
    "'languages', c.languages, 'availability', c.availability, 'needs_transport', "                \
    "c.needs_transport, 'prefers_pair_work', c.prefers_pair_work, 'max_travel_km', "               \
    "c.max_travel_km, 'consent', NULL)::text"

/* A candidate's state as locked for a change. */
typedef struct bro_candidates_state {
    char version[16]; /* current version, for If-Match */
    char status[24];  /* pipeline status */
    char measure[24]; /* "" when none */
    int restricted;   /* 1 when sperret */
} bro_candidates_state;

/* Locks the candidate (visible to the caller) FOR UPDATE and reads its state. Returns 0, or -1
 * with the job failed (404 when it is missing, erased or restricted from the caller). */
int bro_candidates_lock(bro_job *job, const char *id, bro_candidates_state *st) BRO_MUST_USE;

/* Validates data (a map of a new candidate's fields) and inserts the candidate with its ref,
 * first status, audit row and outbox event in the job's transaction. Returns 0, or -1 with
 * field errors in job->fields (validation) or job->err set. When json is not NULL it receives
 * the new candidate as a JSON text; the caller frees it. */
int bro_candidates_insert(bro_job *job, const msgpack_object *data, char **json) BRO_MUST_USE;

#endif
