/* SIP over TLS on EXT.
 *
 * The TLS connections are Sofia's own (tport_tls on OpenSSL 3), so a
 * message over TLS goes through the same nta agent, transactions, Path
 * flows, anti-fraud and trunk recognition as one over UDP or TCP, and
 * in-dialog requests find their connection the way TCP ones do. What
 * Debian's Sofia-SIP 1.12.11 lacks is the policy: it has no tag for
 * versions, groups or ciphers (TPTAG_TLS_VERSION does nothing), hard-wires
 * the cipher list "ALL:!ADH:!LOW:!EXP:!MD5:@STRENGTH", loads only the leaf
 * of the certificate file, and reports a failed outbound handshake to nta
 * only as a 408 when timer B fires (32 s).
 *
 * So sigd wraps the OpenSSL calls Sofia makes to build its contexts (no
 * other code in sigd uses OpenSSL; the real functions come from
 * dlsym(RTLD_NEXT)), and only once sig_tls_setup() armed a policy:
 *  - SSL_CTX_new: minimum and maximum version, groups (ECDHE curves),
 *    TLS 1.3 suites, no renegotiation, no compression, server preference;
 *  - SSL_CTX_set_cipher_list: tls_ciphers instead of Sofia's list;
 *  - SSL_CTX_set_verify: OpenSSL's chain check for clients' certificates
 *    (tls_verify_clients), instead of Sofia's callback;
 *  - SSL_CTX_use_certificate_file / SSL_CTX_use_PrivateKey_file /
 *    SSL_CTX_load_verify_locations: the configured chain (leaf first, all
 *    of it presented), key and CA bundle, whatever file names Sofia's
 *    certificate directory convention would use;
 *  - SSL_load_client_CA_file: no CA names from that directory in
 *    certificate requests;
 *  - SSL_shutdown: frees the SSL that Sofia's tls_free() leaks;
 *  - SSL_connect: a failed outbound handshake (untrusted chain, wrong
 *    name, old version, alert) is noted with its peer address and reason;
 *    proxy.c polls the transport of every request sent over TLS and fails
 *    it over to the next route within tls_timeout_ms (sig_tls_failure()).
 * The peer's name is checked against the host dialled by OpenSSL itself
 * (SSL_set1_host from the SNI name Sofia sets), DNS SANs or CN only: an
 * IP address is never accepted as a name.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "siptls.h"
#include "cfg.h"
#include "log.h"

#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net.h"

#define FAIL_SLOTS 32

static struct {
    int active;
    int min, max;
    int verify_clients;
    int ex_idx;                  /* our mark on an SSL: name check armed */
    char groups[GW_CFG_STRLEN];
    char ciphers[GW_CFG_STRLEN];
    char suites[GW_CFG_STRLEN];
    char cert[GW_CFG_STRLEN];
    char key[GW_CFG_STRLEN];
    char ca[GW_CFG_STRLEN];
} pol;

/* Recent outbound handshakes, newest overwriting the oldest: the failures
 * with their reason, the successes with the names the peer's certificate
 * carries (Sofia checks them against the host dialled afterwards, and
 * closes the connection on a mismatch). */
static struct {
    struct sockaddr_storage addr;
    long long at_ms;
    int ok;
    char reason[160];
} fails[FAIL_SLOTS];
static unsigned nfail;

long long sig_tls_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *real(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);

    if (p == NULL) {
        GW_ERR("tls: OpenSSL's %s not found: %s", name, dlerror());
        _exit(1);
    }
    return p;
}

