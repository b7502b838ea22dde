/* Refusals and drops of malformed or non-conforming SIP, counted by
 * reason, and logged at most once per source per 10 s (with the count of
 * those not logged), so that a flood cannot flood the log. Meant to be
 * folded with drops.c (anti-fraud) at merge. */
#ifndef SIG_REJECT_H
#define SIG_REJECT_H

#include <stdint.h>
#include <sofia-sip/msg.h>

#define SIG_REJECT_REASONS(X)                                   \
    X(stray_response, "response matching no transaction")      \
    X(unsupported_scheme, "unsupported Request-URI scheme")    \
    X(bad_extension, "Proxy-Require with unknown options")     \
    X(uri_headers, "Request-URI with headers")                 \
    X(too_many_hops, "Max-Forwards exhausted")                 \
    X(unknown_dialog, "in-dialog request of no known dialog")

typedef enum {
#define SIG_REJECT_ENUM(name, text) SIG_REJECT_##name,
    SIG_REJECT_REASONS(SIG_REJECT_ENUM)
#undef SIG_REJECT_ENUM
    SIG_REJECT_NREASONS
} sig_reject_reason_t;

/* Counts a refusal or drop of msg for reason and logs it (rate-limited
 * per source address): "[Call-ID] refused METHOD from IP:PORT: STATUS
 * reason (detail)"; status 0 for a drop. */
void sig_reject(msg_t *msg, sig_reject_reason_t reason, int status, const char *detail);
uint64_t sig_reject_count(sig_reject_reason_t reason);
const char *sig_reject_name(sig_reject_reason_t reason);

#endif
