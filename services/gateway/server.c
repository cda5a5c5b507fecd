/* One event loop per thread: its own SO_REUSEPORT listener and connections (conn.c), and the
 * path of a request through the gateway: request id, route, key, shape of the body, then either
 * a local answer or a job for the workers. The other parts report (routes.c a match, auth.c a
 * verdict, rpc.c the end of a wait); what the client is told is decided here. */
#include "server.h"

#include <errno.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "common/csv.h"
#include "common/jmp.h"
#include "common/log.h"
#include "common/redisaddr.h"
#include "common/utf8.h"
#include "auth.h"
#include "cookie.h"
#include "http.h"
#include "metrics.h"
#include "ratelimit.h"
#include "rpc.h"
#include "web.h"

#define BRO_SERVER_QUERY_MAX   32   /* query parameters per request */
#define BRO_SERVER_QUERY_VALUE 1024 /* bytes of one query value */

/* The client's X-Request-Id when it is 1-64 of [A-Za-z0-9._-], otherwise a new UUIDv7. */
static void bro_server_request_id(bro_conn_req *req, char *out, size_t n)
{
    const char *h = evhttp_find_header(bro_conn_in_headers(req), "X-Request-Id");
    size_t len = h ? strlen(h) : 0;
    if (len >= 1 && len <= 64 &&
        strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len) {
        snprintf(out, n, "%s", h);
        return;
    }
    char id[BRO_UUID_LEN + 1];
    bro_ids_uuid7(id);
    snprintf(out, n, "%s", id);
}

/* ---- the job body: {"path": {...}, "query": {...}, "data": ...} ----------------------------- */

static int bro_server_pack_query(bro_gw_req *r, msgpack_packer *pk)
{
    const char *q = evhttp_uri_get_query(r->req->uri);
    struct evkeyvalq params;
    TAILQ_INIT(&params);
    if (q && evhttp_parse_query_str(q, &params) < 0) {
        bro_http_problem(r, "decode", "the query string is malformed", "query");
        return -1;
    }
    int n = 0, rc = 0;
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, &params, next)
    {
        n++;
        if (strlen(kv->value) > BRO_SERVER_QUERY_VALUE && rc == 0) {
            bro_http_problem(r, "bad-request", "query parameter is too long", kv->key);
            rc = -1;
        }
    }
    if (rc == 0 && n > BRO_SERVER_QUERY_MAX) {
        bro_http_problem(r, "bad-request", "too many query parameters", "query");
        rc = -1;
    }
    if (rc == 0) {
        /* A repeated name: the last one wins, so only the last occurrence is packed. */
        int unique = 0;
        TAILQ_FOREACH(kv, &params, next)
        {
            struct evkeyval *later = TAILQ_NEXT(kv, next);
            int repeated = 0;
            for (; later; later = TAILQ_NEXT(later, next))
                repeated |= strcmp(later->key, kv->key) == 0;
            unique += !repeated;
        }
        msgpack_pack_map(pk, unique);
        TAILQ_FOREACH(kv, &params, next)
        {
            struct evkeyval *later = TAILQ_NEXT(kv, next);
            int repeated = 0;
            for (; later; later = TAILQ_NEXT(later, next))
                repeated |= strcmp(later->key, kv->key) == 0;
            if (repeated)
                continue;
            msgpack_pack_str_with_body(pk, kv->key, strlen(kv->key));
            msgpack_pack_str_with_body(pk, kv->value, strlen(kv->value));
        }
    }
    evhttp_clear_headers(&params);
    return rc;
}

