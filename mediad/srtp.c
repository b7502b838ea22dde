/* SRTP suites and contexts: see srtp.h. Keys come from GnuTLS's random
 * generator (GNUTLS_RND_KEY) and are base64-coded with GnuTLS, so that no
 * crypto or encoding is written by hand here. Key material is never
 * logged.
 *
 * Which libsrtp2 is linked is a build choice (Makefile, SRTP=): by default
 * Debian's libsrtp2 source built on OpenSSL (deploy/libsrtp2-openssl.sh),
 * which needs no set-up beyond srtp_init(); with SRTP=system Debian's
 * binary libsrtp2, whose crypto is NSS (GW_SRTP_NSS), and NSS is then
 * initialised here, before srtp_init(), for speed: see
 * md_srtp_global_init(). */
#include "srtp.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <string.h>

#include "log.h"

#ifdef GW_SRTP_NSS
#include <nss.h>

/* Our reference on NSS, held from md_srtp_global_init() to
 * md_srtp_global_free(); libsrtp2 takes one per cipher on top of it. */
static NSSInitContext *nss_ctx;
#else
#include <openssl/crypto.h>
#endif

static const struct {
    const char *name;
    md_suite_t suite;
    size_t key_len;   /* master key + salt */
} suites[] = {
    { "AES_CM_128_HMAC_SHA1_80", MD_SUITE_AES_CM_128_HMAC_SHA1_80, 30 },
    { "AES_CM_128_HMAC_SHA1_32", MD_SUITE_AES_CM_128_HMAC_SHA1_32, 30 },
    { "AEAD_AES_128_GCM", MD_SUITE_AEAD_AES_128_GCM, 28 },
};

#ifdef GW_SRTP_NSS
/* Why NSS is initialised here: libsrtp2's NSS back end (aes_icm_nss.c,
 * aes_gcm_nss.c, hmac_nss.c) calls NSS_InitContext() for every cipher and
 * HMAC it allocates, with NSS_INIT_OPTIMIZESPACE. The first such call, in
 * srtp_init()'s self-tests, loads NSS's softoken with that flag, which sizes
 * the softoken's session and session-object hash tables at 32 buckets
 * (1024 otherwise) behind a single session lock. Every PKCS#11 context and
 * key of every SRTP context is a softoken session or session object, and
 * AES-CM opens and closes a session per packet, so with thousands of live
 * contexts each packet walked chains hundreds long: srtpscale measured 5-7
 * us per protect+unprotect at 2 contexts and 40-70 us at 2,000 (AES-CM),
 * 17-26 us at 2,000 with this initialisation (test/bench/srtpscale.c). When
 * NSS is already initialised, a later NSS_InitContext() with NOCERTDB and
 * NOMODDB skips loading modules (nssinit.c), so the softoken keeps the
 * table sizes of this first initialisation, made without OPTIMIZESPACE: no
 * databases, nothing written, read-only. The context form rather than
 * NSS_Initialize() so that our reference is released like libsrtp2's.
 * What remains is the NSS back end itself (a PKCS#11 session opened per
 * AES-CM packet, ~27 KB per AES-CM context, a dealloc that scans NSS's
 * list of init contexts, 280-440 us at 2,000 contexts), which is why the
 * default build links the same libsrtp2 source built on OpenSSL instead:
 * 1.5 -> 2.4-3.1 us, ~4 KB and a ~4 us dealloc per context at 2 -> 2,000
 * contexts (issue #3; README, "SRTP crypto back end"). */
int md_srtp_global_init(void)
{
    if (nss_ctx == NULL) {
        nss_ctx = NSS_InitContext("", "", "", "", NULL,
                                  NSS_INIT_READONLY | NSS_INIT_NOCERTDB |
                                  NSS_INIT_NOMODDB | NSS_INIT_FORCEOPEN |
                                  NSS_INIT_NOROOTINIT);
        if (nss_ctx == NULL)
            return -EIO;
    }
    if (srtp_init() != srtp_err_status_ok) {
        NSS_ShutdownContext(nss_ctx);
        nss_ctx = NULL;
        return -EIO;
    }
    GW_INFO("SRTP: %s, crypto NSS %s (Debian's libsrtp2 package, SRTP=system)",
            srtp_get_version_string(), NSS_GetVersion());
    return 0;
}

