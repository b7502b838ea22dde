/* Routing from config.
 *
 * Internal targets: new requests from EXT go to the first live target of
 * internal_targets (in order; [sigd] internal_target when the list is
 * empty). A target is live until health_failures OPTIONS in a row went
 * unanswered (nta's own 408/503), or a forwarded request to it got such a
 * local 408/503 (proxy.c then retries the next target, serial forking);
 * any answer to an OPTIONS, whatever its status, brings it back. When no
 * target is live the first is tried anyway: a platform that answers no
 * OPTIONS must not stop all calls.
 *
 * Trunks: a source address inside a trunk's CIDR is that trunk; the proxy
 * logs it and anti-fraud exempts it from the per-IP rate limit (a carrier
 * sends many calls from one address).
 *
 * Outbound: a new request from INT addressed to sigd itself is routed by
 * the longest prefix of its Request-URI user in `outbound`, else to
 * [sigd] ext_default_route. A route may list several URIs (sip: or sips:)
 * separated by '|': when one fails before anything came back (408, 503,
 * a TLS connection refused), proxy.c tries the next.
 *
 * Lists are parsed once at start into fixed arrays (SIG_ROUTES_MAX
 * entries each); a bad entry stops sigd with the reason.
 */
#include "routes.h"
#include "sigd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/url.h>

#include "net.h"

#define F(x) offsetof(sig_routes_config_t, x)

const gw_cfg_directive_t sig_routes_directives[] = {
    { "internal_targets", GW_CFG_LIST, F(internal_targets), "", 0, 0,
      "internal platforms for new requests from EXT, in order of preference "
      "(comma-separated URIs; empty = [sigd] internal_target)" },
    { "health_interval", GW_CFG_INT, F(health_interval), "5", 0, 3600,
      "seconds between OPTIONS to each of internal_targets (0 = none)" },
    { "health_failures", GW_CFG_INT, F(health_failures), "2", 1, 100,
      "unanswered OPTIONS in a row after which a target is down" },
    { "trunks", GW_CFG_LIST, F(trunks), "", 0, 0,
      "carrier trunks by source address or TLS name: NAME=CIDR or "
      "NAME=tls:DNSNAME (the name in the certificate the trunk presents; needs "
      "[sigd] tls_verify_clients), comma-separated" },
    { "trunk_context", GW_CFG_STR, F(trunk_context), "", 0, 0,
      "when set, a call from a recognised trunk reaches the platform with "
      "';tgrp=NAME;trunk-context=THIS' in its Request-URI user (RFC 4904)" },
    { "outbound", GW_CFG_LIST, F(outbound), "", 0, 0,
      "routes for numbers dialled from INT: PREFIX=URI[|URI...], comma-separated; "
      "longest prefix wins, else [sigd] ext_default_route; URIs (sip: or sips:) "
      "are tried in order when one fails; repeat the line to add routes" },
    GW_CFG_END
};

typedef struct {
    char uri[GW_CFG_STRLEN];
    int down;
    int misses;            /* unanswered OPTIONS in a row */
    int pending;           /* an OPTIONS is out */
} sig_target_t;

typedef struct {
    char name[64];
    char cidr[64];         /* by source address, or */
    char tls_name[128];    /* by the name in its verified TLS certificate */
} sig_trunk_t;

#define SIG_ROUTE_ALTS 4

typedef struct {
    char prefix[32];
    char uri[SIG_ROUTE_ALTS][GW_CFG_STRLEN];   /* tried in order */
    int nuri;
} sig_oroute_t;

static sig_target_t targets[SIG_ROUTES_MAX];
static int ntargets;
static sig_trunk_t trunks[SIG_ROUTES_MAX];
static int ntrunks;
static sig_oroute_t oroutes[SIG_ROUTES_MAX];
static int noroutes;
static int health_failures;       /* from the config, for the callback */
static su_timer_t *health_timer;

/* ---- parsing ---------------------------------------------------------- */

static int add_target(char *item, void *arg)
{
    (void)arg;
    if (ntargets >= SIG_ROUTES_MAX || strncmp(item, "sip:", 4) != 0) {
        GW_ERR("%s: [routes] internal_targets: '%s': %s",
               gw_cfg_where("routes", "internal_targets"), item,
               ntargets >= SIG_ROUTES_MAX ? "too many" : "not a sip: URI");
        return -EINVAL;
    }
    snprintf(targets[ntargets++].uri, sizeof targets[0].uri, "%s", item);
    return 0;
}

