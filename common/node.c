/* Node life cycle on the bus: see node.h.
 *
 * One timer drives everything: while unregistered it re-sends the register
 * every second; once registered it sends a heartbeat every heartbeat_ms.
 * sigd does not answer heartbeats, except with an ENOENT error when it has
 * no record of the node, which sends us back to registering.
 */
#include "node.h"
#include "log.h"

#include <zmq.h>

#define NODE_RETRY_MS 1000

static void send_register(gw_node_t *n)
{
    Gw__Envelope env = GW__ENVELOPE__INIT;
    int rc;

    env.body_case = GW__ENVELOPE__BODY_REG;
    env.reg = n->reg;
    env.has_deadline_ms = 1;
    env.deadline_ms = NODE_RETRY_MS;
    rc = gw_bus_send(n->bus, NULL, &env);
    n->reg_id = env.request_id;
    if (rc < 0)
        GW_DEBUG("bus: register not sent: %s", zmq_strerror(-rc));
}

static void send_heartbeat(gw_node_t *n)
{
    Gw__Envelope env = GW__ENVELOPE__INIT;
    Gw__Heartbeat hb = GW__HEARTBEAT__INIT;

    hb.epoch = n->reg->epoch;
    if (n->fill)
        n->fill(&hb, n->ctx);
    hb.has_draining = 1;
    hb.draining = n->draining;
    env.body_case = GW__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    gw_bus_send(n->bus, NULL, &env);
}

static void on_timer(uv_timer_t *t)
{
    gw_node_t *n = t->data;

    if (!n->registered) {
        send_register(n);
        uv_timer_start(&n->timer, on_timer, NODE_RETRY_MS, 0);
    } else {
        send_heartbeat(n);
        uv_timer_start(&n->timer, on_timer, n->heartbeat_ms, 0);
    }
}

int gw_node_start(gw_node_t *n, uv_loop_t *loop, gw_bus_t *bus)
{
    n->bus = bus;
    n->registered = 0;
    n->draining = 0;
    n->heartbeat_ms = 1000;
    uv_timer_init(loop, &n->timer);
    n->timer.data = n;
    return uv_timer_start(&n->timer, on_timer, 0, 0);
}

void gw_node_stop(gw_node_t *n, const char *reason)
{
    Gw__Envelope env = GW__ENVELOPE__INIT;
    Gw__NodeDeregister d = GW__NODE_DEREGISTER__INIT;

    if (n->bus == NULL)
        return;
    d.reason = (char *)reason;
    env.body_case = GW__ENVELOPE__BODY_DEREG;
    env.dereg = &d;
    gw_bus_send(n->bus, NULL, &env);
    uv_timer_stop(&n->timer);
    uv_close((uv_handle_t *)&n->timer, NULL);
    n->bus = NULL;
}

void gw_node_on_registered(gw_node_t *n, const Gw__Envelope *env)
{
    const Gw__NodeRegistered *r = env->registered;

    if (n->registered || env->correlation_id != n->reg_id)
        return;  /* a late answer to an earlier register */
    n->registered = 1;
    n->heartbeat_ms = r->has_heartbeat_ms && r->heartbeat_ms >= 100 &&
                      r->heartbeat_ms <= 60000 ? r->heartbeat_ms : 1000;
    GW_INFO("bus: registered with sigd as '%s' (heartbeat %u ms)",
            n->reg->node, n->heartbeat_ms);
    uv_timer_start(&n->timer, on_timer, 0, 0);
}

void gw_node_on_error(gw_node_t *n, const Gw__Envelope *env)
{
    const Gw__Error *e = env->error;

    if (e->status == GW__STATUS__ST_ENOENT && n->registered) {
        GW_WARN("bus: sigd does not know this node (%s); registering again",
                e->text ? e->text : "no reason");
        if (n->purge != NULL) {
            unsigned dropped = n->purge(n->ctx);
            if (dropped)
                GW_WARN("bus: %u session(s) sigd no longer knows dropped", dropped);
        }
        n->registered = 0;
        uv_timer_start(&n->timer, on_timer, 0, 0);
        return;
    }
    GW_WARN("bus: error from sigd: status %d: %s", (int)e->status,
            e->text ? e->text : "");
}

void gw_node_on_drain(gw_node_t *n, const char *peer, const Gw__Envelope *env)
{
    Gw__Envelope reply = GW__ENVELOPE__INIT;
    Gw__Error ok = GW__ERROR__INIT;

    n->draining = env->drain->drain;
    GW_INFO("bus: %s by sigd", n->draining ? "draining" : "undrained");
    ok.status = GW__STATUS__ST_OK;
    reply.body_case = GW__ENVELOPE__BODY_ERROR;
    reply.error = &ok;
    gw_bus_reply(n->bus, peer, env, &reply);
}
