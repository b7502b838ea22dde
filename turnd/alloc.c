/* TURN allocations: see alloc.h.
 *
 * Lookup: a hash of the client's address and port (plus the connection
 * for streams) into a power-of-two bucket array that doubles whenever the
 * allocations outnumber its buckets, up to the capacity. It is looked up
 * for every packet from a client, so it is kept as small as the live
 * allocations allow: sized from the capacity (1 MiB of pointers for
 * 100,000) each lookup was a cache miss on a line of its own, and the
 * pages the scattered buckets touched counted in every allocation's
 * memory.
 * Users: a second small hash counts allocations per username for the
 * quota; an entry lives while its count is above zero.
 *
 * The relay socket's receive path (on_relay_io, relay_one) is the hot
 * path from peers: one receive per loop iteration, then per datagram the
 * permission check, the bandwidth check, one header written in the
 * headroom and one send to the client (queued by udp.c).
 */
#include "alloc.h"
#include "hash.h"
#include "log.h"
#include "net.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct turn_user_s {
    /* private */
    turn_user_t *next;
    unsigned count;
    char name[];
};

#define SWEEP_MS 1000
#define BIND_TRIES 64

/* Address, port and connection folded into 64 bits and multiplied by
 * 2^64 / golden ratio; the high half mixes every input bit (the bucket
 * index takes its low bits). */
static uint32_t client_hash(const turn_client_t *c)
{
    const struct sockaddr *sa = (const struct sockaddr *)&c->addr;
    uint64_t h, w[2];

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

        h = (uint64_t)in->sin_addr.s_addr << 16 | in->sin_port;
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

        memcpy(w, &in6->sin6_addr, sizeof w);
        h = (w[0] * 0x9E3779B97F4A7C15ull) ^ w[1] ^ in6->sin6_port;
    }
    h ^= (uint64_t)(uintptr_t)c->conn;
    h *= 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32);
}

static int client_eq(const turn_client_t *a, const turn_client_t *b)
{
    return a->conn == b->conn && a->proto == b->proto &&
           gw_addr_eq((const struct sockaddr *)&a->addr,
                      (const struct sockaddr *)&b->addr);
}

turn_alloc_t *turn_allocs_find(turn_allocs_t *t, const turn_client_t *c)
{
    turn_alloc_t *a = t->buckets[client_hash(c) & (t->nbuckets - 1)];

    while (a != NULL && !client_eq(&a->client, c))
        a = a->hnext;
    return a;
}

/* --- users --- */

static turn_user_t **user_slot(turn_allocs_t *t, const char *name)
{
    uint32_t h = gw_hash_str(name);
    turn_user_t **p = &t->ubuckets[h & (t->nubuckets - 1)];

    while (*p != NULL && strcmp((*p)->name, name) != 0)
        p = &(*p)->next;
    return p;
}

static void user_put(turn_allocs_t *t, turn_user_t *u)
{
    turn_user_t **p;

    if (--u->count > 0)
        return;
    p = user_slot(t, u->name);
    GW_ASSERT(*p == u);
    *p = u->next;
    free(u);
}

/* --- relay ports --- */

static int bind_relay(turn_allocs_t *t, turn_alloc_t *a, int even)
{
    unsigned n = t->port_hi - t->port_lo + 1, tries = 0;
    struct sockaddr_storage ss = t->relay_ip;
    socklen_t sslen = gw_addr_len((struct sockaddr *)&ss);

    for (unsigned i = 0; i < n && tries < BIND_TRIES; i++) {
        unsigned port = t->port_lo + t->port_next;

        t->port_next = (t->port_next + 1) % n;
        if (t->port_used[port - t->port_lo] || (even && (port & 1)))
            continue;
        tries++;
        gw_addr_set_port(&ss, port);
        if (bind(a->fd, (struct sockaddr *)&ss, sslen) < 0) {
            if (errno == EADDRINUSE)
                continue;   /* taken by another process: try the next */
            return -errno;
        }
        t->port_used[port - t->port_lo] = 1;
        memcpy(&a->relay, &ss, sslen);
        memcpy(&a->relay_adv, &t->adv_ip,
               gw_addr_len((struct sockaddr *)&t->adv_ip));
        gw_addr_set_port_sa(&a->relay_adv.sa, port);
        return 0;
    }
    return -EADDRINUSE;
}