int sig__routes_cidr_match(const char *cidr, const char *ip)
{
    char net[64];
    const char *slash = strchr(cidr, '/');
    unsigned char a[16], b[16];
    int bits, fam, len;

    if (slash == NULL || (size_t)(slash - cidr) >= sizeof net) {
        snprintf(net, sizeof net, "%s", cidr);
        bits = -1;
    } else {
        memcpy(net, cidr, (size_t)(slash - cidr));
        net[slash - cidr] = '\0';
        bits = atoi(slash + 1);
    }
    fam = strchr(net, ':') ? AF_INET6 : AF_INET;
    len = fam == AF_INET6 ? 16 : 4;
    if (bits < 0)
        bits = len * 8;
    if (bits > len * 8 || inet_pton(fam, net, a) != 1 || inet_pton(fam, ip, b) != 1)
        return 0;
    for (int i = 0; i < len && bits > 0; i++, bits -= 8) {
        unsigned char mask = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
        if ((a[i] & mask) != (b[i] & mask))
            return 0;
    }
    return 1;
}

/* 1 when cidr parses ("addr" or "addr/bits" within the family's size). */
static int cidr_valid(const char *cidr)
{
    char net[64];
    const char *slash = strchr(cidr, '/');
    unsigned char a[16];
    size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
    int fam, bits;

    if (n == 0 || n >= sizeof net)
        return 0;
    memcpy(net, cidr, n);
    net[n] = '\0';
    fam = strchr(net, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(fam, net, a) != 1)
        return 0;
    if (slash == NULL)
        return 1;
    bits = atoi(slash + 1);
    return slash[1] >= '0' && slash[1] <= '9' && bits >= 0 &&
           bits <= (fam == AF_INET6 ? 128 : 32);
}

