/* Unit tests of turnd's STUN codec (stun_msg.c) and request handling
 * (stun.c): the RFC 5769 test vectors, encode/decode round trips, refusal
 * of malformed input, and the answers to Binding requests (modern, RFC 3489
 * legacy, with unknown attributes).
 *
 * The RFC 5769 vectors are copied from the RFC (section 2; Simplified BSD
 * License, IETF Trust): they are data, byte for byte, padding included
 * (the RFC pads some attributes with 0x20 on purpose). */
#include "runner.h"
#include "stun.h"
#include "stun_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

/* RFC 5769 section 2.1: Binding request with SOFTWARE, PRIORITY,
 * ICE-CONTROLLED, USERNAME, MESSAGE-INTEGRITY and FINGERPRINT. */
static const uint8_t rfc_request[] = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
    0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
    0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
    0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
    0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
    0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 section 2.2: success response, XOR-MAPPED-ADDRESS
 * 192.0.2.1:32853. */
static const uint8_t rfc_ipv4[] = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
    0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
    0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
    0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
    0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 section 2.3: success response, XOR-MAPPED-ADDRESS
 * [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const uint8_t rfc_ipv6[] = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
    0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
    0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
    0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
    0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
    0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

static const uint8_t tid[TURN_STUN_TID_LEN] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
};

static void make_v4(struct sockaddr_storage *ss, const char *ip, unsigned port)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;

    memset(ss, 0, sizeof *ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    CHECK(inet_pton(AF_INET, ip, &sin->sin_addr) == 1);
}

static void make_v6(struct sockaddr_storage *ss, const char *ip, unsigned port)
{
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof *ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    CHECK(inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1);
}

static int same_addr(const struct sockaddr_storage *a,
                     const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port &&
               memcmp(&x->sin_addr, &y->sin_addr, 4) == 0;
    }
    {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
    }
}

TEST(crc32_check_value)
{
    CHECK(turn_stun_crc32(0, (const uint8_t *)"123456789", 9) == 0xCBF43926u);
    CHECK(turn_stun_crc32(0, NULL, 0) == 0);
}

TEST(rfc5769_request)
{
    turn_stun_msg_t m;
    const turn_stun_attr_t *a;

    CHECK_INT(turn_stun_decode(&m, rfc_request, sizeof rfc_request, 0), ==, 0);
    CHECK_INT(m.method, ==, TURN_STUN_BINDING);
    CHECK_INT(m.cls, ==, TURN_STUN_REQUEST);
    CHECK(!m.legacy);
    CHECK(m.has_fingerprint);
    CHECK_INT(m.nattrs, ==, 6);
    CHECK(memcmp(m.tid, rfc_request + 8, 12) == 0);
    a = turn_stun_find(&m, TURN_ATTR_SOFTWARE);
    CHECK(a != NULL && a->len == 16 && memcmp(a->val, "STUN test client", 16) == 0);
    a = turn_stun_find(&m, TURN_ATTR_USERNAME);
    CHECK(a != NULL && a->len == 9 && memcmp(a->val, "evtj:h6vY", 9) == 0);
    CHECK(turn_stun_find(&m, TURN_ATTR_MESSAGE_INTEGRITY) != NULL);
    CHECK(turn_stun_find(&m, TURN_ATTR_XOR_MAPPED_ADDRESS) == NULL);
}

TEST(rfc5769_ipv4_response)
{
    turn_stun_msg_t m;
    struct sockaddr_storage got, want;
    const turn_stun_attr_t *a;

    CHECK_INT(turn_stun_decode(&m, rfc_ipv4, sizeof rfc_ipv4, 0), ==, 0);
    CHECK_INT(m.cls, ==, TURN_STUN_SUCCESS);
    CHECK_INT(m.method, ==, TURN_STUN_BINDING);
    CHECK(m.has_fingerprint);
    a = turn_stun_find(&m, TURN_ATTR_XOR_MAPPED_ADDRESS);
    CHECK(a != NULL);
    CHECK_INT(turn_stun_get_xaddr(&m, a, &got), ==, 0);
    make_v4(&want, "192.0.2.1", 32853);
    CHECK(same_addr(&got, &want));
    a = turn_stun_find(&m, TURN_ATTR_SOFTWARE);
    CHECK(a != NULL && a->len == 11 && memcmp(a->val, "test vector", 11) == 0);
}