/* --- relay path: peer -> client --- */

/* Token bucket of bps bytes per second, one second deep. */
static int bw_take(turn_alloc_t *a, size_t len)
{
    turn_allocs_t *t = a->tab;
    uint64_t now;

    if (t->bps == 0)
        return 1;
    now = uv_now(t->loop);
    a->bw_tokens += (now - a->bw_last_ms) * t->bps / 1000;
    if (a->bw_tokens > t->bps)
        a->bw_tokens = t->bps;
    a->bw_last_ms = now;
    if (a->bw_tokens < len)
        return 0;
    a->bw_tokens -= len;
    return 1;
}

/* One datagram from `peer` (a turn_rx_fn): `data` has TURN_RX_HEADROOM
 * bytes of room before it and 4 after. */
static void relay_one(void *ctx, uint8_t *data, size_t n,
                      const struct sockaddr *peer, int trunc)
{
    turn_alloc_t *a = ctx;
    turn_allocs_t *t = a->tab;
    uint8_t *msg;
    size_t len;
    const turn_chan_t *ch;

    if (trunc)
        return;   /* none can be: the buffers hold 64 KiB */
    if (!turn_perm_has(a, peer)) {
        t->stats.dropped_perm++;
        a->dropped++;
        return;
    }
    if (!bw_take(a, n)) {
        t->stats.dropped_bw++;
        a->dropped++;
        return;
    }
    ch = turn_chan_by_peer(a, peer);
    if (ch != NULL) {
        msg = data - TURN_CHAN_HDR_LEN;
        turn_chan_header(msg, ch->num, n);
        len = TURN_CHAN_HDR_LEN + n;
        if (turn_client_stream(&a->client)) {   /* padded on streams */
            memset(data + n, 0, 3);
            len = (len + 3) & ~(size_t)3;
        }
    } else {
        size_t alen = peer->sa_family == AF_INET ? 8 : 20;
        size_t hdr = TURN_STUN_HDR_LEN + 4 + alen + 4;
        uint8_t tid[TURN_STUN_TID_LEN] = { 0 };
        turn_stun_enc_t e;
        int rc;

        msg = data - hdr;
        memcpy(tid, &a, sizeof a < 8 ? sizeof a : 8);
        a->ind_seq++;
        memcpy(tid + 8, &a->ind_seq, 4);
        turn_stun_enc_init(&e, msg, hdr + n + 3, TURN_STUN_DATA,
                           TURN_STUN_INDICATION, TURN_STUN_COOKIE, tid);
        turn_stun_enc_xaddr(&e, TURN_ATTR_XOR_PEER_ADDRESS, peer);
        turn_stun_enc_inplace(&e, TURN_ATTR_DATA, n);
        rc = turn_stun_enc_finish(&e);
        if (rc < 0)
            return;
        len = (size_t)rc;
    }
    if (a->client.send(a->client.conn, (struct sockaddr *)&a->client.addr,
                       msg, len) < 0) {
        t->stats.dropped_send++;
        a->dropped++;
        return;
    }
    a->pkts_to_client++;
    t->stats.pkts_relayed++;
    t->stats.bytes_relayed += n;
}

/* Relay socket readable: one read, see alloc.h. A send to a stream client
 * may close its connection and so delete this allocation on the way: `a`
 * stays valid until the close callback, and nothing more is relayed once
 * it is closing. */
static void on_relay_io(uv_poll_t *h, int status, int events)
{
    turn_alloc_t *a = h->data;
    turn_allocs_t *t = a->tab;
    int busy;

    (void)events;
    if (status < 0 || a->closing)
        return;
    busy = a->read_iter + 1 == t->iter;
    a->read_iter = t->iter;
    if (!busy && t->rq.on && turn_rq_recv(&t->rq, a->fd, a) == 0)
        return;   /* read in the check phase, with the others */
    turn_rx_read(&t->rx, a->fd, busy, relay_one, a, &a->closing);
}

