/* Topology hiding: see topo.h.
 *
 * What is hidden, compared with Kamailio's topoh/topos and OpenSIPS's
 * topology_hiding: Via (all of the other side's entries; restored from the
 * server transaction, so nothing is encoded in our own Via), Record-Route
 * and Route (each side sees only our entry on its side; the route sets
 * live in the call), Contact (our URI on each side; the real remote
 * targets live in the call), SDP (the relay's addresses: sdp.c, already
 * for every call) and a configurable list of headers on EXT. The Call-ID
 * is passed as it is: sigd's dialogs are keyed by it (as in topoh without
 * its Call-ID mask), so a platform that puts its address in Call-IDs
 * should be told not to. Requests outside a call (REGISTER, OPTIONS,
 * MESSAGE, SUBSCRIBE) have their Vias and headers hidden; their Contact
 * stays, since a registration binds it (the Path names us).
 */
#include "topo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/msg_mclass.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/su_string.h>

#define EXT GW__SIDE__SIDE_EXT

/* One comma-separated item of list, trimmed, equals (or, ending in '*',
 * prefixes) name. */
int sig__topo_name_listed(const char *list, const char *name)
{
    const char *p = list;
    size_t nl = strlen(name);

    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t len;

        while (*p == ' ' || *p == '\t')
            p++;
        len = e ? (size_t)(e - p) : strlen(p);
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len > 0 && p[len - 1] == '*') {
            if (nl >= len - 1 && strncasecmp(p, name, len - 1) == 0)
                return 1;
        } else if (len > 0 && len == nl && strncasecmp(p, name, len) == 0) {
            return 1;
        }
        p = e ? e + 1 : NULL;
    }
    return 0;
}

static int token_ok(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || strchr("-.!%*_+`'~", *s)))
            return 0;
    return 1;
}

int sig_topo_start(sig_daemon_t *sig)
{
    const char *sh = sig->cfg.source_header;
    const msg_href_t *hr;

    if (sh[0]) {
        hr = msg_find_hclass(sip_default_mclass(), sh, NULL);
        if (!token_ok(sh) || hr == NULL || hr->hr_class != sip_unknown_class) {
            GW_ERR("%s: [sigd] source_header: '%s': want the name of an extension "
                   "header (e.g. X-Source-Address), not a standard SIP header",
                   gw_cfg_where("sigd", "source_header"), sh);
            return -EINVAL;
        }
    }
    GW_INFO("topology hiding %s%s%s; headers removed on EXT: %s; caller's source "
            "address towards INT: %s",
            sig->cfg.topology_hiding ? "on" : "off",
            sig->cfg.topology_hiding_off[0] ? ", off for trunks " : "",
            sig->cfg.topology_hiding_off, sig->cfg.hide_headers[0] ? sig->cfg.hide_headers
                                                                   : "(none)",
            sh[0] ? sh : "(not sent)");
    return 0;
}

int sig_topo_applies(const sig_daemon_t *sig, const char *trunk)
{
    if (!sig->cfg.topology_hiding)
        return 0;
    return trunk == NULL || !sig__topo_name_listed(sig->cfg.topology_hiding_off, trunk);
}

char *sig_topo_our_uri(const sig_daemon_t *sig, su_home_t *home, Gw__Side s, sig_tp_t tp)
{
    const char *a = s == EXT ? sig->cfg.ext_addr : sig->cfg.int_addr;
    int port = s == EXT ? sig->cfg.ext_port : sig->cfg.int_port;
    const char *param = "";

    if (tp == SIG_TP_TLS && s == EXT && sig->cfg.tls.cert[0]) {
        port = sig->cfg.tls.port;
        param = ";transport=tls";
    } else if (tp != SIG_TP_UDP) {
        param = ";transport=tcp";
    }
    return su_sprintf(home, strchr(a, ':') ? "sip:[%s]:%d%s" : "sip:%s:%d%s", a, port,
                      param);
}

/* Removes every header of the message's class hc (one entry at a time:
 * list headers such as Warning hold several). */
static void remove_class(msg_t *msg, sip_t *sip, msg_hclass_t *hc)
{
    msg_header_t **hh = msg_hclass_offset(msg_mclass(msg), (msg_pub_t *)sip, hc);

    while (hh && *hh)
        if (msg_header_remove(msg, (msg_pub_t *)sip, *hh) < 0)
            break;
}

void sig_topo_strip_headers(const sig_daemon_t *sig, msg_t *msg, sip_t *sip)
{
    const char *list = sig->cfg.hide_headers;
    msg_unknown_t *u, *next;
    const char *p = list;
    char name[64];

    if (list[0] == '\0')
        return;
    /* Extension headers (X-*, P-* the parser does not know), by name. */
    for (u = sip->sip_unknown; u; u = next) {
        next = u->un_next;
        if (u->un_name && sig__topo_name_listed(list, u->un_name))
            msg_header_remove(msg, (msg_pub_t *)sip, (msg_header_t *)u);
    }
    /* Headers Sofia parses into classes of their own (Server, Warning...). */
    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t len;
        const msg_href_t *hr;

        while (*p == ' ' || *p == '\t')
            p++;
        len = e ? (size_t)(e - p) : strlen(p);
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len > 0 && len < sizeof name && p[len - 1] != '*') {
            memcpy(name, p, len);
            name[len] = '\0';
            hr = msg_find_hclass(msg_mclass(msg), name, NULL);
            if (hr && hr->hr_class != sip_unknown_class && hr->hr_class != sip_error_class)
                remove_class(msg, sip, hr->hr_class);
        }
        p = e ? e + 1 : NULL;
    }
}

