/* web: setting and clearing the session cookie. HttpOnly (no script reads it), SameSite=Strict
 * (no other site's page sends it), Path=/, and Secure when the request came through TLS (a proxy
 * in front says so with X-Forwarded-Proto: https). */
#include "cookie.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/jmp.h"
#include "common/session.h"
#include "auth.h"
#include "http.h"

#define BRO_COOKIE_MAX_AGE 43200 /* seconds: the session's 12 hours */

static const char *bro_cookie_secure(bro_gw_req *r)
{
    const char *proto = bro_http_last_header(r, "X-Forwarded-Proto");
    return proto && strcasecmp(proto, "https") == 0 ? "; Secure" : "";
}

void bro_cookie_signed_in(bro_gw_req *r, const msgpack_object *body)
{
    const msgpack_object *token = body ? bro_jmp_map_get(body, "token") : NULL;
    if (token == NULL || token->type != MSGPACK_OBJECT_STR ||
        token->via.str.size != BRO_SESSION_LEN) {
        bro_http_reply_body(r, 201, 0, body);
        return;
    }
    char cookie[192];
    snprintf(cookie, sizeof(cookie), "%s=%.*s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s",
             BRO_SESSION_COOKIE, (int)token->via.str.size, token->via.str.ptr, BRO_COOKIE_MAX_AGE,
             bro_cookie_secure(r));
    bro_http_add_header(r, "Set-Cookie", cookie);
    bro_http_add_header(r, "Cache-Control", "no-store");
    /* The same map less its token: a shallow copy of the other members, borrowed from body. */
    uint32_t n = body->via.map.size, kept = 0;
    msgpack_object_kv *kv = malloc(sizeof(*kv) * (n ? n : 1));
    if (kv == NULL) {
        bro_http_problem(r, "internal", "out of memory", NULL);
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        if (&body->via.map.ptr[i].val != token)
            kv[kept++] = body->via.map.ptr[i];
    msgpack_object rest = *body;
    rest.via.map.ptr = kv;
    rest.via.map.size = kept;
    bro_http_reply_body(r, 201, 0, &rest);
    free(kv);
}

void bro_cookie_signed_out(bro_gw_req *r)
{
    const char *id = bro_routes_param(&r->params, "session_id");
    int own = r->by_session && (id == NULL || strcmp(id, r->key.id) == 0);
    if (id)
        bro_auth_forget_session(r->gw, id, NULL);
    else if (r->key.session)
        bro_auth_forget_session(r->gw, NULL, r->key.user);
    if (own) {
        char cookie[128];
        snprintf(cookie, sizeof(cookie), "%s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
                 BRO_SESSION_COOKIE, bro_cookie_secure(r));
        bro_http_add_header(r, "Set-Cookie", cookie);
    }
    bro_http_reply_body(r, 204, 0, NULL);
}
