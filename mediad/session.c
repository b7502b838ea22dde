/* Sessions: the table (main thread) and the life of legs (worker thread).
 * See session.h for who owns what.
 *
 * The table is a fixed array of buckets with chaining, indexed by the low
 * bits of a mixed session id: O(1) per request. The packet path never looks
 * a session up: each socket's data pointer is its leg.
 */
#include "session.h"
#include "net.h"
#include "worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BIND_ATTEMPTS 8

static unsigned bucket_of(uint64_t id)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdULL;
    id ^= id >> 33;
    return (unsigned)(id & (MD_HASH_BUCKETS - 1));
}

/* ---- table (main thread) ------------------------------------------------ */

md_session_t *md_session_find(md_t *md, uint64_t id)
{
    for (md_session_t *s = md->buckets[bucket_of(id)]; s; s = s->hnext)
        if (s->id == id)
            return s;
    return NULL;
}

md_session_t *md_session_new(md_t *md, uint64_t id, const char *call_id,
                             unsigned nstreams, md_worker_t *w)
{
    md_session_t *s;
    unsigned b;

    s = calloc(1, sizeof *s + sizeof(md_leg_t) * 2 * nstreams);
    if (s == NULL)
        return NULL;
    s->id = id;
    s->nstreams = nstreams;
    s->delay_sampled = md->cfg.delay_stats &&
                       md->sessions_made++ % (uint64_t)md->cfg.delay_sample == 0;
    s->worker = w;
    s->refs = 1;
    snprintf(s->call_id, sizeof s->call_id, "%s", call_id ? call_id : "");
    for (unsigned i = 0; i < nstreams; i++) {
        md_leg_t *e = md_leg(s, i, GW__SIDE__SIDE_EXT);
        md_leg_t *n = md_leg(s, i, GW__SIDE__SIDE_INT);
        e->sess = n->sess = s;
        e->side = GW__SIDE__SIDE_EXT;
        n->side = GW__SIDE__SIDE_INT;
        e->other = n;
        n->other = e;
        e->send_unlatched = !md->cfg.ext_symmetric;
        n->send_unlatched = 1;
        e->rtp_fd = e->rtcp_fd = n->rtp_fd = n->rtcp_fd = -1;
    }
    b = bucket_of(id);
    s->hnext = md->buckets[b];
    md->buckets[b] = s;
    md->nsessions++;
    return s;
}

void md_session_unlink(md_t *md, md_session_t *s)
{
    for (md_session_t **pp = &md->buckets[bucket_of(s->id)]; *pp; pp = &(*pp)->hnext) {
        if (*pp == s) {
            *pp = s->hnext;
            md->nsessions--;
            md_session_unref(s);
            return;
        }
    }
}

void md_session_ref(md_session_t *s)
{
    __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
}

void md_session_unref(md_session_t *s)
{
    if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(s);
}

/* ---- legs (worker thread) ----------------------------------------------- */

static gw_ports_t *pool_of(md_t *md, const md_leg_t *leg)
{
    return leg->side == GW__SIDE__SIDE_EXT ? &md->ext_ports : &md->int_ports;
}

static int port_take(md_t *md, md_leg_t *leg)
{
    int port;

    pthread_mutex_lock(&md->ports_lock);
    port = gw_ports_alloc(pool_of(md, leg));
    pthread_mutex_unlock(&md->ports_lock);
    return port;
}

static void port_give(md_t *md, md_leg_t *leg, unsigned port)
{
    pthread_mutex_lock(&md->ports_lock);
    gw_ports_release(pool_of(md, leg), port);
    pthread_mutex_unlock(&md->ports_lock);
}

/* Takes a port pair and binds both sockets, trying another pair when a port
 * is held by some other process. */
static int leg_open(md_t *md, md_leg_t *leg)
{
    const char *addr = leg->side == GW__SIDE__SIDE_EXT ? md->cfg.ext_addr
                                                       : md->cfg.int_addr;
    int busy[BIND_ATTEMPTS], nbusy = 0, rc = -EIO;

    for (int i = 0; i < BIND_ATTEMPTS; i++) {
        int port = port_take(md, leg);
        if (port < 0) {
            rc = port;
            break;
        }
        leg->port = (uint16_t)port;
        rc = md_relay_open(leg, addr);
        if (rc == 0)
            break;
        md_relay_close(leg);  /* no-op unless a handle was started */
        leg->port = 0;
        busy[nbusy++] = port;
        if (rc != UV_EADDRINUSE)
            break;
    }
    /* Ports held by someone else go back at the tail of the FIFO. */
    for (int i = 0; i < nbusy; i++)
        port_give(md, leg, (unsigned)busy[i]);
    if (rc < 0 && rc != -ENOSPC)
        rc = -EIO;
    return rc;
}

int md_session_open(md_session_t *s)
{
    int rc;

    s->created_ms = uv_now(&s->worker->loop);
    /* The worker's reference, held while sockets may be open. */
    md_session_ref(s);
    s->open_handles = 1;  /* guard: released at the end of close */
    for (unsigned i = 0; i < 2 * s->nstreams; i++) {
        rc = leg_open(s->worker->md, &s->legs[i]);
        if (rc < 0) {
            md_session_close(s);
            return rc;
        }
    }
    md_worker_attach(s->worker, s);
    return 0;
}

static void leg_clear_srtp(md_leg_t *leg)
{
    md_srtp_destroy(&leg->srtp_rx);
    md_srtp_destroy(&leg->srtp_tx);
    leg->suite = MD_SUITE_NONE;
    memset(leg->tx_key, 0, sizeof leg->tx_key);
}

