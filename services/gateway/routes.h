/* The route table and its matcher: the gateway's whole HTTP surface as data. The rows live in
 * bro_routes_table (routes_table.c for now; a file generated from schemas/openapi.yaml can define
 * the same two symbols instead); this header knows nothing of the rest of the gateway. */
#ifndef BRO_ROUTES_H
#define BRO_ROUTES_H

#include <event2/http.h>
#include <stddef.h>
#include <stdio.h>

#define BRO_ROUTE_PARAMS_MAX 3  /* path parameters per route */
#define BRO_ROUTE_PARAM_LEN  40 /* bytes of one parameter's value, NUL included */

/* Role bits for the route table. */
#define BRO_ROLE_PLATFORM_ADMIN 0x01
#define BRO_ROLE_TENANT_ADMIN   0x02
#define BRO_ROLE_COORDINATOR    0x04
#define BRO_ROLE_PARTNER        0x08
#define BRO_ROLE_READER         0x10
#define BRO_ROLE_ANY            0x1f

#define BRO_BODY_NONE   0 /* no body */
#define BRO_BODY_OBJECT 1 /* a JSON object or msgpack map */
#define BRO_BODY_OR_CSV 2 /* as above, or a text/csv file passed on as {"csv": text} */

/* Route flags: what the gateway must do besides answering. */
#define BRO_ROUTE_CHANGES_KEYS                                                                     \
    0x01                            /* a 204 revoked the key named {key_id}: purge it from the     \
                                       key cache at once */
#define BRO_ROUTE_SETS_SESSION 0x02 /* web: a 201 carries a session token: set the cookie */
#define BRO_ROUTE_ENDS_SESSION 0x04 /* web: a 204 ended sessions: purge them, clear the cookie */

typedef struct bro_gw_req bro_gw_req;

/* A route handled in the gateway itself (health, identity, operations). */
typedef void (*bro_gw_local_fn)(bro_gw_req *r);

typedef struct bro_route {
    enum evhttp_cmd_type method; /* EVHTTP_REQ_GET, ... */
    const char *pattern;         /* "/v1/candidates/{id}"; {id} uuid, {slug}, {key_id}, {dead_id} */
    const char *kind;            /* job kind, or NULL for a local route */
    bro_gw_local_fn local;       /* local handler when kind is NULL */
    unsigned roles;              /* BRO_ROLE_* allowed; 0 means no key needed */
    const char *queue;           /* queue the job goes to */
    int body;                    /* BRO_BODY_*: what the request must carry */
    unsigned flags;              /* BRO_ROUTE_*; 0 for most routes */
} bro_route;

/* The rows, in the order the matcher tries them, and their number. */
extern const bro_route bro_routes_table[];
extern const int bro_routes_table_n;

/* The path parameters of a matched request: names borrowed from the route's pattern (ending at
 * its '}'), values copied from the path. */
typedef struct bro_route_params {
    const char *names[BRO_ROUTE_PARAMS_MAX];                /* "id}/history", ...: up to the '}' */
    char values[BRO_ROUTE_PARAMS_MAX][BRO_ROUTE_PARAM_LEN]; /* the segments, NUL-terminated */
    int n;                                                  /* entries used above */
} bro_route_params;

/* Finds the route for method and path (HEAD matches GET). Returns it with *index set and the
 * path's parameters in params, or NULL with params emptied and *allow set to the methods that
 * path accepts (0 when the path is unknown: 404). A parameter that does not have its shape
 * makes the path unknown. */
const bro_route *bro_routes_match(enum evhttp_cmd_type method, const char *path,
                                  bro_route_params *params, unsigned *allow, int *index);

/* The value of the parameter called name ("key_id"), or NULL; borrowed from params. */
const char *bro_routes_param(const bro_route_params *params, const char *name);

int bro_routes_count(void);
const bro_route *bro_routes_at(int i);

/* Writes "GET, HEAD, POST" for a method bit set into buf (HEAD wherever GET is). */
void bro_routes_allow_text(unsigned allow, char *buf, size_t n);

/* "GET", "POST", ... for one method. */
const char *bro_routes_method_name(enum evhttp_cmd_type method);

/* BRO_ROLE_* of a role name, or 0 for a name that is not a role. */
unsigned bro_routes_role_bit(const char *role);

/* Prints the route table to out, one route per line: method, pattern, job kind or "local", and
 * the roles as comma-separated names ("-" when no key is needed), separated by tabs. */
void bro_routes_print(FILE *out);

#endif
