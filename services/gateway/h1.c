/* The HTTP/1.1 request parser. It accepts RFC 9112's grammar and refuses everything a lenient
 * parser would guess at (bare LF, obsolete line folding, whitespace before a colon, repeated or
 * conflicting framing headers), because two parsers that guess differently are how one
 * client's bytes become another client's request. */
#include "h1.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- character classes --------------------------------------------------------------------- */

static int bro_h1_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* field-vchar and the spaces between them: VCHAR, obs-text, SP, HTAB. */
static int bro_h1_vchar(unsigned char c)
{
    return (c >= 0x21 && c <= 0x7e) || c >= 0x80 || c == ' ' || c == '\t';
}

/* Characters of a request target (RFC 3986: unreserved, sub-delims, ":@/?%"). */
static int bro_h1_target_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("-._~!$&'()*+,;=:@/?%[]", c) != NULL);
}

static int bro_h1_hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* ---- refusals ------------------------------------------------------------------------------ */

__attribute__((format(printf, 5, 6))) static int
bro_h1_refuse(bro_h1 *p, int status, const char *word, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
    va_end(ap);
    p->state = BRO_H1_ERROR;
    p->status = status;
    p->word = word;
    p->field = field;
    return -1;
}

const char *bro_h1_reason(int status)
{
    static const struct {
        int status;
        const char *reason;
    } reasons[] = {
        {100, "Continue"},
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {204, "No Content"},
        {304, "Not Modified"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {408, "Request Timeout"},
        {409, "Conflict"},
        {410, "Gone"},
        {412, "Precondition Failed"},
        {413, "Content Too Large"},
        {414, "URI Too Long"},
        {415, "Unsupported Media Type"},
        {417, "Expectation Failed"},
        {422, "Unprocessable Content"},
        {428, "Precondition Required"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
        {505, "HTTP Version Not Supported"},
    };
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].status == status)
            return reasons[i].reason;
    return status >= 500 ? "Internal Server Error" : status >= 400 ? "Bad Request" : "OK";
}

void bro_h1_reset(bro_h1 *p)
{
    size_t max_body = p->max_body;
    memset(p, 0, sizeof(*p));
    p->max_body = max_body;
    p->state = BRO_H1_HEAD;
}

/* ---- the request line ---------------------------------------------------------------------- */

static const struct {
    const char *name;
    enum evhttp_cmd_type method;
} bro_h1_methods[] = {
    {"GET", EVHTTP_REQ_GET},         {"HEAD", EVHTTP_REQ_HEAD},   {"POST", EVHTTP_REQ_POST},
    {"PUT", EVHTTP_REQ_PUT},         {"PATCH", EVHTTP_REQ_PATCH}, {"DELETE", EVHTTP_REQ_DELETE},
    {"OPTIONS", EVHTTP_REQ_OPTIONS},
};

