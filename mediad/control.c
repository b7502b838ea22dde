/* Bus requests from sigd: offer, answer, delete, query (and the node life
 * cycle messages handed to common/node.c). Each handler validates the
 * request, calls session.c, and replies with a MediaReply; every error is a
 * status on the bus plus one log line with the Call-ID. */
#include "session.h"
#include "net.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static Gw__Status status_of(int rc)
{
    switch (rc) {
    case 0: return GW__STATUS__ST_OK;
    case -ENOSPC: return GW__STATUS__ST_ENOSPC;
    case -EEXIST: return GW__STATUS__ST_EEXIST;
    case -ENOENT: return GW__STATUS__ST_ENOENT;
    case -EBUSY: return GW__STATUS__ST_EBUSY;
    case -EINVAL: return GW__STATUS__ST_EINVAL;
    default: return GW__STATUS__ST_EIO;
    }
}

/* Storage for one reply, on the handler's stack. */
typedef struct {
    Gw__MediaReply r;
    Gw__StreamReply streams[MD_MAX_STREAMS];
    Gw__StreamReply *stream_ptrs[MD_MAX_STREAMS];
    Gw__Endpoint ext[MD_MAX_STREAMS], in[MD_MAX_STREAMS];
    Gw__LegStats legs[MD_MAX_STREAMS][2];
    Gw__LegStats *leg_ptrs[MD_MAX_STREAMS][2];
    char remote[MD_MAX_STREAMS][2][GW_ADDRSTRLEN];
} reply_buf_t;

static void fill_stats(reply_buf_t *rb, unsigned i, md_leg_t *leg, int k)
{
    Gw__LegStats *ls = &rb->legs[i][k];

    gw__leg_stats__init(ls);
    ls->side = leg->side;
    ls->has_packets_in = ls->has_bytes_in = ls->has_packets_out = 1;
    ls->has_bytes_out = ls->has_dropped = ls->has_latched = 1;
    ls->packets_in = leg->st.packets_in;
    ls->bytes_in = leg->st.bytes_in;
    ls->packets_out = leg->st.packets_out;
    ls->bytes_out = leg->st.bytes_out;
    ls->dropped = leg->st.dropped;
    ls->latched = leg->rtp_latched;
    if (leg->rtp_latched || leg->has_remote) {
        gw_addr_str((struct sockaddr *)&leg->remote_rtp, rb->remote[i][k],
                    sizeof rb->remote[i][k]);
        ls->remote = rb->remote[i][k];
    }
    rb->leg_ptrs[i][k] = ls;
}

static void build_reply(md_t *md, reply_buf_t *rb, md_session_t *s, int rc,
                        const char *error, int with_stats)
{
    const char *ext_adv = md->cfg.ext_advertised[0] ? md->cfg.ext_advertised
                                                    : md->cfg.ext_addr;

    gw__media_reply__init(&rb->r);
    rb->r.status = status_of(rc);
    rb->r.error = (char *)error;
    rb->r.has_sessions = rb->r.has_ports_in_use = 1;
    rb->r.sessions = md->nsessions;
    rb->r.ports_in_use = gw_ports_used(&md->ext_ports) + gw_ports_used(&md->int_ports);
    if (s == NULL)
        return;
    rb->r.has_session_id = 1;
    rb->r.session_id = s->id;
    for (unsigned i = 0; i < s->nstreams; i++) {
        Gw__StreamReply *sr = &rb->streams[i];
        md_leg_t *e = md_leg(s, i, GW__SIDE__SIDE_EXT);
        md_leg_t *n = md_leg(s, i, GW__SIDE__SIDE_INT);

        gw__stream_reply__init(sr);
        gw__endpoint__init(&rb->ext[i]);
        gw__endpoint__init(&rb->in[i]);
        sr->index = i;
        rb->ext[i].addr = (char *)ext_adv;
        rb->ext[i].port = e->port;
        rb->ext[i].has_rtcp_port = 1;
        rb->ext[i].rtcp_port = e->port + 1;
        rb->in[i].addr = md->cfg.int_addr;
        rb->in[i].port = n->port;
        rb->in[i].has_rtcp_port = 1;
        rb->in[i].rtcp_port = n->port + 1;
        sr->ext_local = &rb->ext[i];
        sr->int_local = &rb->in[i];
        if (with_stats) {
            fill_stats(rb, i, e, 0);
            fill_stats(rb, i, n, 1);
            sr->n_legs = 2;
            sr->legs = rb->leg_ptrs[i];
        }
        rb->stream_ptrs[i] = sr;
    }
    rb->r.n_streams = s->nstreams;
    rb->r.streams = rb->stream_ptrs;
}

