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
    { "ext_listeners", GW_CFG_LIST, F(ext_listeners), "", 0, 0,
      "more EXT listener sets besides ext_addr:ext_port, comma-separated: "
      "sip:ADDR:PORT (UDP and TCP) or sips:ADDR:PORT (TLS, with tls_cert), "
      "e.g. a vendor-monitoring pair sip:203.0.113.10:5070, sips:203.0.113.10:5071" },
    { "int_listeners", GW_CFG_LIST, F(int_listeners), "", 0, 0,
      "more INT listener sets besides int_addr:int_port: sip:ADDR:PORT, comma-separated" },
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
    { "resolv_conf", GW_CFG_STR, F(resolv_conf), "", 0, 0,
      "resolv.conf-style file naming the DNS servers sigd asks for trunks and "
      "other next hops given by name (RFC 3263 NAPTR/SRV/A); empty = /etc/resolv.conf" },
    { "tls_port", GW_CFG_INT, F(tls.port), "5061", 1, 65535,
      "EXT SIP-over-TLS port (listening only when tls_cert is set)" },
    { "tls_cert", GW_CFG_STR, F(tls.cert), "", 0, 0,
      "PEM certificate chain of sigd, leaf first then intermediates (all are "
      "presented); empty = no TLS" },
    { "tls_key", GW_CFG_STR, F(tls.key), "", 0, 0,
      "PEM private key of tls_cert (keep it mode 0600)" },
    { "tls_ca", GW_CFG_STR, F(tls.ca), "/etc/ssl/certs/ca-certificates.crt", 0, 0,
      "CA bundle that trunks' (and clients') chains must verify against" },
    { "tls_min_version", GW_CFG_STR, F(tls.min_version), "1.2", 0, 0,
      "lowest TLS version accepted or offered: 1.2 or 1.3" },
    { "tls_max_version", GW_CFG_STR, F(tls.max_version), "1.3", 0, 0,
      "highest TLS version: 1.2 or 1.3" },
    { "tls_groups", GW_CFG_STR, F(tls.groups), "X25519:P-256:P-384", 0, 0,
      "ECDHE groups, in order of preference (OpenSSL names)" },
    { "tls_ciphers", GW_CFG_STR, F(tls.ciphers),
      "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL", 0, 0,
      "TLS 1.2 cipher list (OpenSSL syntax); forward secrecy only by default" },
    { "tls_ciphersuites", GW_CFG_STR, F(tls.ciphersuites),
      "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256", 0, 0,
      "TLS 1.3 suites (OpenSSL names)" },
    { "tls_verify_clients", GW_CFG_BOOL, F(tls.verify_clients), "no", 0, 0,
      "ask TLS clients for a certificate (mutual TLS); trunks named by TLS "
      "name in [routes] trunks must then present one" },
    { "tls_timeout_ms", GW_CFG_INT, F(tls.timeout_ms), "2000", 100, 32000,
      "an outbound TLS request whose connection failed, or was not "
      "established (handshake done) in this time, goes to the next route" },
    { "topology_hiding", GW_CFG_BOOL, F(topology_hiding), "yes", 0, 0,
      "hide each side's addresses from the other: Via, Record-Route, Route and "
      "Contact show sigd's own address on each side (in-dialog requests are "
      "mapped back per call), hide_headers are removed on EXT" },
    { "topology_hiding_off", GW_CFG_LIST, F(topology_hiding_off), "", 0, 0,
      "trunks ([routes] trunks names, comma-separated) whose calls pass "
      "unhidden, both ways" },
    { "hide_headers", GW_CFG_LIST, F(hide_headers),
      "Server, User-Agent, Organization, Warning, P-Charging-Vector, History-Info, X-*",
      0, 0,
      "headers removed from every message leaving on EXT while hiding applies, "
      "comma-separated, case-insensitive; NAME* is a prefix" },
    { "source_header", GW_CFG_STR, F(source_header), "", 0, 0,
      "an extension header (e.g. X-Source-Address) giving the platform the "
      "address:port a new request from EXT came from; any copy a caller sends "
      "is removed; empty = not sent" },
    { "log_level", GW_CFG_LEVEL, F(log_level), "info", 0, 0,
      "err, warn, info or debug" },
    GW_CFG_END
};
