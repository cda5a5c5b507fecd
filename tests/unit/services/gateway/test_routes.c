/* Unit tests for services/gateway/routes.c: the matcher against a table of its own (every
 * parameter type, malformed and empty segments, trailing slashes, 405 Allow sets with HEAD
 * wherever GET is, HEAD matching GET), the parameter look-up, role bits and the printed table.
 * The file is included to reach its statics; the table below stands in for routes_table.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "services/gateway/routes.c"

#define TEST_UUID  "0190a3c2-7b1e-7c3d-9f00-0123456789ab"
#define TEST_UUID2 "0190a3c2-7b1e-7c3d-9f00-ba9876543210"

static void test_local(bro_gw_req *r)
{
    (void)r;
}

const bro_route bro_routes_table[] = {
    {EVHTTP_REQ_GET, "/healthz", NULL, test_local, 0, NULL, BRO_BODY_NONE, 0},
    {EVHTTP_REQ_GET, "/v1/things", "thing.list", NULL, BRO_ROLE_COORDINATOR, "records",
     BRO_BODY_NONE, 0},
    {EVHTTP_REQ_POST, "/v1/things", "thing.create", NULL, BRO_ROLE_COORDINATOR, "records",
     BRO_BODY_OBJECT, 0},
    {EVHTTP_REQ_GET, "/v1/things/{id}", "thing.get", NULL, BRO_ROLE_COORDINATOR | BRO_ROLE_PARTNER,
     "records", BRO_BODY_NONE, 0},
    {EVHTTP_REQ_PATCH, "/v1/things/{id}", "thing.update", NULL, BRO_ROLE_COORDINATOR, "records",
     BRO_BODY_OBJECT, 0},
    {EVHTTP_REQ_DELETE, "/v1/things/{id}", "thing.erase", NULL, BRO_ROLE_TENANT_ADMIN, "records",
     BRO_BODY_NONE, 0},
    {EVHTTP_REQ_GET, "/v1/things/{id}/parts/{sub_id}", "part.get", NULL, BRO_ROLE_COORDINATOR,
     "records", BRO_BODY_NONE, 0},
    {EVHTTP_REQ_POST, "/v1/tenants/{slug}/keys", "key.issue", NULL, BRO_ROLE_PLATFORM_ADMIN,
     "records", BRO_BODY_OBJECT, 0},
    {EVHTTP_REQ_DELETE, "/v1/keys/{key_id}", "key.revoke", NULL,
     BRO_ROLE_PLATFORM_ADMIN | BRO_ROLE_TENANT_ADMIN, "records", BRO_BODY_NONE,
     BRO_ROUTE_CHANGES_KEYS},
};
const int bro_routes_table_n = (int)(sizeof(bro_routes_table) / sizeof(bro_routes_table[0]));

/* What one match gave. */
typedef struct test_match {
    const bro_route *route;
    bro_route_params params;
    unsigned allow;
    int index;
} test_match;

static test_match test_do(enum evhttp_cmd_type method, const char *path)
{
    test_match m;
    memset(&m, 0xa5, sizeof(m)); /* the matcher must set what it reports */
    m.index = -1;
    m.route = bro_routes_match(method, path, &m.params, &m.allow, &m.index);
    return m;
}

/* A path that matches no row at all: 404, no Allow, no parameters. */
static void test_assert_unknown(const char *path)
{
    test_match m = test_do(EVHTTP_REQ_GET, path);
    assert_null(m.route);
    assert_int_equal(m.allow, 0);
    assert_int_equal(m.params.n, 0);
}

static void test_allow_text(enum evhttp_cmd_type method, const char *path, const char *want)
{
    test_match m = test_do(method, path);
    assert_null(m.route);
    char text[64];
    bro_routes_allow_text(m.allow, text, sizeof(text));
    assert_string_equal(text, want);
}

/* ---- matching ------------------------------------------------------------------------------ */

static void test_a_fixed_path_matches_its_row(void **state)
{
    test_match m = test_do(EVHTTP_REQ_GET, "/v1/things");
    assert_non_null(m.route);
    assert_string_equal(m.route->kind, "thing.list");
    assert_int_equal(m.index, 1);
    assert_int_equal(m.params.n, 0);
    m = test_do(EVHTTP_REQ_POST, "/v1/things");
    assert_string_equal(m.route->kind, "thing.create");
    assert_int_equal(m.index, 2);
}

static void test_id_takes_a_uuid(void **state)
{
    test_match m = test_do(EVHTTP_REQ_GET, "/v1/things/" TEST_UUID);
    assert_non_null(m.route);
    assert_string_equal(m.route->kind, "thing.get");
    assert_int_equal(m.params.n, 1);
    assert_string_equal(m.params.values[0], TEST_UUID);
    assert_string_equal(bro_routes_param(&m.params, "id"), TEST_UUID);
}

