/* libFuzzer target: the strict envelope and reply decoders on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "common/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_unpacked holder;
    bro_envelope e;
    bro_reply r;
    bro_err err = {0};
    msgpack_unpacked_init(&holder);
    if (bro_envelope_decode(&e, &holder, (const char *)data, size, &err) == 0 && e.body == NULL)
        __builtin_trap(); /* a decoded envelope always has a body */
    msgpack_unpacked_destroy(&holder);
    msgpack_unpacked_init(&holder);
    if (bro_envelope_reply_decode(&r, &holder, (const char *)data, size, &err) == 0 &&
        (r.status < 100 || r.status > 599))
        __builtin_trap();
    msgpack_unpacked_destroy(&holder);
    return 0;
}
