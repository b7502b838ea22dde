/* Tests for common/net.c: "ip:port" / "[ipv6]:port" parsing (numeric
 * only), formatting for logs and SDP, and address comparison. */
#include "runner.h"

#include <arpa/inet.h>
#include <errno.h>

#include "net.h"

static const char *fmt(const struct sockaddr_storage *ss)
{
    static char buf[GW_ADDRSTRLEN];
    return gw_addr_str((const struct sockaddr *)ss, buf, sizeof buf);
}

TEST(net_parse_ipv4)
{
    struct sockaddr_storage ss;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

    CHECK_INT(gw_hostport_parse("192.0.2.10:5060", &ss), ==, 0);
    CHECK_INT(ss.ss_family, ==, AF_INET);
    CHECK_INT(ntohs(sin->sin_port), ==, 5060);
    CHECK_INT(ntohl(sin->sin_addr.s_addr), ==, 0xC000020A);
    CHECK_INT(gw_addr_port((struct sockaddr *)&ss), ==, 5060);
    CHECK_STR(fmt(&ss), "192.0.2.10:5060");

    CHECK_INT(gw_hostport_parse("0.0.0.0:0", &ss), ==, 0);
    CHECK(gw_addr_is_any((struct sockaddr *)&ss));
    CHECK_INT(gw_hostport_parse("255.255.255.255:65535", &ss), ==, 0);
    CHECK_STR(fmt(&ss), "255.255.255.255:65535");
    CHECK(!gw_addr_is_any((struct sockaddr *)&ss));
}

TEST(net_parse_ipv6)
{
    struct sockaddr_storage ss;
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
    struct in6_addr want;

    CHECK_INT(gw_hostport_parse("[2001:db8::1]:5061", &ss), ==, 0);
    CHECK_INT(ss.ss_family, ==, AF_INET6);
    CHECK_INT(ntohs(sin6->sin6_port), ==, 5061);
    CHECK(inet_pton(AF_INET6, "2001:db8::1", &want) == 1);
    CHECK(memcmp(&sin6->sin6_addr, &want, sizeof want) == 0);
    CHECK_STR(fmt(&ss), "[2001:db8::1]:5061");
    CHECK_INT(gw_addr_len((struct sockaddr *)&ss), ==, sizeof(struct sockaddr_in6));

    CHECK_INT(gw_hostport_parse("[::]:1", &ss), ==, 0);
    CHECK(gw_addr_is_any((struct sockaddr *)&ss));
    CHECK_STR(fmt(&ss), "[::]:1");

    /* The longest textual form still fits GW_ADDRSTRLEN. */
    CHECK_INT(gw_hostport_parse("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535",
                                &ss), ==, 0);
    CHECK_STR(fmt(&ss), "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
    CHECK_INT(gw_hostport_parse("[::ffff:192.0.2.1]:9", &ss), ==, 0);
    CHECK_STR(fmt(&ss), "[::ffff:192.0.2.1]:9");
}

TEST(net_parse_bad)
{
    static const char *const bad[] = {
        "",                     /* empty */
        "192.0.2.1",            /* no port */
        "192.0.2.1:",           /* empty port */
        ":5060",                /* empty host */
        "192.0.2.1:65536",      /* port too large */
        "192.0.2.1:-1",
        "192.0.2.1:50x",
        "192.0.2.1:5060:1",
        "localhost:5060",       /* names are not resolved */
        "sip.example.com:5060",
        "192.0.2.256:5060",
        "2001:db8::1:5060",     /* IPv6 needs brackets */
        "[2001:db8::1]",        /* no port */
        "[2001:db8::1]5060",
        "[2001:db8::1]:",
        "[2001:db8::1:5060",    /* no closing bracket */
        "[]:5060",
        "[fe80::1%eth0]:5060",  /* no scope ids */
        "[2001:db8::1]:99999",
    };
    struct sockaddr_storage ss;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = gw_hostport_parse(bad[i], &ss);
        if (rc != -EINVAL)
            fprintf(stderr, "accepted: \"%s\" -> %s\n", bad[i], fmt(&ss));
        CHECK_INT(rc, ==, -EINVAL);
    }
    CHECK_INT(gw_hostport_parse(NULL, &ss), ==, -EINVAL);
}

TEST(net_parse_long_input)
{
    char s[512];
    struct sockaddr_storage ss;

    /* A host part longer than any address must be refused, not copied. */
    memset(s, '1', sizeof s);
    s[300] = ':';
    s[301] = '1';
    s[302] = '\0';
    CHECK_INT(gw_hostport_parse(s, &ss), ==, -EINVAL);
    s[0] = '[';
    s[299] = ']';
    CHECK_INT(gw_hostport_parse(s, &ss), ==, -EINVAL);
}

