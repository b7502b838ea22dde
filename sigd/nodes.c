/* Node registry: see nodes.h. A list is enough: a deployment has a handful
 * of nodes, and picking one is a pass over them per new call. */
#include "nodes.h"
#include "call.h"
#include "media.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t sig_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *sig_nodes_state_name(Gw__NodeState s)
{
    return s == GW__NODE_STATE__NODE_LIVE ? "live"
         : s == GW__NODE_STATE__NODE_DRAINING ? "draining" : "dead";
}

static const char *role_name(Gw__Role r)
{
    return r == GW__ROLE__ROLE_MEDIA ? "media" : r == GW__ROLE__ROLE_TURN ? "turn"
                                                                          : "?";
}

sig_node_t *sig_nodes_find(sig_daemon_t *sig, const char *name)
{
    for (sig_node_t *n = sig->nodes; n; n = n->next)
        if (strcmp(n->name, name) == 0)
            return n;
    return NULL;
}

static void node_free(sig_node_t *n)
{
    if (n->reg)
        gw__node_register__free_unpacked(n->reg, NULL);
    free(n);
}

static void node_remove(sig_daemon_t *sig, sig_node_t *dead)
{
    for (sig_node_t **pp = &sig->nodes; *pp; pp = &(*pp)->next) {
        if (*pp == dead) {
            *pp = dead->next;
            node_free(dead);
            return;
        }
    }
}

typedef struct {
    const char *node;
    const char *reason;
    unsigned n;
} lost_calls_t;

static void terminate_if_on(sig_call_t *c, void *arg)
{
    lost_calls_t *l = arg;

    if (strcmp(c->node, l->node) != 0)
        return;
    l->n++;
    sig_call_terminate(c, l->reason);
}

/* The node's sessions are gone (or must be treated as gone): fail the
 * requests waiting on it and end the calls anchored on it. */
static void node_lost(sig_daemon_t *sig, sig_node_t *n, const char *reason)
{
    lost_calls_t l = { n->name, reason, 0 };
    unsigned failed = sig_media_node_lost(sig, n->name);

    if (n->role == GW__ROLE__ROLE_MEDIA)
        sig_calls_foreach(sig, terminate_if_on, &l);
    n->sessions = 0;
    n->ports_in_use = 0;
    if (l.n || failed)
        GW_WARN("bus: node '%s' lost (%s): %u call(s) terminated, %u request(s) "
                "failed over", n->name, reason, l.n, failed);
}

/* 1 when a media node's EXT range overlaps another live node's on the
 * same advertised address; names it in `other`. */
static const Gw__Interface *ext_iface(const Gw__NodeRegister *r)
{
    for (size_t i = 0; r && i < r->n_ifaces; i++)
        if (r->ifaces[i]->side == GW__SIDE__SIDE_EXT)
            return r->ifaces[i];
    return NULL;
}

static const char *adv_of(const Gw__Interface *f)
{
    return f->advertised_addr && f->advertised_addr[0] ? f->advertised_addr
                                                       : f->bind_addr;
}

static sig_node_t *range_clash(sig_daemon_t *sig, const char *name,
                               const Gw__NodeRegister *r)
{
    const Gw__Interface *a = ext_iface(r), *b;

    if (a == NULL || a->ports == NULL)
        return NULL;
    for (sig_node_t *n = sig->nodes; n; n = n->next) {
        if (strcmp(n->name, name) == 0 || n->state == GW__NODE_STATE__NODE_DEAD ||
            (b = ext_iface(n->reg)) == NULL || b->ports == NULL)
            continue;
        if (strcmp(adv_of(a), adv_of(b)) == 0 && a->ports->lo <= b->ports->hi &&
            b->ports->lo <= a->ports->hi)
            return n;
    }
    return NULL;
}

/* Keeps a private copy of the register message (the envelope is freed
 * after the handler returns). */
static Gw__NodeRegister *copy_register(const Gw__NodeRegister *r)
{
    size_t len = gw__node_register__get_packed_size(r);
    uint8_t *buf = malloc(len ? len : 1);
    Gw__NodeRegister *c;

    if (buf == NULL)
        return NULL;
    gw__node_register__pack(r, buf);
    c = gw__node_register__unpack(NULL, len, buf);
    free(buf);
    return c;
}

