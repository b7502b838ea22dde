/* Unit tests of turnd's TURN pieces that need no event loop: integrity
 * (RFC 5769 vector with the long-term key of section 2.4), ChannelData
 * framing, REST passwords and nonces (auth.c), the safe-peer policy in
 * every address form (peer.c), and sigd's credential minting (sigd/turn.c)
 * against turnd's own check. "turn.h" below is sigd's (-Isigd comes before
 * -Iturnd); nothing here needs turnd's. */
#include "runner.h"
#include "alloc.h"
#include "auth.h"
#include "peer.h"
#include "stun_msg.h"
#include "turn.h"      /* sigd/turn.h: -Isigd comes first */

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <netinet/in.h>
#include <time.h>


static const uint8_t tid[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

static void sa(struct sockaddr_storage *ss, const char *ip)
{
    memset(ss, 0, sizeof *ss);
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        CHECK(inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        CHECK(inet_pton(AF_INET, ip, &s4->sin_addr) == 1);
    }
}

TEST(integrity_roundtrip)
{
    static const uint8_t key[16] = "0123456789abcdef";
    uint8_t buf[256], bad[16] = "0123456789abcdeX";
    turn_stun_enc_t e;
    turn_stun_msg_t m;
    int len;

    for (int sha = 0; sha < 2; sha++) {
        uint16_t t = sha ? TURN_ATTR_MESSAGE_INTEGRITY_SHA256
                         : TURN_ATTR_MESSAGE_INTEGRITY;
        turn_stun_enc_init(&e, buf, sizeof buf, TURN_STUN_ALLOCATE,
                           TURN_STUN_REQUEST, TURN_STUN_COOKIE, tid);
        turn_stun_enc_attr(&e, TURN_ATTR_USERNAME, "alice", 5);
        turn_stun_enc_integrity(&e, t, key, sizeof key);
        turn_stun_enc_fingerprint(&e);
        len = turn_stun_enc_finish(&e);
        CHECK(len > 0);
        CHECK_INT(turn_stun_decode(&m, buf, (size_t)len, 0), ==, 0);
        CHECK_INT(turn_stun_check_integrity(&m, turn_stun_find(&m, t), key, 16), ==, 0);
        CHECK_INT(turn_stun_check_integrity(&m, turn_stun_find(&m, t), bad, 16), ==, -EACCES);
        CHECK_INT(turn_stun_check_integrity(&m, turn_stun_find(&m, TURN_ATTR_USERNAME),
                                            key, 16), ==, -EINVAL);
    }
}

/* RFC 5769 section 2.4: request with long-term credentials. */
TEST(integrity_rfc5769_long_term)
{
    static const uint8_t req[] = {
        0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33,
        0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e, 0x00, 0x06, 0x00, 0x12,
        0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83, 0xaa, 0xe3, 0x83, 0x83,
        0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00, 0x00, 0x15, 0x00, 0x1c,
        0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36,
        0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79,
        0x36, 0x34, 0x73, 0x41, 0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d,
        0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x00, 0x08, 0x00, 0x14,
        0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, 0x02, 0xb8, 0xe0, 0x71,
        0x2e, 0x85, 0xc9, 0xa2, 0x8c, 0xa8, 0x96, 0x66,
    };
    /* Key: MD5("<U+30DE><U+30C8><U+30EA><U+30C3><U+30AF><U+30B9>:example.org:TheMatrIX") */
    static const char in[] = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83"
                             "\xe3\x82\xaf\xe3\x82\xb9:example.org:TheMatrIX";
    uint8_t key[16];
    turn_stun_msg_t m;

    CHECK(gnutls_hash_fast(GNUTLS_DIG_MD5, in, sizeof in - 1, key) == 0);
    CHECK_INT(turn_stun_decode(&m, req, sizeof req, 0), ==, 0);
    CHECK_INT(turn_stun_check_integrity(&m, turn_stun_find(&m, TURN_ATTR_MESSAGE_INTEGRITY),
                                        key, 16), ==, 0);
}

TEST(channel_data_framing)
{
    uint8_t b[16] = { 0x40, 0x01, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0, 0, 0 };
    const uint8_t *d;
    uint16_t ch;
    size_t n;

    CHECK_INT(turn_stream_frame_len(b, 3), ==, 0);
    CHECK_INT(turn_stream_frame_len(b, 12), ==, 12);        /* padded to 4 */
    CHECK_INT(turn_chan_decode(b, 9, &ch, &d, &n), ==, 0);  /* UDP: no padding */
    CHECK(ch == 0x4001 && n == 5 && memcmp(d, "hello", 5) == 0);
    CHECK_INT(turn_chan_decode(b, 12, &ch, &d, &n), ==, 0);
    CHECK_INT(turn_chan_decode(b, 13, &ch, &d, &n), ==, -EINVAL);  /* trailing junk */
    CHECK_INT(turn_chan_decode(b, 8, &ch, &d, &n), ==, -EINVAL);   /* truncated */
    b[0] = 0x80;
    CHECK_INT(turn_stream_frame_len(b, 12), ==, -EINVAL);
    CHECK(turn_chan_is((const uint8_t *)"\x40", 1) && !turn_chan_is((const uint8_t *)"\x00", 1));
}

TEST(rest_password_matches_coturn_convention)
{
    char pass[64];

    /* base64(HMAC-SHA1("secret", "1700000000:alice")), computed with
     * python3 hmac/base64. */
    CHECK_INT(turn_auth_rest_password("secret", "1700000000:alice", pass, sizeof pass), ==, 0);
    CHECK_STR(pass, "d8soP47RbdIKLDUOpnJPVQyq5Ts=");
}

TEST(sigd_mints_what_turnd_accepts)
{
    static sig_daemon_t sig;   /* no nodes: rotation updates the list only */
    char user[256], pass[64], want[64];

    sig_turn_reset();
    CHECK_INT(sig_turn_mint("agent", 60, 1700000000, user, pass, sizeof pass), ==, -ENOENT);
    CHECK_INT(sig_turn_rotate(&sig, "s1"), >=, 0);  /* no bus nodes: list only */
    CHECK_INT(sig_turn_mint("agent", 60, 1700000000, user, pass, sizeof pass), ==, 0);
    CHECK_STR(user, "1700000060:agent");
    CHECK_INT(turn_auth_rest_password("s1", user, want, sizeof want), ==, 0);
    CHECK_STR(pass, want);
    CHECK_INT(sig_turn_mint("a:b", 60, 1700000000, user, pass, sizeof pass), ==, -EINVAL);
    CHECK_INT(sig_turn_mint("agent", 0, 1700000000, user, pass, sizeof pass), ==, -EINVAL);
}

TEST(nonce_binds_client)
{
    turn_auth_t *a = calloc(1, sizeof *a);
    char err[128], n1[TURN_AUTH_NONCELEN + 1], n2[TURN_AUTH_NONCELEN + 1];
    struct sockaddr_storage c1, c2;

    CHECK(a != NULL);
    CHECK_INT(turn_auth_init(a, "gw", "alice:pw", "s1,s2", 60, err, sizeof err), ==, 0);
    CHECK_INT(a->nusers, ==, 1);
    CHECK_INT(a->nsecrets, ==, 2);
    sa(&c1, "192.0.2.1");
    sa(&c2, "192.0.2.2");
    turn_auth_nonce(a, (struct sockaddr *)&c1, n1);
    turn_auth_nonce(a, (struct sockaddr *)&c2, n2);
    CHECK_INT(strlen(n1), ==, TURN_AUTH_NONCELEN);
    CHECK(strcmp(n1 + 8, n2 + 8) != 0);
    CHECK_INT(turn_auth_init(a, "gw", "nopassword", "", 60, err, sizeof err), ==, -EINVAL);
    free(a);
}

TEST(safe_peers_every_form)
{
    static const char *const denied[] = {
        "0.0.0.0", "0.255.1.1", "127.0.0.1", "127.255.255.254", "10.0.0.1",
        "172.16.0.1", "172.31.255.255", "192.168.0.1", "169.254.169.254",
        "100.64.0.1", "224.0.0.1", "239.1.1.1", "255.255.255.255", "240.0.0.1",
        "::", "::1", "::ffff:127.0.0.1", "::ffff:0.0.0.0", "::ffff:10.1.1.1",
        "::ffff:169.254.169.254", "::ffff:192.168.1.1", "::127.0.0.1",
        "::a9fe:a9fe", "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b:1::5",
        "2002:7f00:1::", "2002:c0a8:101::1", "fe80::1", "febf::1", "fec0::1",
        "fc00::1", "fdff::1", "ff02::1", "ff0e::1", "198.51.100.99",
    };
    static const char *const allowed[] = {
        "192.0.2.10", "8.8.8.8", "172.32.0.1", "2001:db8::1", "::ffff:8.8.8.8",
        "2002:808:808::1", "64:ff9b::808:808",
    };
    turn_peers_t p;
    struct sockaddr_storage ss;
    char err[128];
    const char *why;

    CHECK_INT(turn_peers_init(&p, "127.0.20.3/32,10.9.0.0/16", "", err, sizeof err), ==, 0);
    sa(&ss, "198.51.100.99");                       /* "our own address" */
    CHECK_INT(turn_peers_add_self(&p, (struct sockaddr *)&ss), ==, 0);
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        sa(&ss, denied[i]);
        if (turn_peers_check(&p, (struct sockaddr *)&ss, &why) != -EPERM) {
            fprintf(stderr, "not denied: %s\n", denied[i]);
            CHECK(0);
        }
    }
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        sa(&ss, allowed[i]);
        if (turn_peers_check(&p, (struct sockaddr *)&ss, &why) != 0) {
            fprintf(stderr, "not allowed: %s (%s)\n", allowed[i], why);
            CHECK(0);
        }
    }
    /* Allow-list entries permit exactly what they cover, as written. */
    sa(&ss, "127.0.20.3");
    CHECK_INT(turn_peers_check(&p, (struct sockaddr *)&ss, &why), ==, 0);
    sa(&ss, "127.0.20.4");
    CHECK_INT(turn_peers_check(&p, (struct sockaddr *)&ss, &why), ==, -EPERM);
    sa(&ss, "::ffff:127.0.20.3");
    CHECK_INT(turn_peers_check(&p, (struct sockaddr *)&ss, &why), ==, -EPERM);
    sa(&ss, "10.9.200.1");
    CHECK_INT(turn_peers_check(&p, (struct sockaddr *)&ss, &why), ==, 0);
    CHECK_INT(turn_peers_init(&p, "10.0.0.0/33", "", err, sizeof err), ==, -EINVAL);
    CHECK_INT(turn_peers_init(&p, "", "nonsense", err, sizeof err), ==, -EINVAL);
}

/* Memory per allocation: permissions and channels in compact addresses,
 * no key or username copy (it was 9,984 bytes). */
TEST(alloc_is_small)
{
    CHECK_INT(sizeof(turn_alloc_t), <=, 1700);
    CHECK_INT(sizeof(turn_addr_t), ==, sizeof(struct sockaddr_in6));
}

static const gw_test_t tests[] = {
    T(alloc_is_small),
    T(integrity_roundtrip),
    T(integrity_rfc5769_long_term),
    T(channel_data_framing),
    T(rest_password_matches_coturn_convention),
    T(sigd_mints_what_turnd_accepts),
    T(nonce_binds_client),
    T(safe_peers_every_form),
    { NULL, NULL }
};

int main(int argc, char **argv)
{
    return gw_test_main(argc, argv, tests);
}