static void send_reply(md_t *md, const char *peer, const Gw__Envelope *req,
                       reply_buf_t *rb)
{
    Gw__Envelope env = GW__ENVELOPE__INIT;

    env.body_case = GW__ENVELOPE__BODY_MEDIA_REPLY;
    env.media_reply = &rb->r;
    gw_bus_reply(md->bus, peer, req, &env);
}

/* Sets the remotes of `side` from the streams of an offer or answer. */
static int apply_streams(md_session_t *s, Gw__Side side, size_t n,
                         Gw__StreamOffer **streams)
{
    for (size_t i = 0; i < n; i++)
        if (streams[i]->index >= s->nstreams)
            return -EINVAL;
    for (size_t i = 0; i < n; i++)
        md_leg_set_remote(md_leg(s, streams[i]->index, side), streams[i]->remote);
    return 0;
}

static void on_offer(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                     void *ctx)
{
    md_t *md = ctx;
    const Gw__MediaOffer *o = env->offer;
    md_session_t *s;
    reply_buf_t rb;
    const char *err = NULL;
    int rc;

    (void)bus;
    s = md_session_find(md, o->session_id);
    if (s != NULL) {
        /* A new offer in the dialog (re-INVITE, UPDATE): same ports, new
         * remotes for the offering side, latches cleared. */
        rc = apply_streams(s, o->from_side, o->n_streams, o->streams);
        if (rc < 0)
            err = "stream index beyond the session's streams";
        else
            s->offer_side = o->from_side;
        goto reply;
    }
    if (md->node.draining || (int)md->nsessions >= md->cfg.capacity) {
        rc = -EBUSY;
        err = md->node.draining ? "node draining" : "node at capacity";
        goto reply;
    }
    rc = md_session_create(md, o->session_id, o->call_id,
                           o->n_streams ? (unsigned)o->n_streams : 1, &s);
    if (rc < 0) {
        err = rc == -ENOSPC ? "port range exhausted"
            : rc == -EINVAL ? "bad stream count" : "cannot bind media ports";
        s = NULL;
        goto reply;
    }
    s->offer_side = o->from_side;
    rc = apply_streams(s, o->from_side, o->n_streams, o->streams);
    if (rc < 0) {
        err = "stream index beyond the session's streams";
        md_session_destroy(s);
        s = NULL;
        goto reply;
    }
    gw_log(GW_LOG_INFO, o->call_id, "session %" PRIx64 ": %u stream(s), "
           "EXT port %u, INT port %u", s->id, s->nstreams,
           md_leg(s, 0, GW__SIDE__SIDE_EXT)->port,
           md_leg(s, 0, GW__SIDE__SIDE_INT)->port);
reply:
    if (err)
        gw_log(GW_LOG_WARN, o->call_id, "offer for session %" PRIx64
               " refused: %s", o->session_id, err);
    build_reply(md, &rb, rc == 0 ? s : NULL, rc, err, 0);
    send_reply(md, peer, env, &rb);
}

static void on_answer(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                      void *ctx)
{
    md_t *md = ctx;
    const Gw__MediaAnswer *a = env->answer;
    md_session_t *s = md_session_find(md, a->session_id);
    reply_buf_t rb;
    const char *err = NULL;
    int rc = -ENOENT;

    (void)bus;
    if (s == NULL) {
        err = "no such session";
    } else {
        /* The answer belongs to the side opposite the last offer. */
        Gw__Side side = s->offer_side == GW__SIDE__SIDE_EXT ? GW__SIDE__SIDE_INT
                                                            : GW__SIDE__SIDE_EXT;
        rc = apply_streams(s, side, a->n_streams, a->streams);
        if (rc < 0)
            err = "stream index beyond the session's streams";
    }
    if (err)
        GW_WARN("answer for session %" PRIx64 " refused: %s", a->session_id, err);
    build_reply(md, &rb, rc == 0 ? s : NULL, rc, err, 0);
    send_reply(md, peer, env, &rb);
}

