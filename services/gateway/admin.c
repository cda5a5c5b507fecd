/* The admin listener: Prometheus text on /metrics, rendered from the counters that the rest of
 * the gateway feeds (metrics.h) and the fleet's figures in Redis (fleet.h), and its own
 * /healthz. It shares the connection layer with the API and nothing else. */
#include "admin.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/ids.h"
#include "common/log.h"
#include "fleet.h"
#include "ratelimit.h"
#include "routes.h"

/* ---- the admin listener: /metrics ---------------------------------------------------------- */

struct bro_admin {
    bro_conn_server *server; /* the listener, owned */
    bro_metrics *metrics;    /* the gateway's, borrowed */
    bro_fleet *fleet;        /* the Redis reader of the fleet's figures, owned */
};

/* Problem answers by word, and the gateway's lost Redis connections. */
static void bro_admin_metrics_problems(struct evbuffer *out, const bro_metrics *m)
{
    evbuffer_add_printf(out, "# HELP brobygger_http_problems_total Problem answers by their "
                             "stable word (the gateway's own and the workers').\n"
                             "# TYPE brobygger_http_problems_total counter\n");
    /* Every word a client can be told, each from 0, so an alert on a rate sees it appear. */
    for (int c = 1; c < BRO_E__COUNT; c++)
        if (bro_err_public(c) == c)
            evbuffer_add_printf(out, "brobygger_http_problems_total{word=\"%s\"} %llu\n",
                                bro_err_word(c),
                                __atomic_load_n(&m->problems[c], __ATOMIC_RELAXED));
    evbuffer_add_printf(out,
                        "# HELP brobygger_gateway_redis_reconnects_total Redis connections the "
                        "gateway lost and made again.\n"
                        "# TYPE brobygger_gateway_redis_reconnects_total counter\n"
                        "brobygger_gateway_redis_reconnects_total %llu\n",
                        __atomic_load_n(&m->redis_lost, __ATOMIC_RELAXED));
}

/* The connection layer's counters, in Prometheus text. */
static void bro_admin_metrics_conn(struct evbuffer *out, const bro_conn_stats *st)
{
    static const char *const phases[] = {"header", "body", "idle"};
    evbuffer_add_printf(
        out,
        "# HELP brobygger_http_connections Open HTTP connections (API and admin listeners).\n"
        "# TYPE brobygger_http_connections gauge\n"
        "brobygger_http_connections %lld\n"
        "# HELP brobygger_http_connections_refused_total Connections answered 503 over "
        "BROBYGGER_MAX_CONNECTIONS.\n"
        "# TYPE brobygger_http_connections_refused_total counter\n"
        "brobygger_http_connections_refused_total %llu\n"
        "# HELP brobygger_http_accept_paused_total Times accepting paused for lack of "
        "descriptors.\n"
        "# TYPE brobygger_http_accept_paused_total counter\n"
        "brobygger_http_accept_paused_total %llu\n"
        "# HELP brobygger_http_protocol_errors_total Requests refused by the HTTP parser.\n"
        "# TYPE brobygger_http_protocol_errors_total counter\n"
        "brobygger_http_protocol_errors_total %llu\n"
        "# HELP brobygger_http_timeouts_total Connections ended by a deadline, by phase.\n"
        "# TYPE brobygger_http_timeouts_total counter\n",
        (long long)__atomic_load_n(&st->open, __ATOMIC_RELAXED),
        __atomic_load_n(&st->refused, __ATOMIC_RELAXED),
        __atomic_load_n(&st->accept_paused, __ATOMIC_RELAXED),
        __atomic_load_n(&st->refused_protocol, __ATOMIC_RELAXED));
    for (int i = 0; i < 3; i++)
        evbuffer_add_printf(out, "brobygger_http_timeouts_total{phase=\"%s\"} %llu\n", phases[i],
                            __atomic_load_n(&st->timeouts[i], __ATOMIC_RELAXED));
}