/* A queued read (turn_rq_rx_fn): the allocation may have been deleted
 * since, in this iteration; it is freed only in the close phase. */
static void relay_queued(void *ctx, uint8_t *data, size_t len,
                         const struct sockaddr *peer)
{
    turn_alloc_t *a = ctx;

    if (!a->closing)
        relay_one(a, data, len, peer, 0);
}

/* A queued send to a peer failed (turn_rq_fail_fn): it was counted as
 * relayed when queued. */
static void to_peer_failed(void *ctx, int err, size_t len)
{
    turn_alloc_t *a = ctx;
    turn_allocs_t *t = a->tab;

    (void)err;
    t->stats.dropped_send++;
    t->stats.pkts_relayed--;
    t->stats.bytes_relayed -= len;
    a->pkts_to_peer--;
    a->dropped++;
}

void turn_allocs_flush(turn_allocs_t *t)
{
    turn_rq_flush(&t->rq, relay_queued, to_peer_failed);
    if (t->rq.broken != 0 && !t->rq_warned) {
        t->rq_warned = 1;
        GW_WARN("turnd: io_uring failed (%s); relay I/O with a system call "
                "per packet from now on", strerror(-t->rq.broken));
    }
}

static void on_flush(uv_check_t *h)
{
    turn_allocs_flush(h->data);
}

static void on_tick(uv_prepare_t *h)
{
    turn_allocs_t *t = h->data;

    t->iter++;
}

int turn_alloc_to_peer(turn_alloc_t *a, const struct sockaddr *peer,
                       const uint8_t *data, size_t len)
{
    turn_allocs_t *t = a->tab;

    if (!bw_take(a, len)) {
        t->stats.dropped_bw++;
        a->dropped++;
        return -ENOBUFS;
    }
    /* Queued only from a UDP client: the data then stays in the
     * listener's receive buffers until the check phase (udprx.h). */
    if (t->rq.on && !turn_client_stream(&a->client) &&
        turn_rq_send(&t->rq, a->fd, peer, data, len, a) == 0) {
        a->pkts_to_peer++;   /* taken back by to_peer_failed() */
        t->stats.pkts_relayed++;
        t->stats.bytes_relayed += len;
        return 0;
    }
    turn_allocs_flush(t);   /* what is queued leaves first: keep the order */
    if (sendto(a->fd, data, len, MSG_DONTWAIT, peer, gw_addr_len(peer)) < 0) {
        int rc = -errno;

        t->stats.dropped_send++;
        a->dropped++;
        return rc;
    }
    a->pkts_to_peer++;
    t->stats.pkts_relayed++;
    t->stats.bytes_relayed += len;
    return 0;
}

/* --- life cycle --- */

static void on_relay_closed(uv_handle_t *h)
{
    turn_alloc_t *a = h->data;
    turn_allocs_t *t = a->tab;

    close(a->fd);   /* uv_close() has taken it out of epoll */
    if (a->prev)
        a->prev->next = a->next;
    else
        t->all = a->next;
    if (a->next)
        a->next->prev = a->prev;
    t->nopen--;
    free(a);
}

static void unhash(turn_alloc_t *a)
{
    turn_allocs_t *t = a->tab;
    turn_alloc_t **p = &t->buckets[client_hash(&a->client) & (t->nbuckets - 1)];

    while (*p != NULL && *p != a)
        p = &(*p)->hnext;
    if (*p == a)
        *p = a->hnext;
}

void turn_alloc_delete(turn_alloc_t *a, const char *reason)
{
    turn_allocs_t *t = a->tab;
    char c[GW_ADDRSTRLEN], r[GW_ADDRSTRLEN];

    if (a->closing)
        return;
    a->closing = 1;
    unhash(a);
    if (a->relay.sa.sa_family != 0)
        t->port_used[gw_addr_port((struct sockaddr *)&a->relay) - t->port_lo] = 0;
    if (a->user != NULL)
        user_put(t, a->user);
    a->user = NULL;
    t->count--;
    t->stats.deleted++;
    GW_DEBUG("turn: allocation of %s relay %s deleted (%s)",
             gw_addr_str((struct sockaddr *)&a->client.addr, c, sizeof c),
             gw_addr_str((struct sockaddr *)&a->relay, r, sizeof r), reason);
    uv_close((uv_handle_t *)&a->poll, on_relay_closed);
}

