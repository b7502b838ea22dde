/* nta's log as the source of its refusals. nta answers or drops a
 * malformed message itself, before the message callback, and says so
 * only in its log (levels 1 to 5): "nta: INVITE has bad From header",
 * "nta: INVITE (5) failed sanity check", then "nta: INVITE (5) is Bad
 * From Header" when it answered 400, or nothing more when it dropped the
 * request (no usable Via, or an ACK). The redirected logger below knows
 * those format strings (Sofia 1.12.11; compared as strings, so another
 * version's wording only loses the lines, never misreads them), keeps
 * the state of the request being refused, and reports the verdict to
 * reject.c. A request that got no verdict line was dropped: that is
 * known when the next message starts or before the next poll
 * (sig_ntalog_flush()). The source address is in nta's lines for
 * unparsable bytes and a wrong Via transport, and in the received= it
 * stamps on a Via naming another host; the line names it when known, and
 * the method and CSeq always.
 *
 * nta's log has no level per line: with NTA_DEBUG under 5, its level-5
 * trace (known by the shapes of its format strings, trace()) is
 * swallowed and anything else still reaches stderr as before; with
 * NTA_DEBUG 5 or more all of it does.
 * The cost is a call and a few string compares per nta trace line
 * (about four per request), no formatting. */
#include "ntalog.h"
#include "reject.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_log.h>

/* Exported by libsofia-sip-ua, not declared in its public headers. */
extern su_log_t nta_log[];

#define NTA_TRACE_LEVEL 5

static struct {
    unsigned level;           /* nta's level before we raised it */
    int pending;              /* a malformed request awaits a verdict */
    char method[32];
    unsigned cseq;
    char bad[32];             /* first header that did not parse */
    int insane;               /* failed nta's sanity check */
    char via_src[64];         /* source of a wrong-transport Via */
    char via_proto[32];
    char src[64];             /* source address, from "received=" */
    char resp[64];            /* the response being received */
} nl;

static void what_of(char *buf, size_t len, const char *method, unsigned cseq)
{
    snprintf(buf, len, "%s (CSeq %u)", method, cseq);
}

void sig_ntalog_flush(void)
{
    char what[64];

    if (!nl.pending)
        return;
    nl.pending = 0;
    what_of(what, sizeof what, nl.method, nl.cseq);
    /* nta drops a malformed ACK (never answered) or one without a Via */
    sig_reject_stack(strcmp(nl.method, "ACK") != 0 ? SIG_REJECT_no_via
                     : nl.bad[0] ? SIG_REJECT_bad_header
                     : nl.insane ? SIG_REJECT_bad_mandatory : SIG_REJECT_bad_framing,
                     0, what, nl.src[0] ? nl.src : NULL,
                     nl.bad[0] ? nl.bad : nl.insane ? "failed sanity check" : NULL);
}

/* A malformed request: the one "nta: received" announced, unless the
 * method differs (then its CSeq is not known yet). */
static void start_request(const char *method)
{
    if (nl.pending)
        return;
    nl.pending = 1;
    if (method && strcmp(nl.method, method) != 0) {
        snprintf(nl.method, sizeof nl.method, "%s", method);
        nl.cseq = 0;
    }
    nl.bad[0] = '\0';
    nl.insane = 0;
}

/* "nta: received METHOD URL... VERSION (CSeq N)": the method is the first
 * string, the CSeq the one unsigned; the URL's parts are strings too. */
static void received(const char *fmt, va_list ap)
{
    const char *m = NULL;

    sig_ntalog_flush();
    nl.src[0] = '\0';
    for (const char *p = fmt; (p = strchr(p, '%')) != NULL; p += 2) {
        if (p[1] == 's') {
            const char *s = va_arg(ap, const char *);

            if (m == NULL)
                m = s;
        } else if (p[1] == 'u') {
            nl.cseq = va_arg(ap, unsigned);
        }
    }
    snprintf(nl.method, sizeof nl.method, "%s", m ? m : "?");
}

/* nta: METHOD (CSEQ) is PHRASE: its answer to a malformed request. */
static void verdict(const char *method, unsigned cseq, const char *phrase)
{
    char what[64];
    sig_reject_reason_t r;
    int status = 400;

    start_request(method);
    nl.pending = 0;
    what_of(what, sizeof what, method, cseq);
    if (phrase && strcmp(phrase, sip_413_Request_too_large) == 0) {
        r = SIG_REJECT_too_large;
        status = 413;
    } else if (nl.bad[0])
        r = SIG_REJECT_bad_header;
    else if (nl.insane)
        r = SIG_REJECT_bad_mandatory;
    else
        r = SIG_REJECT_bad_framing;
    sig_reject_stack(r, status, what, nl.src[0] ? nl.src : NULL, phrase);
}

