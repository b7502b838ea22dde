/* STUN over UDP: see udp.h.
 *
 * recvmmsg is not used yet: STUN Binding traffic is light, and the
 * recvmmsg buffer rules (N x 64 KiB, chunk flags) are worth it only with
 * TURN relaying; that change stays inside this file.
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

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *addr, unsigned flags)
{
    turn_udp_t *u = h->data;
    uint8_t out[TURN_STUN_REPLY_MAX];
    size_t outlen;
    uv_buf_t ob;
    int rc;

    if (nread < 0) {
        GW_DEBUG("stun: udp recv failed: %s", uv_strerror((int)nread));
        return;
    }
    if (addr == NULL)
        return;  /* nothing more to read */
    u->rx++;
    if (flags & UV_UDP_PARTIAL) {
        /* Larger than any datagram: cannot happen with a 64 KiB buffer,
         * but a truncated message must never be parsed. */
        u->stun->stats.malformed++;
        turn_stun_log_bad(u->stun, "udp", addr, -EMSGSIZE);
        return;
    }
    rc = turn_stun_handle(u->stun, (const uint8_t *)buf->base, (size_t)nread,
                          addr, out, sizeof out, &outlen);
    if (rc < 0) {
        turn_stun_log_bad(u->stun, "udp", addr, rc);
        return;
    }
    if (outlen == 0)
        return;
    ob = uv_buf_init((char *)out, (unsigned)outlen);
    rc = uv_udp_try_send(&u->handle, &ob, 1, addr);
    if (rc < 0) {
        char a[GW_ADDRSTRLEN];
        u->send_failed++;
        GW_DEBUG("stun: udp send to %s failed: %s",
                 gw_addr_str(addr, a, sizeof a), uv_strerror(rc));
        return;
    }
    u->tx++;
}

int turn_udp_start(turn_udp_t *u, uv_loop_t *loop, const struct sockaddr *addr,
                   turn_stun_t *stun)
{
    int rc;

    u->stun = stun;
    u->rx = u->tx = u->send_failed = 0;
    u->closing = 0;
    rc = uv_udp_init(loop, &u->handle);
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
