/* TURN methods (RFC 8656): Allocate, Refresh, CreatePermission,
 * ChannelBind, the Send indication and ChannelData from clients. stun.c's
 * dispatcher calls one function per method; each authenticates the
 * request (auth.c), applies the safe-peer policy (peer.c) and works on the
 * allocation table (alloc.c). Answers are built into the caller's buffer,
 * as for Binding; relayed data leaves through the allocation.
 *
 * Error codes: 400 malformed, 401 challenge or refused credentials (with
 * REALM and NONCE), 403 peer refused by policy, 420 unknown attribute, 437
 * no or another allocation on this 5-tuple, 438 stale nonce, 440 family
 * not supported, 441 credentials differ from the allocation's, 442
 * transport not UDP, 443 peer family differs from the relay's, 486 user
 * quota, 508 capacity, relay ports or permission slots exhausted.
 */
#ifndef TURN_TURN_H
#define TURN_TURN_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "auth.h"
#include "client.h"
#include "peer.h"
#include "stun_msg.h"

typedef struct {
    uint64_t denied_peers;      /* 403 and Send/ChannelData refused by policy */
    uint64_t send_ind;          /* Send indications relayed */
    uint64_t chan_data;         /* ChannelData messages relayed */
    uint64_t dropped;           /* data without allocation, permission,
                                 * channel, or malformed */
} turn_stats_t;

typedef struct {
    /* public: set before use */
    const char *software;       /* must outlive this */
    unsigned default_lifetime_s;
    unsigned max_lifetime_s;
    /* read-only */
    turn_auth_t auth;
    turn_peers_t peers;
    turn_allocs_t allocs;
    turn_stats_t stats;
} turn_t;

/* The request handlers: 0 with *outlen set (0 = no answer), or a negative
 * errno when no answer could be built. */
typedef struct {
    turn_t *t;
    const turn_stun_msg_t *req;
    const turn_client_t *c;
    uint8_t *out;
    size_t cap;
    size_t *outlen;
} turn_req_t;

int turn_on_allocate(turn_req_t *r);
int turn_on_refresh(turn_req_t *r);
int turn_on_create_permission(turn_req_t *r);
int turn_on_channel_bind(turn_req_t *r);
/* Send indication: never answered. */
void turn_on_send(turn_t *t, const turn_stun_msg_t *ind, const turn_client_t *c);
/* One ChannelData message from a client (buf[0..len) is the whole frame).
 * -EINVAL when it does not decode (the caller counts it as malformed). */
int turn_on_channel_data(turn_t *t, const turn_client_t *c, const uint8_t *buf,
                         size_t len);

#endif
