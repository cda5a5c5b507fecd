/* Unit tests for services/worker/notify/sign.c: the Standard Webhooks example signature, the
 * whsec_ form of a new secret and its parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "notify/sign.h"

/* The specification's example: secret, message id, timestamp and body; the expected value was
 * computed with Python's hmac and base64, independently of this code. */
static void test_the_specification_example(void **state)
{
    (void)state;
    unsigned char key[BRO_SIGN_SECRET_MAX];
    int len = bro_sign_parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key);
    assert_int_equal(len, 24);
    const char body[] = "{\"test\": 2432232314}";
    char sig[3 + BRO_SIGN_B64_LEN];
    assert_int_equal(bro_sign(key, (size_t)len, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330LL, body,
                              strlen(body), sig, sizeof(sig)),
                     0);
    assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

static void test_one_changed_byte_changes_the_signature(void **state)
{
    (void)state;
    unsigned char key[4] = {1, 2, 3, 4};
    char a[3 + BRO_SIGN_B64_LEN], b[3 + BRO_SIGN_B64_LEN];
    assert_int_equal(bro_sign(key, 4, "id", 1, "{\"a\":1}", 7, a, sizeof(a)), 0);
    assert_int_equal(bro_sign(key, 4, "id", 2, "{\"a\":1}", 7, b, sizeof(b)), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(bro_sign(key, 4, "id", 1, "{\"a\":2}", 7, b, sizeof(b)), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(bro_sign(key, 4, "id", 1, "{\"a\":1}", 7, b, 10), -1); /* too small */
}

static void test_a_new_secret_round_trips(void **state)
{
    (void)state;
    unsigned char key[BRO_SIGN_SECRET_LEN], back[BRO_SIGN_SECRET_MAX], other[BRO_SIGN_SECRET_LEN];
    char text[BRO_SIGN_TEXT_MAX], text2[BRO_SIGN_TEXT_MAX];
    assert_int_equal(bro_sign_new_secret(key, text), 0);
    assert_memory_equal(text, "whsec_", 6);
    assert_int_equal(strlen(text), 6 + 32);
    assert_int_equal(bro_sign_parse_secret(text, back), BRO_SIGN_SECRET_LEN);
    assert_memory_equal(back, key, BRO_SIGN_SECRET_LEN);
    assert_int_equal(bro_sign_new_secret(other, text2), 0);
    assert_string_not_equal(text, text2);
}

static void test_malformed_secrets_are_refused(void **state)
{
    (void)state;
    unsigned char key[BRO_SIGN_SECRET_MAX];
    assert_int_equal(bro_sign_parse_secret("whsec_", key), -1);
    assert_int_equal(bro_sign_parse_secret("whsec_abc", key), -1);  /* not a multiple of 4 */
    assert_int_equal(bro_sign_parse_secret("whsec_ab!d", key), -1); /* not base64 */
    assert_int_equal(bro_sign_parse_secret("QQ==", key), 1);        /* bare base64: "A" */
    assert_int_equal(key[0], 'A');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_specification_example),
        cmocka_unit_test(test_one_changed_byte_changes_the_signature),
        cmocka_unit_test(test_a_new_secret_round_trips),
        cmocka_unit_test(test_malformed_secrets_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
