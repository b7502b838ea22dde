/* SDP reading and rewriting: see sdp.h.
 *
 * The rewrite edits Sofia's parsed structure rather than the text, so that
 * only the fields we own change: the session and media c= addresses, the
 * o= address (internal addresses never leak to the other side), m= ports
 * and the port (and address, when given) of a=rtcp.
 */
#include "sdp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/su_string.h>

sdp_session_t *sig_sdp_parse(su_home_t *home, const char *body, size_t len,
                             char *err, size_t errlen)
{
    sdp_parser_t *p;
    sdp_session_t *s;

    if (body == NULL || len == 0) {
        snprintf(err, errlen, "empty SDP");
        return NULL;
    }
    p = sdp_parse(home, body, (issize_t)len, 0);
    s = sdp_session(p);
    if (s == NULL) {
        snprintf(err, errlen, "bad SDP: %s", sdp_parsing_error(p));
        sdp_parser_free(p);
        return NULL;
    }
    /* The parser's home owns the session; hand it to `home`. */
    s = sdp_session_dup(home, s);
    sdp_parser_free(p);
    if (s == NULL)
        snprintf(err, errlen, "out of memory");
    return s;
}

static const sdp_attribute_t *find_attr(const sdp_attribute_t *a, const char *name)
{
    for (; a; a = a->a_next)
        if (su_casematch(a->a_name, name))
            return a;
    return NULL;
}

/* Parses "TAG SUITE inline:KEY[|lifetime][|MKI:len]" into out.
 * Returns 0, or -EINVAL for a line we cannot use. */
static int parse_crypto(const char *v, sig_sdp_crypto_t *out)
{
    char suite[sizeof out->suite], params[256];
    const char *key;
    unsigned tag;
    size_t klen;

    if (v == NULL || sscanf(v, "%u %39s %255s", &tag, suite, params) != 3)
        return -EINVAL;
    if (strncmp(params, "inline:", 7) != 0)
        return -EINVAL;
    key = params + 7;
    klen = strcspn(key, "|");
    /* |lifetime is fine; a second | means an MKI, which we do not do. */
    if (key[klen] == '|' && strchr(key + klen + 1, '|') != NULL)
        return -EINVAL;
    if (klen == 0 || klen >= sizeof out->key)
        return -EINVAL;
    out->tag = tag;
    strcpy(out->suite, suite);
    memcpy(out->key, key, klen);
    out->key[klen] = '\0';
    return 0;
}

static void read_media_extras(const sdp_media_t *m, const sdp_connection_t *c,
                              sig_sdp_ep_t *ep)
{
    const char *proto = m->m_proto_name ? m->m_proto_name : "";

    ep->savp = m->m_proto == sdp_proto_srtp || strncmp(proto, "RTP/SAVP", 8) == 0;
    ep->hold = m->m_mode != sdp_sendrecv ||
               (c && c->c_address && (strcmp(c->c_address, "0.0.0.0") == 0));
    for (const sdp_attribute_t *a = m->m_attributes; a; a = a->a_next) {
        if (!su_casematch(a->a_name, "crypto") || ep->ncrypto >= SIG_SDP_MAX_CRYPTO)
            continue;
        if (parse_crypto(a->a_value, &ep->crypto[ep->ncrypto]) == 0)
            ep->ncrypto++;
    }
    for (const sdp_rtpmap_t *r = m->m_rtpmaps; r && ep->nclocks < SIG_SDP_MAX_CLOCKS;
         r = r->rm_next) {
        if (r->rm_rate == 0)
            continue;
        ep->clocks[ep->nclocks].pt = r->rm_pt;
        ep->clocks[ep->nclocks].rate = (unsigned)r->rm_rate;
        ep->nclocks++;
    }
}

int sig_sdp_srtp_supported(const sig_sdp_ep_t *ep)
{
    static const char *const ours[] = {
        "AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AEAD_AES_128_GCM"
    };

    for (unsigned i = 0; i < ep->ncrypto; i++)
        for (unsigned k = 0; k < sizeof ours / sizeof ours[0]; k++)
            if (strcmp(ep->crypto[i].suite, ours[k]) == 0)
                return 1;
    return 0;
}

/* Sets the stream's transport to SRTP with exactly our crypto line, or to
 * plain RTP without any: what the party on this side is to speak. */
static int set_srtp(su_home_t *home, sdp_media_t *m, const sig_sdp_ep_t *relay)
{
    const char *proto = m->m_proto_name ? m->m_proto_name : "RTP/AVP";
    int feedback = proto[strlen(proto) - 1] == 'F';   /* AVPF / SAVPF */
    sdp_attribute_t **pp = &m->m_attributes, *a;

    if (m->m_proto != sdp_proto_rtp && m->m_proto != sdp_proto_srtp &&
        strncmp(proto, "RTP/", 4) != 0)
        return 0;   /* not RTP: leave it alone */
    while (*pp) {
        if (su_casematch((*pp)->a_name, "crypto"))
            *pp = (*pp)->a_next;
        else
            pp = &(*pp)->a_next;
    }
    if (relay->ncrypto == 0) {
        m->m_proto = sdp_proto_rtp;
        m->m_proto_name = feedback ? "RTP/AVPF" : "RTP/AVP";
        return 0;
    }
    m->m_proto = sdp_proto_srtp;
    m->m_proto_name = feedback ? "RTP/SAVPF" : "RTP/SAVP";
    a = su_zalloc(home, sizeof *a);
    if (a == NULL)
        return -ENOMEM;
    a->a_size = sizeof *a;
    a->a_name = "crypto";
    a->a_value = su_sprintf(home, "%u %s inline:%s", relay->crypto[0].tag,
                            relay->crypto[0].suite, relay->crypto[0].key);
    if (a->a_value == NULL)
        return -ENOMEM;
    *pp = a;   /* pp points at the list's end */
    return 0;
}

