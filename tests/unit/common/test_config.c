/* Unit tests for common/config.c: defaults, and errors that name the variable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/log.h"

static void test_clear_env(void)
{
    static const char *const names[] = {"BROBYGGER_PG",
                                        "BROBYGGER_PG_ADMIN",
                                        "BROBYGGER_REDIS",
                                        "BROBYGGER_LISTEN",
                                        "BROBYGGER_ADMIN_LISTEN",
                                        "BROBYGGER_THREADS",
                                        "BROBYGGER_QUEUES",
                                        "BROBYGGER_LOG",
                                        "BROBYGGER_REQUEST_TIMEOUT_MS",
                                        "BROBYGGER_VISIBILITY_MS",
                                        "BROBYGGER_MAX_ATTEMPTS",
                                        "BROBYGGER_MAX_BODY",
                                        "BROBYGGER_RATE_KEY",
                                        "BROBYGGER_RATE_KEY_BURST",
                                        "BROBYGGER_RATE_TENANT",
                                        "BROBYGGER_RATE_TENANT_BURST",
                                        "BROBYGGER_RATE_AUTH",
                                        "BROBYGGER_RATE_AUTH_BURST",
                                        "BROBYGGER_TRUSTED_PROXIES"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        unsetenv(names[i]);
}

static void test_defaults(void **state)
{
    (void)state;
    test_clear_env();
    bro_config c;
    bro_err err = {0};
    assert_int_equal(bro_config_load(&c, &err), 0);
    assert_string_equal(c.pg, "postgresql://brobygger_worker@127.0.0.1:5432/brobygger");
    assert_string_equal(c.redis, "redis://127.0.0.1:6379/0");
    assert_string_equal(c.listen, "127.0.0.1:8080");
    assert_string_equal(c.queues, "records,matching,notify,reports");
    assert_int_equal(c.log_level, BRO_LOG_INFO);
    assert_int_equal(c.max_body, 1048576);
    assert_int_equal(c.rate_key, 50);
    assert_int_equal(c.rate_key_burst, 100);
    assert_int_equal(c.rate_tenant, 200);
    assert_int_equal(c.rate_tenant_burst, 400);
    assert_int_equal(c.rate_auth, 50);
    assert_int_equal(c.rate_auth_burst, 500);
    assert_string_equal(c.trusted_proxies, "127.0.0.1");
    assert_true(c.threads >= 1);
}

static void test_errors_name_the_variable(void **state)
{
    (void)state;
    static const struct {
        const char *name, *value;
    } bad[] = {{"BROBYGGER_THREADS", "many"},      {"BROBYGGER_THREADS", "999"},
               {"BROBYGGER_LOG", "loud"},          {"BROBYGGER_MAX_ATTEMPTS", "0"},
               {"BROBYGGER_VISIBILITY_MS", "12x"}, {"BROBYGGER_MAX_BODY", "-1"},
               {"BROBYGGER_RATE_KEY", "-1"},       {"BROBYGGER_RATE_TENANT_BURST", "0"},
               {"BROBYGGER_RATE_AUTH", "fast"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        test_clear_env();
        setenv(bad[i].name, bad[i].value, 1);
        bro_config c;
        bro_err err = {0};
        assert_int_equal(bro_config_load(&c, &err), -1);
        assert_int_equal(err.code, BRO_E_CONFIG);
        assert_non_null(strstr(err.msg, bad[i].name));
    }
    test_clear_env();
    char longval[600];
    memset(longval, 'x', sizeof(longval) - 1);
    longval[sizeof(longval) - 1] = '\0';
    setenv("BROBYGGER_PG", longval, 1);
    bro_config c;
    bro_err err = {0};
    assert_int_equal(bro_config_load(&c, &err), -1);
    assert_non_null(strstr(err.msg, "BROBYGGER_PG"));
    test_clear_env();
}

static void test_addresses(void **state)
{
    (void)state;
    char host[64];
    int port, db;
    bro_err err = {0};
    assert_int_equal(
        bro_config_redis_url("redis://10.0.0.1:7000/3", host, sizeof(host), &port, &db, &err), 0);
    assert_string_equal(host, "10.0.0.1");
    assert_int_equal(port, 7000);
    assert_int_equal(db, 3);
    assert_int_equal(
        bro_config_redis_url("redis://localhost", host, sizeof(host), &port, &db, &err), 0);
    assert_int_equal(port, 6379);
    assert_int_equal(db, 0);
    assert_int_equal(bro_config_redis_url("http://x", host, sizeof(host), &port, &db, &err), -1);
    assert_int_equal(bro_config_redis_url("redis://x:99999", host, sizeof(host), &port, &db, &err),
                     -1);
    assert_int_equal(bro_config_hostport("127.0.0.1:8080", host, sizeof(host), &port, &err), 0);
    assert_int_equal(port, 8080);
    assert_int_equal(bro_config_hostport("nohost", host, sizeof(host), &port, &err), -1);
    assert_int_equal(bro_config_hostport(":80", host, sizeof(host), &port, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_errors_name_the_variable),
        cmocka_unit_test(test_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
