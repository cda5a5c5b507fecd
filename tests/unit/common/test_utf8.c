/* Unit tests for common/utf8.c: strict acceptance, character counting, and the characters
 * one-line and multi-line texts refuse. */
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

static void test_utf8_refused_in_one_line(void **state)
{
    (void)state;
    assert_int_equal(bro_utf8_refused("Kari Nordmann", 13, BRO_UTF8_LINE), -1);
    assert_int_equal(bro_utf8_refused("\xc3\xa5 \xf0\x9f\x98\x80", 7, BRO_UTF8_LINE), -1);
    assert_int_equal(bro_utf8_refused("", 0, BRO_UTF8_LINE), -1);
    assert_int_equal(bro_utf8_refused("a\x01", 2, BRO_UTF8_LINE), 0x01);
    assert_int_equal(bro_utf8_refused("\x1b[31m", 5, BRO_UTF8_LINE), 0x1b);
    assert_int_equal(bro_utf8_refused("a\tb", 3, BRO_UTF8_LINE), '\t');
    assert_int_equal(bro_utf8_refused("a\nb", 3, BRO_UTF8_LINE), '\n');
    assert_int_equal(bro_utf8_refused("a\x7f", 2, BRO_UTF8_LINE), 0x7f);
    assert_int_equal(bro_utf8_refused("\xc2\x80", 2, BRO_UTF8_LINE), 0x80);         /* C1 */
    assert_int_equal(bro_utf8_refused("\xc2\x9f", 2, BRO_UTF8_LINE), 0x9f);         /* C1 */
    assert_int_equal(bro_utf8_refused("\xc2\xa0", 2, BRO_UTF8_LINE), -1);           /* NBSP */
    assert_int_equal(bro_utf8_refused("ab\xe2\x80\xae", 5, BRO_UTF8_LINE), 0x202e); /* RLO */
    static const long bidi[] = {0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d,
                                0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x2028, 0x2029};
    for (size_t i = 0; i < sizeof(bidi) / sizeof(bidi[0]); i++) {
        char buf[3];
        long c = bidi[i];
        size_t n = c < 0x800 ? 2 : 3;
        if (n == 2) {
            buf[0] = (char)(0xc0 | (c >> 6));
            buf[1] = (char)(0x80 | (c & 0x3f));
        } else {
            buf[0] = (char)(0xe0 | (c >> 12));
            buf[1] = (char)(0x80 | ((c >> 6) & 0x3f));
            buf[2] = (char)(0x80 | (c & 0x3f));
        }
        assert_int_equal(bro_utf8_refused(buf, n, BRO_UTF8_LINE), c);
        assert_int_equal(bro_utf8_refused(buf, n, BRO_UTF8_LINES), c);
    }
    /* Neighbours of the refused ranges are ordinary text: ZWJ, narrow NBSP, word joiner. */
    assert_int_equal(bro_utf8_refused("\xe2\x80\x8d\xe2\x80\xaf\xe2\x81\xa0", 9, BRO_UTF8_LINE),
                     -1);
}

static void test_utf8_refused_in_several_lines(void **state)
{
    (void)state;
    assert_int_equal(bro_utf8_refused("a\nb\tc\r\nd\n", 9, BRO_UTF8_LINES), -1);
    assert_int_equal(bro_utf8_refused("a\rb", 3, BRO_UTF8_LINES), '\r'); /* CR without LF */
    assert_int_equal(bro_utf8_refused("a\r", 2, BRO_UTF8_LINES), '\r');
    assert_int_equal(bro_utf8_refused("a\n\x01", 3, BRO_UTF8_LINES), 0x01);
    assert_int_equal(bro_utf8_refused("\x0b", 1, BRO_UTF8_LINES), 0x0b);
    assert_int_equal(bro_utf8_refused("\x1b", 1, BRO_UTF8_LINES), 0x1b);
    assert_int_equal(bro_utf8_refused("\x7f", 1, BRO_UTF8_LINES), 0x7f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_rules),
        cmocka_unit_test(test_utf8_refused_in_one_line),
        cmocka_unit_test(test_utf8_refused_in_several_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
