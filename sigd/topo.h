/* Topology hiding: what each side sees of the other.
 *
 * sigd is the border. With hiding on (the default), a message that leaves
 * on one side names no address of the other side: the Via list is ours
 * alone (the sender's is kept in the server transaction and restored on
 * the way back), Record-Route holds our entry for that side only, the
 * Contact of a call's messages is our URI on that side, and a configured
 * list of headers the platform adds is removed on EXT. In-dialog requests
 * that come back to our Contact are sent on to the other party's remote
 * target along its route set, both kept per call (dialog.c). The decision
 * is taken per call (and per transaction outside calls): a trunk named in
 * `topology_hiding_off` gets the messages as they are.
 *
 * proxy.c calls it at the points where a message leaves: these functions
 * only edit the message they are given.
 */
#ifndef SIG_TOPO_H
#define SIG_TOPO_H

#include "sigd.h"

#include <sofia-sip/sip.h>

/* The transport a party reaches us on, for our URI on its side. */
typedef enum { SIG_TP_UDP = 0, SIG_TP_TCP, SIG_TP_TLS } sig_tp_t;

/* Parses the directives (errors logged with file and line). 0 or -EINVAL. */
int sig_topo_start(sig_daemon_t *sig);

/* 1 when a new call or transaction is hidden: topology_hiding is on and
 * `trunk` (the trunk at either end, or NULL) is not in topology_hiding_off. */
int sig_topo_applies(const sig_daemon_t *sig, const char *trunk);

/* Our URI on side s for a party on transport tp, "sip:ADDR:PORT[;transport=X]"
 * (TLS: the EXT TLS port), allocated in home; NULL on ENOMEM. */
char *sig_topo_our_uri(const sig_daemon_t *sig, su_home_t *home, Gw__Side s, sig_tp_t tp);

/* A request about to leave on `out` (tp: how its next hop is reached):
 * every Via removed (nta adds ours), Record-Route reduced to our entry on
 * `out`, the Contact replaced by our URI when `contact` is set (a call's
 * request), and on EXT the hide_headers removed. 0 or -ENOMEM. */
int sig_topo_request(const sig_daemon_t *sig, msg_t *msg, sip_t *sip, Gw__Side out,
                     sig_tp_t tp, int contact);

/* A response about to go back to `to`, for a request that came with the
 * Via list `via` and the Record-Route `req_rr` (NULL = none): that Via
 * list restored, Record-Route made of our entry on `to` followed by
 * req_rr (the route towards the sender stays as it built it, the other
 * side's hops are gone), the Contact replaced by our URI when `contact`
 * is set, and on EXT the hide_headers, Path and Service-Route removed.
 * 0 or -ENOMEM. */
int sig_topo_response(const sig_daemon_t *sig, msg_t *msg, sip_t *sip,
                      const sip_via_t *via, const sip_record_route_t *req_rr,
                      Gw__Side to, int contact);

/* Headers only: the hide_headers removed from a message leaving on EXT
 * that is not hidden otherwise (a transaction whose Vias must stay). */
void sig_topo_strip_headers(const sig_daemon_t *sig, msg_t *msg, sip_t *sip);

/* A request from EXT loses any header named like source_header (a caller
 * cannot forge it); a new one (initial) gets it with the address it came
 * from, `src` ("IP:PORT"), when source_header is set. */
int sig_topo_source(const sig_daemon_t *sig, msg_t *msg, sip_t *sip, int initial,
                    const char *src);

/* Exported for the unit tests: 1 when the header name matches a
 * hide_headers item (case-insensitive; "X-*" is a prefix). */
int sig__topo_name_listed(const char *list, const char *name);

#endif
