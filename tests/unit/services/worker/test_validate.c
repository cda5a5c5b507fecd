/* Unit tests for services/worker/validate.c: every class of bad input is reported with the
 * field it concerns, and good input passes untouched. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/jmp.h"
#include "validate.h"

static const char *const test_colours[] = {"red", "green", NULL};

static const bro_vfield test_fields[] = {
    {"name", BRO_V_STRING, BRO_V_REQUIRED, 1, 5, NULL, 0, 0},
    {"year", BRO_V_INT, BRO_V_NULLABLE, 1900, 2026, NULL, 0, 0},
    {"colour", BRO_V_ENUM, 0, 1, 10, test_colours, 0, 0},
    {"tags", BRO_V_TAGS, 0, 0, 2, NULL, 0, 0},
    {"when", BRO_V_AVAILABILITY, 0, 0, 0, NULL, 0, 0},
    {"flag", BRO_V_BOOL, 0, 0, 0, NULL, 0, 0},
    {"postal", BRO_V_POSTAL, 0, 4, 4, NULL, 0, 0},
    {"day", BRO_V_DATE, 0, 10, 10, NULL, 0, 0},
    {"status", BRO_V_ENUM, BRO_V_READONLY, 0, 0, test_colours, 0, 0},
    {"items", BRO_V_OBJECTS, 0, 0, 2, NULL, 0, 0},
    {"texts", BRO_V_TEXTS, 0, 0, 2, NULL, 0, 0},
    {"at", BRO_V_TIMESTAMP, 0, 20, 35, NULL, 0, 0},
    {"note", BRO_V_STRING, BRO_V_NULLABLE | BRO_V_MULTILINE, 1, 100, NULL, 0, 0},
    {"lines", BRO_V_TEXTS, BRO_V_MULTILINE, 0, 2, NULL, 0, 0},
    {"file", BRO_V_STRING, BRO_V_FILE, 0, 1000, NULL, 0, 0},
    {"given_at", BRO_V_DATE, BRO_V_NULLABLE | BRO_V_OR_TIME, 10, 10, NULL, 0, 0},
    {"hours", BRO_V_NUMBER, BRO_V_NULLABLE, 0, 0, NULL, 0, 24},
};

static const bro_vfield test_item_fields[] = {
    {"text", BRO_V_STRING, BRO_V_REQUIRED, 1, 10, NULL, 0, 0},
    {"due", BRO_V_DATE, BRO_V_NULLABLE, 10, 10, NULL, 0, 0},
};
#define TEST_NFIELDS (int)(sizeof(test_fields) / sizeof(test_fields[0]))

/* Validates a JSON text; returns the job so the test can look at its field errors. */
static bro_job test_run(const char *json, int partial)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    bro_err err = {0};
    if (bro_jmp_pack_json_text(&pk, json, strlen(json), &err) != 0)
        fail_msg("%s: %s", json, err.msg);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, buf.data, buf.size, NULL), MSGPACK_UNPACK_SUCCESS);
    bro_job job;
    memset(&job, 0, sizeof(job));
    if (bro_validate(&job, &u.data, test_fields, TEST_NFIELDS, partial) == 0)
        bro_validate_items(&job, "items", bro_jmp_map_get(&u.data, "items"), test_item_fields, 2);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
    return job;
}

static void test_expect_one(const char *json, const char *field)
{
    bro_job job = test_run(json, 0);
    if (job.nfields != 1)
        fail_msg("%s: expected 1 error, got %d (%s)", json, job.nfields,
                 job.nfields ? job.fields[0].field : "-");
    assert_string_equal(job.fields[0].field, field);
}

static void test_valid_body_passes(void **state)
{
    (void)state;
    bro_job job = test_run("{\"name\":\"Åse\",\"year\":1980,\"colour\":\"red\",\"tags\":[\"a\"],"
                           "\"when\":{\"mon\":[\"day\",\"evening\"]},\"flag\":true,"
                           "\"postal\":\"3510\",\"day\":\"2024-02-29\"}",
                           0);
    assert_int_equal(job.nfields, 0);
    job = test_run("{\"name\":\"ÅÅÅÅÅ\",\"year\":null}", 0); /* 5 characters, 10 bytes */
    assert_int_equal(job.nfields, 0);
}

