/* SRTP suites and contexts: see srtp.h. Keys come from GnuTLS's random
 * generator (GNUTLS_RND_KEY) and are base64-coded with GnuTLS, so that no
 * crypto or encoding is written by hand here. Key material is never
 * logged. */
#include "srtp.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <string.h>

static const struct {
    const char *name;
    md_suite_t suite;
    size_t key_len;   /* master key + salt */
} suites[] = {
    { "AES_CM_128_HMAC_SHA1_80", MD_SUITE_AES_CM_128_HMAC_SHA1_80, 30 },
    { "AES_CM_128_HMAC_SHA1_32", MD_SUITE_AES_CM_128_HMAC_SHA1_32, 30 },
    { "AEAD_AES_128_GCM", MD_SUITE_AEAD_AES_128_GCM, 28 },
};

int md_srtp_global_init(void)
{
    return srtp_init() == srtp_err_status_ok ? 0 : -EIO;
}

void md_srtp_global_free(void)
{
    srtp_shutdown();
}

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
