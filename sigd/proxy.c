/* The SIP proxy: routing, forwarding and the media hooks of a dialog.
 *
 * Every forwarded request is a sig_tx_t pairing the server transaction
 * (irq, towards the sender) with the client transaction (orq, towards the
 * next hop). A request carrying an SDP offer waits in its tx while the
 * media node allocates the session; it leaves with its SDP rewritten to the
 * relay's address on the side it goes to. Responses with the answer are
 * rewritten synchronously from the relay endpoints the offer returned, and
 * the answerer's addresses are passed to the node without waiting.
 *
 * Routing (RFC 3261 16.4/16.6): Route entries naming us are removed; the
 * next hop is the first remaining Route, else the Request-URI; a new
 * request from EXT goes to the configured internal target. sigd inserts
 * two Record-Route entries (one per side, the outgoing side's on top) so
 * that both parties address it on their own side.
 *
 * Forking (RFC 3261 16.7). A call has one media session, which can anchor
 * one answered dialog, so sigd lets through every provisional response
 * (each early dialog with its own To tag reaches the caller) but only one
 * 2xx: the first. Each early answer with SDP is given to the node as it
 * passes, so the early dialog that spoke last is the one whose media
 * flows while it rings (mediad latches only its address for a moment, so
 * that packets still coming from the previous one do not take the leg);
 * the first 2xx settles it (its SDP, or the answer its dialog gave in an
 * 18x, kept per To tag in the call). A later 2xx with another To tag, on
 * the client transaction or past it (retransmitted_2xx()), is the answer
 * of an extra branch: dialog.c ACKs it and BYEs that branch from the
 * middle, and it never reaches the caller. The caller's CANCEL goes on the
 * one client transaction; the forking platform cancels its branches.
 * When it is the platform that forks towards two of our agents (two
 * INVITEs with one Call-ID), both transactions share the call and its
 * session (the second offer goes to the node the first asked); a failed
 * branch ends the call only when no other lives (tx_end_call()), and a
 * second agent's 2xx after the first one's is ended the same way, its
 * transaction answered 480.
 */
#include "proxy.h"
#include "antifraud.h"
#include "call.h"
#include "dialog.h"
#include "media.h"
#include "nat.h"
#include "routes.h"
#include "nodes.h"
#include "reject.h"
#include "sipparse.h"
#include "sdp.h"
#include "topo.h"
#include "net.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/sresolv.h>
#include <sofia-sip/su_string.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/url.h>

/* Receive buffer of the UDP listeners. Sofia reads one datagram per
 * wake-up; at a few thousand calls per second (seven datagrams each) the
 * default 208 KiB holds a few milliseconds, less than sigd may wait for
 * a core on a busy host, and a dropped INVITE or 200 costs a 500 ms
 * retransmission. Sofia sets it with SO_RCVBUFFORCE (over rmem_max) when
 * sigd may, SO_RCVBUF otherwise. */
#define SIG_UDP_RMEM (4u * 1024 * 1024)

/* Bytes preloaded into each message's memory home beyond its own size
 * (NTATAG_PRELOAD): the parser then carves the header structures of a
 * request or response out of one block instead of one malloc() each. */
#define SIG_MSG_PRELOAD 2048

#define EXT GW__SIDE__SIDE_EXT
#define INT GW__SIDE__SIDE_INT
#define OTHER(s) ((s) == EXT ? INT : EXT)
#define SIDE_NAME(s) ((s) == EXT ? "EXT" : "INT")

typedef struct sig_tx_s sig_tx_t;

struct sig_tx_s {
    su_home_t home[1];
    /* read-only */
    sig_daemon_t *sig;
    Gw__Side in_side;
    Gw__Side out_side;
    sip_method_t method;
    /* private */
    nta_incoming_t *irq;
    nta_outgoing_t *orq;
    nta_outgoing_t *cancel;       /* our CANCEL of orq, kept until tx_free() */
    sig_call_t *call;             /* referenced; set for INVITE/UPDATE of a call */
    msg_t *msg;                   /* the request to forward, or a held 2xx */
    url_t *hop;                   /* its next hop */
    sig_sdp_ep_t offer[SIG_SDP_MAX_STREAMS];
    unsigned noffer;
    sdp_session_t *sdp;           /* parsed offer, rewritten on media reply */
    int has_offer;                /* an SDP offer anchored through media */
    Gw__Side offer_side;          /* the offerer: in_side, out_side for a late offer */
    int resp_offer;               /* the offer is in the 2xx held in msg */
    int initial;                  /* dialog-creating request (no To tag) */
    int canceled;                 /* CANCELed while waiting for media */
    char tried_node[GW_BUS_PEERLEN];
    int target;                   /* index of the internal target tried (routes.c) */
    int out_alt;                  /* outbound: alternative of the route tried */
    int out_more;                 /* outbound: another alternative follows */
    char number[64];              /* outbound: the number routed */
    int tls_wait;                 /* sent over TLS, nothing back yet */
    long long tls_sent_ms;        /* when (sig_tls_now_ms()) */
    msg_t *retry;                 /* copy of a new EXT request, for failover */
    int provisional;              /* a 101-199 was relayed */
    int answered;                 /* a 2xx of the call's answered dialog came here */
    int hide;                     /* topology hiding applies (topo.c) */
    int hide_contact;             /* ... and to the Contact (a call's message) */
    sig_tx_t *next, **prev;       /* sig-wide list, for shutdown */
};

static sig_tx_t *tx_list;
static unsigned tls_waiting;      /* txs with tls_wait set */
static su_timer_t *tls_timer;

/* ---- helpers ---------------------------------------------------------- */

static const char *call_id_of(const sip_t *sip)
{
    return sip && sip->sip_call_id ? sip->sip_call_id->i_id : NULL;
}

static int side_port(sig_daemon_t *sig, Gw__Side s)
{
    return s == EXT ? sig->cfg.ext_port : sig->cfg.int_port;
}

static const char *side_addr(sig_daemon_t *sig, Gw__Side s)
{
    return s == EXT ? sig->cfg.ext_addr : sig->cfg.int_addr;
}

/* Every address:port sigd listens on (each side's main set, the EXT TLS
 * port, the extra sets of ext_listeners/int_listeners), filled by
 * sig_proxy_start() as the transports are added. */
#define MAX_LISTENERS 16
static struct {
    char host[64];          /* as in the URI (IPv6 without brackets) */
    unsigned port;
} listeners[MAX_LISTENERS];
static int nlisteners;

static int listener_add(const char *host, unsigned port)
{
    if (nlisteners >= MAX_LISTENERS || strlen(host) >= sizeof listeners[0].host)
        return -1;
    snprintf(listeners[nlisteners].host, sizeof listeners[0].host, "%s", host);
    listeners[nlisteners++].port = port;
    return 0;
}

/* 1 when the URI addresses one of our listeners. */
static int is_ours(const url_t *u)
{
    const char *h;
    size_t hl;
    unsigned port;

    if (u == NULL || u->url_host == NULL)
        return 0;
    port = u->url_port ? (unsigned)atoi(u->url_port)
                       : (u->url_type == url_sips ? 5061 : 5060);
    h = u->url_host;
    hl = strlen(h);
    if (h[0] == '[' && hl > 2) {    /* [v6] in URIs */
        h++;
        hl -= 2;
    }
    for (int i = 0; i < nlisteners; i++)
        if (port == listeners[i].port && strlen(listeners[i].host) == hl &&
            strncasecmp(listeners[i].host, h, hl) == 0)
            return 1;
    return 0;
}

int sig_proxy_is_ours(const url_t *u)
{
    return is_ours(u);
}

int sig_proxy_to_agent(const sip_t *sip)
{
    const sip_route_t *r = sip->sip_route;

    return r && is_ours(r->r_url) && url_has_param(r->r_url, SIG_FLOW_PARAM);
}

static void tx_free(sig_tx_t *tx)
{
    if (tx->prev) {
        if ((*tx->prev = tx->next))
            tx->next->prev = tx->prev;
    }
    sig_media_forget(tx->sig, tx);
    if (tx->tls_wait)
        tls_waiting--;
    if (tx->cancel)
        nta_outgoing_destroy(tx->cancel);
    if (tx->orq)
        nta_outgoing_destroy(tx->orq);
    if (tx->irq)
        nta_incoming_destroy(tx->irq);
    if (tx->msg)
        msg_destroy(tx->msg);
    if (tx->retry)
        msg_destroy(tx->retry);
    if (tx->call && tx->initial && tx->method == sip_method_invite)
        tx->call->invites--;
    if (tx->call)
        sig_call_unref(tx->call);
    su_home_deinit(tx->home);
    free(tx);
}

static sig_tx_t *tx_new(sig_daemon_t *sig, nta_incoming_t *irq, Gw__Side in_side,
                        const sip_t *sip)
{
    sig_tx_t *tx = calloc(1, sizeof *tx);

    if (tx == NULL)
        return NULL;
    su_home_init(tx->home);
    tx->sig = sig;
    tx->irq = irq;
    tx->in_side = in_side;
    tx->out_side = OTHER(in_side);
    tx->offer_side = in_side;
    tx->method = sip->sip_request->rq_method;
    if ((tx->next = tx_list))
        tx_list->prev = &tx->next;
    tx->prev = &tx_list;
    tx_list = tx;
    return tx;
}

/* Replaces the message body (and Content-Length) with text. */
static int set_body(msg_t *msg, sip_t *sip, const char *text)
{
    su_home_t *home = msg_home(msg);
    size_t len = strlen(text);
    sip_payload_t *pl = sip_payload_create(home, text, (isize_t)len);
    sip_content_length_t *cl = sip_content_length_create(home, (uint32_t)len);

    if (pl == NULL || cl == NULL)
        return -1;
    if (sip->sip_payload)
        msg_header_replace(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_payload,
                           (msg_header_t *)pl);
    else
        msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)pl);
    if (sip->sip_content_length)
        msg_header_replace(msg, (msg_pub_t *)sip,
                           (msg_header_t *)sip->sip_content_length,
                           (msg_header_t *)cl);
    else
        msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)cl);
    return 0;
}

/* Methods whose Contact becomes a dialog's remote target. */
static int refreshes_target(sip_method_t m)
{
    return m == sip_method_invite || m == sip_method_update ||
           m == sip_method_subscribe || m == sip_method_refer ||
           m == sip_method_notify;
}

