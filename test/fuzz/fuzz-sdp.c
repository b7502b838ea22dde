/* libFuzzer target for sigd's SDP path (sigd/sdp.c): the input is an SDP
 * body, taken as sigd takes a SIP payload (a length, no terminating NUL).
 * It is parsed, its endpoints read, and it is rewritten to fixed IPv4
 * relay endpoints, the disabled streams kept at port 0 as proxy.c does;
 * odd streams get an SRTP relay (a=crypto), even ones plain RTP.
 * The rewrite also runs when the endpoints were refused, with a full set
 * of relays, so that it is exercised on every session the parser accepts.
 *
 * Beyond the sanitizers (and LSan: everything hangs off one su_home_t that
 * is deinitialised per input) it checks our own promises: an error always
 * comes with a reason, and a rewritten SDP parses again with the same
 * number of streams, each active one on its relay port. */
#include "sdp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *err)
{
    fprintf(stderr, "fuzz-sdp: %s: %s\n", what, err);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    su_home_t home[1];
    sig_sdp_ep_t eps[SIG_SDP_MAX_STREAMS], relay[SIG_SDP_MAX_STREAMS];
    sig_sdp_ep_t back[SIG_SDP_MAX_STREAMS];
    sdp_session_t *sdp, *again;
    char err[256], *text;
    unsigned nrelay;
    int n, m;

    su_home_init(home);
    err[0] = '\0';
    sdp = sig_sdp_parse(home, (const char *)data, size, err, sizeof err);
    if (sdp == NULL) {
        if (err[0] == '\0')
            fail("parse", "refused without a reason");
        goto done;
    }
    err[0] = '\0';
    n = sig_sdp_endpoints(sdp, eps, SIG_SDP_MAX_STREAMS, err, sizeof err);
    if (n < 0 && err[0] == '\0')
        fail("endpoints", "refused without a reason");

    nrelay = n > 0 ? (unsigned)n : SIG_SDP_MAX_STREAMS;
    memset(relay, 0, sizeof relay);
    for (unsigned i = 0; i < nrelay; i++) {
        snprintf(relay[i].addr, sizeof relay[i].addr, "203.0.113.%u", 7 + i);
        relay[i].port = 40000 + 2 * i;
        relay[i].rtcp_port = 40001 + 2 * i;
        if (n > 0 && eps[i].port == 0)
            relay[i].port = 0;
        if (i % 2) {   /* odd streams: SRTP towards this side */
            relay[i].ncrypto = 1;
            relay[i].crypto[0].tag = 1;
            snprintf(relay[i].crypto[0].suite, sizeof relay[i].crypto[0].suite,
                     "AES_CM_128_HMAC_SHA1_80");
            snprintf(relay[i].crypto[0].key, sizeof relay[i].crypto[0].key,
                     "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz");
        }
    }
    err[0] = '\0';
    text = sig_sdp_rewrite(home, sdp, relay, nrelay, err, sizeof err);
    if (text == NULL) {
        if (err[0] == '\0')
            fail("rewrite", "refused without a reason");
        goto done;
    }
    if (n <= 0)
        goto done;

    /* What we print must read back: same streams, relay ports in place. */
    again = sig_sdp_parse(home, text, strlen(text), err, sizeof err);
    if (again == NULL)
        fail("rewritten SDP does not parse", err);
    m = sig_sdp_endpoints(again, back, SIG_SDP_MAX_STREAMS, err, sizeof err);
    if (m != n)
        fail("rewritten SDP has other streams", m < 0 ? err : "count differs");
    for (int i = 0; i < n; i++)
        if (back[i].port != relay[i].port)
            fail("rewritten SDP", "port not the relay's");
done:
    su_home_deinit(home);
    return 0;
}
