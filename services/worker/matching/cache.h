/* The rankings' cache: per worker process and per tenant, the tenant's openings as a ranking
 * loads them (categories, schedules, places, free capacity), shared by the worker's threads and
 * checked on every request against the tenant's change counter (schemas/tenant/008), read in
 * the request's own transaction, so a committed change is seen by the next ranking anywhere. */
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

/* The job's tenant's openings at version v->openings: the cached snapshot when it is of that
 * version, else loaded now in the job's transaction (and cached when newer than the cached
 * one). The world it holds never changes; it stays valid until bro_cache_release. NULL with
 * the job failed. */
bro_cache_snap *bro_cache_openings(bro_job *job, const bro_cache_version *v) BRO_MUST_USE;

/* The snapshot's world; borrowed from s. */
const bro_world *bro_cache_world(const bro_cache_snap *s);

/* Gives s back (NULL is a no-op); the last holder of a snapshot no longer cached frees it. */
void bro_cache_release(bro_cache_snap *s);

#endif
