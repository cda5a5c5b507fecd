/* The routes the gateway answers itself: health, readiness, the caller's identity, and the queue,
 * worker and dead-letter views read from Redis with one command each (through rpc.c). */
#include "local.h"

#include <sys/queue.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/deadletter.h"
#include "common/session.h"
#include "common/queue.h"
#include "http.h"
#include "rpc.h"

/* Per queue: length, pending, delayed, dead letters, consumers; one round trip. */
static const char *bro_local_queues_lua =
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
static const char *bro_local_workers_lua =
    "local out = {}\n"
    "for _, id in ipairs(redis.call('ZRANGEBYSCORE', 'bro:workers', ARGV[1], '+inf')) do\n"
    "  local info = redis.call('GET', 'bro:worker:' .. id)\n"
    "  if info then table.insert(out, id); table.insert(out, info) end\n"
    "end\n"
    "return out\n";

void bro_local_healthz(bro_gw_req *r)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    bro_http_json(r, 200, ok, sizeof(ok) - 1);
}

void bro_local_me(bro_gw_req *r)
{
    json_t *me = json_pack("{s:o, s:s, s:s, s:o}", "tenant",
                           r->key.tenant[0] ? json_string(r->key.tenant) : json_null(), "role",
                           r->key.role, "key_id", r->key.id, "organization_id",
                           r->key.org[0] ? json_string(r->key.org) : json_null());
    char csrf[BRO_SESSION_CSRF_LEN + 1];
    if (me && r->key.session && bro_session_csrf(r->secret, csrf) == 0) {
        /* web: the page reloaded learns its session's token here, never from storage. */
        json_object_set_new(me, "user_id", json_string(r->key.user));
        json_object_set_new(me, "session_id", json_string(r->key.id));
        json_object_set_new(me, "csrf_token", json_string(csrf));
    }
    char *text = me ? json_dumps(me, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(me);
    if (text == NULL) {
        bro_http_problem(r, "internal", "out of memory", NULL);
        return;
    }
    bro_http_json(r, 200, text, strlen(text));
    free(text);
}

static void bro_local_send_json(bro_gw_req *r, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);
    if (text == NULL)
        bro_http_problem(r, "internal", "out of memory", NULL);
    else
        bro_http_json(r, 200, text, strlen(text));
    free(text);
}

/* Answers r when its command got no answer from Redis; returns 1 then, 0 when there is one.
 * lost is what to say when the connection went before answering. */
static int bro_local_no_answer(bro_gw_req *r, const bro_rpc_result *res, const char *lost)
{
    if (res->outcome == BRO_RPC_REPLY)
        return 0;
    if (res->outcome == BRO_RPC_TIMEOUT)
        bro_http_problem(r, "timeout", res->why, NULL);
    else
        bro_http_problem(r, "unavailable",
                         res->outcome == BRO_RPC_UNREACHABLE ? "Redis is not reachable" : lost,
                         NULL);
    return 1;
}

static void bro_local_on_ready(bro_gw_req *r, const bro_rpc_result *res)
{
    if (bro_local_no_answer(r, res, "Redis does not answer"))
        return;
    const redisReply *rep = res->reply;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0) {
        static const char ok[] = "{\"status\":\"ready\"}";
        bro_http_json(r, 200, ok, sizeof(ok) - 1);
    } else {
        bro_http_problem(r, "unavailable", "no worker has a fresh heartbeat", NULL);
    }
}

/* Ready when some worker's heartbeat key still exists. The key's TTL runs on Redis's clock, so
 * clock skew between machines does not matter: a cleanly stopped worker deletes its key (503 at
 * once when it was the last), a killed one's expires within BROBYGGER_HEARTBEAT_TTL_MS. The
 * newest members of bro:workers are the candidates; the reply is [id] or [] as before. */