TEST(rfc5769_ipv6_response)
{
    turn_stun_msg_t m;
    struct sockaddr_storage got, want;
    const turn_stun_attr_t *a;

    CHECK_INT(turn_stun_decode(&m, rfc_ipv6, sizeof rfc_ipv6, 0), ==, 0);
    CHECK(m.has_fingerprint);
    a = turn_stun_find(&m, TURN_ATTR_XOR_MAPPED_ADDRESS);
    CHECK(a != NULL);
    CHECK_INT(turn_stun_get_xaddr(&m, a, &got), ==, 0);
    make_v6(&want, "2001:db8:1234:5678:11:2233:4455:6677", 32853);
    CHECK(same_addr(&got, &want));
}

TEST(fingerprint_mismatch)
{
    uint8_t b[sizeof rfc_ipv4];
    turn_stun_msg_t m;

    memcpy(b, rfc_ipv4, sizeof b);
    b[24] ^= 0x01;  /* one bit of SOFTWARE */
    CHECK_INT(turn_stun_decode(&m, b, sizeof b, 0), ==, -EBADMSG);
    memcpy(b, rfc_ipv4, sizeof b);
    b[sizeof b - 1] ^= 0x80;  /* the FINGERPRINT value itself */
    CHECK_INT(turn_stun_decode(&m, b, sizeof b, 0), ==, -EBADMSG);
}

TEST(fingerprint_not_last)
{
    uint8_t b[sizeof rfc_ipv4 + 8];
    turn_stun_msg_t m;

    /* A SOFTWARE after the FINGERPRINT, header length adjusted. */
    memcpy(b, rfc_ipv4, sizeof rfc_ipv4);
    memcpy(b + sizeof rfc_ipv4, "\x80\x22\x00\x04" "abcd", 8);
    b[3] += 8;
    CHECK_INT(turn_stun_decode(&m, b, sizeof b, 0), ==, -EINVAL);
}

/* Encodes a success response with every attribute the encoder knows and
 * decodes it again. */
static void roundtrip(const struct sockaddr_storage *addr)
{
    uint8_t buf[512];
    uint16_t unknown[3] = { 0x0024, 0x7777, 0x0003 };
    turn_stun_enc_t e;
    turn_stun_msg_t m;
    struct sockaddr_storage got;
    const turn_stun_attr_t *a;
    const char *reason;
    size_t rlen;
    int len, code;

    CHECK_INT(turn_stun_enc_init(&e, buf, sizeof buf, TURN_STUN_BINDING,
                                 TURN_STUN_ERROR, TURN_STUN_COOKIE, tid), ==, 0);
    turn_stun_enc_xaddr(&e, TURN_ATTR_XOR_MAPPED_ADDRESS, (const void *)addr);
    turn_stun_enc_addr(&e, TURN_ATTR_MAPPED_ADDRESS, (const void *)addr);
    turn_stun_enc_error(&e, 420, "Unknown Attribute");
    turn_stun_enc_unknown(&e, unknown, 3);
    turn_stun_enc_software(&e, "gw-turnd test");
    turn_stun_enc_fingerprint(&e);
    len = turn_stun_enc_finish(&e);
    CHECK(len > 0);
    CHECK_INT(len % 4, ==, 0);

    CHECK_INT(turn_stun_decode(&m, buf, (size_t)len, 0), ==, 0);
    CHECK_INT(m.method, ==, TURN_STUN_BINDING);
    CHECK_INT(m.cls, ==, TURN_STUN_ERROR);
    CHECK(memcmp(m.tid, tid, sizeof tid) == 0);
    CHECK(m.has_fingerprint);
    CHECK_INT(m.nattrs, ==, 6);
    a = turn_stun_find(&m, TURN_ATTR_XOR_MAPPED_ADDRESS);
    CHECK(a != NULL && turn_stun_get_xaddr(&m, a, &got) == 0);
    CHECK(same_addr(&got, addr));
    a = turn_stun_find(&m, TURN_ATTR_MAPPED_ADDRESS);
    CHECK(a != NULL && turn_stun_get_addr(a, &got) == 0);
    CHECK(same_addr(&got, addr));
    a = turn_stun_find(&m, TURN_ATTR_ERROR_CODE);
    CHECK(a != NULL && turn_stun_get_error(a, &code, &reason, &rlen) == 0);
    CHECK_INT(code, ==, 420);
    CHECK(rlen == 17 && memcmp(reason, "Unknown Attribute", 17) == 0);
    a = turn_stun_find(&m, TURN_ATTR_UNKNOWN_ATTRIBUTES);
    CHECK(a != NULL && a->len == 6);
    CHECK(a->val[0] == 0x00 && a->val[1] == 0x24 && a->val[2] == 0x77 &&
          a->val[3] == 0x77 && a->val[4] == 0x00 && a->val[5] == 0x03);
    /* Odd-length values are padded with zeros. */
    CHECK(buf[len - 8 - 3] == 0);
}