static void test_id_and_sub_id_take_uuids(void **state)
{
    test_match m = test_do(EVHTTP_REQ_GET, "/v1/things/" TEST_UUID "/parts/" TEST_UUID2);
    assert_non_null(m.route);
    assert_string_equal(m.route->kind, "part.get");
    assert_int_equal(m.params.n, 2);
    assert_string_equal(bro_routes_param(&m.params, "id"), TEST_UUID);
    assert_string_equal(bro_routes_param(&m.params, "sub_id"), TEST_UUID2);
    assert_null(bro_routes_param(&m.params, "slug"));
    assert_null(bro_routes_param(&m.params, "sub")); /* a prefix of a name is not the name */
}

static void test_slug_takes_a_tenant_slug(void **state)
{
    test_match m = test_do(EVHTTP_REQ_POST, "/v1/tenants/ringerike_2/keys");
    assert_non_null(m.route);
    assert_string_equal(m.route->kind, "key.issue");
    assert_string_equal(bro_routes_param(&m.params, "slug"), "ringerike_2");
}

static void test_key_id_takes_eight_base62_characters(void **state)
{
    test_match m = test_do(EVHTTP_REQ_DELETE, "/v1/keys/AbCd1234");
    assert_non_null(m.route);
    assert_string_equal(m.route->kind, "key.revoke");
    assert_string_equal(bro_routes_param(&m.params, "key_id"), "AbCd1234");
}

static void test_malformed_parameters_are_paths_that_do_not_exist(void **state)
{
    test_assert_unknown("/v1/things/not-a-uuid");
    test_assert_unknown("/v1/things/" TEST_UUID "0");                      /* too long */
    test_assert_unknown("/v1/things/0190a3c2-7b1e-7c3d-9f00-0123456789a"); /* too short */
    test_assert_unknown("/v1/things/" TEST_UUID "/parts/nope");
    test_assert_unknown("/v1/things/nope/parts/" TEST_UUID2);
    test_assert_unknown("/v1/keys/AbCd123");           /* seven characters */
    test_assert_unknown("/v1/keys/AbCd12345");         /* nine */
    test_assert_unknown("/v1/keys/AbCd-234");          /* not base62 */
    test_assert_unknown("/v1/tenants/Ringerike/keys"); /* upper case */
    test_assert_unknown("/v1/tenants/1kommune/keys");  /* not starting with a letter */
    test_assert_unknown("/v1/tenants/r/keys");         /* one character */
    test_assert_unknown("/v1/tenants/a2345678901234567890123456789012/keys"); /* 32 */
}

static void test_a_segment_longer_than_a_value_is_not_taken(void **state)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/tenants/%0*d/keys", BRO_ROUTE_PARAM_LEN, 0);
    test_assert_unknown(path);
}

static void test_trailing_slash_and_empty_segments_do_not_match(void **state)
{
    test_assert_unknown("/v1/things/");
    test_assert_unknown("/healthz/");
    test_assert_unknown("/v1//things");
    test_assert_unknown("//v1/things");
    test_assert_unknown("/v1/things//");
    test_assert_unknown("/v1/keys/");                       /* empty {key_id} */
    test_assert_unknown("/v1/things/" TEST_UUID "/parts/"); /* empty {sub_id} */
    test_assert_unknown("/v1/things/" TEST_UUID "/");
    test_assert_unknown("");
    test_assert_unknown("/");
    test_assert_unknown("v1/things");
}

static void test_unknown_and_partial_paths_are_not_found(void **state)
{
    test_assert_unknown("/v1/thing");
    test_assert_unknown("/v1/thingsx");
    test_assert_unknown("/v1");
    test_assert_unknown("/v1/things/" TEST_UUID "/parts");
    test_assert_unknown("/v1/things/" TEST_UUID "/parts/" TEST_UUID2 "/more");
    test_assert_unknown("/V1/things"); /* paths are case-sensitive */
}

/* ---- methods ------------------------------------------------------------------------------- */

static void test_head_matches_get(void **state)
{
    test_match m = test_do(EVHTTP_REQ_HEAD, "/v1/things/" TEST_UUID);
    assert_non_null(m.route);
    assert_int_equal(m.route->method, EVHTTP_REQ_GET);
    assert_string_equal(m.route->kind, "thing.get");
    assert_string_equal(bro_routes_param(&m.params, "id"), TEST_UUID);
    m = test_do(EVHTTP_REQ_HEAD, "/healthz");
    assert_non_null(m.route);
    assert_int_equal(m.index, 0);
}

static void test_head_where_there_is_no_get_is_405(void **state)
{
    test_allow_text(EVHTTP_REQ_HEAD, "/v1/keys/AbCd1234", "DELETE");
}

static void test_a_wrong_method_is_405_with_the_allowed_ones(void **state)
{
    test_allow_text(EVHTTP_REQ_PUT, "/v1/things", "GET, HEAD, POST");
    test_allow_text(EVHTTP_REQ_POST, "/v1/things/" TEST_UUID, "GET, HEAD, PATCH, DELETE");
    test_allow_text(EVHTTP_REQ_GET, "/v1/tenants/ringerike/keys", "POST");
    test_allow_text(EVHTTP_REQ_POST, "/healthz", "GET, HEAD");
    test_allow_text(EVHTTP_REQ_GET, "/v1/keys/AbCd1234", "DELETE");
    test_match m = test_do(EVHTTP_REQ_PUT, "/v1/things");
    assert_int_equal(m.allow, EVHTTP_REQ_GET | EVHTTP_REQ_POST); /* HEAD is added in the text */
    assert_int_equal(m.params.n, 0);
}

