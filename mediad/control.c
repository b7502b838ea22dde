/* Bus requests from sigd: offer, answer, delete, query, and the node life
 * cycle messages handed to common/node.c.
 *
 * Two halves. In the main thread, each handler checks the request against
 * the session table, takes a private copy of it and posts a command to the
 * session's worker; md_control_done() sends the reply the worker prepared.
 * In the worker thread, md_control_exec() does the work on the legs and
 * fills the reply. Every failure is a status on the bus and one log line
 * with the Call-ID.
 */
#include "worker.h"
#include "net.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reply building (worker thread, or main for session-less replies) -- */

static void fill_stats(md_reply_t *rb, unsigned i, int k, md_leg_t *leg,
                       uint64_t now_ms)
{
    Gw__LegStats *ls = &rb->legs[i][k];
    const md_leg_stats_t *st = &leg->st;

    gw__leg_stats__init(ls);
    ls->side = leg->side;
#define SET(f, v) do { ls->has_##f = 1; ls->f = (v); } while (0)
    SET(packets_in, st->packets_in);
    SET(bytes_in, st->bytes_in);
    SET(packets_out, st->packets_out);
    SET(bytes_out, st->bytes_out);
    SET(dropped, md_leg_dropped(st));
    SET(drop_source, st->drop_source);
    SET(drop_malformed, st->drop_malformed);
    SET(drop_auth, st->drop_auth);
    SET(drop_replay, st->drop_replay);
    SET(drop_nodest, st->drop_nodest);
    SET(drop_send, st->drop_send);
    SET(latched, leg->rtp_latched);
    SET(lost, md_rtpstats_lost(&leg->rtp_stats));
    SET(jitter_us, md_rtpstats_jitter_us(&leg->rtp_stats));
    SET(jitter_max_us, md_rtpstats_jitter_max_us(&leg->rtp_stats));
    SET(last_packet_ms, st->last_ms ? now_ms - st->last_ms : 0);
    SET(srtp, leg->suite != MD_SUITE_NONE);
#undef SET
    if (leg->rtp_latched || leg->has_remote) {
        gw_addr_str(&leg->remote_rtp.sa, rb->remote[i][k], sizeof rb->remote[i][k]);
        ls->remote = rb->remote[i][k];
    }
    rb->leg_ptrs[i][k] = ls;
}

static void fill_endpoint(md_reply_t *rb, unsigned i, int k, md_leg_t *leg,
                          const char *addr)
{
    Gw__Endpoint *ep = &rb->ep[i][k];

    gw__endpoint__init(ep);
    ep->addr = (char *)addr;
    ep->port = leg->port;
    ep->has_rtcp_port = 1;
    ep->rtcp_port = leg->port + 1u;
    if (leg->suite != MD_SUITE_NONE && leg->srtp_tx != NULL) {
        Gw__Crypto *c = &rb->crypto[i][k];
        gw__crypto__init(c);
        c->tag = leg->tx_tag;
        c->suite = (char *)md_srtp_suite_name(leg->suite);
        memcpy(rb->keys[i][k], leg->tx_key, sizeof rb->keys[i][k]);
        c->key = rb->keys[i][k];
        rb->crypto_ptrs[i][k] = c;
        ep->n_crypto = 1;
        ep->crypto = &rb->crypto_ptrs[i][k];
    }
}

static void reply_fill(md_t *md, md_reply_t *rb, md_session_t *s, int rc,
                       const char *error, int with_stats)
{
    const char *ext_adv = md->cfg.ext_advertised[0] ? md->cfg.ext_advertised
                                                    : md->cfg.ext_addr;

    gw__media_reply__init(&rb->r);
    rb->r.status = gw_bus_status(rc);
    if (error) {
        snprintf(rb->error, sizeof rb->error, "%s", error);
        rb->r.error = rb->error;
    }
    if (s == NULL || rc < 0)
        return;
    rb->r.has_session_id = 1;
    rb->r.session_id = s->id;
    for (unsigned i = 0; i < s->nstreams; i++) {
        Gw__StreamReply *sr = &rb->streams[i];
        md_leg_t *e = md_leg(s, i, GW__SIDE__SIDE_EXT);
        md_leg_t *n = md_leg(s, i, GW__SIDE__SIDE_INT);

        gw__stream_reply__init(sr);
        sr->index = i;
        fill_endpoint(rb, i, 0, e, ext_adv);
        fill_endpoint(rb, i, 1, n, md->cfg.int_addr);
        sr->ext_local = &rb->ep[i][0];
        sr->int_local = &rb->ep[i][1];
        if (with_stats) {
            uint64_t now = uv_now(&s->worker->loop);
            fill_stats(rb, i, 0, e, now);
            fill_stats(rb, i, 1, n, now);
            sr->n_legs = 2;
            sr->legs = rb->leg_ptrs[i];
        }
        rb->stream_ptrs[i] = sr;
    }
    rb->r.n_streams = s->nstreams;
    rb->r.streams = rb->stream_ptrs;
}

