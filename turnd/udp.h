/* STUN over UDP: one socket on the listening address, each datagram handed
 * to stun.c as one message, the answer sent back to the datagram's source.
 *
 * The receive buffer is part of the struct (64 KiB, the largest datagram),
 * so the per-packet path allocates nothing. Answers leave through
 * uv_udp_try_send(); when the socket buffer is full the answer is dropped
 * and counted: STUN clients retransmit requests over UDP.
 */
#ifndef TURN_UDP_H
#define TURN_UDP_H

#include <stdint.h>
#include <uv.h>

#include "stun.h"

#define TURN_UDP_RBUF (64 * 1024)

typedef struct {
    /* read-only */
    uint64_t rx;               /* datagrams received */
    uint64_t tx;               /* answers sent */
    uint64_t send_failed;      /* answers dropped by the socket */
    /* private */
    turn_stun_t *stun;         /* shared with tcp.c; owned by the daemon */
    uv_udp_t handle;
    int started;
    int closing;
    uint8_t rbuf[TURN_UDP_RBUF];
} turn_udp_t;

/* Binds `addr` and starts receiving. On failure nothing is left open and
 * the libuv error (negative errno) is returned. */
int turn_udp_start(turn_udp_t *u, uv_loop_t *loop, const struct sockaddr *addr,
                   turn_stun_t *stun);
/* Closes the socket; `u` must stay valid until the loop has run the close
 * (uv_run until it returns). Safe to call twice or without a start. */
void turn_udp_stop(turn_udp_t *u);

#endif
