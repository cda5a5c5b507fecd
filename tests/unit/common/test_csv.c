/* Unit tests for common/csv.c: separators, quoting, line ends, the byte order mark, row
 * numbers, the limits, text that is not UTF-8, and allocation failure. The source is included
 * so its allocations can be made to fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* An allocator that fails after a budget of calls (-1: never). */
static int failing_budget = -1;
static void *failing_calloc(size_t n, size_t size)
{
    if (failing_budget == 0)
        return NULL;
    if (failing_budget > 0)
        failing_budget--;
    return calloc(n, size);
}
static void *failing_realloc(void *p, size_t n)
{
    if (failing_budget == 0)
        return NULL;
    if (failing_budget > 0)
        failing_budget--;
    return realloc(p, n);
}
#define calloc  failing_calloc
#define realloc failing_realloc
#include "common/csv.c"
#undef calloc
#undef realloc

/* Reads every row of text into out (fields joined by '|', rows by '/'), with separator sep
 * (0: detect). Returns what bro_csv_next returned last. */
static int test_read(const char *text, size_t len, char sep, char *out, size_t n, bro_err *err)
{
    bro_csv *c = bro_csv_new(text, len, sep, err);
    assert_non_null(c);
    static bro_csv_row row;
    int rc;
    out[0] = '\0';
    while ((rc = bro_csv_next(c, &row, err)) == 1) {
        if (out[0])
            strncat(out, "/", n - strlen(out) - 1);
        for (size_t i = 0; i < row.nfields; i++) {
            if (i)
                strncat(out, "|", n - strlen(out) - 1);
            size_t used = strlen(out), take = row.fields[i].len;
            if (take > n - used - 1)
                take = n - used - 1;
            memcpy(out + used, row.fields[i].ptr, take);
            out[used + take] = '\0';
        }
    }
    bro_csv_free(c);
    return rc;
}

#define READS(text, expect)                                                                        \
    do {                                                                                           \
        char out_[512];                                                                            \
        bro_err err_ = {0};                                                                        \
        assert_int_equal(test_read(text, sizeof(text) - 1, 0, out_, sizeof(out_), &err_), 0);      \
        assert_string_equal(out_, expect);                                                         \
    } while (0)

static void test_separator_is_detected_on_the_header(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        char sep;
    } cases[] = {
        {"fornavn;etternavn;postnummer\nKari;Nordmann;3510\n", ';'},
        {"given_name,family_name\nKari,Nordmann\n", ','},
        {"given_name\tfamily_name\nKari\tNordmann\n", '\t'},
        {"a;b,c\n", ';'},         /* a tie goes to ';' */
        {"a,b,c;d\n", ','},       /* the most frequent wins */
        {"\"a;b;c\",d,e\n", ','}, /* quoted separators do not count */
        {"navn\n\"x;y\"\n", ','}, /* one column */
        {"a,b\n;;;;;\n", ','},    /* the header line decides, not the rest */
        {"sep=;\na,b;c\n", ';'},  /* Excel's own hint */
        {"\xef\xbb\xbf"
         "a\tb;c\tb\n",
         '\t'}, /* after a byte order mark */
        {"", ','},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bro_err err = {0};
        bro_csv *c = bro_csv_new(cases[i].text, strlen(cases[i].text), 0, &err);
        assert_non_null(c);
        assert_int_equal(bro_csv_separator(c), cases[i].sep);
        bro_csv_free(c);
    }
}

static void test_line_ends_and_empty_fields(void **state)
{
    (void)state;
    READS("a;b\r\nc;d\r\n", "a|b/c|d");
    READS("a;b\nc;d", "a|b/c|d");   /* no final line break */
    READS("a;b\rc;d\r", "a|b/c|d"); /* old Mac line ends */
    READS("a;b\n;\n;x\nx;\n", "a|b/|/|x/x|");
    READS("a;b\n\nc;d\n", "a|b//c|d"); /* an empty line is one empty field */
    READS("a;b;\n", "a|b|");           /* a trailing separator ends with an empty field */
    READS("a;b;", "a|b|");
    READS("a\n", "a");
    READS("\n", "");
    READS("", "");
    READS(" a ; b \n", " a | b "); /* nothing is trimmed */
}

