/* The bus route table of sigd and the gwctl commands.
 *
 * Node life cycle goes to nodes.c, media replies to media.c; gwctl's
 * requests are answered here from the registry and the call table, through
 * a table of commands (name, argument count, handler). "session" is the one
 * command that waits: it asks the call's media node for its legs and
 * counters and answers gwctl when the node does (or the request's deadline
 * passes).
 */
#include "call.h"
#include "drops.h"
#include "media.h"
#include "nodes.h"
#include "reject.h"
#include "turn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef void (*ctl_fn)(sig_daemon_t *sig, const char *peer, const Gw__Envelope *env);

static void reply_text(sig_daemon_t *sig, const char *peer, const Gw__Envelope *env,
                       Gw__Status st, const char *text)
{
    Gw__Envelope reply = GW__ENVELOPE__INIT;
    Gw__CtlReply r = GW__CTL_REPLY__INIT;

    r.status = st;
    r.text = (char *)text;
    reply.body_case = GW__ENVELOPE__BODY_CTL_REPLY;
    reply.ctl_reply = &r;
    gw_bus_reply(sig->bus, peer, env, &reply);
}

/* ---- nodes and the port plan ------------------------------------------ */

static void fill_node(Gw__NodeInfo *ni, const sig_node_t *n, int64_t now)
{
    gw__node_info__init(ni);
    ni->node = (char *)n->name;
    ni->role = n->role;
    ni->state = n->state;
    if (n->reg) {
        ni->n_ifaces = n->reg->n_ifaces;
        ni->ifaces = n->reg->ifaces;
        ni->has_service_port = n->reg->has_service_port;
        ni->service_port = n->reg->service_port;
    }
    ni->has_epoch = ni->has_sessions = ni->has_ports_in_use = 1;
    ni->has_packets_relayed = ni->has_packets_dropped = 1;
    ni->has_weight = ni->has_capacity = ni->has_last_seen_ms = 1;
    ni->has_drain_requested = 1;
    ni->epoch = n->epoch;
    ni->sessions = n->sessions;
    ni->ports_in_use = n->ports_in_use;
    ni->packets_relayed = n->packets_relayed;
    ni->packets_dropped = n->packets_dropped;
    ni->weight = n->weight;
    ni->capacity = n->capacity;
    ni->last_seen_ms = (uint32_t)(now - n->last_seen_ms);
    ni->drain_requested = n->drain_requested;
    ni->n_delay_hist = n->n_delay_hist;
    ni->delay_hist = (uint64_t *)n->delay_hist;
}

/* Every node, sigd's own listeners and bus endpoint: enough for gwctl to
 * print the port plan and the firewall rules it needs. */
