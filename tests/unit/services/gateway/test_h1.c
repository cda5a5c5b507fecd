/* Unit tests for services/gateway/h1.c: the request grammar, every refusal with its status and
 * field, chunked bodies cut at every byte, the limits, and pipelined requests. Each message is
 * fed the way the connection layer feeds it: the bytes so far, minus what the parser took. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/queue.h>

#include "services/gateway/h1.c"

/* What feeding a message produced. */
typedef struct test_msg {
    int rc;               /* 0 complete, BRO_H1_AGAIN incomplete, -1 refused */
    bro_h1 p;             /* the parser after it */
    struct evkeyvalq hdr; /* the fields */
    char body[4096];      /* the decoded body */
    size_t body_len;
    size_t rest; /* bytes left over after the message */
} test_msg;

/* Feeds text[0..len) step bytes at a time; stops at the end of the first message. */
static void test_feed(test_msg *m, const char *text, size_t len, size_t step, size_t max_body)
{
    memset(&m->p, 0, sizeof(m->p));
    m->p.max_body = max_body;
    bro_h1_reset(&m->p);
    TAILQ_INIT(&m->hdr);
    struct evbuffer *out = evbuffer_new();
    char buf[65536];
    size_t have = 0, fed = 0;
    m->rc = BRO_H1_AGAIN;
    while (m->rc == BRO_H1_AGAIN && fed < len) {
        size_t n = len - fed < step ? len - fed : step;
        memcpy(buf + have, text + fed, n);
        have += n, fed += n;
        for (;;) {
            size_t used = 0;
            if (m->p.state == BRO_H1_HEAD)
                m->rc = bro_h1_parse_head(&m->p, buf, have, &used, &m->hdr);
            else
                m->rc = bro_h1_parse_body(&m->p, buf, have, &used, out);
            memmove(buf, buf + used, have - used);
            have -= used;
            if (m->rc == 0 && m->p.state != BRO_H1_DONE && have > 0)
                continue; /* the head is done and body bytes are waiting */
            if (m->rc == 0 && m->p.state != BRO_H1_DONE)
                m->rc = BRO_H1_AGAIN;
            break;
        }
    }
    m->rest = have + (len - fed);
    m->body_len = evbuffer_get_length(out);
    assert_true(m->body_len < sizeof(m->body));
    evbuffer_remove(out, m->body, m->body_len);
    m->body[m->body_len] = '\0';
    evbuffer_free(out);
}

static void test_done(test_msg *m)
{
    evhttp_clear_headers(&m->hdr);
}

/* Refused at every way of cutting the text, with this status and field. */
static void test_refused(const char *text, int status, const char *field)
{
    size_t steps[] = {1, 7, 65536};
    for (size_t i = 0; i < 3; i++) {
        test_msg m;
        test_feed(&m, text, strlen(text), steps[i], 1024);
        if (m.rc != -1)
            fail_msg("not refused (rc %d, step %zu): %s", m.rc, steps[i], text);
        assert_int_equal(m.p.status, status);
        if (field)
            assert_string_equal(m.p.field, field);
        else
            assert_null(m.p.field);
        test_done(&m);
    }
}

/* Accepted whole, with body, at every way of cutting it. */
static void test_accepted(const char *text, const char *body)
{
    size_t steps[] = {1, 3, 65536};
    for (size_t i = 0; i < 3; i++) {
        test_msg m;
        test_feed(&m, text, strlen(text), steps[i], 1024);
        if (m.rc != 0)
            fail_msg("not accepted (rc %d, status %d: %s): %s", m.rc, m.p.status, m.p.detail, text);
        assert_int_equal(m.p.state, BRO_H1_DONE);
        assert_string_equal(m.body, body);
        test_done(&m);
    }
}

static void test_simple_get(void **state)
{
    const char *text = "GET /v1/candidates?q=a%20b HTTP/1.1\r\nHost: x\r\nX-Two:  a b \t\r\n\r\n";
    test_msg m;
    test_feed(&m, text, strlen(text), 65536, 1024);
    assert_int_equal(m.rc, 0);
    assert_int_equal(m.p.method, EVHTTP_REQ_GET);
    assert_string_equal(m.p.target, "/v1/candidates?q=a%20b");
    assert_int_equal(m.p.minor, 1);
    assert_int_equal(m.p.keep_alive, 1);
    assert_string_equal(evhttp_find_header(&m.hdr, "x-two"), "a b");
    assert_int_equal(m.rest, 0);
    test_done(&m);
}

