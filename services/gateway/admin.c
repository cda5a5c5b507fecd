/* What the gateway answers itself: health, readiness, the caller's identity, queue and worker
 * views read from Redis, and Prometheus metrics on the admin listener. */
#include <event2/buffer.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/queue.h"
#include "gateway.h"

static const int bro_admin_bounds_ms[12] = {1, 2, 3, 5, 10, 25, 50, 100, 250, 500, 1000, 5000};

/* Per queue: length, pending, delayed, dead letters, consumers; one round trip. */
static const char *bro_admin_queues_lua =
    "local out = {}\n"
    "for _, q in ipairs(ARGV) do\n"
    "  local s = 'bro:q:' .. q\n"
    "  local pending, consumers = 0, 0\n"
    "  local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', s)\n"
    "  if ok then for _, g in ipairs(groups) do\n"
    "    for i = 1, #g, 2 do\n"
    "      if g[i] == 'pending' then pending = pending + g[i + 1] end\n"
    "      if g[i] == 'consumers' then consumers = consumers + g[i + 1] end\n"
    "    end end end\n"
    "  table.insert(out, redis.call('XLEN', s))\n"
    "  table.insert(out, pending)\n"
    "  table.insert(out, redis.call('ZCARD', 'bro:delayed:' .. q))\n"
    "  table.insert(out, redis.call('XLEN', 'bro:dead:' .. q))\n"
    "  table.insert(out, consumers)\n"
    "end\n"
    "return out\n";

/* Live workers (heartbeat newer than ARGV[1]) and their info. */
static const char *bro_admin_workers_lua =
    "local out = {}\n"
    "for _, id in ipairs(redis.call('ZRANGEBYSCORE', 'bro:workers', ARGV[1], '+inf')) do\n"
    "  local info = redis.call('GET', 'bro:worker:' .. id)\n"
    "  if info then table.insert(out, id); table.insert(out, info) end\n"
    "end\n"
    "return out\n";

void bro_admin_observe(bro_gw_req *r, int status)
{
    bro_metrics *m = r->gw->metrics;
    int cls = status / 100;
    if (cls < 0 || cls > 5)
        cls = 0;
    int route = r->route_index >= 0 && r->route_index < 63 ? r->route_index : 63;
    __atomic_add_fetch(&m->requests[route][cls], 1, __ATOMIC_RELAXED);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - r->start_us;
    int b = 0;
    while (b < 12 && us > bro_admin_bounds_ms[b] * 1000LL)
        b++;
    __atomic_add_fetch(&m->latency_buckets[b], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&m->latency_count, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&m->latency_sum_us, (unsigned long long)us, __ATOMIC_RELAXED);
}

/* ---- local API routes ---------------------------------------------------------------------- */

void bro_admin_healthz(bro_gw_req *r)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    bro_http_json(r, 200, ok, sizeof(ok) - 1);
}

void bro_admin_me(bro_gw_req *r)
{
    json_t *me = json_pack("{s:o, s:s, s:s, s:o}", "tenant",
                           r->key.tenant[0] ? json_string(r->key.tenant) : json_null(), "role",
                           r->key.role, "key_id", r->key.id, "organization_id",
                           r->key.org[0] ? json_string(r->key.org) : json_null());
    char *text = me ? json_dumps(me, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(me);
    if (text == NULL) {
        bro_http_problem(r, 500, "internal", "out of memory", NULL);
        return;
    }
    bro_http_json(r, 200, text, strlen(text));
    free(text);
}

static void bro_admin_send_json(bro_gw_req *r, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);
    if (text == NULL)
        bro_http_problem(r, 500, "internal", "out of memory", NULL);
    else
        bro_http_json(r, 200, text, strlen(text));
    free(text);
}

static void bro_admin_on_ready(redisAsyncContext *c, void *reply, void *privdata)
{
    bro_gw_req *r = privdata;
    redisReply *rep = reply;
    r->redis_refs--;
    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements > 0) {
        static const char ok[] = "{\"status\":\"ready\"}";
        bro_http_json(r, 200, ok, sizeof(ok) - 1);
    } else {
        bro_http_problem(r, 503, "unavailable",
                         rep ? "no worker has a fresh heartbeat" : "Redis does not answer", NULL);
    }
    bro_rpc_release(r);
}

/* Ready when some worker's heartbeat key still exists. The key's TTL runs on Redis's clock, so
 * clock skew between machines does not matter: a cleanly stopped worker deletes its key (503 at
 * once when it was the last), a killed one's expires within BROBYGGER_HEARTBEAT_TTL_MS. The
 * newest members of bro:workers are the candidates; the reply is [id] or [] as before. */
void bro_admin_readyz(bro_gw_req *r)
{
    static const char *live_lua =
        "for _, id in ipairs(redis.call('ZREVRANGE', 'bro:workers', 0, 63)) do\n"
        "  if redis.call('EXISTS', 'bro:worker:' .. id) == 1 then return {id} end\n"
        "end\n"
        "return {}\n";
    const char *argv[] = {"EVAL", live_lua, "0"};
    if (bro_rpc_command(r, bro_admin_on_ready, 3, argv) < 0)
        bro_http_problem(r, 503, "unavailable", "Redis is not reachable", NULL);
}

static const char *const bro_admin_queue_names[] = {BRO_QUEUE_RECORDS, BRO_QUEUE_MATCHING,
                                                    BRO_QUEUE_NOTIFY, BRO_QUEUE_REPORTS};

