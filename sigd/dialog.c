/* Dialog state and BYE from the middle: see dialog.h.
 *
 * Route sets. Every proxy puts its Record-Route on top, so the list in a
 * 2xx reads from the callee towards the caller: [callee-side hops, ours
 * (one per side), caller-side hops]. From sigd, the callee is reached
 * through the callee-side hops nearest-first, i.e. reversed; the caller
 * through the caller-side hops in the order they appear (RFC 3261 12.1.1
 * and 12.1.2 read from the middle).
 *
 * A BYE sent by sigd is a new client transaction on the party's side; its
 * response is only logged. Each running BYE holds a reference on the call,
 * so the Call-ID stays printable after the call left the table.
 */
#include "call.h"
#include "dialog.h"
#include "proxy.h"
#include "turn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su_string.h>

#define SIDE_NAME(s) ((s) == GW__SIDE__SIDE_EXT ? "EXT" : "INT")

typedef struct sig_bye_s {
    nta_outgoing_t *orq;
    sig_call_t *call;           /* referenced */
    const char *who;            /* "caller", "callee", "extra branch" */
    Gw__Side side;              /* the side it went to */
    struct sig_bye_s *next, **prev;
} sig_bye_t;

static sig_bye_t *bye_list;

static char *header_str(sig_call_t *c, const void *h)
{
    return h ? sip_header_as_string(c->home, (const sip_header_t *)h) : NULL;
}

static void set_target(sig_call_t *c, sig_party_t *p, const sip_contact_t *m)
{
    char *t;

    if (m == NULL || m->m_url->url_host == NULL)
        return;
    t = url_as_string(c->home, m->m_url);
    if (t == NULL)
        return;
    su_free(c->home, p->target);
    p->target = t;
}

/* Appends "<url>" to the route string being built in the call's home. */
static char *route_add(sig_call_t *c, char *route, const url_t *u)
{
    char *us = url_as_string(c->home, u), *r;

    if (us == NULL)
        return route;
    r = route ? su_sprintf(c->home, "%s, <%s>", route, us)
              : su_sprintf(c->home, "<%s>", us);
    su_free(c->home, us);
    su_free(c->home, route);
    return r;
}

int sig_dialog_caller(sig_call_t *c, Gw__Side side, const sip_t *req)
{
    sig_party_t *p = &c->party[SIG_CALLER];

    /* An RFC 2543 caller sends no From tag (RFC 3261 12.1.2, RFC 4475
     * inv2543): its dialog is still the Call-ID's, and the tag-less From
     * is what its requests carry, so it is recorded as it is. */
    if (req->sip_from == NULL || req->sip_cseq == NULL)
        return -EINVAL;
    /* Before the spiral check: a spiral's pass from INT names the agent
     * being called on EXT. */
    sig_turn_call_seen(c, side, req);
    if (p->addr)
        return 0;    /* a spiral or a second fork of the same call */
    p->side = side;
    p->addr = header_str(c, req->sip_from);
    p->tag = req->sip_from->a_tag ? su_strdup(c->home, req->sip_from->a_tag) : NULL;
    p->cseq = req->sip_cseq->cs_seq;
    set_target(c, p, req->sip_contact);
    /* The caller's route set, from sigd: the Record-Route entries it came
     * with, nearest first (ours, added before this call, are skipped).
     * Taken here rather than from the 2xx: with topology hiding the callee
     * never sees them. */
    for (const sip_record_route_t *rr = req->sip_record_route; rr; rr = rr->r_next)
        if (!sig_proxy_is_ours(rr->r_url))
            p->route = route_add(c, p->route, rr->r_url);
    return p->addr && (p->tag || req->sip_from->a_tag == NULL) ? 0 : -ENOMEM;
}

/* The route set from sigd towards the callee of resp: the Record-Route
 * entries above ours, reversed; NULL when there are none (in the call's
 * home). */
static char *callee_route(sig_call_t *c, const sip_t *resp)
{
    const sip_record_route_t *rr, *first_ours = NULL;
    const sip_record_route_t *before[64];
    unsigned nbefore = 0;
    char *route = NULL;

    for (rr = resp->sip_record_route; rr; rr = rr->r_next) {
        if (sig_proxy_is_ours(rr->r_url)) {
            first_ours = rr;
            break;
        }
        if (nbefore < sizeof before / sizeof *before)
            before[nbefore++] = rr;
    }
    if (first_ours == NULL) {
        /* The callee dropped the Record-Route: in-dialog requests will not
         * pass here, and our BYE goes straight to the targets. */
        gw_log(GW_LOG_DEBUG, c->call_id, "response without our Record-Route");
        nbefore = 0;
    }
    while (nbefore > 0)
        route = route_add(c, route, before[--nbefore]->r_url);
    return route;
}