static int bro_server_content_type(bro_conn_req *req, const char *type)
{
    const char *ct = evhttp_find_header(bro_conn_in_headers(req), "Content-Type");
    size_t n = strlen(type);
    return ct && strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Says where a CSV file stops being UTF-8 text: the CSV reader checks row by row, so its
 * message names the row a coordinator finds in the spreadsheet. */
static void bro_server_csv_not_text(const char *data, size_t len, char *detail, size_t n)
{
    bro_csv_row row; /* about 4 KiB of stack */
    bro_err err = {0};
    bro_csv *c = bro_csv_new(data, len, 0, &err);
    int rc = 1;
    while (c && (rc = bro_csv_next(c, &row, &err)) == 1)
        ;
    bro_csv_free(c);
    if (rc < 0 && err.code == BRO_E_DECODE &&
        (strstr(err.msg, "UTF") != NULL || strstr(err.msg, "NUL") != NULL))
        snprintf(detail, n, "%s", err.msg);
    else
        snprintf(detail, n, "the text is not UTF-8; in Excel, save the file as \"CSV UTF-8\"");
}

/* An empty JSON object or msgpack map: what many clients send when there is nothing to say,
 * taken as no body where a route takes none. */
static int bro_server_empty_object(bro_conn_req *req, const char *data, size_t len)
{
    if (bro_server_content_type(req, "application/msgpack"))
        return len == 1 && (unsigned char)data[0] == 0x80;
    json_t *v = json_loadb(data, len, 0, NULL);
    int empty = json_is_object(v) && json_object_size(v) == 0;
    json_decref(v);
    return empty;
}

/* Packs the request body as "data": a JSON object or a msgpack map, nothing else. */
static int bro_server_pack_data(bro_gw_req *r, msgpack_packer *pk)
{
    struct evbuffer *in = r->req->body;
    size_t len = evbuffer_get_length(in);
    if (!r->route->body) {
        if (len > 0 &&
            !bro_server_empty_object(r->req, (const char *)evbuffer_pullup(in, -1), len)) {
            bro_http_problem(r, "bad-request", "this route takes no body", "body");
            return -1;
        }
        return msgpack_pack_nil(pk);
    }
    if ((int)len > r->gw->cfg->max_body) {
        bro_http_problem(r, "too-large", "the body is larger than the limit", "body");
        return -1;
    }
    const char *data = len ? (const char *)evbuffer_pullup(in, -1) : "";
    if (len == 0 &&
        !(r->route->body == BRO_BODY_OR_CSV && bro_server_content_type(r->req, "text/csv"))) {
        bro_http_problem(r, "bad-request", "a JSON object is required", "body");
        return -1;
    }
    bro_err err = {0};
    if (bro_server_content_type(r->req, "application/msgpack")) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        int ok = bro_mp_unpack_one(&u, data, len) == 0 && u.data.type == MSGPACK_OBJECT_MAP;
        json_t *check = ok ? bro_jmp_to_json(&u.data, &err) : NULL; /* depth, keys, UTF-8 */
        if (check)
            msgpack_pack_object(pk, u.data);
        json_decref(check);
        msgpack_unpacked_destroy(&u);
        if (check == NULL) {
            bro_http_problem(r, "decode", ok ? err.msg : "the body must be one msgpack map",
                             "body");
            return -1;
        }
        return 0;
    }
    if (r->route->body == BRO_BODY_OR_CSV && bro_server_content_type(r->req, "text/csv")) {
        /* A file as a kommune exports it: passed on whole as {"csv": text}, even when empty;
         * the worker parses it, so the gateway only checks that it is text. */
        if (!bro_utf8_valid(data, len)) {
            char detail[160];
            bro_server_csv_not_text(data, len, detail, sizeof(detail));
            bro_http_problem(r, "decode", detail, "body");
            return -1;
        }
        msgpack_pack_map(pk, 1);
        msgpack_pack_str_with_body(pk, "csv", 3);
        return msgpack_pack_str_with_body(pk, data, len);
    }
    if (!bro_server_content_type(r->req, "application/json")) {
        bro_http_problem(r, "unsupported-media-type",
                         r->route->body == BRO_BODY_OR_CSV
                             ? "send application/json, application/msgpack or text/csv"
                             : "send application/json or application/msgpack",
                         "Content-Type");
        return -1;
    }
    json_error_t jerr;
    json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL || !json_is_object(v)) {
        char detail[200];
        if (v == NULL)
            snprintf(detail, sizeof(detail), "invalid JSON at line %d, column %d: %s", jerr.line,
                     jerr.column, jerr.text);
        else
            snprintf(detail, sizeof(detail), "the body must be a JSON object");
        json_decref(v);
        bro_http_problem(r, "decode", detail, "body");
        return -1;
    }
    int rc = bro_jmp_pack_json(pk, v, &err);
    json_decref(v);
    if (rc < 0)
        bro_http_problem(r, "decode", err.msg, "body");
    return rc;
}

/* A request body must come as it is: no content coding is undone here, so a body that says it
 * is compressed is refused rather than stored as if it were plain. Returns why, or NULL. */
static const char *bro_server_content_coding(bro_conn_req *req)
{
    struct evkeyval *h;
    TAILQ_FOREACH(h, &req->in, next)
    {
        if (strcasecmp(h->key, "Content-Encoding") == 0 && strcasecmp(h->value, "identity") != 0)
            return "request bodies are accepted without a content coding (identity only)";
    }
    return NULL;
}

/* ---- answers to what the other parts report ------------------------------------------------ */

