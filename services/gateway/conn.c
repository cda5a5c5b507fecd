/* HTTP/1.1 connections on a libevent loop. One connection carries one request at a time:
 * bytes are read into its input buffer, the parser takes the head and the body, the handler
 * gets the request, and parsing resumes only once the answer is written, so pipelined
 * requests are answered in order. Every way a connection can hang has a deadline. */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/queue.h>
#include <event2/event_struct.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/problem.h"
#include "h1.h"

#define BRO_CONN_READ_CHUNK      16384     /* bytes asked of one recv */
#define BRO_CONN_MAX_BUFFERED    65536     /* unparsed bytes held while a request is handled */
#define BRO_CONN_LINGER_MS       2000      /* reading and dropping after a refusal, at most */
#define BRO_CONN_LINGER_BYTES    (8 << 20) /* bytes dropped while lingering, at most */
#define BRO_CONN_ACCEPT_PAUSE_MS 100       /* accepting paused when descriptors run out */
#define BRO_CONN_LOG_EVERY_MS    10000     /* one "accept paused" line per interval at most */

typedef enum bro_conn_phase {
    BRO_CONN_IDLE,    /* between requests */
    BRO_CONN_READING, /* a request's head or body is arriving */
    BRO_CONN_BUSY,    /* the handler has the request */
    BRO_CONN_CLOSING, /* the last answer is being written */
    BRO_CONN_LINGER,  /* written and shut down; reading what the client still sends */
} bro_conn_phase;

struct bro_conn {
    bro_conn_server *server;
    evutil_socket_t fd;
    bro_conn_phase phase;
    struct event rev;          /* readable; persistent while reading */
    struct event wev;          /* writable, with the stalled-write deadline */
    struct event timer;        /* the deadline of the phase */
    int reading;               /* 1 while rev is added */
    struct evbuffer *in, *out; /* unparsed input, unsent output */
    bro_h1 parser;             /* the request being read */
    bro_conn_req *building;    /* its request object, NULL between requests */
    bro_conn_req *req;         /* the request the handler has, or NULL */
    int keep_alive;            /* the request allows another after it */
    int peer_eof;              /* the client has shut down its side */
    int in_process;            /* bro_conn_process is on the stack */
    int dead;                  /* closed while in_process: freed when it unwinds */
    int refused;               /* the last answer refused a request: linger before closing */
    size_t lingered;           /* bytes dropped while lingering */
    char peer[48];             /* client address */
    bro_conn *prev, *next;     /* the server's list */
};

struct bro_conn_server {
    struct event_base *base;
    struct evconnlistener *listener;
    struct event resume; /* re-enables accepting after a pause */
    const bro_conn_limits *limits;
    bro_conn_stats *stats;
    bro_conn_handler handler;
    void *arg;
    const struct timeval *t_header, *t_body, *t_idle; /* common timeouts */
    bro_conn *conns;                                  /* every open connection */
    time_t date_at;                                   /* the second date was made for */
    char date[40];                                    /* IMF-fixdate of date_at */
};

static void bro_conn_process(bro_conn *c);
static void bro_conn_close(bro_conn *c);

/* ---- problem documents --------------------------------------------------------------------- */

static int bro_conn_problem_sink(const char *buf, size_t len, void *ctx)
{
    return evbuffer_add(ctx, buf, len);
}

struct evbuffer *bro_conn_problem(int status, const char *word, const char *detail,
                                  const char *field)
{
    int code = bro_err_from_word(word);
    if (code < 0 || bro_err_http_status(code) != status)
        bro_log_error(NULL, "problem %s with status %d: the error table says %d",
                      word ? word : "(none)", status, bro_err_http_status(code));
    bro_problem_field f = {field, detail};
    bro_problem p = {code < 0 ? BRO_E_INTERNAL : code, detail, field ? &f : NULL, field ? 1 : 0};
    struct evbuffer *body = evbuffer_new();
    if (body && bro_problem_json(&p, bro_conn_problem_sink, body) < 0) {
        evbuffer_free(body);
        body = NULL;
    }
    return body;
}

