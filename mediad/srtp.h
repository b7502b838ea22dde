/* SRTP for mediad: SDES suites (RFC 4568, RFC 7714), key generation and
 * libsrtp2 contexts. A leg that speaks SRTP has two contexts: one to
 * unprotect what its remote party sends (the party's key from its SDP) and
 * one to protect what we send to it (a key this node made, which sigd puts
 * in the SDP it sends to that party). */
#ifndef MD_SRTP_H
#define MD_SRTP_H

#include <stddef.h>
#include <srtp2/srtp.h>

typedef enum {
    MD_SUITE_NONE = 0,
    MD_SUITE_AES_CM_128_HMAC_SHA1_80,
    MD_SUITE_AES_CM_128_HMAC_SHA1_32,
    MD_SUITE_AEAD_AES_128_GCM
} md_suite_t;

#define MD_KEY_B64_LEN 48   /* base64 of the longest key||salt, plus NUL */

int md_srtp_global_init(void);
void md_srtp_global_free(void);
/* MD_SUITE_NONE for a name we do not support. */
md_suite_t md_srtp_suite(const char *name);
const char *md_srtp_suite_name(md_suite_t s);
/* A fresh random key||salt for the suite, base64 into b64. 0 or -errno. */
int md_srtp_make_key(md_suite_t s, char *b64, size_t len);
/* A context for one direction: outbound protects, inbound unprotects.
 * -EINVAL when the key is not valid base64 of the suite's length. */
int md_srtp_create(srtp_t *ctx, md_suite_t s, const char *b64, int outbound);
void md_srtp_destroy(srtp_t *ctx);

#endif