/* Answers r when its wait on a job ended without a reply. */
static void bro_server_not_answered(bro_gw_req *r, const bro_rpc_result *res)
{
    switch (res->outcome) {
    case BRO_RPC_TIMEOUT:
        bro_http_problem(r, "timeout", res->why, NULL);
        break;
    case BRO_RPC_LIMITED:
        bro_ratelimit_refuse(r);
        break;
    case BRO_RPC_INVALID:
        bro_http_problem(r, res->err_code == BRO_E_TOO_LARGE ? "too-large" : "internal", res->why,
                         NULL);
        break;
    default: /* unreachable, lost, stopping */
        bro_http_problem(r, "unavailable", res->why, NULL);
        break;
    }
}

/* The end of a request's job: the worker's reply goes to the client. A route that changes keys
 * has the revoked key forgotten at once, so this gateway thread does not trust it until the
 * cache would have let it go. */
static void bro_server_on_job(bro_gw_req *r, const bro_rpc_result *res)
{
    if (res->outcome != BRO_RPC_REPLY) {
        bro_server_not_answered(r, res);
        return;
    }
    const char *key_id = bro_routes_param(&r->params, "key_id");
    if (res->status == 204 && (r->route->flags & BRO_ROUTE_CHANGES_KEYS) && key_id)
        bro_auth_forget(r->gw, key_id);
    bro_ratelimit_headers(r);
    if (res->status == 201 && (r->route->flags & BRO_ROUTE_SETS_SESSION))
        bro_cookie_signed_in(r, res->body);
    else if (res->status == 204 && (r->route->flags & BRO_ROUTE_ENDS_SESSION))
        bro_cookie_signed_out(r);
    else
        bro_http_reply_body(r, res->status, res->is_error, res->body);
}

static void bro_server_dispatch(bro_gw_req *r);

/* Auth's verdict on r's key, now or once it was resolved (res: why the check got no answer). */
static void bro_server_on_verdict(bro_gw_req *r, int verdict, const bro_rpc_result *res)
{
    switch (verdict) {
    case BRO_AUTH_OK:
        bro_server_dispatch(r);
        break;
    case BRO_AUTH_RESOLVE:
        bro_auth_resolve(r, bro_server_on_verdict);
        break;
    case BRO_AUTH_NO_KEY:
        evhttp_add_header(bro_conn_out_headers(r->req), "WWW-Authenticate", "Bearer");
        bro_http_problem(r, "unauthorized", "a valid API key is required", NULL);
        break;
    case BRO_AUTH_BAD_KEY:
        bro_http_problem(r, "unauthorized",
                         r->by_session ? "the session has ended" : "the API key is not valid",
                         NULL);
        break;
    case BRO_AUTH_FORBIDDEN:
        bro_http_problem(r, "forbidden", "this key's role may not use this route", NULL);
        break;
    case BRO_AUTH_NOMEM:
        bro_http_problem(r, "unavailable", "out of memory", NULL);
        break;
    case BRO_AUTH_CSRF:
        bro_http_problem(r, "csrf", "a change made with a session needs its CSRF token",
                         "X-CSRF-Token");
        break;
    case BRO_AUTH_NOT_RESOLVED:
        bro_server_not_answered(r, res);
        break;
    default: /* BRO_AUTH_UNCHECKED */
        bro_http_problem(r, "unavailable", "the key could not be checked", NULL);
        break;
    }
}

/* ---- dispatch ------------------------------------------------------------------------------ */

