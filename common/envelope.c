/* The job envelope and the reply: packing, and strict decoding that rejects anything not
 * exactly as DESIGN.md describes it. */
#include "common/envelope.h"

#include <stdio.h>
#include <string.h>

#include "common/jmp.h"

#define BRO_ENVELOPE_KEYS 11

static void bro_envelope_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void bro_envelope_str_or_nil(msgpack_packer *pk, const char *s)
{
    if (s[0])
        bro_envelope_str(pk, s);
    else
        msgpack_pack_nil(pk);
}

/* Checks that buf holds exactly one msgpack value, of the given type unless any is set. */
static int bro_envelope_one_value(const char *buf, size_t len, msgpack_object_type type, int any)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int ok = bro_mp_unpack_one(&u, buf, len) == 0 && (any || u.data.type == type);
    msgpack_unpacked_destroy(&u);
    return ok;
}

int bro_envelope_pack(msgpack_sbuffer *out, const bro_envelope *e, const char *body,
                      size_t body_len, bro_err *err)
{
    if (body == NULL || !bro_envelope_one_value(body, body_len, MSGPACK_OBJECT_MAP, 0))
        return bro_err_set(err, BRO_E_INVALID, "envelope body must be one msgpack map");
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, BRO_ENVELOPE_KEYS);
    bro_envelope_str(&pk, "v");
    msgpack_pack_int(&pk, BRO_ENVELOPE_VERSION);
    bro_envelope_str(&pk, "id");
    bro_envelope_str(&pk, e->id);
    bro_envelope_str(&pk, "kind");
    bro_envelope_str(&pk, e->kind);
    bro_envelope_str(&pk, "tenant");
    bro_envelope_str(&pk, e->tenant);
    bro_envelope_str(&pk, "actor");
    msgpack_pack_map(&pk, 3);
    bro_envelope_str(&pk, "key_id");
    bro_envelope_str(&pk, e->actor.key_id);
    bro_envelope_str(&pk, "role");
    bro_envelope_str(&pk, e->actor.role);
    bro_envelope_str(&pk, "org");
    bro_envelope_str_or_nil(&pk, e->actor.org);
    bro_envelope_str(&pk, "reply_to");
    bro_envelope_str_or_nil(&pk, e->reply_to);
    bro_envelope_str(&pk, "deadline");
    msgpack_pack_int64(&pk, e->deadline);
    bro_envelope_str(&pk, "attempt");
    msgpack_pack_int(&pk, e->attempt);
    bro_envelope_str(&pk, "idem");
    bro_envelope_str_or_nil(&pk, e->idem);
    bro_envelope_str(&pk, "req");
    bro_envelope_str(&pk, e->req);
    bro_envelope_str(&pk, "body");
    msgpack_sbuffer_write(out, body, body_len);
    if (out->size > BRO_ENVELOPE_MAX)
        return bro_err_set(err, BRO_E_TOO_LARGE, "envelope larger than %d bytes", BRO_ENVELOPE_MAX);
    return 0;
}

/* ---- strict decoding ----------------------------------------------------------------------- */

/* Copies a str (or nil when nil_ok) into dst of n bytes; "" for nil. */
static int bro_envelope_take_str(const msgpack_object *o, char *dst, size_t n, int nil_ok,
                                 const char *key, bro_err *err)
{
    if (o->type == MSGPACK_OBJECT_NIL && nil_ok) {
        dst[0] = '\0';
        return 0;
    }
    if (o->type != MSGPACK_OBJECT_STR)
        return bro_err_set(err, BRO_E_DECODE, "envelope: \"%s\" must be a string", key);
    if (o->via.str.size >= n)
        return bro_err_set(err, BRO_E_DECODE, "envelope: \"%s\" is too long", key);
    if (memchr(o->via.str.ptr, '\0', o->via.str.size))
        return bro_err_set(err, BRO_E_DECODE, "envelope: \"%s\" holds a NUL byte", key);
    memcpy(dst, o->via.str.ptr, o->via.str.size);
    dst[o->via.str.size] = '\0';
    return 0;
}

static int bro_envelope_take_int(const msgpack_object *o, int64_t *dst, const char *key,
                                 bro_err *err)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)INT64_MAX)
        *dst = (int64_t)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *dst = o->via.i64;
    else
        return bro_err_set(err, BRO_E_DECODE, "envelope: \"%s\" must be an integer", key);
    return 0;
}