/* ---- requests ------------------------------------------------------------------------------ */

static bro_conn_req *bro_conn_req_new(bro_conn *c)
{
    bro_conn_req *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    TAILQ_INIT(&r->in);
    TAILQ_INIT(&r->out);
    r->body = evbuffer_new();
    if (r->body == NULL) {
        free(r);
        return NULL;
    }
    memcpy(r->peer, c->peer, sizeof(r->peer));
    r->_conn = c;
    return r;
}

static void bro_conn_req_free(bro_conn_req *r)
{
    if (r == NULL)
        return;
    evhttp_clear_headers(&r->in);
    evhttp_clear_headers(&r->out);
    if (r->body)
        evbuffer_free(r->body);
    if (r->uri)
        evhttp_uri_free(r->uri);
    free(r->target);
    free(r);
}

/* ---- timers and events --------------------------------------------------------------------- */

static void bro_conn_arm(bro_conn *c, const struct timeval *tv)
{
    if (tv)
        evtimer_add(&c->timer, tv);
    else
        evtimer_del(&c->timer);
}

static void bro_conn_read_on(bro_conn *c, int on)
{
    if (on && !c->reading)
        event_add(&c->rev, NULL);
    else if (!on && c->reading)
        event_del(&c->rev);
    c->reading = on;
}

