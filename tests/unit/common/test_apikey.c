/* Unit tests for common/apikey.c: format, parsing, hashing, roles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/apikey.h"

static void test_generate_and_parse(void **state)
{
    (void)state;
    char id[BRO_APIKEY_ID_LEN + 1], secret[BRO_APIKEY_SECRET_LEN + 1], key[BRO_APIKEY_LEN + 1];
    char id2[BRO_APIKEY_ID_LEN + 1], secret2[BRO_APIKEY_SECRET_LEN + 1];
    bro_err err = {0};
    assert_int_equal(bro_apikey_generate(id, secret, key, &err), 0);
    assert_int_equal(strlen(key), 45);
    assert_memory_equal(key, "bro_", 4);
    assert_int_equal(bro_apikey_parse(key, id2, secret2), 0);
    assert_string_equal(id, id2);
    assert_string_equal(secret, secret2);
    char other[BRO_APIKEY_LEN + 1];
    assert_int_equal(bro_apikey_generate(id2, secret2, other, &err), 0);
    assert_string_not_equal(key, other);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    char id[BRO_APIKEY_ID_LEN + 1], secret[BRO_APIKEY_SECRET_LEN + 1];
    static const char *const bad[] = {
        "",
        "bro_",
        "bro_AAAAAAAA_"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* secret too short */
        "bro_AAAAAAAA_"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* secret too long */
        "xro_AAAAAAAA_"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* prefix */
        "bro_AAAAAAAA-"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* separator */
        "bro_AAAA!AAA_"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* alphabet */
        "bro_AAAAAAAA_"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa5", /* non-ASCII */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(bro_apikey_parse(bad[i], id, secret), -1);
    assert_int_equal(bro_apikey_parse(NULL, id, secret), -1);
}

static void test_hash_vector_and_compare(void **state)
{
    (void)state;
    char hex[BRO_APIKEY_HASH_LEN + 1];
    assert_int_equal(bro_apikey_hash("abc", hex), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_true(bro_apikey_hash_equal(hex, hex));
    char other[BRO_APIKEY_HASH_LEN + 1];
    strcpy(other, hex);
    other[63] = '0';
    assert_false(bro_apikey_hash_equal(hex, other));
    assert_false(bro_apikey_hash_equal(hex, "short"));
    assert_true(bro_apikey_role_valid("partner"));
    assert_false(bro_apikey_role_valid("root"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_and_parse),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_hash_vector_and_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