const char *turn_alloc_username(const turn_alloc_t *a)
{
    return a->user != NULL ? a->user->name : "";
}

void turn_alloc_refresh(turn_alloc_t *a, unsigned lifetime_s)
{
    if (lifetime_s == 0) {
        turn_alloc_delete(a, "refresh with lifetime 0");
        return;
    }
    a->expires_ms = uv_now(a->tab->loop) + (uint64_t)lifetime_s * 1000;
}

/* Doubles the bucket array and rehashes the live allocations but `adding`
 * (the closing ones are out of the table already). Without memory the
 * table stays as it is: longer chains, still correct. */
static void grow(turn_allocs_t *t, const turn_alloc_t *adding)
{
    unsigned n = t->nbuckets * 2;
    turn_alloc_t **b = calloc(n, sizeof *b);

    if (b == NULL)
        return;
    for (turn_alloc_t *a = t->all; a != NULL; a = a->next) {
        uint32_t h;

        if (a->closing || a == adding)
            continue;
        h = client_hash(&a->client) & (n - 1);
        a->hnext = b[h];
        b[h] = a;
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

int turn_allocs_create(turn_allocs_t *t, const turn_client_t *c,
                       const turn_auth_cred_t *cred,
                       const uint8_t tid[TURN_STUN_TID_LEN],
                       unsigned lifetime_s, int even_port, turn_alloc_t **out)
{
    turn_user_t **up, *u;
    turn_alloc_t *a;
    uint32_t h;
    int rc;

    if (t->count >= t->capacity) {
        t->stats.refused_capacity++;
        return -ENOSPC;
    }
    up = user_slot(t, cred->username);
    if (t->user_quota > 0 && *up != NULL && (*up)->count >= t->user_quota) {
        t->stats.refused_quota++;
        return -EDQUOT;
    }
    a = calloc(1, sizeof *a);
    if (a == NULL)
        return -ENOMEM;
    a->tab = t;
    a->fd = socket(t->relay_ip.ss_family,
                   SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (a->fd < 0) {
        rc = -errno;
        free(a);
        return rc;
    }
    rc = uv_poll_init_socket(t->loop, &a->poll, a->fd);
    if (rc < 0) {
        close(a->fd);
        free(a);
        return rc;
    }
    a->poll.data = a;
    a->read_iter = t->iter - 2;   /* quiet */
    /* From here on the allocation is freed by the close callback. */
    a->next = t->all;
    if (t->all)
        t->all->prev = a;
    t->all = a;
    t->nopen++;
    rc = bind_relay(t, a, even_port);
    if (rc == 0)
        rc = uv_poll_start(&a->poll, UV_READABLE, on_relay_io);
    if (rc < 0) {
        if (rc == -EADDRINUSE)
            t->stats.refused_ports++;
        if (a->relay.sa.sa_family != 0)
            t->port_used[gw_addr_port((struct sockaddr *)&a->relay) - t->port_lo] = 0;
        a->closing = 1;
        uv_close((uv_handle_t *)&a->poll, on_relay_closed);
        return rc;
    }
    if (*up == NULL) {
        size_t n = strlen(cred->username) + 1;
        u = calloc(1, sizeof *u + n);
        if (u == NULL) {
            a->closing = 1;
            t->port_used[gw_addr_port((struct sockaddr *)&a->relay) - t->port_lo] = 0;
            uv_close((uv_handle_t *)&a->poll, on_relay_closed);
            return -ENOMEM;
        }
        memcpy(u->name, cred->username, n);
        *up = u;
    }
    a->user = *up;
    a->user->count++;
    a->client = *c;
    memcpy(a->tid, tid, TURN_STUN_TID_LEN);
    a->bw_tokens = t->bps;
    a->bw_last_ms = uv_now(t->loop);
    turn_alloc_refresh(a, lifetime_s);
    if (t->count >= t->nbuckets && t->nbuckets < t->nubuckets)
        grow(t, a);
    h = client_hash(c) & (t->nbuckets - 1);
    a->hnext = t->buckets[h];
    t->buckets[h] = a;
    t->count++;
    t->stats.created++;
    *out = a;
    return 0;
}

/* REST names "expiry:user" match a bare "user" too. */
static int user_matches(const char *name, const char *want)
{
    const char *colon;

    if (strcmp(name, want) == 0)
        return 1;
    if (strchr(want, ':') != NULL || (colon = strchr(name, ':')) == NULL)
        return 0;
    return strcmp(colon + 1, want) == 0;
}

unsigned turn_allocs_revoke(turn_allocs_t *t, const char *username)
{
    unsigned n = 0;

    for (turn_alloc_t *a = t->all; a != NULL; a = a->next) {
        if (a->closing || !user_matches(a->user->name, username))
            continue;
        turn_alloc_delete(a, "revoked");
        n++;
    }
    t->stats.revoked += n;
    return n;
}

void turn_allocs_drop_conn(turn_allocs_t *t, void *conn)
{
    if (!t->started)
        return;
    for (turn_alloc_t *a = t->all; a != NULL; a = a->next)
        if (!a->closing && a->client.conn == conn)
            turn_alloc_delete(a, "connection closed");
}

static void on_sweep(uv_timer_t *timer)
{
    turn_allocs_t *t = timer->data;
    uint64_t now = uv_now(t->loop);

    for (turn_alloc_t *a = t->all; a != NULL; a = a->next) {
        if (a->closing)
            continue;
        if (a->expires_ms <= now) {
            t->stats.expired++;
            turn_alloc_delete(a, "expired");
            continue;
        }
        turn_perm_sweep(a, now);
    }
}

int turn_allocs_start(turn_allocs_t *t, uv_loop_t *loop)
{
    unsigned n = 64;

    if (t->port_hi < t->port_lo || t->capacity == 0)
        return -EINVAL;
    while (n < t->capacity && n < (1u << 20))
        n <<= 1;
    t->loop = loop;
    t->nubuckets = n;   /* also the most buckets the allocation table grows to */
    t->nbuckets = 64;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    t->ubuckets = calloc(n, sizeof *t->ubuckets);
    t->port_used = calloc(t->port_hi - t->port_lo + 1, 1);
    if (t->buckets == NULL || t->ubuckets == NULL || t->port_used == NULL) {
        turn_allocs_free(t);
        return -ENOMEM;
    }
    uv_timer_init(loop, &t->sweep);
    t->sweep.data = t;
    uv_timer_start(&t->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    turn_rx_init(&t->rx, TURN_RELAY_BATCH);
    t->rq_err = t->use_uring ? turn_rq_init(&t->rq) : 0;
    uv_check_init(loop, &t->flush);
    t->flush.data = t;
    uv_check_start(&t->flush, on_flush);
    uv_prepare_init(loop, &t->tick);
    t->tick.data = t;
    uv_prepare_start(&t->tick, on_tick);
    t->started = 1;
    return 0;
}

void turn_allocs_stop(turn_allocs_t *t)
{
    if (!t->started || t->closing)
        return;
    t->closing = 1;
    for (turn_alloc_t *a = t->all; a != NULL; a = a->next)
        turn_alloc_delete(a, "shutdown");
    turn_allocs_flush(t);   /* the sends queued before the stop */
    uv_close((uv_handle_t *)&t->flush, NULL);
    uv_close((uv_handle_t *)&t->sweep, NULL);
    uv_close((uv_handle_t *)&t->tick, NULL);
}

void turn_allocs_free(turn_allocs_t *t)
{
    GW_ASSERT(t->nopen == 0);
    turn_rq_free(&t->rq);
    free(t->buckets);
    free(t->ubuckets);
    free(t->port_used);
    t->buckets = NULL;
    t->ubuckets = NULL;
    t->port_used = NULL;
}