static void test_each_error_names_its_field(void **state)
{
    (void)state;
    test_expect_one("{}", "name");
    test_expect_one("{\"name\":\"\"}", "name");
    test_expect_one("{\"name\":\"abcdef\"}", "name");
    test_expect_one("{\"name\":\"a\",\"year\":\"x\"}", "year");
    test_expect_one("{\"name\":\"a\",\"year\":1899}", "year");
    test_expect_one("{\"name\":\"a\",\"year\":2027}", "year");
    test_expect_one("{\"name\":\"a\",\"year\":-5}", "year");
    test_expect_one("{\"name\":\"a\",\"year\":1.5}", "year");
    test_expect_one("{\"name\":\"a\",\"colour\":\"blue\"}", "colour");
    test_expect_one("{\"name\":\"a\",\"tags\":[\"a\",\"b\",\"c\"]}", "tags");
    test_expect_one("{\"name\":\"a\",\"tags\":[1]}", "tags[0]");
    test_expect_one("{\"name\":\"a\",\"tags\":[\"\"]}", "tags[0]");
    test_expect_one("{\"name\":\"a\",\"when\":{\"xyz\":[]}}", "when");
    test_expect_one("{\"name\":\"a\",\"when\":{\"tue\":[\"night\"]}}", "when.tue");
    test_expect_one("{\"name\":\"a\",\"flag\":\"yes\"}", "flag");
    test_expect_one("{\"name\":\"a\",\"postal\":\"351\"}", "postal");
    test_expect_one("{\"name\":\"a\",\"postal\":\"35a0\"}", "postal");
    test_expect_one("{\"name\":\"a\",\"day\":\"2023-02-29\"}", "day");
    test_expect_one("{\"name\":\"a\",\"surprise\":1}", "surprise");
    test_expect_one("{\"name\":\"a\",\"status\":\"red\"}", "status");
    test_expect_one("{\"name\":null}", "name");
    test_expect_one("[1]", "body");
}

static void test_objects_texts_and_times(void **state)
{
    (void)state;
    assert_int_equal(
        test_run("{\"name\": \"a\", \"items\": [{\"text\": \"a\", \"due\": \"2026-01-02\"}],"
                 " \"texts\": [\"ett langt mål\"], \"at\": \"2026-03-01T09:30:00Z\"}",
                 0)
            .nfields,
        0);
    assert_int_equal(
        test_run("{\"name\": \"a\", \"at\": \"2026-03-01T09:30:00.123+01:00\"}", 0).nfields, 0);
    test_expect_one("{\"name\": \"a\", \"items\": [{\"text\": \"a\"}, {\"due\": \"2026-01-02\"}]}",
                    "items.1.text");
    test_expect_one("{\"name\": \"a\", \"items\": [{\"text\": \"a\", \"due\": \"snart\"}]}",
                    "items.0.due");
    test_expect_one("{\"name\": \"a\", \"items\": [{\"text\": \"a\", \"x\": 1}]}", "items.0.x");
    test_expect_one("{\"name\": \"a\", \"items\": [\"a\"]}", "items");
    test_expect_one("{\"name\": \"a\", \"items\": [{}, {}, {}]}", "items");
    test_expect_one("{\"name\": \"a\", \"texts\": [\"\"]}", "texts[0]");
    test_expect_one("{\"name\": \"a\", \"texts\": \"mål\"}", "texts");
    test_expect_one("{\"name\": \"a\", \"at\": \"2026-03-01\"}", "at");
    test_expect_one("{\"name\": \"a\", \"at\": \"2026-03-01T25:00:00Z\"}", "at");
    test_expect_one("{\"name\": \"a\", \"at\": \"2026-02-30T10:00:00Z\"}", "at");
    test_expect_one("{\"name\": \"a\", \"at\": \"2026-03-01T10:00:00\"}", "at");
}

/* Each JSON string value, put into body (a format with one %s), is refused and named field. */
static void test_expect_refused(const char *body, const char *const *values, size_t n,
                                const char *field)
{
    for (size_t i = 0; i < n; i++) {
        char json[512];
        snprintf(json, sizeof(json), body, values[i]);
        test_expect_one(json, field);
    }
}

/* JSON spellings of characters no text may hold, multi-line or not. */
static const char *const test_never[] = {
    "\\u0001", "\\u001b[31m", "\\u007f", "\\u0085", "\\u009f", "abc\\u202edef",
    "\\u202a", "\\u2066",     "\\u2069", "\\u200e", "\\u200f", "\\u061c",
    "\\u2028", "\\u2029",     "a\\rb",   "a\\r",    "\\u000b", "\\u000c"};
