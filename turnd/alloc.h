/* TURN allocations (RFC 8656 section 2.2): the table keyed by the client's
 * 5-tuple, one relay UDP socket per allocation, lifetimes, quotas, and the
 * relay path from peers to the client.
 *
 * Relay ports come from the configured range on the relay (EXT) address,
 * handed out round-robin so that a port just released is reused last; the
 * XOR-RELAYED-ADDRESS a client sees carries the advertised address (1:1
 * NAT) with the bound port. Permissions and channels live inside their
 * allocation (perm.c).
 *
 * Memory: an allocation is calloc'ed by turn_allocs_create() and freed
 * only in the close callback of its relay socket; until then it stays in
 * the all-list (flagged closing) but not in the lookup table. Relayed
 * packets are received into buffers of the table with headroom before
 * the payload, where the ChannelData or Data-indication header is written:
 * the relay path neither allocates nor copies (but for the rare datagram
 * larger than a receive slot, see udprx.h).
 *
 * Relay sockets are our own non-blocking descriptors watched by a
 * uv_poll_t, not uv_udp_t: libuv reads a UDP handle until EAGAIN (an empty
 * system call per wake-up) and, with recvmmsg enabled, reads even a
 * single datagram with recvmmsg() (msghdr copies and a second, empty
 * receive in the kernel), while a relay socket mostly holds one datagram
 * when it wakes (media at tens of packets per second per allocation).
 * Instead a wake-up reads once (udprx.h): a quiet socket (not read in the
 * previous loop iteration, counted by a uv_prepare_t) with one recvfrom(),
 * a busy one (read in the previous iteration too) with one recvmmsg() of
 * up to TURN_RELAY_BATCH datagrams. Data to peers leaves with sendto() on
 * the same descriptor (no msghdr or iovec to copy in).
 *
 * With `use_uring` (turnd's io_uring directive, on by default) those
 * per-packet calls go through one io_uring per loop iteration instead
 * (relayq.h): the reads of quiet relay sockets, and the sends to peers of
 * UDP clients, whose data stays in the listener's receive slots until the
 * check phase. Busy sockets keep their recvmmsg(), and stream clients
 * (whose buffers may move once their callback returns) their sendto().
 * turn_allocs_flush() submits the queue; udp.c calls it before sending its
 * own queue, so that the datagrams read from peers leave in the same
 * iteration.
 *
 * One timer sweeps the table every second: expired allocations are
 * deleted, expired permissions and channels dropped.
 */
#ifndef TURN_ALLOC_H
#define TURN_ALLOC_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "auth.h"
#include "client.h"
#include "relayq.h"
#include "udprx.h"

/* Per allocation; a client reaches a handful of peers (ICE candidates of
 * the other party). 16 each keep an allocation near 1.5 KiB. */
#define TURN_ALLOC_PERMS      16
#define TURN_ALLOC_CHANS      16
#define TURN_PERM_LIFETIME_MS 300000
#define TURN_CHAN_LIFETIME_MS 600000
/* Datagrams taken from a busy relay socket per recvmmsg() (udprx.h; its
 * headroom, TURN_RX_HEADROOM, holds the largest header written in front:
 * STUN header, XOR-PEER-ADDRESS of IPv6, DATA attribute header). */
#define TURN_RELAY_BATCH      8

typedef struct turn_allocs_s turn_allocs_t;
typedef struct turn_alloc_s turn_alloc_t;
typedef struct turn_user_s turn_user_t;

/* An IPv4 or IPv6 transport address in the room it needs (28 bytes rather
 * than sockaddr_storage's 128): an allocation holds one per permission and
 * channel, and allocations are many. `&x.sa` is a struct sockaddr. */
typedef union {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
} turn_addr_t;

/* Permission and channel expiries are in seconds of uv_now() (the sweep
 * runs every second), 32 bits: 136 years of loop time. */
typedef struct {
    turn_addr_t ip;                  /* port ignored */
    uint32_t expires_s;              /* uv_now() / 1000 */
} turn_perm_t;

typedef struct {
    turn_addr_t peer;
    uint16_t num;
    uint32_t expires_s;              /* uv_now() / 1000 */
} turn_chan_t;

struct turn_alloc_s {
    /* read-only */
    turn_client_t client;
    turn_user_t *user;               /* username, quota; NULL once deleted */
    uint8_t tid[TURN_STUN_TID_LEN];  /* of the Allocate (retransmissions) */
    turn_addr_t relay;               /* bound address and port */
    turn_addr_t relay_adv;           /* advertised address, same port */
    uint64_t expires_ms;
    uint64_t pkts_to_peer, pkts_to_client;
    uint64_t dropped;                /* no permission, over bandwidth, send */
    turn_perm_t perms[TURN_ALLOC_PERMS];
    unsigned nperms;
    turn_chan_t chans[TURN_ALLOC_CHANS];
    unsigned nchans;
    /* private */
    turn_allocs_t *tab;
    turn_alloc_t *hnext;             /* hash chain */
    turn_alloc_t *prev, *next;       /* all-list */
    uv_poll_t poll;                  /* relay socket readable */
    int fd;                          /* relay socket; closed with `poll` */
    uint64_t read_iter;              /* loop iteration of the last read */
    uint64_t bw_tokens, bw_last_ms;
    uint32_t ind_seq;                /* Data indication transaction ids */
    int closing;
};

