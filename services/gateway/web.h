/* web: the coordinator's page, built at build time (web/, esbuild) and linked into the gateway
 * (web/embed.py writes the table), served under / with its compression, cache headers and a
 * strict Content-Security-Policy. Everything it shows comes from the API. */
#ifndef BRO_WEB_H
#define BRO_WEB_H

#include <stddef.h>

typedef struct bro_web_asset {
    const char *path;          /* "/" for the page, "/assets/<name>-<hash>.<ext>" otherwise */
    const char *type;          /* Content-Type */
    const unsigned char *body; /* the bytes */
    size_t len;
    const unsigned char *gz; /* their gzip; len 0 when not worth it (fonts) */
    size_t gzlen;
    int immutable;    /* 1: the name holds a hash of the content, cache for a year */
    const char *etag; /* quoted */
} bro_web_asset;

extern const bro_web_asset bro_web_assets[];
extern const int bro_web_nassets;

typedef struct bro_gw_req bro_gw_req;

/* Answers r when path is the page or one of its assets (GET and HEAD only) and returns 1;
 * returns 0 and leaves r alone otherwise. */
int bro_web_serve(bro_gw_req *r, const char *path);

#endif