static void bro_conn_date(bro_conn_server *s)
{
    time_t now = time(NULL);
    if (now == s->date_at)
        return;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(s->date, sizeof(s->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    s->date_at = now;
}

/* ---- writing ------------------------------------------------------------------------------- */

/* Writes what it can now; the rest waits for the socket. Returns -1 when c was freed. */
static int bro_conn_flush(bro_conn *c)
{
    while (evbuffer_get_length(c->out) > 0) {
        int n = evbuffer_write(c->out, c->fd);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct timeval tv = {c->server->limits->body_ms / 1000,
                                 (c->server->limits->body_ms % 1000) * 1000};
            event_add(&c->wev, &tv);
            return 0;
        }
        if (n <= 0 && errno != EINTR) {
            bro_conn_close(c);
            return -1;
        }
    }
    if (c->phase == BRO_CONN_CLOSING) {
        /* Closing with unread input resets the connection, which can destroy the answer in
         * flight. With nothing unread and nothing refused, a plain close delivers it; else shut
         * our side and drop what the client still sends for a moment. */
        char peek;
        if (!c->refused && evbuffer_get_length(c->in) == 0 &&
            recv(c->fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
            (errno == EAGAIN || errno == EWOULDBLOCK)) {
            bro_conn_close(c);
            return -1;
        }
        shutdown(c->fd, SHUT_WR);
        c->phase = BRO_CONN_LINGER;
        bro_conn_read_on(c, !c->peer_eof);
        struct timeval tv = {BRO_CONN_LINGER_MS / 1000, (BRO_CONN_LINGER_MS % 1000) * 1000};
        bro_conn_arm(c, &tv);
        if (c->peer_eof) {
            bro_conn_close(c);
            return -1;
        }
    }
    return 0;
}

static void bro_conn_on_writable(evutil_socket_t fd, short what, void *arg)
{
    bro_conn *c = arg;
    if (what & EV_TIMEOUT) {
        bro_log_debug(NULL, "closing a connection whose client stopped reading");
        bro_conn_close(c);
        return;
    }
    if (bro_conn_flush(c) == 0 && c->phase == BRO_CONN_IDLE)
        bro_conn_process(c);
}

/* Adds one response to c->out: status line, headers, body (unless HEAD or bodiless). */
static void bro_conn_write_response(bro_conn *c, int head_only, int status,
                                    struct evkeyvalq *headers, struct evbuffer *body)
{
    bro_conn_server *s = c->server;
    bro_conn_date(s);
    size_t len = body ? evbuffer_get_length(body) : 0;
    int bodiless = status < 200 || status == 204 || status == 304;
    evbuffer_add_printf(c->out, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, bro_h1_reason(status),
                        s->date);
    struct evkeyval *h;
    TAILQ_FOREACH(h, headers, next)
    {
        if (strcasecmp(h->key, "Content-Length") != 0 && strcasecmp(h->key, "Connection") != 0)
            evbuffer_add_printf(c->out, "%s: %s\r\n", h->key, h->value);
    }
    if (!bodiless)
        evbuffer_add_printf(c->out, "Content-Length: %zu\r\n", len);
    if (!c->keep_alive)
        evbuffer_add(c->out, "Connection: close\r\n", 19);
    else if (c->parser.minor == 0)
        evbuffer_add(c->out, "Connection: keep-alive\r\n", 24);
    evbuffer_add(c->out, "\r\n", 2);
    if (body && !head_only && !bodiless)
        evbuffer_add_buffer(c->out, body);
}

void bro_conn_on_gone(bro_conn_req *req, void (*fn)(bro_conn_req *req, void *arg), void *arg)
{
    req->_gone = fn;
    req->_gone_arg = arg;
}

void bro_conn_send(bro_conn_req *req, int status, struct evbuffer *body)
{
    bro_conn *c = req->_conn;
    if (c == NULL) { /* the client went away meanwhile */
        bro_conn_req_free(req);
        return;
    }
    if (c->peer_eof)
        c->keep_alive = 0;
    bro_conn_write_response(c, req->method == EVHTTP_REQ_HEAD, status, &req->out, body);
    c->req = NULL;
    bro_conn_req_free(req);
    c->phase = c->keep_alive ? BRO_CONN_IDLE : BRO_CONN_CLOSING;
    if (c->phase == BRO_CONN_IDLE)
        bro_conn_arm(c, c->server->t_idle);
    if (bro_conn_flush(c) < 0)
        return;
    if (c->phase == BRO_CONN_IDLE && !c->in_process)
        bro_conn_process(c);
}

/* Refuses the request being read: a problem document, Connection: close, and no more parsing. */
static void bro_conn_refuse(bro_conn *c, int status, const char *word, const char *detail,
                            const char *field)
{
    struct evkeyvalq headers;
    TAILQ_INIT(&headers);
    char id[BRO_UUID_LEN + 1];
    bro_ids_uuid7(id);
    evhttp_add_header(&headers, "Content-Type", "application/problem+json");
    evhttp_add_header(&headers, "X-Request-Id", id);
    struct evbuffer *body = bro_conn_problem(status, word, detail, field);
    status = bro_err_http_status(bro_err_from_word(word)); /* the status the document states */
    c->keep_alive = 0;
    c->refused = 1;
    int head_only =
        c->building && c->building->method == EVHTTP_REQ_HEAD && c->parser.state != BRO_H1_ERROR;
    bro_conn_write_response(c, head_only, status, &headers, body);
    evhttp_clear_headers(&headers);
    if (body)
        evbuffer_free(body);
    bro_conn_req_free(c->building);
    c->building = NULL;
    c->phase = BRO_CONN_CLOSING;
    bro_conn_arm(c, NULL);
    bro_log_debug(NULL, "refused a request from %s: %d %s", c->peer, status, word);
    bro_conn_flush(c);
}

/* ---- reading ------------------------------------------------------------------------------- */

/* The head is parsed: the request object gets its method and target. */
static int bro_conn_head_parsed(bro_conn *c)
{
    bro_conn_req *r = c->building;
    r->method = c->parser.method;
    r->target = strdup(c->parser.target);
    r->uri = r->target ? evhttp_uri_parse_with_flags(r->target, 0) : NULL;
    if (r->uri == NULL || evhttp_uri_get_path(r->uri) == NULL) {
        bro_conn_refuse(c, 400, "bad-request", "the request target is not a valid URI", NULL);
        return -1;
    }
    if (c->parser.expect_continue && c->parser.state != BRO_H1_DONE) {
        evbuffer_add(c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        if (bro_conn_flush(c) < 0)
            return -1;
    }
    if (c->parser.state != BRO_H1_DONE)
        bro_conn_arm(c, c->server->t_body);
    return 0;
}

/* Hands the complete request to the handler. */
static void bro_conn_dispatch(bro_conn *c)
{
    c->req = c->building;
    c->building = NULL;
    c->keep_alive = c->parser.keep_alive;
    c->phase = BRO_CONN_BUSY;
    bro_conn_arm(c, NULL);
    c->server->handler(c->req, c->server->arg);
}

/* Parses what is buffered, one request at a time. */
static void bro_conn_process(bro_conn *c)
{
    c->in_process = 1;
    while (!c->dead && (c->phase == BRO_CONN_IDLE || c->phase == BRO_CONN_READING)) {
        size_t len = evbuffer_get_length(c->in), used = 0;
        if (len == 0)
            break;
        const char *data = (const char *)evbuffer_pullup(c->in, -1);
        if (c->phase == BRO_CONN_IDLE) {
            bro_h1_reset(&c->parser);
            c->parser.max_body = c->server->limits->max_body;
            c->building = bro_conn_req_new(c);
            if (c->building == NULL) {
                bro_conn_refuse(c, 503, "unavailable", "out of memory", NULL);
                break;
            }
            c->phase = BRO_CONN_READING;
            bro_conn_arm(c, c->server->t_header);
        }
        int rc;
        if (c->parser.state == BRO_H1_HEAD) {
            rc = bro_h1_parse_head(&c->parser, data, len, &used, &c->building->in);
            evbuffer_drain(c->in, used);
            if (rc == 0 && bro_conn_head_parsed(c) < 0)
                break;
        } else {
            rc = bro_h1_parse_body(&c->parser, data, len, &used, c->building->body);
            evbuffer_drain(c->in, used);
        }
        if (rc < 0) {
            __atomic_add_fetch(&c->server->stats->refused_protocol, 1, __ATOMIC_RELAXED);
            bro_conn_refuse(c, c->parser.status, c->parser.word, c->parser.detail, c->parser.field);
            break;
        }
        if (c->parser.state == BRO_H1_DONE)
            bro_conn_dispatch(c);
        else if (rc == BRO_H1_AGAIN)
            break; /* nothing more can be taken until more bytes arrive */
    }
    c->in_process = 0;
    if (c->dead) {
        bro_conn_close(c);
        return;
    }
    if (c->phase == BRO_CONN_BUSY)
        bro_conn_read_on(c, !c->peer_eof && evbuffer_get_length(c->in) < BRO_CONN_MAX_BUFFERED);
    else if (c->phase == BRO_CONN_IDLE || c->phase == BRO_CONN_READING)
        bro_conn_read_on(c, !c->peer_eof);
    if (c->peer_eof && (c->phase == BRO_CONN_IDLE || c->phase == BRO_CONN_READING))
        bro_conn_close(c); /* the client is gone and owes us the rest of a request */
}

static void bro_conn_on_readable(evutil_socket_t fd, short what, void *arg)
{
    bro_conn *c = arg;
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(c->in, BRO_CONN_READ_CHUNK, &v, 1) < 1) {
        bro_conn_close(c);
        return;
    }
    ssize_t n = recv(fd, v.iov_base, v.iov_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n < 0) {
        bro_conn_close(c);
        return;
    }
    v.iov_len = (size_t)n;
    evbuffer_commit_space(c->in, &v, 1);
    if (c->phase == BRO_CONN_LINGER || c->phase == BRO_CONN_CLOSING) {
        /* Nothing more is read as a request: what comes now is dropped, within bounds. */
        c->lingered += (size_t)n;
        evbuffer_drain(c->in, evbuffer_get_length(c->in));
        if (n == 0 && c->phase == BRO_CONN_CLOSING) { /* the answer is still on its way */
            c->peer_eof = 1;
            bro_conn_read_on(c, 0);
        } else if (n == 0 || c->lingered > BRO_CONN_LINGER_BYTES) {
            bro_conn_close(c);
        }
        return;
    }
    if (n == 0) {
        c->peer_eof = 1;
        bro_conn_read_on(c, 0);
        if (c->phase == BRO_CONN_BUSY)
            return; /* the answer is still owed */
        if (c->phase == BRO_CONN_IDLE && evbuffer_get_length(c->in) == 0) {
            bro_conn_close(c);
            return;
        }
    }
    if (c->phase == BRO_CONN_IDLE || c->phase == BRO_CONN_READING)
        bro_conn_process(c);
    else if (c->phase == BRO_CONN_BUSY && evbuffer_get_length(c->in) >= BRO_CONN_MAX_BUFFERED)
        bro_conn_read_on(c, 0); /* pipelined bytes wait, within bounds, until the answer */
}

static void bro_conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
    bro_conn *c = arg;
    bro_conn_stats *st = c->server->stats;
    switch (c->phase) {
    case BRO_CONN_IDLE:
        __atomic_add_fetch(&st->timeouts[BRO_CONN_T_IDLE], 1, __ATOMIC_RELAXED);
        bro_conn_close(c);
        break;
    case BRO_CONN_READING: {
        int in_head = c->parser.state == BRO_H1_HEAD;
        __atomic_add_fetch(&st->timeouts[in_head ? BRO_CONN_T_HEADER : BRO_CONN_T_BODY], 1,
                           __ATOMIC_RELAXED);
        bro_conn_refuse(c, 408, "request-timeout",
                        in_head ? "the request head did not arrive in time"
                                : "the request body did not arrive in time",
                        NULL);
        break;
    }
    default: /* lingering is over */
        bro_conn_close(c);
    }
}

/* ---- connections --------------------------------------------------------------------------- */

static void bro_conn_close(bro_conn *c)
{
    bro_conn_server *s = c->server;
    event_del(&c->rev);
    event_del(&c->wev);
    evtimer_del(&c->timer);
    if (c->in_process) { /* freed once bro_conn_process unwinds */
        c->dead = 1;
        return;
    }
    evutil_closesocket(c->fd);
    if (c->req) { /* answered later, into the void */
        bro_conn_req *req = c->req;
        void (*gone)(bro_conn_req *, void *) = req->_gone;
        req->_conn = NULL;
        req->_gone = NULL;
        if (gone)
            gone(req, req->_gone_arg);
    }
    bro_conn_req_free(c->building);
    evbuffer_free(c->in);
    evbuffer_free(c->out);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    __atomic_sub_fetch(&s->stats->open, 1, __ATOMIC_RELAXED);
    free(c);
}

static void bro_conn_peer_text(const struct sockaddr *sa, char *out, size_t n)
{
    out[0] = '\0';
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)n);
}