/* Records the callee from a response with a To tag: its address and tag,
 * remote target and route set. */
static int record_callee(sig_call_t *c, const sip_t *resp)
{
    sig_party_t *caller = &c->party[SIG_CALLER], *callee = &c->party[SIG_CALLEE];

    if (resp->sip_to == NULL || resp->sip_to->a_tag == NULL)
        return -EINVAL;
    callee->side = caller->side == GW__SIDE__SIDE_EXT ? GW__SIDE__SIDE_INT
                                                       : GW__SIDE__SIDE_EXT;
    su_free(c->home, callee->addr);
    su_free(c->home, callee->tag);
    callee->addr = header_str(c, resp->sip_to);
    callee->tag = su_strdup(c->home, resp->sip_to->a_tag);
    if (callee->addr == NULL || callee->tag == NULL)
        return -ENOMEM;
    set_target(c, callee, resp->sip_contact);
    su_free(c->home, callee->route);
    callee->route = callee_route(c, resp);
    return 0;
}

/* A copy of s in the call's home, replacing *dst. */
static int keep_str(sig_call_t *c, char **dst, const char *s)
{
    char *n = s ? su_strdup(c->home, s) : NULL;

    if (s && n == NULL)
        return -ENOMEM;
    su_free(c->home, *dst);
    *dst = n;
    return 0;
}

int sig_dialog_early(sig_call_t *c, const sip_t *resp)
{
    const sig_party_t *callee = &c->party[SIG_CALLEE];
    sig_early_party_t *e;
    int rc;

    if (c->confirmed || c->party[SIG_CALLER].addr == NULL)
        return 0;
    rc = record_callee(c, resp);
    if (rc < 0)
        return rc;
    for (e = c->early_callees; e; e = e->next)
        if (su_strmatch(e->p.tag, callee->tag))
            break;
    if (e == NULL) {
        if ((e = su_zalloc(c->home, sizeof *e)) == NULL)
            return -ENOMEM;
        e->next = c->early_callees;
        c->early_callees = e;
    }
    e->p.side = callee->side;
    if (keep_str(c, &e->p.tag, callee->tag) < 0 || keep_str(c, &e->p.addr, callee->addr) < 0 ||
        keep_str(c, &e->p.target, callee->target) < 0 ||
        keep_str(c, &e->p.route, callee->route) < 0)
        return -ENOMEM;
    return 0;
}

int sig_dialog_confirm(sig_call_t *c, const sip_t *resp)
{
    int rc;

    if (c->confirmed || c->party[SIG_CALLER].addr == NULL)
        return 0;
    rc = record_callee(c, resp);
    if (rc < 0)
        return rc;
    c->confirmed = 1;
    gw_log(GW_LOG_DEBUG, c->call_id, "dialog confirmed: caller on %s, callee on %s",
           SIDE_NAME(c->party[SIG_CALLER].side), SIDE_NAME(c->party[SIG_CALLEE].side));
    return 0;
}

const sig_party_t *sig_dialog_peer(const sig_call_t *c, Gw__Side from,
                                   const sip_t *req)
{
    const sig_party_t *p;

    if (c->party[SIG_CALLER].addr == NULL || c->party[SIG_CALLEE].addr == NULL)
        return NULL;
    if (!c->confirmed && req && req->sip_to && req->sip_to->a_tag &&
        c->party[SIG_CALLER].side == from) {
        for (const sig_early_party_t *e = c->early_callees; e; e = e->next)
            if (su_strmatch(e->p.tag, req->sip_to->a_tag))
                return e->p.target ? &e->p : NULL;
    }
    p = &c->party[c->party[SIG_CALLER].side == from ? SIG_CALLEE : SIG_CALLER];
    return p->target ? p : NULL;
}

