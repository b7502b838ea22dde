/* libFuzzer target for sigd's decisions on a parsed SIP message: the input
 * is one message as it would come off the wire, parsed by sigd's agents'
 * parser (Sofia's, with sipparse.c's request line and CSeq), then put
 * through what sigd decides from it:
 *  - the outbound route for the Request-URI user (routes.c: longest
 *    prefix, the RFC 4904 ";tgrp=" selection, the alternatives of a route);
 *  - the destination policy of anti-fraud on the number before the user's
 *    parameters (antifraud.c);
 *  - the flow token of a Route naming sigd's Path (nat.c);
 *  - the SDP body, if any (sdp.c parse and endpoints).
 * Our promises checked besides the sanitizers: an unknown method with '+'
 * or '`' (sipparse.c's, request line or CSeq) is an RFC 3261 token; a
 * route alternative is a sip:/sips: URI with a host, "more" is true
 * exactly when the next alternative exists; a flow hop is a sip: URI with
 * a numeric host and a transport of udp, tcp or tls; everything allocated
 * hangs off one home (LSan). */
#include "sigd.h"
#include "antifraud.h"
#include "nat.h"
#include "routes.h"
#include "sdp.h"
#include "sipparse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_parser.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sig_daemon_t sig;
static int ready;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz-sipmsg: %s\n", what);
    abort();
}

static void setup(void)
{
    snprintf(sig.cfg.ext_addr, sizeof sig.cfg.ext_addr, "203.0.113.1");
    snprintf(sig.cfg.int_addr, sizeof sig.cfg.int_addr, "10.0.0.1");
    sig.cfg.ext_port = sig.cfg.int_port = 5060;
    snprintf(sig.cfg.ext_default_route, sizeof sig.cfg.ext_default_route,
             "sip:198.51.100.9:5060");
    snprintf(sig.routes_cfg.outbound, sizeof sig.routes_cfg.outbound,
             "+41=sips:a.example:5061|sips:b.example:5061|sip:192.0.2.7, "
             "+4144=sip:192.0.2.8, tgrp:tg1=sips:c.example:5061");
    snprintf(sig.af_cfg.allowed_prefixes, sizeof sig.af_cfg.allowed_prefixes, "+41,0041,0");
    snprintf(sig.af_cfg.denied_prefixes, sizeof sig.af_cfg.denied_prefixes, "00");
    snprintf(sig.af_cfg.emergency, sizeof sig.af_cfg.emergency, "112,117,118,144");
    if (sig_routes_start(&sig) < 0)
        fail("routes config refused");
    ready = 1;
}

/* sipparse.c takes the method names with '+' or '`' (Sofia's own parser
 * takes the others, "(" and ")" included): those must be tokens. */
static int method_ok(sip_method_t m, const char *name)
{
    return m != sip_method_unknown || name == NULL || strcspn(name, "+`") == strlen(name) ||
           sig__sip_token(name, strlen(name));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msg_t *msg;
    sip_t *sip;
    su_home_t home[1];

    if (!ready)
        setup();
    msg = msg_make(sig_sipparse_mclass(), 0, data, (isize_t)size);
    sip = msg ? sip_object(msg) : NULL;
    if (sip == NULL || sip->sip_request == NULL) {
        if (msg)
            msg_destroy(msg);
        return 0;
    }
    if (!method_ok(sip->sip_request->rq_method, sip->sip_request->rq_method_name))
        fail("unknown method in the request line: '+' or '`' in a non-token");
    if (sip->sip_cseq && !method_ok(sip->sip_cseq->cs_method, sip->sip_cseq->cs_method_name))
        fail("unknown method in CSeq: '+' or '`' in a non-token");
    su_home_init(home);
    {
        const url_t *ru = sip->sip_request->rq_url;
        const char *user = ru->url_type == url_tel ? ru->url_host : ru->url_user;
        char number[128];

        for (int alt = 0; user && alt < 6; alt++) {
            int more = -1;
            url_t *u = sig_routes_outbound(&sig, home, user, alt, &more);

            if (u == NULL) {
                if (more != 0)
                    fail("no route but more");
                break;
            }
            if ((u->url_type != url_sip && u->url_type != url_sips) || u->url_host == NULL)
                fail("route is not a sip:/sips: URI with a host");
            if (more != 0 && more != 1)
                fail("more is not a flag");
            if (more) {
                int m2;
                if (sig_routes_outbound(&sig, home, user, alt + 1, &m2) == NULL)
                    fail("more said yes, next alternative missing");
            }
        }
        if (user) {
            snprintf(number, sizeof number, "%.*s", (int)strcspn(user, ";"), user);
            (void)sig__af_destination(&sig.af_cfg, number);
        }
    }
    {
        url_t *hop = sig_nat_flow_hop(&sig, home, sip);

        if (hop && (hop->url_type != url_sip || hop->url_host == NULL ||
                    !(url_has_param(hop, "transport=udp") || url_has_param(hop, "transport=tcp") ||
                      url_has_param(hop, "transport=tls"))))
            fail("flow hop is not sip:IP:PORT;transport=udp|tcp|tls");
    }
    if (sip->sip_payload && sip->sip_payload->pl_len) {
        char err[256];
        sig_sdp_ep_t eps[SIG_SDP_MAX_STREAMS];
        sdp_session_t *sdp = sig_sdp_parse(home, sip->sip_payload->pl_data,
                                           sip->sip_payload->pl_len, err, sizeof err);
        if (sdp)
            (void)sig_sdp_endpoints(sdp, eps, SIG_SDP_MAX_STREAMS, err, sizeof err);
    }
    su_home_deinit(home);
    msg_destroy(msg);
    return 0;
}
