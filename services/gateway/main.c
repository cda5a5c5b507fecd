/* brobygger-gateway: BROBYGGER_THREADS event loops serving the API, plus the admin listener
 * on the main thread. SIGINT or SIGTERM gives in-flight requests a short grace to get their
 * replies, answers the rest with 503, and exits 0. */
#include <event2/thread.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "common/log.h"
#include "common/problem.h"
#include "gw.h"
#include "metrics.h"
#include "routes.h"
#include "server.h"

#define BRO_GATEWAY_DRAIN_MS 300 /* grace for in-flight replies at shutdown */

static void *bro_gateway_thread(void *arg)
{
    bro_gw *gw = arg;
    event_base_dispatch(gw->base);
    return NULL;
}

typedef struct bro_gateway {
    bro_config cfg;
    char instance[BRO_UUID_LEN + 1];
    bro_metrics metrics;
    struct event_base *base; /* main thread: signals and the admin listener */
    bro_gw *threads;
    pthread_t *tids;
    int nthreads;
} bro_gateway;

static void bro_gateway_on_signal(evutil_socket_t sig, short what, void *arg)
{
    bro_gateway *g = arg;
    bro_log_info(NULL, "signal %d: stopping", (int)sig);
    struct timeval drain = {0, BRO_GATEWAY_DRAIN_MS * 1000};
    /* Each loop runs a little longer so replies already on their way are delivered; what is
     * still waiting after that is answered 503 when the thread's connections are closed. */
    for (int i = 0; i < g->nthreads; i++)
        if (g->threads[i].base)
            event_base_loopexit(g->threads[i].base, &drain);
    event_base_loopexit(g->base, NULL);
}

static void bro_gateway_free_thread(bro_gw *gw)
{
    bro_server_stop(gw);
    if (gw->base)
        event_base_free(gw->base);
}

/* A thread's event base. A connection's read and write events go on and off as requests come
 * and go; the changelist folds those into one epoll_ctl per descriptor per loop turn. */
static struct event_base *bro_gateway_base(void)
{
    struct event_config *cfg = event_config_new();
    if (cfg == NULL)
        return NULL;
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    struct event_base *base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

int main(int argc, char **argv)
{
    static bro_gateway g;
    bro_err err = {0};
    if (argc == 2 && strcmp(argv[1], "--routes") == 0) {
        bro_routes_print(stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (argc == 2 && strcmp(argv[1], "--problems") == 0)
        return bro_problem_print_table(stdout) == 0 && fflush(stdout) == 0 ? 0 : 1;
    if (argc > 1) {
        fprintf(argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
                "usage: brobygger-gateway [--routes | --problems]\nConfiguration comes from "
                "BROBYGGER_* environment variables (see README).\n--routes prints the route table "
                "(method, pattern, job kind or \"local\", roles) and exits.\n--problems prints "
                "every problem type a client can receive (word, status, title) and exits.\n");
        return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    if (bro_config_load(&g.cfg, &err) < 0) {
        fprintf(stderr, "brobygger-gateway: %s\n", err.msg);
        return 2;
    }
    bro_log_init("gateway", g.cfg.log_level);
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    bro_ids_uuid7(g.instance);
    g.base = event_base_new();
    g.nthreads = g.cfg.threads;
    g.threads = calloc((size_t)g.nthreads, sizeof(*g.threads));
    g.tids = calloc((size_t)g.nthreads, sizeof(*g.tids));
    if (g.base == NULL || g.threads == NULL || g.tids == NULL)
        return 1;
    long nofile = bro_conn_raise_nofile();
    bro_log_info(NULL, "descriptor limit %ld", nofile);
    bro_conn_limits limits = {
        .header_ms = g.cfg.header_timeout_ms,
        .body_ms = g.cfg.body_timeout_ms,
        .idle_ms = g.cfg.idle_timeout_ms,
        .max_connections = g.cfg.max_connections,
        .max_body = (size_t)g.cfg.max_body,
    };
    g.metrics.api = limits;
    /* The admin listener takes no bodies worth the name. */
    g.metrics.admin = limits;
    g.metrics.admin.max_body = 0;
    if (bro_metrics_init(&g.metrics, bro_routes_count()) < 0)
        return 1;
    bro_admin *admin = bro_admin_start(g.base, &g.cfg, &g.metrics);
    int rc = admin ? 0 : 1;
    int started = 0;
    for (int i = 0; rc == 0 && i < g.nthreads; i++) {
        bro_gw *gw = &g.threads[i];
        gw->index = i;
        gw->cfg = &g.cfg;
        gw->instance = g.instance;
        gw->metrics = &g.metrics;
        gw->base = bro_gateway_base();
        if (gw->base == NULL || bro_server_start(gw) < 0) {
            rc = 1;
            break;
        }
        if (pthread_create(&g.tids[i], NULL, bro_gateway_thread, gw) != 0) {
            rc = 1;
            break;
        }
        started++;
    }
    struct event *sigint = evsignal_new(g.base, SIGINT, bro_gateway_on_signal, &g);
    struct event *sigterm = evsignal_new(g.base, SIGTERM, bro_gateway_on_signal, &g);
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    if (rc == 0) {
        bro_log_info(NULL, "gateway %s listening on %s (%d threads), admin on %s", g.instance,
                     g.cfg.listen, g.nthreads, g.cfg.admin_listen);
        event_base_dispatch(g.base);
    } else {
        bro_gateway_on_signal(SIGTERM, 0, &g);
    }
    for (int i = 0; i < started; i++)
        pthread_join(g.tids[i], NULL);
    for (int i = 0; i < g.nthreads; i++)
        bro_gateway_free_thread(&g.threads[i]);
    event_free(sigint);
    event_free(sigterm);
    bro_admin_stop(admin);
    bro_metrics_free(&g.metrics);
    event_base_free(g.base);
    free(g.threads);
    free(g.tids);
    libevent_global_shutdown();
    return rc;
}
