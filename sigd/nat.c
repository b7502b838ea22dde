/* Remote agents behind NAT (see nat.h for the flow model).
 *
 * The flow travels in the Path URI itself, so sigd keeps no per-agent
 * routing state: the registrar stores the Path with the binding and hands
 * it back as a Route in every request for the agent, which survives a sigd
 * restart. The only state is the table of registered flows: flows with a
 * live binding (learnt from the registrar's 2xx, until the binding's
 * expiry), in a chained hash on the flow string. Each is sent an OPTIONS
 * every nat_keepalive seconds from the EXT agent so that the agent's NAT
 * keeps the mapping open (the answer, or its absence, is not acted upon),
 * and anti-fraud spares requests that arrive on one the rate limit
 * (sig_nat_on_registered_flow()). With keep-alives off the same timer
 * runs every NAT_SWEEP_S only to forget expired flows.
 *
 * Contact fixing: an agent behind NAT puts its private address in
 * Contact. In dialog-forming messages from EXT (INVITE, UPDATE, SUBSCRIBE,
 * REFER and their 1xx/2xx) such a Contact is replaced by the source
 * address and port of the message, as Kamailio's fix_nated_contact does;
 * a public Contact is left alone (a trunk may legitimately name another
 * host of its own).
 */
#include "nat.h"
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su_string.h>
#include <sofia-sip/url.h>

#include "hash.h"
#include "net.h"

#define FLOW_LEN 96
#define DEFAULT_EXPIRES 3600
#define NAT_BUCKETS 4096        /* power of two */
#define NAT_MAX_FLOWS 200000
#define NAT_SWEEP_S 30

typedef struct sig_flow_s sig_flow_t;

struct sig_flow_s {
    sig_flow_t *next;
    char flow[FLOW_LEN];   /* "udp~IP~PORT" */
    time_t expires;
};

struct sig_nat_s {
    sig_flow_t *buckets[NAT_BUCKETS];
    unsigned nflows;
    int full_logged;
    su_timer_t *timer;     /* keep-alives, or the expiry sweep */
};

int sig__nat_is_private(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    char buf[64];
    size_t n;

    if (host == NULL)
        return 0;
    n = strlen(host);
    if (host[0] == '[' && n > 2 && n - 2 < sizeof buf) {
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = '\0';
        host = buf;
    }
    if (inet_pton(AF_INET, host, &a4) == 1) {
        uint32_t a = ntohl(a4.s_addr);
        return (a >> 24) == 10 || (a >> 20) == (172u << 4 | 1) ||
               (a >> 16) == (192u << 8 | 168) || (a >> 22) == (100u << 2 | 1) ||
               (a >> 16) == (169u << 8 | 254);
    }
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return (a6.s6_addr[0] & 0xfe) == 0xfc ||
               (a6.s6_addr[0] == 0xfe && (a6.s6_addr[1] & 0xc0) == 0x80);
    return 0;
}

/* The flow of a received message: "tcp~IP~PORT" from its top Via's
 * transport (udp, tcp or tls) and its source address. 0 or -EINVAL. A
 * request for the agent then goes to that address over that transport,
 * which Sofia sends on the connection the agent opened. */
static int msg_flow(msg_t *m, const sip_t *sip, char *flow, size_t len)
{
    su_addrinfo_t *ai = m ? msg_addrinfo(m) : NULL;
    char ip[INET6_ADDRSTRLEN];
    const char *tr = "udp";

    if (ai == NULL || ai->ai_addr == NULL)
        return -EINVAL;
    if (sip && sip->sip_via && sip->sip_via->v_protocol &&
        su_casematch(sip->sip_via->v_protocol, "SIP/2.0/TCP"))
        tr = "tcp";
    else if (sip && sip->sip_via && sip->sip_via->v_protocol &&
             su_casematch(sip->sip_via->v_protocol, "SIP/2.0/TLS"))
        tr = "tls";
    gw_addr_ip(ai->ai_addr, ip, sizeof ip);
    snprintf(flow, len, "%s~%s~%u", tr, ip, gw_addr_port(ai->ai_addr));
    return 0;
}

static int irq_flow(nta_incoming_t *irq, char *flow, size_t len)
{
    msg_t *m = nta_incoming_getrequest(irq);
    int rc = m ? msg_flow(m, sip_object(m), flow, len) : -EINVAL;

    if (m)
        msg_destroy(m);
    return rc;
}

/* "udp~IP~PORT" -> "sip:IP:PORT;transport=udp" in home. */
static url_t *flow_url(su_home_t *home, const char *flow)
{
    char tr[8], ip[INET6_ADDRSTRLEN], buf[128];
    unsigned port;
    struct sockaddr_storage ss;

    if (sscanf(flow, "%7[a-z]~%45[0-9a-fA-F.:]~%u", tr, ip, &port) != 3 ||
        port == 0 || port > 65535 || gw_addr_parse(ip, port, &ss) < 0 ||
        (strcmp(tr, "udp") != 0 && strcmp(tr, "tcp") != 0 && strcmp(tr, "tls") != 0))
        return NULL;
    snprintf(buf, sizeof buf, strchr(ip, ':') ? "sip:[%s]:%u;transport=%s"
                                              : "sip:%s:%u;transport=%s",
             ip, port, tr);
    return url_make(home, buf);
}

