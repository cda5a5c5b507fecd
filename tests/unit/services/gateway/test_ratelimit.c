/* Unit tests for services/gateway/ratelimit.c: the cells a post goes through, the command the
 * script receives, the reading of its answer, the headers and the 429. The file is included to
 * reach its statics; the HTTP layer and hiredis's send are replaced by recorders below. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "services/gateway/ratelimit.c"

/* ---- what the module sent out ---------------------------------------------------------------- */

static struct {
    char headers[8][2][200]; /* name, value */
    int nheaders;
    int status;
    char detail[200];
    char peer[64];         /* "" : no peer */
    const char *forwarded; /* X-Forwarded-For, or NULL */
    char argv[24][200];    /* the last command */
    int argc;
} test_out;

void bro_http_add_header(bro_gw_req *r, const char *name, const char *value)
{
    snprintf(test_out.headers[test_out.nheaders][0], 200, "%s", name);
    snprintf(test_out.headers[test_out.nheaders][1], 200, "%s", value);
    test_out.nheaders++;
}

const char *bro_http_last_header(bro_gw_req *r, const char *name)
{
    return strcmp(name, "X-Forwarded-For") == 0 ? test_out.forwarded : NULL;
}

int bro_http_peer_addr(bro_gw_req *r, char *out, size_t n)
{
    if (test_out.peer[0] == '\0')
        return -1;
    snprintf(out, n, "%s", test_out.peer);
    return 0;
}

void bro_http_problem(bro_gw_req *r, const char *word, const char *detail, const char *field)
{
    test_out.status = bro_err_http_status(bro_err_from_word(word));
    snprintf(test_out.detail, sizeof(test_out.detail), "%s", detail);
}

int redisAsyncCommandArgv(redisAsyncContext *ac, redisCallbackFn *fn, void *privdata, int argc,
                          const char **argv, const size_t *argvlen)
{
    test_out.argc = argc;
    for (int i = 0; i < argc && i < 24; i++)
        snprintf(test_out.argv[i], 200, "%.*s", (int)(argvlen[i] < 199 ? argvlen[i] : 199),
                 argv[i]);
    return REDIS_OK;
}

static const char *test_header(const char *name)
{
    for (int i = 0; i < test_out.nheaders; i++)
        if (strcmp(test_out.headers[i][0], name) == 0)
            return test_out.headers[i][1];
    return NULL;
}

/* ---- a request of a gateway thread ---------------------------------------------------------- */

static bro_config test_cfg;
static bro_metrics test_metrics;
static bro_gw test_gw;
static bro_gw_req test_r;

static int test_setup(void **state)
{
    memset(&test_out, 0, sizeof(test_out));
    memset(&test_cfg, 0, sizeof(test_cfg));
    memset(&test_metrics, 0, sizeof(test_metrics));
    memset(&test_gw, 0, sizeof(test_gw));
    memset(&test_r, 0, sizeof(test_r));
    test_cfg.rate_key = 50, test_cfg.rate_key_burst = 100;
    test_cfg.rate_tenant = 200, test_cfg.rate_tenant_burst = 400;
    test_cfg.rate_auth = 50, test_cfg.rate_auth_burst = 500;
    test_gw.cfg = &test_cfg;
    test_gw.metrics = &test_metrics;
    test_gw.cmd = (redisAsyncContext *)&test_gw; /* never used: the send is recorded */
    test_r.gw = &test_gw;
    snprintf(test_r.key.id, sizeof(test_r.key.id), "AbCd1234");
    snprintf(test_r.key.tenant, sizeof(test_r.key.tenant), "ringerike");
    snprintf(test_out.peer, sizeof(test_out.peer), "192.0.2.10");
    assert_int_equal(bro_ratelimit_init(&test_gw), 0);
    return 0;
}

/* A reply of the script: {verdict, id or wait, then left and reset per cell}. */
static redisReply *test_reply(long long verdict, const char *id, long long wait, int ncells,
                              const long long *pairs)
{
    redisReply *rep = calloc(1, sizeof(*rep));
    rep->type = REDIS_REPLY_ARRAY;
    rep->elements = (size_t)(2 + 2 * ncells);
    rep->element = calloc(rep->elements, sizeof(*rep->element));
    for (size_t i = 0; i < rep->elements; i++) {
        rep->element[i] = calloc(1, sizeof(redisReply));
        rep->element[i]->type = REDIS_REPLY_INTEGER;
        rep->element[i]->integer = i >= 2 ? pairs[i - 2] : 0;
    }
    rep->element[0]->integer = verdict;
    if (id) {
        rep->element[1]->type = REDIS_REPLY_STRING;
        rep->element[1]->str = (char *)id;
        rep->element[1]->len = strlen(id);
    } else {
        rep->element[1]->integer = wait;
    }
    return rep;
}