/* ---- worker thread ------------------------------------------------------ */

static int exec_offer(md_session_t *s, md_cmd_t *cmd, const char **err)
{
    const Gw__MediaOffer *o = cmd->msg;
    Gw__Side from = o->from_side;
    Gw__Side to = from == GW__SIDE__SIDE_EXT ? GW__SIDE__SIDE_INT : GW__SIDE__SIDE_EXT;
    int rc;

    if (cmd->create) {
        rc = md_session_open(s);
        if (rc < 0) {
            *err = rc == -ENOSPC ? "port range exhausted" : "cannot bind media ports";
            return rc;
        }
    }
    for (size_t i = 0; i < o->n_streams; i++)
        if (o->streams[i]->index >= s->nstreams) {
            *err = "stream index beyond the session's streams";
            return -EINVAL;
        }
    for (size_t i = 0; i < o->n_streams; i++) {
        const Gw__StreamOffer *so = o->streams[i];
        md_leg_t *a = md_leg(s, so->index, from), *b = md_leg(s, so->index, to);

        a->want_srtp = 0;
        rc = md_leg_configure(a, so->remote);
        if (rc == 0)
            rc = md_leg_prepare_offer(b, so->has_peer_srtp && so->peer_srtp);
        if (rc < 0) {
            *err = rc == -ENOTSUP ? "no supported SRTP suite in the offer"
                                  : "bad SRTP key in the offer";
            return rc;
        }
    }
    s->offer_side = from;
    return 0;
}

static int exec_answer(md_session_t *s, md_cmd_t *cmd, const char **err)
{
    const Gw__MediaAnswer *a = cmd->msg;
    Gw__Side side = s->offer_side == GW__SIDE__SIDE_EXT ? GW__SIDE__SIDE_INT
                                                        : GW__SIDE__SIDE_EXT;
    int rc;

    for (size_t i = 0; i < a->n_streams; i++)
        if (a->streams[i]->index >= s->nstreams) {
            *err = "stream index beyond the session's streams";
            return -EINVAL;
        }
    for (size_t i = 0; i < a->n_streams; i++) {
        rc = md_leg_configure(md_leg(s, a->streams[i]->index, side),
                              a->streams[i]->remote);
        if (rc < 0) {
            *err = rc == -ENOTSUP ? "no supported SRTP suite in the answer"
                                  : "bad SRTP key in the answer";
            return rc;
        }
    }
    return 0;
}

/* VoIP-ready limits a contact centre expects of the network: at most 3 %
 * loss and 20 ms jitter (one-way delay, the third limit, is not visible
 * to a relay in the middle). */
#define READY_LOSS_PERMILLE 30
#define READY_JITTER_US 20000

static void leg_verdict(const md_leg_t *leg, char *buf, size_t len)
{
    uint64_t lost = md_rtpstats_lost(&leg->rtp_stats);
    uint64_t expected = leg->rtp_stats.received + lost;
    unsigned permille = expected ? (unsigned)(lost * 1000 / expected) : 0;
    uint32_t jmax = md_rtpstats_jitter_max_us(&leg->rtp_stats);

    snprintf(buf, len, "loss %u.%u%% jitter max %u.%u ms: %s", permille / 10,
             permille % 10, jmax / 1000, jmax % 1000 / 100,
             leg->st.packets_in == 0 ? "no media"
             : permille > READY_LOSS_PERMILLE || jmax > READY_JITTER_US
                 ? "below VoIP-ready limits (3% loss, 20 ms jitter)" : "VoIP-ready");
}

