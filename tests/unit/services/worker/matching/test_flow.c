/* The solver on hand-checked instances: the best total, not the greedy one; capacities; ties;
 * arcs that lose are never chosen; bad input refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "matching/flow.h"

static int64_t solve(int nl, int nr, const int32_t *cap, const bro_flow_arc *a, size_t n,
                     unsigned char *chosen)
{
    int64_t total = -1;
    char err[128];
    assert_int_equal(bro_flow_assign(nl, nr, cap, a, n, chosen, &total, err), 0);
    return total;
}

/* Greedy takes 0-0 (10) and leaves 1 alone; the optimum is 0-1 + 1-0 = 9 + 8. */
static void test_beats_greedy(void **state)
{
    int32_t cap[] = {1, 1};
    bro_flow_arc a[] = {{0, 0, 10}, {0, 1, 9}, {1, 0, 8}};
    unsigned char c[3];
    assert_int_equal(solve(2, 2, cap, a, 3, c), 17);
    assert_int_equal(c[0], 0);
    assert_int_equal(c[1], 1);
    assert_int_equal(c[2], 1);
}

/* One opening with room for two takes the two best of three candidates. */
static void test_capacity(void **state)
{
    int32_t cap[] = {2};
    bro_flow_arc a[] = {{0, 0, 5}, {1, 0, 7}, {2, 0, 6}};
    unsigned char c[3];
    assert_int_equal(solve(3, 1, cap, a, 3, c), 13);
    assert_int_equal(c[0], 0);
    assert_int_equal(c[1] + c[2], 2);
}

/* A full opening (capacity 0) takes nobody; a losing arc is left out. */
static void test_full_and_losing(void **state)
{
    int32_t cap[] = {0, 1};
    bro_flow_arc a[] = {{0, 0, 50}, {0, 1, -3}, {1, 1, 0}};
    unsigned char c[3];
    assert_int_equal(solve(2, 2, cap, a, 3, c), 0);
    assert_int_equal(c[0], 0);
    assert_int_equal(c[1], 0);
}

/* Two equal candidates for one place: exactly one is chosen. */
static void test_tie(void **state)
{
    int32_t cap[] = {1};
    bro_flow_arc a[] = {{0, 0, 4}, {1, 0, 4}};
    unsigned char c[2];
    assert_int_equal(solve(2, 1, cap, a, 2, c), 4);
    assert_int_equal(c[0] + c[1], 1);
}

static void test_empty_and_bad(void **state)
{
    int64_t total = 1;
    char err[128];
    assert_int_equal(bro_flow_assign(0, 0, NULL, NULL, 0, NULL, &total, err), 0);
    assert_int_equal(total, 0);
    int32_t cap[] = {1};
    bro_flow_arc bad[] = {{0, 3, 1}};
    unsigned char c[1];
    assert_int_equal(bro_flow_assign(1, 1, cap, bad, 1, c, &total, err), -1);
    assert_non_null(err[0] ? err : NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_beats_greedy),    cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_full_and_losing), cmocka_unit_test(test_tie),
        cmocka_unit_test(test_empty_and_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