TEST(net_addr_parse)
{
    struct sockaddr_storage ss;

    CHECK_INT(gw_addr_parse("10.0.0.1", 7, &ss), ==, 0);
    CHECK_STR(fmt(&ss), "10.0.0.1:7");
    CHECK_INT(gw_addr_parse("fe80::2", 65535, &ss), ==, 0);
    CHECK_STR(fmt(&ss), "[fe80::2]:65535");
    CHECK_INT(gw_addr_parse("10.0.0.1", 65536, &ss), ==, -EINVAL);
    CHECK_INT(gw_addr_parse("example.org", 1, &ss), ==, -EINVAL);
    CHECK_INT(gw_addr_parse("", 1, &ss), ==, -EINVAL);
    CHECK_INT(gw_addr_parse(NULL, 1, &ss), ==, -EINVAL);
}

TEST(net_addr_str_ip_port)
{
    struct sockaddr_storage ss;
    char buf[GW_ADDRSTRLEN], small[8];

    CHECK_INT(gw_addr_parse("198.51.100.7", 4000, &ss), ==, 0);
    CHECK_STR(gw_addr_ip((struct sockaddr *)&ss, buf, sizeof buf), "198.51.100.7");
    gw_addr_set_port(&ss, 4002);
    CHECK_INT(gw_addr_port((struct sockaddr *)&ss), ==, 4002);
    CHECK_STR(gw_addr_str((struct sockaddr *)&ss, buf, sizeof buf),
              "198.51.100.7:4002");
    /* Truncated, but still terminated. */
    CHECK(gw_addr_str((struct sockaddr *)&ss, small, sizeof small) == small);
    CHECK_INT(strlen(small), ==, sizeof small - 1);

    CHECK_INT(gw_addr_parse("2001:db8::5", 10, &ss), ==, 0);
    gw_addr_set_port(&ss, 11);
    CHECK_STR(gw_addr_ip((struct sockaddr *)&ss, buf, sizeof buf), "2001:db8::5");
    CHECK_STR(gw_addr_str((struct sockaddr *)&ss, buf, sizeof buf),
              "[2001:db8::5]:11");

    /* A family we do not handle prints as "?" rather than garbage. */
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_UNIX;
    CHECK_STR(gw_addr_ip((struct sockaddr *)&ss, buf, sizeof buf), "?");
    CHECK_INT(gw_addr_port((struct sockaddr *)&ss), ==, 0);
}

TEST(net_addr_eq)
{
    struct sockaddr_storage a, b;
#define SA(x) ((struct sockaddr *)&(x))

    CHECK_INT(gw_hostport_parse("192.0.2.1:5060", &a), ==, 0);
    CHECK_INT(gw_hostport_parse("192.0.2.1:5060", &b), ==, 0);
    CHECK(gw_addr_eq(SA(a), SA(b)));
    CHECK_INT(gw_hostport_parse("192.0.2.1:5062", &b), ==, 0);
    CHECK(!gw_addr_eq(SA(a), SA(b)));
    CHECK_INT(gw_hostport_parse("192.0.2.2:5060", &b), ==, 0);
    CHECK(!gw_addr_eq(SA(a), SA(b)));
    /* Same bytes on the wire in another family are not equal. */
    CHECK_INT(gw_hostport_parse("[::ffff:192.0.2.1]:5060", &b), ==, 0);
    CHECK(!gw_addr_eq(SA(a), SA(b)));

    CHECK_INT(gw_hostport_parse("[2001:db8::1]:5060", &a), ==, 0);
    CHECK_INT(gw_hostport_parse("[2001:db8:0::1]:5060", &b), ==, 0);
    CHECK(gw_addr_eq(SA(a), SA(b)));
    CHECK_INT(gw_hostport_parse("[2001:db8::2]:5060", &b), ==, 0);
    CHECK(!gw_addr_eq(SA(a), SA(b)));
    CHECK_INT(gw_hostport_parse("[2001:db8::1]:5061", &b), ==, 0);
    CHECK(!gw_addr_eq(SA(a), SA(b)));

    /* Unknown families never compare equal, even to themselves. */
    memset(&a, 0, sizeof a);
    a.ss_family = AF_UNIX;
    CHECK(!gw_addr_eq(SA(a), SA(a)));
#undef SA
}

static const gw_test_t tests[] = {
    T(net_parse_ipv4),
    T(net_parse_ipv6),
    T(net_parse_bad),
    T(net_parse_long_input),
    T(net_addr_parse),
    T(net_addr_str_ip_port),
    T(net_addr_eq),
    { NULL, NULL }
};

int main(int argc, char **argv)
{
    return gw_test_main(argc, argv, tests);
}