int sig_nat_add_path(sig_daemon_t *sig, nta_incoming_t *irq, msg_t *msg, sip_t *sip)
{
    const char *a = sig->cfg.int_addr;
    char flow[FLOW_LEN], buf[256];
    sip_path_t *path;

    if (irq_flow(irq, flow, sizeof flow) < 0)
        return -EINVAL;
    snprintf(buf, sizeof buf, strchr(a, ':') ? "<sip:[%s]:%d;lr;%s=%s>"
                                             : "<sip:%s:%d;lr;%s=%s>",
             a, sig->cfg.int_port, SIG_FLOW_PARAM, flow);
    path = sip_path_make(msg_home(msg), buf);
    if (path == NULL || msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)path) < 0)
        return -ENOMEM;
    gw_log(GW_LOG_DEBUG, sip->sip_call_id ? sip->sip_call_id->i_id : NULL,
           "REGISTER from %s: Path %s", flow, buf);
    return 0;
}

url_t *sig_nat_flow_hop(sig_daemon_t *sig, su_home_t *home, const sip_t *sip)
{
    const sip_route_t *r = sip->sip_route;
    char flow[FLOW_LEN];
    isize_t n;

    (void)sig;
    if (!sig_proxy_to_agent(sip))
        return NULL;
    n = url_param(r->r_url->url_params, SIG_FLOW_PARAM, flow, sizeof flow);
    if (n == 0 || n >= (isize_t)sizeof flow)
        return NULL;
    return flow_url(home, flow);
}

int sig_nat_fix_contact(sig_daemon_t *sig, msg_t *src, msg_t *msg, sip_t *sip)
{
    sip_contact_t *m = sip->sip_contact;
    su_addrinfo_t *ai = src ? msg_addrinfo(src) : NULL;
    char ip[INET6_ADDRSTRLEN], port[8], old[128];
    url_t *u;

    (void)sig;
    if (m == NULL || m->m_url->url_host == NULL || ai == NULL || ai->ai_addr == NULL)
        return 0;
    if (!sig__nat_is_private(m->m_url->url_host))
        return 0;
    gw_addr_ip(ai->ai_addr, ip, sizeof ip);
    snprintf(port, sizeof port, "%u", gw_addr_port(ai->ai_addr));
    if (strcmp(ip, m->m_url->url_host) == 0 &&
        su_strmatch(port, m->m_url->url_port ? m->m_url->url_port : "5060"))
        return 0;
    snprintf(old, sizeof old, "%s:%s", m->m_url->url_host,
             m->m_url->url_port ? m->m_url->url_port : "5060");
    u = m->m_url;
    u->url_host = su_strdup(msg_home(msg), ip);
    u->url_port = su_strdup(msg_home(msg), port);
    if (u->url_host == NULL || u->url_port == NULL)
        return 0;
    /* The header is printed again from its parts, not from the old text. */
    msg_fragment_clear(m->m_common);
    gw_log(GW_LOG_DEBUG, sip->sip_call_id ? sip->sip_call_id->i_id : NULL,
           "NATed Contact %s replaced by %s:%s", old, ip, port);
    return 1;
}

/* ---- keep-alives ------------------------------------------------------ */

static unsigned binding_expiry(const sip_t *resp)
{
    const sip_contact_t *m = resp->sip_contact;

    if (m && m->m_expires)
        return (unsigned)strtoul(m->m_expires, NULL, 10);
    if (resp->sip_expires)
        return resp->sip_expires->ex_delta;
    return m ? DEFAULT_EXPIRES : 0;
}

/* Where flow is in the table, or where it goes: *result is NULL then. */
static sig_flow_t **flow_slot(sig_nat_t *nat, const char *flow)
{
    sig_flow_t **pf = &nat->buckets[gw_hash_str(flow) & (NAT_BUCKETS - 1)];

    while (*pf && strcmp((*pf)->flow, flow) != 0)
        pf = &(*pf)->next;
    return pf;
}

void sig_nat_registered(sig_daemon_t *sig, nta_incoming_t *irq, const sip_t *resp)
{
    sig_nat_t *nat = sig->nat;
    char flow[FLOW_LEN];
    unsigned exp = binding_expiry(resp);
    sig_flow_t **pf, *f;

    if (nat == NULL || irq_flow(irq, flow, sizeof flow) < 0)
        return;
    pf = flow_slot(nat, flow);
    if (exp == 0) {
        if ((f = *pf) != NULL) {
            *pf = f->next;
            free(f);
            nat->nflows--;
        }
        return;
    }
    if ((f = *pf) == NULL) {
        if (nat->nflows >= NAT_MAX_FLOWS) {
            if (!nat->full_logged)
                GW_WARN("NAT: %u registered flows; %s and newer ones get no "
                        "keep-alive and count against the rate limit",
                        nat->nflows, flow);
            nat->full_logged = 1;
            return;
        }
        f = calloc(1, sizeof *f);
        if (f == NULL)
            return;
        snprintf(f->flow, sizeof f->flow, "%s", flow);
        *pf = f;
        nat->nflows++;
        if (sig->cfg.nat_keepalive > 0)
            GW_INFO("NAT keep-alive to %s every %d s", flow, sig->cfg.nat_keepalive);
    }
    f->expires = time(NULL) + exp;
}