/* Finds the index of key in names, or -1. */
static int bro_envelope_key_index(const msgpack_object *k, const char *const *names, int n)
{
    if (k->type != MSGPACK_OBJECT_STR)
        return -1;
    for (int i = 0; i < n; i++)
        if (strlen(names[i]) == k->via.str.size &&
            memcmp(names[i], k->via.str.ptr, k->via.str.size) == 0)
            return i;
    return -1;
}

/* Checks that map o has exactly the keys in names, each once; fills vals[i] for names[i]. */
static int bro_envelope_exact_keys(const msgpack_object *o, const char *const *names, int n,
                                   const msgpack_object **vals, const char *what, bro_err *err)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return bro_err_set(err, BRO_E_DECODE, "%s: not a map", what);
    for (int i = 0; i < n; i++)
        vals[i] = NULL;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        int idx = bro_envelope_key_index(&o->via.map.ptr[i].key, names, n);
        if (idx < 0)
            return bro_err_set(err, BRO_E_DECODE, "%s: unknown key", what);
        if (vals[idx])
            return bro_err_set(err, BRO_E_DECODE, "%s: key \"%s\" twice", what, names[idx]);
        vals[idx] = &o->via.map.ptr[i].val;
    }
    for (int i = 0; i < n; i++)
        if (vals[i] == NULL)
            return bro_err_set(err, BRO_E_DECODE, "%s: missing \"%s\"", what, names[i]);
    return 0;
}

/* Unpacks exactly one value filling the whole buffer. */
static int bro_envelope_unpack(msgpack_unpacked *holder, const char *buf, size_t len,
                               const char *what, size_t max, bro_err *err)
{
    if (len > max)
        return bro_err_set(err, BRO_E_DECODE, "%s: larger than %zu bytes", what, max);
    size_t end = bro_mp_bounded(buf, len);
    if (end == 0)
        return bro_err_set(err, BRO_E_DECODE, "%s: not msgpack, or truncated", what);
    if (end != len)
        return bro_err_set(err, BRO_E_DECODE, "%s: trailing bytes", what);
    if (bro_mp_unpack_one(holder, buf, len) < 0)
        return bro_err_set(err, BRO_E_DECODE, "%s: not msgpack", what);
    return 0;
}

static int bro_envelope_take_actor(const msgpack_object *o, bro_actor *a, bro_err *err)
{
    static const char *const names[] = {"key_id", "role", "org"};
    const msgpack_object *v[3];
    if (bro_envelope_exact_keys(o, names, 3, v, "envelope actor", err) < 0 ||
        bro_envelope_take_str(v[0], a->key_id, sizeof(a->key_id), 0, "actor.key_id", err) < 0 ||
        bro_envelope_take_str(v[1], a->role, sizeof(a->role), 0, "actor.role", err) < 0 ||
        bro_envelope_take_str(v[2], a->org, sizeof(a->org), 1, "actor.org", err) < 0)
        return -1;
    return 0;
}

int bro_envelope_decode(bro_envelope *e, msgpack_unpacked *holder, const char *buf, size_t len,
                        bro_err *err)
{
    static const char *const names[BRO_ENVELOPE_KEYS] = {"v",     "id",       "kind",     "tenant",
                                                         "actor", "reply_to", "deadline", "attempt",
                                                         "idem",  "req",      "body"};
    const msgpack_object *v[BRO_ENVELOPE_KEYS];
    int64_t version = 0, deadline = 0, attempt = 0;
    memset(e, 0, sizeof(*e));
    if (bro_envelope_unpack(holder, buf, len, "envelope", BRO_ENVELOPE_MAX, err) < 0 ||
        bro_envelope_exact_keys(&holder->data, names, BRO_ENVELOPE_KEYS, v, "envelope", err) < 0 ||
        bro_envelope_take_int(v[0], &version, "v", err) < 0)
        return -1;
    if (version != BRO_ENVELOPE_VERSION)
        return bro_err_set(err, BRO_E_DECODE, "envelope: unknown version %lld", (long long)version);
    if (bro_envelope_take_str(v[1], e->id, sizeof(e->id), 0, "id", err) < 0 ||
        bro_envelope_take_str(v[2], e->kind, sizeof(e->kind), 0, "kind", err) < 0 ||
        bro_envelope_take_str(v[3], e->tenant, sizeof(e->tenant), 0, "tenant", err) < 0 ||
        bro_envelope_take_actor(v[4], &e->actor, err) < 0 ||
        bro_envelope_take_str(v[5], e->reply_to, sizeof(e->reply_to), 1, "reply_to", err) < 0 ||
        bro_envelope_take_int(v[6], &deadline, "deadline", err) < 0 ||
        bro_envelope_take_int(v[7], &attempt, "attempt", err) < 0 ||
        bro_envelope_take_str(v[8], e->idem, sizeof(e->idem), 1, "idem", err) < 0 ||
        bro_envelope_take_str(v[9], e->req, sizeof(e->req), 0, "req", err) < 0)
        return -1;
    if (!bro_ids_is_uuid(e->id))
        return bro_err_set(err, BRO_E_DECODE, "envelope: \"id\" is not a UUID");
    if (e->kind[0] == '\0')
        return bro_err_set(err, BRO_E_DECODE, "envelope: \"kind\" is empty");
    if (attempt < 1 || attempt > 1000)
        return bro_err_set(err, BRO_E_DECODE, "envelope: \"attempt\" out of range");
    if (v[10]->type != MSGPACK_OBJECT_MAP)
        return bro_err_set(err, BRO_E_DECODE, "envelope: \"body\" must be a map");
    e->v = (int)version;
    e->deadline = deadline;
    e->attempt = (int)attempt;
    e->body = v[10];
    return 0;
}

