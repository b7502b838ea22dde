/* STUN/TURN over TCP (RFC 8489 section 6.2.2, RFC 8656 section 12.5):
 * STUN messages and ChannelData back to back on a stream, each framed by
 * its own header's length field (ChannelData padded to 4 bytes).
 *
 * Each connection owns a fixed input buffer of TURN_TCP_BUF bytes; a
 * message that would not fit, or a header that cannot start a STUN
 * message, closes the connection (a stream that lost its framing cannot
 * be resynchronised). Closing a connection deletes its allocations.
 * Answers leave through uv_try_write(); what the
 * socket does not take is queued in the connection's own output buffer,
 * and reading pauses until it is written, so a client that does not read
 * its answers cannot make us buffer without bound.
 *
 * The same code serves TLS (tls.c) when the listener is given credentials:
 * the framing then runs on decrypted bytes.
 *
 * Connections are capped (TURN_TCP_MAX_CONNS) and closed after
 * TURN_TCP_IDLE_MS without a complete message, TLS connections also when
 * the handshake is not done TURN_TLS_HANDSHAKE_MS after the accept (a
 * stalled handshake holds a GnuTLS session). A connection is freed only
 * in its uv_close callback.
 */
#ifndef TURN_TCP_H
#define TURN_TCP_H

#include <stdint.h>
#include <uv.h>

#include "stun.h"
#include "tls.h"

#define TURN_TCP_BUF        8192   /* largest STUN message accepted on TCP */
#define TURN_TCP_MAX_CONNS  1024
#define TURN_TCP_IDLE_MS    30000
#define TURN_TCP_SWEEP_MS   1000
#define TURN_TLS_HANDSHAKE_MS 5000  /* a TLS client must finish by then */

typedef struct turn_tcp_conn_s turn_tcp_conn_t;

typedef struct {
    /* read-only */
    uint64_t accepted;
    uint64_t refused;          /* over TURN_TCP_MAX_CONNS */
    uint64_t closed_bad;       /* closed for garbage or oversize input */
    uint64_t closed_idle;
    uint64_t tls_handshakes;   /* TLS mode: completed */
    uint64_t tls_failed;       /* TLS mode: handshake or record failures */
    unsigned nconns;
    /* private */
    turn_stun_t *stun;         /* shared with udp.c; owned by the daemon */
    turn_tls_t *tls;           /* NULL = plain TCP; owned by the daemon */
    uv_tcp_t listener;
    uv_timer_t sweep;          /* closes idle connections */
    int started;
    int closing;
    turn_tcp_conn_t *conns;    /* every open or closing connection */
} turn_tcp_t;

/* Binds and listens on `addr`; with `tls` (which must outlive the loop's
 * last close) every connection speaks TLS (RFC 8656 section 3.5). On
 * failure nothing is left open and the libuv error (negative errno) is
 * returned. */
int turn_tcp_start(turn_tcp_t *t, uv_loop_t *loop, const struct sockaddr *addr,
                   turn_stun_t *stun, turn_tls_t *tls);
/* Closes the listener and every connection; `t` must stay valid until the
 * loop has run the closes. Safe to call twice or without a start. */
void turn_tcp_stop(turn_tcp_t *t);

#endif
