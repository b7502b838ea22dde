/* Dialog state: what sigd must remember about a confirmed dialog to end it
 * on its own, i.e. to send a BYE to each party as if it came from the other
 * one (sig_call_terminate(): media timeouts, dead media nodes, operator).
 *
 * For each party (the caller, the callee) it keeps the party's address
 * with its tag (From or To), its remote target (Contact, refreshed by
 * re-INVITE/UPDATE and their 2xx), the route set between sigd and the
 * party (the Record-Route entries on the party's side of ours, from the
 * 2xx) and the highest CSeq the party used, so that a BYE sent in the
 * other party's name carries the next one. The strings live in the call's
 * home (per-dialog lifetime).
 *
 * proxy.c feeds it: the initial INVITE (caller), its 2xx (callee, route
 * set: the dialog is confirmed), and every in-dialog request and 2xx that
 * passes (CSeq, target refresh).
 */
#ifndef SIG_DIALOG_H
#define SIG_DIALOG_H

#include "sigd.h"

#include <sofia-sip/sip.h>

#define SIG_CALLER 0
#define SIG_CALLEE 1

typedef struct {
    /* read-only */
    Gw__Side side;        /* the side sigd reaches the party on */
    char *addr;           /* its From/To value with its tag */
    char *tag;            /* that tag alone; NULL = not known yet (the
                           * callee's: the answered branch's) */
    char *target;         /* its remote target (Contact URI) */
    char *route;          /* Route value from sigd towards it; NULL = none */
    uint32_t cseq;        /* highest CSeq of its own requests; 0 = none yet */
} sig_party_t;

/* One early dialog's callee (forking: each 18x with its own To tag). */
typedef struct sig_early_party_s {
    struct sig_early_party_s *next;
    sig_party_t p;
} sig_early_party_t;

/* The initial INVITE, as forwarded from `side`: records the caller. */
int sig_dialog_caller(sig_call_t *c, Gw__Side side, const sip_t *req);
/* A 2xx to the initial INVITE, as forwarded back: records the callee and
 * both route sets; the dialog is confirmed. The first 2xx wins (forking). */
int sig_dialog_confirm(sig_call_t *c, const sip_t *resp);
/* A provisional response with a To tag to the initial INVITE: records the
 * callee of the early dialog (target, route set), so that a PRACK or an
 * early UPDATE to our Contact finds it. Later ones replace it as the
 * callee (forking: the latest early dialog), the 2xx settles it; each
 * early dialog is also kept by its To tag. */
int sig_dialog_early(sig_call_t *c, const sip_t *resp);
/* The party a request from `from` goes to (the other one), when both are
 * known and it has a remote target; else NULL. Before the 2xx, a request
 * of the caller (req) goes to the early dialog its To tag names. */
const sig_party_t *sig_dialog_peer(const sig_call_t *c, Gw__Side from,
                                   const sip_t *req);
/* An in-dialog request from `side`: its CSeq, and its Contact when the
 * method refreshes the target. */
void sig_dialog_request(sig_call_t *c, Gw__Side side, const sip_t *req);
/* A 2xx to an in-dialog request sent to `side`: a target refresh. */
void sig_dialog_response(sig_call_t *c, Gw__Side side, const sip_t *resp);
/* 1 when req (an in-dialog request, To tag present) belongs to a dialog
 * of the table: its Call-ID names a live call and its From and To tags
 * are that dialog's two parties, in either direction (before the 2xx, when
 * the callee's tag is not known yet, one of them must be the caller's).
 * A To tag alone proves nothing: anyone can add one. 0 otherwise. */
int sig_dialog_known(sig_daemon_t *sig, const sip_t *req);
/* Sends BYE to both parties of a confirmed dialog, each from the agent of
 * its own side. Returns the number of BYEs sent, or -ENOTCONN when the
 * dialog is not confirmed. The call stays referenced until both BYE
 * transactions end. */
int sig_dialog_bye(sig_call_t *c, const char *reason);
/* Forking (RFC 3261 16.7): a call has one answered dialog, the first
 * 2xx's; its media session can anchor no other. 1 when resp, arriving
 * from `from`, is a 2xx to an INVITE from the callee's side with another
 * To tag than the answered dialog's: the 2xx of an extra branch. */
int sig_dialog_other_fork(const sig_call_t *c, Gw__Side from, const sip_t *resp);
/* Ends an extra branch from the middle, on `side`: ACK for its 2xx (for
 * each copy), then, once per branch, BYE (CSeq + 1), both to its Contact
 * along its own Record-Route. The 2xx is not passed on. 0 or <0. */
int sig_dialog_end_fork(sig_call_t *c, Gw__Side side, const sip_t *resp);
/* Bus ctl command "terminate <call-id>": sig_call_terminate() on that
 * call, for operators and tests (routed from control.c's on_ctl). */
void sig_dialog_ctl_terminate(sig_daemon_t *sig, const char *peer,
                              const Gw__Envelope *env);
/* Destroys the BYE transactions still running (before the agents go). */
void sig_dialog_stop(sig_daemon_t *sig);

#endif