void sig_dialog_request(sig_call_t *c, Gw__Side side, const sip_t *req)
{
    sig_party_t *p;
    sip_method_t m = req->sip_request->rq_method;

    if (!c->confirmed || req->sip_cseq == NULL ||
        m == sip_method_ack || m == sip_method_cancel)
        return;
    p = &c->party[c->party[SIG_CALLER].side == side ? SIG_CALLER : SIG_CALLEE];
    if (req->sip_cseq->cs_seq > p->cseq)
        p->cseq = req->sip_cseq->cs_seq;
    if (m == sip_method_invite || m == sip_method_update)
        set_target(c, p, req->sip_contact);
}

void sig_dialog_response(sig_call_t *c, Gw__Side side, const sip_t *resp)
{
    sip_method_t m;

    if (!c->confirmed || resp->sip_cseq == NULL)
        return;
    m = resp->sip_cseq->cs_method;
    if (m == sip_method_invite || m == sip_method_update)
        set_target(c, &c->party[c->party[SIG_CALLER].side == side ? SIG_CALLER
                                                                   : SIG_CALLEE],
                   resp->sip_contact);
}

int sig_dialog_known(sig_daemon_t *sig, const sip_t *req)
{
    const char *from, *to, *caller, *callee;
    sig_call_t *c;

    if (req->sip_call_id == NULL || req->sip_from == NULL || req->sip_to == NULL ||
        (from = req->sip_from->a_tag) == NULL || (to = req->sip_to->a_tag) == NULL ||
        (c = sig_call_find(sig, req->sip_call_id->i_id)) == NULL || c->ended ||
        (caller = c->party[SIG_CALLER].tag) == NULL)
        return 0;
    callee = c->party[SIG_CALLEE].tag;
    if (strcmp(from, caller) == 0)
        return callee == NULL || strcmp(to, callee) == 0;
    if (strcmp(to, caller) == 0)
        return callee == NULL || strcmp(from, callee) == 0;
    return 0;
}

/* ---- BYE from the middle ------------------------------------------------ */

static void bye_free(sig_bye_t *b)
{
    if ((*b->prev = b->next))
        b->next->prev = b->prev;
    if (b->orq)
        nta_outgoing_destroy(b->orq);
    sig_call_unref(b->call);
    free(b);
}

/* nta's magic type for client transactions is proxy.c's tx; a BYE passes
 * its own record through it (converted back here, never dereferenced as
 * a tx). */
static int on_bye_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
                           const sip_t *sip)
{
    sig_bye_t *b = (sig_bye_t *)(void *)magic;
    int status = sip && sip->sip_status ? sip->sip_status->st_status : 408;

    (void)orq;
    if (status < 200)
        return 0;
    gw_log(status < 300 || status == 481 ? GW_LOG_INFO : GW_LOG_WARN,
           b->call->call_id, "BYE to the %s on %s answered %d", b->who,
           SIDE_NAME(b->side), status);
    bye_free(b);
    return 0;
}

/* What sigd sends on its own in a dialog: a BYE (a transaction whose
 * answer is logged) or the ACK of a 2xx (no transaction). */
typedef struct {
    sip_method_t method;      /* sip_method_bye or sip_method_ack */
    const char *who;          /* for the logs */
    Gw__Side side;            /* the side of the party it goes to */
    const char *from, *to;    /* From and To values, with tags */
    const char *target;       /* Request-URI */
    const char *route;        /* Route value; NULL = none */
    uint32_t cseq;
} sig_mid_req_t;

