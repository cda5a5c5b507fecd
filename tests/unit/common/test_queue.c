/* Unit tests for common/queue.c against the real Redis named by BROBYGGER_REDIS (the test
 * command starts one). Each run uses its own queue names, so runs never see each other; a plain
 * hiredis connection looks at what the queue wrote (dead letters, consumers, heartbeats). */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "common/config.h"
#include "common/ids.h"
#include "common/queue.h"
#include "common/seal.h"

typedef struct test_ctx {
    char queue[BRO_QUEUE_NAME_MAX]; /* unique per test */
    bro_queue *a;                   /* consumer "a" */
    bro_queue *b;                   /* consumer "b", for reclaim */
} test_ctx;

static const char *test_redis_url(void)
{
    const char *url = getenv("BROBYGGER_REDIS");
    return url ? url : "redis://127.0.0.1:6379/0";
}

static int test_setup(void **state)
{
    static int counter;
    test_ctx *t = calloc(1, sizeof(*t));
    char id[BRO_UUID_LEN + 1];
    bro_ids_uuid7(id);
    snprintf(t->queue, sizeof(t->queue), "unit%d_%.12s", ++counter, id + 24);
    const char *queues[] = {t->queue};
    bro_queue_opts opts = {.visibility_ms = 150, .max_attempts = 3, .command_ms = 2000};
    bro_err err = {0};
    t->a = bro_queue_open(test_redis_url(), "a", queues, 1, &opts, &err);
    if (t->a == NULL)
        fail_msg("redis at %s: %s", test_redis_url(), err.msg);
    t->b = bro_queue_open(test_redis_url(), "b", queues, 1, &opts, &err);
    assert_non_null(t->b);
    *state = t;
    return 0;
}

/* A second pair of handles on the same queue with a long visibility timeout, so that only a
 * hand-back (not the timeout) can make an entry reclaimable during a test. */
static bro_queue *test_open(const test_ctx *t, const char *consumer, int visibility_ms,
                            const bro_seal_key *key)
{
    const char *queues[] = {t->queue};
    bro_queue_opts opts = {
        .visibility_ms = visibility_ms, .max_attempts = 3, .command_ms = 2000, .seal_key = key};
    bro_err err = {0};
    bro_queue *q = bro_queue_open(test_redis_url(), consumer, queues, 1, &opts, &err);
    if (q == NULL)
        fail_msg("redis: %s", err.msg);
    return q;
}

static redisContext *test_redis(void)
{
    char host[128];
    int port, db;
    bro_err err = {0};
    assert_int_equal(bro_config_redis_url(test_redis_url(), host, sizeof(host), &port, &db, &err),
                     0);
    redisContext *c = redisConnect(host, port);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    redisReply *r = redisCommand(c, "SELECT %d", db);
    freeReplyObject(r);
    return c;
}

/* The newest dead letter of the test's queue: its field array (caller frees the reply). */
static redisReply *test_last_dead(redisContext *c, const test_ctx *t, const redisReply **fields)
{
    redisReply *r = redisCommand(c, "XREVRANGE bro:dead:%s + - COUNT 1", t->queue);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    *fields = r->element[0]->element[1];
    return r;
}

/* The value of field name in a stream entry's field array, or NULL. */
static const redisReply *test_field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (strcmp(fields->element[i]->str, name) == 0)
            return fields->element[i + 1];
    return NULL;
}

static int test_has_consumer(redisContext *c, const test_ctx *t, const char *name)
{
    redisReply *r = redisCommand(c, "XINFO CONSUMERS bro:q:%s %s", t->queue, BRO_QUEUE_GROUP);
    assert_non_null(r);
    int found = 0;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        found |= strcmp(test_field(r->element[i], "name")->str, name) == 0;
    freeReplyObject(r);
    return found;
}

static int test_teardown(void **state)
{
    test_ctx *t = *state;
    bro_queue_free(t->a);
    bro_queue_free(t->b);
    free(t);
    return 0;
}

