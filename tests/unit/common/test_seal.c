/* Unit tests for common/seal.c: round trips, tampering, wrong keys and aad, and key loading
 * from the variable or a file, with errors that name the variable. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/seal.h"

static const char test_hex[] = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
static const char test_other[] = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

static void test_round_trip_and_layout(void **state)
{
    (void)state;
    bro_seal_key key;
    bro_err err = {0};
    assert_int_equal(bro_seal_key_parse(&key, test_hex, "K", &err), 0);
    assert_int_equal(strlen(key.id), 16);
    const char plain[] = "{\"given_name\":\"Kari\"}";
    unsigned char *sealed = NULL, *opened = NULL;
    size_t slen = 0, olen = 0;
    assert_int_equal(bro_seal(&key, "aad", 3, plain, sizeof(plain), &sealed, &slen, &err), 0);
    assert_int_equal(slen, sizeof(plain) + BRO_SEAL_OVERHEAD);
    assert_int_equal(sealed[0], 1);
    assert_null(memmem(sealed, slen, "Kari", 4)); /* the text is not readable in the blob */
    assert_int_equal(bro_seal_open(&key, "aad", 3, sealed, slen, &opened, &olen, &err), 0);
    assert_int_equal(olen, sizeof(plain));
    assert_memory_equal(opened, plain, sizeof(plain));
    free(opened);
    /* Two seals of the same text differ: the nonce is fresh each time. */
    unsigned char *again = NULL;
    size_t alen = 0;
    assert_int_equal(bro_seal(&key, "aad", 3, plain, sizeof(plain), &again, &alen, &err), 0);
    assert_memory_not_equal(again, sealed, slen);
    free(again);
    free(sealed);
    bro_seal_key_wipe(&key);
}

static void test_tampering_wrong_key_and_aad_fail(void **state)
{
    (void)state;
    bro_seal_key key, other;
    bro_err err = {0};
    assert_int_equal(bro_seal_key_parse(&key, test_hex, "K", &err), 0);
    assert_int_equal(bro_seal_key_parse(&other, test_other, "K", &err), 0);
    assert_string_not_equal(key.id, other.id);
    unsigned char *sealed = NULL, *opened = NULL;
    size_t slen = 0, olen = 0;
    assert_int_equal(bro_seal(&key, "t1", 2, "body", 4, &sealed, &slen, &err), 0);
    assert_int_equal(bro_seal_open(&other, "t1", 2, sealed, slen, &opened, &olen, &err), -1);
    assert_int_equal(err.code, BRO_E_DECODE);
    assert_null(opened);
    assert_int_equal(bro_seal_open(&key, "t2", 2, sealed, slen, &opened, &olen, &err), -1);
    for (size_t i = 0; i < slen; i++) { /* any changed byte is noticed */
        sealed[i] ^= 0x01;
        assert_int_equal(bro_seal_open(&key, "t1", 2, sealed, slen, &opened, &olen, &err), -1);
        sealed[i] ^= 0x01;
    }
    assert_int_equal(bro_seal_open(&key, "t1", 2, sealed, 5, &opened, &olen, &err), -1);
    assert_int_equal(bro_seal_open(&key, "t1", 2, sealed, slen, &opened, &olen, &err), 0);
    free(opened);
    free(sealed);
}

static void test_empty_plaintext(void **state)
{
    (void)state;
    bro_seal_key key;
    bro_err err = {0};
    assert_int_equal(bro_seal_key_parse(&key, test_hex, "K", &err), 0);
    unsigned char *sealed = NULL, *opened = NULL;
    size_t slen = 0, olen = 7;
    assert_int_equal(bro_seal(&key, NULL, 0, "", 0, &sealed, &slen, &err), 0);
    assert_int_equal(slen, BRO_SEAL_OVERHEAD);
    assert_int_equal(bro_seal_open(&key, NULL, 0, sealed, slen, &opened, &olen, &err), 0);
    assert_int_equal(olen, 0);
    free(opened);
    free(sealed);
}

static void test_bad_keys_name_the_variable(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "abc", "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bro_seal_key key;
        bro_err err = {0};
        assert_int_equal(bro_seal_key_parse(&key, bad[i], "BROBYGGER_DEAD_LETTER_KEY", &err), -1);
        assert_int_equal(err.code, BRO_E_CONFIG);
        assert_non_null(strstr(err.msg, "BROBYGGER_DEAD_LETTER_KEY"));
    }
}

static void test_load_from_variable_or_file(void **state)
{
    (void)state;
    bro_seal_key key, direct;
    bro_err err = {0};
    int loaded = -1;
    assert_int_equal(bro_seal_key_load(&key, "", "", "K", &loaded, &err), 0);
    assert_int_equal(loaded, 0);
    assert_int_equal(bro_seal_key_load(&direct, test_hex, "", "K", &loaded, &err), 0);
    assert_int_equal(loaded, 1);
    char path[] = "/tmp/bro-seal-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, test_hex, strlen(test_hex)), (ssize_t)strlen(test_hex));
    assert_int_equal(write(fd, "\n", 1), 1);
    close(fd);
    assert_int_equal(bro_seal_key_load(&key, "", path, "K", &loaded, &err), 0);
    assert_int_equal(loaded, 1);
    assert_memory_equal(key.bytes, direct.bytes, BRO_SEAL_KEY_LEN);
    assert_string_equal(key.id, direct.id);
    assert_int_equal(bro_seal_key_load(&key, test_hex, path, "K", &loaded, &err), -1);
    assert_non_null(strstr(err.msg, "K_FILE"));
    unlink(path);
    assert_int_equal(bro_seal_key_load(&key, "", path, "K", &loaded, &err), -1);
    assert_non_null(strstr(err.msg, "K_FILE"));
    assert_int_equal(loaded, 0);
    bro_seal_key_wipe(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_layout),
        cmocka_unit_test(test_tampering_wrong_key_and_aad_fail),
        cmocka_unit_test(test_empty_plaintext),
        cmocka_unit_test(test_bad_keys_name_the_variable),
        cmocka_unit_test(test_load_from_variable_or_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
