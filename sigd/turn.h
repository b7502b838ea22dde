/* sigd's side of TURN: the TURN REST API secrets, pushed to every TURN
 * node; credentials minted from them for call-scoped TURN; revocation of
 * a username's allocations on every TURN node.
 *
 * The secrets live here, newest first, at most SIG_TURN_SECRETS: a
 * rotation puts a new secret in front and keeps the previous ones, so that
 * credentials minted a moment ago stay valid until they expire. A TURN
 * node that registers asks for the list (TurnSecrets with `request`);
 * sigd answers, and pushes the whole list to every live node at each
 * rotation. Minting: username "expiry:user", password
 * base64(HMAC-SHA1(newest secret, username)), the convention WebRTC
 * applications use with coturn. Secrets never reach a log.
 *
 * Call-scoped credentials (turnscope.c): a name minted for an agent (its
 * SIP user) is recorded; sigd counts the agent's calls (the From user of
 * a call from EXT, the Request-URI or To user of a call to EXT) and, once
 * the agent has had a call and its last call ends, revokes every name it
 * recorded for the agent on every TURN node, after revoke_grace seconds
 * (a new call of the agent within the grace cancels it).
 *
 * gwctl commands, i.e. CtlRequests on the bus (answered in a CtlReply's
 * text, one line of key=value):
 *   turn-secret SECRET          rotate: SECRET becomes the newest
 *   turn-cred USER [TTL] [call|ttl]
 *                               mint credentials (TTL seconds, default
 *                               3600); `call` (default): revoked when the
 *                               agent's calls end; `ttl`: valid until TTL
 *   turn-revoke USERNAME        delete its allocations on every TURN node
 *   turn-agents                 the call-scoped agents, their calls, names
 *   turn-grace [SECONDS]        show or set revoke_grace at run time
 */
#ifndef SIG_TURN_H
#define SIG_TURN_H

#include <stddef.h>
#include <stdint.h>

#include <sofia-sip/sip.h>

#include "sigd.h"

#define SIG_TURN_SECRETS 4
#define SIG_TURN_SECRETLEN 256
#define SIG_TURN_USERLEN 256

/* Makes `secret` the newest secret and pushes the list to every live TURN
 * node. Returns the number of nodes it was sent to, or -EINVAL. */
int sig_turn_rotate(sig_daemon_t *sig, const char *secret);
/* Mints REST credentials for `user` valid `ttl_s` seconds from `now`
 * (Unix seconds). 0, -ENOENT (no secret yet), -EINVAL, -EIO. */
int sig_turn_mint(const char *user, unsigned ttl_s, int64_t now,
                  char username[SIG_TURN_USERLEN], char *password,
                  size_t passlen);
/* Sends a TurnRevoke of `username` to every live TURN node; returns how
 * many. Call-scoped TURN: revoke the minted name when the agent's calls
 * end. */
int sig_turn_revoke(sig_daemon_t *sig, const char *username);
/* The gwctl commands "turn-*": answers the request. */
void sig_turn_on_ctl(sig_daemon_t *sig, const char *peer, const Gw__Envelope *env);

/* Bus handlers (for control.c's route table). */
void sig_turn_on_secrets(gw_bus_t *bus, const char *peer,
                         const Gw__Envelope *env, void *ctx);
void sig_turn_on_reply(gw_bus_t *bus, const char *peer,
                       const Gw__Envelope *env, void *ctx);

/* For tests: forgets every secret. */
void sig_turn_reset(void);

/* ---- call-scoped credentials (turnscope.c) ----------------------------- */

#define SIG_TURN_AGENT_NAMES 8      /* names tracked per agent */
#define SIG_TURN_MAX_AGENTS 65536   /* agents tracked at once */

/* [turn] directives (turnscope.c). */
typedef struct {
    int revoke_grace;   /* s between an agent's last call end and the revoke */
} sig_turn_config_t;

extern sig_turn_config_t sig_turn_cfg;
extern const gw_cfg_directive_t sig_turn_directives[];

/* Records `username` (just minted, valid until `expiry`, Unix s) as
 * call-scoped for the SIP user `agent`, and counts the agent's calls in
 * progress. 0, -EINVAL, -ENOSPC (too many agents), -ENOMEM. */
int sig_turn_scope_add(sig_daemon_t *sig, const char *agent,
                       const char *username, int64_t expiry);
/* 1 when `username` was revoked by the call scope lately (a name minted
 * again in the same second must differ from it: turnd refuses it). */
int sig_turn_scope_was_revoked(const char *username);
/* dialog.c, for each pass of an initial INVITE from `side`: records the
 * agent(s) the call is for (in the call's home) and counts the call for
 * those with call-scoped names. */
void sig_turn_call_seen(sig_call_t *c, Gw__Side side, const sip_t *req);
/* call.c, when a call ends: O(1); an agent's last call schedules its
 * revocation. */
void sig_turn_call_end(sig_call_t *c);
/* call.c at shutdown, after every call ended: pending revocations are
 * sent now, everything is freed. */
void sig_turn_stop(sig_daemon_t *sig);
/* Writes one line per agent ("agent=... calls=N names=N state=...") into
 * buf; returns the number of agents. */
unsigned sig_turn_scope_list(char *buf, size_t len);

#endif