void bro_local_readyz(bro_gw_req *r)
{
    static const char *live_lua =
        "for _, id in ipairs(redis.call('ZREVRANGE', 'bro:workers', 0, 63)) do\n"
        "  if redis.call('EXISTS', 'bro:worker:' .. id) == 1 then return {id} end\n"
        "end\n"
        "return {}\n";
    const char *argv[] = {"EVAL", live_lua, "0"};
    bro_rpc_command(r, 3, argv, bro_local_on_ready);
}

static const char *const bro_local_queue_names[] = {BRO_QUEUE_RECORDS, BRO_QUEUE_MATCHING,
                                                    BRO_QUEUE_NOTIFY, BRO_QUEUE_REPORTS};

static void bro_local_on_queues(bro_gw_req *r, const bro_rpc_result *res)
{
    if (bro_local_no_answer(r, res, "queue state could not be read"))
        return;
    const redisReply *rep = res->reply;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 20) {
        bro_http_problem(r, "unavailable", "queue state could not be read", NULL);
    } else {
        json_t *items = json_array();
        for (int q = 0; q < 4; q++) {
            redisReply **v = rep->element + q * 5;
            json_array_append_new(
                items,
                json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "queue", bro_local_queue_names[q],
                          "length", (json_int_t)v[0]->integer, "pending", (json_int_t)v[1]->integer,
                          "delayed", (json_int_t)v[2]->integer, "dead", (json_int_t)v[3]->integer,
                          "consumers", (json_int_t)v[4]->integer));
        }
        bro_local_send_json(r, json_pack("{s:o}", "items", items));
    }
}

void bro_local_queues(bro_gw_req *r)
{
    const char *argv[] = {"EVAL",
                          bro_local_queues_lua,
                          "0",
                          bro_local_queue_names[0],
                          bro_local_queue_names[1],
                          bro_local_queue_names[2],
                          bro_local_queue_names[3]};
    bro_rpc_command(r, 7, argv, bro_local_on_queues);
}

static void bro_local_on_workers(bro_gw_req *r, const bro_rpc_result *res)
{
    if (bro_local_no_answer(r, res, "worker state could not be read"))
        return;
    const redisReply *rep = res->reply;
    if (rep->type != REDIS_REPLY_ARRAY) {
        bro_http_problem(r, "unavailable", "worker state could not be read", NULL);
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
        bro_local_send_json(r, json_pack("{s:o}", "items", items));
    }
}

void bro_local_workers(bro_gw_req *r)
{
    char min[24];
    snprintf(min, sizeof(min), "%lld",
             (long long)(bro_ids_now_ms() - r->gw->cfg->heartbeat_ttl_ms));
    const char *argv[] = {"EVAL", bro_local_workers_lua, "0", min};
    bro_rpc_command(r, 4, argv, bro_local_on_workers);
}

/* ---- dead letters: listing and purging (retrying is a worker's, which holds the key) -------- */

/* What a listing asks for, parsed from the query; NULL members for absent parameters. */
typedef struct bro_local_dead_query {
    char queue[BRO_QUEUE_NAME_MAX];     /* "" for all queues */
    char cursor[BRO_DEADLETTER_ID_MAX]; /* "" for the first page */
    int limit;
} bro_local_dead_query;

