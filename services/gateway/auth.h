/* API-key authentication without SQL: a per-thread cache of resolved keys, filled by auth.resolve
 * jobs that a worker answers. auth gives a verdict and never answers a request itself: the
 * caller (server.c) decides what each verdict means to the client. */
#ifndef BRO_AUTH_H
#define BRO_AUTH_H

#include "gw.h"

/* Verdicts on a request's key. */
enum {
    BRO_AUTH_OK,           /* a valid key whose role may use the route: r->key is the caller */
    BRO_AUTH_NO_KEY,       /* no Authorization header, or not a well-formed Bearer key */
    BRO_AUTH_BAD_KEY,      /* unknown, revoked or expired key, or a wrong secret */
    BRO_AUTH_FORBIDDEN,    /* a valid key whose role may not use the route */
    BRO_AUTH_RESOLVE,      /* not in the cache: resolve it with bro_auth_resolve */
    BRO_AUTH_UNCHECKED,    /* the worker's answer to the key check was not a resolution */
    BRO_AUTH_NOMEM,        /* no memory to cache the resolution */
    BRO_AUTH_NOT_RESOLVED, /* the key check itself did not get an answer: res says why */
    BRO_AUTH_CSRF,         /* web: a session's change without its X-CSRF-Token */
};

/* Judges r's key from authorization (the Authorization header's value, or NULL) against the
 * key cache and r->route's roles. Returns BRO_AUTH_OK, _NO_KEY, _BAD_KEY, _FORBIDDEN, or
 * _RESOLVE when the key is not cached (or its resolution is older than BROBYGGER_AUTH_CACHE_MS);
 * r->key_id and r->secret hold the key from then on. Without an Authorization header the
 * session cookie stands for the key (r->by_session); a session's request that may change
 * anything (not GET or HEAD) without the session's X-CSRF-Token is BRO_AUTH_CSRF, before any
 * look-up. */
int bro_auth_check(bro_gw_req *r, const char *authorization);

/* Posts the auth.resolve job for r's key; when it ends, caches the answer and calls done exactly
 * once with the verdict on the resolved key (OK, BAD_KEY, FORBIDDEN) or why there is none
 * (UNCHECKED, NOMEM, NOT_RESOLVED), possibly before this returns. */
void bro_auth_resolve(bro_gw_req *r, bro_auth_done_fn done);

/* Drops key_id from gw's cache, so its next use is resolved again. */
void bro_auth_forget(bro_gw *gw, const char *key_id);
/* web: drops session id from gw's cache, or (id NULL) every session of user. */
void bro_auth_forget_session(bro_gw *gw, const char *id, const char *user);
/* Empties gw's cache. */
void bro_auth_free_all(bro_gw *gw);

#endif
