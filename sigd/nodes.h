/* The node registry: every mediad and turnd that registered on the bus,
 * with its addresses, ranges, load and liveness.
 *
 * A node is live while its heartbeats arrive; after dead_after missed
 * heartbeats it is dead and gets no new calls. A node that registers again
 * under the same name with a new epoch has restarted: its record is
 * replaced (the sessions it had are gone with the old process).
 *
 * Reconciliation: whenever a node's sessions are lost (dead, restarted
 * under a new epoch, deregistered), the calls anchored on it are
 * terminated and the media requests waiting on it fail at once (so call
 * set-ups move to another node). A dead node that comes back is asked to
 * register again (ENOENT), which makes it drop the sessions sigd has
 * already ended. A node sigd could not send to (its connection is gone)
 * gets no new calls from that moment, before its heartbeats are missed.
 *
 * Drain: sigd is the authority. gwctl's drain sets drain_requested and
 * tells the node (NodeDrain); the node refuses new sessions and reports
 * draining in its heartbeats; state is DRAINING while either says so.
 *
 * Port plan: a media node whose EXT range overlaps a live node's on the
 * same advertised address is refused at registration (one public address
 * in front of several nodes needs disjoint ranges for the perimeter DNAT).
 */
#ifndef SIG_NODES_H
#define SIG_NODES_H

#include "delay.h"
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
    uint64_t delay_hist[GW_DELAY_BUCKETS];   /* media: as in the last heartbeat */
    size_t n_delay_hist;
    int64_t last_seen_ms;     /* monotonic */
    Gw__NodeRegister *reg;    /* the register message as received */
    int drain_requested;      /* by gwctl; kept until undrain */
    int unreachable;          /* last send failed: no new calls */
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
/* Asks the node to drain (or undrain) and records the request. 0, or
 * <0 when the node could not be told (it is gone). */
int sig_nodes_drain(sig_daemon_t *sig, sig_node_t *n, int drain);
/* A send to the node failed for want of a connection: no new calls. */
void sig_nodes_unreachable(sig_daemon_t *sig, sig_node_t *n);
const char *sig_nodes_state_name(Gw__NodeState s);
int64_t sig_now_ms(void);

/* Bus handlers (listed in control.c's route table). */
void sig_nodes_on_register(gw_bus_t *bus, const char *peer,
                           const Gw__Envelope *env, void *ctx);
void sig_nodes_on_heartbeat(gw_bus_t *bus, const char *peer,
                            const Gw__Envelope *env, void *ctx);
void sig_nodes_on_deregister(gw_bus_t *bus, const char *peer,
                             const Gw__Envelope *env, void *ctx);

#endif