#define TEST_NNEVER (sizeof(test_never) / sizeof(test_never[0]))

static void test_one_line_texts_refuse_controls(void **state)
{
    (void)state;
    static const char *const breaks[] = {"a\\nb", "a\\tb", "a\\r\\nb"};
    test_expect_refused("{\"name\": \"%s\"}", test_never, TEST_NNEVER, "name");
    test_expect_refused("{\"name\": \"%s\"}", breaks, 3, "name");
    test_expect_refused("{\"name\": \"a\", \"tags\": [\"%s\"]}", breaks, 3, "tags[0]");
    test_expect_refused("{\"name\": \"a\", \"tags\": [\"ok\", \"%s\"]}", test_never, TEST_NNEVER,
                        "tags[1]");
    test_expect_refused("{\"name\": \"a\", \"colour\": \"red%s\"}", breaks, 1, "colour");
    test_expect_refused("{\"name\": \"a\", \"items\": [{\"text\": \"%s\"}]}", breaks, 3,
                        "items.0.text");
    test_expect_refused("{\"name\": \"a\", \"items\": [{\"text\": \"a\"}, {\"text\": \"%s\"}]}",
                        test_never, TEST_NNEVER, "items.1.text");
    /* Letters of every script, emoji and joiners are text, not formatting. */
    bro_job job =
        test_run("{\"name\": \"a\", \"tags\": [\"Åse \\u05e9\\u05dc\\u05d5\\u05dd \\u00e6\\u00f8 "
                 "\\ud83d\\udc4d\\u200d\"]}",
                 0);
    assert_int_equal(job.nfields, 0);
    job = test_run("{\"name\": \"a\", \"b\\u202ec\": 1}", 0); /* not echoed as a name */
    assert_int_equal(job.nfields, 1);
    assert_string_equal(job.fields[0].field, "body");
    job = test_run("{\"name\": \"\\u0001\"}", 0);
    assert_non_null(strstr(job.fields[0].message, "U+0001"));
}

static void test_multi_line_texts_keep_breaks_and_tabs(void **state)
{
    (void)state;
    bro_job job =
        test_run("{\"name\": \"a\", \"note\": \"Første linje\\n\\tinnrykk\\r\\nsiste\\n\","
                 " \"lines\": [\"mål 1\\nmål 2\", \"\\tmer\"]}",
                 0);
    assert_int_equal(job.nfields, 0);
    test_expect_refused("{\"name\": \"a\", \"note\": \"ok\\n%s\"}", test_never, TEST_NNEVER,
                        "note");
    test_expect_refused("{\"name\": \"a\", \"lines\": [\"%s\"]}", test_never, TEST_NNEVER,
                        "lines[0]");
    job = test_run("{\"name\": \"a\", \"note\": \"\\u202e\"}", 0);
    assert_non_null(strstr(job.fields[0].message, "U+202E"));
}

static void test_file_text_is_left_to_its_reader(void **state)
{
    (void)state;
    bro_job job = test_run("{\"name\": \"a\", \"file\": \"a;b\\r\\n\\u0001;\\u202e\\r\\n\"}", 0);
    assert_int_equal(job.nfields, 0);
}

