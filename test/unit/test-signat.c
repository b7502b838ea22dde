/* sigd NAT helpers: which Contact addresses count as private (and are
 * replaced by the source address of the message). */
#include "nat.h"
#include "runner.h"

TEST(nat_private_v4)
{
    CHECK(sig__nat_is_private("10.0.0.1"));
    CHECK(sig__nat_is_private("172.16.5.4"));
    CHECK(sig__nat_is_private("172.31.255.255"));
    CHECK(sig__nat_is_private("192.168.1.50"));
    CHECK(sig__nat_is_private("100.64.0.1"));     /* carrier-grade NAT */
    CHECK(sig__nat_is_private("169.254.3.3"));
    CHECK(!sig__nat_is_private("172.32.0.1"));
    CHECK(!sig__nat_is_private("100.128.0.1"));
    CHECK(!sig__nat_is_private("203.0.113.7"));
    CHECK(!sig__nat_is_private("127.0.0.1"));
}

TEST(nat_private_v6_and_names)
{
    CHECK(sig__nat_is_private("[fd00::1]"));
    CHECK(sig__nat_is_private("fe80::1"));
    CHECK(!sig__nat_is_private("[2001:db8::1]"));
    CHECK(!sig__nat_is_private("pbx.example.com"));
    CHECK(!sig__nat_is_private(""));
    CHECK(!sig__nat_is_private("[]"));
    CHECK(!sig__nat_is_private(NULL));
}

static const gw_test_t tests[] = {
    T(nat_private_v4), T(nat_private_v6_and_names), { NULL, NULL }
};

int main(int argc, char **argv)
{
    return gw_test_main(argc, argv, tests);
}
