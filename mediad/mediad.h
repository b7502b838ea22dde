/* mediad: the daemon context shared by its modules.
 *
 * One md_t per process. It owns the libuv loop, the two port pools (EXT and
 * INT), the session table and the bus connection. Modules: session.c (the
 * table and the life of a session), relay.c (sockets and the packet path),
 * control.c (bus requests from sigd), config.c (directives).
 */
#ifndef MD_MEDIAD_H
#define MD_MEDIAD_H

#include <stdint.h>
#include <uv.h>

#include "bus.h"
#include "bus_uv.h"
#include "cfg.h"
#include "log.h"
#include "node.h"
#include "ports.h"

typedef struct md_session_s md_session_t;

/* Directives of the [mediad] section; see config.c. */
typedef struct {
    char name[GW_CFG_STRLEN];
    char bus[GW_CFG_STRLEN];
    char ext_addr[GW_CFG_STRLEN];
    char ext_advertised[GW_CFG_STRLEN];
    char int_addr[GW_CFG_STRLEN];
    gw_cfg_range_t rtp_range;
    int capacity;
    int weight;
    int dscp;
    int ext_symmetric;
    gw_log_level_t log_level;
} md_config_t;

/* Totals since start, for heartbeats and queries. */
typedef struct {
    uint64_t packets_relayed;
    uint64_t bytes_relayed;
    uint64_t packets_dropped;
} md_totals_t;

#define MD_HASH_BUCKETS 16384   /* power of two */

typedef struct {
    /* public */
    md_config_t cfg;
    uv_loop_t *loop;
    /* read-only */
    unsigned nsessions;
    md_totals_t totals;
    /* private */
    gw_ports_t ext_ports;
    gw_ports_t int_ports;
    md_session_t *buckets[MD_HASH_BUCKETS];
    gw_bus_t *bus;
    gw_bus_uv_t bus_uv;
    gw_node_t node;
    Gw__NodeRegister reg;
    Gw__Interface ifaces[2];
    Gw__Interface *iface_ptrs[2];
    Gw__PortRange range;
    int stopping;
} md_t;

extern const gw_cfg_directive_t md_config_directives[];

/* control.c */
extern const gw_bus_route_t md_control_routes[];
void md_control_fill_heartbeat(Gw__Heartbeat *hb, void *ctx);

#endif
