/* The gateway's HTTP/1.1 connections: accepting within descriptor and connection limits, the
 * deadlines for a request's head, its body and an idle keep-alive, the strict parser (h1.c)
 * between the socket and the handler, and writing answers. Protocol errors are answered here,
 * as problem+json, and close the connection: nothing after a refused request is read as one. */
#ifndef BRO_CONN_H
#define BRO_CONN_H

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stddef.h>

#include "common/error.h"

typedef struct bro_conn bro_conn;
typedef struct bro_conn_server bro_conn_server;

/* Counters shared by every listener of a process; updated atomically. */
typedef struct bro_conn_stats {
    long long open;                      /* connections open now */
    unsigned long long refused;          /* answered 503: over the connection limit */
    unsigned long long accept_paused;    /* accepting paused: out of descriptors */
    unsigned long long timeouts[3];      /* closed by a deadline: header, body, idle */
    unsigned long long refused_protocol; /* requests refused by the parser */
    long long paused_logged_ms;          /* when "accept paused" was last logged */
    unsigned long long paused_unlogged;  /* pauses since then */
} bro_conn_stats;

enum { BRO_CONN_T_HEADER, BRO_CONN_T_BODY, BRO_CONN_T_IDLE };

/* What a listener allows; read-only while it runs. */
typedef struct bro_conn_limits {
    int header_ms;       /* first byte of a request to the end of its head */
    int body_ms;         /* end of the head to the end of the body; also a stalled write */
    int idle_ms;         /* a connection with no request in progress */
    int max_connections; /* open connections of the process before 503 */
    size_t max_body;     /* body bytes before 413 */
} bro_conn_limits;

/* One request, handed to the handler once its body is complete. The handler answers it with
 * bro_conn_send exactly once, now or later; the request stays valid until then even if the
 * client goes away. Members starting with _ are the connection layer's. */
typedef struct bro_conn_req {
    enum evhttp_cmd_type method; /* EVHTTP_REQ_GET, ... (HEAD is answered without a body) */
    char *target;                /* request target as sent, owned */
    struct evhttp_uri *uri;      /* target parsed, owned */
    struct evkeyvalq in;         /* request headers */
    struct evkeyvalq out;        /* response headers the handler adds */
    struct evbuffer *body;       /* request body, decoded */
    char peer[48];               /* client address, without port */
    bro_conn *_conn;             /* NULL once the connection is gone */
    void (*_gone)(struct bro_conn_req *req, void *arg); /* see bro_conn_on_gone */
    void *_gone_arg;
} bro_conn_req;

/* Called for each complete request; arg is the server's. */
typedef void (*bro_conn_handler)(bro_conn_req *req, void *arg);

/* Starts serving the listening socket fd (taken over, closed by bro_conn_server_free) on
 * base. limits and stats are borrowed and must outlive the server. Returns NULL on failure. */
bro_conn_server *bro_conn_server_new(struct event_base *base, int fd, const bro_conn_limits *limits,
                                     bro_conn_stats *stats, bro_conn_handler handler, void *arg);

/* Closes the listener and every connection; requests still being handled are detached and
 * freed when they are answered. NULL is a no-op. */
void bro_conn_server_free(bro_conn_server *s);

/* Answers req with status, the headers in req->out and body (drained; NULL for none), and frees
 * req. Content-Length, Date and Connection are set here. */
void bro_conn_send(bro_conn_req *req, int status, struct evbuffer *body);

/* Has fn(req, arg) called once if the connection goes (reset, error, the server closing) before
 * req is answered. req stays valid and must still be answered with bro_conn_send, which then
 * only frees it. A client that only shuts down its sending side still gets its answer. */
void bro_conn_on_gone(bro_conn_req *req, void (*fn)(bro_conn_req *req, void *arg), void *arg);

/* A problem+json document (RFC 9457) as compact JSON in a new buffer, written by
 * common/problem.h; field, when not NULL, names the part of the request at fault in errors[0].
 * status must be the word's one status in the error table: the table's is what the document
 * says, and a mismatch (or a word not in the table, sent as "internal") is logged as the bug it
 * is. The caller frees the buffer; NULL when out of memory (an answer without a body then). */
struct evbuffer *bro_conn_problem(int status, const char *word, const char *detail,
                                  const char *field);

/* A listening TCP socket on "host:port" (IPv4), non-blocking, with SO_REUSEPORT when
 * reuseport is set, so several loops can accept on the same port. Returns the descriptor. */
int bro_conn_listen(const char *addr, int reuseport, bro_err *err);

/* Raises the soft descriptor limit to the hard one; returns the new soft limit. */
long bro_conn_raise_nofile(void);

static inline struct evkeyvalq *bro_conn_in_headers(bro_conn_req *req)
{
    return &req->in;
}

static inline struct evkeyvalq *bro_conn_out_headers(bro_conn_req *req)
{
    return &req->out;
}

#endif
