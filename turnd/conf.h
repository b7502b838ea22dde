/* turnd's configuration: the [turnd] section's directives, declared here
 * (gw_cfg parses them) over turn_conf_t, plus the checks the table cannot
 * express. */
#ifndef TURN_CONF_H
#define TURN_CONF_H

#include <stddef.h>

#include "cfg.h"
#include "log.h"

typedef struct {
    /* public: set by gw_cfg from turn_conf_directives, read-only after */
    char name[GW_CFG_STRLEN];            /* node name, bus routing id */
    char bus[GW_CFG_STRLEN];             /* sigd's bus endpoint */
    char bus_server_key_file[GW_CFG_STRLEN]; /* CURVE: sigd's public key */
    char bus_secret_key_file[GW_CFG_STRLEN]; /* CURVE: our secret key */

    char listen_addr[GW_CFG_STRLEN];     /* STUN/TURN address, UDP and TCP */
    int port;
    gw_cfg_range_t relay_range;          /* TURN relay ports */
    char advertised_addr[GW_CFG_STRLEN]; /* public address; "" = listen_addr */
    int capacity;                        /* allocations */
    gw_log_level_t log_level;
    /* authentication (auth.c) */
    char realm[GW_CFG_STRLEN];
    char users[GW_CFG_STRLEN];           /* "name:password,..." */
    char rest_secrets[GW_CFG_STRLEN];    /* "secret,..." newest first */
    int nonce_lifetime;                  /* seconds */
    /* allocations (alloc.c, turn.c) */
    int default_lifetime;                /* seconds */
    int max_lifetime;
    int user_quota;                      /* allocations per user, 0 = none */
    int max_bps;                         /* bytes/s per allocation, 0 = none */
    int io_uring;                        /* relay I/O batched (relayq.h) */
    /* safe peers (peer.c) */
    char allowed_peers[GW_CFG_STRLEN];
    char denied_peers[GW_CFG_STRLEN];
    /* TLS (tls.c) */
    int tls_port;                        /* 0 = no TLS listener */
    char tls_cert[GW_CFG_STRLEN];        /* PEM chain, leaf first */
    char tls_key[GW_CFG_STRLEN];
    char tls_priority[GW_CFG_STRLEN];
} turn_conf_t;

/* Directives of section "turnd", offsets into turn_conf_t. */
extern const gw_cfg_directive_t turn_conf_directives[];

/* Cross-field and format checks after loading, and with tls_port set the
 * TLS chain, key and priority string are loaded once: 0, or -EINVAL with a
 * reason in err. */
int turn_conf_check(const turn_conf_t *c, char *err, size_t errlen);
/* The address to advertise: advertised_addr, or listen_addr when empty. */
const char *turn_conf_advertised(const turn_conf_t *c);

#endif