static void test_a_malformed_parameter_is_404_for_every_method(void **state)
{
    test_match m = test_do(EVHTTP_REQ_PATCH, "/v1/things/nope");
    assert_null(m.route);
    assert_int_equal(m.allow, 0);
}

static void test_allow_text_fits_its_buffer(void **state)
{
    char text[8];
    bro_routes_allow_text(EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE, text, sizeof(text));
    assert_string_equal(text, "GET, HE");
    bro_routes_allow_text(0, text, sizeof(text));
    assert_string_equal(text, "");
}

static void test_method_names(void **state)
{
    assert_string_equal(bro_routes_method_name(EVHTTP_REQ_GET), "GET");
    assert_string_equal(bro_routes_method_name(EVHTTP_REQ_HEAD), "HEAD");
    assert_string_equal(bro_routes_method_name(EVHTTP_REQ_POST), "POST");
    assert_string_equal(bro_routes_method_name(EVHTTP_REQ_PUT), "PUT");
    assert_string_equal(bro_routes_method_name(EVHTTP_REQ_PATCH), "PATCH");
    assert_string_equal(bro_routes_method_name(EVHTTP_REQ_DELETE), "DELETE");
    assert_string_equal(bro_routes_method_name(EVHTTP_REQ_OPTIONS), "?");
}

/* ---- roles, flags and the printed table ---------------------------------------------------- */

static void test_role_bits(void **state)
{
    assert_int_equal(bro_routes_role_bit("platform_admin"), BRO_ROLE_PLATFORM_ADMIN);
    assert_int_equal(bro_routes_role_bit("tenant_admin"), BRO_ROLE_TENANT_ADMIN);
    assert_int_equal(bro_routes_role_bit("coordinator"), BRO_ROLE_COORDINATOR);
    assert_int_equal(bro_routes_role_bit("partner"), BRO_ROLE_PARTNER);
    assert_int_equal(bro_routes_role_bit("reader"), BRO_ROLE_READER);
    assert_int_equal(bro_routes_role_bit(""), 0);
    assert_int_equal(bro_routes_role_bit("Coordinator"), 0);
    assert_int_equal(bro_routes_role_bit("admin"), 0);
    assert_int_equal(BRO_ROLE_PLATFORM_ADMIN | BRO_ROLE_TENANT_ADMIN | BRO_ROLE_COORDINATOR |
                         BRO_ROLE_PARTNER | BRO_ROLE_READER,
                     BRO_ROLE_ANY);
}

static void test_a_matched_route_carries_its_roles_and_flags(void **state)
{
    test_match m = test_do(EVHTTP_REQ_GET, "/v1/things/" TEST_UUID);
    assert_true(m.route->roles & bro_routes_role_bit("partner"));
    assert_false(m.route->roles & bro_routes_role_bit("reader"));
    assert_int_equal(m.route->flags, 0);
    m = test_do(EVHTTP_REQ_DELETE, "/v1/keys/AbCd1234");
    assert_int_equal(m.route->flags, BRO_ROUTE_CHANGES_KEYS);
    assert_int_equal(bro_routes_count(), 9);
    assert_ptr_equal(bro_routes_at(m.index), m.route);
}

static void test_the_printed_table(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    bro_routes_print(out);
    fclose(out);
    assert_non_null(strstr(text, "GET\t/healthz\tlocal\t-\n"));
    assert_non_null(strstr(text, "GET\t/v1/things/{id}\tthing.get\tcoordinator,partner\n"));
    assert_non_null(
        strstr(text, "DELETE\t/v1/keys/{key_id}\tkey.revoke\tplatform_admin,tenant_admin\n"));
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    assert_int_equal(lines, 9);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_fixed_path_matches_its_row),
        cmocka_unit_test(test_id_takes_a_uuid),
        cmocka_unit_test(test_id_and_sub_id_take_uuids),
        cmocka_unit_test(test_slug_takes_a_tenant_slug),
        cmocka_unit_test(test_key_id_takes_eight_base62_characters),
        cmocka_unit_test(test_malformed_parameters_are_paths_that_do_not_exist),
        cmocka_unit_test(test_a_segment_longer_than_a_value_is_not_taken),
        cmocka_unit_test(test_trailing_slash_and_empty_segments_do_not_match),
        cmocka_unit_test(test_unknown_and_partial_paths_are_not_found),
        cmocka_unit_test(test_head_matches_get),
        cmocka_unit_test(test_head_where_there_is_no_get_is_405),
        cmocka_unit_test(test_a_wrong_method_is_405_with_the_allowed_ones),
        cmocka_unit_test(test_a_malformed_parameter_is_404_for_every_method),
        cmocka_unit_test(test_allow_text_fits_its_buffer),
        cmocka_unit_test(test_method_names),
        cmocka_unit_test(test_role_bits),
        cmocka_unit_test(test_a_matched_route_carries_its_roles_and_flags),
        cmocka_unit_test(test_the_printed_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