static int send_mid(sig_call_t *c, const sig_mid_req_t *rq, const char *reason)
{
    int bye = rq->method == sip_method_bye;
    const char *name = bye ? "BYE" : "ACK";
    nta_agent_t *agent = c->sig->agent[rq->side];
    msg_t *msg = NULL;
    sip_t *sip;
    su_home_t *home;
    sig_bye_t *b = NULL;
    nta_outgoing_t *orq;
    const url_t *hop;
    char reason_hdr[160], text[96];
    size_t i;

    if (rq->target == NULL || agent == NULL)
        return -EINVAL;
    msg = nta_msg_create(agent, 0);
    b = bye ? calloc(1, sizeof *b) : NULL;
    if (msg == NULL || (bye && b == NULL))
        goto fail;
    sip = sip_object(msg);
    home = msg_home(msg);
    /* RFC 3326: tell the party why, in words an operator can grep; the
     * reason is our own text, but quotes would still break the header. */
    for (i = 0; reason[i] && i < sizeof text - 1; i++)
        text[i] = (reason[i] == '"' || reason[i] == '\\') ? '\'' : reason[i];
    text[i] = '\0';
    snprintf(reason_hdr, sizeof reason_hdr, "SIP;cause=200;text=\"%s\"", text);
    if (sip_add_tl(msg, sip,
                   SIPTAG_REQUEST(sip_request_create(home, rq->method, name,
                                                     URL_STRING_MAKE(rq->target), NULL)),
                   SIPTAG_FROM_STR(rq->from),
                   SIPTAG_TO_STR(rq->to),
                   SIPTAG_CALL_ID_STR(c->call_id),
                   SIPTAG_CSEQ(sip_cseq_create(home, rq->cseq, rq->method, name)),
                   TAG_IF(rq->route, SIPTAG_ROUTE_STR(rq->route)),
                   SIPTAG_MAX_FORWARDS_STR("70"),
                   TAG_IF(bye, SIPTAG_REASON_STR(reason_hdr)),
                   SIPTAG_CONTENT_LENGTH_STR("0"),
                   TAG_END()) < 0 ||
        sip->sip_request == NULL || sip->sip_from == NULL || sip->sip_to == NULL ||
        sip->sip_cseq == NULL)
        goto fail;
    hop = sip->sip_route ? sip->sip_route->r_url : sip->sip_request->rq_url;
    if (!bye) {
        /* An ACK is sent and done: nta keeps no transaction for it. */
        orq = nta_outgoing_mcreate(agent, NULL, NULL, (const url_string_t *)hop, msg,
                                   TAG_END());
        msg = NULL;   /* nta took it, even on failure */
        if (orq == NULL)
            goto fail;
        nta_outgoing_destroy(orq);
        gw_log(GW_LOG_INFO, c->call_id, "ACK sent to the %s on %s (%s)", rq->who,
               SIDE_NAME(rq->side), rq->target);
        return 0;
    }
    b->call = c;
    b->who = rq->who;
    b->side = rq->side;
    b->orq = nta_outgoing_mcreate(agent, on_bye_response,
                                  (nta_outgoing_magic_t *)(void *)b,
                                  (const url_string_t *)hop, msg, TAG_END());
    if (b->orq == NULL) {
        msg = NULL;   /* nta took it, even on failure */
        goto fail;
    }
    sig_call_ref(c);
    if ((b->next = bye_list))
        bye_list->prev = &b->next;
    b->prev = &bye_list;
    bye_list = b;
    gw_log(GW_LOG_INFO, c->call_id, "BYE sent to the %s on %s (%s)", rq->who,
           SIDE_NAME(rq->side), rq->target);
    return 0;
fail:
    gw_log(GW_LOG_WARN, c->call_id, "cannot send %s to the %s on %s (%s)", name,
           rq->who, SIDE_NAME(rq->side), rq->target);
    free(b);
    if (msg)
        msg_destroy(msg);
    return -EIO;
}

static int send_bye(sig_call_t *c, int to, const char *reason)
{
    sig_party_t *dst = &c->party[to], *src = &c->party[!to];
    sig_mid_req_t rq = {
        .method = sip_method_bye, .who = to == SIG_CALLER ? "caller" : "callee",
        .side = dst->side, .from = src->addr, .to = dst->addr,
        .target = dst->target, .route = dst->route, .cseq = src->cseq + 1,
    };
    int rc = send_mid(c, &rq, reason);

    if (rc == 0)
        src->cseq++;
    return rc;
}

int sig_dialog_bye(sig_call_t *c, const char *reason)
{
    int sent = 0;

    if (!c->confirmed)
        return -ENOTCONN;
    /* Callee first: on the INT side it is usually the platform that holds
     * the billing record. */
    if (send_bye(c, SIG_CALLEE, reason) == 0)
        sent++;
    if (send_bye(c, SIG_CALLER, reason) == 0)
        sent++;
    return sent;
}

int sig_dialog_other_fork(const sig_call_t *c, Gw__Side from, const sip_t *resp)
{
    const sig_party_t *callee = &c->party[SIG_CALLEE];

    return c->confirmed && callee->tag && from == callee->side &&
           resp->sip_status && resp->sip_status->st_status >= 200 &&
           resp->sip_status->st_status < 300 && resp->sip_cseq &&
           resp->sip_cseq->cs_method == sip_method_invite &&
           resp->sip_to && resp->sip_to->a_tag &&
           !su_strmatch(resp->sip_to->a_tag, callee->tag);
}