static void log_end(md_session_t *s, const char *reason)
{
    for (unsigned i = 0; i < s->nstreams; i++) {
        md_leg_t *e = md_leg(s, i, GW__SIDE__SIDE_EXT);
        md_leg_t *n = md_leg(s, i, GW__SIDE__SIDE_INT);
        uint64_t de = md_leg_dropped(&e->st), dn = md_leg_dropped(&n->st);
        char ve[128], vn[128];

        gw_log(GW_LOG_INFO, s->call_id, "session %" PRIx64 " stream %u ended (%s): "
               "EXT in %" PRIu64 " out %" PRIu64 " dropped %" PRIu64
               ", INT in %" PRIu64 " out %" PRIu64 " dropped %" PRIu64,
               s->id, i, reason, e->st.packets_in, e->st.packets_out, de,
               n->st.packets_in, n->st.packets_out, dn);
        leg_verdict(e, ve, sizeof ve);
        leg_verdict(n, vn, sizeof vn);
        gw_log(GW_LOG_INFO, s->call_id, "session %" PRIx64 " stream %u quality: "
               "from EXT %s; from INT %s", s->id, i, ve, vn);
    }
}

void md_control_exec(md_worker_t *w, md_cmd_t *cmd)
{
    md_t *md = w->md;
    md_session_t *s = cmd->sess;
    const char *err = NULL;
    int rc = 0, stats = 0;

    switch (cmd->kind) {
    case MD_CMD_STOP:
        md_worker__stop(w);
        free(cmd);
        return;
    case MD_CMD_OFFER:
        rc = s->destroyed && !cmd->create ? -ENOENT : exec_offer(s, cmd, &err);
        if (rc == 0 && cmd->create)
            gw_log(GW_LOG_INFO, s->call_id, "session %" PRIx64 ": %u stream(s), "
                   "EXT port %u%s, INT port %u%s", s->id, s->nstreams,
                   md_leg(s, 0, GW__SIDE__SIDE_EXT)->port,
                   md_leg(s, 0, GW__SIDE__SIDE_EXT)->suite ? " SRTP" : "",
                   md_leg(s, 0, GW__SIDE__SIDE_INT)->port,
                   md_leg(s, 0, GW__SIDE__SIDE_INT)->suite ? " SRTP" : "");
        break;
    case MD_CMD_ANSWER:
        rc = s->destroyed ? -ENOENT : exec_answer(s, cmd, &err);
        break;
    case MD_CMD_DELETE: {
        const Gw__MediaDelete *d = cmd->msg;
        stats = 1;
        log_end(s, d->reason ? d->reason : "delete");
        break;
    }
    case MD_CMD_QUERY:
        stats = 1;
        break;
    case MD_CMD_EVENT:
        break;
    }
    if (rc < 0 && err == NULL)
        err = "no such session";
    if (err)
        gw_log(GW_LOG_WARN, s->call_id, "session %" PRIx64 ": %s", s->id, err);
    reply_fill(md, &cmd->reply, s, rc, err, stats);
    if (cmd->kind == MD_CMD_DELETE || (cmd->create && rc < 0))
        md_session_close(s);
    cmd->rc = rc;
    md_worker_done(md, cmd);
}

/* ---- main thread -------------------------------------------------------- */

static void send_reply(md_t *md, const char *peer, uint64_t request_id,
                       Gw__MediaReply *r)
{
    Gw__Envelope env = GW__ENVELOPE__INIT, req = GW__ENVELOPE__INIT;

    r->has_sessions = r->has_ports_in_use = 1;
    r->sessions = md->nsessions;
    pthread_mutex_lock(&md->ports_lock);
    r->ports_in_use = gw_ports_used(&md->ext_ports) + gw_ports_used(&md->int_ports);
    pthread_mutex_unlock(&md->ports_lock);
    req.request_id = request_id;
    env.body_case = GW__ENVELOPE__BODY_MEDIA_REPLY;
    env.media_reply = r;
    gw_bus_reply(md->bus, peer, &req, &env);
}

static void reply_now(md_t *md, const char *peer, const Gw__Envelope *req,
                      int rc, const char *err)
{
    md_reply_t rb;

    reply_fill(md, &rb, NULL, rc, err, 0);
    send_reply(md, peer, req->request_id, &rb.r);
}

