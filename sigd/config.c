/* The [sigd] directives. */
#include <stddef.h>

#include "sigd.h"

#define F(x) offsetof(sig_config_t, x)

const gw_cfg_directive_t sig_config_directives[] = {
    { "ext_addr", GW_CFG_ADDR, F(ext_addr), "127.0.0.1", 0, 0,
      "EXT (internet side) SIP address" },
    { "ext_port", GW_CFG_INT, F(ext_port), "5060", 1, 65535,
      "EXT SIP port (UDP and TCP)" },
    { "int_addr", GW_CFG_ADDR, F(int_addr), "127.0.0.2", 0, 0,
      "INT (internal side) SIP address" },
    { "int_port", GW_CFG_INT, F(int_port), "5060", 1, 65535,
      "INT SIP port (UDP and TCP)" },
    { "internal_target", GW_CFG_STR, F(internal_target), "sip:127.0.0.3:5080", 0, 0,
      "where new requests from EXT are sent (the CTI/PBX)" },
    { "ext_default_route", GW_CFG_STR, F(ext_default_route), "", 0, 0,
      "where new requests from INT addressed to sigd itself are sent (a "
      "trunk), e.g. sip:203.0.113.5:5060; empty = refused with 404" },
    { "nat_keepalive", GW_CFG_INT, F(nat_keepalive), "30", 0, 3600,
      "seconds between the OPTIONS sigd sends to each agent registered "
      "through EXT, to keep its NAT binding open (0 = none)" },
    { "bus_bind", GW_CFG_STR, F(bus_bind), "tcp://127.0.0.1:7700", 0, 0,
      "control-bus endpoint sigd binds for nodes and gwctl" },
    { "bus_secret_key_file", GW_CFG_STR, F(bus_secret_key_file), "", 0, 0,
      "sigd's CURVE secret key (Z85 file, mode 0600; `gwctl keygen`); "
      "empty = plain TCP, allowed on a loopback bus_bind only" },
    { "bus_allowed_keys_dir", GW_CFG_STR, F(bus_allowed_keys_dir), "", 0, 0,
      "directory of NAME.pub public keys of the nodes and gwctl admitted "
      "on the bus (read again when it changes)" },
    { "media_deadline_ms", GW_CFG_INT, F(media_deadline_ms), "2000", 50, 30000,
      "how long a media request to a node may take before the call fails over or gets 503" },
    { "heartbeat_ms", GW_CFG_INT, F(heartbeat_ms), "1000", 100, 60000,
      "heartbeat interval asked of nodes" },
    { "dead_after", GW_CFG_INT, F(dead_after), "3", 1, 100,
      "missed heartbeats after which a node is dead" },
    { "retry_after", GW_CFG_INT, F(retry_after), "5", 0, 3600,
      "Retry-After seconds in a 503 when no media node can take a call" },
    { "ext_srtp", GW_CFG_BOOL, F(ext_srtp), "no", 0, 0,
      "offer SRTP (RTP/SAVP, SDES) to the external party when the internal side calls out; "
      "an external offer is always answered in its own kind" },
    { "int_srtp", GW_CFG_BOOL, F(int_srtp), "no", 0, 0,
      "offer SRTP to the internal platform (default: plain RTP inside)" },
    { "max_message", GW_CFG_INT, F(max_message), "16384", 2048, 65535,
      "largest SIP message accepted, bytes (413 or dropped above)" },
    { "log_level", GW_CFG_LEVEL, F(log_level), "info", 0, 0,
      "err, warn, info or debug" },
    GW_CFG_END
};