static void bro_conn_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                               int salen, void *arg)
{
    bro_conn_server *s = arg;
    bro_conn *c = calloc(1, sizeof(*c));
    if (c)
        c->in = evbuffer_new(), c->out = evbuffer_new();
    if (c == NULL || c->in == NULL || c->out == NULL) {
        if (c) {
            if (c->in)
                evbuffer_free(c->in);
            if (c->out)
                evbuffer_free(c->out);
            free(c);
        }
        evutil_closesocket(fd);
        return;
    }
    c->server = s;
    c->fd = fd;
    bro_conn_peer_text(sa, c->peer, sizeof(c->peer));
    event_assign(&c->rev, s->base, fd, EV_READ | EV_PERSIST, bro_conn_on_readable, c);
    event_assign(&c->wev, s->base, fd, EV_WRITE, bro_conn_on_writable, c);
    evtimer_assign(&c->timer, s->base, bro_conn_on_timer, c);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    long long open = __atomic_add_fetch(&s->stats->open, 1, __ATOMIC_RELAXED);
    if (open > s->limits->max_connections) {
        __atomic_add_fetch(&s->stats->refused, 1, __ATOMIC_RELAXED);
        bro_conn_refuse(c, 503, "too-many-connections",
                        "the gateway has as many connections as it allows; try again shortly",
                        NULL);
        return;
    }
    c->phase = BRO_CONN_IDLE;
    bro_conn_read_on(c, 1);
    bro_conn_arm(c, s->t_idle);
}