static void test_dates_or_times_take_a_time_too(void **state)
{
    (void)state;
    static const char *const good[] = {"2026-03-01", "2026-03-01T10:00:00+01:00",
                                       "2026-03-01T10:00:00Z",
                                       "2026-03-01t23:30:00.123456789-05:00", NULL};
    static const char *const bad[] = {"2026-03-01T25:00:00Z",
                                      "2026-02-30T10:00:00Z",
                                      "2026-03-01T10:00:00",
                                      "2026-03-01Z",
                                      "2026-03-01T10:00:00.1234567890+01:00",
                                      NULL};
    char json[128];
    for (int i = 0; good[i]; i++) {
        snprintf(json, sizeof(json), "{\"name\": \"a\", \"given_at\": \"%s\"}", good[i]);
        bro_job job = test_run(json, 0);
        if (job.nfields != 0)
            fail_msg("%s: %s %s", good[i], job.fields[0].field, job.fields[0].message);
    }
    for (int i = 0; bad[i]; i++) {
        snprintf(json, sizeof(json), "{\"name\": \"a\", \"given_at\": \"%s\"}", bad[i]);
        test_expect_one(json, "given_at");
    }
    /* A date without BRO_V_OR_TIME stays a date, whatever its name. */
    test_expect_one("{\"name\": \"a\", \"day\": \"2026-03-01T10:00:00Z\"}", "day");
    assert_true(bro_validate_takes_time(
        &(bro_vfield){"given_at", BRO_V_DATE, BRO_V_OR_TIME, 10, 10, NULL, 0, 0}));
    assert_false(bro_validate_takes_time(&(bro_vfield){"due", BRO_V_DATE, 0, 10, 10, NULL, 0, 0}));
    assert_false(
        bro_validate_takes_time(&(bro_vfield){"made_at", BRO_V_DATE, 0, 10, 10, NULL, 0, 0}));
    assert_false(bro_validate_takes_time(
        &(bro_vfield){"created_at", BRO_V_TIMESTAMP, BRO_V_OR_TIME, 20, 35, NULL, 0, 0}));
}

/* A body of one member, hours, packed as a msgpack double: JSON has no NaN or infinities, but a
 * client that sends msgpack can. */
static bro_job test_run_double(double v)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "hours", 5);
    msgpack_pack_double(&pk, v);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, buf.data, buf.size, NULL), MSGPACK_UNPACK_SUCCESS);
    bro_job job;
    memset(&job, 0, sizeof(job));
    bro_validate(&job, &u.data, test_fields, TEST_NFIELDS, 1);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
    return job;
}

static void test_numbers_are_finite_and_in_bounds(void **state)
{
    (void)state;
    static const char *const good[] = {"{\"hours\":0}",   "{\"hours\":24}",   "{\"hours\":2.5}",
                                       "{\"hours\":0.0}", "{\"hours\":null}", "{\"hours\":1e1}"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        bro_job job = test_run(good[i], 1);
        if (job.nfields != 0)
            fail_msg("%s: %s %s", good[i], job.fields[0].field, job.fields[0].message);
    }
    static const char *const bad[] = {"{\"hours\":24.05}", "{\"hours\":-0.1}",  "{\"hours\":-1}",
                                      "{\"hours\":25}",    "{\"hours\":1e308}", "{\"hours\":\"2\"}",
                                      "{\"hours\":true}",  "{\"hours\":[2]}",   "{\"hours\":{}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bro_job job = test_run(bad[i], 1);
        if (job.nfields != 1 || strcmp(job.fields[0].field, "hours") != 0)
            fail_msg("%s: expected one error naming hours, got %d", bad[i], job.nfields);
    }
    bro_job job = test_run("{\"hours\":\"2\"}", 1);
    assert_string_equal(job.fields[0].message, "must be a number");
    job = test_run("{\"hours\":25}", 1);
    assert_string_equal(job.fields[0].message, "must be between 0 and 24");
    const double nonfinite[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 3; i++) {
        job = test_run_double(nonfinite[i]);
        assert_int_equal(job.nfields, 1);
        assert_string_equal(job.fields[0].field, "hours");
        assert_string_equal(job.fields[0].message, "must be a finite number");
    }
    job = test_run_double(12.25);
    assert_int_equal(job.nfields, 0);
}

static void test_all_errors_are_reported_at_once(void **state)
{
    (void)state;
    bro_job job = test_run("{\"year\":\"x\",\"colour\":\"blue\",\"other\":1}", 0);
    assert_int_equal(job.nfields, 4); /* year, colour, other, and the missing name */
}

static void test_partial_does_not_require(void **state)
{
    (void)state;
    bro_job job = test_run("{\"year\":2000}", 1);
    assert_int_equal(job.nfields, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_body_passes),
        cmocka_unit_test(test_each_error_names_its_field),
        cmocka_unit_test(test_all_errors_are_reported_at_once),
        cmocka_unit_test(test_objects_texts_and_times),
        cmocka_unit_test(test_dates_or_times_take_a_time_too),
        cmocka_unit_test(test_partial_does_not_require),
        cmocka_unit_test(test_numbers_are_finite_and_in_bounds),
        cmocka_unit_test(test_one_line_texts_refuse_controls),
        cmocka_unit_test(test_multi_line_texts_keep_breaks_and_tabs),
        cmocka_unit_test(test_file_text_is_left_to_its_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
