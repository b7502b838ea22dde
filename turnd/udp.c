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

/* Writes the send queue. A datagram the socket refuses is dropped and
 * counted; after EAGAIN the rest of the queue goes the same way (the
 * buffer is full, retrying would spin). */
static void udp_flush(turn_udp_t *u)
{
    unsigned off = 0;
    int n;

    while (off < u->nq) {
        n = sendmmsg(u->fd, u->q + off, u->nq - off, MSG_DONTWAIT);
        if (n > 0) {
            u->tx += (unsigned)n;
            off += (unsigned)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            u->send_failed += u->nq - off;
            break;
        }
        if (n < 0 && errno == EINTR)
            continue;
        u->send_failed++;   /* this one datagram: bad address, too big */
        off++;
    }
    u->nq = 0;
}

static void on_flush(uv_check_t *h)
{
    turn_udp_t *u = h->data;

    if (u->nq > 0)
        udp_flush(u);
}

/* turn_send_f for clients on this socket. */
static int udp_send(void *conn, const struct sockaddr *to, const uint8_t *data,
                    size_t len)
{
    turn_udp_t *u = conn;
    uv_buf_t b;
    int rc;

    if (len <= TURN_UDP_TXMAX && u->fd >= 0) {
        unsigned i = u->nq++;

        memcpy(u->qbuf[i], data, len);
        memcpy(&u->qaddr[i], to, gw_addr_len(to));
        u->qiov[i].iov_len = len;
        u->q[i].msg_hdr.msg_namelen = gw_addr_len(to);
        if (u->nq == TURN_UDP_TXBATCH)
            udp_flush(u);
        return 0;
    }
    if (u->nq > 0)
        udp_flush(u);   /* keep the order */
    b = uv_buf_init((char *)data, (unsigned)len);
    rc = uv_udp_try_send(&u->handle, &b, 1, to);
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
    u->nq = 0;
    u->fd = -1;
    for (unsigned i = 0; i < TURN_UDP_TXBATCH; i++) {
        memset(&u->q[i], 0, sizeof u->q[i]);
        u->qiov[i].iov_base = u->qbuf[i];
        u->q[i].msg_hdr.msg_iov = &u->qiov[i];
        u->q[i].msg_hdr.msg_iovlen = 1;
        u->q[i].msg_hdr.msg_name = &u->qaddr[i];
    }
    rc = uv_udp_init_ex(loop, &u->handle, addr->sa_family | UV_UDP_RECVMMSG);
    if (rc < 0)
        return rc;
    u->handle.data = u;
    uv_check_init(loop, &u->flush);
    u->flush.data = u;
    u->started = 1;
    rc = uv_udp_bind(&u->handle, addr, 0);
    if (rc < 0)
        goto fail;
    {
        uv_os_fd_t fd;

        rc = uv_fileno((uv_handle_t *)&u->handle, &fd);
        if (rc < 0)
            goto fail;
        u->fd = fd;
    }
    uv_check_start(&u->flush, on_flush);
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
    if (u->nq > 0)
        udp_flush(u);
    u->fd = -1;
    uv_close((uv_handle_t *)&u->flush, NULL);
    uv_close((uv_handle_t *)&u->handle, NULL);
}