static int add_trunk(char *item, void *arg)
{
    char *eq = strchr(item, '=');

    (void)arg;
    if (ntrunks < SIG_ROUTES_MAX && eq && eq != item &&
        (size_t)(eq - item) < sizeof trunks[0].name && strncmp(eq + 1, "tls:", 4) == 0 &&
        eq[5] != '\0' && strlen(eq + 5) < sizeof trunks[0].tls_name &&
        strspn(eq + 5, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*") ==
            strlen(eq + 5)) {
        *eq = '\0';
        memset(&trunks[ntrunks], 0, sizeof trunks[0]);
        snprintf(trunks[ntrunks].name, sizeof trunks[0].name, "%s", item);
        snprintf(trunks[ntrunks].tls_name, sizeof trunks[0].tls_name, "%s", eq + 5);
        ntrunks++;
        return 0;
    }
    if (ntrunks >= SIG_ROUTES_MAX || eq == NULL || eq == item ||
        (size_t)(eq - item) >= sizeof trunks[0].name ||
        strlen(eq + 1) >= sizeof trunks[0].cidr || !cidr_valid(eq + 1)) {
        GW_ERR("%s: [routes] trunks: '%s': want NAME=CIDR or NAME=tls:DNSNAME",
               gw_cfg_where("routes", "trunks"), item);
        return -EINVAL;
    }
    *eq = '\0';
    memset(&trunks[ntrunks], 0, sizeof trunks[0]);
    snprintf(trunks[ntrunks].name, sizeof trunks[0].name, "%s", item);
    snprintf(trunks[ntrunks].cidr, sizeof trunks[0].cidr, "%s", eq + 1);
    ntrunks++;
    return 0;
}

/* PREFIX=URI[|URI...]: the URIs are tried in order (a trunk that fails,
 * TLS included, passes the call to the next one). */
static int add_oroute(char *item, void *arg)
{
    char *eq = strchr(item, '='), *save = NULL, *u;
    sig_oroute_t *r = &oroutes[noroutes];

    (void)arg;
    if (noroutes >= SIG_ROUTES_MAX || eq == NULL || eq == item ||
        (size_t)(eq - item) >= sizeof r->prefix) {
        GW_ERR("%s: [routes] outbound: '%s': want PREFIX=URI[|URI...]",
               gw_cfg_where("routes", "outbound"), item);
        return -EINVAL;
    }
    *eq = '\0';
    snprintf(r->prefix, sizeof r->prefix, "%s", item);
    r->nuri = 0;
    for (u = strtok_r(eq + 1, "|", &save); u; u = strtok_r(NULL, "|", &save)) {
        url_t *parsed;
        su_home_t home[1] = { SU_HOME_INIT(home) };

        while (*u == ' ')
            u++;
        parsed = url_make(home, u);
        if (r->nuri >= SIG_ROUTE_ALTS || parsed == NULL ||
            (parsed->url_type != url_sip && parsed->url_type != url_sips) ||
            parsed->url_host == NULL) {
            GW_ERR("%s: [routes] outbound: '%s=%s': %s",
                   gw_cfg_where("routes", "outbound"), r->prefix, u,
                   r->nuri >= SIG_ROUTE_ALTS ? "more than 4 URIs"
                                             : "not a sip: or sips: URI");
            su_home_deinit(home);
            return -EINVAL;
        }
        su_home_deinit(home);
        snprintf(r->uri[r->nuri++], sizeof r->uri[0], "%s", u);
    }
    if (r->nuri == 0) {
        GW_ERR("%s: [routes] outbound: '%s=': no URI",
               gw_cfg_where("routes", "outbound"), r->prefix);
        return -EINVAL;
    }
    noroutes++;
    return 0;
}

/* ---- lookups ---------------------------------------------------------- */

/* url_make() parses text; URL_STRING_MAKE() would read a char array
 * through a union pointer, misaligned inside our tables. */
static url_t *dup_url(su_home_t *home, const char *text)
{
    return url_make(home, text);
}

url_t *sig_routes_internal(sig_daemon_t *sig, su_home_t *home, int *idx)
{
    if (ntargets == 0)
        return *idx == 0 ? dup_url(home, sig->cfg.internal_target) : NULL;
    for (int i = *idx; i < ntargets; i++) {
        if (!targets[i].down) {
            *idx = i;
            return dup_url(home, targets[i].uri);
        }
    }
    if (*idx >= ntargets)
        return NULL;
    return dup_url(home, targets[*idx].uri);   /* all down: try anyway */
}

int sig_routes_more(int idx)
{
    return idx + 1 < ntargets;
}

void sig_routes_target_failed(sig_daemon_t *sig, int idx)
{
    (void)sig;
    if (idx < 0 || idx >= ntargets || targets[idx].down)
        return;
    targets[idx].down = 1;
    GW_WARN("internal target %s down: a request to it failed", targets[idx].uri);
}

url_t *sig_routes_outbound(sig_daemon_t *sig, su_home_t *home, const char *number,
                           int alt, int *more)
{
    size_t best = 0;
    const sig_oroute_t *r = NULL;
    const char *uri = NULL, *tg = NULL;
    char key[64 + 5];
    int by_tgrp = 0;

    *more = 0;
    /* A destination trunk group (RFC 4904: ";tgrp=NAME" in the user part)
     * selects the route "tgrp:NAME" when there is one. */
    if (number && (tg = strstr(number, ";tgrp=")) != NULL) {
        snprintf(key, sizeof key, "tgrp:%.*s", (int)strcspn(tg + 6, ";"), tg + 6);
        for (int i = 0; i < noroutes && r == NULL; i++)
            if (strcmp(oroutes[i].prefix, key) == 0)
                r = &oroutes[i];
        by_tgrp = r != NULL;
    }
    for (int i = 0; number && !by_tgrp && i < noroutes; i++) {
        size_t n = strlen(oroutes[i].prefix);
        if (n > best && strncmp(number, oroutes[i].prefix, n) == 0) {
            best = n;
            r = &oroutes[i];
        }
    }
    if (r) {
        if (alt < r->nuri) {
            uri = r->uri[alt];
            *more = alt + 1 < r->nuri;
        }
    } else if (alt == 0 && sig->cfg.ext_default_route[0]) {
        uri = sig->cfg.ext_default_route;
    }
    return uri ? dup_url(home, uri) : NULL;
}

const char *sig_routes_trunk(sig_daemon_t *sig, msg_t *msg)
{
    su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
    char ip[INET6_ADDRSTRLEN];
    su_strlst_t const *subjects = NULL;
    tport_t *tp = NULL;
    int looked = 0;

    if (ntrunks == 0 || ai == NULL || ai->ai_addr == NULL)
        return NULL;
    gw_addr_ip(ai->ai_addr, ip, sizeof ip);
    for (int i = 0; i < ntrunks; i++) {
        if (trunks[i].cidr[0]) {
            if (sig__routes_cidr_match(trunks[i].cidr, ip))
                return trunks[i].name;
            continue;
        }
        /* By TLS name: the subjects (SAN DNS, CN) of the certificate the
         * peer presented on the connection this message came on. Only
         * with tls_verify_clients, where a presented chain that does not
         * verify against tls_ca ends the handshake (siptls.c). */
        if (!looked) {
            looked = 1;
            tp = tport_delivered_by(nta_agent_tports(sig->agent[GW__SIDE__SIDE_EXT]), msg);
            subjects = tp && tport_has_tls(tp) ? tport_delivered_from_subjects(tp, msg)
                                                 : NULL;
        }
        if (subjects && tport_subject_search(trunks[i].tls_name, subjects))
            return trunks[i].name;
    }
    return NULL;
}

/* The trunk a next hop belongs to: its numeric host inside a trunk's CIDR,
 * or its host name equal to a trunk's TLS name; NULL otherwise. */
const char *sig_routes_trunk_of_hop(const url_t *hop)
{
    char ip[INET6_ADDRSTRLEN];
    const char *h = hop ? hop->url_host : NULL;
    size_t hl;

    if (h == NULL || ntrunks == 0)
        return NULL;
    hl = strlen(h);
    if (h[0] == '[' && hl > 2 && hl - 2 < sizeof ip) {
        memcpy(ip, h + 1, hl - 2);
        ip[hl - 2] = '\0';
        h = ip;
    }
    for (int i = 0; i < ntrunks; i++) {
        if (trunks[i].cidr[0] ? sig__routes_cidr_match(trunks[i].cidr, h)
                              : strcasecmp(trunks[i].tls_name, h) == 0)
            return trunks[i].name;
    }
    return NULL;
}

/* ---- health checks ---------------------------------------------------- */

/* Any answer brings a target back; nta's own 408 (no answer) or a 503
 * counts as a miss. */
static int on_health_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
                              const sip_t *sip)
{
    sig_target_t *t = (sig_target_t *)(void *)magic;
    int status = sip && sip->sip_status ? sip->sip_status->st_status : 408;

    if (status < 200)
        return 0;
    t->pending = 0;
    if (status == 408 || status == 503) {
        if (++t->misses >= health_failures && !t->down) {
            t->down = 1;
            GW_WARN("internal target %s down: %d OPTIONS in a row unanswered",
                    t->uri, t->misses);
        }
    } else {
        t->misses = 0;
        if (t->down)
            GW_INFO("internal target %s up (OPTIONS answered %d)", t->uri, status);
        t->down = 0;
    }
    nta_outgoing_destroy(orq);
    return 0;
}

