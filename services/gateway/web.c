/* web: serving the page and its assets from the table built in. The page itself is never
 * cached without a check (no-cache, ETag), so a new build is seen at once; its scripts, styles
 * and fonts have hashed names and are cached for a year. No inline script or style exists, so
 * the Content-Security-Policy allows this origin's files and nothing else. */
#include "web.h"

#include <event2/buffer.h>
#include <string.h>

#include "http.h"

#define BRO_WEB_CSP                                                                                \
    "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; img-src 'self'; "   \
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

static int bro_web_accepts_gzip(bro_gw_req *r)
{
    const char *ae = bro_http_last_header(r, "Accept-Encoding");
    return ae && strstr(ae, "gzip") != NULL;
}

int bro_web_serve(bro_gw_req *r, const char *path)
{
    if (r->req == NULL || (r->req->method != EVHTTP_REQ_GET && r->req->method != EVHTTP_REQ_HEAD))
        return 0;
    if (strcmp(path, "/") != 0 && strncmp(path, "/assets/", 8) != 0)
        return 0;
    const bro_web_asset *a = NULL;
    for (int i = 0; i < bro_web_nassets && a == NULL; i++)
        if (strcmp(bro_web_assets[i].path, path) == 0)
            a = &bro_web_assets[i];
    if (a == NULL) {
        bro_http_problem(r, "not-found", "no such file", NULL);
        return 1;
    }
    bro_http_add_header(r, "Cache-Control",
                        a->immutable ? "public, max-age=31536000, immutable" : "no-cache");
    bro_http_add_header(r, "ETag", a->etag);
    bro_http_add_header(r, "Vary", "Accept-Encoding");
    if (!a->immutable) {
        bro_http_add_header(r, "Content-Security-Policy", BRO_WEB_CSP);
        bro_http_add_header(r, "Referrer-Policy", "no-referrer");
        bro_http_add_header(r, "X-Frame-Options", "DENY");
    }
    const char *inm = bro_http_last_header(r, "If-None-Match");
    if (inm && strcmp(inm, a->etag) == 0) {
        bro_http_finish(r, 304, NULL);
        return 1;
    }
    bro_http_add_header(r, "Content-Type", a->type);
    struct evbuffer *out = evbuffer_new();
    if (out == NULL) {
        bro_http_problem(r, "internal", "out of memory", NULL);
        return 1;
    }
    if (a->gzlen > 0 && bro_web_accepts_gzip(r)) {
        bro_http_add_header(r, "Content-Encoding", "gzip");
        evbuffer_add_reference(out, a->gz, a->gzlen, NULL, NULL);
    } else {
        evbuffer_add_reference(out, a->body, a->len, NULL, NULL);
    }
    bro_http_finish(r, 200, out);
    evbuffer_free(out);
    return 1;
}