/* After every srtp_dealloc(): libsrtp2's ciphers hold NSS references. */
void md_srtp_global_free(void)
{
    srtp_shutdown();
    if (nss_ctx != NULL)
        NSS_ShutdownContext(nss_ctx);
    nss_ctx = NULL;
}
#else
/* libsrtp2 on OpenSSL: each cipher and HMAC of an SRTP context is an EVP
 * context made with it, and a packet costs EVP calls only (no token
 * session, no lock); OpenSSL 3 initialises itself on first use, so there
 * is nothing to set up here. libsrtp2 is linked statically, libcrypto is
 * Debian's shared one: the log line names the versions of both. */
int md_srtp_global_init(void)
{
    if (srtp_init() != srtp_err_status_ok)
        return -EIO;
    GW_INFO("SRTP: %s, crypto %s (built from Debian's libsrtp2 source)",
            srtp_get_version_string(), OpenSSL_version(OPENSSL_VERSION));
    return 0;
}

void md_srtp_global_free(void)
{
    srtp_shutdown();
}
#endif

md_suite_t md_srtp_suite(const char *name)
{
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (strcmp(suites[i].name, name) == 0)
            return suites[i].suite;
    return MD_SUITE_NONE;
}

const char *md_srtp_suite_name(md_suite_t s)
{
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (suites[i].suite == s)
            return suites[i].name;
    return "NONE";
}

static size_t key_len(md_suite_t s)
{
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (suites[i].suite == s)
            return suites[i].key_len;
    return 0;
}

int md_srtp_make_key(md_suite_t s, char *b64, size_t len)
{
    unsigned char key[32];
    gnutls_datum_t raw, out = { NULL, 0 };
    size_t n = key_len(s);
    int rc = -EINVAL;

    if (n == 0)
        return -EINVAL;
    if (gnutls_rnd(GNUTLS_RND_KEY, key, n) < 0)
        return -EIO;
    raw.data = key;
    raw.size = (unsigned)n;
    if (gnutls_base64_encode2(&raw, &out) == 0 && out.size < len) {
        memcpy(b64, out.data, out.size);
        b64[out.size] = '\0';
        rc = 0;
    }
    gnutls_memset(key, 0, sizeof key);
    gnutls_free(out.data);
    return rc;
}

int md_srtp_create(srtp_t *ctx, md_suite_t s, const char *b64, int outbound)
{
    gnutls_datum_t in, raw = { NULL, 0 };
    srtp_policy_t pol;
    int rc = -EINVAL;

    *ctx = NULL;
    in.data = (unsigned char *)b64;
    in.size = (unsigned)strlen(b64);
    if (gnutls_base64_decode2(&in, &raw) < 0)
        return -EINVAL;
    if (raw.size != key_len(s))
        goto out;
    memset(&pol, 0, sizeof pol);
    switch (s) {
    case MD_SUITE_AES_CM_128_HMAC_SHA1_80:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
        break;
    case MD_SUITE_AES_CM_128_HMAC_SHA1_32:
        /* RFC 4568: SRTCP keeps the 80-bit tag with this suite. */
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
        break;
    case MD_SUITE_AEAD_AES_128_GCM:
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
        break;
    default:
        goto out;
    }
    pol.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    pol.key = raw.data;
    pol.window_size = 1024;
    pol.allow_repeat_tx = 0;
    pol.next = NULL;
    rc = srtp_create(ctx, &pol) == srtp_err_status_ok ? 0 : -EINVAL;
    if (rc < 0)
        *ctx = NULL;
out:
    gnutls_memset(raw.data, 0, raw.size);
    gnutls_free(raw.data);
    return rc;
}

void md_srtp_destroy(srtp_t *ctx)
{
    if (*ctx)
        srtp_dealloc(*ctx);
    *ctx = NULL;
}
