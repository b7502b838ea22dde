/* Tests for sigd/ntalog.c: nta's log lines, in the order nta writes them
 * for the refusals seen with RFC 4475 (a header that does not parse, a
 * failed sanity check, no usable Via, garbage, a wrong Via transport, a
 * bad version, a malformed response), each become one refusal of the
 * right reason (the counters of reject.c); ordinary trace changes none. */
#include "runner.h"

#include "log.h"
#include "ntalog.h"
#include "reject.h"

/* nta's own format strings (Sofia 1.12.11) */
#define RECEIVED "nta: received %s %s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s %s (CSeq %u)\n"
#define URL_ARGS "sip:", "", "", "", "", "", "user", "@", "example.com", "", "", "", "", "", \
                 "", "", ""

static uint64_t count[SIG_REJECT_NREASONS];

/* 1 when exactly reason r (and no other) was counted since the last call */
static int only(sig_reject_reason_t r)
{
    int ok = 1;

    for (int k = 0; k < SIG_REJECT_NREASONS; k++) {
        uint64_t now = sig_reject_count((sig_reject_reason_t)k);

        if (now - count[k] != (k == (int)r))
            ok = 0;
        count[k] = now;
    }
    return ok;
}

static void request(const char *method, unsigned cseq, const char *src)
{
    char rcv[64];

    sig__ntalog_feed(RECEIVED, method, URL_ARGS, "SIP/2.0", cseq);
    snprintf(rcv, sizeof rcv, "received=%s", src);
    sig__ntalog_feed("nta: Via check: %s\n", rcv);
}

TEST(ntalog_refusals)
{
    CHECK(only(SIG_REJECT_NREASONS));
    /* forwarded: no refusal */
    request("OPTIONS", 1, "192.0.2.1");
    sig__ntalog_feed("nta: %s (%u) %s\n", "OPTIONS", 1u, "to message callback");
    sig_ntalog_flush();
    CHECK(only(SIG_REJECT_NREASONS));
    /* baddn: a header that does not parse, answered 400 */
    sig__ntalog_feed(RECEIVED, "OPTIONS", URL_ARGS, "SIP/2.0", 3923239u);
    sig__ntalog_feed("nta: %s has bad %s header\n", "OPTIONS", "From");
    sig__ntalog_feed("nta: Via check: %s\n", "received=192.0.2.13");
    sig__ntalog_feed("nta: %s (%u) is %s\n", "OPTIONS", 3923239u, "Bad From Header");
    CHECK(only(SIG_REJECT_bad_header));
    sig_ntalog_flush();
    CHECK(only(SIG_REJECT_NREASONS));
    /* insuf: the sanity check */
    sig__ntalog_feed(RECEIVED, "INVITE", URL_ARGS, "SIP/2.0", 193942u);
    sig__ntalog_feed("nta: %s (%u) %s\n", "INVITE", 193942u, "failed sanity check");
    sig__ntalog_feed("nta: %s (%u) is %s\n", "INVITE", 193942u, "Bad Request");
    CHECK(only(SIG_REJECT_bad_mandatory));
    /* clerr: neither (a framing error) */
    request("INVITE", 8, "192.0.2.19");
    sig__ntalog_feed("nta: %s (%u) is %s\n", "INVITE", 8u, "Bad Request");
    CHECK(only(SIG_REJECT_bad_framing));
    /* badinv01: no Via, dropped without a verdict: known at the next
     * message, or before the next poll */
    sig__ntalog_feed(RECEIVED, "INVITE", URL_ARGS, "SIP/2.0", 8u);
    sig__ntalog_feed("nta: %s has bad %s header\n", "INVITE", "Via");
    sig__ntalog_feed("nta: %s has bad %s header\n", "INVITE", "Contact");
    CHECK(only(SIG_REJECT_NREASONS));
    request("OPTIONS", 2, "192.0.2.1");
    CHECK(only(SIG_REJECT_no_via));
    sig__ntalog_feed(RECEIVED, "ACK", URL_ARGS, "SIP/2.0", 8u);
    sig__ntalog_feed("nta: %s (%u) %s\n", "ACK", 8u, "failed sanity check");
    sig_ntalog_flush();
    CHECK(only(SIG_REJECT_bad_mandatory));
    /* garbage, a wrong transport, a bad version, a bad response */
    sig__ntalog_feed("nta_agent: received garbage from %s/%s:%s%s%s%s%s\n", "udp",
                     "192.0.2.34", "5060", "", "", "", "");
    CHECK(only(SIG_REJECT_bad_start_line));
    sig__ntalog_feed(RECEIVED, "OPTIONS", URL_ARGS, "SIP/2.0", 8u);
    sig__ntalog_feed("nta: Via check: invalid transport \"%s\" from %s\n", "SIP/2.0/TLS",
                     "192.0.2.17:4242");
    sig__ntalog_feed("nta: %s (%u) %s\n", "OPTIONS", 8u, "has invalid Via");
    CHECK(only(SIG_REJECT_bad_via));
    sig__ntalog_feed(RECEIVED, "OPTIONS", URL_ARGS, "SIP/7.0", 1u);
    sig__ntalog_feed("nta: bad version %s for %s (%u)\n", "SIP/7.0", "OPTIONS", 1u);
    CHECK(only(SIG_REJECT_bad_version));
    sig__ntalog_feed("nta: received %03d %s for %s (%u)\n", 503, "Service Unavailable",
                     "<UNKNOWN>", 0u);
    sig__ntalog_feed("nta: %03d %s %s\n", 503, "Service Unavailable", "has fatal syntax errors");
    CHECK(only(SIG_REJECT_bad_response));
    sig__ntalog_feed("nta: received %03d %s for %s (%u)\n", 200, "OK", "INVITE", 5u);
    sig__ntalog_feed("nta: %03d %s %s\n", 200, "OK", "is going to a transaction");
    CHECK(only(SIG_REJECT_NREASONS));
}

TEST(ntalog_flood)
{
    /* ever-different malformed requests: all counted (their 32 log
     * lines are not wanted in the unit test output) */
    gw_log_set_level(GW_LOG_WARN);
    for (unsigned i = 0; i < 200; i++) {
        sig__ntalog_feed(RECEIVED, "INVITE", URL_ARGS, "SIP/2.0", i);
        sig__ntalog_feed("nta: %s (%u) %s\n", "INVITE", i, "failed sanity check");
        sig__ntalog_feed("nta: %s (%u) is %s\n", "INVITE", i, "Bad Request");
    }
    CHECK_INT(sig_reject_count(SIG_REJECT_bad_mandatory), ==, 200);
}

static const gw_test_t tests[] = {
    T(ntalog_refusals), T(ntalog_flood), { NULL, NULL }
};

int main(int argc, char **argv)
{
    return gw_test_main(argc, argv, tests);
}