static int has_sdp(const sip_t *sip)
{
    if (sip->sip_payload == NULL || sip->sip_payload->pl_len == 0)
        return 0;
    return sip->sip_content_type == NULL ||
           su_casematch(sip->sip_content_type->c_type, "application/sdp");
}

/* ---- forwarding ------------------------------------------------------- */

/* 1 when a next hop is reached over TLS (sips: or transport=tls). */
static int hop_is_tls(const url_t *hop)
{
    return hop && (hop->url_type == url_sips || url_has_param(hop, "transport=tls"));
}

/* How a next hop is reached, for our URI on its side (topo.c). */
static sig_tp_t hop_tp(const url_t *hop)
{
    if (hop_is_tls(hop))
        return SIG_TP_TLS;
    return hop && url_has_param(hop, "transport=tcp") ? SIG_TP_TCP : SIG_TP_UDP;
}

/* 1 when a hidden request's or response's Contact becomes ours: it
 * belongs to a call (whose targets sigd keeps), and is no registration.
 * Asked when the request arrives: a BYE ends its call before it leaves. */
static int hides_contact(sig_daemon_t *sig, sip_method_t m, const sip_t *sip)
{
    return m != sip_method_register && sig_call_find(sig, call_id_of(sip)) != NULL;
}

/* Relays a response on the server transaction, hidden as the transaction
 * is (the sender's Vias and Record-Route from its request as received).
 * Takes msg. A response that cannot be hidden is replaced by a 500: the
 * other side's addresses never leak. */
static void reply(sig_tx_t *tx, msg_t *msg)
{
    msg_t *req;
    sip_t *sip = sip_object(msg), *rs;

    if (!tx->hide) {
        nta_incoming_mreply(tx->irq, msg);
        return;
    }
    req = nta_incoming_getrequest(tx->irq);
    rs = req ? sip_object(req) : NULL;
    if (rs == NULL ||
        sig_topo_response(tx->sig, msg, sip, rs->sip_via, rs->sip_record_route,
                          tx->in_side, tx->hide_contact) < 0) {
        gw_log(GW_LOG_WARN, call_id_of(sip), "%d to %s: cannot hide the topology; "
               "answered 500 instead", sip->sip_status ? sip->sip_status->st_status : 0,
               sip_method_name(tx->method, "?"));
        msg_destroy(msg);
        if (nta_incoming_status(tx->irq) < 200)
            nta_incoming_treply(tx->irq, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
    } else {
        nta_incoming_mreply(tx->irq, msg);
    }
    if (req)
        msg_destroy(req);
}

static int on_response(sig_tx_t *tx, nta_outgoing_t *orq, const sip_t *sip);
static int on_cancel(sig_tx_t *tx, nta_incoming_t *irq, const sip_t *sip);
static int answer_media(sig_call_t *c, Gw__Side to, msg_t *msg, sip_t *sip,
                        sig_media_cb cb, void *arg);

/* Sends tx->msg to tx->hop from the outgoing side's agent. */
static int send_out(sig_tx_t *tx)
{
    sig_daemon_t *sig = tx->sig;
    msg_t *msg = tx->msg;

    tx->msg = NULL;
    if (tx->hide) {
        sip_t *sip = sip_object(msg);

        if (sig_topo_request(sig, msg, sip, tx->out_side, hop_tp(tx->hop),
                             tx->hide_contact) < 0) {
            gw_log(GW_LOG_WARN, call_id_of(sip), "cannot hide the topology of %s",
                   sip_method_name(tx->method, "?"));
            msg_destroy(msg);
            return -1;
        }
    }
    /* A new request from EXT keeps a copy (without our Via) in case its
     * internal target fails and the next one must be tried. */
    if (tx->initial && tx->retry == NULL &&
        ((tx->in_side == EXT && sig_routes_more(tx->target)) || tx->out_more))
        tx->retry = msg_dup(msg);
    tx->orq = nta_outgoing_mcreate(sig->agent[tx->out_side], on_response, tx,
                                   (url_string_t *)tx->hop, msg, TAG_END());
    if (tx->orq == NULL) {
        gw_log(GW_LOG_WARN, NULL, "cannot forward %s to " URL_PRINT_FORMAT,
               sip_method_name(tx->method, "?"), URL_PRINT_ARGS(tx->hop));
        return -1;
    }
    /* Over TLS, nta learns of a failed connection only when timer B
     * fires (32 s): watched in on_tls_timer() instead. */
    if (hop_is_tls(tx->hop) && tx->method != sip_method_ack && tls_timer) {
        if (!tx->tls_wait)
            tls_waiting++;
        tx->tls_wait = 1;
        tx->tls_sent_ms = sig_tls_now_ms();
    }
    return 0;
}

/* Ends the call of a dialog-creating request that failed, unless another
 * branch of it lives: the platform forked towards two of our agents (two
 * INVITEs, one Call-ID) and another INVITE is still in flight, or another
 * one was answered (this one is the branch the platform CANCELed). */
static void tx_end_call(sig_tx_t *tx, const char *why)
{
    sig_call_t *c = tx->call;

    if (c == NULL || !tx->initial)
        return;
    if (tx->method == sip_method_invite &&
        (c->invites > 1 || (c->confirmed && !tx->answered))) {
        gw_log(GW_LOG_INFO, c->call_id, "a branch of the call ended (%s); the call "
               "goes on (%s)", why, c->confirmed ? "answered" : "another branch rings");
        return;
    }
    sig_call_end(c, why);
}

/* Replies with status, ends the call's media when this was the request
 * that created it, and frees the tx. */
static void tx_fail(sig_tx_t *tx, int status, const char *phrase,
                    const char *why)
{
    sig_daemon_t *sig = tx->sig;
    char ra[16];

    gw_log(GW_LOG_WARN, tx->call ? tx->call->call_id : NULL,
           "%s from %s answered %d: %s", sip_method_name(tx->method, "?"),
           SIDE_NAME(tx->in_side), status, why);
    if (status == 503 && sig->cfg.retry_after > 0) {
        snprintf(ra, sizeof ra, "%d", sig->cfg.retry_after);
        nta_incoming_treply(tx->irq, status, phrase, SIPTAG_RETRY_AFTER_STR(ra),
                            TAG_END());
    } else {
        nta_incoming_treply(tx->irq, status, phrase, TAG_END());
    }
    tx_end_call(tx, why);
    tx_free(tx);
}

static void on_offer_reply(sig_daemon_t *sig, void *arg, sig_node_t *node,
                           const Gw__MediaReply *r);

/* Asks a node for the session (or the call's node for a re-offer). */
static int request_media(sig_tx_t *tx)
{
    sig_daemon_t *sig = tx->sig;
    sig_call_t *c = tx->call;
    sig_node_t *node;

    if (c->node[0]) {
        node = sig_nodes_find(sig, c->node);
    } else if (c->asked_node[0] && !tx->tried_node[0]) {
        /* Another branch's offer went there and has no reply yet: the
         * platform forked towards two of our agents. One session. */
        node = sig_nodes_find(sig, c->asked_node);
    } else {
        node = sig_nodes_pick_media(sig, tx->tried_node[0]
                                             ? sig_nodes_find(sig, tx->tried_node)
                                             : NULL);
    }
    if (node == NULL)
        return -1;
    if (c->node[0] == '\0')
        snprintf(c->asked_node, sizeof c->asked_node, "%s", node->name);
    snprintf(tx->tried_node, sizeof tx->tried_node, "%s", node->name);
    c->offer_side = tx->offer_side;
    if (sig_media_offer(sig, node, c, tx->offer_side, tx->offer, tx->noffer,
                        on_offer_reply, tx) < 0)
        return -1;
    return 0;
}

static void copy_relay(sig_sdp_ep_t *dst, const Gw__Endpoint *e)
{
    memset(dst, 0, sizeof *dst);
    snprintf(dst->addr, sizeof dst->addr, "%s", e->addr);
    dst->port = e->port;
    dst->rtcp_port = e->has_rtcp_port ? e->rtcp_port : e->port + 1;
    /* The relay's key for the party on this side, if it speaks SRTP. */
    if (e->n_crypto > 0) {
        dst->ncrypto = 1;
        dst->crypto[0].tag = e->crypto[0]->tag;
        snprintf(dst->crypto[0].suite, sizeof dst->crypto[0].suite, "%s",
                 e->crypto[0]->suite);
        snprintf(dst->crypto[0].key, sizeof dst->crypto[0].key, "%s",
                 e->crypto[0]->key);
    }
}

static void on_offer_reply(sig_daemon_t *sig, void *arg, sig_node_t *node,
                           const Gw__MediaReply *r)
{
    sig_tx_t *tx = arg;
    sig_call_t *c = tx->call;
    sip_t *sip = sip_object(tx->msg);
    sig_sdp_ep_t relay[SIG_SDP_MAX_STREAMS];
    char err[256], *text;
    int first = (c->node[0] == '\0');

    if (tx->canceled) {
        /* 487 was sent when the CANCEL came; only clean up. */
        tx_end_call(tx, "canceled");
        tx_free(tx);
        return;
    }
    if (r == NULL || r->n_streams < tx->noffer) {
        /* One more node, if there is another live one, then 503. */
        if (first && sig_nodes_pick_media(sig, node) != NULL &&
            tx->tried_node[0] && strcmp(tx->tried_node, "*") != 0) {
            gw_log(GW_LOG_WARN, c->call_id, "media node '%s' failed; trying another",
                   tx->tried_node);
            if (request_media(tx) == 0) {
                snprintf(tx->tried_node, sizeof tx->tried_node, "*");
                return;
            }
        }
        tx_fail(tx, SIP_503_SERVICE_UNAVAILABLE, "no media relay available");
        return;
    }
    if (first) {
        snprintf(c->node, sizeof c->node, "%s", node ? node->name : tx->tried_node);
        if (node)
            node->sessions++;
    }
    c->has_media = 1;
    c->nstreams = (unsigned)r->n_streams;
    for (size_t i = 0; i < r->n_streams && i < SIG_SDP_MAX_STREAMS; i++) {
        copy_relay(&c->ext_relay[i], r->streams[i]->ext_local);
        copy_relay(&c->int_relay[i], r->streams[i]->int_local);
    }
    memcpy(relay, sig_call_relay(c, OTHER(tx->offer_side)), sizeof relay);
    for (unsigned i = 0; i < tx->noffer; i++)
        relay[i].port = tx->offer[i].port ? relay[i].port : 0;
    text = sig_sdp_rewrite(tx->home, tx->sdp, relay, tx->noffer, err, sizeof err);
    if (text == NULL || set_body(tx->msg, sip, text) < 0) {
        tx_fail(tx, SIP_500_INTERNAL_SERVER_ERROR, text ? "out of memory" : err);
        return;
    }
    gw_log(GW_LOG_INFO, c->call_id, "media on '%s': %s %s:%u <-> %s %s:%u",
           c->node, SIDE_NAME(EXT), c->ext_relay[0].addr, c->ext_relay[0].port,
           SIDE_NAME(INT), c->int_relay[0].addr, c->int_relay[0].port);
    if (tx->resp_offer) {
        /* A late offer: the 2xx goes on; the answer comes in the ACK. */
        c->late_offer = 1;
        reply(tx, tx->msg);
        tx->msg = NULL;
        tx_free(tx);
        return;
    }
    if (send_out(tx) < 0)
        tx_fail(tx, SIP_500_INTERNAL_SERVER_ERROR, "cannot forward");
}

/* Parses the request's SDP offer and starts the media request. Returns 0
 * when the tx now waits for media, a SIP status to answer with otherwise. */
static int start_offer(sig_tx_t *tx, sip_t *sip)
{
    sig_daemon_t *sig = tx->sig;
    char err[256];
    int n;

    tx->sdp = sig_sdp_parse(tx->home, sip->sip_payload->pl_data,
                            sip->sip_payload->pl_len, err, sizeof err);
    if (tx->sdp == NULL) {
        gw_log(GW_LOG_WARN, call_id_of(sip), "%s from %s rejected: %s",
               sip_method_name(tx->method, "?"), SIDE_NAME(tx->in_side), err);
        return 488;
    }
    n = sig_sdp_endpoints(tx->sdp, tx->offer, SIG_SDP_MAX_STREAMS, err, sizeof err);
    if (n <= 0) {
        gw_log(GW_LOG_WARN, call_id_of(sip), "%s from %s rejected: %s",
               sip_method_name(tx->method, "?"), SIDE_NAME(tx->in_side),
               n == 0 ? "SDP has no media" : err);
        return 488;
    }
    tx->noffer = (unsigned)n;
    for (int i = 0; i < n; i++) {
        /* An SRTP offer we cannot decrypt is refused, never relayed in the
         * clear; the other leg speaks what the policy says. */
        if (tx->offer[i].port && tx->offer[i].savp &&
            !sig_sdp_srtp_supported(&tx->offer[i])) {
            gw_log(GW_LOG_WARN, call_id_of(sip), "%s from %s rejected: no "
                   "supported SRTP suite in m= line %d",
                   sip_method_name(tx->method, "?"), SIDE_NAME(tx->in_side), i);
            return 488;
        }
        tx->offer[i].peer_srtp = tx->out_side == EXT ? sig->cfg.ext_srtp
                                                     : sig->cfg.int_srtp;
    }
    if (tx->call == NULL) {
        /* An initial INVITE got its call in forward(); anything else
         * needs one that exists. */
        tx->call = sig_call_find(sig, call_id_of(sip));
        if (tx->call == NULL)
            return 481;
        sig_call_ref(tx->call);
    }
    tx->has_offer = 1;
    if (request_media(tx) < 0) {
        tx_end_call(tx, "no media node");
        return 503;
    }
    return 0;
}

/* A Request-URI naming us is rewritten to the host and port of hop (when
 * not NULL) and to user (when not NULL), in one new request line. */
static int retarget_user(msg_t *msg, sip_t *sip, const url_t *hop, const char *user)
{
    url_t *ru;
    sip_request_t *rq;

    ru = url_hdup(msg_home(msg), sip->sip_request->rq_url);
    if (ru == NULL)
        return -ENOMEM;
    if (hop) {
        ru->url_host = hop->url_host;
        ru->url_port = hop->url_port;
    }
    if (user)
        ru->url_user = user;
    rq = sip_request_create(msg_home(msg), sip->sip_request->rq_method,
                            sip->sip_request->rq_method_name, (url_string_t *)ru,
                            NULL);
    if (rq == NULL)
        return -ENOMEM;
    msg_header_replace(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_request,
                       (msg_header_t *)rq);
    return 0;
}

static int retarget(msg_t *msg, sip_t *sip, const url_t *hop)
{
    return retarget_user(msg, sip, hop, NULL);
}

/* RFC 4904 trunk groups in the user part of a telephone-number URI
 * ("+41441234567;tgrp=carrier-a;trunk-context=gw.example.com"): a call
 * from a trunk recognised by [routes] trunks is tagged with the trunk's
 * name towards the platform (when [routes] trunk_context is set); a call
 * from the platform may name its trunk group, which selects the route
 * "tgrp:NAME", and the tags are removed before it leaves. Both give the
 * new Request-URI user (in msg's home), or NULL to keep the one it has,
 * for the one retarget_user() of the request. */
static const char *tagged_user(sig_daemon_t *sig, msg_t *msg, const sip_t *sip,
                               const char *trunk)
{
    const char *user = sip->sip_request->rq_url->url_user;
    const char *ctx = sig->routes_cfg.trunk_context;

    if (trunk == NULL || ctx[0] == '\0' || user == NULL ||
        (user[0] != '+' && (user[0] < '0' || user[0] > '9')) || strchr(user, ';'))
        return NULL;
    return su_sprintf(msg_home(msg), "%s;tgrp=%s;trunk-context=%s", user, trunk, ctx);
}

static const char *untagged_user(msg_t *msg, const sip_t *sip)
{
    const char *user = sip->sip_request->rq_url->url_user;

    if (user == NULL || strchr(user, ';') == NULL ||
        (!strstr(user, ";tgrp=") && !strstr(user, ";trunk-context=")))
        return NULL;
    return su_strndup(msg_home(msg), user, (isize_t)strcspn(user, ";"));
}

/* An in-dialog request to our Contact goes to the other party's remote
 * target, along that party's route set, both kept in the call (dialog.c);
 * whatever Route entries it brought beyond ours are dropped. 0, or a SIP
 * status (481: no such dialog). */
static int to_peer(sig_daemon_t *sig, sig_tx_t *tx, msg_t *msg, sip_t *sip)
{
    sig_call_t *c = sig_call_find(sig, call_id_of(sip));
    const sig_party_t *dst = c ? sig_dialog_peer(c, tx->in_side, sip) : NULL;
    su_home_t *home = msg_home(msg);
    sip_request_t *rq;
    sip_route_t *r = NULL;

    if (dst == NULL) {
        gw_log(GW_LOG_INFO, call_id_of(sip), "%s from %s to our Contact names no "
               "dialog we know: 481", sip_method_name(tx->method, "?"),
               SIDE_NAME(tx->in_side));
        return 481;
    }
    rq = sip_request_create(home, sip->sip_request->rq_method,
                            sip->sip_request->rq_method_name,
                            URL_STRING_MAKE(dst->target), NULL);
    if (dst->route && (r = sip_route_make(home, dst->route)) == NULL)
        return 500;
    if (rq == NULL ||
        msg_header_replace(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_request,
                           (msg_header_t *)rq) < 0)
        return 500;
    while (sip->sip_route)
        sip_route_remove(msg, sip);
    if (r && msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)r) < 0)
        return 500;
    return 0;
}

