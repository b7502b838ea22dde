/* STUN/TURN over UDP: one socket on the listening address, each datagram
 * handed to stun.c as one message (or to turn.c when it is ChannelData),
 * the answer sent back to the datagram's source.
 *
 * The socket is our own non-blocking descriptor watched by a uv_poll_t
 * (a uv_udp_t would read until EAGAIN, one empty system call per
 * wake-up); each wake-up reads once (udprx.h): with recvfrom() when the
 * socket is quiet (not read in the previous loop iteration), with
 * recvmmsg() into the receive slots when it is busy (one system call
 * brings a burst of relayed media). The receive buffer is raised to
 * TURN_UDP_RCVBUF (as far as net.core.rmem_max allows): relayed media
 * from many clients arrives in bursts. Answers and relayed data up to
 * TURN_UDP_TXMAX bytes are copied into a send queue of TURN_UDP_TXBATCH
 * slots, written with one sendmmsg() when it is full and at the end of
 * every loop iteration (a uv_check handle): relayed media from many
 * allocations to their clients leaves in one system call; a lone
 * datagram leaves with sendto(), cheaper than a sendmmsg() of one. When
 * the socket buffer is full the message is dropped and counted: STUN
 * clients retransmit requests over UDP, and media tolerates loss. Larger
 * messages go out at once with sendto(), after the queue.
 */
#ifndef TURN_UDP_H
#define TURN_UDP_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "stun.h"
#include "udprx.h"

#define TURN_UDP_MMSG TURN_RX_MAX
#define TURN_UDP_RCVBUF (4 * 1024 * 1024)
#define TURN_UDP_TXBATCH 64
#define TURN_UDP_TXMAX   1500

typedef struct {
    /* read-only */
    uint64_t rx;               /* datagrams received */
    uint64_t tx;               /* answers sent */
    uint64_t send_failed;      /* answers or data dropped by the socket */
    uint64_t chan_bad;         /* ChannelData that did not decode */
    /* private */
    turn_stun_t *stun;         /* shared with tcp.c; owned by the daemon */
    uv_poll_t poll;            /* readable: on_io() */
    uv_check_t flush;          /* writes the send queue once per iteration */
    int fd;                    /* closed in the poll handle's close callback */
    int started;
    int closing;
    uint64_t iter;             /* loop iterations (flush handle runs) */
    uint64_t read_iter;        /* iteration of the last read */
    unsigned nq;               /* queued datagrams */
    struct mmsghdr q[TURN_UDP_TXBATCH];
    struct iovec qiov[TURN_UDP_TXBATCH];
    struct sockaddr_in6 qaddr[TURN_UDP_TXBATCH];   /* IPv4 fits too */
    uint8_t qbuf[TURN_UDP_TXBATCH][TURN_UDP_TXMAX];
    turn_rx_t in;               /* receive slots (udprx.h) */
} turn_udp_t;

/* Binds `addr` and starts receiving. On failure nothing is left open and
 * a negative errno is returned. */
int turn_udp_start(turn_udp_t *u, uv_loop_t *loop, const struct sockaddr *addr,
                   turn_stun_t *stun);
/* Closes the socket; `u` must stay valid until the loop has run the close
 * (uv_run until it returns). Safe to call twice or without a start. */
void turn_udp_stop(turn_udp_t *u);

#endif
