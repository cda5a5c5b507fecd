/* Unit tests for common/problem.c and the error table behind it: one status per word, the same
 * document in JSON and msgpack, internal words told as their stand-in, broken UTF-8 kept out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/jmp.h"
#include "common/problem.h"

/* Collects a JSON text; a limit below its length makes the sink refuse. */
typedef struct text_sink {
    char buf[2048];
    size_t len;
    size_t limit;
} text_sink;

static int collect(const char *buf, size_t len, void *ctx)
{
    text_sink *t = ctx;
    if (t->len + len > t->limit || t->len + len >= sizeof(t->buf))
        return -1;
    memcpy(t->buf + t->len, buf, len);
    t->len += len;
    t->buf[t->len] = '\0';
    return 0;
}

static json_t *as_json(const bro_problem *p)
{
    text_sink t = {.limit = sizeof(t.buf)};
    assert_int_equal(bro_problem_json(p, collect, &t), 0);
    json_t *doc = json_loadb(t.buf, t.len, 0, NULL);
    assert_non_null(doc);
    return doc;
}

static void test_one_status_per_word(void **state)
{
    (void)state;
    for (int a = 0; a < BRO_E__COUNT; a++) {
        assert_int_equal(bro_err_from_word(bro_err_word(a)), a); /* words are unique */
        int pub = bro_err_public(a);
        assert_int_equal(bro_err_public(pub), pub); /* a stand-in stands for itself */
        assert_in_range(bro_err_http_status(a), 400, 599);
        assert_non_null(bro_err_title(a));
    }
    assert_int_equal(bro_err_http_status(BRO_E_INVALID), 422);
    assert_int_equal(bro_err_http_status(BRO_E_BAD_REQUEST), 400);
    assert_int_equal(bro_err_http_status(BRO_E_IDEM_REUSED), 422);
    assert_int_equal(bro_err_http_status(BRO_E_CONFLICT), 409);
    assert_int_equal(bro_err_http_status(BRO_E_NOT_FOUND), 404);
    assert_int_equal(bro_err_http_status(BRO_E_RATE_LIMITED), 429);
    assert_int_equal(bro_err_from_word("no-such-word"), -1);
    assert_int_equal(bro_err_from_word(NULL), -1);
}

static void test_internal_words_never_reach_a_client(void **state)
{
    (void)state;
    assert_int_equal(bro_err_public(BRO_E_DB), BRO_E_INTERNAL);
    assert_int_equal(bro_err_public(BRO_E_NOMEM), BRO_E_INTERNAL);
    assert_int_equal(bro_err_public(BRO_E_CONFIG), BRO_E_INTERNAL);
    assert_int_equal(bro_err_public(BRO_E_RETRY), BRO_E_UNAVAILABLE);
    assert_int_equal(bro_err_public(BRO_E_REDIS), BRO_E_UNAVAILABLE);
    assert_int_equal(bro_err_public(BRO_E_NONE), BRO_E_INTERNAL);
    assert_int_equal(bro_err_public(-3), BRO_E_INTERNAL);
    assert_int_equal(bro_err_public(BRO_E__COUNT), BRO_E_INTERNAL);
    bro_problem p = {BRO_E_DB, "the statement failed", NULL, 0};
    json_t *doc = as_json(&p);
    assert_string_equal(json_string_value(json_object_get(doc, "type")),
                        BRO_PROBLEM_BASE "internal");
    assert_int_equal(json_integer_value(json_object_get(doc, "status")), 500);
    json_decref(doc);
}

static void test_json_members_in_order_with_fields(void **state)
{
    (void)state;
    bro_problem_field f[] = {{"birth_year", "must be 1900 or later"},
                             {"availability.mon", "unknown part of the day"}};
    bro_problem p = {BRO_E_INVALID, "2 fields are invalid", f, 2};
    assert_int_equal(bro_problem_status(&p), 422);
    text_sink t = {.limit = sizeof(t.buf)};
    assert_int_equal(bro_problem_json(&p, collect, &t), 0);
    assert_string_equal(t.buf, "{\"type\":\"https://brobygger.no/problems/validation\","
                               "\"title\":\"Validation Failed\",\"status\":422,"
                               "\"detail\":\"2 fields are invalid\",\"errors\":["
                               "{\"field\":\"birth_year\",\"message\":\"must be 1900 or later\"},"
                               "{\"field\":\"availability.mon\","
                               "\"message\":\"unknown part of the day\"}]}");
}

