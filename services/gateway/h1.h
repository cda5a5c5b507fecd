/* The gateway's HTTP/1.1 request parser: RFC 9112's grammar for the request line, the header
 * section and the message body (Content-Length or chunked), accepted exactly and nothing else.
 * It does no I/O and keeps no buffers of its own: the caller hands it the bytes it has. */
#ifndef BRO_H1_H
#define BRO_H1_H

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stddef.h>
#include <stdint.h>

#define BRO_H1_MAX_HEAD        16384 /* request line plus header section, bytes (then 431) */
#define BRO_H1_MAX_TARGET      8192  /* request target, bytes (then 414) */
#define BRO_H1_MAX_FIELDS      100   /* header fields (then 431) */
#define BRO_H1_MAX_EMPTY_LINES 8     /* empty lines ignored before a request line */
#define BRO_H1_MAX_CHUNK_LINE  1024  /* chunk-size line with its extensions, bytes */
#define BRO_H1_MAX_TRAILERS    4096  /* trailer section, bytes */

#define BRO_H1_AGAIN 1 /* more bytes are needed */

/* Where a message stands. */
typedef enum bro_h1_state {
    BRO_H1_HEAD,       /* waiting for the whole head */
    BRO_H1_BODY,       /* Content-Length bytes still to come */
    BRO_H1_CHUNK_SIZE, /* a chunk-size line */
    BRO_H1_CHUNK_DATA, /* inside a chunk */
    BRO_H1_CHUNK_CRLF, /* the CRLF after a chunk's data */
    BRO_H1_TRAILERS,   /* trailer fields after the last chunk */
    BRO_H1_DONE,       /* the message is complete */
    BRO_H1_ERROR,      /* refused: see status, word, field, detail */
} bro_h1_state;

/* One request as it is parsed. Reset with bro_h1_reset before each message. */
typedef struct bro_h1 {
    bro_h1_state state;
    size_t max_body;                    /* body limit in bytes (then 413), set by the caller */
    enum evhttp_cmd_type method;        /* valid once the head is parsed */
    char target[BRO_H1_MAX_TARGET + 1]; /* request target, NUL-terminated */
    int minor;                          /* HTTP/1.<minor>: 0 or 1 */
    int keep_alive;                     /* 1 when the connection may carry another request */
    int expect_continue;                /* 1 for Expect: 100-continue */
    int chunked;                        /* 1 for Transfer-Encoding: chunked */
    uint64_t content_length;            /* declared length, when not chunked */
    uint64_t left;                      /* bytes left of the body or of the current chunk */
    uint64_t body_total;                /* body bytes so far */
    size_t trailer_bytes;               /* trailer section so far */
    /* Why the message was refused. */
    int status;          /* 400, 413, 414, 417, 431, 501, 505 */
    const char *word;    /* problem type word: "bad-request", "too-large", ... */
    const char *field;   /* header at fault, "body", "headers", or NULL */
    char detail[160];    /* one sentence for the client */
    char field_name[64]; /* a header's name when field names one */
} bro_h1;

/* Readies p for a new message; max_body stays. */
void bro_h1_reset(bro_h1 *p);

/* Looks for a complete head in buf[0..len). Returns BRO_H1_AGAIN while it is incomplete (and
 * within the limits), 0 once it is parsed, with *used set to its length and its fields added
 * to headers (owned by the caller), or -1 when the head is refused (p->status and friends say
 * why; headers may then hold some fields, which the caller clears). */
int bro_h1_parse_head(bro_h1 *p, const char *buf, size_t len, size_t *used,
                      struct evkeyvalq *headers);

/* Consumes body bytes from buf[0..len) and appends the decoded body to out. Returns 0 once the
 * message is complete, BRO_H1_AGAIN when it needs more, or -1 when it is refused; *used says
 * how many bytes were taken either way. Chunk-size lines, CRLFs and trailers are taken only
 * whole, so the caller keeps the bytes it was not asked to drop and calls again with more. */
int bro_h1_parse_body(bro_h1 *p, const char *buf, size_t len, size_t *used, struct evbuffer *out);

/* The reason phrase for a status. */
const char *bro_h1_reason(int status);

#endif
