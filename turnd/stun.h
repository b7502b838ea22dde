/* STUN request handling, independent of the transport: given the bytes of
 * one message and the client it came from, decide what to answer and
 * build the answer into the caller's buffer. udp.c and tcp.c call it for
 * each message; the TURN methods (turn.c) plug into its method dispatch
 * when a turn_t is attached.
 *
 * What is answered (RFC 8489):
 *   - Binding request: success with XOR-MAPPED-ADDRESS of the source,
 *     SOFTWARE and FINGERPRINT; an RFC 3489 client (no magic cookie) gets
 *     MAPPED-ADDRESS instead, as section 12 asks.
 *   - a request carrying comprehension-required attributes we do not
 *     understand: 420 with UNKNOWN-ATTRIBUTES.
 *   - Allocate, Refresh, CreatePermission, ChannelBind requests and Send
 *     indications: handed to turn.c when TURN is on, else 400 (requests).
 *   - a request of a method we do not implement: 400.
 *   - other indications and responses: nothing (counted as ignored).
 *   - anything that does not decode: nothing (counted as malformed; the
 *     caller logs it through turn_stun_log_bad()).
 */
#ifndef TURN_STUN_H
#define TURN_STUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client.h"
#include "stun_msg.h"
#include "turn.h"

/* Room for any answer this module builds. */
#define TURN_STUN_REPLY_MAX 1024

typedef struct {
    uint64_t requests;      /* well-formed requests seen */
    uint64_t responses;     /* success responses built */
    uint64_t errors;        /* error responses built (400, 420) */
    uint64_t ignored;       /* well-formed, not a request */
    uint64_t malformed;     /* did not decode, dropped */
} turn_stun_stats_t;

typedef struct {
    /* public: set before use */
    const char *software;   /* SOFTWARE attribute text; must outlive this */
    turn_t *turn;           /* TURN methods; NULL = STUN only */
    /* read-only */
    turn_stun_stats_t stats;
    /* private: rate limit of the malformed-input warning */
    uint64_t warn_last_ms;
    uint64_t warn_suppressed;
} turn_stun_t;

/* Handles one message `in` received from client `c`. On return 0, *outlen is
 * the length of the answer written to out (0: send nothing). A negative
 * errno means the input was malformed (see turn_stun_decode()); it has
 * been counted and must be dropped without an answer. `out` should hold
 * TURN_STUN_REPLY_MAX bytes. */
int turn_stun_handle(turn_stun_t *s, const uint8_t *in, size_t inlen,
                     const turn_client_t *c, uint8_t *out, size_t outcap,
                     size_t *outlen);

/* Logs a malformed message: at debug level every time, with the peer and
 * the reason; at warn level at most once per 10 s, with the count. */
void turn_stun_log_bad(turn_stun_t *s, const char *transport,
                       const struct sockaddr *peer, int rc);

#endif
