/* Tests for common/ports.c: even RTP ports with RTCP = RTP + 1 inside the
 * range, exhaustion, FIFO reuse (a pair just released is handed out last),
 * and releases that must be refused without disturbing the counts. */
#include "runner.h"

#include <errno.h>

#include "ports.h"

TEST(ports_parity)
{
    gw_ports_t p;
    int port, n = 0;

    CHECK_INT(gw_ports_init(&p, 10000, 10099), ==, 0);
    CHECK_INT(p.lo, ==, 10000);
    CHECK_INT(p.npairs, ==, 50);
    while ((port = gw_ports_alloc(&p)) >= 0) {
        CHECK_INT(port % 2, ==, 0);
        CHECK_INT(port, >=, 10000);
        CHECK_INT(port + 1, <=, 10099);
        n++;
    }
    CHECK_INT(n, ==, 50);
    gw_ports_free(&p);
}

TEST(ports_odd_bounds)
{
    gw_ports_t p;
    int port;

    /* Odd lo rounds up; an even hi cannot hold an RTCP port above it. */
    CHECK_INT(gw_ports_init(&p, 20001, 20010), ==, 0);
    CHECK_INT(p.lo, ==, 20002);
    CHECK_INT(p.npairs, ==, 4);   /* 20002, 20004, 20006, 20008 */
    for (int i = 0; i < 4; i++) {
        port = gw_ports_alloc(&p);
        CHECK_INT(port, ==, 20002 + 2 * i);
        CHECK_INT(port + 1, <=, 20010);
    }
    CHECK_INT(gw_ports_alloc(&p), ==, -ENOSPC);
    gw_ports_free(&p);

    /* The smallest pool: one pair. */
    CHECK_INT(gw_ports_init(&p, 30000, 30001), ==, 0);
    CHECK_INT(p.npairs, ==, 1);
    CHECK_INT(gw_ports_alloc(&p), ==, 30000);
    CHECK_INT(gw_ports_alloc(&p), ==, -ENOSPC);
    gw_ports_free(&p);
}

TEST(ports_init_invalid)
{
    gw_ports_t p;

    CHECK_INT(gw_ports_init(&p, 30000, 30000), ==, -EINVAL);
    CHECK_INT(gw_ports_init(&p, 30001, 30002), ==, -EINVAL);  /* 30002 has no RTCP */
    CHECK_INT(gw_ports_init(&p, 30010, 30000), ==, -EINVAL);
    CHECK_INT(gw_ports_init(&p, 0, 100), ==, -EINVAL);
    CHECK_INT(gw_ports_init(&p, 65000, 65536), ==, -EINVAL);
    CHECK_INT(gw_ports_init(&p, 65535, 65535), ==, -EINVAL);
    CHECK(p.fifo == NULL && p.used == NULL);
    /* Freeing a pool whose init failed is harmless. */
    gw_ports_free(&p);
    /* The full range is fine. */
    CHECK_INT(gw_ports_init(&p, 1, 65535), ==, 0);
    CHECK_INT(p.lo, ==, 2);
    CHECK_INT(p.npairs, ==, 32767);
    gw_ports_free(&p);
}

TEST(ports_exhaustion)
{
    gw_ports_t p;
    unsigned npairs;

    CHECK_INT(gw_ports_init(&p, 40000, 40199), ==, 0);
    npairs = p.npairs;
    CHECK_INT(npairs, ==, 100);
    for (unsigned i = 0; i < npairs; i++) {
        CHECK_INT(gw_ports_alloc(&p), >=, 0);
        CHECK_INT(p.in_use, ==, i + 1);
    }
    CHECK_INT(gw_ports_alloc(&p), ==, -ENOSPC);
    CHECK_INT(gw_ports_alloc(&p), ==, -ENOSPC);
    CHECK_INT(p.in_use, ==, npairs);
    CHECK_INT(gw_ports_used(&p), ==, 2 * npairs);
    /* One release makes exactly one pair available again. */
    CHECK_INT(gw_ports_release(&p, 40050), ==, 0);
    CHECK_INT(gw_ports_alloc(&p), ==, 40050);
    CHECK_INT(gw_ports_alloc(&p), ==, -ENOSPC);
    gw_ports_free(&p);
}

TEST(ports_fifo_reuse)
{
    gw_ports_t p;
    int a, b, c;

    CHECK_INT(gw_ports_init(&p, 50000, 50009), ==, 0);   /* 5 pairs */
    a = gw_ports_alloc(&p);
    b = gw_ports_alloc(&p);
    CHECK_INT(a, ==, 50000);
    CHECK_INT(b, ==, 50002);
    CHECK_INT(gw_ports_release(&p, (unsigned)a), ==, 0);
    /* The three never-used pairs come first, the released one last. */
    CHECK_INT(gw_ports_alloc(&p), ==, 50004);
    CHECK_INT(gw_ports_alloc(&p), ==, 50006);
    CHECK_INT(gw_ports_alloc(&p), ==, 50008);
    CHECK_INT(gw_ports_alloc(&p), ==, 50000);
    CHECK_INT(gw_ports_alloc(&p), ==, -ENOSPC);
    /* Released in the order b, 50006, a: handed out in that order. */
    CHECK_INT(gw_ports_release(&p, (unsigned)b), ==, 0);
    CHECK_INT(gw_ports_release(&p, 50006), ==, 0);
    CHECK_INT(gw_ports_release(&p, 50000), ==, 0);
    c = gw_ports_alloc(&p);
    CHECK_INT(c, ==, 50002);
    CHECK_INT(gw_ports_alloc(&p), ==, 50006);
    CHECK_INT(gw_ports_alloc(&p), ==, 50000);
    CHECK_INT(gw_ports_alloc(&p), ==, -ENOSPC);
    gw_ports_free(&p);
}