static void test_json_escapes_and_defaults(void **state)
{
    (void)state;
    bro_problem p = {BRO_E_DECODE, "invalid JSON near '\"\\\n'", NULL, 0};
    json_t *doc = as_json(&p);
    assert_string_equal(json_string_value(json_object_get(doc, "detail")),
                        "invalid JSON near '\"\\\n'");
    assert_null(json_object_get(doc, "errors"));
    json_decref(doc);
    p = (bro_problem){BRO_E_NOT_FOUND, NULL, NULL, 0}; /* no detail: the title */
    doc = as_json(&p);
    assert_string_equal(json_string_value(json_object_get(doc, "detail")), "Not Found");
    json_decref(doc);
}

static void test_json_keeps_broken_utf8_out(void **state)
{
    (void)state;
    bro_problem_field f[] = {{"name", "bad \xff byte"}, {"body", "fine"}};
    bro_problem p = {BRO_E_DECODE, "near \xc3\x28", f, 2};
    json_t *doc = as_json(&p);
    assert_string_equal(json_string_value(json_object_get(doc, "detail")), "Unreadable Body");
    json_t *errors = json_object_get(doc, "errors");
    assert_int_equal(json_array_size(errors), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "field")),
                        "body");
    json_decref(doc);
}

static void test_json_sink_refusal_fails(void **state)
{
    (void)state;
    bro_problem p = {BRO_E_TIMEOUT, "no worker answered in time", NULL, 0};
    text_sink t = {.limit = 10};
    assert_int_equal(bro_problem_json(&p, collect, &t), -1);
}

/* The msgpack document, converted to JSON, is the JSON document. */
static void test_msgpack_matches_json(void **state)
{
    (void)state;
    bro_problem_field f[] = {{"to", "not a legal transition from henvist"}};
    const bro_problem cases[] = {
        {BRO_E_CONFLICT, "the transition is not allowed", f, 1},
        {BRO_E_RETRY, "try again", NULL, 0},
        {BRO_E_IDEM_REUSED, NULL, NULL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        assert_int_equal(bro_problem_pack(&pk, &cases[i]), 0);
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        size_t off = 0;
        assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
        assert_int_equal(off, sb.size); /* exactly one value */
        bro_err err = {0};
        json_t *from_mp = bro_jmp_to_json(&u.data, &err);
        assert_non_null(from_mp);
        json_t *doc = as_json(&cases[i]);
        assert_true(json_equal(from_mp, doc));
        json_decref(from_mp);
        json_decref(doc);
        msgpack_unpacked_destroy(&u);
        msgpack_sbuffer_destroy(&sb);
    }
}

/* --problems lists the words a client can receive, each with its status and title. */
static void test_print_table_lists_public_words(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    assert_int_equal(bro_problem_print_table(out), 0);
    fclose(out);
    assert_non_null(strstr(text, "validation\t422\tValidation Failed\n"));
    assert_non_null(strstr(text, "rate-limited\t429\tToo Many Requests\n"));
    assert_null(strstr(text, "database"));
    assert_null(strstr(text, "retry"));
    int lines = 0;
    for (const char *c = text; *c; c++)
        lines += *c == '\n';
    int pub = 0;
    for (int code = 0; code < BRO_E__COUNT; code++)
        pub += bro_err_public(code) == code;
    assert_int_equal(lines, pub);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_status_per_word),
        cmocka_unit_test(test_internal_words_never_reach_a_client),
        cmocka_unit_test(test_json_members_in_order_with_fields),
        cmocka_unit_test(test_json_escapes_and_defaults),
        cmocka_unit_test(test_json_keeps_broken_utf8_out),
        cmocka_unit_test(test_json_sink_refusal_fails),
        cmocka_unit_test(test_msgpack_matches_json),
        cmocka_unit_test(test_print_table_lists_public_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
