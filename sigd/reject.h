/* Refusals and drops of malformed or non-conforming SIP, counted by
 * reason, and logged at most once per source per 10 s (with the count of
 * those not logged), so that a flood cannot flood the log. Meant to be
 * folded with drops.c (anti-fraud) at merge. */
#ifndef SIG_REJECT_H
#define SIG_REJECT_H

#include <stdint.h>
#include <sofia-sip/msg.h>

/* name (the label in gw_sig_rejected_total{reason=...}), log text. The
 * second group is what Sofia's nta refuses or drops before sigd sees the
 * message (ntalog.c). */
#define SIG_REJECT_REASONS(X)                                                  \
    X(stray_response, "response matching no transaction")                     \
    X(unsupported_scheme, "unsupported Request-URI scheme")                   \
    X(bad_extension, "Proxy-Require with unknown options")                    \
    X(uri_headers, "Request-URI with headers")                                \
    X(too_many_hops, "Max-Forwards exhausted")                                \
    X(unknown_dialog, "in-dialog request of no known dialog")                 \
    X(unknown_transaction, "CANCEL matching no transaction")                  \
    X(bad_header, "header that does not parse")                               \
    X(bad_mandatory, "missing, repeated or inconsistent To/From/Call-ID/CSeq/Via") \
    X(bad_framing, "message that does not parse (framing, Content-Length)")   \
    X(bad_start_line, "start line that does not parse")                       \
    X(bad_version, "SIP version not 2.0")                                     \
    X(bad_via, "Via transport other than the one it came over")              \
    X(no_via, "malformed request without a usable Via")                       \
    X(too_large, "message over max_message")                                  \
    X(bad_response, "malformed response")

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

/* The same for a message the SIP stack refused itself, of which only
 * what its log says is known: what ("INVITE (CSeq 5)", "message"), the
 * source "IP:PORT" when it is known (NULL otherwise). Lines without a
 * source are limited per `what` and to 32 per 10 s in all. */
void sig_reject_stack(sig_reject_reason_t reason, int status, const char *what,
                      const char *src, const char *detail);

uint64_t sig_reject_count(sig_reject_reason_t reason);
const char *sig_reject_name(sig_reject_reason_t reason);

#endif
