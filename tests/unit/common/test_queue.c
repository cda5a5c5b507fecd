/* Unit tests for common/queue.c against the real Redis named by BROBYGGER_REDIS (the test
 * command starts one). Each run uses its own queue names, so runs never see each other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/ids.h"
#include "common/queue.h"

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
    assert_int_equal(bro_queue_dead(t->a, &m, "decode: not msgpack", &err), 0);
    bro_queue_msg_clear(&m);
    int n = 0;
    bro_queue_msg again[1];
    for (int i = 0; i < 4; i++) { /* past the visibility timeout: nothing pending remains */
        assert_int_equal(bro_queue_read(t->b, 100, again, 1, &n, &err), 0);
        assert_int_equal(n, 0);
    }
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
        cmocka_unit_test(test_backoff_grows_with_jitter_and_cap),
        cmocka_unit_test(test_msg_clear_is_safe_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
