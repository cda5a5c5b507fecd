/* Writing answers: problem+json for every error (built by common/problem.c), JSON or msgpack
 * bodies from worker replies, and the bookkeeping every answer shares (X-Request-Id, metrics,
 * access log). */
#include "http.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/jmp.h"
#include "common/log.h"
#include "metrics.h"

static int64_t bro_http_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Sends the answer, records it and lets go of the request. out may be NULL (no body). */
void bro_http_finish(bro_gw_req *r, int status, struct evbuffer *out)
{
    if (r->req == NULL)
        return;
    if (r->gone) /* recorded as nginx does: 499, the client closed the request */
        status = 499;
    int64_t took = bro_http_mono_us() - r->start_us;
    bro_metrics_observe(r->gw->metrics, r->route_index, status, r->start_us);
    bro_log_ctx lc = {r->key.tenant[0] ? r->key.tenant : NULL, r->req_id, NULL};
    bro_log_info(&lc, "%s %s -> %d in %lld us",
                 r->route ? bro_routes_method_name(r->route->method) : "-",
                 r->route ? r->route->pattern : "(no route)", status, (long long)took);
    /* Answers carry personal data: no cache keeps them, and no browser guesses their type. */
    struct evkeyvalq *h = bro_conn_out_headers(r->req);
    if (evhttp_find_header(h, "Cache-Control") == NULL)
        evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    bro_conn_send(r->req, status, out);
    r->req = NULL;
}

/* Answers r with the problem document of word (common/problem.h), with the word's one status in
 * the error table. */
void bro_http_problem(bro_gw_req *r, const char *word, const char *detail, const char *field)
{
    if (r->req == NULL)
        return;
    int status = bro_err_http_status(bro_err_from_word(word));
    bro_metrics_problem(r->gw->metrics, word);
    struct evbuffer *out = bro_conn_problem(status, word, detail, field);
    evhttp_add_header(bro_conn_out_headers(r->req), "Content-Type", "application/problem+json");
    bro_http_finish(r, status, out);
    if (out)
        evbuffer_free(out);
}

void bro_http_json(bro_gw_req *r, int status, const char *json, size_t len)
{
    if (r->req == NULL)
        return;
    struct evbuffer *out = evbuffer_new();
    if (out)
        evbuffer_add(out, json, len);
    evhttp_add_header(bro_conn_out_headers(r->req), "Content-Type", "application/json");
    bro_http_finish(r, status, out);
    if (out)
        evbuffer_free(out);
}

static int bro_http_wants_msgpack(bro_conn_req *req)
{
    const char *accept = evhttp_find_header(bro_conn_in_headers(req), "Accept");
    return accept && strstr(accept, "application/msgpack") != NULL;
}

/* The ETag of a resource travels as its "etag" member. */
static void bro_http_etag(bro_conn_req *req, const msgpack_object *body)
{
    const msgpack_object *etag = bro_jmp_map_get(body, "etag");
    if (etag == NULL || etag->type != MSGPACK_OBJECT_STR || etag->via.str.size > 64)
        return;
    char buf[72];
    memcpy(buf, etag->via.str.ptr, etag->via.str.size);
    buf[etag->via.str.size] = '\0';
    evhttp_add_header(bro_conn_out_headers(req), "ETag", buf);
}

/* Content-Disposition for name: a plain ASCII filename="..." for old clients and, as RFC 6266
 * says, filename* with the name percent-encoded in UTF-8. */
static void bro_http_disposition(bro_conn_req *req, const msgpack_object *name)
{
    static const char hex[] = "0123456789ABCDEF";
    char plain[128], coded[400], value[600];
    size_t n = name->via.str.size < 120 ? name->via.str.size : 120, p = 0, c = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name->via.str.ptr[i];
        int safe = ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\' && ch != '%' && ch != ';';
        plain[p++] = safe ? (char)ch : '_';
        if (safe && (isalnum(ch) || strchr("!#$&+-.^_`|~", ch))) {
            coded[c++] = (char)ch;
        } else {
            coded[c++] = '%';
            coded[c++] = hex[ch >> 4];
            coded[c++] = hex[ch & 15];
        }
    }
    plain[p] = coded[c] = '\0';
    snprintf(value, sizeof(value), "attachment; filename=\"%s\"; filename*=UTF-8''%s", plain,
             coded);
    evhttp_add_header(bro_conn_out_headers(req), "Content-Disposition", value);
}

/* A reply that carries a file ({"file": <bin>, "content_type", "filename"}, see
 * bro_job_reply_file) is answered as the raw bytes; JSON never holds a bin, so no other reply
 * has that shape. Returns 1 when r was answered so. */