static md_cmd_t *cmd_new(md_cmd_kind_t kind, md_session_t *s, const char *peer,
                         const Gw__Envelope *env)
{
    md_cmd_t *cmd = calloc(1, sizeof *cmd);

    if (cmd == NULL)
        return NULL;
    cmd->kind = kind;
    cmd->sess = s;
    md_session_ref(s);
    snprintf(cmd->peer, sizeof cmd->peer, "%s", peer);
    cmd->request_id = env->request_id;
    return cmd;
}

static void cmd_free(md_cmd_t *cmd)
{
    if (cmd->msg)
        protobuf_c_message_free_unpacked(cmd->msg, NULL);
    if (cmd->sess)
        md_session_unref(cmd->sess);
    free(cmd);
}

/* A private copy of a request body, for the worker (the envelope is
 * freed when the handler returns). */
static void *copy_msg(const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    void *copy = NULL;

    if (buf != NULL) {
        protobuf_c_message_pack(m, buf);
        copy = protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
        free(buf);
    }
    return copy;
}

static void on_offer(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                     void *ctx)
{
    md_t *md = ctx;
    const Gw__MediaOffer *o = env->offer;
    md_session_t *s = md_session_find(md, o->session_id);
    unsigned n = o->n_streams ? (unsigned)o->n_streams : 1;
    md_cmd_t *cmd;
    int create = 0;

    (void)bus;
    if (s == NULL) {
        const char *why = md->node.draining ? "node draining"
                        : (int)md->nsessions >= md->cfg.capacity ? "node at capacity"
                        : n > MD_MAX_STREAMS ? "too many streams" : NULL;
        if (why) {
            gw_log(GW_LOG_WARN, o->call_id, "offer for session %" PRIx64
                   " refused: %s", o->session_id, why);
            reply_now(md, peer, env, n > MD_MAX_STREAMS ? -EINVAL : -EBUSY, why);
            return;
        }
        s = md_session_new(md, o->session_id, o->call_id, n, md_worker_pick(md));
        if (s == NULL) {
            reply_now(md, peer, env, -ENOMEM, "out of memory");
            return;
        }
        s->worker->assigned++;
        create = 1;
    }
    cmd = cmd_new(MD_CMD_OFFER, s, peer, env);
    if (cmd == NULL || (cmd->msg = copy_msg(&o->base)) == NULL) {
        if (cmd)
            cmd_free(cmd);
        if (create) {
            s->worker->assigned--;
            md_session_unlink(md, s);
        }
        reply_now(md, peer, env, -ENOMEM, "out of memory");
        return;
    }
    cmd->create = create;
    md_worker_post(s->worker, cmd);
}

static void on_answer(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                      void *ctx)
{
    md_t *md = ctx;
    md_session_t *s = md_session_find(md, env->answer->session_id);
    md_cmd_t *cmd;

    (void)bus;
    if (s == NULL) {
        GW_WARN("answer for unknown session %" PRIx64, env->answer->session_id);
        reply_now(md, peer, env, -ENOENT, "no such session");
        return;
    }
    cmd = cmd_new(MD_CMD_ANSWER, s, peer, env);
    if (cmd == NULL || (cmd->msg = copy_msg(&env->answer->base)) == NULL) {
        if (cmd)
            cmd_free(cmd);
        reply_now(md, peer, env, -ENOMEM, "out of memory");
        return;
    }
    md_worker_post(s->worker, cmd);
}

static void on_delete(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                      void *ctx)
{
    md_t *md = ctx;
    md_session_t *s = md_session_find(md, env->del->session_id);
    md_cmd_t *cmd;

    (void)bus;
    if (s == NULL) {
        GW_DEBUG("delete for unknown session %" PRIx64, env->del->session_id);
        reply_now(md, peer, env, -ENOENT, "no such session");
        return;
    }
    cmd = cmd_new(MD_CMD_DELETE, s, peer, env);
    if (cmd == NULL || (cmd->msg = copy_msg(&env->del->base)) == NULL) {
        if (cmd)
            cmd_free(cmd);
        reply_now(md, peer, env, -ENOMEM, "out of memory");
        return;
    }
    /* Gone from the table now: later requests for it get ENOENT. */
    s->worker->assigned--;
    md_session_unlink(md, s);
    md_worker_post(s->worker, cmd);
}

