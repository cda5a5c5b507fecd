/* JSON <-> msgpack on jansson and msgpack-c, with a depth limit both ways and no duplicate keys
 * either way. */
#include "common/jmp.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int bro_jmp_pack(msgpack_packer *pk, const json_t *v, int depth, bro_err *err)
{
    if (depth > BRO_JMP_MAX_DEPTH)
        return bro_err_set(err, BRO_E_DECODE, "nesting deeper than %d", BRO_JMP_MAX_DEPTH);
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        msgpack_pack_map(pk, json_object_size(v));
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val)
        {
            msgpack_pack_str_with_body(pk, key, strlen(key));
            if (bro_jmp_pack(pk, val, depth + 1, err) < 0)
                return -1;
        }
        return 0;
    }
    case JSON_ARRAY: {
        msgpack_pack_array(pk, json_array_size(v));
        size_t i;
        json_t *val;
        json_array_foreach(v, i, val)
        {
            if (bro_jmp_pack(pk, val, depth + 1, err) < 0)
                return -1;
        }
        return 0;
    }
    case JSON_STRING:
        return msgpack_pack_str_with_body(pk, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return msgpack_pack_int64(pk, json_integer_value(v));
    case JSON_REAL:
        return msgpack_pack_double(pk, json_real_value(v));
    case JSON_TRUE:
        return msgpack_pack_true(pk);
    case JSON_FALSE:
        return msgpack_pack_false(pk);
    case JSON_NULL:
        return msgpack_pack_nil(pk);
    }
    return bro_err_set(err, BRO_E_INTERNAL, "unknown JSON type");
}

int bro_jmp_pack_json(msgpack_packer *pk, const json_t *v, bro_err *err)
{
    return bro_jmp_pack(pk, v, 0, err) < 0 ? -1 : 0;
}

int bro_jmp_pack_json_text(msgpack_packer *pk, const char *text, size_t len, bro_err *err)
{
    json_error_t jerr;
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (v == NULL)
        return bro_err_set(err, BRO_E_DECODE, "invalid JSON at line %d, column %d: %s", jerr.line,
                           jerr.column, jerr.text);
    int rc = bro_jmp_pack_json(pk, v, err);
    json_decref(v);
    return rc;
}

static json_t *bro_jmp_build(const msgpack_object *o, int depth, bro_err *err)
{
    if (depth > BRO_JMP_MAX_DEPTH) {
        bro_err_set(err, BRO_E_DECODE, "nesting deeper than %d", BRO_JMP_MAX_DEPTH);
        return NULL;
    }
    json_t *v = NULL;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        v = json_null();
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        v = json_boolean(o->via.boolean);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX) {
            bro_err_set(err, BRO_E_DECODE, "integer out of range");
            return NULL;
        }
        v = json_integer((json_int_t)o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        v = json_integer((json_int_t)o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (!isfinite(o->via.f64)) {
            bro_err_set(err, BRO_E_DECODE, "number is not finite");
            return NULL;
        }
        v = json_real(o->via.f64);
        break;
    case MSGPACK_OBJECT_STR:
        v = json_stringn(o->via.str.ptr, o->via.str.size);
        if (v == NULL) {
            bro_err_set(err, BRO_E_DECODE, "string is not valid UTF-8");
            return NULL;
        }
        break;
    case MSGPACK_OBJECT_ARRAY:
        v = json_array();
        for (uint32_t i = 0; v && i < o->via.array.size; i++) {
            json_t *item = bro_jmp_build(&o->via.array.ptr[i], depth + 1, err);
            if (item == NULL || json_array_append_new(v, item) < 0) {
                json_decref(v);
                return NULL;
            }
        }
        break;
    case MSGPACK_OBJECT_MAP:
        v = json_object();
        for (uint32_t i = 0; v && i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (k->type != MSGPACK_OBJECT_STR) {
                bro_err_set(err, BRO_E_DECODE, "map key is not a string");
                json_decref(v);
                return NULL;
            }
            /* As JSON_REJECT_DUPLICATES does for JSON: which of two values would count is
             * up to each reader, so a repeated key is an error, never "the last one wins". */
            if (json_object_getn(v, k->via.str.ptr, k->via.str.size) != NULL) {
                bro_err_set(err, BRO_E_DECODE, "a map has the same key twice");
                json_decref(v);
                return NULL;
            }
            json_t *item = bro_jmp_build(&o->via.map.ptr[i].val, depth + 1, err);
            if (item == NULL) {
                json_decref(v);
                return NULL;
            }
            /* json_object_setn_new checks the key is valid UTF-8 and takes item either way. */
            if (json_object_setn_new(v, k->via.str.ptr, k->via.str.size, item) < 0) {
                bro_err_set(err, BRO_E_DECODE, "map key is not valid UTF-8");
                json_decref(v);
                return NULL;
            }
        }
        break;
    default:
        bro_err_set(err, BRO_E_DECODE, "bin and ext values have no JSON form");
        return NULL;
    }
    if (v == NULL && err && err->code == BRO_E_NONE)
        bro_err_set(err, BRO_E_NOMEM, "out of memory");
    return v;
}

