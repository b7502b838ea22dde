/* Media sessions: one per SIP dialog, created by an offer from sigd.
 *
 * A session has one or more streams (one per m= line), each with two legs,
 * EXT and INT, each owning an even RTP port and RTP + 1 for RTCP on its
 * interface. Packets arriving on one leg leave from the other leg of the
 * same stream (relay.c).
 *
 * Ownership: the main thread allocates a session and keeps it in the
 * table; its worker owns everything inside the legs. The memory is shared
 * through a reference count (the table, the worker while sockets are open,
 * each command in flight); the last release frees it, and libsrtp contexts
 * and sockets are gone by then.
 */
#ifndef MD_SESSION_H
#define MD_SESSION_H

#include <netinet/in.h>
#include <stdint.h>
#include <uv.h>

#include "mediad.h"
#include "rtpstats.h"
#include "srtp.h"

#define MD_MAX_STREAMS 8

/* Big enough for IPv4 and IPv6; a third of a sockaddr_storage. */
typedef union {
    struct sockaddr sa;
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
} md_addr_t;

typedef struct {
    uint64_t packets_in;
    uint64_t bytes_in;
    uint64_t packets_out;
    uint64_t bytes_out;
    uint64_t last_ms;             /* loop time of the last accepted packet */
    uint32_t drop_source;
    uint32_t drop_malformed;
    uint32_t drop_auth;
    uint32_t drop_replay;
    uint32_t drop_nodest;
    uint32_t drop_send;
} md_leg_stats_t;

/* After a leg's party moves to a new address (a forked call's other
 * early dialog, a re-INVITE), how long only that address may latch it. */
#define MD_RETARGET_STRICT_MS 2000

typedef struct md_leg_s md_leg_t;

struct md_leg_s {
    /* read-only (worker) */
    md_session_t *sess;
    md_leg_t *other;              /* packets received here leave from there */
    Gw__Side side;
    uint16_t port;                /* RTP; RTCP is port + 1; 0 = not bound */
    uint8_t has_remote;           /* remote_* set from SDP */
    uint8_t rtp_latched;
    uint8_t rtcp_latched;
    uint8_t send_unlatched;       /* may send to the SDP address before latch */
    uint64_t strict_until_ms;     /* re-targeted: until then (uv_now), latch
                                   * only from the SDP address; 0 = off */
    md_addr_t sdp_rtp;            /* the RTP address from SDP (has_remote) */
    uint8_t rtcp_mux;             /* RTCP shares the RTP port (RFC 5761) */
    uint8_t hold;
    uint8_t want_srtp;            /* we offered SRTP to this party */
    uint8_t nclocks;
    md_clock_t clocks[MD_MAX_CLOCKS];
    /* SRTP: suite MD_SUITE_NONE = plain RTP */
    md_suite_t suite;
    uint32_t tx_tag;              /* crypto tag of our key in SDP */
    char tx_key[MD_KEY_B64_LEN];  /* our key for this party (never logged) */
    srtp_t srtp_rx;               /* unprotects what the party sends */
    srtp_t srtp_tx;               /* protects what we send to the party */
    /* private */
    md_addr_t remote_rtp;
    md_addr_t remote_rtcp;
    md_leg_stats_t st;
    md_rtpstats_t rtp_stats;
    int rtp_fd;                   /* the sockets, read with recvmmsg and */
    int rtcp_fd;                  /* written with sendmmsg by relay.c */
    uv_poll_t rtp;                /* readiness of rtp_fd / rtcp_fd */
    uv_poll_t rtcp;
};

struct md_session_s {
    /* read-only */
    uint64_t id;
    char call_id[96];
    unsigned nstreams;
    md_worker_t *worker;
    Gw__Side offer_side;          /* side the last offer came from */
    uint64_t created_ms;          /* worker loop time */
    int timeout_sent;             /* one event per silence */
    int delay_sampled;            /* its sockets ask for receive stamps */
    /* private */
    int refs;                     /* atomic */
    md_session_t *hnext;          /* table chain (main thread) */
    md_session_t *wnext, **wprev; /* worker list */
    int open_handles;             /* worker */
    int destroyed;                /* worker */
    md_leg_t legs[];              /* [stream * 2 + side] */
};

/* All drops of a leg, whatever the reason. */
static inline uint64_t md_leg_dropped(const md_leg_stats_t *st)
{
    return (uint64_t)st->drop_source + st->drop_malformed + st->drop_auth +
           st->drop_replay + st->drop_nodest + st->drop_send;
}

static inline md_leg_t *md_leg(md_session_t *s, unsigned stream, Gw__Side side)
{
    return &s->legs[stream * 2 + (side == GW__SIDE__SIDE_INT ? 1 : 0)];
}

/* Main thread: the table. */
md_session_t *md_session_find(md_t *md, uint64_t id);
/* A new session with nstreams streams, in the table, refs = 1 (table). */
md_session_t *md_session_new(md_t *md, uint64_t id, const char *call_id,
                             unsigned nstreams, md_worker_t *w);
/* Takes the session out of the table and drops the table's reference. */
void md_session_unlink(md_t *md, md_session_t *s);
void md_session_ref(md_session_t *s);
void md_session_unref(md_session_t *s);

/* Worker thread. */
/* Takes ports and binds both legs of every stream. 0, -ENOSPC, -EIO. On
 * failure the session is left destroyed (nothing open). */
int md_session_open(md_session_t *s);
/* Sets one leg from its party's offer or answer: SDP address, rtcp-mux,
 * clocks, hold, and the party's SRTP key (the first supported suite of its
 * a=crypto lines; our own key for the party is made with the same suite).
 * A leg we offered SRTP to (want_srtp) stays SRTP even if the answer has
 * no key: then nothing from the party authenticates and nothing is ever
 * relayed in the clear. Clears the latches: a new offer/answer may move
 * the party. 0, -ENOTSUP (only unsupported suites), -EINVAL (bad key). */
int md_leg_configure(md_leg_t *leg, const Gw__Endpoint *ep);
/* Before we offer to a leg's party: make our key when `on` (the leg will
 * speak SRTP; AES_CM_128_HMAC_SHA1_80 unless the leg already has a suite)
 * or drop SRTP from the leg. Leaves its address and latches alone. */
int md_leg_prepare_offer(md_leg_t *leg, int on);
/* Closes sockets, frees SRTP contexts, releases ports; the worker's
 * reference goes when the last socket is closed. Idempotent. */
void md_session_close(md_session_t *s);

/* relay.c */
int md_relay_open(md_leg_t *leg, const char *addr);
void md_relay_close(md_leg_t *leg);
void md_session__handle_closed(uv_handle_t *h);

#endif