static void test_reply_free(redisReply *rep)
{
    for (size_t i = 0; i < rep->elements; i++)
        free(rep->element[i]);
    free(rep->element);
    free(rep);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_a_job_goes_through_key_and_tenant(void **state)
{
    assert_int_equal(bro_ratelimit_prepare(&test_r), 2);
    assert_string_equal(test_r.rl.cell[0], "bro:rl:k:AbCd1234");
    assert_string_equal(test_r.rl.cell[1], "bro:rl:t:ringerike");
    assert_int_equal(bro_ratelimit_send(&test_r, 0, "bro:q:records", "ENV", 3, NULL, NULL), 0);
    const char *const want[] = {"EVALSHA",
                                test_gw.rl_sha,
                                "3",
                                "bro:rl:k:AbCd1234",
                                "bro:rl:t:ringerike",
                                "bro:q:records",
                                "20000",
                                "100",
                                "5000",
                                "400",
                                "ENV"};
    assert_int_equal(test_out.argc, 11);
    for (int i = 0; i < 11; i++)
        assert_string_equal(test_out.argv[i], want[i]);
    assert_int_equal(strlen(test_gw.rl_sha), 40);
    assert_int_equal(bro_ratelimit_send(&test_r, 1, "bro:q:records", "ENV", 3, NULL, NULL), 0);
    assert_string_equal(test_out.argv[0], "EVAL");
    assert_non_null(strstr(test_out.argv[1], "redis.call('TIME')"));
}

static void test_limits_that_are_off_or_do_not_apply_are_left_out(void **state)
{
    test_r.key.tenant[0] = '\0'; /* a platform key */
    assert_int_equal(bro_ratelimit_prepare(&test_r), 1);
    assert_int_equal(test_r.rl.kind[0], BRO_RL_KEY);
    snprintf(test_r.key.tenant, sizeof(test_r.key.tenant), "ringerike");
    test_cfg.rate_key = 0;
    assert_int_equal(bro_ratelimit_prepare(&test_r), 1);
    assert_int_equal(test_r.rl.kind[0], BRO_RL_TENANT);
    test_cfg.rate_tenant = 0;
    assert_int_equal(bro_ratelimit_prepare(&test_r), 0);
    test_r.waiting_auth = 1;
    test_cfg.rate_auth = 0;
    assert_int_equal(bro_ratelimit_prepare(&test_r), 0);
}

static void test_a_key_check_counts_for_the_client_address(void **state)
{
    test_r.waiting_auth = 1;
    assert_int_equal(bro_ratelimit_prepare(&test_r), 1);
    assert_int_equal(test_r.rl.kind[0], BRO_RL_ADDR);
    char direct[BRO_RL_CELL];
    snprintf(direct, sizeof(direct), "%s", test_r.rl.cell[0]);
    assert_int_equal(strlen(direct), strlen("bro:rl:a:") + BRO_RL_ADDR_HEX);
    assert_null(strstr(direct, "192.0.2.10")); /* no address in Redis */
    /* An untrusted peer's X-Forwarded-For changes nothing. */
    test_out.forwarded = "198.51.100.7";
    assert_int_equal(bro_ratelimit_prepare(&test_r), 1);
    assert_string_equal(test_r.rl.cell[0], direct);
    /* A trusted proxy's last entry is the client; a malformed one leaves the proxy's own. */
    snprintf(test_cfg.trusted_proxies, sizeof(test_cfg.trusted_proxies), "10.0.0.1, 192.0.2.10");
    char out[64];
    test_out.forwarded = "203.0.113.5, 198.51.100.7 ";
    bro_rl_client(&test_r, out, sizeof(out));
    assert_string_equal(out, "198.51.100.7");
    test_out.forwarded = "198.51.100.7, not-an-address";
    bro_rl_client(&test_r, out, sizeof(out));
    assert_string_equal(out, "192.0.2.10");
    test_out.peer[0] = '\0';
    bro_rl_client(&test_r, out, sizeof(out));
    assert_string_equal(out, "unknown");
}

static void test_ipv6_counts_per_64(void **state)
{
    char a[BRO_RL_CELL], b[BRO_RL_CELL], c[BRO_RL_CELL];
    bro_rl_addr_cell("2001:db8:1:2::1", a, sizeof(a));
    bro_rl_addr_cell("2001:db8:1:2:ffff::9", b, sizeof(b));
    bro_rl_addr_cell("2001:0db8:0001:0002:0000:0000:0000:0001", c, sizeof(c));
    assert_string_equal(a, b);
    assert_string_equal(a, c);
}

static void test_bad_trusted_proxies_stop_the_start(void **state)
{
    snprintf(test_cfg.trusted_proxies, sizeof(test_cfg.trusted_proxies), "10.0.0.1,nginx");
    assert_int_equal(bro_ratelimit_init(&test_gw), -1);
    snprintf(test_cfg.trusted_proxies, sizeof(test_cfg.trusted_proxies), " ::1 ,, 10.0.0.1 ");
    assert_int_equal(bro_ratelimit_init(&test_gw), 0);
}

static void test_a_passed_post_gives_both_headers(void **state)
{
    test_cfg.rate_key = 2, test_cfg.rate_key_burst = 5; /* refilled in 2.5 s: w=3 */
    assert_int_equal(bro_ratelimit_prepare(&test_r), 2);
    static const long long pairs[] = {4, 500, 399, 5};
    redisReply *rep = test_reply(0, "1-0", 0, 2, pairs);
    assert_int_equal(bro_ratelimit_verdict(&test_r, rep), 0);
    test_reply_free(rep);
    bro_ratelimit_headers(&test_r);
    assert_string_equal(test_header("RateLimit-Policy"), "\"key\";q=5;w=3, \"tenant\";q=400;w=2");
    assert_string_equal(test_header("RateLimit"), "\"key\";r=4;t=1, \"tenant\";r=399;t=1");
    assert_null(test_header("Retry-After"));
}

static void test_a_refused_post_is_a_429_naming_the_limit(void **state)
{
    assert_int_equal(bro_ratelimit_prepare(&test_r), 2);
    static const long long pairs[] = {7, 1500, 0, 2000};
    redisReply *rep = test_reply(2, NULL, 1001, 2, pairs);
    assert_int_equal(bro_ratelimit_verdict(&test_r, rep), 1);
    test_reply_free(rep);
    bro_ratelimit_refuse(&test_r);
    assert_int_equal(test_out.status, 429);
    assert_non_null(strstr(test_out.detail, "(limit: tenant)"));
    assert_string_equal(test_header("Retry-After"), "2"); /* 1.001 s, rounded up */
    assert_string_equal(test_header("RateLimit"), "\"tenant\";r=0;t=2");
    assert_int_equal(test_metrics.rate_limited[BRO_RL_TENANT], 1);
    assert_int_equal(test_metrics.rate_limited[BRO_RL_KEY], 0);
}

static void test_retry_after_is_at_least_one_second(void **state)
{
    test_r.waiting_auth = 1;
    assert_int_equal(bro_ratelimit_prepare(&test_r), 1);
    static const long long pairs[] = {0, 9000};
    redisReply *rep = test_reply(1, NULL, 1, 1, pairs);
    assert_int_equal(bro_ratelimit_verdict(&test_r, rep), 1);
    test_reply_free(rep);
    bro_ratelimit_refuse(&test_r);
    assert_string_equal(test_header("Retry-After"), "1");
    assert_string_equal(test_header("RateLimit-Policy"), "\"address\";q=500;w=10");
    assert_string_equal(test_header("RateLimit"), "\"address\";r=0;t=1");
    assert_non_null(strstr(test_out.detail, "(limit: address)"));
}

static void test_answers_that_are_not_the_scripts_are_refused(void **state)
{
    assert_int_equal(bro_ratelimit_prepare(&test_r), 2);
    static const long long pairs[] = {1, 1, 1, 1};
    redisReply *rep = test_reply(0, "1-0", 0, 1, pairs); /* one cell short */
    assert_int_equal(bro_ratelimit_verdict(&test_r, rep), -1);
    test_reply_free(rep);
    rep = test_reply(3, NULL, 5, 2, pairs); /* refused by a cell it was not given */
    assert_int_equal(bro_ratelimit_verdict(&test_r, rep), -1);
    test_reply_free(rep);
    rep = test_reply(0, NULL, 5, 2, pairs); /* posted, but no stream id */
    assert_int_equal(bro_ratelimit_verdict(&test_r, rep), -1);
    test_reply_free(rep);
    redisReply err = {.type = REDIS_REPLY_ERROR, .str = "ERR", .len = 3};
    assert_int_equal(bro_ratelimit_verdict(&test_r, &err), -1);
    assert_int_equal(test_r.rl.answered, 0);
    bro_ratelimit_headers(&test_r); /* nothing known: no headers */
    assert_int_equal(test_out.nheaders, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_a_job_goes_through_key_and_tenant, test_setup),
        cmocka_unit_test_setup(test_limits_that_are_off_or_do_not_apply_are_left_out, test_setup),
        cmocka_unit_test_setup(test_a_key_check_counts_for_the_client_address, test_setup),
        cmocka_unit_test_setup(test_ipv6_counts_per_64, test_setup),
        cmocka_unit_test_setup(test_bad_trusted_proxies_stop_the_start, test_setup),
        cmocka_unit_test_setup(test_a_passed_post_gives_both_headers, test_setup),
        cmocka_unit_test_setup(test_a_refused_post_is_a_429_naming_the_limit, test_setup),
        cmocka_unit_test_setup(test_retry_after_is_at_least_one_second, test_setup),
        cmocka_unit_test_setup(test_answers_that_are_not_the_scripts_are_refused, test_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