/* method SP request-target SP HTTP-version, the line without its CRLF. */
static int bro_h1_request_line(bro_h1 *p, const char *line, size_t n)
{
    size_t m = 0;
    while (m < n && bro_h1_tchar((unsigned char)line[m]))
        m++;
    if (m == 0 || m >= n || line[m] != ' ')
        return bro_h1_refuse(p, 400, "bad-request", NULL, "the request line is malformed");
    size_t t0 = m + 1, t = t0;
    while (t < n && line[t] != ' ')
        t++;
    size_t tlen = t - t0;
    if (tlen > BRO_H1_MAX_TARGET)
        return bro_h1_refuse(p, 414, "uri-too-long", NULL,
                             "the request target is longer than %d bytes", BRO_H1_MAX_TARGET);
    if (tlen == 0 || t >= n || n - (t + 1) != 8)
        return bro_h1_refuse(p, 400, "bad-request", NULL, "the request line is malformed");
    const char *v = line + t + 1;
    if (memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' ||
        v[7] > '9')
        return bro_h1_refuse(p, 400, "bad-request", NULL, "the HTTP version is malformed");
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
        return bro_h1_refuse(p, 505, "http-version-not-supported", NULL,
                             "only HTTP/1.1 and HTTP/1.0 are spoken here");
    p->minor = v[7] - '0';
    for (size_t i = t0; i < t; i++) {
        unsigned char c = (unsigned char)line[i];
        if (!bro_h1_target_char(c) ||
            (c == '%' && (i + 2 >= t || bro_h1_hex((unsigned char)line[i + 1]) < 0 ||
                          bro_h1_hex((unsigned char)line[i + 2]) < 0)))
            return bro_h1_refuse(p, 400, "bad-request", NULL,
                                 "the request target has a character a URI cannot hold");
    }
    memcpy(p->target, line + t0, tlen);
    p->target[tlen] = '\0';
    int known = 0;
    for (size_t i = 0; i < sizeof(bro_h1_methods) / sizeof(bro_h1_methods[0]); i++) {
        if (strlen(bro_h1_methods[i].name) == m && memcmp(bro_h1_methods[i].name, line, m) == 0) {
            p->method = bro_h1_methods[i].method;
            known = 1;
        }
    }
    if (!known)
        return bro_h1_refuse(p, 501, "not-implemented", NULL,
                             "the method is not implemented; methods are case-sensitive");
    /* origin-form for every method, absolute-form as RFC 9112 asks servers to accept, and the
     * asterisk for OPTIONS alone. */
    if (p->target[0] != '/' && strncasecmp(p->target, "http://", 7) != 0 &&
        strncasecmp(p->target, "https://", 8) != 0 &&
        !(p->method == EVHTTP_REQ_OPTIONS && strcmp(p->target, "*") == 0))
        return bro_h1_refuse(p, 400, "bad-request", NULL,
                             "the request target must be a path starting with /");
    return 0;
}

/* ---- header fields ------------------------------------------------------------------------- */

/* What the framing rules need to know about the fields seen so far. */
typedef struct bro_h1_seen {
    int content_length, transfer_encoding, host, expect, fields;
    int conn_close, conn_keep_alive;
    char last[64]; /* the name of the field before, for a refusal that names it */
} bro_h1_seen;

static int bro_h1_list_has(const char *value, const char *token)
{
    size_t n = strlen(token);
    for (const char *s = value; *s;) {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        size_t len = strcspn(s, ",");
        size_t t = len;
        while (t > 0 && (s[t - 1] == ' ' || s[t - 1] == '\t'))
            t--;
        if (t == n && strncasecmp(s, token, n) == 0)
            return 1;
        s += len;
    }
    return 0;
}

static int bro_h1_framing(bro_h1 *p, bro_h1_seen *seen, const char *name, const char *value)
{
    if (strcasecmp(name, "Content-Length") == 0) {
        if (seen->content_length++)
            return bro_h1_refuse(p, 400, "bad-request", "Content-Length",
                                 "Content-Length is given more than once");
        size_t n = strlen(value);
        if (n == 0 || n > 18 || strspn(value, "0123456789") != n)
            return bro_h1_refuse(p, 400, "bad-request", "Content-Length",
                                 "Content-Length must be a decimal number of bytes");
        p->content_length = strtoull(value, NULL, 10);
    } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
        if (seen->transfer_encoding++ || strcasecmp(value, "chunked") != 0)
            return bro_h1_refuse(p, 400, "bad-request", "Transfer-Encoding",
                                 "the only transfer coding accepted is one \"chunked\"");
        p->chunked = 1;
    } else if (strcasecmp(name, "Host") == 0) {
        if (seen->host++)
            return bro_h1_refuse(p, 400, "bad-request", "Host", "Host is given more than once");
        for (const char *c = value; *c; c++)
            if (!bro_h1_target_char((unsigned char)*c) || *c == '/' || *c == '?')
                return bro_h1_refuse(p, 400, "bad-request", "Host", "Host is not a host name");
    } else if (strcasecmp(name, "Expect") == 0) {
        if (seen->expect++ || strcasecmp(value, "100-continue") != 0)
            return bro_h1_refuse(p, 417, "expectation-failed", "Expect",
                                 "the only expectation met is 100-continue");
        p->expect_continue = 1;
    } else if (strcasecmp(name, "Connection") == 0) {
        seen->conn_close |= bro_h1_list_has(value, "close");
        seen->conn_keep_alive |= bro_h1_list_has(value, "keep-alive");
    }
    return 0;
}