/* 1 when the tag is in the call's list of branches ended from the middle
 * (" tag1 tag2 "); added when add is set. */
static int fork_ended(sig_call_t *c, const char *tag, int add)
{
    const char *l = c->forks_ended;
    size_t tl = strlen(tag);

    if (tl == 0 || strchr(tag, ' '))
        return 1;   /* cannot be listed: never BYEd twice */
    for (const char *p = l ? strstr(l, tag) : NULL; p; p = strstr(p + 1, tag))
        if (p[-1] == ' ' && p[tl] == ' ')
            return 1;
    if (add) {
        char *n = su_sprintf(c->home, "%s%s ", l ? l : " ", tag);
        if (n) {
            su_free(c->home, c->forks_ended);
            c->forks_ended = n;
        }
    }
    return 0;
}

int sig_dialog_end_fork(sig_call_t *c, Gw__Side side, const sip_t *resp)
{
    su_home_t home[1] = { SU_HOME_INIT(home) };
    sig_mid_req_t rq = { .side = side, .who = "extra branch" };
    const char *tag = resp->sip_to->a_tag;
    int rc;

    rq.from = resp->sip_from ? sip_header_as_string(home, (const sip_header_t *)
                                                    resp->sip_from) : NULL;
    rq.to = sip_header_as_string(home, (const sip_header_t *)resp->sip_to);
    rq.target = resp->sip_contact && resp->sip_contact->m_url->url_host
                ? url_as_string(home, resp->sip_contact->m_url) : NULL;
    rq.route = callee_route(c, resp);   /* in the call's home: freed below */
    rq.cseq = resp->sip_cseq->cs_seq;
    if (rq.from == NULL || rq.to == NULL || rq.target == NULL) {
        gw_log(GW_LOG_WARN, c->call_id, "2xx of an extra branch (To tag %s) on %s "
               "without From, To or Contact: not ended", tag, SIDE_NAME(side));
        rc = -EINVAL;
        goto out;
    }
    /* Every copy of the 2xx is ACKed (the branch retransmits until it
     * gets one); the BYE goes once. */
    rq.method = sip_method_ack;
    rc = send_mid(c, &rq, "");
    if (rc == 0 && !fork_ended(c, tag, 1)) {
        gw_log(GW_LOG_INFO, c->call_id, "2xx of an extra branch (To tag %s, the call "
               "was answered by %s): ended from the middle", tag,
               c->party[SIG_CALLEE].tag);
        rq.method = sip_method_bye;
        rq.cseq++;
        rc = send_mid(c, &rq, "answered elsewhere");
    }
out:
    su_free(c->home, (void *)rq.route);
    su_home_deinit(home);
    return rc;
}

void sig_dialog_stop(sig_daemon_t *sig)
{
    (void)sig;
    while (bye_list)
        bye_free(bye_list);
}

void sig_dialog_ctl_terminate(sig_daemon_t *sig, const char *peer,
                              const Gw__Envelope *env)
{
    const Gw__CtlRequest *rq = env->ctl;
    Gw__Envelope reply = GW__ENVELOPE__INIT;
    Gw__CtlReply r = GW__CTL_REPLY__INIT;
    sig_call_t *c;
    char text[160];

    if (rq->n_args != 1 || rq->args[0] == NULL) {
        gw_bus_reply_error(sig->bus, peer, env, GW__STATUS__ST_EINVAL,
                           "usage: terminate CALL-ID");
        return;
    }
    c = sig_call_find(sig, rq->args[0]);
    if (c == NULL) {
        gw_bus_reply_error(sig->bus, peer, env, GW__STATUS__ST_ENOENT, "no such call");
        return;
    }
    snprintf(text, sizeof text, "%s", c->confirmed ? "BYE sent to both parties"
                                                    : "call not confirmed: media ended");
    GW_INFO("bus: '%s' asks to terminate call %s", peer, rq->args[0]);
    sig_call_terminate(c, "terminated by operator");
    r.status = GW__STATUS__ST_OK;
    r.text = text;
    r.has_calls = 1;
    r.calls = sig->ncalls;
    reply.body_case = GW__ENVELOPE__BODY_CTL_REPLY;
    reply.ctl_reply = &r;
    gw_bus_reply(sig->bus, peer, env, &reply);
}