static void ctl_nodes(sig_daemon_t *sig, const char *peer, const Gw__Envelope *env)
{
    Gw__Envelope reply = GW__ENVELOPE__INIT;
    Gw__CtlReply r = GW__CTL_REPLY__INIT;
    Gw__Interface lis[2], *lis_ptrs[2];
    Gw__PortRange lis_ports[2];
    unsigned count = 0, i = 0;
    Gw__NodeInfo *infos, **ptrs;
    Gw__ReasonCount drops[SIG_DROP_NREASONS], *drop_ptrs[SIG_DROP_NREASONS];
    Gw__ReasonCount rc[SIG_REJECT_NREASONS], *rc_ptrs[SIG_REJECT_NREASONS];
    int64_t now = sig_now_ms();

    for (sig_node_t *n = sig->nodes; n; n = n->next)
        count++;
    infos = calloc(count ? count : 1, sizeof *infos);
    ptrs = calloc(count ? count : 1, sizeof *ptrs);
    if (infos == NULL || ptrs == NULL) {
        gw_bus_reply_error(sig->bus, peer, env, GW__STATUS__ST_EIO, "out of memory");
        goto out;
    }
    for (sig_node_t *n = sig->nodes; n; n = n->next, i++) {
        fill_node(&infos[i], n, now);
        ptrs[i] = &infos[i];
    }
    for (int s = 0; s < 2; s++) {
        gw__interface__init(&lis[s]);
        gw__port_range__init(&lis_ports[s]);
        lis[s].side = s == 0 ? GW__SIDE__SIDE_EXT : GW__SIDE__SIDE_INT;
        lis[s].bind_addr = s == 0 ? sig->cfg.ext_addr : sig->cfg.int_addr;
        lis_ports[s].lo = lis_ports[s].hi =
            (uint32_t)(s == 0 ? sig->cfg.ext_port : sig->cfg.int_port);
        lis[s].ports = &lis_ports[s];
        lis_ptrs[s] = &lis[s];
    }
    for (unsigned d = 0; d < SIG_DROP_NREASONS; d++) {
        gw__reason_count__init(&drops[d]);
        drops[d].reason = (char *)sig_drop_name((sig_drop_reason_t)d);
        drops[d].count = sig_drop_total(sig, (sig_drop_reason_t)d);
        drop_ptrs[d] = &drops[d];
    }
    r.n_drops = SIG_DROP_NREASONS;
    r.drops = drop_ptrs;
    r.status = GW__STATUS__ST_OK;
    r.n_nodes = count;
    r.nodes = ptrs;
    r.has_calls = 1;
    r.calls = sig->ncalls;
    r.n_listeners = 2;
    r.listeners = lis_ptrs;
    r.bus_endpoint = sig->cfg.bus_bind;
    for (int k = 0; k < SIG_REJECT_NREASONS; k++) {
        gw__reason_count__init(&rc[k]);
        rc[k].reason = (char *)sig_reject_name((sig_reject_reason_t)k);
        rc[k].count = sig_reject_count((sig_reject_reason_t)k);
        rc_ptrs[k] = &rc[k];
    }
    r.n_rejected = SIG_REJECT_NREASONS;
    r.rejected = rc_ptrs;
    reply.body_case = GW__ENVELOPE__BODY_CTL_REPLY;
    reply.ctl_reply = &r;
    gw_bus_reply(sig->bus, peer, env, &reply);
out:
    free(ptrs);
    free(infos);
}

static void ctl_drain_set(sig_daemon_t *sig, const char *peer,
                          const Gw__Envelope *env, int drain)
{
    const char *name = env->ctl->args[0];
    sig_node_t *n = sig_nodes_find(sig, name);
    char text[160];

    if (n == NULL) {
        reply_text(sig, peer, env, GW__STATUS__ST_ENOENT, "no such node");
        return;
    }
    GW_INFO("gwctl: %s node '%s' (%u sessions on it)", drain ? "draining" : "undraining",
            name, n->sessions);
    if (sig_nodes_drain(sig, n, drain) < 0) {
        reply_text(sig, peer, env, GW__STATUS__ST_EIO,
                   "recorded, but the node could not be told (not connected)");
        return;
    }
    snprintf(text, sizeof text, "node %s %s (%u sessions)", name,
             drain ? "draining" : "undrained", n->sessions);
    reply_text(sig, peer, env, GW__STATUS__ST_OK, text);
}

static void ctl_drain(sig_daemon_t *sig, const char *peer, const Gw__Envelope *env)
{
    ctl_drain_set(sig, peer, env, 1);
}

static void ctl_undrain(sig_daemon_t *sig, const char *peer, const Gw__Envelope *env)
{
    ctl_drain_set(sig, peer, env, 0);
}

/* ---- sessions ---------------------------------------------------------- */

/* Storage for one SessionInfo with its relay endpoints. */
typedef struct {
    Gw__SessionInfo si;
    Gw__StreamReply sr[SIG_SDP_MAX_STREAMS], *sr_ptrs[SIG_SDP_MAX_STREAMS];
    Gw__Endpoint ext[SIG_SDP_MAX_STREAMS], in[SIG_SDP_MAX_STREAMS];
} ctl_session_t;

static void fill_session(ctl_session_t *cs, sig_call_t *c)
{
    gw__session_info__init(&cs->si);
    cs->si.call_id = c->call_id;
    cs->si.has_session_id = cs->si.has_has_media = 1;
    cs->si.session_id = c->session_id;
    cs->si.node = c->node;
    cs->si.has_media = c->has_media;
    for (unsigned i = 0; c->has_media && i < c->nstreams && i < SIG_SDP_MAX_STREAMS; i++) {
        gw__stream_reply__init(&cs->sr[i]);
        gw__endpoint__init(&cs->ext[i]);
        gw__endpoint__init(&cs->in[i]);
        cs->sr[i].index = i;
        cs->ext[i].addr = c->ext_relay[i].addr;
        cs->ext[i].port = c->ext_relay[i].port;
        cs->in[i].addr = c->int_relay[i].addr;
        cs->in[i].port = c->int_relay[i].port;
        cs->sr[i].ext_local = &cs->ext[i];
        cs->sr[i].int_local = &cs->in[i];
        cs->sr_ptrs[i] = &cs->sr[i];
        cs->si.n_streams = i + 1;
    }
    cs->si.streams = cs->sr_ptrs;
}

