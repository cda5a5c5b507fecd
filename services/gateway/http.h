/* Writing a gateway request's answer: problem+json for every error, JSON or msgpack bodies from
 * worker replies, and the bookkeeping every answer shares (headers, metrics, access log). Every
 * function here does nothing once r is answered. */
#ifndef BRO_HTTP_H
#define BRO_HTTP_H

#include <event2/buffer.h>
#include <msgpack.h>
#include <stddef.h>

#include "gw.h"

/* Answers r with problem+json for word, with the status the error table gives that word;
 * field, when not NULL, names the part of the request at fault. */
void bro_http_problem(bro_gw_req *r, const char *word, const char *detail, const char *field);
/* Answers r with the JSON text json (len bytes, copied). */
void bro_http_json(bro_gw_req *r, int status, const char *json, size_t len);
/* Answers r with a worker's reply body: JSON, or msgpack when the client accepts it; a problem
 * when is_error; no body for 204 or a nil body; the raw bytes with their Content-Type and
 * Content-Disposition for a file ({"file": <bin>, "content_type", "filename"}). */
void bro_http_reply_body(bro_gw_req *r, int status, int is_error, const msgpack_object *body);
/* Sends the answer with out as its body (drained; NULL for none), records it and lets go of the
 * connection's request (r->req becomes NULL). */
void bro_http_finish(bro_gw_req *r, int status, struct evbuffer *out);

/* Small doors into the HTTP layer for modules that otherwise need not know it (ratelimit.c). */
/* Adds a response header to r's answer (name and value copied); nothing once r is answered. */
void bro_http_add_header(bro_gw_req *r, const char *name, const char *value);
/* The value of the last request header called name (case-insensitive), or NULL; borrowed from
 * r, valid until r is answered. */
const char *bro_http_last_header(bro_gw_req *r, const char *name);
/* Copies the numeric address of r's peer into out (n bytes). Returns 0, or -1 when unknown. */
int bro_http_peer_addr(bro_gw_req *r, char *out, size_t n);

#endif
