/* GET /v1/openapi.json: the service's OpenAPI document. The build converts schemas/openapi.yaml
 * to JSON and links it in as a generated C file (with an ETag computed from it), so serving it
 * reads no file and the program always describes itself as it was built. */
#include "openapi.h"

#include <event2/http.h>
#include <string.h>

#include "http.h"

/* If-None-Match is "*" or a list of tags, weak ones (W/"...") included; weak comparison
 * applies, so a tag matches wherever its quoted form appears in the list. */
static int bro_openapi_not_modified(const char *if_none_match)
{
    while (*if_none_match == ' ' || *if_none_match == '\t')
        if_none_match++;
    return strcmp(if_none_match, "*") == 0 || strstr(if_none_match, bro_openapi_etag) != NULL;
}

void bro_openapi_serve(bro_gw_req *r)
{
    bro_conn_req *req = r->req;
    evhttp_add_header(bro_conn_out_headers(req), "ETag", bro_openapi_etag);
    /* The document holds no personal data: caches may keep it and revalidate. */
    evhttp_add_header(bro_conn_out_headers(req), "Cache-Control", "no-cache");
    const char *inm = evhttp_find_header(bro_conn_in_headers(req), "If-None-Match");
    if (inm && bro_openapi_not_modified(inm)) {
        bro_http_finish(r, 304, NULL);
        return;
    }
    bro_http_json(r, 200, bro_openapi_doc, bro_openapi_doc_len);
}