static void ping(sig_daemon_t *sig, sig_target_t *t)
{
    nta_agent_t *agent = sig->agent[GW__SIDE__SIDE_INT];
    msg_t *msg = nta_msg_create(agent, 0);
    sip_t *sip = sip_object(msg);
    url_t *u = msg ? dup_url(msg_home(msg), t->uri) : NULL;
    char from[160];

    if (u == NULL) {
        if (msg)
            msg_destroy(msg);
        return;
    }
    snprintf(from, sizeof from, strchr(sig->cfg.int_addr, ':')
             ? "<sip:health@[%s]:%d>;tag=hc" : "<sip:health@%s:%d>;tag=hc",
             sig->cfg.int_addr, sig->cfg.int_port);
    if (msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)
                          sip_request_create(msg_home(msg), sip_method_options,
                                             "OPTIONS", (url_string_t *)u, NULL)) < 0 ||
        sip_add_tl(msg, sip, SIPTAG_FROM_STR(from),
                   SIPTAG_TO(sip_to_create(msg_home(msg), (url_string_t *)u)),
                   SIPTAG_CALL_ID(sip_call_id_create(msg_home(msg), NULL)),
                   SIPTAG_CSEQ_STR("1 OPTIONS"), SIPTAG_MAX_FORWARDS_STR("70"),
                   SIPTAG_CONTENT_LENGTH_STR("0"), TAG_END()) < 0) {
        msg_destroy(msg);
        return;
    }
    /* The magic is the target, not a sig_tx_t: this callback alone reads it. */
    if (nta_outgoing_mcreate(agent, on_health_response, (nta_outgoing_magic_t *)(void *)t,
                             NULL, msg, TAG_END()) != NULL)
        t->pending = 1;
}

static void on_health_timer(sig_daemon_t *sig, su_timer_t *timer, sig_daemon_t *arg)
{
    (void)timer;
    (void)arg;
    for (int i = 0; i < ntargets; i++)
        if (!targets[i].pending)
            ping(sig, &targets[i]);
}

/* ---- life cycle ------------------------------------------------------- */

int sig_routes_start(sig_daemon_t *sig)
{
    const sig_routes_config_t *cfg = &sig->routes_cfg;

    ntargets = ntrunks = noroutes = 0;
    if (gw_cfg_list_split(cfg->internal_targets, ",", " \t", add_target, NULL) < 0 ||
        gw_cfg_list_split(cfg->trunks, ",", " \t", add_trunk, NULL) < 0 ||
        gw_cfg_list_split(cfg->outbound, ",", " \t", add_oroute, NULL) < 0)
        return -EINVAL;
    health_failures = cfg->health_failures;
    if (ntargets > 0 && cfg->health_interval > 0) {
        health_timer = su_timer_create(su_root_task(sig->root),
                                       (su_duration_t)cfg->health_interval * 1000);
        if (health_timer == NULL)
            return -ENOMEM;
        su_timer_set_for_ever(health_timer, on_health_timer, sig);
    }
    if (ntargets || ntrunks || noroutes)
        GW_INFO("routes: %d internal target(s)%s, %d trunk(s), %d outbound route(s)",
                ntargets, health_timer ? " health-checked" : "", ntrunks, noroutes);
    return 0;
}

void sig_routes_stop(sig_daemon_t *sig)
{
    (void)sig;
    if (health_timer)
        su_timer_destroy(health_timer);
    health_timer = NULL;
}
