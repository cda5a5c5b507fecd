/* API-key authentication without SQL: a per-thread cache of resolved keys, filled by
 * auth.resolve jobs that a worker answers from the platform catalog. A cached resolution is
 * trusted for BROBYGGER_AUTH_CACHE_MS, which bounds how long a revoked key keeps working. */
#include "auth.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/jmp.h"
#include "common/log.h"
#include "common/queue.h"
#include "common/session.h"
#include "metrics.h"
#include "rpc.h"

static unsigned bro_auth_bucket(const char *id)
{
    unsigned h = 5381;
    for (; *id; id++)
        h = h * 33 + (unsigned char)*id;
    return h & (BRO_GW_AUTH_BUCKETS - 1);
}

/* A key id and a session id may be the same 8 characters: session tells them apart. */
static bro_gw_key *bro_auth_find(bro_gw *gw, const char *id, int session)
{
    for (bro_gw_key *k = gw->keys[bro_auth_bucket(id)]; k; k = k->next)
        if (strcmp(k->id, id) == 0 && k->session == session)
            return k;
    return NULL;
}

void bro_auth_free_all(bro_gw *gw)
{
    for (int b = 0; b < BRO_GW_AUTH_BUCKETS; b++) {
        while (gw->keys[b]) {
            bro_gw_key *k = gw->keys[b];
            gw->keys[b] = k->next;
            free(k);
        }
    }
    gw->nkeys = 0;
}

void bro_auth_forget(bro_gw *gw, const char *key_id)
{
    bro_gw_key **pp = &gw->keys[bro_auth_bucket(key_id)];
    while (*pp) {
        if (strcmp((*pp)->id, key_id) == 0 && !(*pp)->session) {
            bro_gw_key *k = *pp;
            *pp = k->next;
            free(k);
            gw->nkeys--;
            return;
        }
        pp = &(*pp)->next;
    }
}

void bro_auth_forget_session(bro_gw *gw, const char *id, const char *user)
{
    for (int b = 0; b < BRO_GW_AUTH_BUCKETS; b++) {
        bro_gw_key **pp = &gw->keys[b];
        while (*pp) {
            bro_gw_key *k = *pp;
            if (k->session && (id ? strcmp(k->id, id) == 0 : strcmp(k->user, user) == 0)) {
                *pp = k->next;
                free(k);
                gw->nkeys--;
            } else {
                pp = &k->next;
            }
        }
    }
}

/* web: takes the session cookie as r's key, and refuses a change that lacks the session's
 * CSRF token: a page of another site can make the browser send the cookie (were SameSite not
 * enough) but cannot read the token, which only a page of this origin was given. */
static int bro_auth_session(bro_gw_req *r)
{
    const char *cookie = evhttp_find_header(bro_conn_in_headers(r->req), "Cookie");
    char token[BRO_SESSION_LEN + 1], csrf[BRO_SESSION_CSRF_LEN + 1];
    if (cookie == NULL ||
        bro_session_cookie(cookie, BRO_SESSION_COOKIE, token, sizeof(token)) < 0 ||
        bro_session_parse(token, r->key_id, r->secret) < 0)
        return BRO_AUTH_NO_KEY;
    r->by_session = 1;
    enum evhttp_cmd_type method = r->req->method;
    if (method == EVHTTP_REQ_GET || method == EVHTTP_REQ_HEAD)
        return BRO_AUTH_RESOLVE;
    const char *sent = evhttp_find_header(bro_conn_in_headers(r->req), "X-CSRF-Token");
    if (sent == NULL || strlen(sent) != BRO_SESSION_CSRF_LEN ||
        bro_session_csrf(r->secret, csrf) < 0 || !bro_apikey_hash_equal(sent, csrf))
        return BRO_AUTH_CSRF;
    return BRO_AUTH_RESOLVE;
}

/* The verdict on r's key given its resolution k. */
static int bro_auth_decide(bro_gw_req *r, const bro_gw_key *k)
{
    char hash[BRO_APIKEY_HASH_LEN + 1];
    if (!k->active || k->hash[0] == '\0' || bro_apikey_hash(r->secret, hash) < 0 ||
        !bro_apikey_hash_equal(hash, k->hash))
        return BRO_AUTH_BAD_KEY;
    r->key = *k;
    r->key.next = NULL;
    if (!(r->route->roles & k->role_bit))
        return BRO_AUTH_FORBIDDEN;
    return BRO_AUTH_OK;
}