/* Makes our key for the party with `suite` unless we have one already. */
static int make_tx(md_leg_t *leg, md_suite_t suite, uint32_t tag)
{
    int rc;

    if (leg->suite == suite && leg->srtp_tx != NULL)
        return 0;
    leg_clear_srtp(leg);
    leg->suite = suite;
    leg->tx_tag = tag;
    rc = md_srtp_make_key(suite, leg->tx_key, sizeof leg->tx_key);
    if (rc == 0)
        rc = md_srtp_create(&leg->srtp_tx, suite, leg->tx_key, 1);
    if (rc < 0)
        leg_clear_srtp(leg);
    return rc;
}

int md_leg_prepare_offer(md_leg_t *leg, int on)
{
    leg->want_srtp = (uint8_t)on;
    if (!on) {
        leg_clear_srtp(leg);
        return 0;
    }
    return make_tx(leg, leg->suite != MD_SUITE_NONE ? leg->suite
                                                    : MD_SUITE_AES_CM_128_HMAC_SHA1_80, 1);
}

int md_leg_configure(md_leg_t *leg, const Gw__Endpoint *ep)
{
    struct sockaddr_storage a;
    md_suite_t suite = MD_SUITE_NONE;
    const Gw__Crypto *theirs = NULL;
    unsigned rtcp;
    int rc, had_remote = leg->has_remote;

    leg->rtp_latched = leg->rtcp_latched = 0;
    leg->has_remote = 0;
    leg->hold = 0;
    leg->strict_until_ms = 0;
    if (ep == NULL)
        return 0;
    for (size_t i = 0; i < ep->n_crypto && suite == MD_SUITE_NONE; i++) {
        suite = md_srtp_suite(ep->crypto[i]->suite);
        theirs = ep->crypto[i];
    }
    if (ep->n_crypto > 0 && suite == MD_SUITE_NONE)
        return -ENOTSUP;
    if (ep->port != 0 && gw_addr_parse(ep->addr, ep->port, &a) == 0) {
        /* A new SDP address for a party that had one: another early
         * dialog of a forked call plays now (or the 2xx settled which
         * one), or a re-INVITE moved the party. Packets of the previous
         * one may still come for a while; the first of them must not
         * latch the leg, so for a grace period only the new address
         * latches it. Only on a leg that trusts its SDP address (INT, or
         * EXT with ext_symmetric off): behind a NAT, packets come from
         * elsewhere, and after the grace any source may latch again. */
        if (had_remote && leg->send_unlatched &&
            !gw_addr_eq((struct sockaddr *)&a, &leg->sdp_rtp.sa))
            leg->strict_until_ms = uv_now(&leg->sess->worker->loop) + MD_RETARGET_STRICT_MS;
        memcpy(&leg->remote_rtp, &a, gw_addr_len((struct sockaddr *)&a));
        memcpy(&leg->sdp_rtp, &a, gw_addr_len((struct sockaddr *)&a));
        leg->rtcp_mux = ep->has_rtcp_mux && ep->rtcp_mux;
        rtcp = leg->rtcp_mux ? ep->port
             : ep->has_rtcp_port && ep->rtcp_port ? ep->rtcp_port : ep->port + 1;
        gw_addr_set_port(&a, rtcp);
        memcpy(&leg->remote_rtcp, &a, gw_addr_len((struct sockaddr *)&a));
        leg->has_remote = 1;
    }
    leg->hold = ep->has_hold && ep->hold;
    leg->nclocks = 0;
    for (size_t i = 0; i < ep->n_clocks && leg->nclocks < MD_MAX_CLOCKS; i++) {
        if (ep->clocks[i]->rate == 0 || ep->clocks[i]->rate >= (1u << 24))
            continue;   /* not an RTP clock rate */
        leg->clocks[leg->nclocks].pt = ep->clocks[i]->pt & 0x7f;
        leg->clocks[leg->nclocks].rate = ep->clocks[i]->rate;
        leg->nclocks++;
    }
    if (theirs == NULL) {
        if (!leg->want_srtp)
            leg_clear_srtp(leg);
        else
            md_srtp_destroy(&leg->srtp_rx);  /* SRTP expected, no key: all dropped */
        return 0;
    }
    rc = make_tx(leg, suite, theirs->tag);
    if (rc < 0)
        return rc;
    leg->tx_tag = theirs->tag;
    md_srtp_destroy(&leg->srtp_rx);
    return md_srtp_create(&leg->srtp_rx, suite, theirs->key, 0);
}

void md_session__handle_closed(uv_handle_t *h)
{
    md_leg_t *leg = h->data;
    md_session_t *s = leg->sess;
    int *fd = (h == (uv_handle_t *)&leg->rtp) ? &leg->rtp_fd : &leg->rtcp_fd;

    /* uv_poll does not own the socket: it is ours to close. */
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }

    if (--s->open_handles == 0)
        md_session_unref(s);   /* the worker's reference */
}

void md_session_close(md_session_t *s)
{
    md_t *md = s->worker->md;

    if (s->destroyed)
        return;
    s->destroyed = 1;
    md_worker_detach(s->worker, s);
    for (unsigned i = 0; i < 2 * s->nstreams; i++) {
        md_leg_t *leg = &s->legs[i];
        leg_clear_srtp(leg);
        if (leg->port) {
            port_give(md, leg, leg->port);
            leg->port = 0;
        }
        md_relay_close(leg);
    }
    /* Drop the guard taken in md_session_open(). */
    if (--s->open_handles == 0)
        md_session_unref(s);
}
