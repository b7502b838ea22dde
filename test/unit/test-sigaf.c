/* sigd anti-fraud policy helpers: the outbound destination decision
 * (longest prefix, emergency numbers) and the scanner User-Agent match. */
#include "antifraud.h"
#include "runner.h"

static sig_af_config_t swiss(void)
{
    sig_af_config_t c;

    memset(&c, 0, sizeof c);
    snprintf(c.allowed_prefixes, sizeof c.allowed_prefixes, "+41, 0041,0");
    snprintf(c.denied_prefixes, sizeof c.denied_prefixes, "00");
    snprintf(c.emergency, sizeof c.emergency, "112,117,118,144,143,147,1414,1415");
    return c;
}

TEST(af_national_allowed)
{
    sig_af_config_t c = swiss();

    CHECK_INT(sig__af_destination(&c, "+41445551234"), ==, 0);
    CHECK_INT(sig__af_destination(&c, "0041445551234"), ==, 0);
    CHECK_INT(sig__af_destination(&c, "0445551234"), ==, 0);
}

TEST(af_international_refused)
{
    sig_af_config_t c = swiss();

    /* "0" is allowed but the longer "00" denies international access,
     * except for "0041", longer still. */
    CHECK_INT(sig__af_destination(&c, "0049301234567"), ==, 403);
    CHECK_INT(sig__af_destination(&c, "+12125550100"), ==, 403);
    CHECK_INT(sig__af_destination(&c, "900123"), ==, 403);
    CHECK_INT(sig__af_destination(&c, ""), ==, 403);
    CHECK_INT(sig__af_destination(&c, NULL), ==, 403);
}

TEST(af_emergency_always)
{
    sig_af_config_t c = swiss();

    snprintf(c.allowed_prefixes, sizeof c.allowed_prefixes, "+41");
    CHECK_INT(sig__af_destination(&c, "112"), ==, 0);
    CHECK_INT(sig__af_destination(&c, "1415"), ==, 0);
    CHECK_INT(sig__af_destination(&c, "1416"), ==, 403);   /* exact only */
    CHECK_INT(sig__af_destination(&c, "1120"), ==, 403);
}

TEST(af_scanner_match)
{
    const char *list = "friendly-scanner, sipvicious,VaxSIPUserAgent";

    CHECK(sig__af_list_has_substr(list, "friendly-scanner"));
    CHECK(sig__af_list_has_substr(list, "SIPVicious/0.3.4"));
    CHECK(sig__af_list_has_substr(list, "x VaxSIPUserAgent/3.1"));
    CHECK(!sig__af_list_has_substr(list, "baresip v2.9.0"));
    CHECK(!sig__af_list_has_substr(list, ""));
    CHECK(!sig__af_list_has_substr("", "anything"));
    CHECK(!sig__af_list_has_substr(" , ,", "anything"));
}

static const gw_test_t tests[] = {
    T(af_national_allowed), T(af_international_refused), T(af_emergency_always),
    T(af_scanner_match), { NULL, NULL }
};

int main(int argc, char **argv)
{
    return gw_test_main(argc, argv, tests);
}
