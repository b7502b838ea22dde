/* SIP over TLS on EXT: Sofia's TLS transport with our policy (siptls.c).
 *
 * Header kept free of Sofia's magic types, like routes.h.
 */
#ifndef SIG_SIPTLS_H
#define SIG_SIPTLS_H

#include <stddef.h>
#include <sys/socket.h>

#include "cfg.h"

typedef struct {
    int port;                          /* EXT TLS port; used when cert is set */
    char cert[GW_CFG_STRLEN];          /* PEM chain, leaf first */
    char key[GW_CFG_STRLEN];           /* PEM private key */
    char ca[GW_CFG_STRLEN];            /* CA bundle for peers' chains */
    char min_version[GW_CFG_STRLEN];   /* "1.2" or "1.3" */
    char max_version[GW_CFG_STRLEN];
    char groups[GW_CFG_STRLEN];        /* OpenSSL groups list */
    char ciphers[GW_CFG_STRLEN];       /* TLS 1.2 cipher list (OpenSSL syntax) */
    char ciphersuites[GW_CFG_STRLEN];  /* TLS 1.3 suites */
    int verify_clients;                /* ask clients for a certificate (mutual TLS) */
    int timeout_ms;                    /* outbound: connect + first answer */
} sig_tls_config_t;   /* [sigd] tls_* directives (config.c) */

/* Checks the policy (versions, groups, ciphers, files) and arms it for the
 * OpenSSL contexts Sofia makes from now on. 0, or -1 with the reason in
 * err. Only when cfg->cert is set; otherwise TLS stays off and 0. */
int sig_tls_setup(const sig_tls_config_t *cfg, char *err, size_t errlen);

/* 1 once sig_tls_setup() armed the policy. */
int sig_tls_enabled(void);

/* Why an outbound TLS connection to addr, made at or after since
 * (monotonic ms), failed: its handshake's error; or, when Sofia closed it
 * (closed = 1) after a handshake that passed, the peer's names that did
 * not match the host dialled; NULL while nothing failed. */
const char *sig_tls_failure(const struct sockaddr *addr, long long since_ms,
                            int closed);

/* Monotonic milliseconds, the clock of sig_tls_failure(). */
long long sig_tls_now_ms(void);

#endif
