/* The route matcher: a path against the rows of bro_routes_table, segment by segment. The rows
 * are generated from schemas/openapi.yaml (surface_routes.c in the build directory): adding a
 * route is adding its operation there. A path parameter's name says what it must look like ({id}
 * and {sub_id} a UUID, {slug} a tenant slug, {key_id} an API key id, {session_id} a session id,
 * {dead_id} a dead letter's id), and a malformed one is simply a path that does not exist. */
#include "routes.h"

#include <string.h>

#include "common/apikey.h"
#include "common/deadletter.h"
#include "common/ids.h"

int bro_routes_count(void)
{
    return bro_routes_table_n;
}

const bro_route *bro_routes_at(int i)
{
    return &bro_routes_table[i];
}

static int bro_routes_is_key_id(const char *s, size_t n)
{
    if (n != BRO_APIKEY_ID_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= 'a' && s[i] <= 'z')))
            return 0;
    return 1;
}

/* "<queue>:<stream id>" (common/deadletter.h). */
static int bro_routes_is_dead_id(const char *s)
{
    char queue[BRO_QUEUE_NAME_MAX], sid[BRO_DEADLETTER_STREAM_ID_MAX];
    return bro_deadletter_parse_id(s, queue, sid) == 0;
}

/* Checks a path segment against a {param}; stores it in r when it fits. */
static int bro_routes_take(const char *name, size_t nlen, const char *seg, size_t slen,
                           bro_route_params *r)
{
    char v[BRO_ROUTE_PARAM_LEN];
    if (slen >= sizeof(v) || r->n >= BRO_ROUTE_PARAMS_MAX)
        return 0;
    memcpy(v, seg, slen);
    v[slen] = '\0';
    int ok = 0;
    if ((nlen == 2 && memcmp(name, "id", 2) == 0) || (nlen == 6 && memcmp(name, "sub_id", 6) == 0))
        ok = bro_ids_is_uuid(v);
    else if (nlen == 4 && memcmp(name, "slug", 4) == 0)
        ok = bro_ids_is_slug(v);
    else if ((nlen == 6 && memcmp(name, "key_id", 6) == 0) ||
             (nlen == 10 && memcmp(name, "session_id", 10) == 0)) /* web: the same shape */
        ok = bro_routes_is_key_id(v, slen);
    else if (nlen == 7 && memcmp(name, "dead_id", 7) == 0)
        ok = bro_routes_is_dead_id(v);
    if (!ok)
        return 0;
    r->names[r->n] = name;
    memcpy(r->values[r->n], v, slen + 1);
    r->n++;
    return 1;
}

/* Matches path against pattern segment by segment; fills r's params. */
static int bro_routes_try(const char *pattern, const char *path, bro_route_params *r)
{
    r->n = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return 0;
        p++, s++;
        size_t plen = strcspn(p, "/"), slen = strcspn(s, "/");
        if (p[0] == '{') {
            if (slen == 0 || !bro_routes_take(p + 1, plen - 2, s, slen, r))
                return 0;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return 0;
        }
        p += plen, s += slen;
    }
    return *p == '\0' && *s == '\0';
}

const bro_route *bro_routes_match(enum evhttp_cmd_type method, const char *path,
                                  bro_route_params *r, unsigned *allow, int *index)
{
    *allow = 0;
    /* HEAD is GET without the body, which the connection layer leaves out. */
    enum evhttp_cmd_type as = method == EVHTTP_REQ_HEAD ? EVHTTP_REQ_GET : method;
    for (int i = 0; i < bro_routes_table_n; i++) {
        if (!bro_routes_try(bro_routes_table[i].pattern, path, r))
            continue;
        if (bro_routes_table[i].method == as) {
            *index = i;
            return &bro_routes_table[i];
        }
        *allow |= bro_routes_table[i].method;
    }
    r->n = 0;
    return NULL;
}

const char *bro_routes_param(const bro_route_params *params, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < params->n; i++)
        if (strncmp(params->names[i], name, n) == 0 && params->names[i][n] == '}')
            return params->values[i];
    return NULL;
}

static const struct {
    unsigned bit;
    const char *name;
} bro_routes_methods[] = {{EVHTTP_REQ_GET, "GET"},     {EVHTTP_REQ_HEAD, "HEAD"},
                          {EVHTTP_REQ_POST, "POST"},   {EVHTTP_REQ_PUT, "PUT"},
                          {EVHTTP_REQ_PATCH, "PATCH"}, {EVHTTP_REQ_DELETE, "DELETE"}};
#define bro_routes_table_nMETHODS (sizeof(bro_routes_methods) / sizeof(bro_routes_methods[0]))

const char *bro_routes_method_name(enum evhttp_cmd_type method)
{
    for (size_t i = 0; i < bro_routes_table_nMETHODS; i++)
        if (bro_routes_methods[i].bit == (unsigned)method)
            return bro_routes_methods[i].name;
    return "?";
}

void bro_routes_allow_text(unsigned allow, char *buf, size_t n)
{
    buf[0] = '\0';
    if (allow & EVHTTP_REQ_GET)
        allow |= EVHTTP_REQ_HEAD;
    for (size_t i = 0; i < bro_routes_table_nMETHODS; i++) {
        if (!(allow & bro_routes_methods[i].bit))
            continue;
        if (buf[0])
            strncat(buf, ", ", n - strlen(buf) - 1);
        strncat(buf, bro_routes_methods[i].name, n - strlen(buf) - 1);
    }
}

/* Role names by bit: BRO_ROLE_PLATFORM_ADMIN is bit 0, and so on. */
static const char *const bro_routes_roles[] = {"platform_admin", "tenant_admin", "coordinator",
                                               "partner", "reader"};
#define bro_routes_table_nROLES (unsigned)(sizeof(bro_routes_roles) / sizeof(bro_routes_roles[0]))

unsigned bro_routes_role_bit(const char *role)
{
    for (unsigned i = 0; i < bro_routes_table_nROLES; i++)
        if (strcmp(role, bro_routes_roles[i]) == 0)
            return 1u << i;
    return 0;
}

void bro_routes_print(FILE *out)
{
    for (int i = 0; i < bro_routes_table_n; i++) {
        const bro_route *rt = &bro_routes_table[i];
        fprintf(out, "%s\t%s\t%s\t", bro_routes_method_name(rt->method), rt->pattern,
                rt->kind ? rt->kind : "local");
        int n = 0;
        for (unsigned b = 0; b < bro_routes_table_nROLES; b++)
            if (rt->roles & (1u << b))
                fprintf(out, "%s%s", n++ ? "," : "", bro_routes_roles[b]);
        fputs(n ? "\n" : "-\n", out);
    }
}