TEST(roundtrip_ipv4)
{
    struct sockaddr_storage a;

    make_v4(&a, "203.0.113.7", 61000);
    roundtrip(&a);
}

TEST(roundtrip_ipv6)
{
    struct sockaddr_storage a;

    make_v6(&a, "2001:db8::1:2:3", 3478);
    roundtrip(&a);
}

TEST(encode_xaddr_matches_rfc)
{
    struct sockaddr_storage a;
    uint8_t buf[64];
    turn_stun_enc_t e;

    /* The XOR-MAPPED-ADDRESS bytes of RFC 5769 section 2.2. */
    make_v4(&a, "192.0.2.1", 32853);
    turn_stun_enc_init(&e, buf, sizeof buf, TURN_STUN_BINDING, TURN_STUN_SUCCESS,
                       TURN_STUN_COOKIE, rfc_ipv4 + 8);
    turn_stun_enc_xaddr(&e, TURN_ATTR_XOR_MAPPED_ADDRESS, (const void *)&a);
    CHECK_INT(turn_stun_enc_finish(&e), ==, 32);
    CHECK(memcmp(buf + 20, rfc_ipv4 + 36, 12) == 0);
}

TEST(encode_overflow)
{
    uint8_t buf[32];
    turn_stun_enc_t e;

    CHECK_INT(turn_stun_enc_init(&e, buf, 10, 1, TURN_STUN_REQUEST,
                                 TURN_STUN_COOKIE, tid), ==, -EMSGSIZE);
    turn_stun_enc_init(&e, buf, sizeof buf, 1, TURN_STUN_REQUEST,
                       TURN_STUN_COOKIE, tid);
    CHECK_INT(turn_stun_enc_software(&e, "0123456789"), ==, -EMSGSIZE);
    /* The error sticks even when a later attribute would fit. */
    CHECK_INT(turn_stun_enc_attr(&e, 0x8030, NULL, 0), ==, -EMSGSIZE);
    CHECK_INT(turn_stun_enc_finish(&e), ==, -EMSGSIZE);
    turn_stun_enc_init(&e, buf, sizeof buf, 1, TURN_STUN_ERROR,
                       TURN_STUN_COOKIE, tid);
    CHECK_INT(turn_stun_enc_error(&e, 200, "no"), ==, -EINVAL);
}

TEST(reject_truncated)
{
    turn_stun_msg_t m;

    for (size_t n = 0; n < sizeof rfc_ipv4; n++)
        CHECK(turn_stun_decode(&m, rfc_ipv4, n, 0) < 0);
}

TEST(reject_bad_lengths)
{
    uint8_t b[sizeof rfc_ipv4 + 4];
    turn_stun_msg_t m;

    /* Attribute length past the end of the message. */
    memcpy(b, rfc_ipv4, sizeof rfc_ipv4);
    b[39] = 0x40;  /* XOR-MAPPED-ADDRESS length 8 -> 64 */
    CHECK_INT(turn_stun_decode(&m, b, sizeof rfc_ipv4, 0), ==, -EINVAL);
    /* Header length not a multiple of 4. */
    memcpy(b, rfc_ipv4, sizeof rfc_ipv4);
    b[3] = 0x3d;
    CHECK_INT(turn_stun_decode(&m, b, sizeof rfc_ipv4, 0), ==, -EINVAL);
    /* Header length disagreeing with the datagram: trailing bytes. */
    memcpy(b, rfc_ipv4, sizeof rfc_ipv4);
    memset(b + sizeof rfc_ipv4, 0, 4);
    CHECK_INT(turn_stun_decode(&m, b, sizeof b, 0), ==, -EINVAL);
    /* Top two bits of the type set. */
    memcpy(b, rfc_ipv4, sizeof rfc_ipv4);
    b[0] |= 0x40;
    CHECK_INT(turn_stun_decode(&m, b, sizeof rfc_ipv4, 0), ==, -EINVAL);
    /* Any change under the FINGERPRINT is caught by it. */
    memcpy(b, rfc_ipv4, sizeof rfc_ipv4);
    b[41] = 0x03;
    CHECK_INT(turn_stun_decode(&m, b, sizeof rfc_ipv4, 0), ==, -EBADMSG);
}

