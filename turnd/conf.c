/* turnd's configuration: see conf.h.
 *
 * advertised_addr is a string rather than GW_CFG_ADDR because its default
 * is empty ("same as listen_addr") and the ADDR type refuses an empty
 * value; turn_conf_check() validates it instead.
 */
#include "conf.h"
#include "bus.h"
#include "net.h"
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define OFF(f) offsetof(turn_conf_t, f)

const gw_cfg_directive_t turn_conf_directives[] = {
    { "name", GW_CFG_STR, OFF(name), "turn1", 0, 0,
      "node name; also the routing id on the bus" },
    { "bus", GW_CFG_STR, OFF(bus), "tcp://127.0.0.1:7700", 0, 0,
      "sigd's control bus endpoint" },
    { "bus_server_key_file", GW_CFG_STR, OFF(bus_server_key_file), "", 0, 0,
      "sigd's CURVE public key (Z85 file); with bus_secret_key_file turns "
      "CURVE on (required unless the bus is loopback)" },
    { "bus_secret_key_file", GW_CFG_STR, OFF(bus_secret_key_file), "", 0, 0,
      "this node's CURVE secret key (Z85 file, mode 0600; `gwctl keygen`)" },
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
    { "realm", GW_CFG_STR, OFF(realm), "gw", 0, 0,
      "long-term credentials realm (REALM attribute)" },
    { "users", GW_CFG_STR, OFF(users), "", 0, 0,
      "static long-term users, name:password[,name:password...]" },
    { "rest_secrets", GW_CFG_STR, OFF(rest_secrets), "", 0, 0,
      "TURN REST API secrets, newest first (sigd may replace them)" },
    { "nonce_lifetime", GW_CFG_INT, OFF(nonce_lifetime), "600", 1, 86400,
      "seconds a nonce stays valid (then 438 Stale Nonce)" },
    { "default_lifetime", GW_CFG_INT, OFF(default_lifetime), "600", 1, 3600,
      "allocation lifetime in seconds when none or less is asked" },
    { "max_lifetime", GW_CFG_INT, OFF(max_lifetime), "3600", 1, 86400,
      "longest allocation lifetime granted, seconds" },
    { "user_quota", GW_CFG_INT, OFF(user_quota), "0", 0, 1000000,
      "allocations per username (486 beyond); 0 = no limit" },
    { "max_bps", GW_CFG_INT, OFF(max_bps), "0", 0, 1000000000,
      "bandwidth cap per allocation, bytes per second; 0 = none" },
    { "io_uring", GW_CFG_BOOL, OFF(io_uring), "yes", 0, 0,
      "relay sockets' sends and reads batched through io_uring, one system "
      "call per loop iteration (falls back to a call per packet, with a "
      "warning, where the kernel refuses io_uring)" },
    { "allowed_peers", GW_CFG_STR, OFF(allowed_peers), "", 0, 0,
      "CIDRs relaying may reach although denied by default (loopback, "
      "private, link-local, multicast, own addresses)" },
    { "denied_peers", GW_CFG_STR, OFF(denied_peers), "", 0, 0,
      "further CIDRs relaying must never reach" },
    { "tls_port", GW_CFG_INT, OFF(tls_port), "0", 0, 65535,
      "TURN over TLS port (5349 as a rule), on listen_addr; 0 = none" },
    { "tls_cert", GW_CFG_STR, OFF(tls_cert), "", 0, 0,
      "PEM certificate chain for TLS, leaf first" },
    { "tls_key", GW_CFG_STR, OFF(tls_key), "", 0, 0,
      "PEM private key for TLS" },
    { "tls_priority", GW_CFG_STR, OFF(tls_priority),
      "SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", 0, 0,
      "GnuTLS priority string (versions, ciphers, groups); TLS 1.0 and 1.1 "
      "are always removed" },
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
    if (c->default_lifetime > c->max_lifetime) {
        snprintf(err, errlen, "default_lifetime: above max_lifetime");
        return -EINVAL;
    }
    if (c->tls_port != 0) {
        turn_tls_t *tls;
        char why[512];

        if (c->tls_port == c->port) {
            snprintf(err, errlen, "tls_port: same as port (%d)", c->port);
            return -EINVAL;
        }
        /* Loading them here is what makes `turnd --check` catch a bad
         * certificate, key or priority string before a start does; a
         * missing file is named with the line that names it. */
        if (gw_cfg_readable("turnd", "tls_cert", c->tls_cert, "required with tls_port",
                            err, errlen) < 0 ||
            gw_cfg_readable("turnd", "tls_key", c->tls_key, "required with tls_port",
                            err, errlen) < 0)
            return -EINVAL;
        if (turn_tls_new(&tls, c->tls_cert, c->tls_key, c->tls_priority, why,
                         sizeof why) < 0) {
            snprintf(err, errlen, "tls: %s", why);
            return -EINVAL;
        }
        turn_tls_free(tls);
    }
    if (c->relay_range.hi < c->relay_range.lo) {
        snprintf(err, errlen, "relay_range: empty");
        return -EINVAL;
    }
    return 0;
}

const char *turn_conf_advertised(const turn_conf_t *c)
{
    return c->advertised_addr[0] != '\0' ? c->advertised_addr : c->listen_addr;
}