static void on_line(const char *fmt, va_list ap)
{
    char what[64];

    if (strncmp(fmt, "nta: received %s ", 17) == 0) {
        received(fmt, ap);
    } else if (strcmp(fmt, "nta: received %03d %s for %s (%u)\n") == 0) {
        int st = va_arg(ap, int);
        const char *m;

        (void)va_arg(ap, const char *);          /* the phrase */
        m = va_arg(ap, const char *);
        sig_ntalog_flush();
        snprintf(nl.resp, sizeof nl.resp, "%03d response to %s", st, m);
        what_of(nl.resp + strlen(nl.resp), sizeof nl.resp - strlen(nl.resp), "",
                va_arg(ap, unsigned));
    } else if (strcmp(fmt, "nta: Via check: %s\n") == 0) {
        /* "received=ADDR": nta's answer goes there, and it is the source */
        const char *r = va_arg(ap, const char *);

        if (r && strncmp(r, "received=", 9) == 0)
            snprintf(nl.src, sizeof nl.src, "%s", r + 9);
    } else if (strcmp(fmt, "nta: %s has bad %s header\n") == 0) {
        const char *m = va_arg(ap, const char *), *h = va_arg(ap, const char *);

        start_request(m);
        if (!nl.bad[0])
            snprintf(nl.bad, sizeof nl.bad, "bad %s header", h ? h : "?");
    } else if (strcmp(fmt, "nta: %s (%u) %s\n") == 0) {
        const char *m = va_arg(ap, const char *);
        unsigned cseq = va_arg(ap, unsigned);
        const char *t = va_arg(ap, const char *);

        if (strcmp(t, "failed sanity check") == 0) {
            start_request(m);
            nl.cseq = cseq;
            nl.insane = 1;
        } else if (strcmp(t, "has invalid Via") == 0) {
            what_of(what, sizeof what, m, cseq);
            sig_reject_stack(SIG_REJECT_bad_via, 0, what,
                             nl.via_src[0] ? nl.via_src : NULL,
                             nl.via_proto[0] ? nl.via_proto : NULL);
            nl.via_src[0] = nl.via_proto[0] = '\0';
        }
    } else if (strcmp(fmt, "nta: %s (%u) is %s\n") == 0) {
        const char *m = va_arg(ap, const char *);
        unsigned cseq = va_arg(ap, unsigned);
        const char *phrase = va_arg(ap, const char *);

        /* the same format says NTATAG_DROP_PROB's drops (sigd sets none) */
        if (strncmp(phrase, "dropped", 7) != 0)
            verdict(m, cseq, phrase);
    } else if (strcmp(fmt, "nta: bad version %s for %s (%u)\n") == 0) {
        const char *v = va_arg(ap, const char *), *m = va_arg(ap, const char *);

        what_of(what, sizeof what, m, va_arg(ap, unsigned));
        sig_reject_stack(SIG_REJECT_bad_version, 505, what, NULL, v);
    } else if (strcmp(fmt, "nta: Via check: invalid transport \"%s\" from %s\n") == 0) {
        const char *p = va_arg(ap, const char *);

        snprintf(nl.via_proto, sizeof nl.via_proto, "%s", p ? p : "?");
        snprintf(nl.via_src, sizeof nl.via_src, "%s", va_arg(ap, const char *));
    } else if (strcmp(fmt, "nta_agent: received garbage from %s/%s:%s%s%s%s%s\n") == 0) {
        const char *proto = va_arg(ap, const char *), *host = va_arg(ap, const char *);
        char src[80];

        sig_ntalog_flush();
        snprintf(src, sizeof src, "%s:%s", host, va_arg(ap, const char *));
        sig_reject_stack(SIG_REJECT_bad_start_line, 0, "message", src, proto);
    } else if (strcmp(fmt, "nta: %03d %s %s\n") == 0 ||
               strcmp(fmt, "nta: bad version %s %03d %s\n") == 0) {
        /* (version,) status, phrase(, text): the status and phrase are
         * in nl.resp already */
        int version = fmt[5] == 'b';
        const char *v = version ? va_arg(ap, const char *) : NULL;
        const char *t;

        (void)va_arg(ap, int);
        (void)va_arg(ap, const char *);
        t = version ? v : va_arg(ap, const char *);
        if (version || strcmp(t, "has fatal syntax errors") == 0 ||
            strcmp(t, "failed sanity check") == 0 || strcmp(t, "is response to ACK") == 0) {
            snprintf(what, sizeof what, "%s", nl.resp[0] ? nl.resp : "response");
            sig_reject_stack(version ? SIG_REJECT_bad_version : SIG_REJECT_bad_response, 0,
                             what, NULL, t);
        }
    }
}

/* 1 for a line of nta's level-4/5 trace (by the shapes of its format
 * strings in 1.12.11), which stderr gets only when NTA_DEBUG asked. The
 * level-1 Via warnings also start "nta: ". */
static int trace(const char *fmt)
{
    static const char *const prefixes[] = {
        "nta(", "%s(%p)", "nta_incoming_timer:", "nta_outgoing_timer:", "nta_outgoing:",
        "nta_agent_create: initialized", "nta_leg_destroy(",
    };

    if (strncmp(fmt, "nta: ", 5) == 0)
        return strncmp(fmt, "nta: Via check: invalid", 23) != 0 &&
               strncmp(fmt, "nta: Via check: extra", 21) != 0;
    if (strcmp(fmt, "%s\n") == 0)      /* nta_msg_tsend()'s "what" */
        return 1;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(fmt, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}

static void logger(void *stream, const char *fmt, va_list ap)
{
    va_list copy;

    (void)stream;
    va_copy(copy, ap);
    on_line(fmt, copy);
    va_end(copy);
    if (nl.level >= NTA_TRACE_LEVEL || !trace(fmt)) {
        vfprintf(stderr, fmt, ap);
        fflush(stderr);
    }
}

void sig__ntalog_feed(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    logger(NULL, fmt, ap);
    va_end(ap);
}

void sig_ntalog_start(void)
{
    su_log_init(nta_log);
    nl.level = nta_log->log_level;
    if (nl.level < NTA_TRACE_LEVEL)
        su_log_set_level(nta_log, NTA_TRACE_LEVEL);
    su_log_redirect(nta_log, logger, NULL);
}

void sig_ntalog_stop(void)
{
    sig_ntalog_flush();
    su_log_redirect(nta_log, NULL, NULL);
    su_log_set_level(nta_log, nl.level);
}
