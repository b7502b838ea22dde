/* Node registry: see nodes.h. A list is enough: a deployment has a handful
 * of nodes, and picking one is a pass over them per new call. */
#include "nodes.h"

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
    if (r->role != GW__ROLE__ROLE_MEDIA && r->role != GW__ROLE__ROLE_TURN) {
        gw_bus_reply_error(bus, peer, env, GW__STATUS__ST_EINVAL, "unknown role");
        return;
    }
    n = sig_nodes_find(sig, peer);
    if (n != NULL && n->epoch != r->epoch) {
        GW_INFO("bus: node '%s' restarted (epoch %" PRIu64 " -> %" PRIu64 "); "
                "its old sessions are gone", peer, n->epoch, r->epoch);
        node_remove(sig, n);
        n = NULL;
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
    n->state = GW__NODE_STATE__NODE_LIVE;
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

    if (n == NULL || n->epoch != hb->epoch) {
        /* sigd restarted, or the node did: make it register again. */
        gw_bus_reply_error(bus, peer, env, GW__STATUS__ST_ENOENT,
                           "unknown node or epoch");
        return;
    }
    if (n->state == GW__NODE_STATE__NODE_DEAD)
        GW_INFO("bus: node '%s' is back", peer);
    n->last_seen_ms = sig_now_ms();
    n->sessions = hb->sessions;
    n->ports_in_use = hb->ports_in_use;
    n->packets_relayed = hb->packets_relayed;
    n->packets_dropped = hb->packets_dropped;
    n->state = hb->draining ? GW__NODE_STATE__NODE_DRAINING
                            : GW__NODE_STATE__NODE_LIVE;
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
            n->state != GW__NODE_STATE__NODE_LIVE)
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
