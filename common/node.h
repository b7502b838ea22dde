/* A node's side of the bus life cycle (mediad and turnd): register with
 * sigd, then heartbeat with load; register again whenever sigd says it does
 * not know us (sigd restarted) and keep trying while sigd is away. The
 * daemon owns the NodeRegister it describes itself with and fills each
 * heartbeat through a callback.
 *
 * Reconciliation: when sigd answers a heartbeat with ENOENT it has no
 * record of our sessions (it restarted, or declared us dead and ended our
 * calls). The sessions we hold then belong to nobody: before registering
 * again the node calls `purge` (optional) to drop them. A restarted node
 * needs nothing: it starts empty, under a new epoch. */
#ifndef GW_NODE_H
#define GW_NODE_H

#include <uv.h>

#include "bus.h"

typedef void (*gw_node_fill_f)(Gw__Heartbeat *hb, void *ctx);
/* Drops every session; returns how many were dropped. */
typedef unsigned (*gw_node_purge_f)(void *ctx);

typedef struct {
    /* public: set before gw_node_start() */
    Gw__NodeRegister *reg;     /* caller-owned; outlives the node */
    gw_node_fill_f fill;
    gw_node_purge_f purge;     /* optional: see reconciliation above */
    void *ctx;
    /* read-only */
    int registered;
    unsigned heartbeat_ms;
    int draining;              /* set by sigd's drain request */
    /* private */
    uv_timer_t timer;
    gw_bus_t *bus;
    uint64_t reg_id;           /* request id of the last register sent */
} gw_node_t;

int gw_node_start(gw_node_t *n, uv_loop_t *loop, gw_bus_t *bus);
/* Sends a deregister and closes the timer. */
void gw_node_stop(gw_node_t *n, const char *reason);
/* Bus handlers a node daemon lists in its route table with ctx = the
 * gw_node_t (or calls from its own handlers). */
void gw_node_on_registered(gw_node_t *n, const Gw__Envelope *env);
void gw_node_on_error(gw_node_t *n, const Gw__Envelope *env);
void gw_node_on_drain(gw_node_t *n, const char *peer, const Gw__Envelope *env);

#endif