void sig_nodes_on_register(gw_bus_t *bus, const char *peer,
                           const Gw__Envelope *env, void *ctx)
{
    sig_daemon_t *sig = ctx;
    const Gw__NodeRegister *r = env->reg;
    Gw__Envelope reply = GW__ENVELOPE__INIT;
    Gw__NodeRegistered ok = GW__NODE_REGISTERED__INIT;
    sig_node_t *n;

    if (strcmp(r->node, peer) != 0) {
        GW_WARN("bus: register from '%s' names node '%s': refused", peer, r->node);
        gw_bus_reply_error(bus, peer, env, GW__STATUS__ST_EINVAL,
                           "node name must equal the bus routing id");
        return;
    }
    if (gw_bus_peer_key(bus) != NULL && strcmp(gw_bus_peer_key(bus), peer) != 0) {
        /* On a CURVE bus a key speaks for one node: the one it is named
         * after. Another node's key cannot take over its name. */
        GW_WARN("bus: register as '%s' refused: the sender's key is '%s'", peer,
                gw_bus_peer_key(bus));
        gw_bus_reply_error(bus, peer, env, GW__STATUS__ST_EINVAL,
                           "node name must equal the name of its key");
        return;
    }
    if (r->role != GW__ROLE__ROLE_MEDIA && r->role != GW__ROLE__ROLE_TURN) {
        gw_bus_reply_error(bus, peer, env, GW__STATUS__ST_EINVAL, "unknown role");
        return;
    }
    if ((n = range_clash(sig, peer, r)) != NULL) {
        char why[160];
        snprintf(why, sizeof why, "EXT port range overlaps node '%s' on the same "
                 "advertised address", n->name);
        GW_WARN("bus: register from '%s' refused: %s", peer, why);
        gw_bus_reply_error(bus, peer, env, GW__STATUS__ST_EINVAL, why);
        return;
    }
    n = sig_nodes_find(sig, peer);
    if (n != NULL && n->epoch != r->epoch) {
        GW_INFO("bus: node '%s' restarted (epoch %" PRIu64 " -> %" PRIu64 "); "
                "its old sessions are gone", peer, n->epoch, r->epoch);
        node_lost(sig, n, "media node restarted");
        node_remove(sig, n);
        n = NULL;
    } else if (n != NULL && n->state == GW__NODE_STATE__NODE_DEAD) {
        GW_INFO("bus: node '%s' is back (same epoch)", peer);
    }
    if (n == NULL) {
        n = calloc(1, sizeof *n);
        if (n == NULL)
            return;
        snprintf(n->name, sizeof n->name, "%s", peer);
        n->reg = copy_register(r);
        n->next = sig->nodes;
        sig->nodes = n;
        GW_INFO("bus: %s node '%s' registered (%s, capacity %u)", role_name(r->role),
                peer, r->version ? r->version : "?", r->has_capacity ? r->capacity : 0);
    }
    n->role = r->role;
    n->epoch = r->epoch;
    n->capacity = r->has_capacity ? r->capacity : 0;
    n->weight = r->has_weight && r->weight ? r->weight : 100;
    n->state = n->drain_requested ? GW__NODE_STATE__NODE_DRAINING
                                  : GW__NODE_STATE__NODE_LIVE;
    n->unreachable = 0;
    n->last_seen_ms = sig_now_ms();

    ok.node = n->name;
    ok.has_heartbeat_ms = 1;
    ok.heartbeat_ms = (uint32_t)sig->cfg.heartbeat_ms;
    reply.body_case = GW__ENVELOPE__BODY_REGISTERED;
    reply.registered = &ok;
    gw_bus_reply(bus, peer, env, &reply);
}

void sig_nodes_on_heartbeat(gw_bus_t *bus, const char *peer,
                            const Gw__Envelope *env, void *ctx)
{
    sig_daemon_t *sig = ctx;
    const Gw__Heartbeat *hb = env->heartbeat;
    sig_node_t *n = sig_nodes_find(sig, peer);

    if (n == NULL || n->epoch != hb->epoch ||
        n->state == GW__NODE_STATE__NODE_DEAD) {
        /* sigd restarted, the node did, or sigd gave it up for dead and
         * ended its calls: make it register again (and drop its
         * sessions, which nobody here knows any more). */
        gw_bus_reply_error(bus, peer, env, GW__STATUS__ST_ENOENT,
                           n && n->state == GW__NODE_STATE__NODE_DEAD
                               ? "node was declared dead; register again"
                               : "unknown node or epoch");
        return;
    }
    n->last_seen_ms = sig_now_ms();
    n->unreachable = 0;
    n->sessions = hb->sessions;
    n->ports_in_use = hb->ports_in_use;
    n->packets_relayed = hb->packets_relayed;
    n->packets_dropped = hb->packets_dropped;
    n->n_delay_hist = gw_delay_import(n->delay_hist, hb->delay_hist, hb->n_delay_hist);
    if (hb->draining != n->drain_requested) {
        /* The node missed (or outlived) our drain request: say it again. */
        GW_DEBUG("bus: node '%s' reports draining=%d, wanted %d: telling it again",
                 peer, (int)hb->draining, n->drain_requested);
        sig_nodes_drain(sig, n, n->drain_requested);
    }
    n->state = hb->draining || n->drain_requested ? GW__NODE_STATE__NODE_DRAINING
                                                  : GW__NODE_STATE__NODE_LIVE;
}

