/* Unit tests for common/ids.c: UUIDv7 layout and order, the id and slug checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/ids.h"

static void test_uuid7(void **state)
{
    (void)state;
    char a[BRO_UUID_LEN + 1], b[BRO_UUID_LEN + 1];
    bro_ids_uuid7(a);
    for (int i = 0; i < 1000; i++) {
        bro_ids_uuid7(b);
        assert_true(bro_ids_is_uuid(b));
        assert_int_equal(b[14], '7');           /* version */
        assert_non_null(strchr("89ab", b[19])); /* variant */
        assert_true(memcmp(a, b, 13) <= 0);     /* time-ordered prefix */
        assert_string_not_equal(a, b);
        memcpy(a, b, sizeof(a));
    }
}

static void test_id_checks(void **state)
{
    (void)state;
    assert_true(bro_ids_is_uuid("01A20696-C570-7166-A468-9B3DF28D303C"));
    assert_false(bro_ids_is_uuid("01a20696c570-7166-a468-9b3df28d303c0"));
    assert_false(bro_ids_is_uuid("01a20696-c570-7166-a468-9b3df28d303g"));
    assert_true(bro_ids_is_slug("ab"));
    assert_true(bro_ids_is_slug("ringerike_2"));
    assert_true(bro_ids_is_slug("a234567890123456789012345678901"));   /* 31 */
    assert_false(bro_ids_is_slug("a2345678901234567890123456789012")); /* 32 */
    assert_false(bro_ids_is_slug("a"));
    assert_false(bro_ids_is_slug("1ab"));
    assert_false(bro_ids_is_slug("Ab"));
    assert_false(bro_ids_is_slug("a-b"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid7),
        cmocka_unit_test(test_id_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