/* Removes Route entries naming us, then picks the next hop. trunk: the
 * trunk a new request from EXT came from (sig_routes_trunk(), when
 * trunk_context is set), else NULL. Returns 0, or a SIP status. */
static int route(sig_daemon_t *sig, sig_tx_t *tx, msg_t *msg, sip_t *sip,
                 const char *trunk)
{
    const url_t *hop;
    url_t *flow = NULL;

    /* A request for an agent registered through us: the Path we gave its
     * REGISTER names the flow to send it on. */
    if (tx->in_side == INT)
        flow = sig_nat_flow_hop(sig, tx->home, sip);
    while (sip->sip_route && is_ours(sip->sip_route->r_url))
        sip_route_remove(msg, sip);
    if (flow) {
        tx->hop = flow;
        return 0;
    }
    if (sip->sip_route && tx->initial && tx->in_side == EXT) {
        /* A new request from the internet goes where our routing says,
         * never along a Route set it brought (it could name any internal
         * host). */
        while (sip->sip_route)
            sip_route_remove(msg, sip);
    }
    if (!tx->initial && is_ours(sip->sip_request->rq_url)) {
        /* Our Contact: a party of a hidden call addressed us (topo.c). */
        int rc = to_peer(sig, tx, msg, sip);

        if (rc != 0)
            return rc;
    }
    if (sip->sip_route) {
        hop = sip->sip_route->r_url;
    } else if (tx->initial && tx->in_side == EXT) {
        /* A Request-URI naming us gets the target's host and port, and a
         * call from a trunk its tags: one new Request-URI for both. */
        int ours = is_ours(sip->sip_request->rq_url);
        const char *user;

        hop = sig_routes_internal(sig, tx->home, &tx->target);
        if (hop == NULL)
            return 500;
        user = tagged_user(sig, msg, sip, trunk);
        if ((ours || user) && retarget_user(msg, sip, ours ? hop : NULL, user) < 0)
            return 500;
    } else if (tx->initial && is_ours(sip->sip_request->rq_url)) {
        /* From INT, a new request addressed to sigd itself goes out by
         * the outbound routes (routes.c). */
        const url_t *ru = sip->sip_request->rq_url;
        const char *user = ru->url_type == url_tel ? ru->url_host : ru->url_user;

        snprintf(tx->number, sizeof tx->number, "%s", user ? user : "");
        hop = sig_routes_outbound(sig, tx->home, tx->number, 0, &tx->out_more);
        if (hop == NULL)
            return 404;
        if (retarget_user(msg, sip, hop, untagged_user(msg, sip)) < 0)
            return 500;
    } else {
        hop = sip->sip_request->rq_url;
    }
    if (is_ours(hop))
        return 482;  /* would loop back to us */
    tx->hop = url_hdup(tx->home, hop);
    return tx->hop ? 0 : 500;
}

