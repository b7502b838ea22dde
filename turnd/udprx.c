/* One read of a UDP socket: see udprx.h. */
#include "udprx.h"

#include <errno.h>
#include <string.h>

uint8_t *turn_rx_join(const uint8_t *data, uint8_t *over, size_t len)
{
    uint8_t *joined = over + TURN_RX_HEADROOM;

    memmove(joined + TURN_RX_SLOT, over, len - TURN_RX_SLOT);
    memcpy(joined, data, TURN_RX_SLOT);
    return joined;
}

void turn_rx_init(turn_rx_t *rx, unsigned n)
{
    rx->n = n < 1 ? 1 : n > TURN_RX_MAX ? TURN_RX_MAX : n;
    for (unsigned i = 0; i < rx->n; i++) {
        memset(&rx->msg[i], 0, sizeof rx->msg[i]);
        rx->iov[i][0].iov_base = rx->slot[i] + TURN_RX_HEADROOM;
        rx->iov[i][0].iov_len = TURN_RX_SLOT;
        rx->iov[i][1].iov_base = rx->over[i];
        rx->iov[i][1].iov_len = TURN_RX_OVER;
        rx->msg[i].msg_hdr.msg_iov = rx->iov[i];
        rx->msg[i].msg_hdr.msg_iovlen = 2;
        rx->msg[i].msg_hdr.msg_name = &rx->from[i];
        rx->msg[i].msg_hdr.msg_namelen = sizeof rx->from[i];
    }
}

int turn_rx_read(turn_rx_t *rx, int fd, int busy, turn_rx_fn fn, void *ctx,
                 const int *stop)
{
    uint8_t *big = rx->big + TURN_RX_HEADROOM;
    int k;

    if (!busy) {
        struct sockaddr_in6 from;
        socklen_t flen = sizeof from;
        ssize_t n;

        /* MSG_TRUNC: the real length, so that a datagram larger than the
         * buffer is said to be, never handed on as if whole. */
        do
            n = recvfrom(fd, big, TURN_RX_DGRAM, MSG_DONTWAIT | MSG_TRUNC,
                         (struct sockaddr *)&from, &flen);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return -errno;
        fn(ctx, big, n > TURN_RX_DGRAM ? TURN_RX_DGRAM : (size_t)n,
           (const struct sockaddr *)&from, n > TURN_RX_DGRAM);
        return 1;
    }
    do
        k = recvmmsg(fd, rx->msg, rx->n, MSG_DONTWAIT, NULL);
    while (k < 0 && errno == EINTR);
    if (k < 0)
        return -errno;
    for (int i = 0; i < k && !*stop; i++) {
        uint8_t *data = rx->slot[i] + TURN_RX_HEADROOM;
        size_t len = rx->msg[i].msg_len;

        if (len > TURN_RX_SLOT)
            data = turn_rx_join(data, rx->over[i], len);   /* rare */
        fn(ctx, data, len, (const struct sockaddr *)&rx->from[i],
           (rx->msg[i].msg_hdr.msg_flags & MSG_TRUNC) != 0);
    }
    /* recvmmsg() shortened the address lengths of the slots it filled. */
    for (int i = 0; i < k; i++)
        rx->msg[i].msg_hdr.msg_namelen = sizeof rx->from[i];
    return k;
}
