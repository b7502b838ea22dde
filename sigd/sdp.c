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
