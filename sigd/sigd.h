/* sigd: the daemon context shared by its modules.
 *
 * Modules: proxy.c (Sofia nta agents, request and response forwarding),
 * call.c (the dialog table), sdp.c (SDP parsing and rewriting), media.c
 * (media requests to nodes, with deadlines), nodes.c (the node registry and
 * node choice), control.c (the bus route table and gwctl commands),
 * routes.c (internal targets, trunks, outbound routes), nat.c (Path, flows, NATed Contacts, keep-alives), antifraud.c (bans, rate limit, scanners, outbound policy),
 * drops.c (counters and rate-limited logs of dropped messages),
 * siptls.c (SIP over TLS policy), turn.c and turnscope.c (TURN secrets,
 * credentials, call-scoped revocation), config.c (directives).
 */
#ifndef SIG_SIGD_H
#define SIG_SIGD_H

#include <stdint.h>
#include <sys/socket.h>

/* Sofia's magic types: the root, wakeups and timers carry the daemon
 * context; transactions carry the proxy transaction (proxy.c). */
#define SU_ROOT_MAGIC_T struct sig_s
#define SU_WAKEUP_ARG_T struct sig_s
#define SU_TIMER_ARG_T  struct sig_s
#define SU_PREPOLL_MAGIC_T struct sig_s
#define NTA_AGENT_MAGIC_T struct sig_s
#define NTA_LEG_MAGIC_T struct sig_s
#define NTA_INCOMING_MAGIC_T struct sig_tx_s
#define NTA_OUTGOING_MAGIC_T struct sig_tx_s
#include <sofia-sip/su_wait.h>
#include <sofia-sip/nta.h>

#include "bus.h"
#include "cfg.h"
#include "log.h"
#include "antifraud.h"
#include "routes.h"
#include "siptls.h"

typedef struct sig_s sig_daemon_t;
typedef struct sig_call_s sig_call_t;
typedef struct sig_node_s sig_node_t;

typedef struct {
    char ext_addr[GW_CFG_STRLEN];
    int ext_port;
    char int_addr[GW_CFG_STRLEN];
    int int_port;
    char internal_target[GW_CFG_STRLEN];
    char ext_default_route[GW_CFG_STRLEN];  /* new requests from INT to us */
    int nat_keepalive;          /* s between keep-alives to agents (nat.c) */
    char bus_bind[GW_CFG_STRLEN];
    char bus_secret_key_file[GW_CFG_STRLEN];
    char bus_allowed_keys_dir[GW_CFG_STRLEN];
    int media_deadline_ms;
    int heartbeat_ms;
    int dead_after;
    int retry_after;
    int max_message;            /* bytes; larger SIP messages are refused */
    int ext_srtp;               /* offer SRTP to EXT parties (srtp.c) */
    int int_srtp;               /* offer SRTP to INT parties (srtp.c) */
    char resolv_conf[GW_CFG_STRLEN];  /* DNS servers for next hops by name */
    char ext_listeners[GW_CFG_LISTLEN];  /* more listener sets: sip:/sips: URIs */
    char int_listeners[GW_CFG_LISTLEN];
    sig_tls_config_t tls;       /* SIP over TLS on EXT (siptls.c) */
    int topology_hiding;        /* topo.c */
    char topology_hiding_off[GW_CFG_LISTLEN];  /* trunk names */
    char hide_headers[GW_CFG_LISTLEN];          /* removed on EXT */
    char source_header[GW_CFG_STRLEN];          /* caller's address towards INT */
    gw_log_level_t log_level;
} sig_config_t;

struct sig_s {
    /* public */
    sig_config_t cfg;
    sig_af_config_t af_cfg;    /* [antifraud] (antifraud.c) */
    sig_routes_config_t routes_cfg;  /* [routes] (routes.c) */
    su_root_t *root;
    su_home_t home[1];
    /* read-only */
    unsigned ncalls;
    /* private */
    nta_agent_t *agent[2];     /* [GW__SIDE__SIDE_EXT], [GW__SIDE__SIDE_INT] */
    gw_bus_t *bus;
    su_wait_t bus_wait;
    int bus_index;
    su_timer_t *node_timer;
    su_timer_t *media_timer;
    sig_node_t *nodes;
    struct sig_pending_s *pending;
    struct sig_af_s *af;       /* antifraud.c */
    struct sig_drops_s *drops; /* drops.c */
    struct sig_nat_s *nat;     /* nat.c: registered flows */
    sig_call_t **buckets;
    uint64_t next_session;
};

extern const gw_cfg_directive_t sig_config_directives[];

/* control.c */
extern const gw_bus_route_t sig_control_routes[];

#endif
