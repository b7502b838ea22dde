/* Media sessions: one per SIP dialog, created by an offer from sigd.
 *
 * A session has one or more streams (one per m= line) and each stream two
 * legs, EXT and INT, each owning an even RTP port and RTP + 1 for RTCP on
 * its interface. Packets arriving on one leg leave from the other leg of
 * the same stream (see relay.c). A session lives in md_t's hash table
 * from md_session_create() until md_session_destroy(); its memory is freed
 * only when libuv has closed every socket (uv_close callbacks).
 */
#ifndef MD_SESSION_H
#define MD_SESSION_H

#include <netinet/in.h>
#include <stdint.h>
#include <uv.h>

#include "mediad.h"

#define MD_MAX_STREAMS 8

typedef struct {
    uint64_t packets_in;
    uint64_t bytes_in;
    uint64_t packets_out;
    uint64_t bytes_out;
    uint64_t dropped;
} md_leg_stats_t;

typedef struct md_leg_s md_leg_t;

struct md_leg_s {
    /* read-only */
    md_session_t *sess;
    md_leg_t *other;              /* packets received here leave from there */
    Gw__Side side;
    unsigned port;                /* RTP; RTCP is port + 1; 0 = not bound */
    md_leg_stats_t st;
    /* private: remote addresses, from SDP and then from the first packet */
    struct sockaddr_storage remote_rtp;
    struct sockaddr_storage remote_rtcp;
    uint8_t has_remote;           /* remote_* set from SDP */
    uint8_t rtp_latched;
    uint8_t rtcp_latched;
    uint8_t send_unlatched;       /* may send to the SDP address before latch */
    uv_udp_t rtp;
    uv_udp_t rtcp;
};

struct md_session_s {
    /* read-only */
    uint64_t id;
    char call_id[96];
    unsigned nstreams;
    Gw__Side offer_side;          /* side the last offer came from */
    /* private */
    md_t *md;
    md_session_t *hnext;
    int open_handles;             /* sockets not yet closed */
    int destroyed;
    md_leg_t legs[];              /* [stream * 2 + side] */
};

static inline md_leg_t *md_leg(md_session_t *s, unsigned stream, Gw__Side side)
{
    return &s->legs[stream * 2 + (side == GW__SIDE__SIDE_INT ? 1 : 0)];
}

md_session_t *md_session_find(md_t *md, uint64_t id);
/* Allocates ports and binds sockets for nstreams streams on both sides.
 * Returns 0 and the session in *out, or -ENOSPC (ports), -EEXIST, -EIO
 * (bind failed), -ENOMEM. Nothing is left allocated on failure. */
int md_session_create(md_t *md, uint64_t id, const char *call_id,
                      unsigned nstreams, md_session_t **out);
/* Sets the SDP address of a leg; clears its latches so that the next
 * packet from the new peer is accepted (a new offer/answer). */
void md_leg_set_remote(md_leg_t *leg, const Gw__Endpoint *ep);
/* Removes the session from the table, releases its ports and closes its
 * sockets; memory goes when the last close callback has run. */
void md_session_destroy(md_session_t *s);
/* Destroys every session (shutdown). */
void md_session_destroy_all(md_t *md);

/* relay.c: binds the leg's two sockets and starts receiving. */
int md_relay_open(md_leg_t *leg, const char *addr);
/* Closes the leg's sockets; each close calls md_session__handle_closed. */
void md_relay_close(md_leg_t *leg);
void md_session__handle_closed(uv_handle_t *h);

#endif