static void test_quoted_fields(void **state)
{
    (void)state;
    READS("\"a;b\";c\n", "a;b|c");
    READS("\"He said \"\"ja\"\"\";x\n", "He said \"ja\"|x");
    READS("\"\";\"\"\"\"\n", "|\"");
    READS("\"line one\nline two\";x\r\n\"crlf\r\ninside\";y\r\n",
          "line one\nline two|x/crlf\r\ninside|y");
    READS("a;\"b\"\n", "a|b");
    READS("\"a\"", "a");
    READS("5\" skjerm;x\n", "5\" skjerm|x"); /* a quote inside an unquoted field is text */
    READS("\"\"\"\"\"\"\"\"\n", "\"\"\"");
}

static void test_fields_point_into_the_input_unless_unescaped(void **state)
{
    (void)state;
    static const char text[] = "plain;\"quoted\";\"dou\"\"bled\"\n";
    bro_err err = {0};
    bro_csv *c = bro_csv_new(text, sizeof(text) - 1, 0, &err);
    static bro_csv_row row;
    assert_int_equal(bro_csv_next(c, &row, &err), 1);
    assert_int_equal(row.nfields, 3);
    assert_ptr_equal(row.fields[0].ptr, text);
    assert_ptr_equal(row.fields[1].ptr, text + 7);
    assert_true(row.fields[2].ptr < text || row.fields[2].ptr >= text + sizeof(text));
    assert_int_equal(row.fields[2].len, 8);
    assert_memory_equal(row.fields[2].ptr, "dou\"bled", 8);
    assert_int_equal(bro_csv_next(c, &row, &err), 0);
    assert_int_equal(bro_csv_next(c, &row, &err), 0); /* the end stays the end */
    bro_csv_free(c);
}

static void test_many_unescaped_fields_survive_the_scratch_growing(void **state)
{
    (void)state;
    /* 200 fields of "x""<i>", each unescaped into scratch that grows while the row is read. */
    static char text[200 * 16];
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\"x\"\"%d\"", i ? "," : "", i);
    bro_err err = {0};
    bro_csv *c = bro_csv_new(text, n, 0, &err);
    static bro_csv_row row;
    assert_int_equal(bro_csv_next(c, &row, &err), 1);
    assert_int_equal(row.nfields, 200);
    for (int i = 0; i < 200; i++) {
        char want[16];
        int wn = snprintf(want, sizeof(want), "x\"%d", i);
        assert_int_equal(row.fields[i].len, (size_t)wn);
        assert_memory_equal(row.fields[i].ptr, want, (size_t)wn);
    }
    bro_csv_free(c);
}

static void test_bom_and_sep_line(void **state)
{
    (void)state;
    READS("\xef\xbb\xbf"
          "fornavn;etternavn\nÅse;Ødegård\n",
          "fornavn|etternavn/Åse|Ødegård");
    READS("sep=,\r\na;b,c\r\n", "a;b|c");
    READS("SEP=|\na|b\n", "a|b");
    READS("sep=;x\na;b\n", "sep=|x/a|b"); /* not a sep line: an ordinary row */
    char out[64];
    bro_err err = {0};
    /* A given separator wins over the sep line, which is still skipped. */
    assert_int_equal(test_read("sep=;\na,b;c\n", 12, ',', out, sizeof(out), &err), 0);
    assert_string_equal(out, "a|b;c");
}

static void test_row_numbers_and_lines(void **state)
{
    (void)state;
    static const char text[] = "sep=;\nh1;h2\n\"two\nlines\";x\nlast;y\n";
    bro_err err = {0};
    bro_csv *c = bro_csv_new(text, sizeof(text) - 1, 0, &err);
    static bro_csv_row row;
    assert_int_equal(bro_csv_next(c, &row, &err), 1);
    assert_int_equal(row.number, 1);
    assert_int_equal(row.line, 2);
    assert_int_equal(bro_csv_next(c, &row, &err), 1);
    assert_int_equal(row.number, 2);
    assert_int_equal(row.line, 3);
    assert_int_equal(bro_csv_next(c, &row, &err), 1);
    assert_int_equal(row.number, 3);
    assert_int_equal(row.line, 5);
    assert_int_equal(bro_csv_rows(c), 3);
    bro_csv_free(c);
}

