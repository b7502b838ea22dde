/* sigd dialog matching for the rate limit (sig_dialog_known): an in-dialog
 * request belongs to a dialog of the table only when its Call-ID names a
 * live call and its From and To tags are the dialog's parties, in either
 * direction; a made-up To tag, a known Call-ID with foreign tags, or an
 * ended call does not pass. */
#include "call.h"
#include "dialog.h"
#include "runner.h"

#include <sofia-sip/msg.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_alloc.h>

typedef struct {
    sig_daemon_t sig;
    msg_t *msgs[16];
    unsigned nmsgs;
} fixture_t;

/* A BYE with these Call-ID and tags (to_tag NULL: none), parsed. */
static const sip_t *bye(fixture_t *f, const char *cid, const char *from_tag,
                        const char *to_tag)
{
    char text[512];
    int n;
    msg_t *m;

    n = snprintf(text, sizeof text,
                 "BYE sip:a@192.0.2.1 SIP/2.0\r\n"
                 "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n"
                 "From: <sip:b@192.0.2.9>;tag=%s\r\n"
                 "To: <sip:a@192.0.2.1>%s%s\r\n"
                 "Call-ID: %s\r\n"
                 "CSeq: 2 BYE\r\n"
                 "Content-Length: 0\r\n\r\n",
                 from_tag, to_tag ? ";tag=" : "", to_tag ? to_tag : "", cid);
    m = msg_make(sip_default_mclass(), 0, text, n);
    CHECK(m != NULL && f->nmsgs < 16);
    f->msgs[f->nmsgs++] = m;
    CHECK(sip_object(m) != NULL && sip_object(m)->sip_call_id != NULL);
    return sip_object(m);
}

static sig_call_t *call(fixture_t *f, const char *cid, const char *caller_tag,
                        const char *callee_tag)
{
    sig_call_t *c = sig_call_create(&f->sig, cid);

    CHECK(c != NULL);
    c->party[SIG_CALLER].tag = su_strdup(c->home, caller_tag);
    if (callee_tag) {
        c->party[SIG_CALLEE].tag = su_strdup(c->home, callee_tag);
        c->confirmed = 1;
    }
    return c;
}

static void setup(fixture_t *f)
{
    memset(f, 0, sizeof *f);
    CHECK_INT(sig_calls_init(&f->sig), ==, 0);
}

static void teardown(fixture_t *f)
{
    for (unsigned i = 0; i < f->nmsgs; i++)
        msg_destroy(f->msgs[i]);
    sig_calls_fini(&f->sig);
}

TEST(dialog_known_confirmed)
{
    fixture_t f;

    setup(&f);
    call(&f, "c1@x", "AAA", "BBB");
    /* The caller's request (From = caller), the callee's (From = callee). */
    CHECK(sig_dialog_known(&f.sig, bye(&f, "c1@x", "AAA", "BBB")));
    CHECK(sig_dialog_known(&f.sig, bye(&f, "c1@x", "BBB", "AAA")));
    /* One tag right is not enough once both are known. */
    CHECK(!sig_dialog_known(&f.sig, bye(&f, "c1@x", "AAA", "forged")));
    CHECK(!sig_dialog_known(&f.sig, bye(&f, "c1@x", "forged", "BBB")));
    CHECK(!sig_dialog_known(&f.sig, bye(&f, "c1@x", "BBB", "BBB")));
    /* Tags are compared exactly. */
    CHECK(!sig_dialog_known(&f.sig, bye(&f, "c1@x", "aaa", "BBB")));
    teardown(&f);
}

TEST(dialog_unknown_call_id_or_no_tag)
{
    fixture_t f;

    setup(&f);
    call(&f, "c1@x", "AAA", "BBB");
    /* A made-up dialog: random Call-ID with a To tag. */
    CHECK(!sig_dialog_known(&f.sig, bye(&f, "random@y", "AAA", "BBB")));
    /* No To tag: not in a dialog at all. */
    CHECK(!sig_dialog_known(&f.sig, bye(&f, "c1@x", "AAA", NULL)));
    teardown(&f);
}

TEST(dialog_early_needs_the_caller_tag)
{
    fixture_t f;

    setup(&f);
    call(&f, "c2@x", "CALLER", NULL);   /* before the 2xx: callee unknown */
    CHECK(sig_dialog_known(&f.sig, bye(&f, "c2@x", "CALLER", "early1")));
    CHECK(sig_dialog_known(&f.sig, bye(&f, "c2@x", "early1", "CALLER")));
    CHECK(!sig_dialog_known(&f.sig, bye(&f, "c2@x", "x", "y")));
    teardown(&f);
}

TEST(dialog_ended_call_not_known)
{
    fixture_t f;
    sig_call_t *c;

    setup(&f);
    c = call(&f, "c3@x", "AAA", "BBB");
    CHECK(sig_dialog_known(&f.sig, bye(&f, "c3@x", "AAA", "BBB")));
    sig_call_end(c, "test");
    CHECK(!sig_dialog_known(&f.sig, bye(&f, "c3@x", "AAA", "BBB")));
    teardown(&f);
}

static const gw_test_t tests[] = {
    T(dialog_known_confirmed),
    T(dialog_unknown_call_id_or_no_tag),
    T(dialog_early_needs_the_caller_tag),
    T(dialog_ended_call_not_known),
    { NULL, NULL }
};

int main(int argc, char **argv)
{
    return gw_test_main(argc, argv, tests);
}