static int add_record_route(sig_daemon_t *sig, sig_tx_t *tx, msg_t *msg, sip_t *sip)
{
    Gw__Side order[2] = { tx->in_side, tx->out_side };

    for (int i = 0; i < 2; i++) {
        Gw__Side s = order[i];
        const char *a = side_addr(sig, s);
        int tcp = 0;
        char buf[160];
        sip_record_route_t *rr;

        int tls = 0;

        if (s == tx->in_side) {
            tcp = sip->sip_via && su_casematch(sip->sip_via->v_protocol, "SIP/2.0/TCP");
            tls = sip->sip_via && su_casematch(sip->sip_via->v_protocol, "SIP/2.0/TLS");
        } else {
            tcp = tx->hop && url_has_param(tx->hop, "transport=tcp");
            tls = hop_is_tls(tx->hop);
        }
        /* Our TLS entry point for a party that reached us (or that we
         * reach) over TLS, so that its in-dialog requests come over TLS. */
        if (tls && s == EXT && sig_tls_enabled())
            snprintf(buf, sizeof buf, strchr(a, ':') ? "<sip:[%s]:%d;transport=tls;lr>"
                                                     : "<sip:%s:%d;transport=tls;lr>",
                     a, sig->cfg.tls.port);
        else
            snprintf(buf, sizeof buf, strchr(a, ':') ? "<sip:[%s]:%d;lr%s>"
                                                     : "<sip:%s:%d;lr%s>",
                     a, side_port(sig, s), tcp ? ";transport=tcp" : "");
        rr = sip_record_route_make(msg_home(msg), buf);
        if (rr == NULL || msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)rr) < 0)
            return -1;
    }
    return 0;
}

/* A hidden call keeps the Vias and Record-Route its INVITE came with, for
 * a 2xx retransmitted after the transaction ended (retransmitted_2xx()). */
static int remember_caller_hops(sig_call_t *c, nta_incoming_t *irq)
{
    msg_t *req = nta_incoming_getrequest(irq);
    sip_t *rs = req ? sip_object(req) : NULL;
    int rc = 0;

    if (rs == NULL)
        return -ENOMEM;
    if (rs->sip_via && (c->caller_via = sip_header_as_string(c->home,
                                           (const sip_header_t *)rs->sip_via)) == NULL)
        rc = -ENOMEM;
    if (rs->sip_record_route &&
        (c->caller_rr = sip_header_as_string(c->home,
                                             (const sip_header_t *)rs->sip_record_route)) == NULL)
        rc = -ENOMEM;
    msg_destroy(req);
    return rc;
}

/* Every INVITE that starts a dialog gets a call (with or without an
 * offer: a late offer comes in the 2xx); in-dialog requests update the
 * dialog state (CSeq, target refresh). Returns 0 or a SIP status. */
static int track_dialog(sig_daemon_t *sig, sig_tx_t *tx, const sip_t *sip)
{
    sig_call_t *c = sig_call_find(sig, call_id_of(sip));

    if (!tx->initial) {
        if (c == NULL)
            return 0;
        sig_dialog_request(c, tx->in_side, sip);
        if (tx->method == sip_method_invite || tx->method == sip_method_update) {
            sig_call_ref(c);
            tx->call = c;
        }
        return 0;
    }
    if (tx->method != sip_method_invite)
        return 0;
    if (c == NULL) {
        if ((c = sig_call_create(sig, call_id_of(sip))) == NULL)
            return 500;
        c->hide = tx->hide;
        if (c->hide && remember_caller_hops(c, tx->irq) < 0) {
            sig_call_end(c, "out of memory");
            return 500;
        }
    }
    tx->hide = tx->hide_contact = c->hide;   /* a spiral or a second fork goes as the call */
    sig_call_ref(c);
    tx->call = c;
    c->invites++;
    return sig_dialog_caller(c, tx->in_side, sip) == 0 ? 0 : 400;
}

/* Whether a request's transaction is hidden (topo.c): as its call when it
 * belongs to one, else by the trunk at the other end (the one it came
 * from on EXT, the one its next hop is on towards EXT). */
static int hide_decision(sig_daemon_t *sig, const sig_tx_t *tx, const sip_t *sip,
                         const char *trunk)
{
    sig_call_t *c = sig_call_find(sig, call_id_of(sip));

    if (c)
        return c->hide;
    return sig_topo_applies(sig, tx->in_side == EXT ? trunk
                                                    : sig_routes_trunk_of_hop(tx->hop));
}

/* A request from EXT: source_header (topo.c) removed, and set on a new
 * request to the address it came from. 0 or -ENOMEM. */
static int add_source(sig_daemon_t *sig, nta_incoming_t *irq, msg_t *msg, sip_t *sip,
                      int initial)
{
    char src[80];
    msg_t *req;
    su_addrinfo_t *ai;
    const char *s = NULL;

    if (sig->cfg.source_header[0] == '\0')
        return 0;
    req = initial ? nta_incoming_getrequest(irq) : NULL;
    ai = req ? msg_addrinfo(req) : NULL;
    if (ai && ai->ai_addr)
        s = gw_addr_str(ai->ai_addr, src, sizeof src);
    if (req)
        msg_destroy(req);
    return sig_topo_source(sig, msg, sip, initial, s);
}

static int forward(sig_daemon_t *sig, Gw__Side side, nta_incoming_t *irq, const sip_t *isip,
                   const char *trunk)
{
    msg_t *req, *msg;
    sip_t *sip;
    sig_tx_t *tx;
    int status;

    if (isip->sip_max_forwards && isip->sip_max_forwards->mf_count == 0)
        return 483;
    tx = tx_new(sig, irq, side, isip);
    if (tx == NULL)
        return 500;
    /* Work on a deep copy: the server transaction keeps the original,
     * from which nta builds our responses (and its Via list). */
    req = nta_incoming_getrequest(irq);
    msg = msg_dup(req);
    msg_destroy(req);
    if (msg == NULL) {
        tx->irq = NULL;
        tx_free(tx);
        return 500;
    }
    tx->msg = msg;
    sip = sip_object(msg);
    tx->initial = sip->sip_to && sip->sip_to->a_tag == NULL;
    status = route(sig, tx, msg, sip, trunk);
    if (status == 0) {
        tx->hide = hide_decision(sig, tx, sip, trunk);
        tx->hide_contact = tx->hide && (hides_contact(sig, tx->method, sip) ||
                                        (tx->initial && tx->method == sip_method_invite));
    }
    if (status == 0 && side == EXT && add_source(sig, irq, msg, sip, tx->initial) < 0)
        status = 500;
    /* From the internet, only requests of a dialog we know may go on: a
     * made-up in-dialog request (or one of a dialog that ended) would
     * otherwise reach whatever internal host and port it names. */
    if (status == 0 && side == EXT && !tx->initial &&
        sig_call_find(sig, call_id_of(sip)) == NULL)
        status = 481;
    if (status == 0 && side == EXT && tx->method == sip_method_register &&
        sig_nat_add_path(sig, irq, msg, sip) < 0)
        status = 500;
    if (status == 0 && side == EXT && refreshes_target(tx->method)) {
        msg_t *src = nta_incoming_getrequest(irq);
        sig_nat_fix_contact(sig, src, msg, sip);
        msg_destroy(src);
    }
    if (status == 0 && sip->sip_max_forwards) {
        sip_max_forwards_t *mf = sip_max_forwards_make(msg_home(msg), "70");
        if (mf == NULL)
            status = 500;
        else {
            mf->mf_count = sip->sip_max_forwards->mf_count - 1;
            msg_header_replace(msg, (msg_pub_t *)sip,
                               (msg_header_t *)sip->sip_max_forwards,
                               (msg_header_t *)mf);
        }
    }
    if (status == 0 && tx->initial &&
        (tx->method == sip_method_invite || tx->method == sip_method_subscribe ||
         tx->method == sip_method_refer) &&
        add_record_route(sig, tx, msg, sip) < 0)
        status = 500;
    if (status != 0) {
        tx->irq = NULL;   /* nta answers with the status we return */
        tx_free(tx);
        return status;
    }
    nta_incoming_bind(irq, on_cancel, tx);
    if (tx->method == sip_method_invite)
        nta_incoming_treply(irq, SIP_100_TRYING, TAG_END());
    status = track_dialog(sig, tx, sip);
    if (status != 0) {
        tx_fail(tx, status, status == 400 ? "Bad Request" : "Internal Server Error",
                "cannot record the dialog");
        return 0;
    }
    if (tx->method == sip_method_bye) {
        sig_call_t *c = sig_call_find(sig, call_id_of(sip));
        if (c)
            sig_call_end(c, side == EXT ? "BYE from EXT" : "BYE from INT");
    }
    if ((tx->method == sip_method_invite || tx->method == sip_method_update) &&
        has_sdp(sip)) {
        status = start_offer(tx, sip);
        if (status == 0)
            return 0;     /* continues in on_offer_reply() */
        tx_fail(tx, status, status == 503 ? "Service Unavailable"
                          : status == 481 ? "Call/Transaction Does Not Exist"
                          : status == 488 ? "Not Acceptable Here"
                                          : "Internal Server Error",
                status == 503 ? "no media node available" : "request refused");
        return 0;
    }
    if (send_out(tx) < 0)
        tx_fail(tx, SIP_500_INTERNAL_SERVER_ERROR, "cannot forward");
    return 0;
}

