/* Media requests to nodes: see media.h. Pending requests sit in a list in
 * send order; since every request gets the same deadline, the head is
 * always the first to expire and one periodic timer suffices. A request
 * that must fail at once (its node is gone) is moved to the head with a
 * deadline of 0, which keeps that order. */
#include "media.h"
#include "call.h"
#include "nodes.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MEDIA_TICK_MS 50

static void pending_add(sig_daemon_t *sig, sig_pending_t *p)
{
    sig_pending_t **pp = &sig->pending;
    while (*pp)
        pp = &(*pp)->next;
    p->next = NULL;
    *pp = p;
}

static void pending_push_expired(sig_daemon_t *sig, sig_pending_t *p)
{
    p->deadline_ms = 0;
    p->next = sig->pending;
    sig->pending = p;
}

static sig_pending_t *pending_take(sig_daemon_t *sig, uint64_t id)
{
    for (sig_pending_t **pp = &sig->pending; *pp; pp = &(*pp)->next) {
        if ((*pp)->request_id == id) {
            sig_pending_t *p = *pp;
            *pp = p->next;
            return p;
        }
    }
    return NULL;
}

/* A node that answers an offer after its deadline has made a session the
 * call will not use (it moved on to another node or failed): delete it
 * there, unless it is the node the call already lives on (a re-offer). The
 * delete waits in the node's queue behind the late offer. */
static void delete_late_offer(sig_daemon_t *sig, const sig_pending_t *p)
{
    Gw__Envelope env = GW__ENVELOPE__INIT;
    Gw__MediaDelete d = GW__MEDIA_DELETE__INIT;
    sig_call_t *c = sig_call_find(sig, p->call_id);

    if (c != NULL && strcmp(c->node, p->node) == 0)
        return;
    d.session_id = p->session_id;
    d.reason = "offer timed out";
    env.body_case = GW__ENVELOPE__BODY_DEL;
    env.del = &d;
    gw_bus_send(sig->bus, p->node, &env);
}

static void on_media_timer(su_root_magic_t *magic, su_timer_t *t, sig_daemon_t *sig)
{
    int64_t now = sig_now_ms();

    (void)magic;
    (void)t;
    while (sig->pending && sig->pending->deadline_ms <= now) {
        sig_pending_t *p = sig->pending;
        sig->pending = p->next;
        if (p->deadline_ms == 0) {
            gw_log(GW_LOG_WARN, p->call_id, "media %s to node '%s' failed: node "
                   "gone", gw_bus_body_name(p->kind), p->node);
        } else {
            gw_log(GW_LOG_WARN, p->call_id, "media %s to node '%s' got no reply "
                   "within %d ms", gw_bus_body_name(p->kind), p->node,
                   sig->cfg.media_deadline_ms);
            if (p->kind == GW__ENVELOPE__BODY_OFFER)
                delete_late_offer(sig, p);
        }
        if (p->cb)
            p->cb(sig, p->arg, sig_nodes_find(sig, p->node), NULL);
        free(p);
    }
}

int sig_media_start(sig_daemon_t *sig)
{
    sig->media_timer = su_timer_create(su_root_task(sig->root), MEDIA_TICK_MS);
    if (sig->media_timer == NULL)
        return -1;
    return su_timer_set_for_ever(sig->media_timer, on_media_timer, sig);
}

void sig_media_stop(sig_daemon_t *sig)
{
    su_timer_destroy(sig->media_timer);
    sig->media_timer = NULL;
    while (sig->pending) {
        sig_pending_t *p = sig->pending;
        sig->pending = p->next;
        free(p);
    }
}

unsigned sig_media_node_lost(sig_daemon_t *sig, const char *node)
{
    sig_pending_t *lost = NULL, **pp = &sig->pending;
    unsigned n = 0;

    while (*pp) {
        sig_pending_t *p = *pp;
        if (p->cb != NULL && strcmp(p->node, node) == 0) {
            *pp = p->next;
            p->next = lost;
            lost = p;
        } else {
            pp = &p->next;
        }
    }
    while (lost) {
        sig_pending_t *p = lost;
        lost = p->next;
        pending_push_expired(sig, p);
        n++;
    }
    return n;
}

void sig_media_forget(sig_daemon_t *sig, void *arg)
{
    for (sig_pending_t *p = sig->pending; p; p = p->next)
        if (p->arg == arg)
            p->cb = NULL;
}

