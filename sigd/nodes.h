/* The node registry: every mediad and turnd that registered on the bus,
 * with its addresses, ranges, load and liveness.
 *
 * A node is live while its heartbeats arrive; after dead_after missed
 * heartbeats it is dead and gets no new calls. A node that registers again
 * under the same name with a new epoch has restarted: its record is
 * replaced (the sessions it had are gone with the old process).
 */
#ifndef SIG_NODES_H
#define SIG_NODES_H

#include "sigd.h"

struct sig_node_s {
    /* read-only */
    char name[GW_BUS_PEERLEN];
    Gw__Role role;
    Gw__NodeState state;
    uint64_t epoch;
    uint32_t capacity;
    uint32_t weight;
    uint32_t sessions;
    uint32_t ports_in_use;
    uint64_t packets_relayed;
    uint64_t packets_dropped;
    int64_t last_seen_ms;     /* monotonic */
    Gw__NodeRegister *reg;    /* the register message as received */
    /* private */
    sig_node_t *next;
};

int sig_nodes_start(sig_daemon_t *sig);
void sig_nodes_stop(sig_daemon_t *sig);
sig_node_t *sig_nodes_find(sig_daemon_t *sig, const char *name);
/* Least-loaded live media node by weight, skipping `exclude` (may be
 * NULL); NULL when none can take a call. */
sig_node_t *sig_nodes_pick_media(sig_daemon_t *sig, const sig_node_t *exclude);
unsigned sig_nodes_count(sig_daemon_t *sig, Gw__Role role, Gw__NodeState state);
int64_t sig_now_ms(void);

/* Bus handlers (listed in control.c's route table). */
void sig_nodes_on_register(gw_bus_t *bus, const char *peer,
                           const Gw__Envelope *env, void *ctx);
void sig_nodes_on_heartbeat(gw_bus_t *bus, const char *peer,
                            const Gw__Envelope *env, void *ctx);
void sig_nodes_on_deregister(gw_bus_t *bus, const char *peer,
                             const Gw__Envelope *env, void *ctx);

#endif
