/* Unit tests for common/utf8.c: strict acceptance, character counting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/utf8.h"

static void test_utf8_rules(void **state)
{
    (void)state;
    assert_true(bro_utf8_valid("plain", 5));
    assert_true(bro_utf8_valid("\xc3\xa5", 2));         /* å */
    assert_true(bro_utf8_valid("\xf0\x9f\x98\x80", 4)); /* emoji */
    assert_false(bro_utf8_valid("\xc3", 1));            /* truncated */
    assert_false(bro_utf8_valid("\xc0\xaf", 2));        /* overlong */
    assert_false(bro_utf8_valid("\xed\xa0\x80", 3));    /* surrogate */
    assert_false(bro_utf8_valid("a\0b", 3));            /* NUL */
    assert_false(bro_utf8_valid("\xff", 1));
    assert_int_equal(bro_utf8_len("\xc3\xa5la", 4), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
