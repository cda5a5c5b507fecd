/* Unit tests for common/jmp.c: conversions both ways, the limits, and allocation failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/jmp.h"

/* JSON text -> msgpack -> JSON text. Returns a malloc'd string or NULL. */
static char *test_round(const char *json, bro_err *err)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    char *out = NULL;
    if (bro_jmp_pack_json_text(&pk, json, strlen(json), err) == 0) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
        out = bro_jmp_to_json_text(&u.data, NULL, err);
        msgpack_unpacked_destroy(&u);
    }
    msgpack_sbuffer_destroy(&sb);
    return out;
}

static void test_round_trips(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "{\"a\":1,\"b\":[true,false,null],\"c\":\"Å\\u00e6\",\"d\":-5,\"e\":1.5}",
        "[]",
        "{}",
        "\"x\"",
        "9223372036854775807",
        "-9223372036854775808"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bro_err err = {0};
        char *out = test_round(cases[i], &err);
        assert_non_null(out);
        char *again = test_round(out, &err);
        assert_string_equal(out, again);
        free(out);
        free(again);
    }
}

static void test_rejections(void **state)
{
    (void)state;
    bro_err err = {0};
    assert_null(test_round("{\"a\":1,\"a\":2}", &err)); /* duplicate */
    assert_int_equal(err.code, BRO_E_DECODE);
    assert_null(test_round("{\"a\":\"\xff\"}", &err)); /* invalid UTF-8 */
    assert_null(test_round("{\"a\":", &err));          /* truncated */
    assert_non_null(strstr(err.msg, "line"));
    char deep[200];
    memset(deep, '[', 40);
    memset(deep + 40, ']', 40);
    deep[80] = '\0';
    assert_null(test_round(deep, &err)); /* deeper than the limit */
}

static void test_msgpack_only_values_are_refused(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_int(&pk, 1); /* a key that is not a string */
    msgpack_pack_int(&pk, 2);
    msgpack_pack_bin_with_body(&pk, "ab", 2);
    msgpack_pack_str_with_body(&pk, "\xc3", 1); /* invalid UTF-8 */
    msgpack_pack_uint64(&pk, UINT64_MAX);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
        bro_err err = {0};
        assert_null(bro_jmp_to_json_text(&u.data, NULL, &err));
        assert_int_equal(err.code, BRO_E_DECODE);
    }
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

/* Converts msgpack bytes to JSON text; returns the malloc'd text or NULL with err set. */
static char *test_mp_to_json(const msgpack_sbuffer *sb, bro_err *err)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(bro_mp_unpack_one(&u, sb->data, sb->size), 0);
    char *out = bro_jmp_to_json_text(&u.data, NULL, err);
    msgpack_unpacked_destroy(&u);
    return out;
}

static void test_msgpack_duplicate_keys_are_refused_at_every_depth(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    bro_err err = {0};
    /* {"given_name": "A", "given_name": "B"}: which one counts would be up to the reader */
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "given_name", 10);
    msgpack_pack_str_with_body(&pk, "A", 1);
    msgpack_pack_str_with_body(&pk, "given_name", 10);
    msgpack_pack_str_with_body(&pk, "B", 1);
    assert_null(test_mp_to_json(&sb, &err));
    assert_int_equal(err.code, BRO_E_DECODE);
    assert_non_null(strstr(err.msg, "twice"));

    /* {"contacts": [{"name": "x", "name": "y"}]} two levels down */
    sb.size = 0;
    bro_err_clear(&err);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "contacts", 8);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "name", 4);
    msgpack_pack_str_with_body(&pk, "x", 1);
    msgpack_pack_str_with_body(&pk, "name", 4);
    msgpack_pack_nil(&pk);
    assert_null(test_mp_to_json(&sb, &err));
    assert_int_equal(err.code, BRO_E_DECODE);

    /* Keys that differ only in length or in a byte are different keys; maps side by side may
     * share keys. */
    sb.size = 0;
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "k", 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str_with_body(&pk, "ab", 2);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "k", 1);
    msgpack_pack_int(&pk, 2);
    msgpack_pack_str_with_body(&pk, "b", 1);
    msgpack_pack_true(&pk);
    char *out = test_mp_to_json(&sb, &err);
    assert_non_null(out);
    assert_string_equal(out, "{\"a\":{\"k\":1},\"ab\":{\"k\":2},\"b\":true}");
    free(out);
    msgpack_sbuffer_destroy(&sb);
}