/* ACK for a 2xx is not a transaction: route it and send it on. */
static int on_ack(sig_daemon_t *sig, Gw__Side side, nta_incoming_t *irq, const sip_t *isip)
{
    sig_tx_t tmp;
    msg_t *req = nta_incoming_getrequest(irq), *msg = msg_dup(req);
    nta_outgoing_t *orq;
    sip_t *sip;

    (void)isip;
    msg_destroy(req);
    nta_incoming_destroy(irq);
    if (msg == NULL)
        return 0;
    memset(&tmp, 0, sizeof tmp);
    su_home_init(tmp.home);
    tmp.in_side = side;
    tmp.out_side = OTHER(side);
    sip = sip_object(msg);
    if (side == EXT && sig_call_find(sig, call_id_of(sip)) == NULL) {
        gw_log(GW_LOG_DEBUG, call_id_of(sip), "ACK from EXT for no known call: dropped");
        msg_destroy(msg);
    } else if (route(sig, &tmp, msg, sip, NULL) != 0) {
        gw_log(GW_LOG_DEBUG, call_id_of(sip), "ACK from %s not routable: dropped",
               SIDE_NAME(side));
        msg_destroy(msg);
    } else {
        sig_call_t *c = has_sdp(sip) ? sig_call_find(sig, call_id_of(sip)) : NULL;
        if (c && c->late_offer && !c->ended) {
            c->late_offer = 0;
            answer_media(c, tmp.out_side, msg, sip, NULL, NULL);
        }
        c = sig_call_find(sig, call_id_of(sip));
        if (c && c->hide &&
            sig_topo_request(sig, msg, sip, tmp.out_side, hop_tp(tmp.hop), 1) < 0) {
            gw_log(GW_LOG_WARN, c->call_id, "cannot hide the topology of an ACK: dropped");
            msg_destroy(msg);
            msg = NULL;
        }
        orq = msg ? nta_outgoing_mcreate(sig->agent[tmp.out_side], NULL, NULL,
                                         (url_string_t *)tmp.hop, msg, TAG_END())
                  : NULL;
        if (orq)
            nta_outgoing_destroy(orq);
    }
    su_home_deinit(tmp.home);
    return 0;
}

static int on_options(sig_daemon_t *sig, nta_incoming_t *irq, const sip_t *sip)
{
    (void)sig;
    (void)sip;
    nta_incoming_treply(irq, SIP_200_OK,
                        SIPTAG_ALLOW_STR("INVITE, ACK, BYE, CANCEL, OPTIONS, "
                                         "UPDATE, PRACK, INFO, REFER, NOTIFY"),
                        SIPTAG_ACCEPT_STR("application/sdp"), TAG_END());
    return 200;
}

/* trunk: as for route(). */
static int on_request(sig_daemon_t *sig, Gw__Side side, nta_incoming_t *irq,
                      const sip_t *sip, const char *trunk)
{
    switch (sip->sip_request->rq_method) {
    case sip_method_ack:
        return on_ack(sig, side, irq, sip);
    case sip_method_cancel:
        return 481;   /* matched no INVITE transaction */
    case sip_method_options:
        if (!sip->sip_route && sip->sip_to && !sip->sip_to->a_tag &&
            is_ours(sip->sip_request->rq_url) &&
            !sip->sip_request->rq_url->url_user)
            return on_options(sig, irq, sip);
        return forward(sig, side, irq, sip, trunk);
    default:
        return forward(sig, side, irq, sip, trunk);
    }
}

/* ---- responses -------------------------------------------------------- */

/* The SDP answer in msg, parsed, and its endpoints: their count, or -1
 * with the reason in err (also when it has more streams than the call). */
static int parse_answer(const sig_call_t *c, msg_t *msg, const sip_t *sip,
                        sdp_session_t **sdp, sig_sdp_ep_t *eps, char *err, size_t errlen)
{
    int n;

    *sdp = sig_sdp_parse(msg_home(msg), sip->sip_payload->pl_data,
                         sip->sip_payload->pl_len, err, errlen);
    n = *sdp ? sig_sdp_endpoints(*sdp, eps, SIG_SDP_MAX_STREAMS, err, errlen) : -1;
    if (n >= 0 && (unsigned)n > c->nstreams) {
        snprintf(err, errlen, "more streams than offered");
        n = -1;
    }
    return n;
}

/* Rewrites the parsed answer to the call's relay on side `to` (disabled
 * streams stay at port 0) into msg's body. 0, or -1 with err. */
