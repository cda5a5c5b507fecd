/* The gateway's counters (see metrics.h): what feeding them means. Rendering them is admin.c's;
 * this file knows no other part of the gateway. */
#include "metrics.h"

#include <stdlib.h>
#include <time.h>

const int bro_metrics_bounds_ms[BRO_METRICS_BUCKETS] = {1,  2,   3,   5,   10,   25,
                                                        50, 100, 250, 500, 1000, 5000};

int64_t bro_metrics_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void bro_metrics_observe(bro_metrics *m, int route_index, int status, int64_t start_us)
{
    int cls = status / 100;
    if (cls < 0 || cls > 5)
        cls = 0;
    int route = route_index >= 0 && route_index < m->nroutes ? route_index : m->nroutes;
    if (m->requests)
        __atomic_add_fetch(&m->requests[route][cls], 1, __ATOMIC_RELAXED);
    long long us = (long long)(bro_metrics_now_us() - start_us);
    int b = 0;
    while (b < BRO_METRICS_BUCKETS && us > bro_metrics_bounds_ms[b] * 1000LL)
        b++;
    __atomic_add_fetch(&m->latency_buckets[b], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&m->latency_count, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&m->latency_sum_us, (unsigned long long)us, __ATOMIC_RELAXED);
}

int bro_metrics_init(bro_metrics *m, int nroutes)
{
    m->nroutes = nroutes > 0 ? nroutes : 0;
    m->requests = calloc((size_t)m->nroutes + 1, sizeof(*m->requests));
    return m->requests ? 0 : -1;
}

void bro_metrics_free(bro_metrics *m)
{
    free(m->requests);
    m->requests = NULL;
}

void bro_metrics_problem(bro_metrics *m, const char *word)
{
    int code = bro_err_from_word(word);
    if (code <= 0 || code >= BRO_E__COUNT)
        code = BRO_E_INTERNAL;
    __atomic_add_fetch(&m->problems[code], 1, __ATOMIC_RELAXED);
}