int sig_nat_on_registered_flow(sig_daemon_t *sig, msg_t *msg, const sip_t *sip)
{
    char flow[FLOW_LEN];
    const sig_flow_t *f;

    if (sig->nat == NULL || sig->nat->nflows == 0 ||
        msg_flow(msg, sip, flow, sizeof flow) < 0)
        return 0;
    f = *flow_slot(sig->nat, flow);
    return f != NULL && f->expires > time(NULL);
}

static void send_keepalive(sig_daemon_t *sig, const sig_flow_t *f)
{
    nta_agent_t *agent = sig->agent[GW__SIDE__SIDE_EXT];
    msg_t *msg = nta_msg_create(agent, 0);
    sip_t *sip = sip_object(msg);
    url_t *u = msg ? flow_url(msg_home(msg), f->flow) : NULL;
    char from[160];
    nta_outgoing_t *orq;

    if (u == NULL) {
        if (msg)
            msg_destroy(msg);
        return;
    }
    snprintf(from, sizeof from, strchr(sig->cfg.ext_addr, ':')
             ? "<sip:keepalive@[%s]:%d>;tag=ka" : "<sip:keepalive@%s:%d>;tag=ka",
             sig->cfg.ext_addr, sig->cfg.ext_port);
    u->url_params = NULL;   /* the Request-URI names the address only */
    if (msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)
                          sip_request_create(msg_home(msg), sip_method_options,
                                             "OPTIONS", (url_string_t *)u, NULL)) < 0 ||
        sip_add_tl(msg, sip, SIPTAG_FROM_STR(from), SIPTAG_TO(sip_to_create(msg_home(msg),
                   (url_string_t *)u)), SIPTAG_CALL_ID(sip_call_id_create(msg_home(msg), NULL)),
                   SIPTAG_CSEQ_STR("1 OPTIONS"), SIPTAG_MAX_FORWARDS_STR("70"),
                   SIPTAG_CONTENT_LENGTH_STR("0"), TAG_END()) < 0) {
        msg_destroy(msg);
        return;
    }
    orq = nta_outgoing_mcreate(agent, NULL, NULL,
                               (url_string_t *)flow_url(msg_home(msg), f->flow), msg,
                               TAG_END());
    if (orq == NULL) {
        GW_DEBUG("NAT keep-alive to %s: cannot send", f->flow);
        return;
    }
    /* Nobody waits for the answer: nta ends the transaction on its own. */
    nta_outgoing_destroy(orq);
}

static void on_timer(sig_daemon_t *sig, su_timer_t *t, sig_daemon_t *arg)
{
    sig_nat_t *nat = sig->nat;
    time_t now = time(NULL);

    (void)t;
    (void)arg;
    for (unsigned i = 0; i < NAT_BUCKETS; i++) {
        sig_flow_t **pf = &nat->buckets[i];
        while (*pf) {
            sig_flow_t *f = *pf;
            if (f->expires <= now) {
                if (sig->cfg.nat_keepalive > 0)
                    GW_INFO("NAT keep-alive to %s ends: binding expired", f->flow);
                *pf = f->next;
                free(f);
                nat->nflows--;
                continue;
            }
            if (sig->cfg.nat_keepalive > 0)
                send_keepalive(sig, f);
            pf = &f->next;
        }
    }
    nat->full_logged = 0;
}

int sig_nat_start(sig_daemon_t *sig)
{
    int period = sig->cfg.nat_keepalive > 0 ? sig->cfg.nat_keepalive : NAT_SWEEP_S;

    sig->nat = calloc(1, sizeof *sig->nat);
    if (sig->nat == NULL)
        return -ENOMEM;
    sig->nat->timer = su_timer_create(su_root_task(sig->root), (su_duration_t)period * 1000);
    if (sig->nat->timer == NULL) {
        GW_ERR("NAT: cannot create the keep-alive timer");
        free(sig->nat);
        sig->nat = NULL;
        return -ENOMEM;
    }
    su_timer_set_for_ever(sig->nat->timer, on_timer, sig);
    return 0;
}

void sig_nat_stop(sig_daemon_t *sig)
{
    sig_nat_t *nat = sig->nat;

    if (nat == NULL)
        return;
    su_timer_destroy(nat->timer);
    for (unsigned i = 0; i < NAT_BUCKETS; i++) {
        while (nat->buckets[i]) {
            sig_flow_t *f = nat->buckets[i];
            nat->buckets[i] = f->next;
            free(f);
        }
    }
    free(nat);
    sig->nat = NULL;
}
