/* Media requests from sigd to nodes: offer, answer, delete.
 *
 * An offer is asynchronous: the caller's callback runs once, with the
 * node's reply, or with NULL when the node answered with an error or did
 * not answer within media_deadline_ms (a lost reply never wedges a call).
 * Answers and deletes are sent without waiting: their replies are only
 * logged (the delete reply carries the call's media statistics).
 * A request to a node whose bus connection is gone is not an error for the
 * caller: its callback runs with NULL on the next tick, as for a lost
 * reply, and the node gets no new calls until it is heard from again.
 */
#ifndef SIG_MEDIA_H
#define SIG_MEDIA_H

#include "sigd.h"
#include "sdp.h"

typedef void (*sig_media_cb)(sig_daemon_t *sig, void *arg, sig_node_t *node,
                             const Gw__MediaReply *reply);

typedef struct sig_pending_s {
    uint64_t request_id;
    char node[GW_BUS_PEERLEN];
    char call_id[96];
    uint64_t session_id;      /* offers: deleted on the node if it times out */
    int64_t deadline_ms;
    sig_media_cb cb;          /* NULL for fire-and-forget requests */
    void *arg;
    Gw__Envelope__BodyCase kind;
    struct sig_pending_s *next;
} sig_pending_t;

int sig_media_start(sig_daemon_t *sig);
void sig_media_stop(sig_daemon_t *sig);
/* Asks `node` to create (or update) the call's media session with the
 * offerer's endpoints. 0 when sent (cb will run), <0 when it could not be
 * sent (cb will not run). */
int sig_media_offer(sig_daemon_t *sig, sig_node_t *node, sig_call_t *call,
                    Gw__Side from_side, const sig_sdp_ep_t *eps, unsigned n,
                    sig_media_cb cb, void *arg);
/* Tells the call's node the answerer's endpoints. With a callback, 0 means
 * it will run with the node's reply (or NULL at the deadline) and <0 that
 * nothing was sent; without one the reply is only logged. */
int sig_media_answer(sig_daemon_t *sig, sig_call_t *call, const sig_sdp_ep_t *eps,
                     unsigned n, sig_media_cb cb, void *arg);
/* Deletes the call's media session; logs the statistics when they come. */
void sig_media_delete(sig_daemon_t *sig, sig_call_t *call, const char *reason);
/* Forgets pending callbacks whose arg is `arg` (it is going away). */
void sig_media_forget(sig_daemon_t *sig, void *arg);
/* Fails every request waiting on `node` (its sessions are gone): their
 * callbacks run with NULL from the next timer tick. Returns how many. */
unsigned sig_media_node_lost(sig_daemon_t *sig, const char *node);
/* Asks `node` for a session's legs and counters (gwctl). Same contract as
 * sig_media_offer(). */
int sig_media_query(sig_daemon_t *sig, const char *node, uint64_t session_id,
                    const char *call_id, sig_media_cb cb, void *arg);

/* Bus handlers for replies (listed in control.c's route table). */
void sig_media_on_reply(gw_bus_t *bus, const char *peer,
                        const Gw__Envelope *env, void *ctx);
void sig_media_on_error(gw_bus_t *bus, const char *peer,
                        const Gw__Envelope *env, void *ctx);

#endif
