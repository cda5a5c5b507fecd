/* The rankings' cache (cache.h). Sharing: the worker runs several jobs at once on threads, so
 * the table is guarded by one mutex, and each snapshot is immutable once published and
 * reference-counted under that mutex: a request holds one reference while it reads, the table
 * one while the snapshot is cached, and whoever drops the last frees it, outside the lock. The
 * handlers get no context of their own from the runtime, so the table is this file's. */
#include "matching/cache.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/envelope.h"

struct bro_cache_snap {
    bro_world world;    /* one side (BRO_CACHE_*); never changed after loading */
    int side;           /* BRO_CACHE_* */
    char tenant[48];    /* slug */
    char epoch[40];     /* matching_version.epoch */
    long long version;  /* matching_version.openings or .candidates it was loaded at */
    int refs;           /* under bro_cache.lock: the table's plus one per request */
    unsigned long used; /* bro_cache.tick at its last use, for eviction */
};

static struct {
    pthread_mutex_t lock;
    bro_cache_snap *slots[2 * BRO_CACHE_TENANTS_MAX]; /* n used, any order */
    int n;
    int max;            /* snapshots kept (two a tenant); 0: off */
    unsigned long tick; /* uses so far */
} bro_cache = {PTHREAD_MUTEX_INITIALIZER, {0}, 0, 32, 0};

/* The statement whose one row validates the cache and gives the weights. */
static const char *bro_cache_sql_version =
    "SELECT extract(year FROM now())::int, (SELECT weights::text FROM matching_weights),"
    " v.epoch::text, v.openings, v.candidates FROM matching_version v";

void bro_cache_configure(int max)
{
    pthread_mutex_lock(&bro_cache.lock);
    bro_cache.max = 2 * (max < 0 ? 0 : max > BRO_CACHE_TENANTS_MAX ? BRO_CACHE_TENANTS_MAX : max);
    pthread_mutex_unlock(&bro_cache.lock);
}

void bro_cache_version_parse(const PGresult *res, int col, bro_cache_version *v)
{
    json_t *own =
        PQgetisnull(res, 0, col + 1) ? NULL : json_loads(PQgetvalue(res, 0, col + 1), 0, NULL);
    v->year = atoi(PQgetvalue(res, 0, col));
    bro_world_weights_from(own, v->w);
    json_decref(own);
    snprintf(v->epoch, sizeof(v->epoch), "%s", PQgetvalue(res, 0, col + 2));
    v->openings = atoll(PQgetvalue(res, 0, col + 3));
    v->candidates = atoll(PQgetvalue(res, 0, col + 4));
}

int bro_cache_version_read(bro_job *job, bro_cache_version *v)
{
    bro_err err = {0};
    PGresult *res = bro_db_exec(job->db, bro_cache_sql_version, 0, NULL, &err);
    if (res == NULL)
        return bro_job_fail(job, err.code, "%s", err.msg);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return bro_job_fail(job, BRO_E_INTERNAL, "the tenant has no matching_version row");
    }
    bro_cache_version_parse(res, 0, v);
    PQclear(res);
    return 0;
}

const bro_world *bro_cache_world(const bro_cache_snap *s)
{
    return &s->world;
}

static void bro_cache_snap_free(bro_cache_snap *s)
{
    bro_world_free(&s->world);
    free(s);
}

/* Drops one reference under the lock; returns s when it was the last (the caller frees it). */
static bro_cache_snap *bro_cache_unref_locked(bro_cache_snap *s)
{
    return --s->refs == 0 ? s : NULL;
}

void bro_cache_release(bro_cache_snap *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&bro_cache.lock);
    bro_cache_snap *dead = bro_cache_unref_locked(s);
    pthread_mutex_unlock(&bro_cache.lock);
    if (dead)
        bro_cache_snap_free(dead);
}

static int bro_cache_find_locked(const char *tenant, int side)
{
    for (int i = 0; i < bro_cache.n; i++)
        if (bro_cache.slots[i]->side == side && strcmp(bro_cache.slots[i]->tenant, tenant) == 0)
            return i;
    return -1;
}

/* Caches fresh (a new snapshot the caller holds once) over what the table has for its tenant,
 * unless that is as new; evicts the least recently used tenant when the table is full. Returns
 * the snapshot the table no longer holds and nobody uses, for the caller to free, or NULL. */
static bro_cache_snap *bro_cache_publish_locked(bro_cache_snap *fresh)
{
    if (bro_cache.max == 0)
        return NULL;
    int i = bro_cache_find_locked(fresh->tenant, fresh->side);
    if (i >= 0) {
        bro_cache_snap *old = bro_cache.slots[i];
        if (strcmp(old->epoch, fresh->epoch) == 0 && old->version >= fresh->version)
            return NULL; /* another request cached this version or a later one meanwhile */
        fresh->refs++;
        bro_cache.slots[i] = fresh;
        return bro_cache_unref_locked(old);
    }
    bro_cache_snap *gone = NULL;
    while (bro_cache.n >= bro_cache.max) {
        int lru = 0;
        for (int k = 1; k < bro_cache.n; k++)
            if (bro_cache.slots[k]->used < bro_cache.slots[lru]->used)
                lru = k;
        bro_cache_snap *victim = bro_cache.slots[lru];
        bro_cache.slots[lru] = bro_cache.slots[--bro_cache.n];
        bro_cache_snap *dead = bro_cache_unref_locked(victim);
        if (dead && gone == NULL)
            gone = dead;
        else if (dead) /* only after max shrank: rare enough to free here */
            bro_cache_snap_free(dead);
    }
    fresh->refs++;
    bro_cache.slots[bro_cache.n++] = fresh;
    return gone;
}

bro_cache_snap *bro_cache_get(bro_job *job, const bro_cache_version *v, int side)
{
    const char *tenant = job->env->tenant;
    long long version = side == BRO_CACHE_OPENINGS ? v->openings : v->candidates;
    pthread_mutex_lock(&bro_cache.lock);
    int i = bro_cache_find_locked(tenant, side);
    bro_cache_snap *s = i >= 0 ? bro_cache.slots[i] : NULL;
    if (s && strcmp(s->epoch, v->epoch) == 0 && s->version == version) {
        s->refs++;
        s->used = ++bro_cache.tick;
        pthread_mutex_unlock(&bro_cache.lock);
        return s;
    }
    pthread_mutex_unlock(&bro_cache.lock);
    /* Loaded outside the lock: other tenants' rankings go on meanwhile. */
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        bro_job_fail(job, BRO_E_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(s->tenant, sizeof(s->tenant), "%s", tenant);
    snprintf(s->epoch, sizeof(s->epoch), "%s", v->epoch);
    s->version = version;
    s->side = side;
    s->refs = 1;
    /* The loading statements' optional filters need plans made for their values: the
     * connection's own plan_cache_mode, whatever a ranking set for its one statement. */
    bro_world_scope scope = {.candidates = "{}"};
    if (bro_job_exec(job, "SET LOCAL plan_cache_mode TO DEFAULT", 0, NULL) < 0) {
        bro_cache_snap_free(s);
        return NULL;
    }
    if ((side == BRO_CACHE_OPENINGS ? bro_world_load(job, &s->world, &scope)
                                    : bro_world_load_people(job, &s->world)) < 0) {
        bro_cache_snap_free(s);
        return NULL;
    }
    pthread_mutex_lock(&bro_cache.lock);
    s->used = ++bro_cache.tick;
    bro_cache_snap *dead = bro_cache_publish_locked(s);
    pthread_mutex_unlock(&bro_cache.lock);
    if (dead)
        bro_cache_snap_free(dead);
    return s;
}
