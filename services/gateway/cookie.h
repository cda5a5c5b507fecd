/* web: the session cookie at the gateway's edge. A sign-in's reply carries the session token,
 * which leaves as the cookie only (the body goes without it); a sign-out clears the cookie and
 * forgets the ended sessions in this thread's cache. */
#ifndef BRO_COOKIE_H
#define BRO_COOKIE_H

#include <msgpack.h>

#include "gw.h"

/* Answers r with a sign-in's 201 reply body: sets the cookie from its "token" member and sends
 * the rest (a reply without a token, a replay, goes as it is, setting nothing). */
void bro_cookie_signed_in(bro_gw_req *r, const msgpack_object *body);

/* After a sign-out's 204: forgets the session named by the route's {session_id}, or every
 * session of r's user, and clears the cookie when r's own session was among them. */
void bro_cookie_signed_out(bro_gw_req *r);

#endif