/* ---- replies ------------------------------------------------------------------------------- */

int bro_envelope_reply_pack(msgpack_sbuffer *out, const char *id, int status, int is_error,
                            const char *payload, size_t payload_len, bro_err *err)
{
    /* A body may be any single value; a problem must be a map. */
    if (payload && !bro_envelope_one_value(payload, payload_len, MSGPACK_OBJECT_MAP, !is_error))
        return bro_err_set(err, BRO_E_INVALID, "reply payload must be one msgpack value");
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    bro_envelope_str(&pk, "v");
    msgpack_pack_int(&pk, BRO_ENVELOPE_VERSION);
    bro_envelope_str(&pk, "id");
    bro_envelope_str(&pk, id);
    bro_envelope_str(&pk, "status");
    msgpack_pack_int(&pk, status);
    bro_envelope_str(&pk, is_error ? "error" : "body");
    if (payload)
        msgpack_sbuffer_write(out, payload, payload_len);
    else
        msgpack_pack_nil(&pk);
    return 0;
}

int bro_envelope_reply_decode(bro_reply *r, msgpack_unpacked *holder, const char *buf, size_t len,
                              bro_err *err)
{
    static const char *const names[] = {"v", "id", "status", "body", "error"};
    const msgpack_object *v[5] = {0};
    memset(r, 0, sizeof(*r));
    if (bro_envelope_unpack(holder, buf, len, "reply", BRO_REPLY_MAX, err) < 0)
        return -1;
    const msgpack_object *o = &holder->data;
    if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size != 4)
        return bro_err_set(err, BRO_E_DECODE, "reply: must be a map of 4 keys");
    for (uint32_t i = 0; i < 4; i++) {
        int idx = bro_envelope_key_index(&o->via.map.ptr[i].key, names, 5);
        if (idx < 0 || v[idx])
            return bro_err_set(err, BRO_E_DECODE, "reply: unknown or repeated key");
        v[idx] = &o->via.map.ptr[i].val;
    }
    int64_t version = 0, status = 0;
    if (!v[0] || !v[1] || !v[2] || (!v[3] == !v[4]))
        return bro_err_set(err, BRO_E_DECODE, "reply: needs v, id, status and body or error");
    if (bro_envelope_take_int(v[0], &version, "v", err) < 0 ||
        bro_envelope_take_str(v[1], r->id, sizeof(r->id), 0, "id", err) < 0 ||
        bro_envelope_take_int(v[2], &status, "status", err) < 0)
        return -1;
    if (version != BRO_ENVELOPE_VERSION)
        return bro_err_set(err, BRO_E_DECODE, "reply: unknown version");
    if (status < 100 || status > 599)
        return bro_err_set(err, BRO_E_DECODE, "reply: status out of range");
    if (v[4] && v[4]->type != MSGPACK_OBJECT_MAP)
        return bro_err_set(err, BRO_E_DECODE, "reply: error must be a map");
    r->v = (int)version;
    r->status = (int)status;
    r->is_error = v[4] != NULL;
    r->body = v[4] ? v[4] : v[3];
    return 0;
}
