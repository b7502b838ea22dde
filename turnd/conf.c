/* turnd's configuration: see conf.h.
 *
 * advertised_addr is a string rather than GW_CFG_ADDR because its default
 * is empty ("same as listen_addr") and the ADDR type refuses an empty
 * value; turn_conf_check() validates it instead.
 */
#include "conf.h"
#include "bus.h"
#include "net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define OFF(f) offsetof(turn_conf_t, f)

const gw_cfg_directive_t turn_conf_directives[] = {
    { "name", GW_CFG_STR, OFF(name), "turn1", 0, 0,
      "node name; also the routing id on the bus" },
    { "bus", GW_CFG_STR, OFF(bus), "tcp://127.0.0.1:7700", 0, 0,
      "sigd's control bus endpoint" },
    { "listen_addr", GW_CFG_ADDR, OFF(listen_addr), "127.0.0.1", 0, 0,
      "address STUN/TURN listens on (UDP and TCP)" },
    { "port", GW_CFG_INT, OFF(port), "3478", 1, 65535,
      "STUN/TURN port (UDP and TCP)" },
    { "relay_range", GW_CFG_RANGE, OFF(relay_range), "20001-30000", 1024, 65535,
      "TURN relay port range" },
    { "advertised_addr", GW_CFG_STR, OFF(advertised_addr), "", 0, 0,
      "public address behind 1:1 NAT; empty = listen_addr" },
    { "capacity", GW_CFG_INT, OFF(capacity), "10000", 1, 1000000,
      "TURN allocations this node accepts" },
    { "log_level", GW_CFG_LEVEL, OFF(log_level), "info", 0, 0,
      "err, warn, info or debug" },
    GW_CFG_END
};

int turn_conf_check(const turn_conf_t *c, char *err, size_t errlen)
{
    struct sockaddr_storage ss;

    if (c->name[0] == '\0' || strlen(c->name) >= GW_BUS_PEERLEN) {
        snprintf(err, errlen, "name: must be 1 to %d characters",
                 GW_BUS_PEERLEN - 1);
        return -EINVAL;
    }
    if (c->bus[0] == '\0') {
        snprintf(err, errlen, "bus: an endpoint is required");
        return -EINVAL;
    }
    if (c->advertised_addr[0] != '\0' &&
        gw_addr_parse(c->advertised_addr, 0, &ss) < 0) {
        snprintf(err, errlen, "advertised_addr: '%s' is not a numeric IP "
                 "address", c->advertised_addr);
        return -EINVAL;
    }
    return 0;
}

const char *turn_conf_advertised(const turn_conf_t *c)
{
    return c->advertised_addr[0] != '\0' ? c->advertised_addr : c->listen_addr;
}