TEST(reject_bad_xaddr_family)
{
    static const uint8_t v[8] = { 0, 3, 0, 1, 1, 2, 3, 4 };
    turn_stun_attr_t a = { TURN_ATTR_XOR_MAPPED_ADDRESS, sizeof v, v };
    turn_stun_attr_t short6 = { TURN_ATTR_XOR_MAPPED_ADDRESS, 8, NULL };
    static const uint8_t v6[8] = { 0, 2, 0, 1, 1, 2, 3, 4 };
    turn_stun_msg_t m;
    struct sockaddr_storage ss;

    CHECK_INT(turn_stun_decode(&m, rfc_ipv4, sizeof rfc_ipv4, 0), ==, 0);
    CHECK_INT(turn_stun_get_xaddr(&m, &a, &ss), ==, -EINVAL);
    short6.val = v6;
    CHECK_INT(turn_stun_get_xaddr(&m, &short6, &ss), ==, -EINVAL);
}

TEST(reject_bad_cookie)
{
    uint8_t b[sizeof rfc_ipv4];
    turn_stun_msg_t m;

    memcpy(b, rfc_ipv4, sizeof b);
    b[4] = 0x22;
    CHECK_INT(turn_stun_decode(&m, b, sizeof b, 0), ==, -EPROTO);
    /* Legacy mode accepts only Binding requests without a cookie. */
    CHECK_INT(turn_stun_decode(&m, b, sizeof b, TURN_STUN_F_LEGACY), ==, -EPROTO);
    CHECK_INT(turn_stun_frame_len(b, sizeof b), ==, -EINVAL);
}

TEST(reject_oversize)
{
    static uint8_t big[TURN_STUN_MAX_MSG + 1];
    turn_stun_msg_t m;

    memcpy(big, rfc_ipv4, sizeof rfc_ipv4);
    CHECK_INT(turn_stun_decode(&m, big, sizeof big, 0), ==, -EMSGSIZE);
    CHECK_INT(turn_stun_decode(&m, big, 65507, 0), ==, -EINVAL);
}

TEST(reject_too_many_attrs)
{
    uint8_t b[TURN_STUN_HDR_LEN + 4 * (TURN_STUN_MAX_ATTRS + 1)];
    turn_stun_enc_t e;
    turn_stun_msg_t m;

    turn_stun_enc_init(&e, b, sizeof b, 1, TURN_STUN_REQUEST, TURN_STUN_COOKIE,
                       tid);
    for (int i = 0; i <= TURN_STUN_MAX_ATTRS; i++)
        turn_stun_enc_attr(&e, 0x8030, NULL, 0);
    CHECK_INT(turn_stun_enc_finish(&e), ==, (int)sizeof b);
    CHECK_INT(turn_stun_decode(&m, b, sizeof b, 0), ==, -E2BIG);
}

TEST(frame_len)
{
    CHECK_INT(turn_stun_frame_len(rfc_ipv4, 19), ==, 0);
    CHECK_INT(turn_stun_frame_len(rfc_ipv4, 20), ==, (int)sizeof rfc_ipv4);
    CHECK_INT(turn_stun_frame_len((const uint8_t *)"GET / HTTP/1.1\r\nHost: x", 22),
              ==, -EINVAL);
}

/* Runs a request through the handler as if from `peer`; returns the
 * decoded answer's length (0 = no answer). */