static void on_delete(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                      void *ctx)
{
    md_t *md = ctx;
    const Gw__MediaDelete *d = env->del;
    md_session_t *s = md_session_find(md, d->session_id);
    reply_buf_t rb;

    (void)bus;
    if (s == NULL) {
        GW_DEBUG("delete for unknown session %" PRIx64, d->session_id);
        build_reply(md, &rb, NULL, -ENOENT, "no such session", 0);
        send_reply(md, peer, env, &rb);
        return;
    }
    build_reply(md, &rb, s, 0, NULL, 1);
    for (unsigned i = 0; i < s->nstreams; i++) {
        md_leg_t *e = md_leg(s, i, GW__SIDE__SIDE_EXT);
        md_leg_t *n = md_leg(s, i, GW__SIDE__SIDE_INT);
        gw_log(GW_LOG_INFO, s->call_id, "session %" PRIx64 " stream %u ended "
               "(%s): EXT in %" PRIu64 " out %" PRIu64 " dropped %" PRIu64
               ", INT in %" PRIu64 " out %" PRIu64 " dropped %" PRIu64,
               s->id, i, d->reason ? d->reason : "delete", e->st.packets_in,
               e->st.packets_out, e->st.dropped, n->st.packets_in,
               n->st.packets_out, n->st.dropped);
    }
    /* The reply holds copies of the counters: the session can go first. */
    md_session_destroy(s);
    rb.r.sessions = md->nsessions;
    rb.r.ports_in_use = gw_ports_used(&md->ext_ports) + gw_ports_used(&md->int_ports);
    send_reply(md, peer, env, &rb);
}

static void on_query(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                     void *ctx)
{
    md_t *md = ctx;
    const Gw__MediaQuery *q = env->query;
    md_session_t *s = NULL;
    reply_buf_t rb;

    (void)bus;
    if (q->has_session_id) {
        s = md_session_find(md, q->session_id);
        if (s == NULL) {
            build_reply(md, &rb, NULL, -ENOENT, "no such session", 0);
            send_reply(md, peer, env, &rb);
            return;
        }
    }
    build_reply(md, &rb, s, 0, NULL, 1);
    send_reply(md, peer, env, &rb);
}

static void on_registered(gw_bus_t *bus, const char *peer,
                          const Gw__Envelope *env, void *ctx)
{
    md_t *md = ctx;
    (void)bus;
    (void)peer;
    gw_node_on_registered(&md->node, env);
}

static void on_error(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                     void *ctx)
{
    md_t *md = ctx;
    (void)bus;
    (void)peer;
    gw_node_on_error(&md->node, env);
}

static void on_drain(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                     void *ctx)
{
    md_t *md = ctx;
    (void)bus;
    gw_node_on_drain(&md->node, peer, env);
}

const gw_bus_route_t md_control_routes[] = {
    { GW__ENVELOPE__BODY_OFFER, on_offer },
    { GW__ENVELOPE__BODY_ANSWER, on_answer },
    { GW__ENVELOPE__BODY_DEL, on_delete },
    { GW__ENVELOPE__BODY_QUERY, on_query },
    { GW__ENVELOPE__BODY_REGISTERED, on_registered },
    { GW__ENVELOPE__BODY_ERROR, on_error },
    { GW__ENVELOPE__BODY_DRAIN, on_drain },
    { 0, NULL }
};

void md_control_fill_heartbeat(Gw__Heartbeat *hb, void *ctx)
{
    md_t *md = ctx;

    hb->has_sessions = hb->has_ports_in_use = 1;
    hb->has_packets_relayed = hb->has_bytes_relayed = hb->has_packets_dropped = 1;
    hb->sessions = md->nsessions;
    hb->ports_in_use = gw_ports_used(&md->ext_ports) + gw_ports_used(&md->int_ports);
    hb->packets_relayed = md->totals.packets_relayed;
    hb->bytes_relayed = md->totals.bytes_relayed;
    hb->packets_dropped = md->totals.packets_dropped;
}