static void test_pipelined_requests_are_taken_one_at_a_time(void **state)
{
    const char *text = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                       "GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
    test_msg m;
    test_feed(&m, text, strlen(text), 65536, 1024);
    assert_int_equal(m.rc, 0);
    assert_string_equal(m.body, "abc");
    assert_int_equal(m.rest, strlen("GET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
    test_done(&m);
}

static void test_persistence(void **state)
{
    struct {
        const char *text;
        int keep_alive;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1},
        {"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 0},
        {"GET / HTTP/1.1\r\nHost: x\r\nConnection: TE, Close\r\n\r\n", 0},
        {"GET / HTTP/1.0\r\n\r\n", 0},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        test_msg m;
        test_feed(&m, cases[i].text, strlen(cases[i].text), 65536, 1024);
        assert_int_equal(m.rc, 0);
        assert_int_equal(m.p.keep_alive, cases[i].keep_alive);
        test_done(&m);
    }
}

static void test_framing_refusals(void **state)
{
    test_refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n",
                 400, "Content-Length");
    test_refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                 400, "Content-Length");
    test_refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", 400,
                 "Content-Length");
    test_refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "Content-Length");
    test_refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", 400, "Content-Length");
    test_refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400, "Content-Length");
    test_refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400,
                 "Content-Length");
    test_refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: "
                 "chunked\r\n\r\n",
                 400, "Transfer-Encoding");
    test_refused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: "
                 "3\r\n\r\n",
                 400, "Transfer-Encoding");
    const char *codings[] = {"xchunked",
                             "chunked, identity",
                             "identity",
                             "chunked, chunked",
                             "chunked;x=1",
                             "\"chunked\"",
                             "chunk",
                             "gzip, chunked",
                             ""};
    for (size_t i = 0; i < sizeof(codings) / sizeof(codings[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: %s\r\n\r\n",
                 codings[i]);
        test_refused(text, 400, "Transfer-Encoding");
    }
    test_refused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
                 "chunked\r\n\r\n",
                 400, "Transfer-Encoding");
    test_refused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "Transfer-Encoding");
    test_refused("GET / HTTP/1.1\r\n\r\n", 400, "Host");
    test_refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "Host");
    test_refused("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "Host");
}

