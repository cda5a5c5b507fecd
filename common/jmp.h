/* JSON <-> msgpack conversion on jansson and msgpack-c. The gateway turns request bodies
 * into msgpack and replies back into JSON; workers use it for jsonb columns. Named limits
 * keep hostile input from exhausting the stack. */
#ifndef BRO_JMP_H
#define BRO_JMP_H

#include <jansson.h>
#include <msgpack.h>

#include "common/error.h"

#define BRO_JMP_MAX_DEPTH 32 /* nesting of arrays and objects */

/* Packs a jansson value into pk. Integers stay integers, reals become float64, strings stay
 * strings. Returns 0, or -1 with err set when the depth limit is exceeded. */
int bro_jmp_pack_json(msgpack_packer *pk, const json_t *v, bro_err *err) BRO_MUST_USE;

/* Builds a new jansson value from a msgpack object. The caller owns the result (json_decref).
 * Returns NULL with err set when the object cannot be JSON: a map key that is not a string,
 * a map with a key twice (at any depth, as bro_jmp_pack_json_text refuses for JSON), a string
 * that is not valid UTF-8, bin or ext data, NaN/Inf, or nesting past the limit. */
json_t *bro_jmp_to_json(const msgpack_object *o, bro_err *err);

/* Parses a JSON text (len bytes, need not be NUL-terminated) and packs it into pk.
 * Rejects duplicate keys and invalid UTF-8. On failure err->msg says where and why. */
int bro_jmp_pack_json_text(msgpack_packer *pk, const char *text, size_t len,
                           bro_err *err) BRO_MUST_USE;

/* Serialises a msgpack object as compact JSON text. Returns a malloc'd NUL-terminated string
 * the caller frees, with its length in *len (may be NULL); NULL with err set on failure. */
char *bro_jmp_to_json_text(const msgpack_object *o, size_t *len, bro_err *err);

/* msgpack-c allocates a container's elements as soon as it reads the header, so six bytes
 * declaring 2^32 entries would ask for tens of gigabytes. Checks that buf begins with one
 * complete msgpack value whose containers never declare more elements than the bytes left
 * could hold; unpacking such a value allocates in proportion to len. Returns the value's
 * length in bytes, or 0 when it is truncated, malformed or inflated. */
size_t bro_mp_bounded(const char *buf, size_t len);

/* Unpacks exactly one msgpack value that fills buf, after bro_mp_bounded. Returns 0, or -1
 * when buf is not exactly one bounded value. */
int bro_mp_unpack_one(msgpack_unpacked *u, const char *buf, size_t len) BRO_MUST_USE;

/* Looks up key in a msgpack map; returns NULL if o is not a map or the key is absent. The
 * result points into o and lives as long as o does. */
const msgpack_object *bro_jmp_map_get(const msgpack_object *o, const char *key);

#endif