/* Reads from q until a message arrives or about 5 s pass. */
static int test_read_one(bro_queue *q, bro_queue_msg *m)
{
    for (int i = 0; i < 50; i++) {
        int n = 0;
        bro_err err = {0};
        assert_int_equal(bro_queue_read(q, 100, m, 1, &n, &err), 0);
        if (n == 1)
            return 1;
    }
    return 0;
}

static void test_enqueue_read_ack(void **state)
{
    test_ctx *t = *state;
    bro_err err = {0};
    const char payload[] = "a\0binary\xff payload";
    assert_int_equal(bro_queue_enqueue(t->a, t->queue, payload, sizeof(payload), &err), 0);
    bro_queue_msg m;
    assert_true(test_read_one(t->a, &m));
    assert_int_equal(m.len, sizeof(payload));
    assert_memory_equal(m.data, payload, sizeof(payload));
    assert_int_equal(m.deliveries, 1);
    assert_string_equal(m.queue, t->queue);
    assert_int_equal(bro_queue_ack(t->a, &m, &err), 0);
    bro_queue_msg_clear(&m);
    /* Acknowledged: neither consumer gets it again, even after the visibility timeout. */
    int n = 0;
    bro_queue_msg again[2];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(bro_queue_read(t->b, 100, again, 2, &n, &err), 0);
        assert_int_equal(n, 0);
    }
}

static void test_stale_job_is_reclaimed(void **state)
{
    test_ctx *t = *state;
    bro_err err = {0};
    assert_int_equal(bro_queue_enqueue(t->a, t->queue, "job", 3, &err), 0);
    bro_queue_msg m, m2;
    assert_true(test_read_one(t->a, &m)); /* taken by a, never acknowledged: a "died" */
    assert_true(test_read_one(t->b, &m2));
    assert_string_equal(m.stream_id, m2.stream_id);
    assert_int_equal(m2.deliveries, 2);
    assert_int_equal(bro_queue_ack(t->b, &m2, &err), 0);
    bro_queue_msg_clear(&m);
    bro_queue_msg_clear(&m2);
}

static void test_touched_job_is_not_reclaimed(void **state)
{
    test_ctx *t = *state;
    bro_err err = {0};
    assert_int_equal(bro_queue_enqueue(t->a, t->queue, "long", 4, &err), 0);
    bro_queue_msg m, m2;
    assert_true(test_read_one(t->a, &m));
    /* a keeps working for four visibility timeouts, touching as it goes: b never gets it. */
    for (int i = 0; i < 12; i++) {
        assert_int_equal(bro_queue_touch(t->a, &m, &err), 0);
        int n = 0;
        assert_int_equal(bro_queue_read(t->b, 50, &m2, 1, &n, &err), 0);
        assert_int_equal(n, 0);
    }
    /* Once a stops touching it, it is reclaimed, and the touches did not count as deliveries. */
    assert_true(test_read_one(t->b, &m2));
    assert_string_equal(m.stream_id, m2.stream_id);
    assert_int_equal(m2.deliveries, 2);
    assert_int_equal(bro_queue_ack(t->b, &m2, &err), 0);
    bro_queue_msg_clear(&m);
    bro_queue_msg_clear(&m2);
}

static void test_retry_comes_back_after_delay(void **state)
{
    test_ctx *t = *state;
    bro_err err = {0};
    assert_int_equal(bro_queue_enqueue(t->a, t->queue, "v1", 2, &err), 0);
    bro_queue_msg m;
    assert_true(test_read_one(t->a, &m));
    int64_t before = bro_ids_now_ms();
    assert_int_equal(bro_queue_retry(t->a, &m, "v2", 2, 300, &err), 0);
    bro_queue_msg_clear(&m);
    assert_true(test_read_one(t->a, &m));
    assert_true(bro_ids_now_ms() - before >= 300);
    assert_int_equal(m.len, 2);
    assert_memory_equal(m.data, "v2", 2);
    assert_int_equal(bro_queue_ack(t->a, &m, &err), 0);
    bro_queue_msg_clear(&m);
}