int sig_nodes_drain(sig_daemon_t *sig, sig_node_t *n, int drain)
{
    Gw__Envelope env = GW__ENVELOPE__INIT;
    Gw__NodeDrain d = GW__NODE_DRAIN__INIT;
    int rc;

    n->drain_requested = drain;
    if (n->state != GW__NODE_STATE__NODE_DEAD)
        n->state = drain ? GW__NODE_STATE__NODE_DRAINING : GW__NODE_STATE__NODE_LIVE;
    d.drain = drain;
    env.body_case = GW__ENVELOPE__BODY_DRAIN;
    env.drain = &d;
    rc = gw_bus_send(sig->bus, n->name, &env);
    if (rc < 0)
        GW_WARN("bus: %s to node '%s' not sent: %s", drain ? "drain" : "undrain",
                n->name, strerror(-rc));
    return rc;
}

void sig_nodes_unreachable(sig_daemon_t *sig, sig_node_t *n)
{
    (void)sig;
    if (!n->unreachable && n->state != GW__NODE_STATE__NODE_DEAD)
        GW_WARN("bus: node '%s' is not connected: no new calls until it is back",
                n->name);
    n->unreachable = 1;
}

void sig_nodes_on_deregister(gw_bus_t *bus, const char *peer,
                             const Gw__Envelope *env, void *ctx)
{
    sig_daemon_t *sig = ctx;
    sig_node_t *n = sig_nodes_find(sig, peer);

    (void)bus;
    if (n == NULL)
        return;
    GW_INFO("bus: node '%s' deregistered (%s)", peer,
            env->dereg->reason ? env->dereg->reason : "no reason");
    node_lost(sig, n, "media node stopped");
    node_remove(sig, n);
}

static void on_node_timer(su_root_magic_t *magic, su_timer_t *t, sig_daemon_t *sig)
{
    int64_t now = sig_now_ms(), limit = (int64_t)sig->cfg.heartbeat_ms * sig->cfg.dead_after;

    (void)magic;
    (void)t;
    for (sig_node_t *n = sig->nodes; n; n = n->next) {
        if (n->state != GW__NODE_STATE__NODE_DEAD && now - n->last_seen_ms > limit) {
            n->state = GW__NODE_STATE__NODE_DEAD;
            GW_WARN("bus: node '%s' missed %d heartbeats: dead", n->name,
                    sig->cfg.dead_after);
            node_lost(sig, n, "media node dead");
        }
    }
}

int sig_nodes_start(sig_daemon_t *sig)
{
    sig->node_timer = su_timer_create(su_root_task(sig->root),
                                      (su_duration_t)sig->cfg.heartbeat_ms / 2);
    if (sig->node_timer == NULL)
        return -1;
    return su_timer_set_for_ever(sig->node_timer, on_node_timer, sig);
}

void sig_nodes_stop(sig_daemon_t *sig)
{
    su_timer_destroy(sig->node_timer);
    sig->node_timer = NULL;
    while (sig->nodes)
        node_remove(sig, sig->nodes);
}

unsigned sig_nodes_count(sig_daemon_t *sig, Gw__Role role, Gw__NodeState state)
{
    unsigned c = 0;
    for (sig_node_t *n = sig->nodes; n; n = n->next)
        if (n->role == role && n->state == state)
            c++;
    return c;
}

sig_node_t *sig_nodes_pick_media(sig_daemon_t *sig, const sig_node_t *exclude)
{
    sig_node_t *best = NULL;
    double best_load = 0;

    for (sig_node_t *n = sig->nodes; n; n = n->next) {
        double load;
        if (n == exclude || n->role != GW__ROLE__ROLE_MEDIA ||
            n->state != GW__NODE_STATE__NODE_LIVE || n->unreachable)
            continue;
        if (n->capacity && n->sessions >= n->capacity)
            continue;
        load = (double)(n->sessions + 1) / n->weight;
        if (best == NULL || load < best_load) {
            best = n;
            best_load = load;
        }
    }
    return best;
}
