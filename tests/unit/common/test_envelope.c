/* Unit tests for common/envelope.c: a round trip, each class of malformed message, and every
 * file of the fuzz corpus decoded without harm. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/envelope.h"
#include "common/jmp.h"

static void test_body(msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "data", 4);
    msgpack_pack_int(&pk, 42);
}

static bro_envelope test_sample(void)
{
    bro_envelope e;
    memset(&e, 0, sizeof(e));
    e.v = 1;
    strcpy(e.id, "01a20696-c570-7166-a468-9b3df28d303c");
    strcpy(e.kind, "candidate.get");
    strcpy(e.tenant, "ringerike");
    strcpy(e.actor.key_id, "AbCd1234");
    strcpy(e.actor.role, "coordinator");
    e.deadline = 1790000000000LL;
    e.attempt = 1;
    strcpy(e.req, "req-1");
    return e;
}

static void test_round_trip(void **state)
{
    (void)state;
    msgpack_sbuffer body, out;
    msgpack_sbuffer_init(&body);
    msgpack_sbuffer_init(&out);
    test_body(&body);
    bro_envelope e = test_sample(), d;
    strcpy(e.idem, "idem-1");
    bro_err err = {0};
    assert_int_equal(bro_envelope_pack(&out, &e, body.data, body.size, &err), 0);
    msgpack_unpacked holder;
    msgpack_unpacked_init(&holder);
    assert_int_equal(bro_envelope_decode(&d, &holder, out.data, out.size, &err), 0);
    assert_string_equal(d.id, e.id);
    assert_string_equal(d.kind, "candidate.get");
    assert_string_equal(d.tenant, "ringerike");
    assert_string_equal(d.actor.role, "coordinator");
    assert_string_equal(d.actor.org, "");
    assert_string_equal(d.reply_to, "");
    assert_string_equal(d.idem, "idem-1");
    assert_int_equal(d.deadline, e.deadline);
    const msgpack_object *v = bro_jmp_map_get(d.body, "data");
    assert_non_null(v);
    assert_int_equal(v->via.u64, 42);
    msgpack_unpacked_destroy(&holder);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&out);
}

/* Packs a map from alternating key/value JSON snippets converted to msgpack, and decodes it. */
static int test_decode_json(const char *json)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    bro_err err = {0};
    assert_int_equal(bro_jmp_pack_json_text(&pk, json, strlen(json), &err), 0);
    msgpack_unpacked holder;
    msgpack_unpacked_init(&holder);
    bro_envelope e;
    int rc = bro_envelope_decode(&e, &holder, sb.data, sb.size, &err);
    if (rc < 0)
        assert_int_equal(err.code, BRO_E_DECODE);
    msgpack_unpacked_destroy(&holder);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

#define TEST_GOOD                                                                                  \
    "\"id\":\"01a20696-c570-7166-a468-9b3df28d303c\",\"kind\":\"k\",\"tenant\":\"\","              \
    "\"actor\":{\"key_id\":\"\",\"role\":\"\",\"org\":null},\"reply_to\":null,\"deadline\":0,"     \
    "\"attempt\":1,\"idem\":null,\"req\":\"r\",\"body\":{}"

static void test_malformed_messages_are_rejected(void **state)
{
    (void)state;
    assert_int_equal(test_decode_json("{\"v\":1," TEST_GOOD "}"), 0);
    assert_int_equal(test_decode_json("{\"v\":2," TEST_GOOD "}"), -1);         /* version */
    assert_int_equal(test_decode_json("{" TEST_GOOD "}"), -1);                 /* missing v */
    assert_int_equal(test_decode_json("{\"v\":1,\"x\":1," TEST_GOOD "}"), -1); /* unknown key */
    assert_int_equal(test_decode_json("{\"v\":\"1\"," TEST_GOOD "}"), -1);     /* wrong type */
    assert_int_equal(test_decode_json("[1,2,3]"), -1);                         /* not a map */
    char buf[1024];
    snprintf(buf, sizeof(buf), "{\"v\":1,%s}", TEST_GOOD);
    memcpy(strstr(buf, "\"req\":\"r\""), "\"req\":7  ", 9); /* wrong type inside */
    assert_int_equal(test_decode_json(buf), -1);
    snprintf(buf, sizeof(buf), "{\"v\":1,%s}", TEST_GOOD);
    memcpy(strstr(buf, "\"body\":{}"), "\"body\":[]", 9); /* body must be a map */
    assert_int_equal(test_decode_json(buf), -1);
    snprintf(buf, sizeof(buf), "{\"v\":1,%s}", TEST_GOOD);
    char *k = strstr(buf, "\"kind\":\"k\"") + 8; /* the value's one character */
    memmove(k + 70, k + 1, strlen(k + 1) + 1);
    memset(k, 'x', 70); /* longer than the kind buffer */
    assert_int_equal(test_decode_json(buf), -1);
}