json_t *bro_jmp_to_json(const msgpack_object *o, bro_err *err)
{
    return bro_jmp_build(o, 0, err);
}

char *bro_jmp_to_json_text(const msgpack_object *o, size_t *len, bro_err *err)
{
    json_t *v = bro_jmp_to_json(o, err);
    if (v == NULL)
        return NULL;
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    json_decref(v);
    if (text == NULL) {
        bro_err_set(err, BRO_E_NOMEM, "out of memory");
        return NULL;
    }
    if (len)
        *len = strlen(text);
    return text;
}

const msgpack_object *bro_jmp_map_get(const msgpack_object *o, const char *key)
{
    if (o == NULL || o->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, key, n) == 0)
            return &o->via.map.ptr[i].val;
    }
    return NULL;
}

/* Reads an n-byte big-endian length at buf[*off]; returns -1 when it runs past len. */
static int bro_mp_read_len(const unsigned char *buf, size_t len, size_t *off, int n, uint64_t *out)
{
    if ((size_t)n > len - *off)
        return -1;
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | buf[*off + i];
    *off += n;
    *out = v;
    return 0;
}

size_t bro_mp_bounded(const char *data, size_t len)
{
    const unsigned char *buf = (const unsigned char *)data;
    size_t off = 0;
    uint64_t pending = 1; /* values still to read; each needs at least one byte */
    while (pending > 0) {
        if (off >= len)
            return 0;
        unsigned char b = buf[off++];
        pending--;
        uint64_t skip = 0, items = 0;
        int width = 0; /* bytes of a length field that follows b */
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            /* fixint, nil, bool */
        } else if (b <= 0x8f) {
            items = 2 * (uint64_t)(b & 0x0f);
        } else if (b <= 0x9f) {
            items = b & 0x0f;
        } else if (b <= 0xbf) {
            skip = b & 0x1f;
        } else {
            switch (b) {
            case 0xc4:
            case 0xd9:
                width = 1;
                break; /* bin8, str8 */
            case 0xc5:
            case 0xda:
                width = 2;
                break; /* bin16, str16 */
            case 0xc6:
            case 0xdb:
                width = 4;
                break; /* bin32, str32 */
            case 0xc7:
                width = 1;
                skip = 1;
                break; /* ext8: length, type */
            case 0xc8:
                width = 2;
                skip = 1;
                break;
            case 0xc9:
                width = 4;
                skip = 1;
                break;
            case 0xcc:
            case 0xd0:
                skip = 1;
                break;
            case 0xcd:
            case 0xd1:
                skip = 2;
                break;
            case 0xca:
            case 0xce:
            case 0xd2:
                skip = 4;
                break;
            case 0xcb:
            case 0xcf:
            case 0xd3:
                skip = 8;
                break;
            case 0xd4:
                skip = 2;
                break; /* fixext: type + data */
            case 0xd5:
                skip = 3;
                break;
            case 0xd6:
                skip = 5;
                break;
            case 0xd7:
                skip = 9;
                break;
            case 0xd8:
                skip = 17;
                break;
            case 0xdc:
            case 0xde:
                width = -2;
                break; /* array16, map16 */
            case 0xdd:
            case 0xdf:
                width = -4;
                break; /* array32, map32 */
            default:
                return 0; /* 0xc1 is never used */
            }
        }
        if (width != 0) {
            uint64_t n;
            if (bro_mp_read_len(buf, len, &off, width < 0 ? -width : width, &n) < 0)
                return 0;
            if (width > 0)
                skip += n;
            else
                items = (b == 0xde || b == 0xdf) ? 2 * n : n;
        }
        if (skip > len - off)
            return 0;
        off += skip;
        pending += items;
        if (pending > len - off)
            return 0;
    }
    return off;
}

int bro_mp_unpack_one(msgpack_unpacked *u, const char *buf, size_t len)
{
    size_t off = 0;
    if (bro_mp_bounded(buf, len) != len)
        return -1;
    if (msgpack_unpack_next(u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len)
        return -1;
    return 0;
}