TEST(ports_fifo_wraps)
{
    gw_ports_t p;

    /* Many alloc/release rounds move the ring's head around its end. */
    CHECK_INT(gw_ports_init(&p, 2000, 2005), ==, 0);   /* 3 pairs */
    for (int round = 0; round < 20; round++) {
        int x = gw_ports_alloc(&p);
        CHECK_INT(x, ==, 2000 + 2 * (round % 3));
        CHECK_INT(gw_ports_release(&p, (unsigned)x), ==, 0);
        CHECK_INT(p.in_use, ==, 0);
    }
    gw_ports_free(&p);
}

TEST(ports_bad_release)
{
    gw_ports_t p;
    int a;

    CHECK_INT(gw_ports_init(&p, 10000, 10009), ==, 0);   /* 5 pairs */
    a = gw_ports_alloc(&p);
    CHECK_INT(a, ==, 10000);
    CHECK_INT(gw_ports_alloc(&p), ==, 10002);
    CHECK_INT(p.in_use, ==, 2);

    CHECK_INT(gw_ports_release(&p, 10001), ==, -EINVAL);   /* odd (RTCP) */
    CHECK_INT(gw_ports_release(&p, 9998), ==, -EINVAL);    /* below */
    CHECK_INT(gw_ports_release(&p, 10010), ==, -EINVAL);   /* above */
    CHECK_INT(gw_ports_release(&p, 0), ==, -EINVAL);
    CHECK_INT(gw_ports_release(&p, 65534), ==, -EINVAL);
    CHECK_INT(gw_ports_release(&p, 10004), ==, -EINVAL);   /* never allocated */
    CHECK_INT(p.in_use, ==, 2);
    CHECK_INT(gw_ports_used(&p), ==, 4);

    CHECK_INT(gw_ports_release(&p, (unsigned)a), ==, 0);
    CHECK_INT(gw_ports_release(&p, (unsigned)a), ==, -EINVAL);   /* double */
    CHECK_INT(p.in_use, ==, 1);
    CHECK_INT(gw_ports_used(&p), ==, 2);

    /* The refused releases did not put extra pairs in the ring: exactly
     * four more allocations succeed, all distinct, and 10002 (still in
     * use) is not among them. */
    int seen[5] = { 0 };
    for (int i = 0; i < 4; i++) {
        int x = gw_ports_alloc(&p);
        CHECK_INT(x, >=, 10000);
        CHECK_INT(x, !=, 10002);
        CHECK_INT(seen[(x - 10000) / 2], ==, 0);
        seen[(x - 10000) / 2] = 1;
    }
    CHECK_INT(gw_ports_alloc(&p), ==, -ENOSPC);
    CHECK_INT(p.in_use, ==, 5);
    CHECK_INT(gw_ports_used(&p), ==, 10);
    gw_ports_free(&p);
}

TEST(ports_accounting)
{
    gw_ports_t p;
    int ports[8];

    CHECK_INT(gw_ports_init(&p, 16384, 16399), ==, 0);   /* 8 pairs */
    CHECK_INT(p.in_use, ==, 0);
    CHECK_INT(gw_ports_used(&p), ==, 0);
    for (int i = 0; i < 8; i++) {
        ports[i] = gw_ports_alloc(&p);
        CHECK_INT(gw_ports_used(&p), ==, 2 * (i + 1));
    }
    for (int i = 7; i >= 0; i--) {
        CHECK_INT(gw_ports_release(&p, (unsigned)ports[i]), ==, 0);
        CHECK_INT(p.in_use, ==, i);
        CHECK_INT(gw_ports_used(&p), ==, 2 * i);
    }
    gw_ports_free(&p);
    CHECK_INT(p.in_use, ==, 0);
    CHECK_INT(gw_ports_alloc(&p), ==, -ENOSPC);   /* freed pool is empty */
}

static const gw_test_t tests[] = {
    T(ports_parity),
    T(ports_odd_bounds),
    T(ports_init_invalid),
    T(ports_exhaustion),
    T(ports_fifo_reuse),
    T(ports_fifo_wraps),
    T(ports_bad_release),
    T(ports_accounting),
    { NULL, NULL }
};

int main(int argc, char **argv)
{
    return gw_test_main(argc, argv, tests);
}
