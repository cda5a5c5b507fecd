/* Problem documents from the error table: the same members in JSON (jansson does the escaping)
 * and in msgpack, so the gateway and the worker cannot drift apart. */
#include "common/problem.h"

#include <jansson.h>
#include <string.h>

int bro_problem_status(const bro_problem *p)
{
    return bro_err_http_status(p->code);
}

static const char *bro_problem_detail(const bro_problem *p)
{
    return p->detail ? p->detail : bro_err_title(p->code);
}

static int bro_problem_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) | msgpack_pack_str_body(pk, s, n);
}

int bro_problem_pack(msgpack_packer *pk, const bro_problem *p)
{
    int code = bro_err_public(p->code);
    char type[96];
    snprintf(type, sizeof(type), BRO_PROBLEM_BASE "%s", bro_err_word(code));
    int nfields = p->fields ? p->nfields : 0;
    int rc = msgpack_pack_map(pk, nfields > 0 ? 5 : 4);
    rc |= bro_problem_pack_str(pk, "type") | bro_problem_pack_str(pk, type);
    rc |= bro_problem_pack_str(pk, "title") | bro_problem_pack_str(pk, bro_err_title(code));
    rc |= bro_problem_pack_str(pk, "status") | msgpack_pack_int(pk, bro_err_http_status(code));
    rc |= bro_problem_pack_str(pk, "detail") | bro_problem_pack_str(pk, bro_problem_detail(p));
    if (nfields > 0) {
        rc |= bro_problem_pack_str(pk, "errors") | msgpack_pack_array(pk, (size_t)nfields);
        for (int i = 0; i < nfields; i++) {
            rc |= msgpack_pack_map(pk, 2);
            rc |= bro_problem_pack_str(pk, "field") | bro_problem_pack_str(pk, p->fields[i].field);
            rc |= bro_problem_pack_str(pk, "message") |
                  bro_problem_pack_str(pk, p->fields[i].message);
        }
    }
    return rc ? -1 : 0;
}

/* errors: [{field, message}], leaving out an entry whose strings are not UTF-8. NULL when out
 * of memory. */
static json_t *bro_problem_json_fields(const bro_problem *p)
{
    json_t *errors = json_array();
    for (int i = 0; errors && i < p->nfields; i++) {
        json_t *f = json_string(p->fields[i].field);
        json_t *m = json_string(p->fields[i].message);
        if (f == NULL || m == NULL) {
            json_decref(f);
            json_decref(m);
            continue;
        }
        json_t *e = json_pack("{s:o, s:o}", "field", f, "message", m);
        if (e == NULL || json_array_append_new(errors, e) < 0) {
            json_decref(errors);
            return NULL;
        }
    }
    return errors;
}

int bro_problem_json(const bro_problem *p, bro_problem_sink sink, void *ctx)
{
    int code = bro_err_public(p->code);
    char type[96];
    snprintf(type, sizeof(type), BRO_PROBLEM_BASE "%s", bro_err_word(code));
    json_t *detail = json_string(bro_problem_detail(p));
    if (detail == NULL)
        detail = json_string(bro_err_title(code));
    json_t *doc = json_pack("{s:s, s:s, s:i, s:o}", "type", type, "title", bro_err_title(code),
                            "status", bro_err_http_status(code), "detail", detail);
    if (doc && p->fields && p->nfields > 0 &&
        json_object_set_new(doc, "errors", bro_problem_json_fields(p)) < 0) {
        json_decref(doc);
        doc = NULL;
    }
    int rc = doc ? json_dump_callback(doc, sink, ctx, JSON_COMPACT | JSON_PRESERVE_ORDER) : -1;
    json_decref(doc);
    return rc < 0 ? -1 : 0;
}

int bro_problem_print_table(FILE *out)
{
    for (int code = 0; code < BRO_E__COUNT; code++)
        if (bro_err_public(code) == code &&
            fprintf(out, "%s\t%d\t%s\n", bro_err_word(code), bro_err_http_status(code),
                    bro_err_title(code)) < 0)
            return -1;
    return 0;
}
