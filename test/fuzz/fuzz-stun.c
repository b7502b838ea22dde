/* libFuzzer target for turnd's STUN input path: the decoder in both modes,
 * the stream framing check (STUN and ChannelData), the ChannelData
 * decoder, the integrity check, and the request handling decision with its
 * answer built into a stack buffer, as udp.c and tcp.c do for every
 * message (TURN methods off: they need a running loop).
 *
 * Beyond the sanitizers it checks our own invariants: anything the handler
 * answers must itself decode, fit the answer buffer, and carry the
 * request's transaction id. */
#include "stun.h"
#include "stun_msg.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static turn_stun_t s = { .software = "gw-turnd fuzz" };
    uint8_t out[TURN_STUN_REPLY_MAX];
    static const uint8_t key[16] = "0123456789abcdef";
    struct sockaddr_in6 peer;
    turn_stun_msg_t m, ans;
    turn_client_t c = { .proto = TURN_PROTO_UDP };
    const uint8_t *payload;
    size_t outlen, plen;
    uint16_t chan;
    int rc, flen;

    if (turn_stun_decode(&m, data, size, 0) == 0) {
        for (unsigned i = 0; i < m.nattrs; i++)
            turn_stun_check_integrity(&m, &m.attrs[i], key, sizeof key);
    }
    flen = turn_stun_frame_len(data, size);
    if (flen > 0 && (size_t)flen <= size)
        turn_stun_decode(&m, data, (size_t)flen, TURN_STUN_F_LEGACY);
    flen = turn_stream_frame_len(data, size);
    if (flen > 0 && (size_t)flen <= size && turn_chan_is(data, size) &&
        turn_chan_decode(data, (size_t)flen, &chan, &payload, &plen) == 0 &&
        (payload + plen > data + flen || chan < TURN_CHAN_MIN))
        abort();

    /* The peer address varies with the input, v4-mapped or not. */
    memset(&peer, 0, sizeof peer);
    peer.sin6_family = AF_INET6;
    peer.sin6_port = htons(3478);
    if (size >= 16)
        memcpy(&peer.sin6_addr, data + size - 16, 16);
    memcpy(&c.addr, &peer, sizeof peer);
    rc = turn_stun_handle(&s, data, size, &c, out,
                          sizeof out, &outlen);
    if (rc < 0 || outlen == 0)
        return 0;
    if (outlen > sizeof out || memcmp(out + 8, data + 8, TURN_STUN_TID_LEN) != 0)
        abort();
    if (memcmp(out + 4, "\x21\x12\xa4\x42", 4) == 0 &&
        turn_stun_decode(&ans, out, outlen, 0) != 0)
        abort();
    return 0;
}
