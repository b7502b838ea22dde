/* TURN allocations: see alloc.h.
 *
 * Lookup: a hash of the client's address and port (plus the connection
 * for streams) into a power-of-two bucket array sized from the capacity.
 * Users: a second small hash counts allocations per username for the
 * quota; an entry lives while its count is above zero.
 *
 * The relay socket's receive path (on_relay_recv, relay_one) is the hot
 * path from peers: one recvmmsg() per loop iteration, then per datagram the
 * permission check, the bandwidth check, one header written in the
 * headroom and one send to the client (queued by udp.c).
 */
#include "alloc.h"
#include "log.h"
#include "net.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct turn_user_s {
    /* private */
    turn_user_t *next;
    unsigned count;
    char name[];
};

#define SWEEP_MS 1000
#define BIND_TRIES 64

static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static uint32_t client_hash(const turn_client_t *c)
{
    const struct sockaddr *sa = (const struct sockaddr *)&c->addr;
    uint32_t h = 2166136261u;
    uint16_t port = (uint16_t)gw_addr_port(sa);

    if (sa->sa_family == AF_INET)
        h = fnv(h, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    else
        h = fnv(h, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    h = fnv(h, &port, sizeof port);
    return fnv(h, &c->conn, sizeof c->conn);
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
    uint32_t h = fnv(2166136261u, name, strlen(name));
    turn_user_t **p = &t->ubuckets[h & (t->nbuckets - 1)];

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
    uv_os_fd_t fd;
    int rc = UV_EADDRINUSE;

    for (unsigned i = 0; i < n && tries < BIND_TRIES; i++) {
        unsigned port = t->port_lo + t->port_next;

        t->port_next = (t->port_next + 1) % n;
        if (t->port_used[port - t->port_lo] || (even && (port & 1)))
            continue;
        tries++;
        gw_addr_set_port(&ss, port);
        rc = uv_udp_bind(&a->sock, (struct sockaddr *)&ss, 0);
        if (rc == UV_EADDRINUSE)
            continue;   /* taken by another process: try the next */
        if (rc < 0)
            return rc;
        rc = uv_fileno((uv_handle_t *)&a->sock, &fd);
        if (rc < 0)
            return rc;
        a->fd = fd;
        t->port_used[port - t->port_lo] = 1;
        memcpy(&a->relay, &ss, gw_addr_len((struct sockaddr *)&ss));
        memcpy(&a->relay_adv, &t->adv_ip,
               gw_addr_len((struct sockaddr *)&t->adv_ip));
        /* sin_port and sin6_port share their offset. */
        a->relay_adv.in.sin_port = htons((uint16_t)port);
        return 0;
    }
    return UV_EADDRINUSE;
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

/* One datagram from `peer`: `data` has TURN_RELAY_HEADROOM bytes of room
 * before it and 4 after. */
static void relay_one(turn_alloc_t *a, const struct sockaddr *peer,
                      uint8_t *data, size_t n)
{
    turn_allocs_t *t = a->tab;
    uint8_t *msg;
    size_t len;
    const turn_chan_t *ch;

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

/* The first read of a relay socket in a loop iteration gets the buffer,
 * later ones an empty one: libuv then calls on_relay_recv() with
 * UV_ENOBUFS and stops reading, without the system call that would only
 * have said EAGAIN (see alloc.h). */
static void on_relay_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    turn_alloc_t *a = h->data;
    turn_allocs_t *t = a->tab;

    (void)suggested;
    if (a->read_iter == t->iter) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    a->read_iter = t->iter;
    *buf = uv_buf_init((char *)t->rbuf + TURN_RELAY_HEADROOM,
                       TURN_RELAY_BATCH * TURN_RELAY_MAX);
}

/* One datagram, or one chunk of a recvmmsg() (UV_UDP_MMSG_CHUNK), then a
 * last call with UV_UDP_MMSG_FREE that carries nothing. A send to a stream
 * client may close its connection and so delete this allocation on the
 * way: `a` stays valid until the close callback, and nothing more is
 * relayed once it is closing. */
static void on_relay_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                          const struct sockaddr *peer, unsigned flags)
{
    turn_alloc_t *a = h->data;

    if (nread <= 0 || peer == NULL || a->closing ||
        (flags & (UV_UDP_PARTIAL | UV_UDP_MMSG_FREE)))
        return;   /* also UV_ENOBUFS: ours, see on_relay_alloc() */
    relay_one(a, peer, (uint8_t *)buf->base, (size_t)nread);
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
    uv_close((uv_handle_t *)&a->sock, on_relay_closed);
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
    a->fd = -1;
    rc = uv_udp_init_ex(t->loop, &a->sock,
                        t->relay_ip.ss_family | UV_UDP_RECVMMSG);
    if (rc < 0) {
        free(a);
        return rc;
    }
    a->sock.data = a;
    a->read_iter = t->iter - 1;
    /* From here on the allocation is freed by the close callback. */
    a->next = t->all;
    if (t->all)
        t->all->prev = a;
    t->all = a;
    t->nopen++;
    rc = bind_relay(t, a, even_port);
    if (rc == 0)
        rc = uv_udp_recv_start(&a->sock, on_relay_alloc, on_relay_recv);
    if (rc < 0) {
        if (rc == UV_EADDRINUSE)
            t->stats.refused_ports++;
        if (a->relay.sa.sa_family != 0)
            t->port_used[gw_addr_port((struct sockaddr *)&a->relay) - t->port_lo] = 0;
        a->closing = 1;
        uv_close((uv_handle_t *)&a->sock, on_relay_closed);
        return rc == UV_EADDRINUSE ? -EADDRINUSE : rc;
    }
    if (*up == NULL) {
        size_t n = strlen(cred->username) + 1;
        u = calloc(1, sizeof *u + n);
        if (u == NULL) {
            a->closing = 1;
            t->port_used[gw_addr_port((struct sockaddr *)&a->relay) - t->port_lo] = 0;
            uv_close((uv_handle_t *)&a->sock, on_relay_closed);
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
    t->nbuckets = n;
    t->buckets = calloc(n, sizeof *t->buckets);
    t->ubuckets = calloc(n, sizeof *t->ubuckets);
    t->port_used = calloc(t->port_hi - t->port_lo + 1, 1);
    if (t->buckets == NULL || t->ubuckets == NULL || t->port_used == NULL) {
        turn_allocs_free(t);
        return -ENOMEM;
    }
    uv_timer_init(loop, &t->sweep);
    t->sweep.data = t;
    uv_timer_start(&t->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
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
    uv_close((uv_handle_t *)&t->sweep, NULL);
    uv_close((uv_handle_t *)&t->tick, NULL);
}

void turn_allocs_free(turn_allocs_t *t)
{
    GW_ASSERT(t->nopen == 0);
    free(t->buckets);
    free(t->ubuckets);
    free(t->port_used);
    t->buckets = NULL;
    t->ubuckets = NULL;
    t->port_used = NULL;
}
