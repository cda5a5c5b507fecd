/* The service's OpenAPI document, converted from schemas/openapi.yaml at build time into a
 * generated C file, and the local route that serves it. */
#ifndef BRO_OPENAPI_H
#define BRO_OPENAPI_H

#include <stddef.h>

#include "gw.h"

extern const char bro_openapi_doc[];     /* the document as JSON text, NUL-terminated */
extern const size_t bro_openapi_doc_len; /* its length in bytes, without the NUL */
extern const char bro_openapi_etag[];    /* quoted entity tag derived from the text */

/* GET /v1/openapi.json: answers the document with its ETag, or 304 for If-None-Match. */
void bro_openapi_serve(bro_gw_req *r);

#endif