typedef struct {
    uint64_t created, deleted, expired, revoked;
    uint64_t refused_quota, refused_capacity, refused_ports;
    uint64_t pkts_relayed, bytes_relayed;
    uint64_t dropped_perm, dropped_bw, dropped_send;
} turn_allocs_stats_t;

struct turn_allocs_s {
    /* public: set before turn_allocs_start() */
    struct sockaddr_storage relay_ip;   /* bind address (port ignored) */
    struct sockaddr_storage adv_ip;     /* advertised address */
    unsigned port_lo, port_hi;
    unsigned capacity;                  /* allocations in total */
    unsigned user_quota;                /* per username; 0 = no limit */
    unsigned bps;                       /* bytes/s per allocation; 0 = none */
    int use_uring;                      /* batch through io_uring if it can */
    /* read-only */
    unsigned count;                     /* live allocations */
    turn_allocs_stats_t stats;
    /* private */
    uv_loop_t *loop;
    uv_timer_t sweep;
    int started, closing;
    turn_alloc_t **buckets;             /* grows with the count, see alloc.c */
    unsigned nbuckets;                  /* up to nubuckets */
    turn_user_t **ubuckets;
    unsigned nubuckets;
    turn_alloc_t *all;
    uint8_t *port_used;
    unsigned port_next;
    unsigned nopen;                     /* allocations not yet freed */
    uv_prepare_t tick;                  /* counts loop iterations */
    uint64_t iter;
    turn_rx_t rx;                       /* relay sockets are read one at a time */
    turn_rq_t rq;                       /* rq.on: the io_uring is in use */
    int rq_err;                         /* why not, when use_uring (-errno) */
    int rq_warned;                      /* a ring failure was logged */
    uv_check_t flush;                   /* submits rq */
};

/* Allocates the tables and starts the sweep timer. -ENOMEM, -EINVAL. */
int turn_allocs_start(turn_allocs_t *t, uv_loop_t *loop);
/* Deletes every allocation and closes the timer; the tables are freed
 * once the loop has run the closes (turn_allocs_free()). */
void turn_allocs_stop(turn_allocs_t *t);
/* Frees the tables after the loop has run dry. */
void turn_allocs_free(turn_allocs_t *t);
/* Submits the relay I/O queued in this loop iteration (relayq.h). */
void turn_allocs_flush(turn_allocs_t *t);

turn_alloc_t *turn_allocs_find(turn_allocs_t *t, const turn_client_t *c);
/* The username that made a live (found, not deleted) allocation. The
 * allocation keeps no key: answers use the request's credentials. */
const char *turn_alloc_username(const turn_alloc_t *a);
/* Creates an allocation for `c` with a relay port. 0 with *out, or
 * -EDQUOT (user quota), -ENOSPC (capacity), -EADDRINUSE (no free port),
 * -ENOMEM, or a libuv error. */
int turn_allocs_create(turn_allocs_t *t, const turn_client_t *c,
                       const turn_auth_cred_t *cred,
                       const uint8_t tid[TURN_STUN_TID_LEN],
                       unsigned lifetime_s, int even_port, turn_alloc_t **out);
/* Deletes every allocation of `username`, or, for a name without ':', of
 * every REST name "expiry:username". Returns how many. */
unsigned turn_allocs_revoke(turn_allocs_t *t, const char *username);
/* Deletes the allocations of a stream connection that is closing. */
void turn_allocs_drop_conn(turn_allocs_t *t, void *conn);

void turn_alloc_refresh(turn_alloc_t *a, unsigned lifetime_s);
void turn_alloc_delete(turn_alloc_t *a, const char *reason);
/* Sends data from the client to a peer through the relay socket; the
 * caller has checked the permission. 0, or -ENOBUFS (bandwidth cap), or
 * the socket's error. */
int turn_alloc_to_peer(turn_alloc_t *a, const struct sockaddr *peer,
                       const uint8_t *data, size_t len);

/* perm.c: permissions (by IP) and channels. */
int turn_perm_add(turn_alloc_t *a, const struct sockaddr *peer);
int turn_perm_has(const turn_alloc_t *a, const struct sockaddr *peer);
/* Binds or refreshes channel `num` to `peer` (and its permission): 0, or
 * -EEXIST when the number or the peer is bound otherwise, -ENOSPC. */
int turn_chan_bind(turn_alloc_t *a, uint16_t num, const struct sockaddr *peer);
const turn_chan_t *turn_chan_by_num(const turn_alloc_t *a, uint16_t num);
const turn_chan_t *turn_chan_by_peer(const turn_alloc_t *a,
                                     const struct sockaddr *peer);
/* Drops expired permissions and channels. */
void turn_perm_sweep(turn_alloc_t *a, uint64_t now);
/* 1 when both addresses have the same family and IP (ports ignored). */
int turn_same_ip(const struct sockaddr *a, const struct sockaddr *b);

#endif