#define REAL(type, name) \
    static type real_##name; \
    if (real_##name == NULL) \
        real_##name = (type)real(#name)

/* ---- the wrapped calls ----------------------------------------------- */

typedef SSL_CTX *(*ctx_new_f)(const SSL_METHOD *);
typedef int (*cipher_list_f)(SSL_CTX *, const char *);
typedef int (*use_file_f)(SSL_CTX *, const char *, int);
typedef int (*verify_loc_f)(SSL_CTX *, const char *, const char *);
typedef int (*connect_f)(SSL *);
typedef int (*shutdown_f)(SSL *);
typedef void (*set_verify_f)(SSL_CTX *, int, SSL_verify_cb);
typedef STACK_OF(X509_NAME) *(*load_ca_names_f)(const char *);

static int apply(SSL_CTX *ctx, char *err, size_t errlen)
{
    const char *what = NULL;

    if (!SSL_CTX_set_min_proto_version(ctx, pol.min))
        what = "tls_min_version";
    else if (!SSL_CTX_set_max_proto_version(ctx, pol.max))
        what = "tls_max_version";
    else if (pol.groups[0] && !SSL_CTX_set1_groups_list(ctx, pol.groups))
        what = "tls_groups";
    else if (pol.suites[0] && !SSL_CTX_set_ciphersuites(ctx, pol.suites))
        what = "tls_ciphersuites";
    if (what) {
        snprintf(err, errlen, "%s: [sigd] %s: not accepted by OpenSSL (%s)",
                 gw_cfg_where("sigd", what), what,
                 ERR_reason_error_string(ERR_get_error()));
        ERR_clear_error();
        return -1;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE);
    return 0;
}

SSL_CTX *SSL_CTX_new(const SSL_METHOD *method)
{
    REAL(ctx_new_f, SSL_CTX_new);
    SSL_CTX *ctx = real_SSL_CTX_new(method);
    char err[256];

    if (ctx && pol.active && apply(ctx, err, sizeof err) < 0) {
        GW_ERR("tls: %s", err);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int SSL_CTX_set_cipher_list(SSL_CTX *ctx, const char *list)
{
    REAL(cipher_list_f, SSL_CTX_set_cipher_list);
    return real_SSL_CTX_set_cipher_list(ctx, pol.active && pol.ciphers[0] ? pol.ciphers
                                                                          : list);
}

int SSL_CTX_use_certificate_file(SSL_CTX *ctx, const char *file, int type)
{
    REAL(use_file_f, SSL_CTX_use_certificate_file);
    if (pol.active)
        return SSL_CTX_use_certificate_chain_file(ctx, pol.cert);
    return real_SSL_CTX_use_certificate_file(ctx, file, type);
}

int SSL_CTX_use_PrivateKey_file(SSL_CTX *ctx, const char *file, int type)
{
    REAL(use_file_f, SSL_CTX_use_PrivateKey_file);
    if (pol.active)
        return real_SSL_CTX_use_PrivateKey_file(ctx, pol.key, SSL_FILETYPE_PEM);
    return real_SSL_CTX_use_PrivateKey_file(ctx, file, type);
}

int SSL_CTX_load_verify_locations(SSL_CTX *ctx, const char *file, const char *path)
{
    REAL(verify_loc_f, SSL_CTX_load_verify_locations);
    if (pol.active)
        return real_SSL_CTX_load_verify_locations(ctx, pol.ca, NULL);
    return real_SSL_CTX_load_verify_locations(ctx, file, path);
}

/* Sofia fills the list of CA names sent with a certificate request from
 * cafile.pem in its certificate directory. Under a policy the list stays
 * empty, whatever lies next to tls_cert, on every TLS listener alike:
 * clients are asked without hints and the chain they present is checked
 * against tls_ca (SSL_CTX_set_verify below). OpenSSL takes an empty list
 * from SSL_CTX_set_client_CA_list(ctx, NULL). */
STACK_OF(X509_NAME) *SSL_load_client_CA_file(const char *file)
{
    REAL(load_ca_names_f, SSL_load_client_CA_file);
    if (pol.active)
        return NULL;
    return real_SSL_load_client_CA_file(file);
}

/* Server side: clients are asked for a certificate only with
 * tls_verify_clients, and one that presents none is still served (mutual
 * TLS is per peer: routes.c takes a trunk by TLS name only from a verified
 * chain); a chain that is presented must verify against tls_ca. OpenSSL's
 * own check, not Sofia's callback, which accepts anything unless Sofia's
 * policy asks otherwise. Client side: see SSL_connect(). */
void SSL_CTX_set_verify(SSL_CTX *ctx, int mode, SSL_verify_cb cb)
{
    REAL(set_verify_f, SSL_CTX_set_verify);
    if (pol.active)
        real_SSL_CTX_set_verify(ctx, pol.verify_clients ? SSL_VERIFY_PEER
                                                        : SSL_VERIFY_NONE, NULL);
    else
        real_SSL_CTX_set_verify(ctx, mode, cb);
}

static void note_handshake(SSL *ssl, int ok, const char *reason)
{
    unsigned i = nfail++ % FAIL_SLOTS;
    socklen_t len = sizeof fails[i].addr;
    int fd = SSL_get_fd(ssl);

    memset(&fails[i].addr, 0, sizeof fails[i].addr);
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&fails[i].addr, &len) < 0) {
        nfail--;
        return;
    }
    fails[i].at_ms = sig_tls_now_ms();
    fails[i].ok = ok;
    snprintf(fails[i].reason, sizeof fails[i].reason, "%s", reason);
}

/* "DNS:a, DNS:b" of the peer's certificate (CN when it has no SAN). */
static const char *peer_names(SSL *ssl)
{
    static char buf[160];
    X509 *cert = SSL_get0_peer_certificate(ssl);
    GENERAL_NAMES *gens;
    size_t n = 0;

    buf[0] = '\0';
    if (cert == NULL)
        return "no certificate";
    gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && n < sizeof buf; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        int w = 0;

        if (g->type == GEN_DNS)
            w = snprintf(buf + n, sizeof buf - n, "%sDNS:%s", n ? ", " : "",
                         (const char *)ASN1_STRING_get0_data(g->d.dNSName));
        else if (g->type == GEN_IPADD)
            w = snprintf(buf + n, sizeof buf - n, "%sIP address", n ? ", " : "");
        if (w > 0)
            n += (size_t)w;
    }
    GENERAL_NAMES_free(gens);
    if (n == 0)
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf,
                                  sizeof buf);
    return buf;
}

