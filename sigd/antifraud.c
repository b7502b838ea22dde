/* Anti-fraud on the EXT side.
 *
 * One table entry per source IP seen on EXT (a chained hash, swept every
 * 30 s of entries idle for longer than the failure window): its token
 * bucket, its recent authentication failures and its ban. A banned source,
 * a source over its rate and a scanner user agent get nothing at all:
 * answering would confirm that a SIP server is there and cost us a
 * transaction per packet. Each such drop is counted by reason and logged
 * through drops.h (one line per source and reason per 10 s, with a count).
 *
 * The rate limit is on new requests only. An office of agents behind one
 * NAT address, or a carrier not declared as a trunk, sends ACKs, BYEs and
 * re-INVITEs of calls already admitted; dropping those cuts calls (or
 * leaves them to retransmissions) and saves nothing, since the call's
 * cost was paid when it was admitted. So a request the proxy vouches for
 * (SIG_AF_KNOWN_DIALOG: its Call-ID and tags are a dialog in the table,
 * SIG_AF_REGISTERED_FLOW: it came on the transport, address and port of a
 * live registration) passes without taking a token. Bans and the scanner
 * test still apply to it.
 *
 * A failure is a 401/407 to a REGISTER or INVITE that carried credentials
 * (a wrong password), or a 403 to one. A bare challenge is not counted:
 * every phone gets one before each registration, and counting it would ban
 * phones that merely re-register.
 *
 * Uniform answers: a 404 to a REGISTER from EXT is replaced by the
 * challenge a valid user gets (401 with WWW-Authenticate), with the
 * platform's realm and a fresh nonce; with credentials it counts as a
 * failure, like a wrong password does. A scanner therefore sees the same
 * challenge for every extension and is banned when it tries passwords on
 * any. A 404 to an INVITE goes through: callers of a contact centre
 * (carriers, customers) must learn that a number does not exist, and an
 * unauthenticated INVITE enumerates nothing that the platform's dial plan
 * does not publish anyway.
 *
 * Bans are written to ban_file (one "ip until-epoch" line each, written to
 * a temporary file then renamed) when they are made, and read back at
 * start; expired lines are skipped.
 *
 * Outbound policy: a new INVITE from INT leaving towards EXT whose
 * Request-URI dials a telephone number (user=phone, a tel: URI, or a user
 * part of digits with an optional leading +) must dial an emergency number
 * (exact match) or a number whose longest matching prefix is in
 * allowed_prefixes rather than denied_prefixes; otherwise 403. A call to a
 * named SIP address (sip:agent7@host) or to a registered agent (its Path
 * route) is not a trunk call and passes.
 */
#include "antifraud.h"
#include "sigd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_string.h>

#include "drops.h"
#include "hash.h"
#include "net.h"
#include "proxy.h"

#define F(x) offsetof(sig_af_config_t, x)

