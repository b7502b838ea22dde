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

/* Sofia 1.12.11 loops forever on an m= line of a non-RTP protocol whose
 * format list holds a byte outside its token set ("m=audio 1 udp 0 (" or
 * "m=audio 1 RT /0"): token() returns NULL without advancing and every
 * turn allocates a list node, until memory is exhausted (19 GB for an
 * 80-byte body). So every m= line must match RFC 4566 before Sofia sees
 * it: media SP port ["/" n] SP proto *(SP fmt), tokens only. Sofia ends a
 * line at CR or LF and, not being strict, skips blanks at its start and
 * after "m=". */
#define TOKEN_CHARS "-!#$%&'*+.^_`{|}~"

static size_t span_token(const char *p, const char *eol)
{
    const char *q = p;

    while (q < eol && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                       (*q >= '0' && *q <= '9') ||
                       (*q != '\0' && strchr(TOKEN_CHARS, *q))))
        q++;
    return (size_t)(q - p);
}

static size_t span_digits(const char *p, const char *eol)
{
    const char *q = p;

    while (q < eol && *q >= '0' && *q <= '9')
        q++;
    return (size_t)(q - p);
}

static const char *skip_blanks(const char *p, const char *eol)
{
    while (p < eol && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

static int media_line_ok(const char *p, const char *eol)
{
    size_t n;

    p = skip_blanks(p, eol);
    if ((n = span_token(p, eol)) == 0 || p + n == eol || p[n] != ' ')
        return 0;
    p = skip_blanks(p + n, eol);
    if ((n = span_digits(p, eol)) == 0)
        return 0;
    p += n;
    if (p < eol && *p == '/') {
        if ((n = span_digits(++p, eol)) == 0)
            return 0;
        p += n;
    }
    if (p == eol || *p != ' ')
        return 0;
    p = skip_blanks(p, eol);
    for (;;) {                              /* proto = token *("/" token) */
        if ((n = span_token(p, eol)) == 0)
            return 0;
        p += n;
        if (p == eol || *p != '/')
            break;
        p++;
    }
    /* 1*(SP fmt): blanks alone after proto also make Sofia loop. */
    if (p == eol || *p != ' ' || skip_blanks(p, eol) == eol)
        return 0;
    while ((p = skip_blanks(p, eol)) < eol) {
        if ((n = span_token(p, eol)) == 0)
            return 0;
        p += n;
    }
    return 1;
}

static int media_lines_ok(const char *body, size_t len)
{
    const char *p = body, *end = body + len, *eol;

    while (p < end) {
        p = skip_blanks(p, end);
        for (eol = p; eol < end && *eol != '\r' && *eol != '\n'; eol++)
            ;
        if (eol - p >= 2 && p[0] == 'm' && p[1] == '=' && !media_line_ok(p + 2, eol))
            return 0;
        for (p = eol; p < end && (*p == '\r' || *p == '\n'); p++)
            ;
    }
    return 1;
}

/* Sofia 1.12.11's parser inverts its "AS" test: b=AS comes back as an
 * unknown modifier named "AS", and every other one but CT (TIAS, RS, RR,
 * X-...) as sdp_bw_as with its name dropped, printed as b=AS. Restore the
 * names from the text; Sofia keeps each section's b= lines in order. */
static void fix_bandwidths(su_home_t *home, sdp_session_t *s,
                           const char *body, size_t len)
{
    sdp_bandwidth_t *b = s->sdp_bandwidths;
    sdp_media_t *m = NULL;
    const char *p = body, *end = body + len;

    while (p < end) {
        const char *eol = p, *colon;

        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        while (eol < end && *eol != '\r' && *eol != '\n')
            eol++;
        if (eol - p >= 2 && p[0] == 'm' && p[1] == '=') {
            m = m ? m->m_next : s->sdp_media;
            b = m ? m->m_bandwidths : NULL;
        } else if (eol - p >= 2 && p[0] == 'b' && p[1] == '=' && b != NULL) {
            colon = memchr(p + 2, ':', (size_t)(eol - p - 2));
            if (colon != NULL && colon > p + 2 && b->b_modifier == sdp_bw_as &&
                span_token(p + 2, colon) == (size_t)(colon - p - 2) &&
                strtoul(colon + 1, NULL, 10) == b->b_value) {
                b->b_modifier = sdp_bw_x;
                b->b_modifier_name = su_strndup(home, p + 2, (size_t)(colon - p - 2));
            }
            b = b->b_next;
        }
        p = eol;
        while (p < end && (*p == '\r' || *p == '\n'))
            p++;
    }
}

/* Leniency as rtpengine's: an a=rtpmap line without a clock rate (RFC 4475's
 * "a=rtpmap:31 LPC") is refused by Sofia's parser, with the whole SDP. We
 * never use or change such a line, so it passes through untouched: it is
 * parsed under another name, as an opaque attribute, and renamed back
 * (unrename_opaque()), so that Sofia prints it as it came. Lines we rewrite
 * (c=, m=, a=rtcp, a=crypto) stay strictly parsed. Returns a copy of body
 * in home with those lines renamed, body itself when there is none, NULL
 * when out of memory. */
#define SIG_SDP_OPAQUE_RTPMAP "x-sigd-opaque-rtpmap"

static int rtpmap_has_rate(const char *v, const char *eol)
{
    const char *slash = memchr(v, '/', (size_t)(eol - v));

    return slash != NULL && slash + 1 < eol && slash[1] >= '0' && slash[1] <= '9';
}

static const char *rename_opaque(su_home_t *home, const char *body, size_t *len)
{
    const char *p = body, *end = body + *len;
    char *out = NULL, *o = NULL;

    while (p < end) {
        const char *eol = p;

        while (eol < end && *eol != '\r' && *eol != '\n')
            eol++;
        if (eol - p > 9 && memcmp(p, "a=rtpmap:", 9) == 0 && !rtpmap_has_rate(p + 9, eol)) {
            if (out == NULL) {
                out = su_alloc(home, *len * 2 + sizeof SIG_SDP_OPAQUE_RTPMAP + 1);
                if (out == NULL)
                    return NULL;
                memcpy(out, body, (size_t)(p - body));
                o = out + (p - body);
            }
            o += sprintf(o, "a=%s:", SIG_SDP_OPAQUE_RTPMAP);
            p += 9;
        }
        while (p < end && (p < eol || *p == '\r' || *p == '\n')) {
            if (out)
                *o++ = *p;
            p++;
        }
    }
    if (out == NULL)
        return body;
    *o = '\0';
    *len = (size_t)(o - out);
    return out;
}

static void unrename_opaque(sdp_session_t *s)
{
    for (sdp_media_t *m = s->sdp_media; m; m = m->m_next)
        for (sdp_attribute_t *a = m->m_attributes; a; a = a->a_next)
            if (a->a_name && strcmp(a->a_name, SIG_SDP_OPAQUE_RTPMAP) == 0)
                a->a_name = "rtpmap";
}

sdp_session_t *sig_sdp_parse(su_home_t *home, const char *body, size_t len,
                             char *err, size_t errlen)
{
    sdp_parser_t *p;
    sdp_session_t *s;

    if (body == NULL || len == 0) {
        snprintf(err, errlen, "empty SDP");
        return NULL;
    }
    if (!media_lines_ok(body, len)) {
        snprintf(err, errlen, "bad SDP: malformed m= line");
        return NULL;
    }
    body = rename_opaque(home, body, &len);
    if (body == NULL) {
        snprintf(err, errlen, "out of memory");
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
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
    } else {
        fix_bandwidths(home, s, body, len);
        unrename_opaque(s);
    }
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
        !su_casematch(proto, "RTP/AVPF") && !su_casematch(proto, "RTP/SAVPF"))
        return 0;   /* not RTP (or UDP/TLS/RTP/SAVPF, RTP/XYZ): leave it alone */
    while (*pp) {
        if (su_casematch((*pp)->a_name, "crypto"))
            *pp = (*pp)->a_next;
        else
            pp = &(*pp)->a_next;
    }
    if (relay->ncrypto == 0) {
        /* Sofia prints a known m_proto by its enum, ignoring the name:
         * the feedback profiles must stay "unknown" to keep their F. */
        m->m_proto = feedback ? sdp_proto_x : sdp_proto_rtp;
        m->m_proto_name = feedback ? "RTP/AVPF" : "RTP/AVP";
        return 0;
    }
    m->m_proto = feedback ? sdp_proto_x : sdp_proto_srtp;
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
            if (end == a->a_value || p == 0 || p > 65535 ||
                (*end != '\0' && *end != ' ')) {
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
    c->c_ttl = 0;
    c->c_mcast = 0;
    c->c_groups = 0;
}

/* ICE attributes describe the party's own candidates: passed on, they
 * would leak its host and reflexive addresses and let the far end run
 * connectivity checks around the relay. The relay anchors the media, so
 * ICE ends here (like rtpengine's ICE=remove). */
static void strip_ice(sdp_attribute_t **list)
{
    static const char *const ice[] = {
        "candidate", "ice-ufrag", "ice-pwd", "ice-options", "ice-lite",
        "ice-mismatch", "end-of-candidates", "remote-candidates", NULL
    };

    while (*list) {
        int drop = 0;
        for (int k = 0; ice[k] && !drop; k++)
            drop = su_casematch((*list)->a_name, ice[k]);
        if (drop)
            *list = (*list)->a_next;
        else
            list = &(*list)->a_next;
    }
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
    strip_ice(&sdp->sdp_attributes);
    for (sdp_media_t *m = sdp->sdp_media; m; m = m->m_next, i++) {
        sdp_attribute_t *a;

        strip_ice(&m->m_attributes);

        if (i >= n) {
            snprintf(err, errlen, "SDP has more streams than relay endpoints");
            return NULL;
        }
        /* A disabled stream keeps port 0 but not its addresses or keys. */
        if (m->m_port != 0)
            m->m_port = relay[i].port;
        m->m_number_of_ports = 0;
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