/* Reads ?queue=&limit=&cursor=; answers r and returns -1 when one of them is wrong. */
static int bro_local_dead_parse(bro_gw_req *r, bro_local_dead_query *dq)
{
    struct evkeyvalq params;
    TAILQ_INIT(&params);
    const char *qs = evhttp_uri_get_query(r->req->uri);
    *dq = (bro_local_dead_query){"", "", 50};
    if (qs && evhttp_parse_query_str(qs, &params) < 0) {
        bro_http_problem(r, "decode", "the query string is malformed", "query");
        return -1;
    }
    const char *queue = evhttp_find_header(&params, "queue");
    const char *limit = evhttp_find_header(&params, "limit");
    const char *cursor = evhttp_find_header(&params, "cursor");
    char *end = NULL;
    long n = limit ? strtol(limit, &end, 10) : 50;
    char cq[BRO_QUEUE_NAME_MAX], cs[BRO_DEADLETTER_STREAM_ID_MAX];
    int rc = -1;
    if (queue && !bro_deadletter_known_queue(queue))
        bro_http_problem(r, "validation", "must be records, matching, notify or reports", "queue");
    else if (limit && (*limit == '\0' || *end || n < 1 || n > BRO_DEADLETTER_LIMIT_MAX))
        bro_http_problem(r, "validation", "must be an integer from 1 to 200", "limit");
    else if (cursor && bro_deadletter_parse_id(cursor, cq, cs) < 0)
        bro_http_problem(r, "validation", "must be a next_cursor of an earlier page", "cursor");
    else
        rc = 0;
    if (rc == 0) {
        snprintf(dq->queue, sizeof(dq->queue), "%s", queue ? queue : "");
        snprintf(dq->cursor, sizeof(dq->cursor), "%s", cursor ? cursor : "");
        dq->limit = (int)n;
    }
    evhttp_clear_headers(&params);
    return rc;
}

static void bro_local_on_dead_letters(bro_gw_req *r, const bro_rpc_result *res)
{
    if (bro_local_no_answer(r, res, "dead letters could not be read"))
        return;
    bro_local_dead_query dq;
    if (bro_local_dead_parse(r, &dq) < 0)
        return;
    bro_err err = {0};
    json_t *page = bro_deadletter_page(res->reply, dq.cursor[0] ? dq.cursor : NULL, dq.limit, &err);
    if (page == NULL)
        bro_http_problem(r, "unavailable", "dead letters could not be read", NULL);
    else
        bro_local_send_json(r, page);
}

void bro_local_dead_letters(bro_gw_req *r)
{
    bro_local_dead_query dq;
    if (bro_local_dead_parse(r, &dq) < 0)
        return;
    char start[BRO_DEADLETTER_STREAM_ID_MAX] = "+", cq[BRO_QUEUE_NAME_MAX], count[16];
    if (dq.cursor[0] && bro_deadletter_parse_id(dq.cursor, cq, start) < 0)
        return; /* checked above */
    /* Two more than a page per queue: the cursor's own entry, and one to know more follow. */
    snprintf(count, sizeof(count), "%d", dq.limit + 2);
    const char *argv[5 + 4] = {"EVAL", bro_deadletter_list_lua, "0", start, count};
    int argc = 5;
    for (int i = 0; i < 4; i++)
        if (!dq.queue[0] || strcmp(dq.queue, bro_deadletter_queues[i]) == 0)
            argv[argc++] = bro_deadletter_queues[i];
    bro_rpc_command(r, argc, argv, bro_local_on_dead_letters);
}

static void bro_local_on_dead_purge(bro_gw_req *r, const bro_rpc_result *res)
{
    if (bro_local_no_answer(r, res, "the dead letter could not be deleted"))
        return;
    if (res->reply->type != REDIS_REPLY_INTEGER)
        bro_http_problem(r, "unavailable", "the dead letter could not be deleted", NULL);
    else if (res->reply->integer == 0)
        bro_http_problem(r, "not-found", "no such dead letter", NULL);
    else
        bro_http_finish(r, 204, NULL);
}

void bro_local_dead_purge(bro_gw_req *r)
{
    char queue[BRO_QUEUE_NAME_MAX], sid[BRO_DEADLETTER_STREAM_ID_MAX],
        dead[BRO_QUEUE_NAME_MAX + 16];
    if (bro_deadletter_parse_id(bro_routes_param(&r->params, "dead_id"), queue, sid) < 0) {
        bro_http_problem(r, "not-found", "no such dead letter", NULL); /* the matcher checked */
        return;
    }
    snprintf(dead, sizeof(dead), "bro:dead:%s", queue);
    const char *argv[] = {"XDEL", dead, sid};
    bro_rpc_command(r, 3, argv, bro_local_on_dead_purge);
}
