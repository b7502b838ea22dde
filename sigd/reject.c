/* Refusals of malformed or non-conforming SIP: one counter per reason,
 * and a log line per refusal, at most one per source address per 10 s:
 * a small table of recent sources (overwritten by hash, so a flood from
 * many sources costs a fixed amount of memory and may log a little more
 * than once per source) remembers when each last logged and how many
 * refusals it has had since; the next line it gets carries that count.
 * What the SIP stack refuses before sigd sees it often has no known
 * source (ntalog.c): those lines are keyed by method and CSeq instead,
 * and capped at 32 per 10 s in all, so that a flood of ever-different
 * malformed requests still costs a bounded number of lines. */
#include "reject.h"
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su.h>

#define SIG_REJECT_SLOTS 1024
#define SIG_REJECT_QUIET_S 10
#define SIG_REJECT_KEYLESS_MAX 32

static const char *const names[] = {
#define SIG_REJECT_NAME(name, text) #name,
    SIG_REJECT_REASONS(SIG_REJECT_NAME)
#undef SIG_REJECT_NAME
};
static const char *const texts[] = {
#define SIG_REJECT_TEXT(name, text) text,
    SIG_REJECT_REASONS(SIG_REJECT_TEXT)
#undef SIG_REJECT_TEXT
};

static struct {
    uint64_t count[SIG_REJECT_NREASONS];
    struct { char key[64]; time_t last; unsigned quiet; } slot[SIG_REJECT_SLOTS];
    /* the cap on lines without a source: window start, lines in it */
    time_t keyless_start;
    unsigned keyless_lines;
} rej;

const char *sig_reject_name(sig_reject_reason_t reason) { return names[reason]; }
uint64_t sig_reject_count(sig_reject_reason_t reason) { return rej.count[reason]; }

/* 1 when key logged less than 10 s ago (the refusal is then only
 * counted); 0 when a line is due, with *more set to the refusals of key
 * not logged since its last line. */
static int quiet(const char *key, time_t now, unsigned *more)
{
    unsigned h = 5381;

    for (const char *p = key; *p; p++)
        h = h * 33 + (unsigned char)*p;
    h %= SIG_REJECT_SLOTS;
    if (strcmp(rej.slot[h].key, key) == 0 && now - rej.slot[h].last < SIG_REJECT_QUIET_S) {
        rej.slot[h].quiet++;
        return 1;
    }
    *more = strcmp(rej.slot[h].key, key) == 0 ? rej.slot[h].quiet : 0;
    snprintf(rej.slot[h].key, sizeof rej.slot[h].key, "%s", key);
    rej.slot[h].last = now;
    rej.slot[h].quiet = 0;
    return 0;
}

/* The count of the quiet ones is per source, or per method and CSeq
 * when the source is not known (keyless). */
static void line(const char *ctx, const char *who, const char *what, const char *src,
                 int status, sig_reject_reason_t reason, const char *detail, unsigned more,
                 int keyless)
{
    gw_log(GW_LOG_INFO, ctx,
           "%s%s %s%s%s: %d %s%s%s%s (%u more from this %s in the last %d s)",
           who, status ? "refused" : "dropped", what, src ? " from " : "", src ? src : "",
           status, texts[reason], detail ? " (" : "", detail ? detail : "", detail ? ")" : "",
           more, keyless ? "method and CSeq" : "source", SIG_REJECT_QUIET_S);
}

void sig_reject(msg_t *msg, sig_reject_reason_t reason, int status, const char *detail)
{
    const sip_t *sip = sip_object(msg);
    su_sockaddr_t *sa = (su_sockaddr_t *)msg_addr(msg);
    char ip[48] = "?", src[64], what[64];
    unsigned port = 0, more;

    rej.count[reason]++;
    if (sa && (sa->su_family == AF_INET || sa->su_family == AF_INET6)) {
        su_inet_ntop(sa->su_family, SU_ADDR(sa), ip, sizeof ip);
        port = ntohs(sa->su_port);
    }
    if (quiet(ip, time(NULL), &more))
        return;
    if (sip && sip->sip_request)
        snprintf(what, sizeof what, "%s", sip->sip_request->rq_method_name);
    else if (sip && sip->sip_status)
        snprintf(what, sizeof what, "%d response", sip->sip_status->st_status);
    else
        snprintf(what, sizeof what, "message");
    snprintf(src, sizeof src, "%s:%u", ip, port);
    line(sip && sip->sip_call_id ? sip->sip_call_id->i_id : NULL, "", what, src, status,
         reason, detail, more, 0);
}

void sig_reject_stack(sig_reject_reason_t reason, int status, const char *what,
                      const char *src, const char *detail)
{
    char ip[64];
    time_t now = time(NULL);
    unsigned more;

    rej.count[reason]++;
    if (src) {
        /* the address without its port is the source */
        snprintf(ip, sizeof ip, "%s", src[0] == '[' ? src + 1 : src);
        if (src[0] == '[' && strchr(ip, ']'))
            *strchr(ip, ']') = '\0';
        else if (strchr(ip, ':') && strchr(ip, ':') == strrchr(ip, ':'))
            *strrchr(ip, ':') = '\0';
    } else {
        if (now - rej.keyless_start >= SIG_REJECT_QUIET_S) {
            rej.keyless_start = now;
            rej.keyless_lines = 0;
        }
        if (rej.keyless_lines >= SIG_REJECT_KEYLESS_MAX)
            return;
        rej.keyless_lines++;
        snprintf(ip, sizeof ip, "%s", what);
    }
    if (quiet(ip, now, &more))
        return;
    line(NULL, "SIP stack ", what, src, status, reason, detail, more, src == NULL);
}