/* An allocator that fails after a budget of calls. */
static int failing_budget;
static void *failing_malloc(size_t n)
{
    if (failing_budget-- <= 0)
        return NULL;
    return malloc(n);
}

static void test_allocation_failure_is_an_error(void **state)
{
    (void)state;
    const char *json = "{\"a\":[1,2,{\"b\":\"c\"}],\"d\":\"e\"}";
    for (int budget = 0; budget < 40; budget++) {
        json_set_alloc_funcs(failing_malloc, free);
        failing_budget = budget;
        bro_err err = {0};
        char *out = test_round(json, &err);
        json_set_alloc_funcs(malloc, free);
        if (out == NULL)
            assert_int_not_equal(err.code, BRO_E_NONE);
        free(out);
    }
}

static void test_map_get(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    bro_err err = {0};
    assert_int_equal(bro_jmp_pack_json_text(&pk, "{\"ab\":1,\"a\":2}", 14, &err), 0);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    msgpack_unpack_next(&u, sb.data, sb.size, NULL);
    assert_int_equal(bro_jmp_map_get(&u.data, "a")->via.u64, 2);
    assert_null(bro_jmp_map_get(&u.data, "b"));
    assert_null(bro_jmp_map_get(NULL, "a"));
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void test_bounded(void **state)
{
    (void)state;
    /* Every well-formed value the packer writes is admitted, whole. */
    const char *json =
        "{\"a\":[1,-2,300,70000,5000000000,1.5,\"x\",null,true,{}],\"b\":{\"c\":[]}}";
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    bro_err err = {0};
    assert_int_equal(bro_jmp_pack_json_text(&pk, json, strlen(json), &err), 0);
    msgpack_pack_bin(&pk, 3);
    msgpack_pack_bin_body(&pk, "xyz", 3);
    size_t first = bro_mp_bounded(sb.data, sb.size);
    assert_int_equal(first, sb.size - 5); /* the map, not the bin after it */
    assert_int_equal(bro_mp_bounded(sb.data + first, 5), 5);
    for (size_t cut = 0; cut < first; cut++) /* every truncation is refused */
        assert_int_equal(bro_mp_bounded(sb.data, cut), 0);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(bro_mp_unpack_one(&u, sb.data, first), 0);
    assert_int_equal(u.data.type, MSGPACK_OBJECT_MAP);
    assert_int_equal(bro_mp_unpack_one(&u, sb.data, sb.size), -1); /* trailing bytes */
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);

    /* Headers that promise more elements than bytes remain are refused before allocation. */
    static const char array32[] = "\xdd\xff\xff\xff\xff\x01";
    static const char map32[] = "\xdf\x40\x00\x00\x00\x01\x02";
    static const char map16[] = "\xde\x00\x02\x01\x02\x03"; /* 4 values, 3 bytes */
    static const char str32[] = "\xdb\x00\x01\x00\x00ab";
    static const char unused[] = "\xc1";
    assert_int_equal(bro_mp_bounded(array32, sizeof(array32) - 1), 0);
    assert_int_equal(bro_mp_bounded(map32, sizeof(map32) - 1), 0);
    assert_int_equal(bro_mp_bounded(map16, sizeof(map16) - 1), 0);
    assert_int_equal(bro_mp_bounded(str32, sizeof(str32) - 1), 0);
    assert_int_equal(bro_mp_bounded(unused, 1), 0);
    static const char ok16[] = "\xde\x00\x02\x01\x02\x03\x04";
    assert_int_equal(bro_mp_bounded(ok16, sizeof(ok16) - 1), sizeof(ok16) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_msgpack_only_values_are_refused),
        cmocka_unit_test(test_msgpack_duplicate_keys_are_refused_at_every_depth),
        cmocka_unit_test(test_allocation_failure_is_an_error),
        cmocka_unit_test(test_map_get),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
