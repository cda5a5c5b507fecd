/* Unit tests for common/redisaddr.c: both forms of BROBYGGER_REDIS, and the refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/redisaddr.h"

static void test_a_server_is_its_own_address(void **state)
{
    bro_redis_addr a;
    bro_err err = {0};
    assert_int_equal(bro_redis_addr_parse("redis://10.0.0.5:7000/3", &a, &err), 0);
    assert_string_equal(a.host, "10.0.0.5");
    assert_int_equal(a.port, 7000);
    assert_int_equal(a.db, 3);
    assert_int_equal(a.nsentinels, 0);
    assert_int_equal(bro_redis_addr_resolve(&a, 100, &err), 0); /* nothing to ask */
    assert_string_equal(a.host, "10.0.0.5");
}

static void test_sentinels_and_their_master(void **state)
{
    bro_redis_addr a;
    bro_err err = {0};
    assert_int_equal(
        bro_redis_addr_parse("redis-sentinel://s1:26380,s2,10.0.0.3:5000/brobygger/2", &a, &err),
        0);
    assert_int_equal(a.nsentinels, 3);
    assert_string_equal(a.sentinel_host[0], "s1");
    assert_int_equal(a.sentinel_port[0], 26380);
    assert_string_equal(a.sentinel_host[1], "s2");
    assert_int_equal(a.sentinel_port[1], 26379);
    assert_int_equal(a.sentinel_port[2], 5000);
    assert_string_equal(a.master, "brobygger");
    assert_int_equal(a.db, 2);
    assert_string_equal(a.host, "");
    assert_int_equal(bro_redis_addr_parse("redis-sentinel://s1/m", &a, &err), 0);
    assert_int_equal(a.db, 0);
}

static void test_malformed_addresses_are_refused(void **state)
{
    static const char *const bad[] = {"redis-sentinel://s1",
                                      "redis-sentinel://s1/",
                                      "redis-sentinel:///m",
                                      "redis-sentinel://s1,,s2/m",
                                      "redis-sentinel://s1/m/16",
                                      "redis-sentinel://s1:0/m",
                                      "http://x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bro_redis_addr a;
        bro_err err = {0};
        if (bro_redis_addr_parse(bad[i], &a, &err) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_int_equal(err.code, BRO_E_CONFIG);
        assert_non_null(strstr(err.msg, "BROBYGGER_REDIS"));
    }
}

static void test_no_sentinel_answering_is_unavailable(void **state)
{
    bro_redis_addr a;
    bro_err err = {0};
    assert_int_equal(bro_redis_addr_parse("redis-sentinel://127.0.0.1:1/m", &a, &err), 0);
    assert_int_equal(bro_redis_addr_resolve(&a, 100, &err), -1);
    assert_int_equal(err.code, BRO_E_UNAVAILABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_server_is_its_own_address),
        cmocka_unit_test(test_sentinels_and_their_master),
        cmocka_unit_test(test_malformed_addresses_are_refused),
        cmocka_unit_test(test_no_sentinel_answering_is_unavailable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
