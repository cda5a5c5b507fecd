/* Unit tests for services/worker/reports/suppress.c on hand-made tables: counts from 1 to 3 are
 * hidden, enough others are hidden that no hidden count follows from the totals (checked here
 * by elimination over the totals' equations, independently of the graph the code uses), and
 * tables without small counts are left alone. Also the period parsing of model.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "reports/report.h"

#define TEST_MAX 8 /* rows and columns of a test grid, totals included */

/* A table of rows x cols counts (the last row and column the totals when totals is set): cols
 * counts the totals' column too. */
static bro_rtable *test_table(bro_report *r, const long long *v, int rows, int cols, int totals)
{
    bro_rcol c[BRO_REPORT_COLS_MAX] = {{"label", "Rad", BRO_RCELL_TEXT}};
    for (int j = 0; j < cols; j++)
        c[j + 1] = (bro_rcol){"n", "Antall", BRO_RCELL_INT};
    bro_rtable *t = bro_report_table(r, "t", "T", NULL, c, cols + 1);
    assert_non_null(t);
    t->suppressible = 1;
    t->total_row = totals;
    t->total_col = totals ? cols : -1;
    for (int i = 0; i < rows; i++)
        assert_non_null(bro_report_count_row(t, "rad", &v[i * cols], cols));
    return t;
}

static int test_hidden(const bro_rtable *t, int i, int j)
{
    return t->cells[(size_t)i * (size_t)t->ncols + (size_t)j + 1].type == BRO_RCELL_HIDDEN;
}

/* 1 when hidden cell (hi, hj) of a table with totals is fixed by the published values: its unit
 * vector lies in the span of the lines' equations restricted to the hidden cells (Gaussian
 * elimination over the rationals, in doubles: the equations are small integers). */
static int test_determined(const bro_rtable *t, int rows, int cols, int hi, int hj)
{
    int var[TEST_MAX][TEST_MAX], n = 0;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            var[i][j] = test_hidden(t, i, j) ? n++ : -1;
    double m[2 * TEST_MAX + 1][TEST_MAX * TEST_MAX + 1];
    int eq = 0;
    for (int line = 0; line < rows + cols; line++, eq++) {
        memset(m[eq], 0, sizeof(m[eq]));
        int len = line < rows ? cols : rows;
        for (int k = 0; k < len; k++) {
            int i = line < rows ? line : k, j = line < rows ? k : line - rows;
            if (var[i][j] >= 0)
                m[eq][var[i][j]] += k == len - 1 ? -1 : 1;
        }
    }
    memset(m[eq], 0, sizeof(m[eq]));
    m[eq][var[hi][hj]] = 1; /* the target, reduced by the others */
    int pivot_of[TEST_MAX * TEST_MAX];
    for (int v = 0; v < n; v++)
        pivot_of[v] = -1;
    for (int e = 0; e < eq; e++) {
        for (int v = 0; v < n; v++) {
            if (m[e][v] > -1e-9 && m[e][v] < 1e-9)
                continue;
            if (pivot_of[v] >= 0) {
                double f = m[e][v] / m[pivot_of[v]][v];
                for (int w = 0; w < n; w++)
                    m[e][w] -= f * m[pivot_of[v]][w];
                continue;
            }
            pivot_of[v] = e;
            break;
        }
    }
    for (int v = 0; v < n; v++) {
        if (pivot_of[v] < 0 || (m[eq][v] > -1e-9 && m[eq][v] < 1e-9))
            continue;
        double f = m[eq][v] / m[pivot_of[v]][v];
        for (int w = 0; w < n; w++)
            m[eq][w] -= f * m[pivot_of[v]][w];
    }
    for (int v = 0; v < n; v++)
        if (m[eq][v] < -1e-9 || m[eq][v] > 1e-9)
            return 0;
    return 1;
}

static void test_protected(const bro_rtable *t, int rows, int cols)
{
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            if (test_hidden(t, i, j))
                assert_false(test_determined(t, rows, cols, i, j));
}

