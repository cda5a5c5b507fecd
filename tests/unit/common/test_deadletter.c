/* Unit tests for common/deadletter.c's retry against the real Redis the test command starts
 * (BROBYGGER_REDIS's server, database 5, which no other test uses and this one empties): two
 * retries of one dead letter, both prepared before either requeues, put the job back once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "common/config.h"
#include "common/deadletter.h"
#include "common/envelope.h"
#include "common/ids.h"
#include "common/queue.h"
#include "common/seal.h"

#define TEST_DB 5

static redisContext *test_redis(char *url, size_t n)
{
    const char *base = getenv("BROBYGGER_REDIS");
    char host[128];
    int port, db;
    bro_err err = {0};
    assert_int_equal(bro_config_redis_url(base ? base : "redis://127.0.0.1:6379/0", host,
                                          sizeof(host), &port, &db, &err),
                     0);
    snprintf(url, n, "redis://%s:%d/%d", host, port, TEST_DB);
    redisContext *c = redisConnect(host, port);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    freeReplyObject(redisCommand(c, "SELECT %d", TEST_DB));
    freeReplyObject(redisCommand(c, "FLUSHDB"));
    return c;
}

static long long test_xlen(redisContext *c, const char *key)
{
    redisReply *r = redisCommand(c, "XLEN %s", key);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

/* A sealed dead letter of a reports job; its id in id. */
static void test_make_dead(bro_queue *q, redisContext *c, char id[BRO_DEADLETTER_ID_MAX])
{
    bro_envelope e = {.v = BRO_ENVELOPE_VERSION,
                      .kind = "report.run",
                      .tenant = "ringerike",
                      .deadline = bro_ids_now_ms() + 60000,
                      .attempt = 5,
                      .req = "req-1"};
    bro_ids_uuid7(e.id);
    msgpack_sbuffer body, env;
    msgpack_sbuffer_init(&body);
    msgpack_sbuffer_init(&env);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 0);
    bro_err err = {0};
    assert_int_equal(bro_envelope_pack(&env, &e, body.data, body.size, &err), 0);
    assert_int_equal(bro_queue_enqueue(q, BRO_QUEUE_REPORTS, env.data, env.size, &err), 0);
    bro_queue_msg m;
    int n = 0;
    assert_int_equal(bro_queue_read(q, 1000, &m, 1, &n, &err), 0);
    assert_int_equal(n, 1);
    bro_queue_dead_info info = {e.kind, e.tenant, e.id, e.req};
    assert_int_equal(bro_queue_dead(q, &m, &info, 5, "the job failed", &err), 0);
    bro_queue_msg_clear(&m);
    redisReply *r = redisCommand(c, "XREVRANGE bro:dead:%s + - COUNT 1", BRO_QUEUE_REPORTS);
    assert_int_equal(r->elements, 1);
    snprintf(id, BRO_DEADLETTER_ID_MAX, "%s:%s", BRO_QUEUE_REPORTS, r->element[0]->element[0]->str);
    freeReplyObject(r);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&env);
}

static void test_two_retries_prepared_at_once_put_the_job_back_once(void **state)
{
    (void)state;
    char url[192], id[BRO_DEADLETTER_ID_MAX], stream[BRO_QUEUE_NAME_MAX + 8];
    redisContext *c = test_redis(url, sizeof(url));
    bro_seal_key key;
    bro_err err = {0};
    assert_int_equal(
        bro_seal_key_parse(&key, "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
                           "K", &err),
        0);
    const char *queues[] = {BRO_QUEUE_REPORTS};
    bro_queue_opts opts = {
        .visibility_ms = 30000, .max_attempts = 3, .command_ms = 2000, .seal_key = &key};
    bro_queue *q = bro_queue_open(url, "unit-dead", queues, 1, &opts, &err);
    if (q == NULL)
        fail_msg("redis at %s: %s", url, err.msg);
    test_make_dead(q, c, id);
    bro_queue_stream_key(BRO_QUEUE_REPORTS, stream, sizeof(stream));
    long long before = test_xlen(c, stream);
    /* Two operators' retries, both past their read of the dead letter. */
    bro_deadletter_prepared a, b;
    assert_int_equal(bro_deadletter_prepare(q, id, bro_ids_now_ms() + 60000, &a, &err), 0);
    assert_int_equal(bro_deadletter_prepare(q, id, bro_ids_now_ms() + 60000, &b, &err), 0);
    assert_string_equal(a.info.kind, "report.run");
    bro_deadletter_retried out = {0};
    assert_int_equal(bro_deadletter_requeue(q, &a, &out, &err), 0);
    assert_string_equal(out.queue, BRO_QUEUE_REPORTS);
    assert_string_equal(out.tenant, "ringerike");
    err = (bro_err){0};
    assert_int_equal(bro_deadletter_requeue(q, &b, &out, &err), -1);
    assert_int_equal(err.code, BRO_E_NOT_FOUND);
    assert_int_equal(test_xlen(c, stream) - before, 1); /* the job is back once */
    assert_int_equal(test_xlen(c, "bro:dead:reports"), 0);
    bro_deadletter_prepared_free(&a);
    bro_deadletter_prepared_free(&b);
    bro_deadletter_prepared_free(&b); /* twice is harmless */
    bro_queue_free(q);
    freeReplyObject(redisCommand(c, "FLUSHDB"));
    redisFree(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_retries_prepared_at_once_put_the_job_back_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
