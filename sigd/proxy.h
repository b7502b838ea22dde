/* The SIP proxy: two Sofia nta agents, one per side (EXT and INT), on one
 * su_root. A request that arrives on one agent leaves from the other, so
 * the side of every message is known from the agent it came through and a
 * message can never leave on the interface it arrived on by mistake.
 */
#ifndef SIG_PROXY_H
#define SIG_PROXY_H

#include "sigd.h"

/* Creates both agents (UDP and TCP on each side). 0 or -1 (logged). */
int sig_proxy_start(sig_daemon_t *sig);
/* 1 when the URI names one of sigd's own listeners (either side). */
int sig_proxy_is_ours(const url_t *u);
/* The URI parameter of the Path sigd puts in a REGISTER from EXT: it
 * names the agent's flow (transport, public address and port). */
#define SIG_FLOW_PARAM "gwflow"
/* 1 when the request's top Route is the Path of a registered agent (the
 * request goes to an agent, not to a trunk). */
int sig_proxy_to_agent(const sip_t *sip);
/* Ends every transaction and destroys the agents. */
void sig_proxy_stop(sig_daemon_t *sig);

#endif
