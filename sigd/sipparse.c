/* Sofia reads a method name (in the request line and in CSeq) as a run of
 * "unreserved" characters, which lacks two of RFC 3261's token
 * characters, '+' and '`'. A request such as RFC 4475's intmeth, whose
 * method is "!interesting-Method0123456789_*+`.%indeed'~", then has no
 * request line for nta, which drops it as garbage; a proxy must forward
 * it (RFC 3261 section 16).
 *
 * So sigd's agents get a copy of Sofia's message class in which the
 * request line and CSeq have parsers of ours. Each hands the text to
 * Sofia's unless the method token holds one of those two characters;
 * then it takes it as an unknown method, as Sofia would any other name,
 * and leaves the rest (URI, version, sequence number) to Sofia's own
 * decoders. Everything else about the two header classes (printing,
 * copying, the hash by which Sofia recognises them) is Sofia's. */
#include "sipparse.h"

#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg_mclass.h>
#include <sofia-sip/msg_parser.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_parser.h>
#include <sofia-sip/url.h>

static struct {
    msg_mclass_t *mclass;
    struct msg_hclass_s request, cseq;   /* copies of Sofia's, parse replaced */
} sp;

int sig__sip_token(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("-.!%*_+`'~", c)))
            return 0;
    }
    return 1;
}

/* Length of the method token at s when it is one Sofia would refuse
 * (a token holding '+' or '`'), 0 when Sofia's parser should have it. */
static size_t ours(const char *s)
{
    size_t n = strcspn(s, " \t\r\n");

    if (!sig__sip_token(s, n) || strcspn(s, "+`") >= n)
        return 0;
    return n;
}

static issize_t request_d(su_home_t *home, msg_header_t *h, char *s, isize_t slen)
{
    sip_request_t *rq = (sip_request_t *)h;
    char *uri, *version;

    if (ours(s) == 0)
        return sip_request_class->hc_parse(home, h, s, slen);
    /* msg_firstline_d() ends the method with a NUL, as Sofia's does */
    if (msg_firstline_d(s, &uri, &version) < 0 || !uri || !version)
        return -1;
    rq->rq_method = sip_method_unknown;
    rq->rq_method_name = s;
    if (url_d(rq->rq_url, uri) < 0 || sip_version_d(&version, &rq->rq_version) < 0 ||
        *version)
        return -1;
    return 0;
}

static issize_t cseq_d(su_home_t *home, msg_header_t *h, char *s, isize_t slen)
{
    sip_cseq_t *cs = (sip_cseq_t *)h;
    char *m = s + strspn(s, "0123456789");
    size_t n;

    m += strspn(m, " \t\r\n");
    if (m == s || (n = ours(m)) == 0)
        return sip_cseq_class->hc_parse(home, h, s, slen);
    if (msg_uint32_d(&s, &cs->cs_seq) < 0)
        return -1;
    if (m[n + strspn(m + n, " \t\r\n")] != '\0')
        return -1;
    m[n] = '\0';
    cs->cs_method = sip_method_unknown;
    cs->cs_method_name = m;
    return 0;
}

msg_mclass_t *sig_sipparse_mclass(void)
{
    if (sp.mclass)
        return sp.mclass;
    sp.mclass = msg_mclass_clone(sip_default_mclass(), 0, 0);
    if (sp.mclass == NULL)
        return NULL;
    sp.request = *sip_request_class;
    sp.request.hc_parse = request_d;
    sp.mclass->mc_request->hr_class = &sp.request;
    sp.cseq = *sip_cseq_class;
    sp.cseq.hc_parse = cseq_d;
    /* Ours takes Sofia's slot, which the parser finds first by name;
     * Sofia's goes in again behind it (same offset), for
     * msg_hclass_offset(), which finds a class by its pointer when nta
     * inserts a CSeq it made (an ACK's, a CANCEL's). */
    for (int i = 0; i < sp.mclass->mc_hash_size; i++) {
        msg_href_t sofia = sp.mclass->mc_hash[i];

        if (sofia.hr_class != sip_cseq_class)
            continue;
        sp.mclass->mc_hash[i].hr_class = &sp.cseq;
        if (msg_mclass_insert(sp.mclass, &sofia) < 0)
            sp.mclass->mc_hash[i].hr_class = sip_cseq_class;   /* table full */
        break;
    }
    return sp.mclass;
}

void sig_sipparse_free(void)
{
    /* msg_mclass_clone() allocates with malloc() */
    free(sp.mclass);
    sp.mclass = NULL;
}