typedef struct {
    ctl_session_t *buf;
    Gw__SessionInfo **ptrs;
    unsigned n, max;
} ctl_list_t;

static void list_one(sig_call_t *c, void *arg)
{
    ctl_list_t *l = arg;

    if (l->n >= l->max)
        return;
    fill_session(&l->buf[l->n], c);
    l->ptrs[l->n] = &l->buf[l->n].si;
    l->n++;
}

static void ctl_sessions(sig_daemon_t *sig, const char *peer, const Gw__Envelope *env)
{
    Gw__Envelope reply = GW__ENVELOPE__INIT;
    Gw__CtlReply r = GW__CTL_REPLY__INIT;
    ctl_list_t l = { NULL, NULL, 0, sig->ncalls };

    l.buf = calloc(l.max ? l.max : 1, sizeof *l.buf);
    l.ptrs = calloc(l.max ? l.max : 1, sizeof *l.ptrs);
    if (l.buf == NULL || l.ptrs == NULL) {
        reply_text(sig, peer, env, GW__STATUS__ST_EIO, "out of memory");
        goto out;
    }
    sig_calls_foreach(sig, list_one, &l);
    r.status = GW__STATUS__ST_OK;
    r.n_sessions = l.n;
    r.sessions = l.ptrs;
    r.has_calls = 1;
    r.calls = sig->ncalls;
    reply.body_case = GW__ENVELOPE__BODY_CTL_REPLY;
    reply.ctl_reply = &r;
    if (gw_bus_reply(sig->bus, peer, env, &reply) == -EMSGSIZE)
        reply_text(sig, peer, env, GW__STATUS__ST_ENOSPC,
                   "too many calls for one answer");
out:
    free(l.ptrs);
    free(l.buf);
}

/* A "session" request waiting for the node's answer. */
typedef struct {
    char peer[GW_BUS_PEERLEN];
    uint64_t request_id;
    char call_id[128];
} ctl_wait_t;

static void on_query_reply(sig_daemon_t *sig, void *arg, sig_node_t *node,
                           const Gw__MediaReply *mr)
{
    ctl_wait_t *w = arg;
    Gw__Envelope req = GW__ENVELOPE__INIT, reply = GW__ENVELOPE__INIT;
    Gw__CtlReply r = GW__CTL_REPLY__INIT;
    Gw__SessionInfo *ptr;
    ctl_session_t cs;
    sig_call_t *c = sig_call_find(sig, w->call_id);

    (void)node;
    req.request_id = w->request_id;
    if (c == NULL) {
        reply_text(sig, w->peer, &req, GW__STATUS__ST_ENOENT, "call ended meanwhile");
        goto out;
    }
    fill_session(&cs, c);
    if (mr != NULL) {
        /* The node's view: its streams carry the legs and counters. */
        cs.si.n_streams = mr->n_streams;
        cs.si.streams = mr->streams;
    }
    ptr = &cs.si;
    r.status = GW__STATUS__ST_OK;
    r.text = mr || !c->has_media ? NULL
                                 : "media node did not answer: relay endpoints only";
    r.n_sessions = 1;
    r.sessions = &ptr;
    reply.body_case = GW__ENVELOPE__BODY_CTL_REPLY;
    reply.ctl_reply = &r;
    gw_bus_reply(sig->bus, w->peer, &req, &reply);
out:
    free(w);
}

typedef struct {
    uint64_t id;
    sig_call_t *found;
} ctl_find_t;

static void find_session(sig_call_t *c, void *arg)
{
    ctl_find_t *f = arg;

    if (c->session_id == f->id)
        f->found = c;
}

