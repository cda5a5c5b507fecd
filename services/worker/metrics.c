/* The worker's counters (metrics.h): per-slot start times, atomic counts per kind, outcome and
 * duration bucket, and the flush of their changes to bro:metrics. */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ids.h"
#include "common/log.h"
#include "handlers.h"
#include "runtime.h"

#define BRO_WMETRICS_FLUSH_MS 1000 /* how often the figures go to Redis */

const double bro_wmetrics_bounds_s[BRO_WM_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

static const char *const bro_wmetrics_outcomes[BRO_WM_OUTCOMES] = {"ok", "rejected", "retried",
                                                                   "failed", "dropped"};

/* One kind's counters; the last row of the table is for kinds no handler has. */
typedef struct bro_wmetrics_kind {
    unsigned long long jobs[BRO_WM_OUTCOMES];       /* atomic */
    unsigned long long buckets[BRO_WM_BUCKETS + 1]; /* atomic; not cumulative */
    unsigned long long sum_us;                      /* atomic */
} bro_wmetrics_kind;

struct bro_wmetrics {
    int nkinds;                              /* handler rows + 1 */
    int slots;                               /* entries of started_us and open */
    int64_t *started_us;                     /* per slot: when its job began (its own thread's) */
    int *open;                               /* per slot: 1 between begin and the first end */
    bro_wmetrics_kind *kinds;                /* nkinds rows, counted by the slots */
    bro_wmetrics_kind *flushed;              /* nkinds rows: what the last flush sent */
    unsigned long long errors[BRO_E__COUNT]; /* atomic */
    unsigned long long errors_flushed[BRO_E__COUNT];
    long long reconnects_flushed[2]; /* redis, postgres */
    int64_t last_flush_ms;           /* unix ms of the last flush tried */
};

const char *bro_wmetrics_outcome_name(int outcome)
{
    return outcome >= 0 && outcome < BRO_WM_OUTCOMES ? bro_wmetrics_outcomes[outcome] : "failed";
}

bro_wmetrics *bro_wmetrics_new(int slots)
{
    bro_wmetrics *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    int n = 0;
    bro_handlers_all(&n);
    m->nkinds = n + 1;
    m->slots = slots;
    m->started_us = calloc((size_t)slots, sizeof(*m->started_us));
    m->open = calloc((size_t)slots, sizeof(*m->open));
    m->kinds = calloc((size_t)m->nkinds, sizeof(*m->kinds));
    m->flushed = calloc((size_t)m->nkinds, sizeof(*m->flushed));
    if (!m->started_us || !m->open || !m->kinds || !m->flushed) {
        bro_wmetrics_free(m);
        return NULL;
    }
    return m;
}

void bro_wmetrics_free(bro_wmetrics *m)
{
    if (m == NULL)
        return;
    free(m->started_us);
    free(m->open);
    free(m->kinds);
    free(m->flushed);
    free(m);
}

static int64_t bro_wmetrics_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void bro_wmetrics_begin(bro_wmetrics *m, int slot)
{
    if (m == NULL || slot < 0 || slot >= m->slots)
        return;
    m->started_us[slot] = bro_wmetrics_now_us();
    m->open[slot] = 1;
}

/* The row of kind: its handler's index, or the last row. */
static int bro_wmetrics_kind_index(const bro_wmetrics *m, const char *kind)
{
    int n = 0;
    const bro_handler *all = bro_handlers_all(&n);
    const bro_handler *h = kind ? bro_handlers_find(kind) : NULL;
    return h ? (int)(h - all) : m->nkinds - 1;
}

void bro_wmetrics_end(bro_wmetrics *m, int slot, const char *kind, int outcome, int code)
{
    if (m == NULL || slot < 0 || slot >= m->slots || !m->open[slot])
        return;
    m->open[slot] = 0;
    if (outcome < 0 || outcome >= BRO_WM_OUTCOMES)
        outcome = BRO_WM_FAILED;
    bro_wmetrics_kind *k = &m->kinds[bro_wmetrics_kind_index(m, kind)];
    long long us = (long long)(bro_wmetrics_now_us() - m->started_us[slot]);
    int b = 0;
    while (b < BRO_WM_BUCKETS && us > (long long)(bro_wmetrics_bounds_s[b] * 1e6))
        b++;
    __atomic_add_fetch(&k->jobs[outcome], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&k->buckets[b], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&k->sum_us, (unsigned long long)(us > 0 ? us : 0), __ATOMIC_RELAXED);
    if ((outcome == BRO_WM_RETRIED || outcome == BRO_WM_FAILED) && code > 0 && code < BRO_E__COUNT)
        __atomic_add_fetch(&m->errors[code], 1, __ATOMIC_RELAXED);
}

int bro_wmetrics_outcome_of(int replied, int retried, int status)
{
    if (replied)
        return status >= 400 && status < 500 ? BRO_WM_REJECTED : BRO_WM_OK;
    return retried ? BRO_WM_RETRIED : BRO_WM_FAILED;
}

/* ---- the flush ----------------------------------------------------------------------------- */

/* The changes to send, as hash fields and deltas. */
typedef struct bro_wmetrics_batch {
    char (*fields)[96]; /* field names */
    const char **names; /* pointers into fields, for bro_queue_add_counts */
    long long *deltas;
    int n, cap;
} bro_wmetrics_batch;

static void bro_wmetrics_add(bro_wmetrics_batch *b, long long delta, const char *fmt, const char *a,
                             const char *c)
{
    if (delta <= 0 || b->n >= b->cap)
        return;
    snprintf(b->fields[b->n], sizeof(b->fields[b->n]), fmt, a, c);
    b->names[b->n] = b->fields[b->n];
    b->deltas[b->n++] = delta;
}

/* Adds one kind's changes to b; *sent becomes what is now counted. */
static void bro_wmetrics_kind_batch(bro_wmetrics_batch *b, const char *kind,
                                    const bro_wmetrics_kind *now, const bro_wmetrics_kind *sent)
{
    for (int o = 0; o < BRO_WM_OUTCOMES; o++)
        bro_wmetrics_add(b, (long long)(now->jobs[o] - sent->jobs[o]), "j|%s|%s", kind,
                         bro_wmetrics_outcomes[o]);
    for (int i = 0; i <= BRO_WM_BUCKETS; i++) {
        char bucket[8];
        snprintf(bucket, sizeof(bucket), i < BRO_WM_BUCKETS ? "%d" : "inf", i);
        bro_wmetrics_add(b, (long long)(now->buckets[i] - sent->buckets[i]), "d|%s|%s", kind,
                         bucket);
    }
    bro_wmetrics_add(b, (long long)(now->sum_us - sent->sum_us), "s|%s%s", kind, "");
}

static void bro_wmetrics_snapshot(const bro_wmetrics_kind *from, bro_wmetrics_kind *to)
{
    for (int o = 0; o < BRO_WM_OUTCOMES; o++)
        to->jobs[o] = __atomic_load_n(&from->jobs[o], __ATOMIC_RELAXED);
    for (int i = 0; i <= BRO_WM_BUCKETS; i++)
        to->buckets[i] = __atomic_load_n(&from->buckets[i], __ATOMIC_RELAXED);
    to->sum_us = __atomic_load_n(&from->sum_us, __ATOMIC_RELAXED);
}

int bro_wmetrics_flush(bro_wmetrics *m, bro_queue *q, long long redis_reconnects,
                       long long pg_reconnects, bro_err *err)
{
    if (m == NULL)
        return 0;
    int cap = m->nkinds * (BRO_WM_OUTCOMES + BRO_WM_BUCKETS + 2) + BRO_E__COUNT + 2;
    bro_wmetrics_batch b = {calloc((size_t)cap, 96), calloc((size_t)cap, sizeof(char *)),
                            calloc((size_t)cap, sizeof(long long)), 0, cap};
    bro_wmetrics_kind *now = calloc((size_t)m->nkinds, sizeof(*now));
    unsigned long long errors[BRO_E__COUNT];
    int rc = -1;
    if (!b.fields || !b.names || !b.deltas || !now) {
        bro_err_set(err, BRO_E_NOMEM, "out of memory");
        goto out;
    }
    int nh = 0;
    const bro_handler *all = bro_handlers_all(&nh);
    for (int k = 0; k < m->nkinds; k++) {
        bro_wmetrics_snapshot(&m->kinds[k], &now[k]);
        bro_wmetrics_kind_batch(&b, k < nh ? all[k].kind : "unknown", &now[k], &m->flushed[k]);
    }
    for (int c = 0; c < BRO_E__COUNT; c++) {
        errors[c] = __atomic_load_n(&m->errors[c], __ATOMIC_RELAXED);
        bro_wmetrics_add(&b, (long long)(errors[c] - m->errors_flushed[c]), "e|%s%s",
                         bro_err_word(c), "");
    }
    bro_wmetrics_add(&b, redis_reconnects - m->reconnects_flushed[0], "r|%s%s", "redis", "");
    bro_wmetrics_add(&b, pg_reconnects - m->reconnects_flushed[1], "r|%s%s", "postgres", "");
    rc = bro_queue_add_counts(q, "bro:metrics", b.n, b.names, b.deltas, err);
    if (rc == 0) {
        memcpy(m->flushed, now, (size_t)m->nkinds * sizeof(*now));
        memcpy(m->errors_flushed, errors, sizeof(errors));
        m->reconnects_flushed[0] = redis_reconnects;
        m->reconnects_flushed[1] = pg_reconnects;
    }
out:
    free(b.fields);
    free(b.names);
    free(b.deltas);
    free(now);
    return rc;
}

void bro_wmetrics_tick(bro_worker *w, int force)
{
    bro_wmetrics *m = w->metrics;
    int64_t now = bro_ids_now_ms();
    if (m == NULL || w->queue == NULL || (!force && now - m->last_flush_ms < BRO_WMETRICS_FLUSH_MS))
        return;
    m->last_flush_ms = now;
    long long redis = bro_queue_reconnects(w->queue), pg = bro_db_reconnects(w->db);
    for (int i = 0; i < w->concurrency && w->slots; i++) {
        /* A slot sets its handles once, from its own thread. */
        redis += bro_queue_reconnects(__atomic_load_n(&w->slots[i].queue, __ATOMIC_ACQUIRE));
        pg += bro_db_reconnects(__atomic_load_n(&w->slots[i].db, __ATOMIC_ACQUIRE));
    }
    bro_err err = {0};
    if (bro_wmetrics_flush(m, w->queue, redis, pg, &err) < 0)
        bro_log_warn(NULL, "metrics not flushed (kept for the next time): %s", err.msg);
}
