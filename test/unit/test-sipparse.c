/* Tests for sigd/sipparse.c: the request line and CSeq of RFC 4475's
 * intmeth (a method with '+' and '`', which Sofia's own parser refuses)
 * parse as an unknown method; ordinary requests keep Sofia's parse
 * (known methods, codes); garbage stays garbage; a message of our class
 * still takes a CSeq that Sofia's code makes (msg_hclass_offset() by
 * class pointer, as nta does for an ACK or CANCEL); and the request
 * prints back unchanged. */
#include "runner.h"

#include <sofia-sip/msg.h>
#include <sofia-sip/msg_mclass.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sip_util.h>

#include "sipparse.h"

#define ODD "!interesting-Method0123456789_*+`.%indeed'~"

static msg_t *parse(const char *text)
{
    msg_t *m = msg_make(sig_sipparse_mclass(), 0, text, (isize_t)strlen(text));

    CHECK(m != NULL);
    return m;
}

TEST(sipparse_odd_method)
{
    msg_t *m = parse(ODD " sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,"
                     "weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\r\n"
                     "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\n"
                     "To: <sip:a@example.com>\r\nFrom: <sip:b@example.com>;tag=1\r\n"
                     "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\r\n"
                     "CSeq: 139122385 " ODD "\r\nMax-Forwards: 255\r\n"
                     "Content-Length: 0\r\n\r\n");
    sip_t *sip = sip_object(m);

    CHECK(sip && sip->sip_request && sip->sip_cseq);
    CHECK_INT(sip->sip_request->rq_method, ==, sip_method_unknown);
    CHECK_STR(sip->sip_request->rq_method_name, ODD);
    CHECK_STR(sip->sip_request->rq_version, "SIP/2.0");
    CHECK_STR(sip->sip_request->rq_url->url_host, "example.com");
    CHECK_INT(sip->sip_cseq->cs_seq, ==, 139122385);
    CHECK_INT(sip->sip_cseq->cs_method, ==, sip_method_unknown);
    CHECK_STR(sip->sip_cseq->cs_method_name, ODD);
    CHECK(sip_is_cseq((sip_header_t *)sip->sip_cseq));
    CHECK(sip_sanity_check(sip) == 0);
    CHECK_CONTAINS(msg_as_string(msg_home(m), m, NULL, 0, NULL), "CSeq: 139122385 " ODD "\r\n");
    CHECK_CONTAINS(msg_as_string(msg_home(m), m, NULL, 0, NULL), ODD " sip:1_unusual");
    msg_destroy(m);
}

TEST(sipparse_ordinary)
{
    msg_t *m = parse("INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                     "To: <sip:bob@example.com>\r\nFrom: <sip:a@example.com>;tag=1\r\n"
                     "Call-ID: x\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n");
    sip_t *sip = sip_object(m);

    CHECK(sip && sip->sip_request && sip->sip_cseq);
    CHECK_INT(sip->sip_request->rq_method, ==, sip_method_invite);
    CHECK_INT(sip->sip_cseq->cs_method, ==, sip_method_invite);
    CHECK_INT(sip->sip_cseq->cs_seq, ==, 7);
    /* a CSeq made by Sofia's code still finds its place */
    CHECK(msg_header_replace(m, (msg_pub_t *)sip, (msg_header_t *)sip->sip_cseq,
                             (msg_header_t *)sip_cseq_create(msg_home(m), 8,
                                                             SIP_METHOD_ACK)) == 0);
    CHECK(sip->sip_cseq && sip->sip_cseq->cs_seq == 8);
    CHECK_INT(sip->sip_cseq->cs_method, ==, sip_method_ack);
    msg_destroy(m);
}

TEST(sipparse_still_refused)
{
    /* not a token: stays garbage (no request line) */
    msg_t *m = parse("BAD{METHOD+ sip:bob@example.com SIP/2.0\r\nCSeq: 1 BAD{METHOD+\r\n"
                     "Content-Length: 0\r\n\r\n");
    sip_t *sip = sip_object(m);

    CHECK(sip == NULL || sip->sip_request == NULL);
    msg_destroy(m);
    /* a CSeq with junk after the method is an error header */
    m = parse("A+B sip:bob@example.com SIP/2.0\r\nCSeq: 1 A+B junk\r\nContent-Length: 0\r\n\r\n");
    sip = sip_object(m);
    CHECK(sip && sip->sip_request && sip->sip_cseq == NULL && sip->sip_error);
    msg_destroy(m);
    CHECK(sig__sip_token("a+b`c", 5));
    CHECK(!sig__sip_token("a b", 3));
    CHECK(!sig__sip_token("", 0));
}

static const gw_test_t tests[] = {
    T(sipparse_odd_method), T(sipparse_ordinary), T(sipparse_still_refused), { NULL, NULL }
};

int main(int argc, char **argv)
{
    int rc = gw_test_main(argc, argv, tests);

    sig_sipparse_free();
    return rc;
}