/* Called once the caller is known and allowed: answers locally or posts the job. */
static void bro_server_dispatch(bro_gw_req *r)
{
    if (r->route->kind == NULL) {
        r->route->local(r);
        return;
    }
    const char *idem = evhttp_find_header(bro_conn_in_headers(r->req), "Idempotency-Key");
    if (idem) {
        size_t n = strlen(idem), ok = n >= 1 && n <= 255;
        for (size_t i = 0; ok && i < n; i++)
            ok = idem[i] > 0x20 && idem[i] < 0x7f;
        if (!ok) {
            bro_http_problem(r, "bad-request", "must be 1-255 printable ASCII characters",
                             "Idempotency-Key");
            return;
        }
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    const char *if_match = evhttp_find_header(bro_conn_in_headers(r->req), "If-Match");
    if (if_match && strlen(if_match) > 72) {
        bro_http_problem(r, "bad-request", "must be an entity tag", "If-Match");
        return;
    }
    char route[128];
    snprintf(route, sizeof(route), "%s %s", bro_routes_method_name(r->route->method),
             r->route->pattern);
    msgpack_pack_map(&pk, if_match ? 5 : 4);
    msgpack_pack_str_with_body(&pk, "route", 5);
    msgpack_pack_str_with_body(&pk, route, strlen(route));
    if (if_match) {
        msgpack_pack_str_with_body(&pk, "if_match", 8);
        msgpack_pack_str_with_body(&pk, if_match, strlen(if_match));
    }
    msgpack_pack_str_with_body(&pk, "path", 4);
    msgpack_pack_map(&pk, r->params.n);
    for (int i = 0; i < r->params.n; i++) {
        const char *name = r->params.names[i];
        msgpack_pack_str_with_body(&pk, name, strcspn(name, "}"));
        msgpack_pack_str_with_body(&pk, r->params.values[i], strlen(r->params.values[i]));
    }
    msgpack_pack_str_with_body(&pk, "query", 5);
    if (bro_server_pack_query(r, &pk) == 0) {
        msgpack_pack_str_with_body(&pk, "data", 4);
        if (bro_server_pack_data(r, &pk) == 0) {
            const bro_rpc_job job = {
                r->route->kind,
                r->route->queue,
                strcmp(r->key.role, "platform_admin") == 0 ? "" : r->key.tenant,
                idem,
                sb.data,
                sb.size};
            bro_rpc_post(r, &job, bro_server_on_job);
        }
    }
    msgpack_sbuffer_destroy(&sb);
}

/* The client left while r waited: the wait ends now, not at its reply or deadline. */
static void bro_server_on_gone(bro_conn_req *req, void *arg)
{
    bro_gw_req *r = arg;
    r->gone = 1;
    __atomic_add_fetch(&r->gw->metrics->client_gone, 1, __ATOMIC_RELAXED);
    bro_rpc_abandon(r);
}

static void bro_server_on_request(bro_conn_req *req, void *arg)
{
    bro_gw *gw = arg;
    bro_gw_req *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        bro_conn_send(req, 503, NULL);
        return;
    }
    r->gw = gw;
    r->req = req;
    bro_conn_on_gone(req, bro_server_on_gone, r);
    r->start_us = bro_metrics_now_us();
    r->deadline_ms = bro_ids_now_ms() + gw->cfg->request_timeout_ms;
    r->route_index = -1;
    bro_server_request_id(req, r->req_id, sizeof(r->req_id));
    evhttp_add_header(bro_conn_out_headers(req), "X-Request-Id", r->req_id);
    const char *path = evhttp_uri_get_path(req->uri);
    if (path && bro_web_serve(r, path)) {
        bro_gw_req_release(r);
        return;
    }
    unsigned allow = 0;
    r->route =
        path ? bro_routes_match(req->method, path, &r->params, &allow, &r->route_index) : NULL;
    const char *coding = r->route ? bro_server_content_coding(req) : NULL;
    if (r->route == NULL && allow) {
        char methods[64];
        bro_routes_allow_text(allow, methods, sizeof(methods));
        evhttp_add_header(bro_conn_out_headers(req), "Allow", methods);
        bro_http_problem(r, "method-not-allowed", "this path does not take that method", NULL);
    } else if (r->route == NULL) {
        bro_http_problem(r, "not-found", "no such resource", NULL);
    } else if (coding) {
        bro_http_problem(r, "unsupported-media-type", coding, "Content-Encoding");
    } else if (r->route->roles == 0) {
        bro_server_dispatch(r);
    } else {
        const char *h = evhttp_find_header(bro_conn_in_headers(req), "Authorization");
        bro_server_on_verdict(r, bro_auth_check(r, h), NULL);
    }
    bro_gw_req_release(r);
}

int bro_server_start(bro_gw *gw)
{
    bro_err err = {0};
    bro_redis_addr addr; /* with sentinels the host is found at each connect (rpc.c) */
    if (bro_redis_addr_parse(gw->cfg->redis, &addr, &err) < 0) {
        bro_log_error(NULL, "%s", err.msg);
        return -1;
    }
    snprintf(gw->redis_host, sizeof(gw->redis_host), "%s", addr.host);
    gw->redis_port = addr.port;
    gw->redis_db = addr.db;
    int fd = bro_conn_listen(gw->cfg->listen, 1, &err);
    if (fd < 0) {
        bro_log_error(NULL, "BROBYGGER_LISTEN: %s", err.msg);
        return -1;
    }
    gw->http = bro_conn_server_new(gw->base, fd, &gw->metrics->api, &gw->metrics->conn,
                                   bro_server_on_request, gw);
    if (gw->http == NULL) {
        close(fd);
        return -1;
    }
    return bro_rpc_start(gw);
}

void bro_server_stop(bro_gw *gw)
{
    bro_rpc_stop(gw);
    bro_auth_free_all(gw);
    bro_conn_server_free(gw->http);
    gw->http = NULL;
}