static void bro_admin_metrics(bro_conn_req *req, bro_admin *a)
{
    bro_metrics *m = a->metrics;
    struct evbuffer *out = evbuffer_new();
    if (out == NULL) {
        bro_conn_send(req, 500, NULL);
        return;
    }
    evbuffer_add_printf(out, "# HELP brobygger_http_requests_total Answered requests by route, "
                             "method and status class.\n"
                             "# TYPE brobygger_http_requests_total counter\n");
    for (int i = 0; i < bro_routes_count() && i < m->nroutes; i++) {
        const bro_route *rt = bro_routes_at(i);
        for (int c = 1; c <= 5; c++) {
            unsigned long long n = __atomic_load_n(&m->requests[i][c], __ATOMIC_RELAXED);
            if (n)
                evbuffer_add_printf(out,
                                    "brobygger_http_requests_total{route=\"%s\",method=\"%s\","
                                    "status=\"%dxx\"} %llu\n",
                                    rt->pattern, bro_routes_method_name(rt->method), c, n);
        }
    }
    for (int c = 1; c <= 5; c++) {
        unsigned long long n = __atomic_load_n(&m->requests[m->nroutes][c], __ATOMIC_RELAXED);
        if (n)
            evbuffer_add_printf(out,
                                "brobygger_http_requests_total{route=\"unmatched\",status=\"%dxx\"}"
                                " %llu\n",
                                c, n);
    }
    evbuffer_add_printf(out, "# HELP brobygger_http_request_duration_seconds From a request's "
                             "arrival to its answer.\n"
                             "# TYPE brobygger_http_request_duration_seconds histogram\n");
    unsigned long long cum = 0;
    for (int b = 0; b <= BRO_METRICS_BUCKETS; b++) {
        cum += __atomic_load_n(&m->latency_buckets[b], __ATOMIC_RELAXED);
        if (b < BRO_METRICS_BUCKETS)
            evbuffer_add_printf(out,
                                "brobygger_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                                bro_metrics_bounds_ms[b] / 1000.0, cum);
        else
            evbuffer_add_printf(
                out, "brobygger_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
    }
    evbuffer_add_printf(out, "brobygger_http_request_duration_seconds_sum %.6f\n",
                        __atomic_load_n(&m->latency_sum_us, __ATOMIC_RELAXED) / 1e6);
    evbuffer_add_printf(out, "brobygger_http_request_duration_seconds_count %llu\n",
                        __atomic_load_n(&m->latency_count, __ATOMIC_RELAXED));
    evbuffer_add_printf(out,
                        "# HELP brobygger_auth_cache_total API keys found in the gateway's "
                        "cache (hit) or resolved by a worker (miss).\n"
                        "# TYPE brobygger_auth_cache_total counter\n"
                        "brobygger_auth_cache_total{result=\"hit\"} %llu\n"
                        "brobygger_auth_cache_total{result=\"miss\"} %llu\n"
                        "# HELP brobygger_redis_errors_total Jobs Redis did not take.\n"
                        "# TYPE brobygger_redis_errors_total counter\n"
                        "brobygger_redis_errors_total %llu\n"
                        "# HELP brobygger_job_timeouts_total Requests answered 504: no worker "
                        "replied in time.\n"
                        "# TYPE brobygger_job_timeouts_total counter\n"
                        "brobygger_job_timeouts_total %llu\n"
                        "# HELP brobygger_http_client_gone_total Requests whose client went away "
                        "before the answer (recorded with status 499).\n"
                        "# TYPE brobygger_http_client_gone_total counter\n"
                        "brobygger_http_client_gone_total %llu\n",
                        __atomic_load_n(&m->auth_hits, __ATOMIC_RELAXED),
                        __atomic_load_n(&m->auth_misses, __ATOMIC_RELAXED),
                        __atomic_load_n(&m->redis_errors, __ATOMIC_RELAXED),
                        __atomic_load_n(&m->timeouts, __ATOMIC_RELAXED),
                        __atomic_load_n(&m->client_gone, __ATOMIC_RELAXED));
    bro_admin_metrics_conn(out, &m->conn);
    /* Rate limits (ratelimit.c): 429s per limit. */
    evbuffer_add_printf(out, "# HELP brobygger_rate_limited_total Requests answered 429, by "
                             "limit.\n"
                             "# TYPE brobygger_rate_limited_total counter\n");
    for (int k = 0; k < BRO_METRICS_LIMITS; k++)
        evbuffer_add_printf(out, "brobygger_rate_limited_total{limit=\"%s\"} %llu\n",
                            bro_ratelimit_name(k),
                            __atomic_load_n(&m->rate_limited[k], __ATOMIC_RELAXED));
    bro_admin_metrics_problems(out, m);
    bro_fleet_render(a->fleet, out);
    evhttp_add_header(bro_conn_out_headers(req), "Content-Type", "text/plain; version=0.0.4");
    bro_conn_send(req, 200, out);
    evbuffer_free(out);
}

/* Answers an admin request with a document of type and a request id; frees body. */
static void bro_admin_answer(bro_conn_req *req, int status, const char *type, struct evbuffer *body)
{
    char id[BRO_UUID_LEN + 1];
    bro_ids_uuid7(id);
    evhttp_add_header(bro_conn_out_headers(req), "X-Request-Id", id);
    evhttp_add_header(bro_conn_out_headers(req), "Content-Type", type);
    bro_conn_send(req, status, body);
    if (body)
        evbuffer_free(body);
}

static void bro_admin_problem(bro_conn_req *req, int status, const char *word, const char *detail)
{
    bro_admin_answer(req, status, "application/problem+json",
                     bro_conn_problem(status, word, detail, NULL));
}

static void bro_admin_on_request(bro_conn_req *req, void *arg)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    const char *path = evhttp_uri_get_path(req->uri);
    int get = req->method == EVHTTP_REQ_GET || req->method == EVHTTP_REQ_HEAD;
    int known = strcmp(path, "/metrics") == 0 || strcmp(path, "/healthz") == 0;
    if (known && !get) {
        evhttp_add_header(bro_conn_out_headers(req), "Allow", "GET, HEAD");
        bro_admin_problem(req, 405, "method-not-allowed", "this path does not take that method");
    } else if (strcmp(path, "/metrics") == 0) {
        bro_admin_metrics(req, arg);
    } else if (strcmp(path, "/healthz") == 0) {
        struct evbuffer *body = evbuffer_new();
        if (body)
            evbuffer_add(body, ok, sizeof(ok) - 1);
        bro_admin_answer(req, 200, "application/json", body);
    } else {
        bro_admin_problem(req, 404, "not-found", "no such resource");
    }
}

bro_admin *bro_admin_start(struct event_base *base, const bro_config *cfg, bro_metrics *m)
{
    bro_err err = {0};
    bro_admin *a = calloc(1, sizeof(*a));
    if (a == NULL || (a->fleet = bro_fleet_new(cfg->redis)) == NULL) {
        bro_admin_stop(a);
        return NULL;
    }
    a->metrics = m;
    int fd = bro_conn_listen(cfg->admin_listen, 0, &err);
    if (fd < 0) {
        bro_log_error(NULL, "BROBYGGER_ADMIN_LISTEN: %s", err.msg);
        bro_admin_stop(a);
        return NULL;
    }
    a->server = bro_conn_server_new(base, fd, &m->admin, &m->conn, bro_admin_on_request, a);
    if (a->server == NULL) {
        bro_log_error(NULL, "cannot serve %s", cfg->admin_listen);
        close(fd);
        bro_admin_stop(a);
        return NULL;
    }
    return a;
}

void bro_admin_stop(bro_admin *a)
{
    if (a == NULL)
        return;
    bro_conn_server_free(a->server);
    bro_fleet_free(a->fleet);
    free(a);
}
