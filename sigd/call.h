/* The dialog table: one sig_call_t per Call-ID with media anchored.
 *
 * A call is created by the first INVITE with an offer and ended by BYE,
 * CANCEL, a failure response or a media failure. Its memory is a Sofia
 * home of its own (per-dialog lifetime); transactions in flight hold
 * references, so an ended call is freed only when the last one lets go.
 */
#ifndef SIG_CALL_H
#define SIG_CALL_H

#include "sigd.h"
#include "dialog.h"
#include "sdp.h"

#define SIG_CALL_AGENTS 3   /* a spiral: From from EXT, then R-URI + To from INT */

/* The SDP answer of one early dialog (a provisional response with its own
 * To tag), kept for a 2xx of that dialog that brings no SDP: the answer
 * was in the 18x (RFC 3261 13.2.1, RFC 3262), and with forking the node
 * may since have been given another early dialog's. */
typedef struct sig_early_s {
    struct sig_early_s *next;
    char *tag;
    unsigned n;
    sig_sdp_ep_t eps[SIG_SDP_MAX_STREAMS];
} sig_early_t;

struct sig_call_s {
    su_home_t home[1];            /* must be first: the call is its home */
    /* read-only */
    char *call_id;
    uint64_t session_id;
    char node[GW_BUS_PEERLEN];    /* node holding the media; "" = none */
    char asked_node[GW_BUS_PEERLEN];  /* node asked for the session before it
                                   * answered (a second INVITE goes there) */
    int has_media;                /* the node confirmed a session */
    unsigned nstreams;
    sig_sdp_ep_t ext_relay[SIG_SDP_MAX_STREAMS];  /* relay, EXT side */
    sig_sdp_ep_t int_relay[SIG_SDP_MAX_STREAMS];  /* relay, INT side */
    Gw__Side offer_side;          /* side of the pending offer */
    int ended;
    sig_party_t party[2];         /* [SIG_CALLER], [SIG_CALLEE] (dialog.c) */
    sig_early_party_t *early_callees;  /* each early dialog's callee (dialog.c) */
    int confirmed;                /* a 2xx to the INVITE passed */
    sig_early_t *early;           /* early answers by To tag, in the home */
    char *media_tag;              /* To tag of the answer the node has */
    char *forks_ended;            /* " tag1 tag2 ": extra branches whose 2xx
                                   * sigd ACKed and BYEd (dialog.c) */
    unsigned invites;             /* initial INVITE transactions in flight
                                   * (several when the platform forks
                                   * towards two of our agents) */
    int late_offer;               /* an offer left in a 2xx: answer due in the ACK */
    int hide;                     /* topology hiding applies (topo.c) */
    char *caller_via;             /* hidden: the INVITE's Via list as received, */
    char *caller_rr;              /* and its Record-Route, for a 2xx retransmitted
                                   * past the transaction; NULL = none */
    /* Call-scoped TURN (turn.c): the SIP users of the EXT party this call
     * counts for (From user of a call from EXT; Request-URI and To user of
     * a call to EXT), in the call's home; NULL = free slot. */
    char *agent[SIG_CALL_AGENTS];
    /* private */
    struct sig_turn_agent_s *turn_agent[SIG_CALL_AGENTS];  /* turn.c: counted in */
    sig_daemon_t *sig;
    sig_call_t *hnext;
    int refs;
};

int sig_calls_init(sig_daemon_t *sig);
void sig_calls_fini(sig_daemon_t *sig);
/* The call whose media session has this id (O(calls): for rare events). */
sig_call_t *sig_call_find_session(sig_daemon_t *sig, uint64_t session_id);
sig_call_t *sig_call_find(sig_daemon_t *sig, const char *call_id);
/* A new call in the table. The table holds one reference, dropped by
 * sig_call_end(); a transaction that keeps the pointer takes its own. */
sig_call_t *sig_call_create(sig_daemon_t *sig, const char *call_id);
void sig_call_ref(sig_call_t *c);
void sig_call_unref(sig_call_t *c);
/* Deletes the media session (if any) and removes the call from the table;
 * references keep the memory until released. Idempotent. */
void sig_call_end(sig_call_t *c, const char *reason);
/* Ends a confirmed call from the middle: BYE to both parties (each on its
 * own side, along the dialog's route set), media deleted, logged with
 * `reason`. Used for media timeouts and dead media nodes. */
void sig_call_terminate(sig_call_t *c, const char *reason);
/* Visits every call; fn may end the call it is given, no other. */
void sig_calls_foreach(sig_daemon_t *sig, void (*fn)(sig_call_t *c, void *arg),
                       void *arg);


/* Records that the node got the answer of the dialog with To tag `tag`
 * (eps/n), and for an early dialog (early set) keeps it. 0 or -ENOMEM. */
int sig_call_answered(sig_call_t *c, const char *tag, int early,
                      const sig_sdp_ep_t *eps, unsigned n);
/* The kept answer of the early dialog with this To tag, or NULL. */
const sig_early_t *sig_call_early(const sig_call_t *c, const char *tag);

/* The relay endpoints a side sees. */
static inline const sig_sdp_ep_t *sig_call_relay(const sig_call_t *c, Gw__Side side)
{
    return side == GW__SIDE__SIDE_EXT ? c->ext_relay : c->int_relay;
}

#endif
