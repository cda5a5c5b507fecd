/* libFuzzer target: JSON text -> msgpack, and arbitrary msgpack -> JSON. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/jmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    bro_err err = {0};
    if (bro_jmp_pack_json_text(&pk, (const char *)data, size, &err) < 0 && err.code == BRO_E_NONE)
        __builtin_trap(); /* a failure always says why */
    msgpack_sbuffer_destroy(&sb);

    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    while (msgpack_unpack_next(&u, (const char *)data, size, &off) == MSGPACK_UNPACK_SUCCESS) {
        free(bro_jmp_to_json_text(&u.data, NULL, &err));
        if (off >= size)
            break;
    }
    msgpack_unpacked_destroy(&u);
    return 0;
}
