/* The bus route table of sigd and the gwctl commands.
 *
 * Node life cycle goes to nodes.c, media replies to media.c; gwctl's
 * requests are answered here from the registry and the call table.
 */
#include "call.h"
#include "media.h"
#include "nodes.h"

#include <stdlib.h>
#include <string.h>

static void ctl_nodes(sig_daemon_t *sig, const char *peer, const Gw__Envelope *env)
{
    Gw__Envelope reply = GW__ENVELOPE__INIT;
    Gw__CtlReply r = GW__CTL_REPLY__INIT;
    unsigned count = 0, i = 0;
    Gw__NodeInfo *infos, **ptrs;
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
        Gw__NodeInfo *ni = &infos[i];
        gw__node_info__init(ni);
        ni->node = n->name;
        ni->role = n->role;
        ni->state = n->state;
        if (n->reg) {
            ni->n_ifaces = n->reg->n_ifaces;
            ni->ifaces = n->reg->ifaces;
        }
        ni->has_epoch = ni->has_sessions = ni->has_ports_in_use = 1;
        ni->has_packets_relayed = ni->has_packets_dropped = 1;
        ni->has_weight = ni->has_capacity = ni->has_last_seen_ms = 1;
        ni->epoch = n->epoch;
        ni->sessions = n->sessions;
        ni->ports_in_use = n->ports_in_use;
        ni->packets_relayed = n->packets_relayed;
        ni->packets_dropped = n->packets_dropped;
        ni->weight = n->weight;
        ni->capacity = n->capacity;
        ni->last_seen_ms = (uint32_t)(now - n->last_seen_ms);
        ptrs[i] = ni;
    }
    r.status = GW__STATUS__ST_OK;
    r.n_nodes = count;
    r.nodes = ptrs;
    r.has_calls = 1;
    r.calls = sig->ncalls;
    reply.body_case = GW__ENVELOPE__BODY_CTL_REPLY;
    reply.ctl_reply = &r;
    gw_bus_reply(sig->bus, peer, env, &reply);
out:
    free(ptrs);
    free(infos);
}

static void on_ctl(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                   void *ctx)
{
    sig_daemon_t *sig = ctx;
    const Gw__CtlRequest *c = env->ctl;

    if (strcmp(c->command, "nodes") == 0) {
        ctl_nodes(sig, peer, env);
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
    { 0, NULL }
};