/* Out of descriptors: accept nothing for a moment rather than spin on the same error. */
static void bro_conn_on_accept_error(struct evconnlistener *l, void *arg)
{
    bro_conn_server *s = arg;
    int e = EVUTIL_SOCKET_ERROR();
    if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM) {
        bro_log_warn(NULL, "accept: %s", strerror(e));
        return;
    }
    evconnlistener_disable(l);
    struct timeval tv = {0, BRO_CONN_ACCEPT_PAUSE_MS * 1000};
    evtimer_add(&s->resume, &tv);
    bro_conn_stats *st = s->stats;
    __atomic_add_fetch(&st->accept_paused, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&st->paused_unlogged, 1, __ATOMIC_RELAXED);
    /* One line per interval for the whole process, whichever loop wins it. */
    long long now = bro_ids_now_ms();
    long long last = __atomic_load_n(&st->paused_logged_ms, __ATOMIC_RELAXED);
    if (now - last >= BRO_CONN_LOG_EVERY_MS &&
        __atomic_compare_exchange_n(&st->paused_logged_ms, &last, now, 0, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED)) {
        unsigned long long n = __atomic_exchange_n(&st->paused_unlogged, 0, __ATOMIC_RELAXED);
        bro_log_warn(NULL, "accept paused: %s (%llu pauses of %d ms since the last line)",
                     strerror(e), n, BRO_CONN_ACCEPT_PAUSE_MS);
    }
}

