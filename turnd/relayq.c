/* Relay system calls through io_uring: see relayq.h.
 *
 * One ring, its user_data telling a completion's kind and slot: below
 * TURN_RQ_RX a read slot, from RQ_TX_TAG up a send slot. Everything
 * queued is submitted and reaped in the same turn_rq_flush(), so slots are
 * reused from the start at every iteration and nothing outlives the data
 * or the sockets it points to (relay sockets are closed in libuv's close
 * phase, after the check phase that flushes).
 */
#include "relayq.h"
#include "log.h"
#include "net.h"

#include <errno.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#define RQ_TX_TAG 0x10000u

int turn_rq_init(turn_rq_t *q)
{
    int rc;

    memset(q, 0, sizeof *q);
    q->over = malloc((size_t)TURN_RQ_RX * TURN_RX_OVERBUF);  /* pages touched
                                                               only when used */
    if (q->over == NULL) {
        turn_rq_free(q);
        return -ENOMEM;
    }
    rc = io_uring_queue_init(2 * (TURN_RQ_TX + TURN_RQ_RX), &q->ring, 0);
    if (rc < 0) {
        turn_rq_free(q);
        return rc;
    }
    for (unsigned i = 0; i < TURN_RQ_RX; i++) {
        turn_rq_rx_t *r = &q->rx[i];

        r->iov[0].iov_base = r->slot + TURN_RX_HEADROOM;
        r->iov[0].iov_len = TURN_RX_SLOT;
        r->iov[1].iov_base = q->over + (size_t)i * TURN_RX_OVERBUF;
        r->iov[1].iov_len = TURN_RX_OVER;
        r->h.msg_iov = r->iov;
        r->h.msg_iovlen = 2;
        r->h.msg_name = &r->from;
    }
    for (unsigned i = 0; i < TURN_RQ_TX; i++) {
        q->tx[i].h.msg_iov = &q->tx[i].iov;
        q->tx[i].h.msg_iovlen = 1;
        q->tx[i].h.msg_name = &q->tx[i].to;
    }
    q->on = 1;
    return 0;
}

void turn_rq_free(turn_rq_t *q)
{
    if (q->on)
        io_uring_queue_exit(&q->ring);
    q->on = 0;
    free(q->over);
    q->over = NULL;
}

int turn_rq_send(turn_rq_t *q, int fd, const struct sockaddr *to,
                 const uint8_t *data, size_t len, void *ctx)
{
    turn_rq_tx_t *t;
    socklen_t tolen = gw_addr_len(to);

    if (q->ntx == TURN_RQ_TX)
        return -ENOSPC;
    t = &q->tx[q->ntx++];
    t->ctx = ctx;
    t->fd = fd;
    memcpy(&t->to, to, tolen);
    t->h.msg_namelen = tolen;
    t->iov.iov_base = (void *)data;
    t->iov.iov_len = len;
    return 0;
}

int turn_rq_recv(turn_rq_t *q, int fd, void *ctx)
{
    turn_rq_rx_t *r;

    if (q->nrx == TURN_RQ_RX)
        return -ENOSPC;
    r = &q->rx[q->nrx++];
    r->ctx = ctx;
    r->fd = fd;
    r->h.msg_namelen = sizeof r->from;
    r->h.msg_flags = 0;
    return 0;
}

/* A completed read: the datagram, joined in its overflow area when
 * larger than the slot. */
static void rx_done(turn_rq_rx_t *r, int res, turn_rq_rx_fn rx)
{
    uint8_t *data = r->slot + TURN_RX_HEADROOM;

    if (res < 0)
        return;
    if ((size_t)res > TURN_RX_SLOT)
        data = turn_rx_join(data, r->iov[1].iov_base, (size_t)res);
    rx(r->ctx, data, (size_t)res, (const struct sockaddr *)&r->from);
}

/* The queue into the ring, sends first (it holds all of it: it has
 * 2 * (TX + RX) entries and is emptied at every flush). */
static void prep_all(turn_rq_t *q)
{
    for (unsigned i = 0; i < q->ntx; i++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

        GW_ASSERT(sqe != NULL);
        io_uring_prep_sendmsg(sqe, q->tx[i].fd, &q->tx[i].h, MSG_DONTWAIT);
        io_uring_sqe_set_data64(sqe, RQ_TX_TAG + i);
    }
    for (unsigned i = 0; i < q->nrx; i++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

        GW_ASSERT(sqe != NULL);
        io_uring_prep_recvmsg(sqe, q->rx[i].fd, &q->rx[i].h, MSG_DONTWAIT);
        io_uring_sqe_set_data64(sqe, i);
    }
}

/* Entries `from` onwards of the queue (sends first, then reads), with a
 * system call each: when a ring would cost more, or did not take them. */
static void direct(turn_rq_t *q, unsigned from, turn_rq_rx_fn rx,
                   turn_rq_fail_fn fail)
{
    ssize_t n;

    for (unsigned i = from; i < q->ntx; i++) {
        turn_rq_tx_t *t = &q->tx[i];

        do
            n = sendmsg(t->fd, &t->h, MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            fail(t->ctx, -errno, t->iov.iov_len);
    }
    for (unsigned i = from > q->ntx ? from - q->ntx : 0; i < q->nrx; i++) {
        do
            n = recvmsg(q->rx[i].fd, &q->rx[i].h, MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        rx_done(&q->rx[i], n < 0 ? -errno : (int)n, rx);
    }
}

/* The ring failed: never used again (what it still holds is never
 * submitted). */
static void give_up(turn_rq_t *q, int err)
{
    q->on = 0;
    q->broken = err < 0 ? err : -EIO;
}

void turn_rq_flush(turn_rq_t *q, turn_rq_rx_fn rx, turn_rq_fail_fn fail)
{
    unsigned want = q->ntx + q->nrx, sent, seen = 0;
    int rc;

    if (want == 0)
        return;
    if (want <= TURN_RQ_DIRECT || !q->on) {   /* a call or two: made directly */
        direct(q, 0, rx, fail);
        q->ntx = q->nrx = 0;
        return;
    }
    prep_all(q);
    do
        rc = io_uring_submit(&q->ring);
    while (rc == -EINTR);
    q->submits++;
    sent = rc < 0 ? 0 : (unsigned)rc > want ? want : (unsigned)rc;
    if (sent < want)
        give_up(q, rc < 0 ? rc : -EAGAIN);
    while (seen < sent) {
        struct io_uring_cqe *cqe;
        uint64_t tag;
        int res;

        rc = io_uring_wait_cqe(&q->ring, &cqe);
        if (rc == -EINTR)
            continue;
        if (rc < 0) {   /* cannot happen once submitted; the ring is given up */
            give_up(q, rc);
            break;
        }
        tag = io_uring_cqe_get_data64(cqe);
        res = cqe->res;
        io_uring_cqe_seen(&q->ring, cqe);
        seen++;
        if (tag >= RQ_TX_TAG && tag - RQ_TX_TAG < q->ntx) {
            turn_rq_tx_t *t = &q->tx[tag - RQ_TX_TAG];

            if (res < 0)
                fail(t->ctx, res, t->iov.iov_len);
        } else if (tag < q->nrx) {
            rx_done(&q->rx[tag], res, rx);
        }
    }
    if (sent < want)
        direct(q, sent, rx, fail);   /* what the ring did not take */
    q->ntx = q->nrx = 0;
}