static void test_valid_spellings(void **state)
{
    test_accepted("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n", "");
    test_accepted("POST / HTTP/1.1\r\nHost: x\r\ntransfer-encoding: CHUNKED \r\n\r\n"
                  "3\r\nabc\r\n0\r\n\r\n",
                  "abc");
    test_accepted("GET / HTTP/1.0\r\n\r\n", "");
    test_accepted("\r\n\r\nGET / HTTP/1.1\r\nHost:\r\n\r\n", "");
    test_accepted("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "");
    test_accepted("GET http://x/y HTTP/1.1\r\nHost: x\r\n\r\n", "");
}

static void test_line_refusals(void **state)
{
    test_refused("GET / HTTP/1.1\nHost: x\n\n", 400, "headers");
    test_refused("GET / HTTP/1.1\r\nHost: x\n\r\n", 400, "headers");
    test_refused("GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", 400, "headers");
    test_refused("GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400, "X");
    test_refused("GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400, "headers");
    test_refused("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n", 400,
                 "Transfer-Encoding");
    test_refused("GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400, "headers");
    test_refused("GET / HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n", 400, "headers");
    test_refused("GET / HTTP/1.1\r\nHost: x\r\nBad(Name): v\r\n\r\n", 400, "headers");
    test_refused("GET / HTTP/1.1\r\nHost: x\r\nX: a\001b\r\n\r\n", 400, "X");
    test_refused("GET / HTTP/1.1\r\nHost: x\r\nX: a\177b\r\n\r\n", 400, "X");
    test_refused("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400,
                 NULL);
}

static void test_request_line_refusals(void **state)
{
    test_refused("FOO / HTTP/1.1\r\nHost: x\r\n\r\n", 501, NULL);
    test_refused("get / HTTP/1.1\r\nHost: x\r\n\r\n", 501, NULL);
    test_refused("PROPFIND / HTTP/1.1\r\nHost: x\r\n\r\n", 501, NULL);
    test_refused("TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 501, NULL);
    test_refused("CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", 501, NULL);
    test_refused("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, NULL);
    test_refused("GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400, NULL);
    test_refused("GET /\r\n\r\n", 400, NULL);
    test_refused("GET / http/1.1\r\nHost: x\r\n\r\n", 400, NULL);
    test_refused("GET / HTTP/11\r\nHost: x\r\n\r\n", 400, NULL);
    test_refused("\001\002\r\n\r\n", 400, NULL);
    test_refused("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400, NULL);
    test_refused("GET /a\"b HTTP/1.1\r\nHost: x\r\n\r\n", 400, NULL);
    test_refused("GET /a#f HTTP/1.1\r\nHost: x\r\n\r\n", 400, NULL);
    test_refused("GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400, NULL);
    test_refused("GET a HTTP/1.1\r\nHost: x\r\n\r\n", 400, NULL);
    test_refused("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, NULL);
    test_refused("GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505, NULL);
    test_refused("GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505, NULL);
}

static void test_limits(void **state)
{
    char *text = malloc(BRO_H1_MAX_HEAD * 2);
    /* A long target is 414 even before its line ends. */
    memset(text, 'a', BRO_H1_MAX_TARGET + 100);
    memcpy(text, "GET /", 5);
    text[BRO_H1_MAX_TARGET + 100] = '\0';
    test_refused(text, 414, NULL);
    snprintf(text + BRO_H1_MAX_TARGET + 10, 40, " HTTP/1.1\r\nHost: x\r\n\r\n");
    test_refused(text, 414, NULL);
    /* A head over the limit, in one field or in many. */
    int n = snprintf(text, BRO_H1_MAX_HEAD * 2, "GET / HTTP/1.1\r\nHost: x\r\nX: ");
    memset(text + n, 'v', BRO_H1_MAX_HEAD);
    text[n + BRO_H1_MAX_HEAD] = '\0';
    test_refused(text, 431, "headers");
    /* Complete, so nothing waits for more: the size is checked at its end too. */
    n = snprintf(text, BRO_H1_MAX_HEAD * 2, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 17; i++) {
        n += snprintf(text + n, 16, "X%d: ", i);
        memset(text + n, 'v', 1000);
        n += 1000;
        n += snprintf(text + n, 4, "\r\n");
    }
    snprintf(text + n, 8, "\r\n");
    test_refused(text, 431, "headers");
    n = snprintf(text, BRO_H1_MAX_HEAD * 2, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < BRO_H1_MAX_FIELDS; i++)
        n += snprintf(text + n, 32, "X%d: v\r\n", i);
    snprintf(text + n, 8, "\r\n");
    test_refused(text, 431, "headers");
    free(text);
    /* Bodies over max_body (1024 in these tests): declared, or grown chunk by chunk. */
    test_refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n", 413, "body");
    test_refused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n401\r\n", 413,
                 "body");
    char chunks[4096];
    n = snprintf(chunks, sizeof(chunks),
                 "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; i++) {
        n += snprintf(chunks + n, 8, "200\r\n");
        memset(chunks + n, 'b', 0x200);
        n += 0x200;
        n += snprintf(chunks + n, 8, "\r\n");
    }
    test_refused(chunks, 413, "body");
}

static void test_expect(void **state)
{
    test_msg m;
    const char *text = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-Continue\r\n"
                       "\r\n";
    test_feed(&m, text, strlen(text), 65536, 1024);
    assert_int_equal(m.rc, BRO_H1_AGAIN);
    assert_int_equal(m.p.expect_continue, 1);
    test_done(&m);
    test_refused("POST / HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n", 417, "Expect");
}

static void test_chunked_bodies(void **state)
{
    test_accepted("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n1;name=value ; x\r\n \r\nA\r\n0123456789\r\n0\r\n"
                  "Trailer-Field: yes\r\n\r\n",
                  "hello 0123456789");
    test_accepted("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "00003\r\nabc\r\n000\r\n\r\n",
                  "abc");
    test_refused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhelloXX0\r\n\r\n",
                 400, "body");
    test_refused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhello\n0\r\n\r\n",
                 400, "body");
    const char *sizes[] = {"-5", " 5", "+5", "x", "5 5", "fffffffffffffffff", "5\n", ""};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text),
                 "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%s\r\nhello\r\n"
                 "0\r\n\r\n",
                 sizes[i]);
        test_refused(text, 400, "body");
    }
    test_refused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "0\r\nBad Trailer: x\r\n\r\n",
                 400, "body");
    test_refused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5;ext=\001\r\nhello\r\n0\r\n\r\n",
                 400, "body");
}

static void test_reasons(void **state)
{
    assert_string_equal(bro_h1_reason(431), "Request Header Fields Too Large");
    assert_string_equal(bro_h1_reason(413), "Content Too Large");
    assert_string_equal(bro_h1_reason(599), "Internal Server Error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_pipelined_requests_are_taken_one_at_a_time),
        cmocka_unit_test(test_persistence),
        cmocka_unit_test(test_framing_refusals),
        cmocka_unit_test(test_valid_spellings),
        cmocka_unit_test(test_line_refusals),
        cmocka_unit_test(test_request_line_refusals),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_expect),
        cmocka_unit_test(test_chunked_bodies),
        cmocka_unit_test(test_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