static void bro_conn_on_resume(evutil_socket_t fd, short what, void *arg)
{
    bro_conn_server *s = arg;
    evconnlistener_enable(s->listener);
}

/* ---- servers ------------------------------------------------------------------------------- */

static const struct timeval *bro_conn_common(struct event_base *base, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return event_base_init_common_timeout(base, &tv);
}

bro_conn_server *bro_conn_server_new(struct event_base *base, int fd, const bro_conn_limits *limits,
                                     bro_conn_stats *stats, bro_conn_handler handler, void *arg)
{
    bro_conn_server *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->base = base;
    s->limits = limits;
    s->stats = stats;
    s->handler = handler;
    s->arg = arg;
    s->t_header = bro_conn_common(base, limits->header_ms);
    s->t_body = bro_conn_common(base, limits->body_ms);
    s->t_idle = bro_conn_common(base, limits->idle_ms);
    evtimer_assign(&s->resume, base, bro_conn_on_resume, s);
    s->listener = evconnlistener_new(base, bro_conn_on_accept, s,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
    if (s->listener == NULL || s->t_header == NULL || s->t_body == NULL || s->t_idle == NULL) {
        if (s->listener)
            evconnlistener_free(s->listener);
        free(s);
        return NULL;
    }
    evconnlistener_set_error_cb(s->listener, bro_conn_on_accept_error);
    return s;
}

void bro_conn_server_free(bro_conn_server *s)
{
    if (s == NULL)
        return;
    evtimer_del(&s->resume);
    evconnlistener_free(s->listener);
    while (s->conns)
        bro_conn_close(s->conns);
    free(s);
}

/* ---- sockets and limits -------------------------------------------------------------------- */

int bro_conn_listen(const char *addr, int reuseport, bro_err *err)
{
    char host[128];
    int port;
    if (bro_config_hostport(addr, host, sizeof(host), &port, err) < 0)
        return -1;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, &sin.sin_addr) != 1)
        return bro_err_set(err, BRO_E_CONFIG, "%s: \"%s\" is not an IPv4 address", addr, host);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0)
        return bro_err_set(err, BRO_E_CONFIG, "socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    /* Accepted sockets inherit it: a response larger than one segment must not wait for the
     * client's delayed ACK (about 40 ms) before its tail is sent. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 1024) < 0) {
        bro_err_set(err, BRO_E_CONFIG, "listen on %s: %s", addr, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

long bro_conn_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            return -1;
    }
    return (long)rl.rlim_cur;
}
