/* libFuzzer target: the gateway's HTTP/1.1 request parser on arbitrary bytes. Every message
 * must come out the same whether its bytes arrive at once or one by one (a parser that
 * depends on how reads are cut is a smuggling hole), never take more than it was given, and
 * never decode a body over its limit. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "services/gateway/h1.c"

#define FUZZ_H1_MAX_BODY 4096

typedef struct fuzz_h1_out {
    int rc;
    int status;
    size_t taken;
    size_t body_len;
    unsigned char body_hash[32];
} fuzz_h1_out;

/* Parses the first message of data, handing the parser step bytes more each round. */
static void fuzz_h1_run(const uint8_t *data, size_t len, size_t step, fuzz_h1_out *o)
{
    static bro_h1 p;
    memset(&p, 0, sizeof(p));
    p.max_body = FUZZ_H1_MAX_BODY;
    bro_h1_reset(&p);
    struct evkeyvalq hdr;
    TAILQ_INIT(&hdr);
    struct evbuffer *body = evbuffer_new();
    size_t start = 0, have = 0; /* unparsed bytes are data[start .. start + have) */
    int rc = BRO_H1_AGAIN;
    while (rc == BRO_H1_AGAIN && start + have < len) {
        size_t more = len - start - have;
        have += more < step ? more : step;
        for (;;) {
            size_t used = 0;
            const char *buf = (const char *)data + start;
            rc = p.state == BRO_H1_HEAD ? bro_h1_parse_head(&p, buf, have, &used, &hdr)
                                        : bro_h1_parse_body(&p, buf, have, &used, body);
            if (used > have)
                abort();
            start += used, have -= used;
            if (rc == 0 && p.state != BRO_H1_DONE && have > 0)
                continue;
            if (rc == 0 && p.state != BRO_H1_DONE)
                rc = BRO_H1_AGAIN;
            break;
        }
    }
    o->rc = rc;
    o->status = rc < 0 ? p.status : 0;
    o->taken = start;
    o->body_len = evbuffer_get_length(body);
    if (o->body_len > FUZZ_H1_MAX_BODY)
        abort();
    memset(o->body_hash, 0, sizeof(o->body_hash));
    const unsigned char *b = evbuffer_pullup(body, -1);
    for (size_t i = 0; i < o->body_len; i++)
        o->body_hash[i % 32] = (unsigned char)(o->body_hash[i % 32] * 31 + b[i]);
    evbuffer_free(body);
    evhttp_clear_headers(&hdr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_h1_out whole, bytes;
    fuzz_h1_run(data, size, size ? size : 1, &whole);
    fuzz_h1_run(data, size, 1, &bytes);
    /* Refusals may differ in which rule fires first only while the head is incomplete; a
     * complete message must be decoded identically. */
    if ((whole.rc == 0) != (bytes.rc == 0))
        abort();
    if (whole.rc == 0 && (whole.taken != bytes.taken || whole.body_len != bytes.body_len ||
                          memcmp(whole.body_hash, bytes.body_hash, 32) != 0))
        abort();
    return 0;
}
