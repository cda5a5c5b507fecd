/* Unit tests for services/worker/notify/ssrf.c: which addresses are private, link-local,
 * loopback, metadata or reserved (IPv4, IPv6 and IPv4-mapped IPv6), the URL forms refused, and
 * the check with address literals (no DNS needed). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "notify/ssrf.h"

static bro_ssrf_class bro_test_class(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(text, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, &a->sin_addr), 1);
    }
    return bro_ssrf_classify((struct sockaddr *)&ss);
}

static void test_addresses_are_classified(void **state)
{
    (void)state;
    static const struct {
        const char *addr;
        bro_ssrf_class want;
    } cases[] = {
        {"8.8.8.8", BRO_SSRF_PUBLIC},
        {"127.0.0.1", BRO_SSRF_LOOPBACK},
        {"127.255.0.9", BRO_SSRF_LOOPBACK},
        {"10.1.2.3", BRO_SSRF_PRIVATE},
        {"172.16.0.1", BRO_SSRF_PRIVATE},
        {"172.31.255.1", BRO_SSRF_PRIVATE},
        {"172.32.0.1", BRO_SSRF_PUBLIC},
        {"192.168.0.1", BRO_SSRF_PRIVATE},
        {"100.64.0.1", BRO_SSRF_PRIVATE},
        {"169.254.1.1", BRO_SSRF_LINK},
        {"169.254.169.254", BRO_SSRF_METADATA},
        {"0.0.0.0", BRO_SSRF_RESERVED},
        {"224.0.0.1", BRO_SSRF_RESERVED},
        {"255.255.255.255", BRO_SSRF_RESERVED},
        {"::1", BRO_SSRF_LOOPBACK},
        {"::", BRO_SSRF_RESERVED},
        {"fc00::1", BRO_SSRF_PRIVATE},
        {"fd12::1", BRO_SSRF_PRIVATE},
        {"fe80::1", BRO_SSRF_LINK},
        {"fd00:ec2::254", BRO_SSRF_METADATA},
        {"::ffff:10.0.0.1", BRO_SSRF_PRIVATE},
        {"::ffff:127.0.0.1", BRO_SSRF_LOOPBACK},
        {"2a00:1450::1", BRO_SSRF_PUBLIC},
        {"ff02::1", BRO_SSRF_RESERVED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (bro_test_class(cases[i].addr) != cases[i].want)
            fail_msg("%s: class %d, want %d", cases[i].addr, bro_test_class(cases[i].addr),
                     cases[i].want);
    }
}

static void test_url_forms(void **state)
{
    (void)state;
    bro_ssrf_target t;
    char msg[128];
    assert_int_equal(bro_ssrf_parse("https://Partner.example.no:8443/h?x=1", &t, msg, sizeof(msg)),
                     0);
    assert_string_equal(t.host, "Partner.example.no");
    assert_int_equal(t.port, 8443);
    assert_int_equal(t.https, 1);
    assert_int_equal(bro_ssrf_parse("https://[::1]/h", &t, msg, sizeof(msg)), 0);
    assert_string_equal(t.host, "::1");
    assert_int_equal(t.port, 443);
    const char *bad[] = {
        "ftp://x.no/",         "https://",       "https://a@b.no/",    "https://x.no:0/",
        "https://x.no:99999/", "https://x .no/", "https://x.no/#frag", "https://[::1/",
        "javascript:alert(1)"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (bro_ssrf_parse(bad[i], &t, msg, sizeof(msg)) != -1)
            fail_msg("%s was accepted", bad[i]);
}

static void test_the_check_follows_the_policy(void **state)
{
    (void)state;
    bro_ssrf_target t;
    char msg[128];
    int unresolved = 0;
    bro_ssrf_policy strict = {0, 0}, loopback = {1, 0}, private_ok = {0, 1};
    assert_int_equal(
        bro_ssrf_check("https://127.0.0.1/h", &strict, &t, &unresolved, msg, sizeof(msg)), -1);
    assert_int_equal(unresolved, 0);
    assert_int_equal(
        bro_ssrf_check("http://127.0.0.1:8080/h", &loopback, &t, &unresolved, msg, sizeof(msg)), 0);
    assert_string_equal(t.addr, "127.0.0.1");
    assert_int_equal(
        bro_ssrf_check("http://10.0.0.1/h", &private_ok, &t, &unresolved, msg, sizeof(msg)),
        -1); /* http only to loopback, whatever the addresses allowed */
    assert_string_equal(msg, "must be an https:// URL");
    assert_int_equal(
        bro_ssrf_check("https://10.0.0.1/h", &loopback, &t, &unresolved, msg, sizeof(msg)), -1);
    assert_int_equal(
        bro_ssrf_check("https://10.0.0.1/h", &private_ok, &t, &unresolved, msg, sizeof(msg)), 0);
    assert_int_equal(
        bro_ssrf_check("https://169.254.169.254/", &loopback, &t, &unresolved, msg, sizeof(msg)),
        -1);
    assert_string_equal(msg, "the URL's host is a cloud metadata address");
    assert_int_equal(
        bro_ssrf_check("https://[::1]:9/h", &loopback, &t, &unresolved, msg, sizeof(msg)), 0);
    assert_string_equal(t.addr, "[::1]");
}

/* The delivery's two steps: the URL's form without DNS, then each address connected to. */
static void test_the_delivery_checks_form_then_address(void **state)
{
    (void)state;
    bro_ssrf_target t;
    char msg[128];
    bro_ssrf_policy strict = {0, 0}, loopback = {1, 0};
    /* A name passes the form whatever it resolves to; no DNS is asked. */
    assert_int_equal(bro_ssrf_precheck("https://localhost:9/h", &strict, &t, msg, sizeof(msg)), 0);
    assert_string_equal(t.addr, "");
    assert_int_equal(bro_ssrf_precheck("http://localhost:9/h", &strict, &t, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "must be an https:// URL");
    assert_int_equal(bro_ssrf_precheck("http://localhost:9/h", &loopback, &t, msg, sizeof(msg)), 0);
    assert_int_equal(bro_ssrf_precheck("http://example.no/h", &loopback, &t, msg, sizeof(msg)), -1);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
    const struct sockaddr *sa = (const struct sockaddr *)&a;
    assert_int_equal(bro_ssrf_address_ok(sa, &strict, 1, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "the URL's host is a loopback address");
    assert_int_equal(bro_ssrf_address_ok(sa, &loopback, 0, msg, sizeof(msg)), 0);
    assert_int_equal(inet_pton(AF_INET, "93.184.216.34", &a.sin_addr), 1);
    assert_int_equal(bro_ssrf_address_ok(sa, &loopback, 1, msg, sizeof(msg)), 0);
    assert_int_equal(bro_ssrf_address_ok(sa, &loopback, 0, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "must be an https:// URL"); /* a name that resolved elsewhere */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addresses_are_classified),
        cmocka_unit_test(test_url_forms),
        cmocka_unit_test(test_the_check_follows_the_policy),
        cmocka_unit_test(test_the_delivery_checks_form_then_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
