/* sigd routing helpers: source CIDR matching for trunks. */
#include "routes.h"
#include "runner.h"

TEST(routes_cidr_v4)
{
    CHECK(sig__routes_cidr_match("203.0.113.0/24", "203.0.113.77"));
    CHECK(!sig__routes_cidr_match("203.0.113.0/24", "203.0.114.1"));
    CHECK(sig__routes_cidr_match("10.0.0.0/8", "10.255.1.2"));
    CHECK(sig__routes_cidr_match("198.51.100.7/32", "198.51.100.7"));
    CHECK(!sig__routes_cidr_match("198.51.100.7/32", "198.51.100.8"));
    CHECK(sig__routes_cidr_match("198.51.100.7", "198.51.100.7"));
    CHECK(sig__routes_cidr_match("0.0.0.0/0", "192.0.2.1"));
    CHECK(sig__routes_cidr_match("172.16.0.0/12", "172.31.0.1"));
    CHECK(!sig__routes_cidr_match("172.16.0.0/12", "172.32.0.1"));
}

TEST(routes_cidr_bad_and_v6)
{
    CHECK(sig__routes_cidr_match("2001:db8::/32", "2001:db8:1::5"));
    CHECK(!sig__routes_cidr_match("2001:db8::/32", "2001:db9::5"));
    CHECK(!sig__routes_cidr_match("2001:db8::/32", "192.0.2.1"));   /* family */
    CHECK(!sig__routes_cidr_match("10.0.0.0/33", "10.0.0.1"));
    CHECK(!sig__routes_cidr_match("not-an-ip/8", "10.0.0.1"));
    CHECK(!sig__routes_cidr_match("10.0.0.0/8", "garbage"));
}

static const gw_test_t tests[] = {
    T(routes_cidr_v4), T(routes_cidr_bad_and_v6), { NULL, NULL }
};

int main(int argc, char **argv)
{
    return gw_test_main(argc, argv, tests);
}
