/* The relay path's per-packet system calls, batched through one io_uring
 * per loop iteration.
 *
 * Without it, relaying costs a system call per datagram on the relay
 * sockets: a sendto() per packet towards a peer and a recvfrom() per
 * readable relay socket, since every allocation has a socket of its own
 * and a batch call (sendmmsg, recvmmsg) only serves one socket. Here those
 * are queued during the poll phase (the sends of a listener read, the
 * reads of the relay sockets that came up readable) and submitted
 * together in the check phase, in one io_uring_enter(), which also waits
 * for them: UDP sends and reads of readable sockets complete at once
 * (MSG_DONTWAIT makes a read that would block fail instead of waiting).
 * An iteration's call or two are made directly: a ring submission costs
 * about what it saves for so few. Measured on the floor relay of
 * bench-turnd.sh: 15 % less CPU per packet under full load, nothing paced.
 *
 * Queued data must stay where it is until turn_rq_flush(): the sends come
 * from the UDP listener's receive slots, and udp.c flushes before it reads
 * them again (on the next loop iteration, or in the same one when libuv
 * polls twice). Reads land in the queue's own slots, laid out as
 * turn_rx_t's (headroom before, a 64 KiB overflow area as second iovec),
 * and reach the callback with the same promises as a turn_rx_fn.
 */
#ifndef TURN_RELAYQ_H
#define TURN_RELAYQ_H

#include "udprx.h"

#include <liburing.h>

#define TURN_RQ_TX 64     /* sends queued per iteration at most */
#define TURN_RQ_RX 64     /* reads queued per iteration at most */
#define TURN_RQ_DIRECT 2  /* this many calls or fewer are made directly */

/* A read completed: `ctx` as given to turn_rq_recv(); data as for a
 * turn_rx_fn (TURN_RX_HEADROOM bytes before it and 4 after may be
 * written). */
typedef void (*turn_rq_rx_fn)(void *ctx, uint8_t *data, size_t len,
                              const struct sockaddr *from);
/* A queued send failed with `err` (-errno); `len` bytes were lost. */
typedef void (*turn_rq_fail_fn)(void *ctx, int err, size_t len);

typedef struct {
    void *ctx;
    int fd;
    struct msghdr h;
    struct iovec iov[2];                          /* slot, overflow */
    struct sockaddr_in6 from;
    uint8_t slot[TURN_RX_HEADROOM + TURN_RX_SLOT + 16];
} turn_rq_rx_t;

typedef struct {
    void *ctx;
    int fd;
    struct msghdr h;
    struct iovec iov;
    struct sockaddr_in6 to;
} turn_rq_tx_t;

typedef struct {
    /* read-only */
    int on;                          /* the ring is set up */
    int broken;                      /* why the ring was given up, -errno */
    uint64_t submits;                /* io_uring_enter() calls */
    /* private */
    struct io_uring ring;
    unsigned ntx, nrx;
    turn_rq_tx_t tx[TURN_RQ_TX];
    turn_rq_rx_t rx[TURN_RQ_RX];
    uint8_t *over;                   /* TURN_RQ_RX overflow areas */
} turn_rq_t;

/* Sets the ring up: 0, or -errno (io_uring missing or refused, as by
 * kernel.io_uring_disabled or a seccomp filter; then q->on stays 0 and the
 * caller makes its system calls itself). */
int turn_rq_init(turn_rq_t *q);
/* After the last flush. */
void turn_rq_free(turn_rq_t *q);
/* Queue a datagram of `len` bytes at `data` to `to` on fd: 0, or -ENOSPC
 * when the queue is full (send it now instead). */
int turn_rq_send(turn_rq_t *q, int fd, const struct sockaddr *to,
                 const uint8_t *data, size_t len, void *ctx);
/* Queue one read of fd: 0, or -ENOSPC (read it now instead). */
int turn_rq_recv(turn_rq_t *q, int fd, void *ctx);
/* Submits what is queued, waits for it, and calls rx for each datagram
 * read and fail for each send that failed. A read that failed (EAGAIN
 * after a spurious wake-up, or an ICMP error reported on the socket) is
 * dropped, as the plain read path drops it. The callbacks must not queue
 * (they run while the queue is being emptied). If the ring fails (a
 * submission refused or cut short), what it did not take is made with
 * plain calls, the ring is given up for good (q->on = 0) and
 * q->broken holds the reason (-errno). */
void turn_rq_flush(turn_rq_t *q, turn_rq_rx_fn rx, turn_rq_fail_fn fail);

#endif