const gw_cfg_directive_t sig_antifraud_directives[] = {
    { "enabled", GW_CFG_BOOL, F(enabled), "yes", 0, 0,
      "apply the anti-fraud checks to requests from EXT" },
    { "max_failures", GW_CFG_INT, F(max_failures), "3", 1, 1000,
      "failed authentications (401/407 with credentials, 403) from one IP "
      "within `window` that ban it" },
    { "window", GW_CFG_INT, F(window), "600", 1, 86400 * 30,
      "seconds over which failures are counted" },
    { "ban_time", GW_CFG_INT, F(ban_time), "8640000", 1, 2000000000,
      "seconds a source stays banned (its requests are dropped silently)" },
    { "ban_file", GW_CFG_STR, F(ban_file), "/var/lib/gw/bans", 0, 0,
      "where bans are kept across restarts (empty = not kept)" },
    { "rate", GW_CFG_INT, F(rate), "50", 0, 1000000,
      "new requests per second one EXT IP may send (token bucket; 0 = no "
      "limit); above it they are dropped unanswered, counted and logged. "
      "In-dialog requests of known dialogs and requests on registered "
      "flows are not limited" },
    { "burst", GW_CFG_INT, F(burst), "100", 1, 1000000,
      "new requests one EXT IP may send at once before `rate` applies" },
    { "scanners", GW_CFG_STR, F(scanners),
      "friendly-scanner,sipvicious,sipcli,VaxSIPUserAgent,pplsip,sip-scan,"
      "sipsak,smap,iWar,sundayddr,Cisco-SIPGateway-Scanner", 0, 0,
      "User-Agent substrings (case-insensitive, comma-separated) whose "
      "requests are dropped silently" },
    { "uniform", GW_CFG_BOOL, F(uniform), "yes", 0, 0,
      "answer a 404 to a REGISTER from EXT with the same 401 challenge a "
      "valid user gets, so that extensions cannot be enumerated" },
    { "realm", GW_CFG_STR, F(realm), "", 0, 0,
      "realm of those challenges (empty = the platform's, learned from its "
      "own challenges)" },
    { "allowed_prefixes", GW_CFG_STR, F(allowed_prefixes), "+41,0041,0", 0, 0,
      "dialled-number prefixes a call from INT to EXT may use (longest "
      "match against denied_prefixes wins)" },
    { "denied_prefixes", GW_CFG_STR, F(denied_prefixes), "00", 0, 0,
      "prefixes refused even though a shorter allowed prefix matches "
      "(00 = international access)" },
    { "emergency", GW_CFG_STR, F(emergency), "112,117,118,144,143,147,1414,1415", 0, 0,
      "numbers that always pass the outbound policy (exact match)" },
    GW_CFG_END
};

#define AF_BUCKETS 4096
#define AF_MAX_ENTRIES 200000
#define AF_SWEEP_MS 30000

typedef struct sig_af_entry_s sig_af_entry_t;

struct sig_af_entry_s {
    sig_af_entry_t *next;
    char ip[INET6_ADDRSTRLEN];
    double tokens;              /* token bucket */
    double last_ms;             /* monotonic time of the last refill */
    int failures;               /* within the window started at fail_start */
    time_t fail_start;
    time_t banned_until;        /* wall clock, 0 = not banned */
    time_t last_seen;
};

typedef struct sig_af_s {
    sig_af_entry_t *buckets[AF_BUCKETS];
    unsigned nentries;
    int full_logged;
    su_timer_t *sweep;
    char learned_realm[128];
} sig_af_t;

/* ---- policy helpers --------------------------------------------------- */

/* Calls fn for each trimmed, non-empty item of a comma list until it
 * returns non-zero; returns that value. */