static int set_contact(const sig_daemon_t *sig, msg_t *msg, sip_t *sip, Gw__Side s,
                       sig_tp_t tp)
{
    su_home_t *home = msg_home(msg);
    char *uri, *val;
    sip_contact_t *m;

    if (sip->sip_contact == NULL)
        return 0;
    uri = sig_topo_our_uri(sig, home, s, tp);
    val = uri ? su_sprintf(home, "<%s>", uri) : NULL;
    m = val ? sip_contact_make(home, val) : NULL;
    if (m == NULL)
        return -ENOMEM;
    /* Keep the feature parameters (+sip.instance aside: it names a device). */
    if (sip->sip_contact->m_params) {
        for (const char *const *pp = sip->sip_contact->m_params; *pp; pp++)
            if (strncasecmp(*pp, "+sip.instance", 13) != 0 && strncasecmp(*pp, "reg-id", 6) != 0)
                msg_header_add_param(home, (msg_common_t *)m, *pp);
    }
    while (sip->sip_contact)
        msg_header_remove(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_contact);
    return msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)m) < 0 ? -ENOMEM : 0;
}

/* Copies the list `h` (Via or Record-Route: headers Sofia prepends) into
 * msg above what is there, in its own order: one entry at a time, last
 * first (a whole list added at once comes out reversed). 0 or -ENOMEM. */
static int prepend_list(msg_t *msg, sip_t *sip, const msg_header_t *h)
{
    const msg_header_t *items[64];
    unsigned n = 0;

    for (; h && n < sizeof items / sizeof *items; h = h->sh_next)
        items[n++] = h;
    if (h)
        return -ENOMEM;     /* more than 64 hops: refused, never truncated */
    while (n > 0) {
        msg_header_t *d = msg_header_dup_one(msg_home(msg), items[--n]);

        if (d == NULL || msg_header_insert(msg, (msg_pub_t *)sip, d) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* Replaces the Record-Route list by `keep` (the hops on side s beyond us,
 * NULL = none) with our entry on side s, for a party on tp, on top. */
static int set_rr(const sig_daemon_t *sig, msg_t *msg, sip_t *sip, Gw__Side s, sig_tp_t tp,
                  const sip_record_route_t *keep)
{
    su_home_t *home = msg_home(msg);
    char *uri = sig_topo_our_uri(sig, home, s, tp);
    char *val = uri ? su_sprintf(home, "<%s;lr>", uri) : NULL;
    sip_record_route_t *rr = val ? sip_record_route_make(home, val) : NULL;

    if (rr == NULL)
        return -ENOMEM;
    while (sip->sip_record_route)
        msg_header_remove(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_record_route);
    /* A prepending header: the kept hops first, then ours on top. */
    if (prepend_list(msg, sip, (const msg_header_t *)keep) < 0 ||
        msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)rr) < 0)
        return -ENOMEM;
    return 0;
}

int sig_topo_request(const sig_daemon_t *sig, msg_t *msg, sip_t *sip, Gw__Side out,
                     sig_tp_t tp, int contact)
{
    while (sip->sip_via)
        sip_via_remove(msg, sip);
    if (sip->sip_record_route && set_rr(sig, msg, sip, out, tp, NULL) < 0)
        return -ENOMEM;
    if (contact && set_contact(sig, msg, sip, out, tp) < 0)
        return -ENOMEM;
    if (out == EXT)
        sig_topo_strip_headers(sig, msg, sip);
    return 0;
}

int sig_topo_response(const sig_daemon_t *sig, msg_t *msg, sip_t *sip,
                      const sip_via_t *via, const sip_record_route_t *req_rr,
                      Gw__Side to, int contact)
{
    sig_tp_t tp = SIG_TP_UDP;

    if (via && su_casematch(via->v_protocol, "SIP/2.0/TLS"))
        tp = SIG_TP_TLS;
    else if (via && su_casematch(via->v_protocol, "SIP/2.0/TCP"))
        tp = SIG_TP_TCP;
    while (sip->sip_via)
        sip_via_remove(msg, sip);
    if (prepend_list(msg, sip, (const msg_header_t *)via) < 0)
        return -ENOMEM;
    if (sip->sip_record_route && set_rr(sig, msg, sip, to, tp, req_rr) < 0)
        return -ENOMEM;
    if (contact && set_contact(sig, msg, sip, to, tp) < 0)
        return -ENOMEM;
    if (to == EXT) {
        /* A registrar's 200 echoes the Path (ours names the INT side and
         * the agent's flow) and may give a Service-Route of internal
         * hosts: neither means anything to an agent beyond the border. */
        remove_class(msg, sip, sip_path_class);
        remove_class(msg, sip, sip_service_route_class);
        sig_topo_strip_headers(sig, msg, sip);
    }
    return 0;
}

int sig_topo_source(const sig_daemon_t *sig, msg_t *msg, sip_t *sip, int initial,
                    const char *src)
{
    const char *name = sig->cfg.source_header;
    msg_unknown_t *u, *next;
    char *h;

    if (name[0] == '\0')
        return 0;
    for (u = sip->sip_unknown; u; u = next) {
        next = u->un_next;
        if (u->un_name && su_casematch(u->un_name, name))
            msg_header_remove(msg, (msg_pub_t *)sip, (msg_header_t *)u);
    }
    if (!initial || src == NULL)
        return 0;
    h = su_sprintf(msg_home(msg), "%s: %s", name, src);
    return h && msg_header_add_str(msg, (msg_pub_t *)sip, h) == 0 ? 0 : -ENOMEM;
}