static int send_request(sig_daemon_t *sig, const char *node, const char *call_id,
                        Gw__Envelope *env, sig_media_cb cb, void *arg)
{
    sig_pending_t *p = calloc(1, sizeof *p);
    int rc;

    if (p == NULL)
        return -1;
    env->has_deadline_ms = 1;
    env->deadline_ms = (uint32_t)sig->cfg.media_deadline_ms;
    rc = gw_bus_send(sig->bus, node, env);
    if (rc < 0) {
        gw_log(GW_LOG_WARN, call_id, "media %s to node '%s' not sent: %s",
               gw_bus_body_name(env->body_case), node, strerror(-rc));
        if (rc == -EHOSTUNREACH && sig_nodes_find(sig, node) != NULL)
            sig_nodes_unreachable(sig, sig_nodes_find(sig, node));
        if (rc != -EHOSTUNREACH || cb == NULL) {
            free(p);
            return rc;
        }
        /* The node's connection is gone: fail from the timer, as a lost
         * reply would, so that the caller moves on to another node. */
    }
    p->request_id = env->request_id;
    snprintf(p->node, sizeof p->node, "%s", node);
    snprintf(p->call_id, sizeof p->call_id, "%s", call_id);
    p->deadline_ms = sig_now_ms() + sig->cfg.media_deadline_ms;
    p->cb = cb;
    p->arg = arg;
    p->kind = env->body_case;
    if (env->body_case == GW__ENVELOPE__BODY_OFFER)
        p->session_id = env->offer->session_id;
    if (rc < 0)
        pending_push_expired(sig, p);
    else
        pending_add(sig, p);
    return 0;
}

/* Builds StreamOffer messages for eps[0..n) into caller storage. */
/* The party's SRTP keys and RTP clock rates, for the node. */
static void fill_media_extras(const sig_sdp_ep_t *e, Gw__Endpoint *ep,
                              Gw__Crypto *crypto, Gw__Crypto **crypto_ptrs,
                              Gw__ClockRate *clocks, Gw__ClockRate **clock_ptrs)
{
    for (unsigned k = 0; k < e->ncrypto; k++) {
        gw__crypto__init(&crypto[k]);
        crypto[k].tag = e->crypto[k].tag;
        crypto[k].suite = (char *)e->crypto[k].suite;
        crypto[k].key = (char *)e->crypto[k].key;
        crypto_ptrs[k] = &crypto[k];
    }
    ep->n_crypto = e->ncrypto;
    ep->crypto = crypto_ptrs;
    for (unsigned k = 0; k < e->nclocks; k++) {
        gw__clock_rate__init(&clocks[k]);
        clocks[k].pt = e->clocks[k].pt;
        clocks[k].rate = e->clocks[k].rate;
        clock_ptrs[k] = &clocks[k];
    }
    ep->n_clocks = e->nclocks;
    ep->clocks = clock_ptrs;
}

/* Storage for the crypto and clock sub-messages of fill_streams(). */
static Gw__Crypto crypto[SIG_SDP_MAX_STREAMS][SIG_SDP_MAX_CRYPTO];
static Gw__Crypto *crypto_ptrs[SIG_SDP_MAX_STREAMS][SIG_SDP_MAX_CRYPTO];
static Gw__ClockRate clocks[SIG_SDP_MAX_STREAMS][SIG_SDP_MAX_CLOCKS];
static Gw__ClockRate *clock_ptrs[SIG_SDP_MAX_STREAMS][SIG_SDP_MAX_CLOCKS];

static void fill_streams(const sig_sdp_ep_t *eps, unsigned n, Gw__StreamOffer *so,
                         Gw__StreamOffer **ptrs, Gw__Endpoint *ep)
{
    for (unsigned i = 0; i < n; i++) {
        gw__stream_offer__init(&so[i]);
        gw__endpoint__init(&ep[i]);
        so[i].index = i;
        if (eps[i].port) {
            ep[i].addr = (char *)eps[i].addr;
            ep[i].port = eps[i].port;
            ep[i].has_rtcp_port = eps[i].rtcp_port != 0;
            ep[i].rtcp_port = eps[i].rtcp_port;
            ep[i].has_rtcp_mux = 1;
            ep[i].rtcp_mux = eps[i].rtcp_mux;
            ep[i].has_hold = 1;
            ep[i].hold = eps[i].hold;
            fill_media_extras(&eps[i], &ep[i], crypto[i], crypto_ptrs[i],
                              clocks[i], clock_ptrs[i]);
            so[i].remote = &ep[i];
        }
        so[i].has_peer_srtp = 1;
        so[i].peer_srtp = eps[i].peer_srtp;
        ptrs[i] = &so[i];
    }
}

int sig_media_offer(sig_daemon_t *sig, sig_node_t *node, sig_call_t *call,
                    Gw__Side from_side, const sig_sdp_ep_t *eps, unsigned n,
                    sig_media_cb cb, void *arg)
{
    Gw__Envelope env = GW__ENVELOPE__INIT;
    Gw__MediaOffer o = GW__MEDIA_OFFER__INIT;
    Gw__StreamOffer so[SIG_SDP_MAX_STREAMS], *ptrs[SIG_SDP_MAX_STREAMS];
    Gw__Endpoint ep[SIG_SDP_MAX_STREAMS];

    fill_streams(eps, n, so, ptrs, ep);
    o.session_id = call->session_id;
    o.call_id = call->call_id;
    o.from_side = from_side;
    o.n_streams = n;
    o.streams = ptrs;
    env.body_case = GW__ENVELOPE__BODY_OFFER;
    env.offer = &o;
    return send_request(sig, node->name, call->call_id, &env, cb, arg);
}