int bro_auth_check(bro_gw_req *r, const char *h)
{
    if (h == NULL) {
        int v = bro_auth_session(r);
        if (v != BRO_AUTH_RESOLVE)
            return v;
    } else if (strncasecmp(h, "Bearer ", 7) != 0 ||
               bro_apikey_parse(h + 7, r->key_id, r->secret) < 0) {
        return BRO_AUTH_NO_KEY;
    }
    bro_gw_key *k = bro_auth_find(r->gw, r->key_id, r->by_session);
    if (k && bro_ids_now_ms() - k->fetched_ms < r->gw->cfg->auth_cache_ms) {
        __atomic_add_fetch(&r->gw->metrics->auth_hits, 1, __ATOMIC_RELAXED);
        return bro_auth_decide(r, k);
    }
    return BRO_AUTH_RESOLVE;
}

static void bro_auth_on_resolved(bro_gw_req *r, const bro_rpc_result *res);

void bro_auth_resolve(bro_gw_req *r, bro_auth_done_fn done)
{
    __atomic_add_fetch(&r->gw->metrics->auth_misses, 1, __ATOMIC_RELAXED);
    /* {"path":{},"query":{},"data":{"key_id":...}} */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "path", 4);
    msgpack_pack_map(&pk, 0);
    msgpack_pack_str_with_body(&pk, "query", 5);
    msgpack_pack_map(&pk, 0);
    msgpack_pack_str_with_body(&pk, "data", 4);
    msgpack_pack_map(&pk, 1);
    const char *name = r->by_session ? "session_id" : "key_id";
    msgpack_pack_str_with_body(&pk, name, strlen(name));
    msgpack_pack_str_with_body(&pk, r->key_id, strlen(r->key_id));
    r->waiting_auth = 1;
    r->auth_done = done;
    /* A key check carries no Idempotency-Key: it is not the request's job. */
    const bro_rpc_job job = {r->by_session ? "session.resolve" : "auth.resolve",
                             BRO_QUEUE_RECORDS,
                             "",
                             NULL,
                             sb.data,
                             sb.size};
    bro_rpc_post(r, &job, bro_auth_on_resolved);
    msgpack_sbuffer_destroy(&sb);
}

static void bro_auth_copy(const msgpack_object *map, const char *name, char *dst, size_t n)
{
    const msgpack_object *o = bro_jmp_map_get(map, name);
    dst[0] = '\0';
    if (o && o->type == MSGPACK_OBJECT_STR && o->via.str.size < n) {
        memcpy(dst, o->via.str.ptr, o->via.str.size);
        dst[o->via.str.size] = '\0';
    }
}

/* Caches the worker's resolution of r's key (404: an unknown key, cached as inactive) and
 * returns the verdict on it. */
static int bro_auth_store(bro_gw_req *r, int status, const msgpack_object *body)
{
    bro_gw *gw = r->gw;
    if (status != 200 && status != 404)
        return BRO_AUTH_UNCHECKED;
    if (gw->nkeys >= BRO_GW_AUTH_MAX)
        bro_auth_free_all(gw);
    bro_gw_key *k = bro_auth_find(gw, r->key_id, r->by_session);
    if (k == NULL) {
        k = calloc(1, sizeof(*k));
        if (k == NULL)
            return BRO_AUTH_NOMEM;
        unsigned b = bro_auth_bucket(r->key_id);
        k->next = gw->keys[b];
        gw->keys[b] = k;
        gw->nkeys++;
    }
    bro_gw_key *next = k->next;
    memset(k, 0, sizeof(*k));
    k->next = next;
    snprintf(k->id, sizeof(k->id), "%s", r->key_id);
    k->session = r->by_session;
    k->fetched_ms = bro_ids_now_ms();
    if (status == 200) {
        bro_auth_copy(body, "secret_sha256", k->hash, sizeof(k->hash));
        bro_auth_copy(body, "tenant", k->tenant, sizeof(k->tenant));
        bro_auth_copy(body, "role", k->role, sizeof(k->role));
        bro_auth_copy(body, "org", k->org, sizeof(k->org));
        bro_auth_copy(body, "user_id", k->user, sizeof(k->user));
        const msgpack_object *active = bro_jmp_map_get(body, "active");
        k->active = active && active->type == MSGPACK_OBJECT_BOOLEAN && active->via.boolean;
        k->role_bit = bro_routes_role_bit(k->role);
    }
    return bro_auth_decide(r, k);
}

static void bro_auth_on_resolved(bro_gw_req *r, const bro_rpc_result *res)
{
    bro_auth_done_fn done = r->auth_done;
    r->auth_done = NULL;
    if (res->outcome != BRO_RPC_REPLY) {
        done(r, BRO_AUTH_NOT_RESOLVED, res);
        return;
    }
    r->waiting_auth = 0;
    done(r, bro_auth_store(r, res->status, res->body), NULL);
}