/* One field line without its CRLF: field-name ":" OWS field-value OWS. */
static int bro_h1_field_line(bro_h1 *p, bro_h1_seen *seen, const char *line, size_t n,
                             struct evkeyvalq *headers)
{
    if (line[0] == ' ' || line[0] == '\t') {
        bro_h1_refuse(p, 400, "bad-request", "headers",
                      "a header line starts with white space (obsolete line folding)");
        if (seen->last[0]) {
            snprintf(p->field_name, sizeof(p->field_name), "%s", seen->last);
            p->field = p->field_name;
        }
        return -1;
    }
    size_t c = 0;
    while (c < n && bro_h1_tchar((unsigned char)line[c]))
        c++;
    if (c > 0 && c < n && (line[c] == ' ' || line[c] == '\t')) {
        snprintf(p->field_name, sizeof(p->field_name), "%.*s", (int)c, line);
        bro_h1_refuse(p, 400, "bad-request", NULL,
                      "white space between the header name %s and its colon", p->field_name);
        p->field = p->field_name;
        return -1;
    }
    if (c == 0 || c >= n || line[c] != ':')
        return bro_h1_refuse(p, 400, "bad-request", "headers",
                             "a header line is not a name, a colon and a value");
    if (++seen->fields > BRO_H1_MAX_FIELDS)
        return bro_h1_refuse(p, 431, "header-fields-too-large", "headers",
                             "more than %d header fields", BRO_H1_MAX_FIELDS);
    char name[256];
    if (c >= sizeof(name))
        return bro_h1_refuse(p, 431, "header-fields-too-large", "headers",
                             "a header name is too long");
    memcpy(name, line, c);
    name[c] = '\0';
    snprintf(seen->last, sizeof(seen->last), "%.*s", (int)sizeof(seen->last) - 1, name);
    size_t v = c + 1, e = n;
    while (v < e && (line[v] == ' ' || line[v] == '\t'))
        v++;
    while (e > v && (line[e - 1] == ' ' || line[e - 1] == '\t'))
        e--;
    for (size_t i = v; i < e; i++) {
        if (!bro_h1_vchar((unsigned char)line[i])) {
            snprintf(p->field_name, sizeof(p->field_name), "%.*s", (int)c, line);
            bro_h1_refuse(p, 400, "bad-request", NULL, "the value of %s has a control character",
                          p->field_name);
            p->field = p->field_name;
            return -1;
        }
    }
    char value[BRO_H1_MAX_HEAD];
    memcpy(value, line + v, e - v);
    value[e - v] = '\0';
    if (bro_h1_framing(p, seen, name, value) < 0)
        return -1;
    if (evhttp_add_header(headers, name, value) < 0)
        return bro_h1_refuse(p, 400, "bad-request", "headers", "a header could not be read");
    return 0;
}

/* The rules that need every field: framing, Host, persistence, the body limit. */
static int bro_h1_head_done(bro_h1 *p, const bro_h1_seen *seen)
{
    if (p->chunked && seen->content_length)
        return bro_h1_refuse(p, 400, "bad-request", "Transfer-Encoding",
                             "Content-Length and Transfer-Encoding together");
    if (p->chunked && p->minor == 0)
        return bro_h1_refuse(p, 400, "bad-request", "Transfer-Encoding",
                             "Transfer-Encoding in an HTTP/1.0 request");
    if (p->minor == 1 && seen->host == 0)
        return bro_h1_refuse(p, 400, "bad-request", "Host", "an HTTP/1.1 request needs Host");
    if (!p->chunked && p->content_length > p->max_body)
        return bro_h1_refuse(p, 413, "too-large", "body",
                             "the body is larger than the limit of %zu bytes", p->max_body);
    p->keep_alive = p->minor == 1 ? !seen->conn_close : seen->conn_keep_alive && !seen->conn_close;
    if (!p->chunked && p->content_length == 0)
        p->expect_continue = 0;
    p->left = p->chunked ? 0 : p->content_length;
    p->state = p->chunked ? BRO_H1_CHUNK_SIZE : p->left ? BRO_H1_BODY : BRO_H1_DONE;
    return 0;
}

/* ---- the head ------------------------------------------------------------------------------ */