static void test_truncated_and_trailing_bytes(void **state)
{
    (void)state;
    msgpack_sbuffer body, out;
    msgpack_sbuffer_init(&body);
    msgpack_sbuffer_init(&out);
    test_body(&body);
    bro_envelope e = test_sample(), d;
    bro_err err = {0};
    assert_int_equal(bro_envelope_pack(&out, &e, body.data, body.size, &err), 0);
    msgpack_unpacked holder;
    for (size_t cut = 0; cut < out.size; cut++) {
        msgpack_unpacked_init(&holder);
        assert_int_equal(bro_envelope_decode(&d, &holder, out.data, cut, &err), -1);
        msgpack_unpacked_destroy(&holder);
    }
    msgpack_sbuffer_write(&out, "\x01", 1);
    msgpack_unpacked_init(&holder);
    assert_int_equal(bro_envelope_decode(&d, &holder, out.data, out.size, &err), -1);
    msgpack_unpacked_destroy(&holder);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&out);
}

static void test_reply_round_trip(void **state)
{
    (void)state;
    msgpack_sbuffer body, out;
    msgpack_sbuffer_init(&body);
    msgpack_sbuffer_init(&out);
    test_body(&body);
    bro_err err = {0};
    assert_int_equal(bro_envelope_reply_pack(&out, "01a20696-c570-7166-a468-9b3df28d303c", 201, 0,
                                             body.data, body.size, &err),
                     0);
    bro_reply r;
    msgpack_unpacked holder;
    msgpack_unpacked_init(&holder);
    assert_int_equal(bro_envelope_reply_decode(&r, &holder, out.data, out.size, &err), 0);
    assert_int_equal(r.status, 201);
    assert_false(r.is_error);
    assert_non_null(bro_jmp_map_get(r.body, "data"));
    msgpack_unpacked_destroy(&holder);
    /* a problem must be a map */
    out.size = 0;
    assert_int_equal(bro_envelope_reply_pack(&out, "x", 500, 1, "\x01", 1, &err), -1);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&out);
}

/* Every corpus file goes through both decoders; the sanitizers watch. */
static void test_fuzz_corpus_is_harmless(void **state)
{
    (void)state;
    char dir[512];
    const char *env = getenv("BRO_FUZZ_CORPUS");
    if (env)
        snprintf(dir, sizeof(dir), "%s/envelope", env);
    else
        snprintf(dir, sizeof(dir), "%.*s/../../fuzz/corpus/envelope",
                 (int)(strrchr(__FILE__, '/') - __FILE__), __FILE__);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        char buf[65536];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        msgpack_unpacked holder;
        bro_envelope e;
        bro_reply r;
        bro_err err = {0};
        msgpack_unpacked_init(&holder);
        if (bro_envelope_decode(&e, &holder, buf, n, &err) == 0)
            assert_non_null(e.body);
        else
            assert_int_equal(err.code, BRO_E_DECODE);
        msgpack_unpacked_destroy(&holder);
        msgpack_unpacked_init(&holder);
        if (bro_envelope_reply_decode(&r, &holder, buf, n, &err) == 0)
            assert_true(r.status >= 100 && r.status <= 599);
        msgpack_unpacked_destroy(&holder);
        files++;
    }
    closedir(d);
    assert_true(files >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_malformed_messages_are_rejected),
        cmocka_unit_test(test_truncated_and_trailing_bytes),
        cmocka_unit_test(test_reply_round_trip),
        cmocka_unit_test(test_fuzz_corpus_is_harmless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