int SSL_connect(SSL *ssl)
{
    REAL(connect_f, SSL_connect);
    int rc, e;

    if (pol.active && SSL_get_ex_data(ssl, pol.ex_idx) == NULL) {
        /* First call for this connection: the peer must be the host we
         * dialled, by DNS name (SNI carries it; no SNI, no name match). */
        const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

        SSL_set_ex_data(ssl, pol.ex_idx, (void *)1);
        SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
        GW_DEBUG("tls: connecting, SNI %s", name ? name : "(none)");
        if (name) {
            SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            SSL_set1_host(ssl, name);
        }
    }
    rc = real_SSL_connect(ssl);
    if (rc <= 0 && pol.active) {
        e = SSL_get_error(ssl, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            long v = SSL_get_verify_result(ssl);
            char why[160];
            unsigned long q = ERR_peek_error();

            if (v != X509_V_OK)
                snprintf(why, sizeof why, "certificate: %s",
                         X509_verify_cert_error_string(v));
            else
                snprintf(why, sizeof why, "handshake: %s",
                         q ? ERR_reason_error_string(q) : "connection closed");
            note_handshake(ssl, 0, why);
        }
    } else if (rc == 1 && pol.active) {
        note_handshake(ssl, 1, peer_names(ssl));
    }
    return rc;
}

/* Sofia 1.12.11's tls_free() of a connection (the only caller of
 * SSL_shutdown in sigd) shuts the SSL down, then calls SSL_CTX_free() on
 * the shared context (its connections carry the master's type) and
 * BIO_free() on the socket BIO it gave the SSL, and never frees the SSL:
 * about 50 KB lost per TLS connection (LeakSanitizer, test-tls). The SSL
 * is freed here, after a reference is taken on its BIO and on its context
 * so that the two frees Sofia makes next release what the SSL held
 * (rbio and wbio are the same BIO). */
int SSL_shutdown(SSL *ssl)
{
    REAL(shutdown_f, SSL_shutdown);
    int rc = real_SSL_shutdown(ssl);

    if (pol.active && ssl) {
        BIO *b = SSL_get_rbio(ssl);
        SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);

        if (b && b == SSL_get_wbio(ssl) && ctx && BIO_up_ref(b)) {
            if (SSL_CTX_up_ref(ctx))
                SSL_free(ssl);
            else
                BIO_free(b);
        }
    }
    return rc;
}

/* ---- set-up ----------------------------------------------------------- */

static int version(const char *v, int *out)
{
    if (strcmp(v, "1.2") == 0)
        *out = TLS1_2_VERSION;
    else if (strcmp(v, "1.3") == 0)
        *out = TLS1_3_VERSION;
    else
        return -1;
    return 0;
}

static int readable(const char *what, const char *path, char *err, size_t errlen)
{
    return gw_cfg_readable("sigd", what, path, "required with tls_cert", err, errlen) < 0 ? -1 : 0;
}