int bro_h1_parse_head(bro_h1 *p, const char *buf, size_t len, size_t *used,
                      struct evkeyvalq *headers)
{
    size_t pos = 0;
    *used = 0;
    for (int empty = 0; pos + 1 < len && buf[pos] == '\r' && buf[pos + 1] == '\n'; pos += 2)
        if (++empty > BRO_H1_MAX_EMPTY_LINES)
            return bro_h1_refuse(p, 400, "bad-request", NULL, "too many empty lines");
    size_t start = pos, line = pos;
    bro_h1_seen seen = {0};
    while (pos < len) {
        const char *lf = memchr(buf + pos, '\n', len - pos);
        if (lf == NULL)
            break;
        size_t at = (size_t)(lf - buf);
        if (at == line || buf[at - 1] != '\r')
            return bro_h1_refuse(p, 400, "bad-request", "headers", "a line ends in LF without CR");
        size_t n = at - 1 - line;
        if (memchr(buf + line, '\r', n) != NULL)
            return bro_h1_refuse(p, 400, "bad-request", "headers", "a CR inside a line");
        int rc = 0;
        if (line == start)
            rc = n == 0 ? bro_h1_refuse(p, 400, "bad-request", NULL, "no request line")
                        : bro_h1_request_line(p, buf + line, n);
        else if (n == 0) {
            if (at + 1 - start > BRO_H1_MAX_HEAD)
                return bro_h1_refuse(p, 431, "header-fields-too-large", "headers",
                                     "the request head is larger than %d bytes", BRO_H1_MAX_HEAD);
            *used = at + 1;
            return bro_h1_head_done(p, &seen);
        } else
            rc = bro_h1_field_line(p, &seen, buf + line, n, headers);
        if (rc < 0)
            return -1;
        pos = line = at + 1;
    }
    if (line == start && len - start > BRO_H1_MAX_TARGET + 64)
        return bro_h1_refuse(p, 414, "uri-too-long", NULL,
                             "the request target is longer than %d bytes", BRO_H1_MAX_TARGET);
    if (len - start > BRO_H1_MAX_HEAD)
        return bro_h1_refuse(p, 431, "header-fields-too-large", "headers",
                             "the request head is larger than %d bytes", BRO_H1_MAX_HEAD);
    return BRO_H1_AGAIN;
}

/* ---- the body ------------------------------------------------------------------------------ */

/* Takes up to p->left bytes of data. */
static size_t bro_h1_take(bro_h1 *p, const char *buf, size_t len, struct evbuffer *out)
{
    size_t n = len < p->left ? len : (size_t)p->left;
    if (n > 0)
        evbuffer_add(out, buf, n);
    p->left -= n;
    return n;
}

/* chunk-size [ chunk-ext ] CRLF, whole in buf; returns the line's length or BRO_H1_AGAIN. */
static int bro_h1_chunk_size(bro_h1 *p, const char *buf, size_t len, size_t *n)
{
    const char *lf = memchr(buf, '\n', len < BRO_H1_MAX_CHUNK_LINE ? len : BRO_H1_MAX_CHUNK_LINE);
    if (lf == NULL)
        return len >= BRO_H1_MAX_CHUNK_LINE
                   ? bro_h1_refuse(p, 400, "bad-request", "body", "a chunk-size line is too long")
                   : BRO_H1_AGAIN;
    size_t at = (size_t)(lf - buf), i = 0;
    uint64_t size = 0;
    for (; i < at && bro_h1_hex((unsigned char)buf[i]) >= 0; i++) {
        if (size >> 60)
            return bro_h1_refuse(p, 400, "bad-request", "body", "a chunk size overflows");
        size = size * 16 + (uint64_t)bro_h1_hex((unsigned char)buf[i]);
    }
    if (i == 0 || at == 0 || buf[at - 1] != '\r')
        return bro_h1_refuse(p, 400, "bad-request", "body", "a chunk size is not hexadecimal");
    /* chunk-ext: BWS ";" ..., visible characters and spaces only. */
    if (i < at - 1) {
        size_t j = i;
        while (j < at - 1 && (buf[j] == ' ' || buf[j] == '\t'))
            j++;
        if (buf[j] != ';')
            return bro_h1_refuse(p, 400, "bad-request", "body", "a chunk size is malformed");
        for (; j < at - 1; j++)
            if (!bro_h1_vchar((unsigned char)buf[j]))
                return bro_h1_refuse(p, 400, "bad-request", "body",
                                     "a chunk extension has a control character");
    }
    if (size > p->max_body - p->body_total)
        return bro_h1_refuse(p, 413, "too-large", "body",
                             "the body is larger than the limit of %zu bytes", p->max_body);
    p->left = size;
    p->body_total += size;
    p->state = size ? BRO_H1_CHUNK_DATA : BRO_H1_TRAILERS;
    *n = at + 1;
    return 0;
}