/* The argument is a Call-ID, or a session id in hex as the nodes log it. */
static sig_call_t *find_call(sig_daemon_t *sig, const char *key)
{
    ctl_find_t f = { 0, NULL };
    sig_call_t *c = sig_call_find(sig, key);
    char *end;

    if (c != NULL || key[0] == '\0')
        return c;
    f.id = strtoull(key, &end, 16);
    if (*end != '\0')
        return NULL;
    sig_calls_foreach(sig, find_session, &f);
    return f.found;
}

static void ctl_session(sig_daemon_t *sig, const char *peer, const Gw__Envelope *env)
{
    sig_call_t *c = find_call(sig, env->ctl->args[0]);
    ctl_wait_t *w;

    if (c == NULL) {
        reply_text(sig, peer, env, GW__STATUS__ST_ENOENT, "no such call");
        return;
    }
    w = calloc(1, sizeof *w);
    if (w == NULL) {
        reply_text(sig, peer, env, GW__STATUS__ST_EIO, "out of memory");
        return;
    }
    snprintf(w->peer, sizeof w->peer, "%s", peer);
    w->request_id = env->request_id;
    snprintf(w->call_id, sizeof w->call_id, "%s", c->call_id);
    if (!c->has_media || c->node[0] == '\0' ||
        sig_media_query(sig, c->node, c->session_id, c->call_id, on_query_reply, w) < 0)
        on_query_reply(sig, w, NULL, NULL);
}

/* ---- dispatch ---------------------------------------------------------- */

static const struct {
    const char *name;
    size_t nargs;
    ctl_fn fn;
} ctl_commands[] = {
    { "nodes", 0, ctl_nodes },
    { "drain", 1, ctl_drain },
    { "undrain", 1, ctl_undrain },
    { "sessions", 0, ctl_sessions },
    { "session", 1, ctl_session },
    { "terminate", 1, sig_dialog_ctl_terminate },
    { NULL, 0, NULL }
};

static void on_ctl(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                   void *ctx)
{
    sig_daemon_t *sig = ctx;
    const Gw__CtlRequest *c = env->ctl;

    if (strncmp(c->command, "turn-", 5) == 0) {
        sig_turn_on_ctl(sig, peer, env);   /* turn.c checks its arguments */
        return;
    }
    for (int i = 0; ctl_commands[i].name; i++) {
        if (strcmp(c->command, ctl_commands[i].name) != 0)
            continue;
        if (c->n_args != ctl_commands[i].nargs) {
            reply_text(sig, peer, env, GW__STATUS__ST_EINVAL, "wrong number of arguments");
            return;
        }
        ctl_commands[i].fn(sig, peer, env);
        return;
    }
    GW_WARN("bus: unknown gwctl command '%s' from '%s'", c->command, peer);
    gw_bus_reply_error(bus, peer, env, GW__STATUS__ST_ENOTSUP, "unknown command");
}

static void on_event(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                     void *ctx)
{
    sig_daemon_t *sig = ctx;
    const Gw__NodeEvent *ev = env->event;
    sig_call_t *c;
    char why[160];

    (void)bus;
    if (ev->kind == GW__EVENT_KIND__EV_MEDIA_TIMEOUT && ev->has_session_id &&
        (c = sig_call_find_session(sig, ev->session_id)) != NULL &&
        strcmp(c->node, peer) == 0) {
        snprintf(why, sizeof why, "media timeout on node '%s' (%s)", peer,
                 ev->detail ? ev->detail : "no RTP");
        sig_call_terminate(c, why);
        return;
    }
    GW_INFO("bus: event %d from '%s': %s", (int)ev->kind, peer,
            ev->detail ? ev->detail : "");
}

const gw_bus_route_t sig_control_routes[] = {
    { GW__ENVELOPE__BODY_REG, sig_nodes_on_register },
    { GW__ENVELOPE__BODY_HEARTBEAT, sig_nodes_on_heartbeat },
    { GW__ENVELOPE__BODY_DEREG, sig_nodes_on_deregister },
    { GW__ENVELOPE__BODY_MEDIA_REPLY, sig_media_on_reply },
    { GW__ENVELOPE__BODY_ERROR, sig_media_on_error },
    { GW__ENVELOPE__BODY_EVENT, on_event },
    { GW__ENVELOPE__BODY_CTL, on_ctl },
    { GW__ENVELOPE__BODY_TURN_SECRETS, sig_turn_on_secrets },
    { GW__ENVELOPE__BODY_TURN_REPLY, sig_turn_on_reply },
    { 0, NULL }
};