static void bro_admin_on_queues(redisAsyncContext *c, void *reply, void *privdata)
{
    bro_gw_req *r = privdata;
    redisReply *rep = reply;
    r->redis_refs--;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 20) {
        bro_http_problem(r, 503, "unavailable", "queue state could not be read", NULL);
    } else {
        json_t *items = json_array();
        for (int q = 0; q < 4; q++) {
            redisReply **v = rep->element + q * 5;
            json_array_append_new(
                items,
                json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "queue", bro_admin_queue_names[q],
                          "length", (json_int_t)v[0]->integer, "pending", (json_int_t)v[1]->integer,
                          "delayed", (json_int_t)v[2]->integer, "dead", (json_int_t)v[3]->integer,
                          "consumers", (json_int_t)v[4]->integer));
        }
        bro_admin_send_json(r, json_pack("{s:o}", "items", items));
    }
    bro_rpc_release(r);
}

void bro_admin_queues(bro_gw_req *r)
{
    const char *argv[] = {"EVAL",
                          bro_admin_queues_lua,
                          "0",
                          bro_admin_queue_names[0],
                          bro_admin_queue_names[1],
                          bro_admin_queue_names[2],
                          bro_admin_queue_names[3]};
    if (bro_rpc_command(r, bro_admin_on_queues, 7, argv) < 0)
        bro_http_problem(r, 503, "unavailable", "Redis is not reachable", NULL);
}

static void bro_admin_on_workers(redisAsyncContext *c, void *reply, void *privdata)
{
    bro_gw_req *r = privdata;
    redisReply *rep = reply;
    r->redis_refs--;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
        bro_http_problem(r, 503, "unavailable", "worker state could not be read", NULL);
    } else {
        json_t *items = json_array();
        for (size_t i = 0; i + 1 < rep->elements; i += 2) {
            json_t *info = json_loadb(rep->element[i + 1]->str, rep->element[i + 1]->len, 0, NULL);
            if (!json_is_object(info)) {
                json_decref(info);
                info = json_object();
            }
            json_object_set_new(info, "id", json_string(rep->element[i]->str));
            json_array_append_new(items, info);
        }
        bro_admin_send_json(r, json_pack("{s:o}", "items", items));
    }
    bro_rpc_release(r);
}

void bro_admin_workers(bro_gw_req *r)
{
    char min[24];
    snprintf(min, sizeof(min), "%lld",
             (long long)(bro_ids_now_ms() - r->gw->cfg->heartbeat_ttl_ms));
    const char *argv[] = {"EVAL", bro_admin_workers_lua, "0", min};
    if (bro_rpc_command(r, bro_admin_on_workers, 4, argv) < 0)
        bro_http_problem(r, 503, "unavailable", "Redis is not reachable", NULL);
}

/* ---- the admin listener: /metrics ---------------------------------------------------------- */

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

static void bro_admin_metrics(bro_conn_req *req, bro_metrics *m)
{
    struct evbuffer *out = evbuffer_new();
    if (out == NULL) {
        bro_conn_send(req, 500, NULL);
        return;
    }
    evbuffer_add_printf(out, "# HELP brobygger_http_requests_total Answered requests by route, "
                             "method and status class.\n"
                             "# TYPE brobygger_http_requests_total counter\n");
    for (int i = 0; i < bro_routes_count() && i < 63; i++) {
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
        unsigned long long n = __atomic_load_n(&m->requests[63][c], __ATOMIC_RELAXED);
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
    for (int b = 0; b < 13; b++) {
        cum += __atomic_load_n(&m->latency_buckets[b], __ATOMIC_RELAXED);
        if (b < 12)
            evbuffer_add_printf(out,
                                "brobygger_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                                bro_admin_bounds_ms[b] / 1000.0, cum);
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
                        "brobygger_job_timeouts_total %llu\n",
                        __atomic_load_n(&m->auth_hits, __ATOMIC_RELAXED),
                        __atomic_load_n(&m->auth_misses, __ATOMIC_RELAXED),
                        __atomic_load_n(&m->redis_errors, __ATOMIC_RELAXED),
                        __atomic_load_n(&m->timeouts, __ATOMIC_RELAXED));
    bro_admin_metrics_conn(out, &m->conn);
    /* Rate limits (ratelimit.c): 429s per limit. */
    evbuffer_add_printf(out, "# HELP brobygger_rate_limited_total Requests answered 429, by "
                             "limit.\n"
                             "# TYPE brobygger_rate_limited_total counter\n");
    for (int k = 0; k < BRO_RL_KINDS; k++)
        evbuffer_add_printf(out, "brobygger_rate_limited_total{limit=\"%s\"} %llu\n",
                            bro_ratelimit_name(k),
                            __atomic_load_n(&m->rate_limited[k], __ATOMIC_RELAXED));
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

bro_conn_server *bro_admin_start(struct event_base *base, const bro_config *cfg, bro_metrics *m)
{
    bro_err err = {0};
    int fd = bro_conn_listen(cfg->admin_listen, 0, &err);
    if (fd < 0) {
        bro_log_error(NULL, "BROBYGGER_ADMIN_LISTEN: %s", err.msg);
        return NULL;
    }
    bro_conn_server *s =
        bro_conn_server_new(base, fd, &m->admin, &m->conn, bro_admin_on_request, m);
    if (s == NULL) {
        bro_log_error(NULL, "cannot serve %s", cfg->admin_listen);
        close(fd);
    }
    return s;
}
