/* STUN/TURN over UDP: see udp.h.
 *
 * Why not a uv_udp_t: libuv reads a UDP handle until recvmsg() or
 * recvmmsg() says EAGAIN, so each wake-up of the listener cost one empty
 * system call, and relay load with many clients wakes it often for a few
 * datagrams. One read per wake-up is enough with a level-triggered poll:
 * whatever is left is read on the next loop iteration, after the other
 * sockets had their turn.
 */
#include "udp.h"
#include "log.h"
#include "net.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* One datagram written now; the counters as for the queue. */
static int send_one(turn_udp_t *u, const struct sockaddr *to,
                    const uint8_t *data, size_t len)
{
    ssize_t n;

    do
        n = sendto(u->fd, data, len, MSG_DONTWAIT, to, gw_addr_len(to));
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        u->send_failed++;
        return -errno;
    }
    u->tx++;
    return 0;
}

/* Writes the send queue. A datagram the socket refuses is dropped and
 * counted; after EAGAIN the rest of the queue goes the same way (the
 * buffer is full, retrying would spin). */
static void udp_flush(turn_udp_t *u)
{
    unsigned off = 0;
    int n;

    if (u->nq == 1) {
        /* Light load: sendto() spares the kernel the mmsghdr, msghdr and
         * iovec it would copy in for a sendmmsg() of one. */
        u->nq = 0;
        send_one(u, (struct sockaddr *)&u->qaddr[0], u->qbuf[0],
                 u->qiov[0].iov_len);
        return;
    }
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

    u->iter++;
    /* The relay's queued reads first: what they read from peers joins
     * this queue, to leave now rather than an iteration later. */
    if (u->stun->turn != NULL)
        turn_allocs_flush(&u->stun->turn->allocs);
    if (u->nq > 0)
        udp_flush(u);
}

/* turn_send_f for clients on this socket. */
static int udp_send(void *conn, const struct sockaddr *to, const uint8_t *data,
                    size_t len)
{
    turn_udp_t *u = conn;

    if (u->closing) {
        u->send_failed++;
        return -EBADF;
    }
    if (len <= TURN_UDP_TXMAX) {
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
    return send_one(u, to, data, len);
}

/* One datagram from `addr` (a turn_rx_fn); `trunc` when it was larger
 * than any buffer. */
static void on_datagram(void *ctx, uint8_t *buf, size_t nread,
                        const struct sockaddr *addr, int trunc)
{
    turn_udp_t *u = ctx;
    uint8_t out[TURN_STUN_REPLY_MAX];
    turn_client_t c;
    size_t outlen;
    int rc;

    u->rx++;
    if (trunc) {
        /* Larger than any datagram: cannot happen with 64 KiB slots, but
         * a truncated message must never be parsed. */
        u->stun->stats.malformed++;
        turn_stun_log_bad(u->stun, "udp", addr, -EMSGSIZE);
        return;
    }
    memcpy(&c.addr, addr, gw_addr_len(addr));
    c.proto = TURN_PROTO_UDP;
    c.conn = u;
    c.send = udp_send;
    if (u->stun->turn != NULL && turn_chan_is(buf, nread)) {
        rc = turn_on_channel_data(u->stun->turn, &c, buf, nread);
        if (rc < 0) {
            u->chan_bad++;
            u->stun->stats.malformed++;
            turn_stun_log_bad(u->stun, "udp", addr, rc);
        }
        return;
    }
    rc = turn_stun_handle(u->stun, buf, nread, &c, out, sizeof out, &outlen);
    if (rc < 0) {
        turn_stun_log_bad(u->stun, "udp", addr, rc);
        return;
    }
    if (outlen > 0 && udp_send(u, addr, out, outlen) < 0) {
        char a[GW_ADDRSTRLEN];
        GW_DEBUG("stun: udp send to %s failed", gw_addr_str(addr, a, sizeof a));
    }
}

/* Readable: one read, see udp.h. */
static void on_io(uv_poll_t *h, int status, int events)
{
    turn_udp_t *u = h->data;
    int busy, rc;

    (void)events;
    if (status < 0) {
        GW_DEBUG("stun: udp poll failed: %s", uv_strerror(status));
        return;
    }
    /* libuv polls again within the same iteration when epoll_wait()
     * filled its event array: a second read would overwrite the buffers
     * that the relay's queued sends still point into, so those leave
     * first. */
    if (u->read_iter == u->iter && u->stun->turn != NULL)
        turn_allocs_flush(&u->stun->turn->allocs);
    busy = u->read_iter + 1 == u->iter;
    u->read_iter = u->iter;
    rc = turn_rx_read(&u->in, u->fd, busy, on_datagram, u, &u->closing);
    if (rc < 0 && rc != -EAGAIN && rc != -EWOULDBLOCK)
        GW_DEBUG("stun: udp %s failed: %s", busy ? "recvmmsg()" : "recvfrom()",
                 strerror(-rc));
}

static void on_poll_closed(uv_handle_t *h)
{
    turn_udp_t *u = h->data;

    close(u->fd);   /* uv_close() has taken it out of epoll */
    u->fd = -1;
}

int turn_udp_start(turn_udp_t *u, uv_loop_t *loop, const struct sockaddr *addr,
                   turn_stun_t *stun)
{
    int rc, rcvbuf = TURN_UDP_RCVBUF;

    u->stun = stun;
    u->rx = u->tx = u->send_failed = 0;
    u->closing = 0;
    u->started = 0;
    u->nq = 0;
    for (unsigned i = 0; i < TURN_UDP_TXBATCH; i++) {
        memset(&u->q[i], 0, sizeof u->q[i]);
        u->qiov[i].iov_base = u->qbuf[i];
        u->q[i].msg_hdr.msg_iov = &u->qiov[i];
        u->q[i].msg_hdr.msg_iovlen = 1;
        u->q[i].msg_hdr.msg_name = &u->qaddr[i];
    }
    u->iter = 0;
    u->read_iter = (uint64_t)-2;   /* quiet */
    turn_rx_init(&u->in, TURN_UDP_MMSG);
    u->fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->fd < 0)
        return -errno;
    if (bind(u->fd, addr, gw_addr_len(addr)) < 0) {
        rc = -errno;
        goto fail_fd;
    }
    /* Best effort: the kernel caps it at net.core.rmem_max. */
    if (setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0)
        GW_DEBUG("stun: udp setsockopt(SO_RCVBUF) failed: %s", strerror(errno));
    rc = uv_poll_init_socket(loop, &u->poll, u->fd);
    if (rc < 0)
        goto fail_fd;
    u->poll.data = u;
    uv_check_init(loop, &u->flush);
    u->flush.data = u;
    u->started = 1;
    uv_check_start(&u->flush, on_flush);
    rc = uv_poll_start(&u->poll, UV_READABLE, on_io);
    if (rc < 0) {
        turn_udp_stop(u);
        return rc;
    }
    return 0;

fail_fd:
    close(u->fd);
    u->fd = -1;
    return rc;
}

void turn_udp_stop(turn_udp_t *u)
{
    if (!u->started || u->closing)
        return;
    if (u->nq > 0)
        udp_flush(u);
    u->closing = 1;
    uv_close((uv_handle_t *)&u->flush, NULL);
    uv_close((uv_handle_t *)&u->poll, on_poll_closed);
}