int sig_media_answer(sig_daemon_t *sig, sig_call_t *call, const sig_sdp_ep_t *eps,
                     unsigned n, sig_media_cb cb, void *arg)
{
    Gw__Envelope env = GW__ENVELOPE__INIT;
    Gw__MediaAnswer a = GW__MEDIA_ANSWER__INIT;
    Gw__StreamOffer so[SIG_SDP_MAX_STREAMS], *ptrs[SIG_SDP_MAX_STREAMS];
    Gw__Endpoint ep[SIG_SDP_MAX_STREAMS];

    fill_streams(eps, n, so, ptrs, ep);
    a.session_id = call->session_id;
    a.n_streams = n;
    a.streams = ptrs;
    env.body_case = GW__ENVELOPE__BODY_ANSWER;
    env.answer = &a;
    return send_request(sig, call->node, call->call_id, &env, cb, arg);
}

void sig_media_delete(sig_daemon_t *sig, sig_call_t *call, const char *reason)
{
    Gw__Envelope env = GW__ENVELOPE__INIT;
    Gw__MediaDelete d = GW__MEDIA_DELETE__INIT;
    sig_node_t *n = sig_nodes_find(sig, call->node);

    d.session_id = call->session_id;
    d.reason = (char *)reason;
    env.body_case = GW__ENVELOPE__BODY_DEL;
    env.del = &d;
    send_request(sig, call->node, call->call_id, &env, NULL, NULL);
    /* Count it now; the next heartbeat brings the node's own figure. */
    if (n && n->sessions)
        n->sessions--;
}

int sig_media_query(sig_daemon_t *sig, const char *node, uint64_t session_id,
                    const char *call_id, sig_media_cb cb, void *arg)
{
    Gw__Envelope env = GW__ENVELOPE__INIT;
    Gw__MediaQuery q = GW__MEDIA_QUERY__INIT;

    q.has_session_id = 1;
    q.session_id = session_id;
    env.body_case = GW__ENVELOPE__BODY_QUERY;
    env.query = &q;
    return send_request(sig, node, call_id, &env, cb, arg);
}

static void log_stats(const sig_pending_t *p, const Gw__MediaReply *r)
{
    for (size_t i = 0; i < r->n_streams; i++) {
        const Gw__StreamReply *s = r->streams[i];
        if (s->n_legs < 2)
            continue;
        gw_log(GW_LOG_INFO, p->call_id, "media stream %u on '%s': EXT in %" PRIu64
               " out %" PRIu64 " dropped %" PRIu64 ", INT in %" PRIu64 " out %"
               PRIu64 " dropped %" PRIu64, s->index, p->node,
               s->legs[0]->packets_in, s->legs[0]->packets_out, s->legs[0]->dropped,
               s->legs[1]->packets_in, s->legs[1]->packets_out, s->legs[1]->dropped);
    }
}

void sig_media_on_reply(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                        void *ctx)
{
    sig_daemon_t *sig = ctx;
    const Gw__MediaReply *r = env->media_reply;
    sig_pending_t *p = pending_take(sig, env->correlation_id);

    (void)bus;
    if (p == NULL) {
        GW_DEBUG("bus: late or unknown media reply from '%s'", peer);
        return;
    }
    if (r->status != GW__STATUS__ST_OK)
        gw_log(GW_LOG_WARN, p->call_id, "media %s on node '%s' failed: %s",
               gw_bus_body_name(p->kind), peer, r->error ? r->error : "no reason");
    else if (p->kind == GW__ENVELOPE__BODY_DEL)
        log_stats(p, r);
    if (p->cb)
        p->cb(sig, p->arg, sig_nodes_find(sig, peer),
              r->status == GW__STATUS__ST_OK ? r : NULL);
    free(p);
}

void sig_media_on_error(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                        void *ctx)
{
    sig_daemon_t *sig = ctx;
    sig_pending_t *p;

    (void)bus;
    if (!env->has_correlation_id || (p = pending_take(sig, env->correlation_id)) == NULL) {
        GW_WARN("bus: error from '%s': %s", peer,
                env->error->text ? env->error->text : "no text");
        return;
    }
    gw_log(GW_LOG_WARN, p->call_id, "media %s on node '%s' refused: %s",
           gw_bus_body_name(p->kind), peer,
           env->error->text ? env->error->text : "no text");
    if (p->cb)
        p->cb(sig, p->arg, sig_nodes_find(sig, peer), NULL);
    free(p);
}