static int list_each(const char *list, int (*fn)(const char *item, size_t n, void *arg),
                     void *arg)
{
    const char *p = list;

    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *s = p;
        int rc;

        while (n > 0 && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n > 0 && (rc = fn(s, n, arg)) != 0)
            return rc;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

static int item_in(const char *item, size_t n, void *arg)
{
    const char *s = arg;
    size_t sl = strlen(s);

    for (size_t i = 0; i + n <= sl; i++)
        if (strncasecmp(s + i, item, n) == 0)
            return 1;
    return 0;
}

int sig__af_list_has_substr(const char *list, const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    return list_each(list, item_in, (void *)s);
}

typedef struct {
    const char *number;
    size_t best;
} prefix_match_t;

static int prefix_longest(const char *item, size_t n, void *arg)
{
    prefix_match_t *m = arg;

    if (strncmp(m->number, item, n) == 0 && n > m->best)
        m->best = n;
    return 0;
}

static int exact(const char *item, size_t n, void *arg)
{
    const char *s = arg;
    return strlen(s) == n && strncmp(s, item, n) == 0;
}

int sig__af_destination(const sig_af_config_t *cfg, const char *number)
{
    prefix_match_t allow = { number, 0 }, deny = { number, 0 };

    if (number == NULL || *number == '\0')
        return 403;
    if (list_each(cfg->emergency, exact, (void *)number))
        return 0;
    list_each(cfg->allowed_prefixes, prefix_longest, &allow);
    list_each(cfg->denied_prefixes, prefix_longest, &deny);
    return allow.best > 0 && allow.best > deny.best ? 0 : 403;
}

/* ---- the table -------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static unsigned hash_ip(const char *ip)
{
    return gw_hash_str(ip) % AF_BUCKETS;
}

/* The entry of ip, created when `create` (NULL when the table is full). */
static sig_af_entry_t *entry_get(sig_af_t *af, const sig_af_config_t *cfg,
                                 const char *ip, int create)
{
    unsigned h = hash_ip(ip);
    sig_af_entry_t *e;

    for (e = af->buckets[h]; e; e = e->next)
        if (strcmp(e->ip, ip) == 0)
            return e;
    if (!create)
        return NULL;
    if (af->nentries >= AF_MAX_ENTRIES) {
        if (!af->full_logged)
            GW_WARN("anti-fraud: %u sources tracked; new sources pass "
                    "unchecked until the next sweep", af->nentries);
        af->full_logged = 1;
        return NULL;
    }
    e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    snprintf(e->ip, sizeof e->ip, "%s", ip);
    e->tokens = cfg->burst;
    e->last_ms = now_ms();
    e->next = af->buckets[h];
    af->buckets[h] = e;
    af->nentries++;
    return e;
}

static void on_sweep(sig_daemon_t *sig, su_timer_t *t, sig_daemon_t *arg)
{
    sig_af_t *af = sig->af;
    time_t now = time(NULL);

    (void)t;
    (void)arg;
    for (unsigned i = 0; i < AF_BUCKETS; i++) {
        sig_af_entry_t **pe = &af->buckets[i];
        while (*pe) {
            sig_af_entry_t *e = *pe;
            int banned = e->banned_until > now;
            if (!banned && now - e->last_seen > sig->af_cfg.window) {
                *pe = e->next;
                free(e);
                af->nentries--;
            } else {
                pe = &e->next;
            }
        }
    }
    af->full_logged = 0;
}

/* ---- the ban file ----------------------------------------------------- */

static int bans_save(sig_daemon_t *sig)
{
    const char *path = sig->af_cfg.ban_file;
    char tmp[GW_CFG_STRLEN + 8];
    time_t now = time(NULL);
    FILE *fp;

    if (path[0] == '\0')
        return 0;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fp = fopen(tmp, "w");
    if (fp == NULL) {
        GW_WARN("anti-fraud: fopen(%s) failed: %s; bans not kept", tmp,
                strerror(errno));
        return -errno;
    }
    for (unsigned i = 0; i < AF_BUCKETS; i++)
        for (sig_af_entry_t *e = sig->af->buckets[i]; e; e = e->next)
            if (e->banned_until > now)
                fprintf(fp, "%s %lld\n", e->ip, (long long)e->banned_until);
    if (fflush(fp) != 0 || ferror(fp)) {
        GW_WARN("anti-fraud: writing %s failed: %s", tmp, strerror(errno));
        fclose(fp);
        unlink(tmp);
        return -EIO;
    }
    fclose(fp);
    if (rename(tmp, path) < 0) {
        GW_WARN("anti-fraud: rename(%s, %s) failed: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return -errno;
    }
    return 0;
}

static int bans_load(sig_daemon_t *sig)
{
    const char *path = sig->af_cfg.ban_file;
    time_t now = time(NULL);
    char line[256], ip[INET6_ADDRSTRLEN];
    long long until;
    int n = 0, lineno = 0;
    FILE *fp;

    if (path[0] == '\0')
        return 0;
    fp = fopen(path, "r");
    if (fp == NULL) {
        if (errno != ENOENT)
            GW_WARN("anti-fraud: fopen(%s) failed: %s", path, strerror(errno));
        return errno == ENOENT ? 0 : -errno;
    }
    while (fgets(line, sizeof line, fp)) {
        struct sockaddr_storage ss;
        sig_af_entry_t *e;

        lineno++;
        if (sscanf(line, "%45s %lld", ip, &until) != 2 ||
            gw_addr_parse(ip, 0, &ss) < 0) {
            GW_WARN("anti-fraud: %s:%d: not \"ip until\"; skipped", path, lineno);
            continue;
        }
        if (until <= now)
            continue;
        e = entry_get(sig->af, &sig->af_cfg, ip, 1);
        if (e == NULL)
            break;
        e->banned_until = (time_t)until;
        e->last_seen = now;
        n++;
    }
    fclose(fp);
    GW_INFO("anti-fraud: %d ban(s) reloaded from %s", n, path);
    return 0;
}

/* ---- the checks ------------------------------------------------------- */

/* The message's source IP into ip. 0 or -EINVAL. */
static int msg_source_ip(msg_t *m, char *ip, size_t len)
{
    su_addrinfo_t *ai = m ? msg_addrinfo(m) : NULL;

    if (ai == NULL || ai->ai_addr == NULL)
        return -EINVAL;
    gw_addr_ip(ai->ai_addr, ip, len);
    return 0;
}

/* The source IP of irq's request. 0 or -EINVAL. */
static int source_ip(nta_incoming_t *irq, char *ip, size_t len)
{
    msg_t *m = nta_incoming_getrequest(irq);
    int rc = msg_source_ip(m, ip, len);

    if (m)
        msg_destroy(m);
    return rc;
}

static const char *cid(const sip_t *sip)
{
    return sip && sip->sip_call_id ? sip->sip_call_id->i_id : NULL;
}

/* Refills e's bucket and takes one token: 0, or -EAGAIN when empty. */
static int take_token(const sig_af_config_t *cfg, sig_af_entry_t *e)
{
    double t = now_ms();

    e->tokens += (t - e->last_ms) * cfg->rate / 1000.0;
    if (e->tokens > cfg->burst)
        e->tokens = cfg->burst;
    e->last_ms = t;
    if (e->tokens < 1.0)
        return -EAGAIN;
    e->tokens -= 1.0;
    return 0;
}

/* 1 when the user part dials a number: [+]digits (with * and #). */
static int is_number(const char *u)
{
    if (u == NULL || *u == '\0')
        return 0;
    if (*u == '+')
        u++;
    return *u != '\0' && strspn(u, "0123456789*#") == strlen(u);
}

static int check_outbound(sig_daemon_t *sig, const sip_t *sip)
{
    const url_t *ru = sip->sip_request->rq_url;
    const char *user = ru->url_type == url_tel ? ru->url_host : ru->url_user;
    char buf[128];
    const char *number = user;
    int status;

    if (sip->sip_request->rq_method != sip_method_invite ||
        (sip->sip_to && sip->sip_to->a_tag) || sig_proxy_to_agent(sip))
        return SIG_AF_PASS;
    /* "+41...;tgrp=x;trunk-context=y" (RFC 4904): the number is what
     * comes before the parameters, and it is what the policy judges. */
    if (user && strchr(user, ';')) {
        snprintf(buf, sizeof buf, "%.*s", (int)strcspn(user, ";"), user);
        number = buf;
    }
    if (ru->url_type != url_tel && !url_has_param(ru, "user=phone") &&
        !is_number(number))
        return SIG_AF_PASS;
    status = sig__af_destination(&sig->af_cfg, number);
    if (status != 0)
        gw_log(GW_LOG_WARN, cid(sip), "outbound call to '%s' refused: not an "
               "allowed destination", number ? number : "");
    return status ? status : SIG_AF_PASS;
}

int sig_antifraud_check(sig_daemon_t *sig, int side, msg_t *msg, const sip_t *sip,
                        unsigned facts)
{
    const sig_af_config_t *cfg = &sig->af_cfg;
    const char *method = sip_method_name(sip->sip_request->rq_method, "?");
    char ip[INET6_ADDRSTRLEN];
    const char *trunk;
    sig_af_entry_t *e;
    time_t now;

    if (!cfg->enabled)
        return SIG_AF_PASS;
    if (side == GW__SIDE__SIDE_INT)
        return check_outbound(sig, sip);
    if (msg_source_ip(msg, ip, sizeof ip) < 0)
        return SIG_AF_PASS;
    now = time(NULL);
    e = entry_get(sig->af, cfg, ip, 1);
    if (e == NULL)
        return SIG_AF_PASS;
    e->last_seen = now;
    if (e->banned_until > now) {
        sig_drop_log(sig, SIG_DROP_BANNED, ip, cid(sip), "%s, banned for %lld s more",
                     method, (long long)(e->banned_until - now));
        return SIG_AF_DROP;
    }
    if ((trunk = sig_routes_trunk(sig, msg)) != NULL) {
        /* A carrier sends many calls from one address: no rate limit,
         * no User-Agent test; a ban (above) still applies. */
        GW_DEBUG("anti-fraud: %s from trunk %s (%s)", method, trunk, ip);
        return SIG_AF_PASS;
    }
    if (facts & (SIG_AF_KNOWN_DIALOG | SIG_AF_REGISTERED_FLOW))
        GW_DEBUG("anti-fraud: %s from %s %s: not rate-limited", method, ip,
                 facts & SIG_AF_KNOWN_DIALOG ? "in a known dialog"
                                             : "on a registered flow");
    else if (cfg->rate > 0 && take_token(cfg, e) < 0) {
        sig_drop_log(sig, SIG_DROP_RATE, ip, cid(sip), "%s over %d/s (burst %d)%s",
                     method, cfg->rate, cfg->burst,
                     sip->sip_to && sip->sip_to->a_tag ? ", To tag of no known dialog" : "");
        return SIG_AF_DROP;
    }
    if (sip->sip_user_agent &&
        sig__af_list_has_substr(cfg->scanners, sip->sip_user_agent->g_string)) {
        sig_drop_log(sig, SIG_DROP_SCANNER, ip, cid(sip), "%s from scanner '%s'",
                     method, sip->sip_user_agent->g_string);
        return SIG_AF_DROP;
    }
    return SIG_AF_PASS;
}

static void count_failure(sig_daemon_t *sig, const char *ip, const sip_t *req,
                          int status)
{
    const sig_af_config_t *cfg = &sig->af_cfg;
    sig_af_entry_t *e = entry_get(sig->af, cfg, ip, 1);
    time_t now = time(NULL);

    if (e == NULL)
        return;
    if (e->failures == 0 || now - e->fail_start > cfg->window) {
        e->failures = 0;
        e->fail_start = now;
    }
    e->failures++;
    gw_log(GW_LOG_INFO, cid(req), "anti-fraud: %s from %s failed authentication "
           "(%d), %d of %d", sip_method_name(req->sip_request->rq_method, "?"), ip,
           status, e->failures, cfg->max_failures);
    if (e->failures < cfg->max_failures)
        return;
    e->banned_until = now + cfg->ban_time;
    e->failures = 0;
    gw_log(GW_LOG_WARN, cid(req), "anti-fraud: %s banned for %d s after %d failed "
           "authentications", ip, cfg->ban_time, cfg->max_failures);
    bans_save(sig);
}

/* Remembers the realm of the platform's own challenge. */
static void learn_realm(sig_af_t *af, const msg_auth_t *au)
{
    const char *r = au ? msg_params_find(au->au_params, "realm=") : NULL;
    size_t n;

    if (r == NULL)
        return;
    if (*r == '"')
        r++;
    n = strcspn(r, "\"");
    if (n >= sizeof af->learned_realm)
        return;
    memcpy(af->learned_realm, r, n);
    af->learned_realm[n] = '\0';
}

/* The challenge a valid user would get, in place of a 404. */
static void answer_challenge(sig_daemon_t *sig, nta_incoming_t *irq, int method)
{
    const char *realm = sig->af_cfg.realm[0] ? sig->af_cfg.realm
                      : sig->af->learned_realm[0] ? sig->af->learned_realm
                                                  : sig->cfg.ext_addr;
    char hdr[512];
    unsigned char rnd[16];
    char nonce[33];

    for (size_t i = 0; i < sizeof rnd; i++)
        rnd[i] = (unsigned char)(random() & 0xff);
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(nonce + 2 * i, 3, "%02x", rnd[i]);
    snprintf(hdr, sizeof hdr, "Digest realm=\"%s\", nonce=\"%s\", algorithm=MD5, "
             "qop=\"auth\"", realm, nonce);
    if (method == sip_method_register)
        nta_incoming_treply(irq, SIP_401_UNAUTHORIZED,
                            SIPTAG_WWW_AUTHENTICATE_STR(hdr), TAG_END());
    else
        nta_incoming_treply(irq, SIP_407_PROXY_AUTH_REQUIRED,
                            SIPTAG_PROXY_AUTHENTICATE_STR(hdr), TAG_END());
}

int sig_antifraud_response(sig_daemon_t *sig, nta_incoming_t *irq, int method,
                           int status, const sip_t *rsip)
{
    char ip[INET6_ADDRSTRLEN];
    msg_t *req;
    sip_t *rq;
    int creds, answered = 0;

    if (!sig->af_cfg.enabled ||
        (method != sip_method_register && method != sip_method_invite))
        return 0;
    if (status != 401 && status != 407 && status != 403 &&
        !(status == 404 && sig->af_cfg.uniform && method == sip_method_register))
        return 0;
    if (rsip && status == 401)
        learn_realm(sig->af, (const msg_auth_t *)rsip->sip_www_authenticate);
    if (rsip && status == 407)
        learn_realm(sig->af, (const msg_auth_t *)rsip->sip_proxy_authenticate);
    if (source_ip(irq, ip, sizeof ip) < 0)
        return 0;
    req = nta_incoming_getrequest(irq);
    rq = req ? sip_object(req) : NULL;
    if (rq == NULL) {
        if (req)
            msg_destroy(req);
        return 0;
    }
    creds = rq->sip_authorization != NULL || rq->sip_proxy_authorization != NULL;
    if (status == 404) {
        answer_challenge(sig, irq, method);
        answered = 1;
    }
    if (status == 403 || creds)
        count_failure(sig, ip, rq, status);
    msg_destroy(req);
    return answered;
}

/* ---- life cycle ------------------------------------------------------- */

int sig_antifraud_start(sig_daemon_t *sig)
{
    sig->af = calloc(1, sizeof *sig->af);
    if (sig->af == NULL)
        return -ENOMEM;
    srandom((unsigned)time(NULL) ^ (unsigned)getpid());
    bans_load(sig);
    sig->af->sweep = su_timer_create(su_root_task(sig->root), AF_SWEEP_MS);
    if (sig->af->sweep)
        su_timer_set_for_ever(sig->af->sweep, on_sweep, sig);
    GW_INFO("anti-fraud %s: ban after %d failures in %d s for %d s, rate %d/s "
            "(burst %d), outbound prefixes '%s' (denied '%s')",
            sig->af_cfg.enabled ? "on" : "off", sig->af_cfg.max_failures,
            sig->af_cfg.window, sig->af_cfg.ban_time, sig->af_cfg.rate,
            sig->af_cfg.burst, sig->af_cfg.allowed_prefixes,
            sig->af_cfg.denied_prefixes);
    return 0;
}

void sig_antifraud_stop(sig_daemon_t *sig)
{
    sig_af_t *af = sig->af;

    if (af == NULL)
        return;
    if (af->sweep)
        su_timer_destroy(af->sweep);
    for (unsigned i = 0; i < AF_BUCKETS; i++) {
        while (af->buckets[i]) {
            sig_af_entry_t *e = af->buckets[i];
            af->buckets[i] = e->next;
            free(e);
        }
    }
    free(af);
    sig->af = NULL;
}