/* Expects text to fail on row `number` with code and a message containing `part`. */
static void test_expect_error(const char *text, size_t len, int code, size_t number,
                              const char *part)
{
    char out[256], prefix[32];
    bro_err err = {0};
    assert_int_equal(test_read(text, len, 0, out, sizeof(out), &err), -1);
    assert_int_equal(err.code, code);
    snprintf(prefix, sizeof(prefix), "row %zu: ", number);
    assert_memory_equal(err.msg, prefix, strlen(prefix));
    assert_non_null(strstr(err.msg, part));
}

static void test_malformed_input_is_an_error_with_its_row(void **state)
{
    (void)state;
    static const char open[] = "a;b\nc;\"never closed\n\n";
    test_expect_error(open, sizeof(open) - 1, BRO_E_DECODE, 2, "opened on line 2 is never closed");
    static const char after[] = "a;b\n\"x\"y;z\n";
    test_expect_error(after, sizeof(after) - 1, BRO_E_DECODE, 2, "after a closing quote");
    /* "Bjørn" as Excel's "CSV (semicolon separated)" writes it: Windows-1252. */
    static const char cp1252[] = "fornavn;etternavn\nKari;Nordmann\nBj\xf8rn;Dahl\n";
    test_expect_error(cp1252, sizeof(cp1252) - 1, BRO_E_DECODE, 3,
                      "save the file as \"CSV UTF-8\"");
    static const char quoted1252[] = "a\n\"\xe6\xf8\xe5\nx\"\n";
    test_expect_error(quoted1252, sizeof(quoted1252) - 1, BRO_E_DECODE, 2, "not UTF-8");
    static const char nul[] = "a;b\nc;d\0e\n";
    test_expect_error(nul, sizeof(nul) - 1, BRO_E_DECODE, 2, "NUL byte");
    static const char utf16[] = "\xff\xfe"
                                "a\0;\0b\0";
    test_expect_error(utf16, sizeof(utf16) - 1, BRO_E_DECODE, 1, "UTF-16");
    /* A "sep=" line naming a byte that is no ASCII character is not a separator (it would cut
     * the 4-byte character after it in two): the line is an ordinary row, and not UTF-8. */
    static const char sep_high[] = "sep=\x9b\r\n\xf3\x9c\x9b\x9d\n";
    test_expect_error(sep_high, sizeof(sep_high) - 1, BRO_E_DECODE, 1, "not UTF-8");
}

static void test_errors_are_sticky(void **state)
{
    (void)state;
    static const char text[] = "a\n\"open\n";
    bro_err err = {0};
    bro_csv *c = bro_csv_new(text, sizeof(text) - 1, 0, &err);
    static bro_csv_row row;
    assert_int_equal(bro_csv_next(c, &row, &err), 1);
    assert_int_equal(bro_csv_next(c, &row, &err), -1);
    bro_err again = {0};
    assert_int_equal(bro_csv_next(c, &row, &again), -1);
    assert_string_equal(again.msg, err.msg);
    assert_int_equal(bro_csv_next(c, &row, NULL), -1);
    bro_csv_free(c);
}

