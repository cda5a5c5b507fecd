/* Unit tests for common/session.c: the token format (an API key's under brs_, never taken for
 * one), the CSRF token derived from the secret, and finding the cookie in a Cookie header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/session.h"

static void test_generate_and_parse(void **state)
{
    (void)state;
    char id[BRO_APIKEY_ID_LEN + 1], secret[BRO_APIKEY_SECRET_LEN + 1], token[BRO_SESSION_LEN + 1];
    char id2[BRO_APIKEY_ID_LEN + 1], secret2[BRO_APIKEY_SECRET_LEN + 1];
    bro_err err = {0};
    assert_int_equal(bro_session_generate(id, secret, token, &err), 0);
    assert_int_equal(strlen(token), 45);
    assert_memory_equal(token, "brs_", 4);
    assert_int_equal(bro_session_parse(token, id2, secret2), 0);
    assert_string_equal(id, id2);
    assert_string_equal(secret, secret2);
    /* a session token is not an API key, nor the other way round */
    assert_int_equal(bro_apikey_parse(token, id2, secret2), -1);
    char key[BRO_APIKEY_LEN + 1];
    assert_int_equal(bro_apikey_generate(id, secret, key, &err), 0);
    assert_int_equal(bro_session_parse(key, id2, secret2), -1);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    char id[BRO_APIKEY_ID_LEN + 1], secret[BRO_APIKEY_SECRET_LEN + 1];
    static const char *const bad[] = {
        "",
        "brs_",
        "brs_AAAAAAAA_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",   /* secret too short */
        "brs_AAAAAAAA_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* secret too long */
        "brs_AAAAAAA-_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  /* not base62 */
        "brs_AAAAAAAAXaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  /* no separator */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(bro_session_parse(bad[i], id, secret), -1);
    assert_int_equal(bro_session_parse(NULL, id, secret), -1);
}

static void test_csrf_is_derived_from_the_secret(void **state)
{
    (void)state;
    char a[BRO_SESSION_CSRF_LEN + 1], b[BRO_SESSION_CSRF_LEN + 1], c[BRO_SESSION_CSRF_LEN + 1];
    assert_int_equal(bro_session_csrf("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", a), 0);
    assert_int_equal(bro_session_csrf("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", b), 0);
    assert_int_equal(bro_session_csrf("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", c), 0);
    assert_int_equal(strlen(a), BRO_SESSION_CSRF_LEN);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    /* not the secret's own hash, which is what the database keeps */
    char stored[BRO_APIKEY_HASH_LEN + 1];
    assert_int_equal(bro_apikey_hash("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", stored), 0);
    assert_string_not_equal(a, stored);
}

static void test_cookie_is_found_among_others(void **state)
{
    (void)state;
    char v[64];
    assert_int_equal(bro_session_cookie("a=1; bro_session=brs_x; b=2", "bro_session", v, sizeof(v)),
                     0);
    assert_string_equal(v, "brs_x");
    assert_int_equal(
        bro_session_cookie("bro_session=first; bro_session=second", "bro_session", v, sizeof(v)),
        0);
    assert_string_equal(v, "first");
    assert_int_equal(
        bro_session_cookie("xbro_session=no; bro_sessionx=no", "bro_session", v, sizeof(v)), -1);
    assert_int_equal(bro_session_cookie("", "bro_session", v, sizeof(v)), -1);
    assert_int_equal(bro_session_cookie("bro_session=", "bro_session", v, sizeof(v)), 0);
    assert_string_equal(v, "");
    char small[4];
    assert_int_equal(bro_session_cookie("bro_session=toolong", "bro_session", small, sizeof(small)),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_and_parse),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_csrf_is_derived_from_the_secret),
        cmocka_unit_test(test_cookie_is_found_among_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
