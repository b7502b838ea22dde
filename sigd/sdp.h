/* SDP handling for the proxy, on Sofia's SDP parser and printer: read the
 * media endpoints of an offer or answer, and rewrite c=, o=, m= ports and
 * a=rtcp so that each side sees the relay's address on its own side. Every
 * other line is left as it was (Sofia re-emits a=rtpmap/a=fmtp first
 * within a media section; mode lines are always printed). */
#ifndef SIG_SDP_H
#define SIG_SDP_H

#include <stddef.h>

#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>

#include "net.h"

#define SIG_SDP_MAX_STREAMS 8

#define SIG_SDP_MAX_CRYPTO 4
#define SIG_SDP_MAX_CLOCKS 6

/* One a=crypto line (RFC 4568) reduced to what a relay needs: the tag, the
 * suite and the inline key||salt in base64 (lifetime dropped; lines with
 * an MKI are skipped, we do not support MKIs). */
typedef struct {
    unsigned tag;
    char suite[40];
    char key[64];
} sig_sdp_crypto_t;

typedef struct {
    char addr[GW_ADDRSTRLEN];
    unsigned port;          /* 0 = stream disabled */
    unsigned rtcp_port;     /* from a=rtcp, 0 = none given */
    int rtcp_mux;
    int savp;               /* m= proto is RTP/SAVP(F): SRTP */
    int hold;               /* sendonly, recvonly, inactive or c=0.0.0.0 */
    unsigned ncrypto;
    sig_sdp_crypto_t crypto[SIG_SDP_MAX_CRYPTO];
    unsigned nclocks;
    struct { unsigned pt, rate; } clocks[SIG_SDP_MAX_CLOCKS];
    int peer_srtp;          /* policy: the leg on the other side speaks SRTP */
} sig_sdp_ep_t;

/* Parses body; returns the session (allocated from home) or NULL with a
 * reason in err. */
sdp_session_t *sig_sdp_parse(su_home_t *home, const char *body, size_t len,
                             char *err, size_t errlen);
/* Fills eps[] with one endpoint per m= line. Returns the number of
 * streams, or -EINVAL (no usable c= line, too many streams, bad a=rtcp). */
int sig_sdp_endpoints(const sdp_session_t *sdp, sig_sdp_ep_t *eps, unsigned max,
                      char *err, size_t errlen);
/* 1 when one of the endpoint's a=crypto suites is one we relay
 * (AES_CM_128_HMAC_SHA1_80/_32, AEAD_AES_128_GCM). */
int sig_sdp_srtp_supported(const sig_sdp_ep_t *ep);
/* Rewrites the session in place to the relay endpoints relay[0..n) and
 * prints it; returns the text (allocated from home) or NULL. Streams with
 * port 0 stay disabled. A relay endpoint with a crypto line makes its
 * stream RTP/SAVP with exactly that a=crypto line; one without makes it
 * plain RTP/AVP with no a=crypto line (SRTP ends at the relay). ICE
 * attributes (a=candidate, a=ice-*) are removed: the relay anchors the
 * media, and candidates would leak the party's addresses. */
char *sig_sdp_rewrite(su_home_t *home, sdp_session_t *sdp,
                      const sig_sdp_ep_t *relay, unsigned n,
                      char *err, size_t errlen);

#endif
