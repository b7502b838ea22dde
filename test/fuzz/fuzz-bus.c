/* libFuzzer target for bus decoding (common/bus.c): one input is one
 * frame as a ROUTER or DEALER would receive it. A frame that decodes must
 * have a printable body name, and packing what was decoded must be safe.
 *
 * The re-packed bytes need not decode again: protobuf-c 1.4.1 keeps a
 * field numbered 0 as an unknown field when its tag is written in two
 * bytes (80 00), re-packs it as 00, and then rejects that. When they do
 * decode, the envelope must be the same one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Gw__Envelope *env, *again;
    const char *name;
    uint8_t *buf;
    size_t len;

    env = gw_bus_decode(data, size);
    if (env == NULL)
        return 0;
    name = gw_bus_body_name(env->body_case);
    if (name == NULL || name[0] == '\0')
        abort();

    len = gw__envelope__get_packed_size(env);
    buf = malloc(len ? len : 1);
    if (buf == NULL)
        goto out;
    if (gw__envelope__pack(env, buf) != len)
        abort();
    again = gw_bus_decode(buf, len);
    if (again != NULL) {
        if (again->request_id != env->request_id ||
            again->body_case != env->body_case ||
            gw__envelope__get_packed_size(again) != len)
            abort();
        gw__envelope__free_unpacked(again, NULL);
    }
    free(buf);
out:
    gw__envelope__free_unpacked(env, NULL);
    return 0;
}
