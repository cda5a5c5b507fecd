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
    /* Unpack only what the bound admits, as every caller does. */
    size_t end = bro_mp_bounded((const char *)data, size);
    if (end > 0 && bro_mp_unpack_one(&u, (const char *)data, end) == 0)
        free(bro_jmp_to_json_text(&u.data, NULL, &err));
    msgpack_unpacked_destroy(&u);
    return 0;
}