int sig_tls_setup(const sig_tls_config_t *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx;
    int rc = -1, bad_min;

    if (cfg->cert[0] == '\0')
        return 0;
    memset(&pol, 0, sizeof pol);
    bad_min = version(cfg->min_version, &pol.min) < 0;
    if (bad_min || version(cfg->max_version, &pol.max) < 0 || pol.min > pol.max) {
        snprintf(err, errlen, "%s: [sigd] tls_min_version/tls_max_version: '%s'/'%s': "
                 "want 1.2 or 1.3, min <= max",
                 gw_cfg_where("sigd", bad_min ? "tls_min_version" : "tls_max_version"),
                 cfg->min_version, cfg->max_version);
        return -1;
    }
    if (readable("tls_cert", cfg->cert, err, errlen) < 0 ||
        readable("tls_key", cfg->key, err, errlen) < 0 ||
        readable("tls_ca", cfg->ca, err, errlen) < 0)
        return -1;
    snprintf(pol.groups, sizeof pol.groups, "%s", cfg->groups);
    snprintf(pol.ciphers, sizeof pol.ciphers, "%s", cfg->ciphers);
    snprintf(pol.suites, sizeof pol.suites, "%s", cfg->ciphersuites);
    snprintf(pol.cert, sizeof pol.cert, "%s", cfg->cert);
    snprintf(pol.key, sizeof pol.key, "%s", cfg->key);
    snprintf(pol.ca, sizeof pol.ca, "%s", cfg->ca);
    pol.verify_clients = cfg->verify_clients;
    pol.ex_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);

    /* Try the whole policy on a context of our own first, so that a typo
     * stops the start with its directive instead of a Sofia failure. */
    pol.active = 0;
    ctx = SSL_CTX_new(TLS_method());
    if (ctx == NULL) {
        snprintf(err, errlen, "tls: SSL_CTX_new failed");
        return -1;
    }
    if (apply(ctx, err, errlen) < 0)
        goto out;
    if (pol.ciphers[0] && !SSL_CTX_set_cipher_list(ctx, pol.ciphers)) {
        snprintf(err, errlen, "%s: [sigd] tls_ciphers: '%s': no usable cipher",
                 gw_cfg_where("sigd", "tls_ciphers"), pol.ciphers);
        goto out;
    }
    if (!SSL_CTX_use_certificate_chain_file(ctx, pol.cert)) {
        snprintf(err, errlen, "%s: [sigd] tls_cert: %s: not a PEM certificate chain (%s)",
                 gw_cfg_where("sigd", "tls_cert"), pol.cert, ERR_reason_error_string(ERR_peek_error()));
        goto out;
    }
    if (!SSL_CTX_use_PrivateKey_file(ctx, pol.key, SSL_FILETYPE_PEM) ||
        !SSL_CTX_check_private_key(ctx)) {
        snprintf(err, errlen, "%s: [sigd] tls_key: %s: not the key of tls_cert (%s)",
                 gw_cfg_where("sigd", "tls_key"), pol.key, ERR_reason_error_string(ERR_peek_error()));
        goto out;
    }
    if (!SSL_CTX_load_verify_locations(ctx, pol.ca, NULL)) {
        snprintf(err, errlen, "%s: [sigd] tls_ca: %s: no PEM certificates (%s)",
                 gw_cfg_where("sigd", "tls_ca"), pol.ca,
                 ERR_reason_error_string(ERR_peek_error()));
        goto out;
    }
    rc = 0;
    pol.active = 1;
out:
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return rc;
}

int sig_tls_enabled(void)
{
    return pol.active;
}

const char *sig_tls_failure(const struct sockaddr *addr, long long since_ms,
                            int closed)
{
    static char why[200];
    unsigned n = nfail < FAIL_SLOTS ? nfail : FAIL_SLOTS;

    for (unsigned k = 0; k < n; k++) {
        unsigned i = (nfail - 1 - k) % FAIL_SLOTS;
        if (fails[i].at_ms < since_ms ||
            !gw_addr_eq((const struct sockaddr *)&fails[i].addr, addr))
            continue;
        if (!fails[i].ok)
            return fails[i].reason;
        if (!closed)
            return NULL;
        snprintf(why, sizeof why, "certificate names (%s) do not match the host "
                 "dialled", fails[i].reason);
        return why;
    }
    return closed ? "connection closed" : NULL;
}