static void test_limits(void **state)
{
    (void)state;
    /* Fields per row: the limit is fine, one more is not. */
    static char text[2 * BRO_CSV_MAX_FIELD_BYTES + 16];
    memset(text, ';', BRO_CSV_MAX_FIELDS - 1);
    char out[1024];
    bro_err err = {0};
    assert_int_equal(test_read(text, BRO_CSV_MAX_FIELDS - 1, ';', out, sizeof(out), &err), 0);
    memset(text, ';', BRO_CSV_MAX_FIELDS);
    memcpy(text + BRO_CSV_MAX_FIELDS, "\n", 1);
    test_expect_error(text, BRO_CSV_MAX_FIELDS + 1, BRO_E_TOO_LARGE, 1, "more than 256 fields");

    /* Bytes per field, plain and quoted: the limit is fine, one more is not. */
    memset(text, 'x', BRO_CSV_MAX_FIELD_BYTES + 1);
    assert_int_equal(test_read(text, BRO_CSV_MAX_FIELD_BYTES, ';', out, sizeof(out), &err), 0);
    test_expect_error(text, BRO_CSV_MAX_FIELD_BYTES + 1, BRO_E_TOO_LARGE, 1, "longer than");
    text[0] = '"';
    memset(text + 1, '"', 2 * (BRO_CSV_MAX_FIELD_BYTES / 2)); /* doubled quotes: half as long */
    text[BRO_CSV_MAX_FIELD_BYTES + 1] = '"';
    assert_int_equal(test_read(text, BRO_CSV_MAX_FIELD_BYTES + 2, ';', out, sizeof(out), &err), 0);
    memset(text + 1, 'y', BRO_CSV_MAX_FIELD_BYTES + 1);
    text[BRO_CSV_MAX_FIELD_BYTES + 2] = '"';
    test_expect_error(text, BRO_CSV_MAX_FIELD_BYTES + 3, BRO_E_TOO_LARGE, 1, "longer than");

    /* Rows: the limit is fine, one more is not. */
    size_t n = BRO_CSV_MAX_ROWS + 1;
    char *lines = malloc(n);
    assert_non_null(lines);
    memset(lines, '\n', n);
    assert_int_equal(test_read(lines, n - 1, ';', out, sizeof(out), &err), 0);
    test_expect_error(lines, n, BRO_E_TOO_LARGE, BRO_CSV_MAX_ROWS + 1, "more than");
    free(lines);
}

static void test_bad_separator_is_refused(void **state)
{
    (void)state;
    bro_err err = {0};
    assert_null(bro_csv_new("a", 1, '"', &err));
    assert_int_equal(err.code, BRO_E_INVALID);
    assert_null(bro_csv_new("a", 1, '\n', &err));
    assert_null(bro_csv_new("a", 1, (char)0x9b, &err)); /* a byte inside UTF-8 characters */
    assert_int_equal(err.code, BRO_E_INVALID);
    bro_csv_free(NULL); /* a no-op */
}

static void test_allocation_failure_is_an_error(void **state)
{
    (void)state;
    static const char text[] = "\"a\"\"b\";\"c\"\"d\"\n";
    bro_err err = {0};
    failing_budget = 0;
    assert_null(bro_csv_new(text, sizeof(text) - 1, 0, &err));
    failing_budget = -1;
    assert_int_equal(err.code, BRO_E_NOMEM);
    for (int budget = 1; budget < 4; budget++) {
        bro_csv *c = bro_csv_new(text, sizeof(text) - 1, 0, &err);
        static bro_csv_row row;
        failing_budget = budget - 1;
        int rc = bro_csv_next(c, &row, &err);
        failing_budget = -1;
        if (rc < 0)
            assert_int_equal(err.code, BRO_E_NOMEM);
        else
            assert_memory_equal(row.fields[1].ptr, "c\"d", 3);
        bro_csv_free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_separator_is_detected_on_the_header),
        cmocka_unit_test(test_line_ends_and_empty_fields),
        cmocka_unit_test(test_quoted_fields),
        cmocka_unit_test(test_fields_point_into_the_input_unless_unescaped),
        cmocka_unit_test(test_many_unescaped_fields_survive_the_scratch_growing),
        cmocka_unit_test(test_bom_and_sep_line),
        cmocka_unit_test(test_row_numbers_and_lines),
        cmocka_unit_test(test_malformed_input_is_an_error_with_its_row),
        cmocka_unit_test(test_errors_are_sticky),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_bad_separator_is_refused),
        cmocka_unit_test(test_allocation_failure_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
