/* The rankings' cache: per worker process and per tenant, the tenant's openings as a candidate's
 * ranking loads them (categories, schedules, places, free capacity) and its candidates as an
 * opening's ranking does (tags, availability, places, kinds held), shared by the worker's
 * threads and checked on every request against the tenant's change counters (schemas/tenant/
 * 008), read in the request's own transaction, so a committed change is seen by the next
 * ranking on any worker. */
#ifndef BRO_WORKER_MATCHING_CACHE_H
#define BRO_WORKER_MATCHING_CACHE_H

#include "job.h"
#include "matching/world.h"

#define BRO_CACHE_TENANTS_MAX 256 /* the bound of BROBYGGER_MATCHING_CACHE_TENANTS */

/* One snapshot in use; opaque. */
typedef struct bro_cache_snap bro_cache_snap;

/* The counter row and the weights, read by one statement in the job's transaction. */
typedef struct bro_cache_version {
    char epoch[40];       /* the schema's instance: a recreated tenant never matches */
    long long openings;   /* changes to openings and matches */
    long long candidates; /* changes to candidates, assessments and matches */
    double w[BRO_F__COUNT];
    int year;
} bro_cache_version;

/* Keeps at most max tenants' snapshots (0 turns the cache off: every request loads its own);
 * beyond it the least recently used tenant's goes. Call before jobs run. */
void bro_cache_configure(int max);

/* Reads the tenant's counters, weights and year into v. Returns 0, or -1 with the job failed. */
int bro_cache_version_read(bro_job *job, bro_cache_version *v) BRO_MUST_USE;

/* Reads v from row 0 of res, columns col to col + 4: the year, the weights (text or NULL), the
 * epoch and the two counters, as bro_cache_version_read's statement gives them (a ranking's
 * own statement may carry them beside its rows: bro_world_sql_one_candidate). */
void bro_cache_version_parse(const PGresult *res, int col, bro_cache_version *v);

/* The two sides a snapshot holds. */
#define BRO_CACHE_OPENINGS   0 /* bro_world_load of every opening, no candidate */
#define BRO_CACHE_CANDIDATES 1 /* bro_world_load_people */

/* The job's tenant's side (BRO_CACHE_*) at its version in v: the cached snapshot when it is of
 * that version, else loaded now in the job's transaction (and cached when newer than the cached
 * one). The world it holds never changes; it stays valid until bro_cache_release. NULL with
 * the job failed. */
bro_cache_snap *bro_cache_get(bro_job *job, const bro_cache_version *v, int side) BRO_MUST_USE;

/* The snapshot's world; borrowed from s. */
const bro_world *bro_cache_world(const bro_cache_snap *s);

/* Gives s back (NULL is a no-op); the last holder of a snapshot no longer cached frees it. */
void bro_cache_release(bro_cache_snap *s);

#endif