static int rewrite_answer(const sig_call_t *c, Gw__Side to, msg_t *msg, sip_t *sip,
                          sdp_session_t *sdp, const sig_sdp_ep_t *eps, int n,
                          char *err, size_t errlen)
{
    sig_sdp_ep_t relay[SIG_SDP_MAX_STREAMS];
    char *text;

    memcpy(relay, sig_call_relay(c, to), sizeof relay);
    for (int i = 0; i < n; i++)
        relay[i].port = eps[i].port ? relay[i].port : 0;
    text = sig_sdp_rewrite(msg_home(msg), sdp, relay, (unsigned)n, err, errlen);
    if (text == NULL || set_body(msg, sip, text) < 0) {
        if (text)
            snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* Rewrites an SDP answer to the relay on `to` without telling the node:
 * a retransmitted 2xx (the node has the answer), an early answer after
 * another branch answered. 0, or -1 with err: the message must not go on
 * (the answerer's own addresses would). */
static int rewrite_answer_only(const sig_call_t *c, Gw__Side to, msg_t *msg, sip_t *sip,
                               char *err, size_t errlen)
{
    sig_sdp_ep_t eps[SIG_SDP_MAX_STREAMS];
    sdp_session_t *sdp;
    int n = parse_answer(c, msg, sip, &sdp, eps, err, errlen);

    return n < 0 ? -1 : rewrite_answer(c, to, msg, sip, sdp, eps, n, err, errlen);
}

/* The 2xx of an extra branch (sig_dialog_other_fork()): ACKed and BYEd
 * from the middle (dialog.c), never passed on. Takes msg. */
static void absorb_fork(sig_daemon_t *sig, sig_call_t *c, Gw__Side from, msg_t *msg,
                        sip_t *sip)
{
    if (from == EXT)
        sig_nat_fix_contact(sig, msg, msg, sip);   /* its BYE goes where it is */
    sig_dialog_end_fork(c, from, sip);
    msg_destroy(msg);
}

/* Rewrites an SDP answer for the party on `to` (a response to the
 * offerer, or the ACK after a late offer) and passes the answerer's
 * endpoints to the node. Returns 1 when the node's reply will come through
 * cb (the caller may hold the message until then), 0 otherwise. */
static int answer_media(sig_call_t *c, Gw__Side to, msg_t *msg, sip_t *sip,
                        sig_media_cb cb, void *arg)
{
    sig_sdp_ep_t eps[SIG_SDP_MAX_STREAMS];
    sdp_session_t *sdp;
    char err[256];
    int n, held;

    n = parse_answer(c, msg, sip, &sdp, eps, err, sizeof err);
    if (n < 0) {
        gw_log(GW_LOG_WARN, c->call_id, "answer from %s not usable (%s): "
               "forwarded unchanged", SIDE_NAME(OTHER(to)), err);
        return 0;
    }
    held = sig_media_answer(c->sig, c, eps, (unsigned)n, cb, arg) == 0 && cb != NULL;
    if (sip->sip_status && sip->sip_to &&
        sig_call_answered(c, sip->sip_to->a_tag, sip->sip_status->st_status < 200,
                          eps, (unsigned)n) < 0)
        gw_log(GW_LOG_WARN, c->call_id, "out of memory: early answer not kept");
    if (rewrite_answer(c, to, msg, sip, sdp, eps, n, err, sizeof err) < 0)
        gw_log(GW_LOG_WARN, c->call_id, "answer rewrite failed: %s", err);
    return held;
}

static void on_answer_reply(sig_daemon_t *sig, void *arg, sig_node_t *node,
                            const Gw__MediaReply *r);

/* A 2xx without SDP to an INVITE whose answer came in an 18x of the same
 * dialog: when the node has since been given another early dialog's
 * answer (forking), it gets this dialog's back. Returns 1 when the node's
 * reply will come through on_answer_reply() (hold the 2xx), 0 otherwise. */
static int answer_from_early(sig_tx_t *tx, const sip_t *sip)
{
    sig_call_t *c = tx->call;
    const char *tag = sip->sip_to ? sip->sip_to->a_tag : NULL;
    const sig_early_t *e;

    if (tag == NULL || c->media_tag == NULL || strcmp(c->media_tag, tag) == 0 ||
        (e = sig_call_early(c, tag)) == NULL)
        return 0;
    gw_log(GW_LOG_INFO, c->call_id, "2xx without SDP from early dialog %s: its early "
           "answer goes back to the node (it had %s's)", tag, c->media_tag);
    if (sig_call_answered(c, tag, 0, e->eps, e->n) < 0)
        return 0;
    return sig_media_answer(c->sig, c, e->eps, e->n, on_answer_reply, tx) == 0;
}

/* A 2xx on its way back: confirms a new dialog, refreshes a target. */
static void confirm_dialog(sig_tx_t *tx, const sip_t *sip)
{
    sig_call_t *c = tx->call;

    if (tx->initial && tx->method == sip_method_invite && c && !c->ended) {
        if (sig_dialog_confirm(c, sip) < 0)
            gw_log(GW_LOG_WARN, c->call_id, "2xx without a To tag: dialog not recorded");
        return;
    }
    if (!tx->initial && (c = sig_call_find(tx->sig, call_id_of(sip))) != NULL)
        sig_dialog_response(c, tx->out_side, sip);
}

/* A 2xx to an INVITE without SDP carries the offer (late offer): it waits
 * in the tx, as a request does in start_offer(), while the node allocates
 * from the answerer's side. Returns 0, or a SIP status for the caller. */
static int start_late_offer(sig_tx_t *tx, msg_t *msg, sip_t *sip)
{
    int status;

    tx->offer_side = tx->out_side;
    tx->resp_offer = 1;
    tx->msg = msg;
    status = start_offer(tx, sip);
    if (status != 0)
        tx->msg = NULL;
    return status;
}

static void on_answer_reply(sig_daemon_t *sig, void *arg, sig_node_t *node,
                            const Gw__MediaReply *r)
{
    sig_tx_t *tx = arg;
    msg_t *msg = tx->msg;

    (void)sig;
    (void)node;
    if (r == NULL)
        gw_log(GW_LOG_WARN, tx->call ? tx->call->call_id : NULL,
               "the media node did not confirm the answer; forwarding it anyway");
    tx->msg = NULL;
    reply(tx, msg);
    tx_free(tx);
}

/* The internal target did not answer (408) or is unavailable (503)
 * before anything reached the caller: the request goes to the next live
 * target. 0 when it went, -1 when there is none (the failure is relayed). */
static int failover(sig_tx_t *tx, int status)
{
    sig_daemon_t *sig = tx->sig;
    int idx = tx->target + 1, alt = tx->out_alt + 1, more;
    url_t *hop, *old = tx->hop;
    msg_t *msg;
    sip_t *sip;

    if (tx->in_side == EXT) {
        sig_routes_target_failed(sig, tx->target);
        hop = sig_routes_internal(sig, tx->home, &idx);
        more = sig_routes_more(idx);
    } else {
        /* From INT: the next URI of the outbound route (trunks). */
        hop = sig_routes_outbound(sig, tx->home, tx->number, alt, &more);
    }
    if (hop == NULL)
        return -1;
    msg = tx->retry;
    tx->retry = NULL;
    sip = sip_object(msg);
    if (old && sip->sip_request->rq_url->url_host &&
        su_casematch(sip->sip_request->rq_url->url_host, old->url_host) &&
        su_strmatch(sip->sip_request->rq_url->url_port, old->url_port) &&
        retarget(msg, sip, hop) < 0) {
        msg_destroy(msg);
        return -1;
    }
    gw_log(GW_LOG_WARN, call_id_of(sip), "%s to " URL_PRINT_FORMAT " failed (%d): "
           "trying " URL_PRINT_FORMAT, sip_method_name(tx->method, "?"),
           URL_PRINT_ARGS(old), status, URL_PRINT_ARGS(hop));
    nta_outgoing_destroy(tx->orq);
    tx->orq = NULL;
    if (tx->tls_wait)
        tls_waiting--;
    tx->tls_wait = 0;
    if (tx->in_side == EXT)
        tx->target = idx;
    else
        tx->out_alt = alt;
    tx->out_more = tx->in_side == EXT ? 0 : more;
    tx->hop = hop;
    tx->msg = msg;
    if (more)
        tx->retry = msg_dup(msg);
    return send_out(tx);
}

static int on_response(sig_tx_t *tx, nta_outgoing_t *orq, const sip_t *rsip)
{
    int status = rsip ? rsip->sip_status->st_status : 408;
    msg_t *msg;
    sip_t *sip;

    if (tx->tls_wait) {
        tx->tls_wait = 0;
        tls_waiting--;
    }
    if ((status == 408 || status == 503) && tx->retry && !tx->provisional &&
        failover(tx, status) == 0)
        return 0;
    if (status > 100 && status < 200)
        tx->provisional = 1;

    if (rsip == NULL) {
        nta_incoming_treply(tx->irq, SIP_408_REQUEST_TIMEOUT, TAG_END());
        goto final;
    }
    msg = nta_outgoing_getresponse(orq);
    sip = sip_object(msg);
    if (status >= 200 && status < 300 && tx->initial && tx->method == sip_method_invite &&
        tx->call && !tx->call->ended && sig_dialog_other_fork(tx->call, tx->out_side, sip)) {
        absorb_fork(tx->sig, tx->call, tx->out_side, msg, sip);
        if (tx->msg)
            return 0;   /* the platform forked: the winner waits for the node */
        /* Our agents were forked to (one INVITE each) and another one
         * answered first: this branch fails towards the platform. */
        nta_incoming_treply(tx->irq, 480, "Answered Elsewhere", TAG_END());
        tx_free(tx);
        return 0;
    }
    if (tx->msg) {
        /* A 2xx retransmission while the first one waits for the node. */
        msg_destroy(msg);
        return 0;
    }
    if (tx->in_side == EXT && status >= 400 &&
        sig_antifraud_response(tx->sig, tx->irq, tx->method, status, sip) > 0) {
        msg_destroy(msg);   /* answered with the uniform challenge */
        goto final;
    }
    sip_via_remove(msg, sip);
    if (tx->out_side == EXT && status < 300 && refreshes_target(tx->method))
        sig_nat_fix_contact(tx->sig, msg, msg, sip);
    if (tx->in_side == EXT && tx->method == sip_method_register &&
        status >= 200 && status < 300)
        sig_nat_registered(tx->sig, tx->irq, sip);
    if (status >= 200 && status < 300) {
        confirm_dialog(tx, sip);
        tx->answered = 1;
    } else if (status > 100 && status < 200 && tx->initial && tx->call &&
             tx->method == sip_method_invite && sip->sip_to && sip->sip_to->a_tag)
        sig_dialog_early(tx->call, sip);
    if (status < 200 && tx->initial && tx->has_offer && tx->call && tx->call->confirmed &&
        has_sdp(sip)) {
        /* Early media of a branch that lost to another's answer: the
         * session stays with the answered dialog. */
        char err[256];

        if (rewrite_answer_only(tx->call, tx->in_side, msg, sip, err, sizeof err) < 0) {
            gw_log(GW_LOG_WARN, tx->call->call_id, "%d of a branch that lost dropped: "
                   "%s", status, err);
            msg_destroy(msg);
            return 0;
        }
    } else if (status >= 101 && status < 300 && tx->has_offer && tx->call &&
        !tx->call->ended && has_sdp(sip) &&
        answer_media(tx->call, tx->in_side, msg, sip,
                     status >= 200 ? on_answer_reply : NULL, tx) > 0) {
        /* A final answer waits until the node knows where the answerer's
         * media goes: released in on_answer_reply(), so the caller's
         * first RTP packet finds its destination. */
        tx->msg = msg;
        return 0;
    }
    if (status >= 200 && status < 300 && tx->initial && tx->method == sip_method_invite &&
        tx->has_offer && tx->call && !tx->call->ended && !has_sdp(sip) &&
        answer_from_early(tx, sip) > 0) {
        tx->msg = msg;    /* released in on_answer_reply(), as above */
        return 0;
    }
    if (status >= 200 && status < 300 && tx->method == sip_method_invite &&
        !tx->has_offer && tx->call && !tx->call->ended && has_sdp(sip)) {
        status = start_late_offer(tx, msg, sip);
        if (status == 0)
            return 0;     /* continues in on_offer_reply() */
        msg_destroy(msg);
        tx_fail(tx, status, status == 503 ? "Service Unavailable"
                                          : "Not Acceptable Here",
                "late offer refused");
        return 0;
    }
    reply(tx, msg);
    if (status < 200)
        return 0;
final:
    if (status >= 300 && tx->method == sip_method_invite)
        tx_end_call(tx, "call failed");
    tx_free(tx);
    return 0;
}

/* ---- outbound TLS watch ------------------------------------------------ */

/* A request sent over TLS whose connection failed (handshake refused:
 * untrusted chain, wrong name, version; or closed), or that got nothing
 * back within tls_timeout_ms, goes to the next URI of its route, or is
 * answered 503 when there is none. */
static void tls_give_up(sig_tx_t *tx, const char *why, int timed_out)
{
    sig_daemon_t *sig = tx->sig;

    tx->tls_wait = 0;
    tls_waiting--;
    gw_log(GW_LOG_WARN, tx->call ? tx->call->call_id : NULL,
           "%s to " URL_PRINT_FORMAT " over TLS failed: %s",
           sip_method_name(tx->method, "?"), URL_PRINT_ARGS(tx->hop), why);
    /* Silent but connected: the INVITE may have arrived; cancel it. */
    if (timed_out && tx->method == sip_method_invite && tx->orq)
        nta_outgoing_tcancel(tx->orq, NULL, NULL, TAG_END());
    if (tx->retry && !tx->provisional && failover(tx, 503) == 0)
        return;
    (void)sig;
    tx_fail(tx, SIP_503_SERVICE_UNAVAILABLE, "TLS connection failed");
}

static void on_tls_timer(sig_daemon_t *sig, su_timer_t *t, sig_daemon_t *arg)
{
    long long now;
    sig_tx_t *tx, *next;

    (void)t;
    (void)arg;
    if (tls_waiting == 0)
        return;
    now = sig_tls_now_ms();
    for (tx = tx_list; tx; tx = next) {
        tport_t *tp;
        const su_addrinfo_t *ai;
        const char *why = NULL;
        char buf[64];
        int timed_out = 0;

        next = tx->next;
        if (!tx->tls_wait || tx->orq == NULL)
            continue;
        tp = nta_outgoing_transport(tx->orq);
        ai = tp ? tport_get_address(tp) : NULL;
        if (ai && ai->ai_addr)
            why = sig_tls_failure(ai->ai_addr, tx->tls_sent_ms,
                                  tp && tport_is_closed(tp));
        /* The deadline is for the connection: once the TLS handshake is
         * done and the peer verified, a slow answer is nta's business
         * (timer B/F), not a failed connection. */
        if (why == NULL && !(tp && tport_is_connected(tp)) &&
            now - tx->tls_sent_ms >= sig->cfg.tls.timeout_ms) {
            snprintf(buf, sizeof buf, "no TLS connection within %d ms", sig->cfg.tls.timeout_ms);
            why = buf;
            timed_out = 1;
        }
        if (tp)
            tport_unref(tp);
        if (why) {
            /* failover() may free or re-add entries: start over. */
            tls_give_up(tx, why, timed_out);
            next = tx_list;
        }
    }
}

static int on_cancel_response(sig_tx_t *tx, nta_outgoing_t *orq, const sip_t *sip)
{
    (void)tx;
    (void)orq;
    (void)sip;
    return 0;     /* the INVITE's own final response is what matters */
}

static int on_cancel(sig_tx_t *tx, nta_incoming_t *irq, const sip_t *sip)
{
    (void)irq;
    if (sip == NULL)
        return 0;   /* the server transaction is done */
    if (sip->sip_request->rq_method != sip_method_cancel)
        return 0;
    if (tx->orq) {
        /* With no callback nta frees the CANCEL as soon as its 200 comes
         * over TCP, and the INVITE's 487 then finds no transaction (seen
         * with Sofia 1.12.11): keep the CANCEL until the INVITE ends. */
        if (tx->cancel == NULL)
            tx->cancel = nta_outgoing_tcancel(tx->orq, on_cancel_response, tx,
                                              TAG_END());
        return 200;
    }
    /* Still waiting for the media node: answer for the callee now, and
     * clean up when the node's reply (or its deadline) comes. */
    if (!tx->canceled) {
        tx->canceled = 1;
        nta_incoming_treply(tx->irq, SIP_487_REQUEST_TERMINATED, TAG_END());
    }
    return 200;
}

/* The final answer to an INVITE we CANCELed, which nta (Sofia 1.12.11)
 * does not match to the INVITE's client transaction when the CANCEL went
 * over TCP: it comes here as a stray response. It is taken as that
 * transaction's answer: ACKed towards the callee (same branch as the
 * INVITE, RFC 3261 17.1.1.3) and relayed to the caller. 0 when it was
 * one, -1 otherwise. */
static int canceled_final(sig_daemon_t *sig, msg_t *msg, sip_t *sip)
{
    const char *cid = call_id_of(sip);
    sig_tx_t *tx;

    if (sip->sip_status->st_status < 300 || sip->sip_cseq == NULL ||
        sip->sip_cseq->cs_method != sip_method_invite || sip->sip_via == NULL ||
        sip->sip_via->v_branch == NULL || cid == NULL)
        return -1;
    for (tx = tx_list; tx; tx = tx->next) {
        msg_t *req, *ack;
        sip_t *rs, *as;
        char *branch;
        nta_outgoing_t *aq;

        if (tx->method != sip_method_invite || tx->cancel == NULL || tx->orq == NULL)
            continue;
        req = nta_outgoing_getrequest(tx->orq);
        rs = req ? sip_object(req) : NULL;
        if (rs == NULL || rs->sip_via == NULL || rs->sip_via->v_branch == NULL ||
            !su_casematch(rs->sip_via->v_branch, sip->sip_via->v_branch) ||
            !su_strmatch(call_id_of(rs), cid)) {
            if (req)
                msg_destroy(req);
            continue;
        }
        /* ACK: the INVITE as sent, less its Via (nta adds ours again with
         * the INVITE's branch), body and Record-Route, To from the answer. */
        ack = msg_dup(req);
        as = ack ? sip_object(ack) : NULL;
        branch = su_strdup(tx->home, rs->sip_via->v_branch);
        msg_destroy(req);
        if (as) {
            su_home_t *h = msg_home(ack);
            sip_request_t *rq = sip_request_create(h, sip_method_ack, "ACK",
                                                   (url_string_t *)as->sip_request->rq_url,
                                                   NULL);
            sip_cseq_t *cs = sip_cseq_create(h, as->sip_cseq->cs_seq, sip_method_ack, "ACK");

            while (as->sip_via)
                sip_via_remove(ack, as);
            while (as->sip_record_route)
                msg_header_remove(ack, (msg_pub_t *)as, (msg_header_t *)as->sip_record_route);
            if (as->sip_payload)
                msg_header_remove(ack, (msg_pub_t *)as, (msg_header_t *)as->sip_payload);
            if (as->sip_content_type)
                msg_header_remove(ack, (msg_pub_t *)as, (msg_header_t *)as->sip_content_type);
            if (rq && cs &&
                msg_header_replace(ack, (msg_pub_t *)as, (msg_header_t *)as->sip_request,
                                   (msg_header_t *)rq) >= 0 &&
                msg_header_replace(ack, (msg_pub_t *)as, (msg_header_t *)as->sip_cseq,
                                   (msg_header_t *)cs) >= 0 &&
                msg_header_replace(ack, (msg_pub_t *)as, (msg_header_t *)as->sip_to,
                                   (msg_header_t *)sip_to_dup(h, sip->sip_to)) >= 0 &&
                msg_header_replace(ack, (msg_pub_t *)as,
                                   (msg_header_t *)as->sip_content_length,
                                   (msg_header_t *)sip_content_length_create(h, 0)) >= 0 &&
                (aq = nta_outgoing_mcreate(sig->agent[tx->out_side], NULL, NULL,
                                           (url_string_t *)tx->hop, ack,
                                           NTATAG_ACK_BRANCH(branch), TAG_END())) != NULL) {
                nta_outgoing_destroy(aq);
                ack = NULL;
            }
        }
        if (ack)
            msg_destroy(ack);
        gw_log(GW_LOG_INFO, cid, "%d for the CANCELed INVITE taken from the stray path "
               "(CANCEL over a stream transport)", sip->sip_status->st_status);
        sip_via_remove(msg, sip);
        if (!tx->canceled)
            reply(tx, msg);
        else
            msg_destroy(msg);
        tx_end_call(tx, "call failed");
        tx_free(tx);
        return 0;
    }
    return -1;
}

/* A hidden call's retransmitted 2xx: the caller's Vias (kept in the call)
 * under ours, Record-Route and Contact as the first 2xx had them. */
static int hide_2xx(sig_daemon_t *sig, sig_call_t *c, msg_t *msg, sip_t *sip, Gw__Side to)
{
    su_home_t *home = msg_home(msg);
    msg_header_t *ours = msg_header_dup_one(home, (msg_header_t *)sip->sip_via);
    sip_via_t *via = c->caller_via ? sip_via_make(home, c->caller_via) : NULL;
    sip_record_route_t *rr = c->caller_rr ? sip_record_route_make(home, c->caller_rr) : NULL;

    if (ours == NULL || via == NULL || (c->caller_rr && rr == NULL) ||
        sig_topo_response(sig, msg, sip, via, rr, to, 1) < 0)
        return -ENOMEM;
    /* Via prepends: ours goes back on top, for nta to remove. */
    return msg_header_insert(msg, (msg_pub_t *)sip, ours) < 0 ? -ENOMEM : 0;
}

/* A retransmitted 2xx to an INVITE comes after our client transaction
 * ended with the first one (the callee has not seen the ACK yet): a
 * proxy passes it on statelessly (RFC 3261 16.7, 13.3.1.4), its SDP
 * rewritten as the first one was (the node already has the answer). 0
 * when it was one, -1 otherwise. */
static int retransmitted_2xx(sig_daemon_t *sig, nta_agent_t *agent, msg_t *msg, sip_t *sip)
{
    Gw__Side from = agent == sig->agent[EXT] ? EXT : INT, to = OTHER(from);
    const sip_via_t *v = sip->sip_via;
    sig_call_t *c;

    if (sip->sip_status->st_status < 200 || sip->sip_status->st_status >= 300 ||
        sip->sip_cseq == NULL || sip->sip_cseq->cs_method != sip_method_invite ||
        v == NULL || v->v_host == NULL ||
        (c = sig_call_find(sig, call_id_of(sip))) == NULL || c->ended ||
        (v->v_next == NULL && !c->hide))
        return -1;
    /* Our Via on top, added by the agent of the side it came back on. */
    if (strcmp(v->v_host, side_addr(sig, from)) != 0)
        return -1;
    if (sig_dialog_other_fork(c, from, sip)) {
        absorb_fork(sig, c, from, msg, sip);
        return 0;
    }
    if (c->has_media && has_sdp(sip)) {
        char err[256];

        if (rewrite_answer_only(c, to, msg, sip, err, sizeof err) < 0) {
            /* Never let the callee's own addresses through. */
            gw_log(GW_LOG_WARN, c->call_id, "retransmitted 2xx dropped: %s", err);
            msg_destroy(msg);
            return 0;
        }
    }
    if (c->hide && hide_2xx(sig, c, msg, sip, to) < 0) {
        gw_log(GW_LOG_WARN, c->call_id, "retransmitted 2xx dropped: cannot hide the "
               "topology");
        msg_destroy(msg);
        return 0;
    }
    /* nta removes our Via and sends the response along the next one
     * (received, rport; a stream reuses the caller's connection). */
    GW_DEBUG("[%s] retransmitted %d passed on to %s", c->call_id,
             sip->sip_status->st_status, SIDE_NAME(to));
    nta_msg_tsend(sig->agent[to], msg, NULL, TAG_END());
    return 0;
}

/* What anti-fraud must know of a request from EXT to spare it the rate
 * limit (SIG_AF_* facts): an in-dialog request of a dialog we hold,
 * checked on its Call-ID and both tags (a To tag alone is anyone's to
 * add), or a request on a flow with a live registration. */
static unsigned af_facts(sig_daemon_t *sig, Gw__Side side, msg_t *msg, const sip_t *sip)
{
    unsigned facts = 0;

    if (side != EXT)
        return 0;
    if (sip->sip_to && sip->sip_to->a_tag && sig_dialog_known(sig, sip))
        facts |= SIG_AF_KNOWN_DIALOG;
    if (sig_nat_on_registered_flow(sig, msg, sip))
        facts |= SIG_AF_REGISTERED_FLOW;
    return facts;
}

/* What a proxy refuses before routing (RFC 3261 16.3): a Request-URI
 * scheme it cannot route (416), a Proxy-Require it does not support
 * (420, listing it in Unsupported: sigd supports no proxy extension),
 * Max-Forwards exhausted (483, RFC 3261 16.3 step 3; OPTIONS too, since
 * it is not for us) and a Request-URI carrying headers (400, RFC 4475
 * escruri: they must never become headers of the forwarded request).
 * Answers, counts and logs the refusal and returns 1; 0 to go on. */
static int conformance_check(nta_agent_t *agent, msg_t *msg, const sip_t *sip)
{
    const url_t *ru = sip->sip_request->rq_url;
    enum url_type_e t = ru->url_type;

    if (t != url_sip && t != url_sips && t != url_tel) {
        sig_reject(msg, SIG_REJECT_unsupported_scheme, 416, ru->url_scheme);
        nta_msg_treply(agent, msg, SIP_416_UNSUPPORTED_URI, TAG_END());
        return 1;
    }
    if (sip->sip_proxy_require) {
        sip_unsupported_t *u = sip_unsupported_dup(msg_home(msg),
                                                   (sip_unsupported_t *)sip->sip_proxy_require);

        sig_reject(msg, SIG_REJECT_bad_extension, 420, sip->sip_proxy_require->k_items &&
                   sip->sip_proxy_require->k_items[0] ? sip->sip_proxy_require->k_items[0] : NULL);
        nta_msg_treply(agent, msg, SIP_420_BAD_EXTENSION, SIPTAG_UNSUPPORTED(u), TAG_END());
        return 1;
    }
    if (sip->sip_request->rq_method != sip_method_ack && sip->sip_max_forwards &&
        sip->sip_max_forwards->mf_count == 0) {
        sig_reject(msg, SIG_REJECT_too_many_hops, 483, NULL);
        nta_msg_treply(agent, msg, SIP_483_TOO_MANY_HOPS, TAG_END());
        return 1;
    }
    if (ru->url_headers) {
        sig_reject(msg, SIG_REJECT_uri_headers, 400, ru->url_headers);
        nta_msg_treply(agent, msg, 400, "Request-URI Carries Headers", TAG_END());
        return 1;
    }
    return 0;
}

/* Every new request reaches us here, before nta makes a transaction of
 * it (there is no default leg): anti-fraud decides on the bare message,
 * so a dropped request costs no transaction and gets no answer at all,
 * not even the 500 nta sends for a transaction destroyed unanswered. The
 * transaction is then made here and answered as nta's leg_recv() would:
 * a status returned by on_request() is sent unless a reply went already.
 * Retransmissions, CANCELs and non-2xx ACKs of existing transactions never
 * come here. Also gets stray responses (dropped). */
static int on_message(sig_daemon_t *sig, nta_agent_t *agent, msg_t *msg, sip_t *sip)
{
    Gw__Side side = agent == sig->agent[EXT] ? EXT : INT;
    nta_incoming_t *irq;
    const char *trunk;
    int status;

    if (sip == NULL || sip->sip_request == NULL) {
        if (sip && sip->sip_status && (canceled_final(sig, msg, sip) == 0 ||
                                       retransmitted_2xx(sig, agent, msg, sip) == 0))
            return 0;
        /* RFC 3261 18.1.2: a response whose top Via is not ours (and
         * that matches nothing) is discarded; never answered. */
        if (sip && sip->sip_status)
            sig_reject(msg, SIG_REJECT_stray_response, 0, "top Via not ours");
        msg_destroy(msg);
        return 0;
    }
    status = sig_antifraud_check(sig, side, msg, sip, af_facts(sig, side, msg, sip));
    if (status == SIG_AF_DROP) {
        msg_destroy(msg);
        return 0;
    }
    if (status != SIG_AF_PASS) {
        nta_msg_treply(agent, msg, status, NULL, TAG_END());
        return 0;
    }
    if (conformance_check(agent, msg, sip) != 0)
        return 0;
    /* Read by route() (tagged_user(), with a trunk_context) and by the
     * topology-hiding decision (with topology_hiding_off). */
    trunk = side == EXT &&
            (sig->routes_cfg.trunk_context[0] || sig->cfg.topology_hiding_off[0]) &&
            sip->sip_to && !sip->sip_to->a_tag
            ? sig_routes_trunk(sig, msg) : NULL;
    irq = nta_incoming_create(agent, NULL, msg, sip, TAG_END());
    if (irq == NULL)
        return 0;     /* nta freed msg */
    status = on_request(sig, side, irq, sip, trunk);
    if (status == 0)
        return 0;
    if (status == 481)
        sig_reject(msg, sip->sip_request->rq_method == sip_method_cancel
                   ? SIG_REJECT_unknown_transaction : SIG_REJECT_unknown_dialog, 481, NULL);
    if (status < 100 || status > 699 ||
        (sip->sip_request->rq_method == sip_method_invite && status < 300 &&
         status >= 200))
        status = 500;
    if (nta_incoming_status(irq) < 200)
        nta_incoming_treply(irq, status, NULL, TAG_END());
    if (status >= 200)
        nta_incoming_destroy(irq);
    return 0;
}

/* ---- set-up ----------------------------------------------------------- */

/* Adds a TLS listener (a sips: URL) to side s's agent: the EXT TLS port
 * and the sips: sets of ext_listeners. Sofia's certificate directory is
 * required by the tag; the files it would read there are replaced by
 * tls_cert/tls_key/tls_ca (siptls.c), and the verification is OpenSSL's,
 * set up there. 0, or -1 with errno set. */
static int add_tls_tport(sig_daemon_t *sig, Gw__Side s, const url_string_t *url)
{
    char dir[GW_CFG_STRLEN], *slash;

    snprintf(dir, sizeof dir, "%s", sig->cfg.tls.cert);
    slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    return nta_agent_add_tport(sig->agent[s], url, TPTAG_CERTIFICATE(dir),
                               TPTAG_TLS_VERIFY_POLICY(TPTLS_VERIFY_SUBJECTS_OUT),
                               TAG_END());
}

static int start_side(sig_daemon_t *sig, Gw__Side s)
{
    char url[128];
    const char *a = side_addr(sig, s);

    snprintf(url, sizeof url, strchr(a, ':') ? "sip:[%s]:%d" : "sip:%s:%d", a,
             side_port(sig, s));
    sig->agent[s] = nta_agent_create(sig->root, (url_string_t *)url, on_message, sig,
                                     NTATAG_MCLASS(sig_sipparse_mclass()),
                                     NTATAG_UA(0), NTATAG_SERVER_RPORT(1),
                                     NTATAG_CLIENT_RPORT(1), NTATAG_CANCEL_487(0),
                                     /* oversize requests get 413 (over TCP
                                      * the connection then closes), never
                                      * relayed */
                                     NTATAG_MAXSIZE(sig->cfg.max_message),
                                     TPTAG_UDP_RMEM(SIG_UDP_RMEM),
                                     NTATAG_PRELOAD(SIG_MSG_PRELOAD),
                                     TAG_IF(sig->cfg.resolv_conf[0],
                                            SRESTAG_RESOLV_CONF(sig->cfg.resolv_conf)),
                                     TAG_END());
    if (sig->agent[s] == NULL) {
        GW_ERR("SIP %s: cannot listen on %s (UDP+TCP): %s", SIDE_NAME(s), url,
               strerror(errno));
        return -1;
    }
    GW_INFO("SIP %s listening on %s (udp, tcp)", SIDE_NAME(s), url);
    listener_add(a, (unsigned)side_port(sig, s));
    if (s == EXT && sig_tls_enabled()) {
        snprintf(url, sizeof url, strchr(a, ':') ? "sips:[%s]:%d" : "sips:%s:%d", a,
                 sig->cfg.tls.port);
        if (add_tls_tport(sig, s, (url_string_t *)url) < 0) {
            GW_ERR("SIP %s: cannot listen on %s (TLS): %s", SIDE_NAME(s), url,
                   strerror(errno));
            return -1;
        }
        listener_add(a, (unsigned)sig->cfg.tls.port);
        GW_INFO("SIP %s listening on %s (tls, TLS %s-%s, groups %s)", SIDE_NAME(s), url,
                sig->cfg.tls.min_version, sig->cfg.tls.max_version,
                sig->cfg.tls.groups);
    }
    return 0;
}

typedef struct {
    sig_daemon_t *sig;
    Gw__Side side;
    const char *dname;      /* the directive, for errors */
} listener_set_t;

/* Adds one listener set ("sip:ADDR:PORT" or "sips:ADDR:PORT") to a side:
 * a gw_cfg_list_split() callback. 0 or -1 (logged). */
static int add_listener(char *it, void *arg)
{
    const listener_set_t *ls = arg;
    sig_daemon_t *sig = ls->sig;
    Gw__Side s = ls->side;
    const char *dname = ls->dname;
    su_home_t home[1] = { SU_HOME_INIT(home) };
    url_t *u = url_make(home, it);
    struct sockaddr_storage ss;
    const char *h;
    int tls, rc;

    tls = u && u->url_type == url_sips;
    h = u && u->url_host ? u->url_host : "";
    if (h[0] == '[')
        h = su_strndup(home, h + 1, (isize_t)(strlen(h) - 2));
    if (u == NULL || (u->url_type != url_sip && !tls) || u->url_port == NULL ||
        atoi(u->url_port) <= 0 || atoi(u->url_port) > 65535 ||
        gw_addr_parse(h, (unsigned)atoi(u->url_port), &ss) < 0 ||
        nlisteners >= MAX_LISTENERS || (tls && (s != EXT || !sig_tls_enabled()))) {
        GW_ERR("%s: [sigd] %s: '%s': %s", gw_cfg_where("sigd", dname), dname, it,
               nlisteners >= MAX_LISTENERS ? "too many listener sets"
               : tls && s != EXT ? "TLS listens on EXT only"
               : tls ? "sips: needs tls_cert"
                     : "want sip:ADDR:PORT or sips:ADDR:PORT (numeric address)");
        su_home_deinit(home);
        return -1;
    }
    if (tls)
        rc = add_tls_tport(sig, s, (url_string_t *)u);
    else
        rc = nta_agent_add_tport(sig->agent[s], (url_string_t *)u,
                                 TPTAG_UDP_RMEM(SIG_UDP_RMEM), TAG_END());
    if (rc < 0) {
        GW_ERR("SIP %s: cannot listen on %s: %s", SIDE_NAME(s), it, strerror(errno));
        su_home_deinit(home);
        return -1;
    }
    listener_add(h, (unsigned)atoi(u->url_port));
    GW_INFO("SIP %s listening on %s (%s)", SIDE_NAME(s), it, tls ? "tls" : "udp, tcp");
    su_home_deinit(home);
    return 0;
}

/* Adds the listener sets of list ("sip:ADDR:PORT, sips:ADDR:PORT";
 * commas or spaces between them) to side s. 0 or -1 (logged). */
static int add_listeners(sig_daemon_t *sig, Gw__Side s, const char *list)
{
    listener_set_t ls = { sig, s, s == EXT ? "ext_listeners" : "int_listeners" };

    return gw_cfg_list_split(list, ", ", "", add_listener, &ls) < 0 ? -1 : 0;
}

int sig_proxy_start(sig_daemon_t *sig)
{
    char err[512];

    if (sig_tls_setup(&sig->cfg.tls, err, sizeof err) < 0) {
        GW_ERR("%s", err);
        return -1;
    }
    nlisteners = 0;
    if (start_side(sig, EXT) < 0 || start_side(sig, INT) < 0 ||
        add_listeners(sig, EXT, sig->cfg.ext_listeners) < 0 ||
        add_listeners(sig, INT, sig->cfg.int_listeners) < 0)
        return -1;
    if (sig_tls_enabled()) {
        tls_timer = su_timer_create(su_root_task(sig->root), 100);
        if (tls_timer == NULL)
            return -1;
        su_timer_set_for_ever(tls_timer, on_tls_timer, sig);
    }
    return 0;
}

void sig_proxy_stop(sig_daemon_t *sig)
{
    if (tls_timer)
        su_timer_destroy(tls_timer);
    tls_timer = NULL;
    while (tx_list)
        tx_free(tx_list);
    sig_dialog_stop(sig);
    for (int s = 0; s < 2; s++) {
        if (sig->agent[s])
            nta_agent_destroy(sig->agent[s]);
        sig->agent[s] = NULL;
    }
    sig_sipparse_free();
}