static void test_dead_letter_leaves_the_queue(void **state)
{
    test_ctx *t = *state;
    bro_err err = {0};
    assert_int_equal(bro_queue_enqueue(t->a, t->queue, "bad", 3, &err), 0);
    bro_queue_msg m;
    assert_true(test_read_one(t->a, &m));
    assert_int_equal(bro_queue_dead(t->a, &m, NULL, 1, "decode: not msgpack", &err), 0);
    bro_queue_msg_clear(&m);
    int n = 0;
    bro_queue_msg again[1];
    for (int i = 0; i < 4; i++) { /* past the visibility timeout: nothing pending remains */
        assert_int_equal(bro_queue_read(t->b, 100, again, 1, &n, &err), 0);
        assert_int_equal(n, 0);
    }
}

static void test_undecodable_dead_letter_keeps_size_and_error_only(void **state)
{
    test_ctx *t = *state;
    bro_err err = {0};
    assert_int_equal(bro_queue_enqueue(t->a, t->queue, "\xc1MARKER", 7, &err), 0);
    bro_queue_msg m;
    assert_true(test_read_one(t->a, &m));
    assert_int_equal(bro_queue_dead(t->a, &m, NULL, 1, "decode: not msgpack", &err), 0);
    bro_queue_msg_clear(&m);
    redisContext *c = test_redis();
    const redisReply *f;
    redisReply *r = test_last_dead(c, t, &f);
    assert_string_equal(test_field(f, "error")->str, "decode: not msgpack");
    assert_string_equal(test_field(f, "size")->str, "7");
    assert_string_equal(test_field(f, "attempts")->str, "1");
    assert_string_equal(test_field(f, "queue")->str, t->queue);
    assert_non_null(test_field(f, "at"));
    assert_non_null(test_field(f, "stream_id"));
    static const char *const absent[] = {"e", "sealed", "kind", "tenant", "job", "req"};
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
        assert_null(test_field(f, absent[i]));
    freeReplyObject(r);
    redisFree(c);
}

static void test_dead_letter_seals_the_body_under_the_key(void **state)
{
    test_ctx *t = *state;
    bro_seal_key key;
    bro_err err = {0};
    assert_int_equal(
        bro_seal_key_parse(&key, "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
                           "K", &err),
        0);
    bro_queue *sealer = test_open(t, "sealer", 150, &key);
    const char body[] = "envelope with MARKER inside";
    assert_int_equal(bro_queue_enqueue(sealer, t->queue, body, sizeof(body), &err), 0);
    bro_queue_msg m;
    assert_true(test_read_one(sealer, &m));
    bro_queue_dead_info info = {"candidate.create", "ringerike", "job-1", "req-1"};
    assert_int_equal(bro_queue_dead(sealer, &m, &info, 5, "the job failed", &err), 0);
    bro_queue_msg_clear(&m);
    redisContext *c = test_redis();
    const redisReply *f;
    redisReply *r = test_last_dead(c, t, &f);
    assert_string_equal(test_field(f, "kind")->str, "candidate.create");
    assert_string_equal(test_field(f, "tenant")->str, "ringerike");
    assert_string_equal(test_field(f, "job")->str, "job-1");
    assert_string_equal(test_field(f, "req")->str, "req-1");
    assert_string_equal(test_field(f, "attempts")->str, "5");
    assert_string_equal(test_field(f, "key")->str, key.id);
    assert_null(test_field(f, "e"));
    for (size_t i = 1; i < f->elements; i += 2)
        assert_null(memmem(f->element[i]->str, f->element[i]->len, "MARKER", 6));
    const redisReply *sealed = test_field(f, "sealed");
    char aad[128];
    bro_queue_dead_aad(t->queue, "ringerike", "job-1", aad, sizeof(aad));
    unsigned char *plain = NULL;
    size_t len = 0;
    assert_int_equal(
        bro_seal_open(&key, aad, strlen(aad), sealed->str, sealed->len, &plain, &len, &err), 0);
    assert_int_equal(len, sizeof(body));
    assert_memory_equal(plain, body, sizeof(body));
    free(plain);
    /* Bound to its job: the same blob does not open as another tenant's. */
    bro_queue_dead_aad(t->queue, "other", "job-1", aad, sizeof(aad));
    assert_int_equal(
        bro_seal_open(&key, aad, strlen(aad), sealed->str, sealed->len, &plain, &len, &err), -1);
    freeReplyObject(r);
    redisFree(c);
    bro_queue_free(sealer);
    bro_seal_key_wipe(&key);
}

