/* Refusals of malformed or non-conforming SIP: one counter per reason,
 * and a log line per refusal, at most one per source address per 10 s:
 * a small table of recent sources (overwritten by hash, so a flood from
 * many sources costs a fixed amount of memory and may log a little more
 * than once per source) remembers when each last logged and how many
 * refusals it has had since; the next line it gets carries that count. */
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
    struct { char ip[48]; time_t last; unsigned quiet; } slot[SIG_REJECT_SLOTS];
} rej;

const char *sig_reject_name(sig_reject_reason_t reason) { return names[reason]; }
uint64_t sig_reject_count(sig_reject_reason_t reason) { return rej.count[reason]; }

void sig_reject(msg_t *msg, sig_reject_reason_t reason, int status, const char *detail)
{
    const sip_t *sip = sip_object(msg);
    su_sockaddr_t *sa = (su_sockaddr_t *)msg_addr(msg);
    char ip[48] = "?", what[64];
    unsigned h = 5381, port = 0;
    time_t now = time(NULL);

    rej.count[reason]++;
    if (sa && (sa->su_family == AF_INET || sa->su_family == AF_INET6)) {
        su_inet_ntop(sa->su_family, SU_ADDR(sa), ip, sizeof ip);
        port = ntohs(sa->su_port);
    }
    for (const char *p = ip; *p; p++)
        h = h * 33 + (unsigned char)*p;
    h %= SIG_REJECT_SLOTS;
    if (strcmp(rej.slot[h].ip, ip) == 0 && now - rej.slot[h].last < SIG_REJECT_QUIET_S) {
        rej.slot[h].quiet++;
        return;
    }
    if (sip && sip->sip_request)
        snprintf(what, sizeof what, "%s", sip->sip_request->rq_method_name);
    else if (sip && sip->sip_status)
        snprintf(what, sizeof what, "%d response", sip->sip_status->st_status);
    else
        snprintf(what, sizeof what, "message");
    gw_log(GW_LOG_INFO, sip && sip->sip_call_id ? sip->sip_call_id->i_id : NULL,
           "%s %s from %s:%u: %d %s%s%s%s (%u more from this source in the last %d s)",
           status ? "refused" : "dropped", what, ip, port, status, texts[reason],
           detail ? " (" : "", detail ? detail : "", detail ? ")" : "",
           strcmp(rej.slot[h].ip, ip) == 0 ? rej.slot[h].quiet : 0, SIG_REJECT_QUIET_S);
    snprintf(rej.slot[h].ip, sizeof rej.slot[h].ip, "%s", ip);
    rej.slot[h].last = now;
    rej.slot[h].quiet = 0;
}
