/* Remote agents behind NAT: flows, Path, Contact fixing and keep-alives.
 *
 * A flow is how sigd reaches an agent on EXT: the transport, public
 * address and port its REGISTER came from. A REGISTER from EXT leaves for
 * the registrar with a Path (RFC 3327) naming sigd's INT listener and the
 * flow in a URI parameter (SIG_FLOW_PARAM, "gwflow=udp~IP~PORT"); a request
 * from INT whose top Route is that Path goes to the flow, whatever private
 * address the agent's Contact names (over TCP, Sofia reuses the agent's
 * own connection to that address and port).
 */
#ifndef SIG_NAT_H
#define SIG_NAT_H

#include "sigd.h"

#include <sofia-sip/sip.h>

typedef struct sig_nat_s sig_nat_t;

/* Adds our Path, with the flow of irq's request, to msg (a REGISTER from
 * EXT about to be forwarded). 0 or -errno. */
int sig_nat_add_path(sig_daemon_t *sig, nta_incoming_t *irq, msg_t *msg, sip_t *sip);

/* When the top Route of sip is our Path with a flow, returns the flow as
 * a URI (allocated in home) to send the request to; NULL otherwise. */
url_t *sig_nat_flow_hop(sig_daemon_t *sig, su_home_t *home, const sip_t *sip);

/* A Contact naming a private address other than the message's source
 * (src: the received message, which carries its address) is rewritten to
 * the source address and port, so that later requests reach the agent
 * through its NAT. Returns 1 when rewritten, 0 otherwise. */
int sig_nat_fix_contact(sig_daemon_t *sig, msg_t *src, msg_t *msg, sip_t *sip);

/* A 2xx to a REGISTER forwarded from EXT: (re)arms keep-alives to the
 * flow of irq's request until the binding expires (removed on expiry 0). */
void sig_nat_registered(sig_daemon_t *sig, nta_incoming_t *irq, const sip_t *resp);

/* 1 when msg (a request received on EXT) came on a flow with a live
 * registration: the transport, address and port a REGISTER came from
 * and the registrar accepted, until the binding expires. 0 otherwise. */
int sig_nat_on_registered_flow(sig_daemon_t *sig, msg_t *msg, const sip_t *sip);

/* The flow table and its timer (OPTIONS every nat_keepalive s to live
 * flows; with keep-alives off, only expiry). */
int sig_nat_start(sig_daemon_t *sig);
void sig_nat_stop(sig_daemon_t *sig);

/* Exported for the unit tests: 1 for RFC 1918, 100.64/10, 169.254/16,
 * fc00::/7 and fe80::/10 literals. */
int sig__nat_is_private(const char *host);

#endif