/* One trailer line (ignored once checked), or the empty line that ends the message. */
static int bro_h1_trailer(bro_h1 *p, const char *buf, size_t len, size_t *n)
{
    const char *lf = memchr(buf, '\n', len);
    if (lf == NULL)
        return p->trailer_bytes + len > BRO_H1_MAX_TRAILERS
                   ? bro_h1_refuse(p, 431, "header-fields-too-large", "body",
                                   "the trailer section is too large")
                   : BRO_H1_AGAIN;
    size_t at = (size_t)(lf - buf);
    if (at == 0 || buf[at - 1] != '\r')
        return bro_h1_refuse(p, 400, "bad-request", "body", "a line ends in LF without CR");
    p->trailer_bytes += at + 1;
    if (p->trailer_bytes > BRO_H1_MAX_TRAILERS)
        return bro_h1_refuse(p, 431, "header-fields-too-large", "body",
                             "the trailer section is too large");
    if (at == 1) {
        p->state = BRO_H1_DONE;
    } else {
        size_t c = 0;
        while (c < at - 1 && bro_h1_tchar((unsigned char)buf[c]))
            c++;
        if (c == 0 || buf[c] != ':')
            return bro_h1_refuse(p, 400, "bad-request", "body", "a trailer line is malformed");
        for (size_t i = c + 1; i < at - 1; i++)
            if (!bro_h1_vchar((unsigned char)buf[i]))
                return bro_h1_refuse(p, 400, "bad-request", "body",
                                     "a trailer has a control character");
    }
    *n = at + 1;
    return 0;
}

int bro_h1_parse_body(bro_h1 *p, const char *buf, size_t len, size_t *used, struct evbuffer *out)
{
    size_t pos = 0;
    int rc = 0;
    while (rc == 0 && p->state != BRO_H1_DONE) {
        size_t n = 0;
        switch (p->state) {
        case BRO_H1_BODY:
            n = bro_h1_take(p, buf + pos, len - pos, out);
            if (p->left == 0)
                p->state = BRO_H1_DONE;
            else
                rc = BRO_H1_AGAIN;
            break;
        case BRO_H1_CHUNK_SIZE:
            rc = bro_h1_chunk_size(p, buf + pos, len - pos, &n);
            break;
        case BRO_H1_CHUNK_DATA:
            n = bro_h1_take(p, buf + pos, len - pos, out);
            if (p->left == 0)
                p->state = BRO_H1_CHUNK_CRLF;
            else
                rc = BRO_H1_AGAIN;
            break;
        case BRO_H1_CHUNK_CRLF:
            if (len - pos < 2)
                rc = len - pos == 1 && buf[pos] != '\r'
                         ? bro_h1_refuse(p, 400, "bad-request", "body",
                                         "a chunk's data is not followed by CRLF")
                         : BRO_H1_AGAIN;
            else if (buf[pos] != '\r' || buf[pos + 1] != '\n')
                rc = bro_h1_refuse(p, 400, "bad-request", "body",
                                   "a chunk's data is not followed by CRLF");
            else
                n = 2, p->state = BRO_H1_CHUNK_SIZE;
            break;
        case BRO_H1_TRAILERS:
            rc = bro_h1_trailer(p, buf + pos, len - pos, &n);
            break;
        default:
            rc =
                bro_h1_refuse(p, 400, "bad-request", "body", "the message is not expecting a body");
        }
        if (rc >= 0)
            pos += n;
        if (rc == 0 && pos == len && p->state != BRO_H1_DONE)
            rc = BRO_H1_AGAIN;
    }
    *used = pos;
    return rc;
}