static int bro_http_reply_file(bro_gw_req *r, int status, const msgpack_object *body)
{
    const msgpack_object *file = bro_jmp_map_get(body, "file");
    const msgpack_object *type = bro_jmp_map_get(body, "content_type");
    const msgpack_object *name = bro_jmp_map_get(body, "filename");
    if (file == NULL || file->type != MSGPACK_OBJECT_BIN || type == NULL ||
        type->type != MSGPACK_OBJECT_STR || type->via.str.size >= 128 || name == NULL ||
        name->type != MSGPACK_OBJECT_STR)
        return 0;
    struct evbuffer *out = evbuffer_new();
    if (out == NULL) {
        bro_http_finish(r, 500, NULL);
        return 1;
    }
    char ctype[128];
    memcpy(ctype, type->via.str.ptr, type->via.str.size);
    ctype[type->via.str.size] = '\0';
    evbuffer_add(out, file->via.bin.ptr, file->via.bin.size);
    evhttp_add_header(bro_conn_out_headers(r->req), "Content-Type", ctype);
    bro_http_disposition(r->req, name);
    bro_http_finish(r, status, out);
    evbuffer_free(out);
    return 1;
}

/* A worker's problem counts by the word its type ends in. */
static void bro_http_count_problem(bro_gw_req *r, const msgpack_object *body)
{
    const msgpack_object *type = bro_jmp_map_get(body, "type");
    char word[48] = "internal";
    if (type && type->type == MSGPACK_OBJECT_STR) {
        const char *p = type->via.str.ptr, *slash = NULL;
        for (uint32_t i = 0; i < type->via.str.size; i++)
            if (p[i] == '/')
                slash = p + i;
        const char *from = slash ? slash + 1 : p;
        size_t n = (size_t)(p + type->via.str.size - from);
        if (n > 0 && n < sizeof(word)) {
            memcpy(word, from, n);
            word[n] = '\0';
        }
    }
    bro_metrics_problem(r->gw->metrics, word);
}

void bro_http_reply_body(bro_gw_req *r, int status, int is_error, const msgpack_object *body)
{
    if (r->req == NULL)
        return;
    if (!is_error && body && body->type == MSGPACK_OBJECT_MAP &&
        bro_http_reply_file(r, status, body))
        return;
    struct evkeyvalq *h = bro_conn_out_headers(r->req);
    if (status == 204 || body == NULL || body->type == MSGPACK_OBJECT_NIL) {
        bro_http_finish(r, status, NULL);
        return;
    }
    struct evbuffer *out = evbuffer_new();
    if (out == NULL) {
        bro_http_finish(r, 500, NULL);
        return;
    }
    if (!is_error)
        bro_http_etag(r->req, body);
    else
        bro_http_count_problem(r, body);
    if (!is_error && bro_http_wants_msgpack(r->req)) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_object(&pk, *body);
        evbuffer_add(out, sb.data, sb.size);
        msgpack_sbuffer_destroy(&sb);
        evhttp_add_header(h, "Content-Type", "application/msgpack");
    } else {
        bro_err err = {0};
        size_t len = 0;
        char *text = bro_jmp_to_json_text(body, &len, &err);
        if (text == NULL) {
            evbuffer_free(out);
            bro_http_problem(r, "internal", "the reply could not be converted", NULL);
            return;
        }
        evbuffer_add(out, text, len);
        free(text);
        evhttp_add_header(h, "Content-Type",
                          is_error ? "application/problem+json" : "application/json");
    }
    bro_http_finish(r, status, out);
    evbuffer_free(out);
}

/* ---- small doors for modules that need not know the HTTP layer (ratelimit.c) -------------- */

void bro_http_add_header(bro_gw_req *r, const char *name, const char *value)
{
    if (r->req)
        evhttp_add_header(bro_conn_out_headers(r->req), name, value);
}

const char *bro_http_last_header(bro_gw_req *r, const char *name)
{
    const char *last = NULL;
    if (r->req == NULL)
        return NULL;
    struct evkeyvalq *h = bro_conn_in_headers(r->req);
    for (struct evkeyval *kv = h->tqh_first; kv; kv = kv->next.tqe_next)
        if (evutil_ascii_strcasecmp(kv->key, name) == 0)
            last = kv->value;
    return last;
}

int bro_http_peer_addr(bro_gw_req *r, char *out, size_t n)
{
    if (r->req == NULL || r->req->peer[0] == '\0')
        return -1;
    snprintf(out, n, "%s", r->req->peer);
    return 0;
}