int sig_sdp_endpoints(const sdp_session_t *sdp, sig_sdp_ep_t *eps, unsigned max,
                      char *err, size_t errlen)
{
    unsigned n = 0;

    for (const sdp_media_t *m = sdp->sdp_media; m; m = m->m_next, n++) {
        const sdp_connection_t *c = m->m_connections ? m->m_connections
                                                     : sdp->sdp_connection;
        const sdp_attribute_t *a;
        sig_sdp_ep_t *ep = &eps[n];

        if (n >= max) {
            snprintf(err, errlen, "more than %u media streams", max);
            return -EINVAL;
        }
        memset(ep, 0, sizeof *ep);
        ep->port = (unsigned)m->m_port;
        if (m->m_port == 0)
            continue;
        if (c == NULL || c->c_address == NULL) {
            snprintf(err, errlen, "m= line %u has no c= address", n);
            return -EINVAL;
        }
        if (strlen(c->c_address) >= sizeof ep->addr) {
            snprintf(err, errlen, "c= address too long");
            return -EINVAL;
        }
        strcpy(ep->addr, c->c_address);
        if (m->m_port > 65535) {
            snprintf(err, errlen, "m= port %lu out of range", m->m_port);
            return -EINVAL;
        }
        ep->rtcp_mux = find_attr(m->m_attributes, "rtcp-mux") != NULL;
        read_media_extras(m, c, ep);
        a = find_attr(m->m_attributes, "rtcp");
        if (a != NULL) {
            char *end;
            unsigned long p = strtoul(a->a_value ? a->a_value : "", &end, 10);
            if (end == a->a_value || p == 0 || p > 65535) {
                snprintf(err, errlen, "bad a=rtcp value");
                return -EINVAL;
            }
            ep->rtcp_port = (unsigned)p;
        }
    }
    return (int)n;
}

static void set_conn(su_home_t *home, sdp_connection_t *c, const char *addr)
{
    c->c_nettype = sdp_net_in;
    c->c_addrtype = strchr(addr, ':') ? sdp_addr_ip6 : sdp_addr_ip4;
    c->c_address = su_strdup(home, addr);
}

char *sig_sdp_rewrite(su_home_t *home, sdp_session_t *sdp,
                      const sig_sdp_ep_t *relay, unsigned n,
                      char *err, size_t errlen)
{
    sdp_printer_t *pr;
    char *text;
    unsigned i = 0;

    if (n == 0) {
        snprintf(err, errlen, "no relay endpoints");
        return NULL;
    }
    if (sdp->sdp_connection)
        set_conn(home, sdp->sdp_connection, relay[0].addr);
    if (sdp->sdp_origin && sdp->sdp_origin->o_address)
        set_conn(home, sdp->sdp_origin->o_address, relay[0].addr);
    for (sdp_media_t *m = sdp->sdp_media; m; m = m->m_next, i++) {
        sdp_attribute_t *a;

        if (i >= n) {
            snprintf(err, errlen, "SDP has more streams than relay endpoints");
            return NULL;
        }
        if (m->m_port == 0)
            continue;
        m->m_port = relay[i].port;
        for (sdp_connection_t *c = m->m_connections; c; c = c->c_next)
            set_conn(home, c, relay[i].addr);
        if (set_srtp(home, m, &relay[i]) < 0) {
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
        for (a = m->m_attributes; a; a = a->a_next) {
            if (!su_casematch(a->a_name, "rtcp"))
                continue;
            /* "port" or "port IN IP4 addr": keep the form, our values. */
            if (a->a_value && strchr(a->a_value, ' '))
                a->a_value = su_sprintf(home, "%u IN %s %s", relay[i].rtcp_port,
                                        strchr(relay[i].addr, ':') ? "IP6" : "IP4",
                                        relay[i].addr);
            else
                a->a_value = su_sprintf(home, "%u", relay[i].rtcp_port);
        }
    }
    pr = sdp_print(home, sdp, NULL, 0, sdp_f_mode_always);
    if (pr == NULL || sdp_printing_error(pr)) {
        snprintf(err, errlen, "cannot print SDP: %s",
                 pr ? sdp_printing_error(pr) : "out of memory");
        if (pr)
            sdp_printer_free(pr);
        return NULL;
    }
    text = su_strdup(home, sdp_message(pr));
    sdp_printer_free(pr);
    return text;
}