static size_t handle(turn_stun_t *s, const uint8_t *req, size_t len,
                     const struct sockaddr_storage *peer, uint8_t *out,
                     turn_stun_msg_t *ans)
{
    size_t outlen = 99;
    turn_client_t c = { .proto = TURN_PROTO_UDP };
    int rc;

    c.addr = *peer;
    rc = turn_stun_handle(s, req, len, &c, out,
                              TURN_STUN_REPLY_MAX, &outlen);

    static uint8_t copy[TURN_STUN_REPLY_MAX];

    CHECK_INT(rc, ==, 0);
    if (outlen == 0)
        return 0;
    /* An answer to an RFC 3489 client echoes its cookie-less id, which the
     * decoder refuses outside requests: decode a copy with the cookie put
     * back (that answer has no FINGERPRINT to break). */
    memcpy(copy, out, outlen);
    if (memcmp(req + 4, "\x21\x12\xa4\x42", 4) != 0)
        memcpy(copy + 4, "\x21\x12\xa4\x42", 4);
    CHECK_INT(turn_stun_decode(ans, copy, outlen, 0), ==, 0);
    return outlen;
}

TEST(handle_binding)
{
    turn_stun_t s = { .software = "gw-turnd test" };
    uint8_t req[64], out[TURN_STUN_REPLY_MAX];
    struct sockaddr_storage peer, got;
    turn_stun_enc_t e;
    turn_stun_msg_t ans;
    const turn_stun_attr_t *a;
    int len;

    turn_stun_enc_init(&e, req, sizeof req, TURN_STUN_BINDING,
                       TURN_STUN_REQUEST, TURN_STUN_COOKIE, tid);
    turn_stun_enc_fingerprint(&e);
    len = turn_stun_enc_finish(&e);
    make_v6(&peer, "2001:db8::99", 40000);
    CHECK(handle(&s, req, (size_t)len, &peer, out, &ans) > 0);
    CHECK_INT(ans.cls, ==, TURN_STUN_SUCCESS);
    CHECK_INT(ans.method, ==, TURN_STUN_BINDING);
    CHECK(memcmp(ans.tid, tid, sizeof tid) == 0);
    CHECK(ans.has_fingerprint);
    a = turn_stun_find(&ans, TURN_ATTR_XOR_MAPPED_ADDRESS);
    CHECK(a != NULL && turn_stun_get_xaddr(&ans, a, &got) == 0);
    CHECK(same_addr(&got, &peer));
    a = turn_stun_find(&ans, TURN_ATTR_SOFTWARE);
    CHECK(a != NULL && a->len == 13);
    CHECK_INT(s.stats.requests, ==, 1);
    CHECK_INT(s.stats.responses, ==, 1);
}

TEST(handle_unknown_attribute)
{
    turn_stun_t s = { .software = "gw-turnd test" };
    uint8_t out[TURN_STUN_REPLY_MAX];
    struct sockaddr_storage peer;
    turn_stun_msg_t ans;
    const turn_stun_attr_t *a;
    const char *reason;
    size_t rlen;
    int code;

    /* The RFC sample request carries PRIORITY (0x0024, ICE), which a STUN
     * server without ICE does not understand: 420 naming it alone. */
    make_v4(&peer, "192.0.2.1", 32853);
    CHECK(handle(&s, rfc_request, sizeof rfc_request, &peer, out, &ans) > 0);
    CHECK_INT(ans.cls, ==, TURN_STUN_ERROR);
    CHECK(memcmp(ans.tid, rfc_request + 8, 12) == 0);
    a = turn_stun_find(&ans, TURN_ATTR_ERROR_CODE);
    CHECK(a != NULL && turn_stun_get_error(a, &code, &reason, &rlen) == 0);
    CHECK_INT(code, ==, 420);
    a = turn_stun_find(&ans, TURN_ATTR_UNKNOWN_ATTRIBUTES);
    CHECK(a != NULL && a->len == 2 && a->val[0] == 0x00 && a->val[1] == 0x24);
    CHECK(ans.has_fingerprint);
    CHECK_INT(s.stats.errors, ==, 1);
}

