/* Receiving on a UDP socket of turnd (the listener and every relay socket
 * share this): each wake-up reads once, with recvfrom() when the caller
 * says the socket is quiet (under light load a wake-up brings one
 * datagram, and recvfrom() is the cheapest receive of one), with
 * recvmmsg() into the receive slots when it is busy (one system call
 * brings a burst). What one read leaves makes the (level-triggered) poll
 * fire again on the next loop iteration.
 *
 * A slot holds TURN_RX_SLOT payload bytes, packed, with a 64 KiB overflow
 * area of its own as a second iovec: media and STUN fit the slot, and the
 * slots of a burst share a few cache lines and pages instead of lying
 * 64 KiB apart (same cache set, one page each); a larger datagram is
 * joined in its slot's overflow area (moved up, the slot's part copied in
 * front), so that every datagram of a read stays where it is, in a buffer
 * of its own, until the next read: the io_uring relay path (relayq.h)
 * sends from there in the check phase. Every payload has
 * TURN_RX_HEADROOM bytes of room before it and 4 after, so that a relay
 * can put a ChannelData or Data indication header in front in place.
 * Buffers are part of the struct: the per-packet path allocates nothing.
 */
#ifndef TURN_UDPRX_H
#define TURN_UDPRX_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define TURN_RX_MAX      16                /* slots at most */
#define TURN_RX_DGRAM    (64 * 1024)       /* larger than any datagram */
#define TURN_RX_SLOT     1600              /* a datagram up to this size ... */
#define TURN_RX_OVER     (TURN_RX_DGRAM - TURN_RX_SLOT)   /* ... the rest */
#define TURN_RX_HEADROOM 48
/* An overflow area: the rest of a large datagram, then the whole of it. */
#define TURN_RX_OVERBUF  (TURN_RX_HEADROOM + TURN_RX_DGRAM + 4)

/* One datagram: `data` may be written from TURN_RX_HEADROOM bytes before
 * it to 4 after; `trunc` when it was larger than TURN_RX_DGRAM (then only
 * its first bytes are there). */
typedef void (*turn_rx_fn)(void *ctx, uint8_t *data, size_t len,
                           const struct sockaddr *from, int trunc);

typedef struct {
    unsigned n;                                    /* slots in use */
    struct mmsghdr msg[TURN_RX_MAX];
    struct iovec iov[TURN_RX_MAX][2];              /* slot, overflow */
    struct sockaddr_in6 from[TURN_RX_MAX];         /* IPv4 fits too */
    uint8_t slot[TURN_RX_MAX][TURN_RX_HEADROOM + TURN_RX_SLOT + 16];
    uint8_t big[TURN_RX_HEADROOM + TURN_RX_DGRAM + 4];   /* quiet reads */
    uint8_t over[TURN_RX_MAX][TURN_RX_OVERBUF];
} turn_rx_t;

/* A datagram of len > TURN_RX_SLOT bytes, its first TURN_RX_SLOT in the
 * slot at `data` and the rest at the start of its overflow area `over`
 * (TURN_RX_OVERBUF bytes), joined in that area with the headroom before
 * it; returns where it now starts. */
uint8_t *turn_rx_join(const uint8_t *data, uint8_t *over, size_t len);
/* Sets up n (1..TURN_RX_MAX) slots. */
void turn_rx_init(turn_rx_t *rx, unsigned n);
/* Reads fd once (recvmmsg() when busy, recvfrom() otherwise) and calls fn
 * for each datagram while *stop is 0. Returns the datagrams read, or
 * -errno (-EAGAIN when there was nothing). */
int turn_rx_read(turn_rx_t *rx, int fd, int busy, turn_rx_fn fn, void *ctx,
                 const int *stop);

#endif