static void on_query(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                     void *ctx)
{
    md_t *md = ctx;
    const Gw__MediaQuery *q = env->query;
    md_session_t *s;
    md_cmd_t *cmd;

    (void)bus;
    if (!q->has_session_id) {
        reply_now(md, peer, env, 0, NULL);
        return;
    }
    s = md_session_find(md, q->session_id);
    if (s == NULL) {
        reply_now(md, peer, env, -ENOENT, "no such session");
        return;
    }
    cmd = cmd_new(MD_CMD_QUERY, s, peer, env);
    if (cmd == NULL) {
        reply_now(md, peer, env, -ENOMEM, "out of memory");
        return;
    }
    md_worker_post(s->worker, cmd);
}

static void send_timeout_event(md_t *md, md_session_t *s)
{
    Gw__Envelope env = GW__ENVELOPE__INIT;
    Gw__NodeEvent ev = GW__NODE_EVENT__INIT;
    char detail[64];

    if (md_session_find(md, s->id) != s)
        return;   /* deleted meanwhile */
    snprintf(detail, sizeof detail, "no media for %d s", md->cfg.timeout);
    ev.kind = GW__EVENT_KIND__EV_MEDIA_TIMEOUT;
    ev.has_session_id = 1;
    ev.session_id = s->id;
    ev.detail = detail;
    env.body_case = GW__ENVELOPE__BODY_EVENT;
    env.event = &ev;
    gw_log(GW_LOG_WARN, s->call_id, "session %" PRIx64 ": media timeout, "
           "telling sigd", s->id);
    gw_bus_send(md->bus, NULL, &env);
}

void md_control_done(md_t *md, md_cmd_t *cmd)
{
    if (cmd->kind == MD_CMD_EVENT) {
        if (!md->stopping)
            send_timeout_event(md, cmd->sess);
        cmd_free(cmd);
        return;
    }
    if (cmd->create && cmd->rc < 0) {
        cmd->sess->worker->assigned--;
        md_session_unlink(md, cmd->sess);
    }
    if (!cmd->quiet)
        send_reply(md, cmd->peer, cmd->request_id, &cmd->reply.r);
    cmd_free(cmd);
}

unsigned md_control_purge(void *ctx)
{
    md_t *md = ctx;
    Gw__MediaDelete del = GW__MEDIA_DELETE__INIT;
    Gw__Envelope env = GW__ENVELOPE__INIT;
    unsigned n = 0;

    del.reason = "sigd restarted: session unknown to it";
    env.body_case = GW__ENVELOPE__BODY_DEL;
    env.del = &del;
    for (unsigned b = 0; b < MD_HASH_BUCKETS; b++) {
        while (md->buckets[b]) {
            md_session_t *s = md->buckets[b];
            md_cmd_t *cmd = cmd_new(MD_CMD_DELETE, s, "", &env);
            del.session_id = s->id;
            if (cmd != NULL && (cmd->msg = copy_msg(&del.base)) != NULL) {
                cmd->quiet = 1;
                md_worker_post(s->worker, cmd);
            } else if (cmd != NULL) {
                cmd_free(cmd);
            }
            s->worker->assigned--;
            md_session_unlink(md, s);
            n++;
        }
    }
    return n;
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
    md_totals_t t = md_workers_totals(md);

    hb->has_sessions = hb->has_ports_in_use = 1;
    hb->has_packets_relayed = hb->has_bytes_relayed = hb->has_packets_dropped = 1;
    hb->sessions = md->nsessions;
    pthread_mutex_lock(&md->ports_lock);
    hb->ports_in_use = gw_ports_used(&md->ext_ports) + gw_ports_used(&md->int_ports);
    pthread_mutex_unlock(&md->ports_lock);
    hb->packets_relayed = t.packets_relayed;
    hb->bytes_relayed = t.bytes_relayed;
    hb->packets_dropped = t.packets_dropped;
    if (md->cfg.delay_stats) {
        size_t n = GW_DELAY_BUCKETS;
        md_workers_delay(md, md->hb_delay);
        while (n > 0 && md->hb_delay[n - 1] == 0)
            n--;
        hb->n_delay_hist = n;
        hb->delay_hist = md->hb_delay;
    }
}