TEST(handle_legacy_rfc3489)
{
    /* What Debian's `stun` client (0.97) sends: no cookie, CHANGE-REQUEST. */
    uint8_t req[28] = {
        0x00, 0x01, 0x00, 0x08, 0x01, 0x48, 0x83, 0x79, 0xb1, 0x8a, 0x59, 0x7d,
        0x08, 0x7c, 0xbc, 0x75, 0x00, 0xfd, 0x44, 0x5a, 0x00, 0x03, 0x00, 0x04,
        0x00, 0x00, 0x00, 0x00,
    };
    turn_stun_t s = { .software = "gw-turnd test" };
    uint8_t out[TURN_STUN_REPLY_MAX];
    struct sockaddr_storage peer, got;
    turn_stun_msg_t ans;
    const turn_stun_attr_t *a;

    make_v4(&peer, "127.0.0.1", 26872);
    CHECK(handle(&s, req, sizeof req, &peer, out, &ans) > 0);
    CHECK_INT(ans.cls, ==, TURN_STUN_SUCCESS);
    CHECK(memcmp(out + 4, req + 4, 16) == 0);  /* whole 128-bit id echoed */
    a = turn_stun_find(&ans, TURN_ATTR_MAPPED_ADDRESS);
    CHECK(a != NULL && turn_stun_get_addr(a, &got) == 0);
    CHECK(same_addr(&got, &peer));
    CHECK(turn_stun_find(&ans, TURN_ATTR_XOR_MAPPED_ADDRESS) == NULL);
    CHECK(!ans.has_fingerprint);

    /* "Change IP": this node has no other address to answer from. */
    req[27] = 0x04;
    CHECK(handle(&s, req, sizeof req, &peer, out, &ans) > 0);
    CHECK_INT(ans.cls, ==, TURN_STUN_ERROR);
    a = turn_stun_find(&ans, TURN_ATTR_UNKNOWN_ATTRIBUTES);
    CHECK(a != NULL && a->len == 2 && a->val[1] == 0x03);
}

TEST(handle_ignores_and_drops)
{
    turn_stun_t s = { .software = "x" };
    uint8_t out[TURN_STUN_REPLY_MAX], req[32];
    struct sockaddr_storage peer;
    turn_stun_enc_t e;
    turn_stun_msg_t ans;
    size_t outlen;
    int len;

    make_v4(&peer, "127.0.0.1", 5000);
    /* A response or an indication gets no answer. */
    CHECK_INT(handle(&s, rfc_ipv4, sizeof rfc_ipv4, &peer, out, &ans), ==, 0);
    turn_stun_enc_init(&e, req, sizeof req, TURN_STUN_BINDING,
                       TURN_STUN_INDICATION, TURN_STUN_COOKIE, tid);
    len = turn_stun_enc_finish(&e);
    CHECK_INT(handle(&s, req, (size_t)len, &peer, out, &ans), ==, 0);
    CHECK_INT(s.stats.ignored, ==, 2);
    /* Garbage is refused and counted, without an answer. */
    turn_client_t c = { .proto = TURN_PROTO_UDP };
    c.addr = peer;
    CHECK(turn_stun_handle(&s, (const uint8_t *)"hello world!", 12,
                           &c, out, sizeof out, &outlen) < 0);
    CHECK_INT(outlen, ==, 0);
    CHECK_INT(s.stats.malformed, ==, 1);
    /* A method this node does not implement (Allocate, for now): 400. */
    turn_stun_enc_init(&e, req, sizeof req, TURN_STUN_ALLOCATE,
                       TURN_STUN_REQUEST, TURN_STUN_COOKIE, tid);
    len = turn_stun_enc_finish(&e);
    CHECK(handle(&s, req, (size_t)len, &peer, out, &ans) > 0);
    CHECK_INT(ans.cls, ==, TURN_STUN_ERROR);
    CHECK_INT(ans.method, ==, TURN_STUN_ALLOCATE);
}

static const gw_test_t tests[] = {
    T(crc32_check_value),
    T(rfc5769_request),
    T(rfc5769_ipv4_response),
    T(rfc5769_ipv6_response),
    T(fingerprint_mismatch),
    T(fingerprint_not_last),
    T(roundtrip_ipv4),
    T(roundtrip_ipv6),
    T(encode_xaddr_matches_rfc),
    T(encode_overflow),
    T(reject_truncated),
    T(reject_bad_lengths),
    T(reject_bad_xaddr_family),
    T(reject_bad_cookie),
    T(reject_oversize),
    T(reject_too_many_attrs),
    T(frame_len),
    T(handle_binding),
    T(handle_unknown_attribute),
    T(handle_legacy_rfc3489),
    T(handle_ignores_and_drops),
    { NULL, NULL }
};

int main(int argc, char **argv)
{
    return gw_test_main(argc, argv, tests);
}