static void test_one_small_count_takes_the_next_smallest_of_its_column(void **state)
{
    (void)state;
    bro_report r = {0};
    /* one column of counts with its total: 2, 5, 9 of 16 */
    const long long v[] = {2, 5, 9, 16};
    bro_rtable *t = test_table(&r, v, 4, 1, 0);
    t->total_row = 1;
    assert_int_equal(bro_report_suppress_table(t), 2);
    assert_true(test_hidden(t, 0, 0) && test_hidden(t, 1, 0));
    assert_false(test_hidden(t, 2, 0) || test_hidden(t, 3, 0));
    bro_report_free(&r);
}

static void test_a_grid_hides_a_cycle_and_nothing_follows_from_the_totals(void **state)
{
    (void)state;
    bro_report r = {0};
    const long long v[] = {2, 5, 7, 14, /**/ 6, 8, 9, 23, /**/ 10, 11, 12, 33, /**/ 18, 24, 28, 70};
    bro_rtable *t = test_table(&r, v, 4, 4, 1);
    int hidden = bro_report_suppress_table(t);
    /* the 2, then the cheapest that close a cycle around it: 5 beside it, 6 under it, and 8
     * that joins them (2 + 5 and 6 + 8 are all the totals tell) */
    assert_int_equal(hidden, 4);
    assert_true(test_hidden(t, 0, 0) && test_hidden(t, 0, 1) && test_hidden(t, 1, 0) &&
                test_hidden(t, 1, 1));
    test_protected(t, 4, 4);
    assert_int_equal(t->hidden, 4);
    bro_report_free(&r);
}

static void test_many_small_counts_stay_protected(void **state)
{
    (void)state;
    bro_report r = {0};
    /* tenants x statuses with ones, threes and zeros, as small kommuner have them */
    const long long v[] = {1, 0, 4, 5, /**/ 0, 3,  7,       10, /**/ 2, 2,
                           0, 4, 9, 0, 1,      10, /**/ 12, 5,  12,     29};
    bro_rtable *t = test_table(&r, v, 5, 4, 1);
    assert_true(bro_report_suppress_table(t) >= 5);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++)
            if (v[i * 4 + j] >= 1 && v[i * 4 + j] <= 3)
                assert_true(test_hidden(t, i, j));
    test_protected(t, 5, 4);
    bro_report_free(&r);
}

static void test_no_small_count_hides_nothing(void **state)
{
    (void)state;
    bro_report r = {0};
    const long long v[] = {0, 5, 5, /**/ 4, 8, 12, /**/ 4, 13, 17};
    bro_rtable *t = test_table(&r, v, 3, 3, 1);
    assert_int_equal(bro_report_suppress_table(t), 0);
    /* and the check above can fail: one cell hidden alone follows from its row's total */
    t->cells[1].type = BRO_RCELL_HIDDEN;
    assert_true(test_determined(t, 3, 3, 0, 0));
    bro_report_free(&r);
}

static void test_periods(void **state)
{
    (void)state;
    bro_report r = {0};
    assert_int_equal(bro_report_period(&r, "2026-Q2"), 0);
    assert_string_equal(r.from, "2026-04-01");
    assert_string_equal(r.to, "2026-06-30");
    assert_int_equal(r.end_s - r.from_s, 91 * 86400);
    assert_int_equal(bro_report_period(&r, "2024-02"), 0);
    assert_string_equal(r.to, "2024-02-29");
    assert_int_equal(bro_report_period(&r, "2026-01-10/2026-01-10"), 0);
    assert_int_equal(r.end_s - r.from_s, 86400);
    assert_int_equal(bro_report_period(&r, "2026"), 0);
    assert_int_equal(r.from_s, 1767225600); /* 2026-01-01T00:00:00Z */
    const char *bad[] = {
        "2026-13", "2026-Q5", "26", "2026-02-30/2026-03-01", "2026-03-01/2026-02-01", "2026x", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(bro_report_period(&r, bad[i]), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_small_count_takes_the_next_smallest_of_its_column),
        cmocka_unit_test(test_a_grid_hides_a_cycle_and_nothing_follows_from_the_totals),
        cmocka_unit_test(test_many_small_counts_stay_protected),
        cmocka_unit_test(test_no_small_count_hides_nothing),
        cmocka_unit_test(test_periods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