static void test_dead_letter_without_key_keeps_no_body(void **state)
{
    test_ctx *t = *state;
    bro_err err = {0};
    assert_int_equal(bro_queue_enqueue(t->a, t->queue, "MARKER", 6, &err), 0);
    bro_queue_msg m;
    assert_true(test_read_one(t->a, &m));
    bro_queue_dead_info info = {"candidate.get", "", "job-2", "req-2"};
    assert_int_equal(bro_queue_dead(t->a, &m, &info, 2, "unknown job kind", &err), 0);
    bro_queue_msg_clear(&m);
    redisContext *c = test_redis();
    const redisReply *f;
    redisReply *r = test_last_dead(c, t, &f);
    assert_string_equal(test_field(f, "kind")->str, "candidate.get");
    assert_string_equal(test_field(f, "size")->str, "6");
    assert_null(test_field(f, "sealed"));
    assert_null(test_field(f, "e"));
    freeReplyObject(r);
    /* Old dead letters go: nothing here is older than an hour, everything is older than -1 s. */
    assert_int_equal(bro_queue_expire_dead(t->a, 3600000, &err), 0);
    r = redisCommand(c, "XLEN bro:dead:%s", t->queue);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    assert_int_equal(bro_queue_expire_dead(t->a, -1000, &err), 0);
    r = redisCommand(c, "XLEN bro:dead:%s", t->queue);
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
    redisFree(c);
}

