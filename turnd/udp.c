/* STUN/TURN over UDP: see udp.h.
 *
 * recvmmsg rules (libuv 1.44): the buffer must be N x 64 KiB, each
 * datagram arrives with UV_UDP_MMSG_CHUNK, and a last call with
 * UV_UDP_MMSG_FREE hands the buffer back; ours is part of the struct, so
 * that last call has nothing to free.
 */
#include "udp.h"
#include "log.h"
#include "net.h"

#include <errno.h>
#include <string.h>

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    turn_udp_t *u = h->data;

    (void)suggested;
    *buf = uv_buf_init((char *)u->rbuf, sizeof u->rbuf);
}

/* turn_send_f for clients on this socket. */
static int udp_send(void *conn, const struct sockaddr *to, const uint8_t *data,
                    size_t len)
{
    turn_udp_t *u = conn;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int rc = uv_udp_try_send(&u->handle, &b, 1, to);

    if (rc < 0) {
        u->send_failed++;
        return rc;
    }
    u->tx++;
    return 0;
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *addr, unsigned flags)
{
    turn_udp_t *u = h->data;
    uint8_t out[TURN_STUN_REPLY_MAX];
    turn_client_t c;
    size_t outlen;
    int rc;

    if (nread < 0) {
        GW_DEBUG("stun: udp recv failed: %s", uv_strerror((int)nread));
        return;
    }
    if (addr == NULL || (flags & UV_UDP_MMSG_FREE))
        return;  /* nothing more to read, or the end of a batch */
    u->rx++;
    if (flags & UV_UDP_PARTIAL) {
        /* Larger than any datagram: cannot happen with a 64 KiB buffer,
         * but a truncated message must never be parsed. */
        u->stun->stats.malformed++;
        turn_stun_log_bad(u->stun, "udp", addr, -EMSGSIZE);
        return;
    }
    memcpy(&c.addr, addr, gw_addr_len(addr));
    c.proto = TURN_PROTO_UDP;
    c.conn = u;
    c.send = udp_send;
    if (u->stun->turn != NULL &&
        turn_chan_is((const uint8_t *)buf->base, (size_t)nread)) {
        rc = turn_on_channel_data(u->stun->turn, &c, (const uint8_t *)buf->base,
                                  (size_t)nread);
        if (rc < 0) {
            u->chan_bad++;
            u->stun->stats.malformed++;
            turn_stun_log_bad(u->stun, "udp", addr, rc);
        }
        return;
    }
    rc = turn_stun_handle(u->stun, (const uint8_t *)buf->base, (size_t)nread,
                          &c, out, sizeof out, &outlen);
    if (rc < 0) {
        turn_stun_log_bad(u->stun, "udp", addr, rc);
        return;
    }
    if (outlen > 0 && udp_send(u, addr, out, outlen) < 0) {
        char a[GW_ADDRSTRLEN];
        GW_DEBUG("stun: udp send to %s failed", gw_addr_str(addr, a, sizeof a));
    }
}

int turn_udp_start(turn_udp_t *u, uv_loop_t *loop, const struct sockaddr *addr,
                   turn_stun_t *stun)
{
    int rc;

    u->stun = stun;
    u->rx = u->tx = u->send_failed = 0;
    u->closing = 0;
    rc = uv_udp_init_ex(loop, &u->handle, addr->sa_family | UV_UDP_RECVMMSG);
    if (rc < 0)
        return rc;
    u->handle.data = u;
    u->started = 1;
    rc = uv_udp_bind(&u->handle, addr, 0);
    if (rc < 0)
        goto fail;
    rc = uv_udp_recv_start(&u->handle, on_alloc, on_recv);
    if (rc < 0)
        goto fail;
    return 0;

fail:
    turn_udp_stop(u);
    return rc;
}

void turn_udp_stop(turn_udp_t *u)
{
    if (!u->started || u->closing)
        return;
    u->closing = 1;
    uv_close((uv_handle_t *)&u->handle, NULL);
}
