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
 * gwctl commands (answered in a CtlReply's text):
 *   turn-secret SECRET       rotate: SECRET becomes the newest
 *   turn-cred USER [TTL]     mint credentials (TTL seconds, default 3600)
 *   turn-revoke USERNAME     delete its allocations on every TURN node
 */
#ifndef SIG_TURN_H
#define SIG_TURN_H

#include <stddef.h>
#include <stdint.h>

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

#endif