static void test_leave_hands_back_then_tidy_removes_the_consumer(void **state)
{
    test_ctx *t = *state;
    bro_err err = {0};
    bro_queue *leaver = test_open(t, "leaver", 60000, NULL);
    bro_queue *stayer = test_open(t, "stayer", 60000, NULL);
    assert_int_equal(bro_queue_heartbeat(leaver, "{}", 60000, &err), 0);
    assert_int_equal(bro_queue_heartbeat(stayer, "{}", 60000, &err), 0);
    assert_int_equal(bro_queue_enqueue(leaver, t->queue, "held", 4, &err), 0);
    bro_queue_msg m, m2;
    assert_true(test_read_one(leaver, &m));
    int handed = -1;
    assert_int_equal(bro_queue_leave(leaver, &handed, &err), 0);
    assert_int_equal(handed, 1);
    redisContext *c = test_redis();
    redisReply *r = redisCommand(c, "EXISTS bro:worker:leaver");
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
    r = redisCommand(c, "ZSCORE bro:workers leaver");
    assert_int_equal(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    /* Still pending for it, so its consumer stays and the tidy keeps it... */
    assert_true(test_has_consumer(c, t, "leaver"));
    int removed = -1;
    assert_int_equal(bro_queue_tidy(stayer, &removed, &err), 0);
    assert_true(test_has_consumer(c, t, "leaver"));
    /* ...but another worker takes it over at once, long before the visibility timeout. */
    assert_true(test_read_one(stayer, &m2));
    assert_string_equal(m2.stream_id, m.stream_id);
    assert_int_equal(m2.deliveries, 2);
    assert_int_equal(bro_queue_ack(stayer, &m2, &err), 0);
    assert_int_equal(bro_queue_tidy(stayer, &removed, &err), 0);
    assert_false(test_has_consumer(c, t, "leaver"));
    assert_true(test_has_consumer(c, t, "stayer")); /* it has a heartbeat */
    /* Leaving with nothing pending deletes the consumer at once. */
    assert_int_equal(bro_queue_leave(stayer, &handed, &err), 0);
    assert_int_equal(handed, 0);
    assert_false(test_has_consumer(c, t, "stayer"));
    redisFree(c);
    bro_queue_msg_clear(&m);
    bro_queue_msg_clear(&m2);
    bro_queue_free(leaver);
    bro_queue_free(stayer);
}

/* Waits until Redis runs no AOF rewrite. */
static void test_rewrite_idle(bro_queue *q)
{
    for (int i = 0; i < 200; i++) {
        int running = 1, failed = 0, preamble = 0;
        bro_err err = {0};
        assert_int_equal(bro_queue_rewrite_state(q, &running, &failed, &preamble, &err), 0);
        if (!running)
            return;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    fail_msg("an AOF rewrite ran for more than 10 s");
}

static void test_rewrite_request_period_and_turns(void **state)
{
    test_ctx *t = *state;
    bro_err err = {0};
    redisContext *c = test_redis();
    freeReplyObject(redisCommand(c, "DEL bro:aof:requested bro:aof:rewrite"));
    bro_queue_rewrite_kind what = -1;
    assert_int_equal(bro_queue_rewrite(t->a, 0, 0, &what, &err), 0);
    assert_int_equal(what, BRO_QUEUE_REWRITE_NONE); /* nothing asked, no period */
    assert_int_equal(bro_queue_request_rewrite(t->a, &err), 0);
    redisReply *first = redisCommand(c, "GET bro:aof:requested");
    assert_int_equal(first->type, REDIS_REPLY_STRING);
    assert_int_equal(bro_queue_request_rewrite(t->b, &err), 0); /* the earlier one stays */
    redisReply *second = redisCommand(c, "GET bro:aof:requested");
    assert_string_equal(first->str, second->str);
    freeReplyObject(first);
    freeReplyObject(second);
    assert_int_equal(bro_queue_rewrite(t->a, 0, 600000, &what, &err), 0);
    assert_int_equal(what, BRO_QUEUE_REWRITE_NONE); /* not due yet */
    test_rewrite_idle(t->a);
    assert_int_equal(bro_queue_rewrite(t->a, 0, 0, &what, &err), 0);
    assert_int_equal(what, BRO_QUEUE_REWRITE_REQUESTED);
    redisReply *r = redisCommand(c, "EXISTS bro:aof:requested");
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
    /* The period: one consumer gets the turn, the other does not within the period. */
    test_rewrite_idle(t->a);
    assert_int_equal(bro_queue_rewrite(t->a, 600000, 0, &what, &err), 0);
    assert_int_equal(what, BRO_QUEUE_REWRITE_PERIODIC);
    test_rewrite_idle(t->a);
    assert_int_equal(bro_queue_rewrite(t->b, 600000, 0, &what, &err), 0);
    assert_int_equal(what, BRO_QUEUE_REWRITE_NONE);
    int running = 1, failed = 1, preamble = -2;
    assert_int_equal(bro_queue_rewrite_state(t->a, &running, &failed, &preamble, &err), 0);
    assert_int_equal(failed, 0);
    assert_true(preamble == 0 || preamble == 1);
    freeReplyObject(redisCommand(c, "DEL bro:aof:requested bro:aof:rewrite"));
    redisFree(c);
}

static void test_backoff_grows_with_jitter_and_cap(void **state)
{
    (void)state;
    for (int i = 0; i < 200; i++) {
        int64_t d1 = bro_queue_backoff_ms(1, 100), d4 = bro_queue_backoff_ms(4, 100);
        assert_true(d1 >= 50 && d1 <= 100);
        assert_true(d4 >= 50 && d4 <= 800);
        assert_true(bro_queue_backoff_ms(40, 1000) <= 60000);
    }
}

static void test_msg_clear_is_safe_twice(void **state)
{
    (void)state;
    bro_queue_msg m = {0};
    bro_queue_msg_clear(&m);
    bro_queue_msg_clear(&m);
    bro_queue_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enqueue_read_ack, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_stale_job_is_reclaimed, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_touched_job_is_not_reclaimed, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_retry_comes_back_after_delay, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_dead_letter_leaves_the_queue, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_undecodable_dead_letter_keeps_size_and_error_only,
                                        test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_dead_letter_seals_the_body_under_the_key, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_dead_letter_without_key_keeps_no_body, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_leave_hands_back_then_tidy_removes_the_consumer,
                                        test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_rewrite_request_period_and_turns, test_setup,
                                        test_teardown),
        cmocka_unit_test(test_backoff_grows_with_jitter_and_cap),
        cmocka_unit_test(test_msg_clear_is_safe_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
