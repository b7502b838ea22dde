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

typedef struct {
    char addr[GW_ADDRSTRLEN];
    unsigned port;          /* 0 = stream disabled */
    unsigned rtcp_port;     /* from a=rtcp, 0 = none given */
    int rtcp_mux;
} sig_sdp_ep_t;

/* Parses body; returns the session (allocated from home) or NULL with a
 * reason in err. */
sdp_session_t *sig_sdp_parse(su_home_t *home, const char *body, size_t len,
                             char *err, size_t errlen);
/* Fills eps[] with one endpoint per m= line. Returns the number of
 * streams, or -EINVAL (no usable c= line, too many streams, bad a=rtcp). */
int sig_sdp_endpoints(const sdp_session_t *sdp, sig_sdp_ep_t *eps, unsigned max,
                      char *err, size_t errlen);
/* Rewrites the session in place to the relay endpoints relay[0..n) and
 * prints it; returns the text (allocated from home) or NULL. Streams with
 * port 0 stay disabled. */
char *sig_sdp_rewrite(su_home_t *home, sdp_session_t *sdp,
                      const sig_sdp_ep_t *relay, unsigned n,
                      char *err, size_t errlen);

#endif
