/* Tests for common/delay.h: the relay delay histogram's buckets (every
 * value inside its bucket's edges, within 12.5 %, edges contiguous) and
 * quantiles (upper bucket edges, never below the value). */
#include "runner.h"

#include "delay.h"

TEST(delay_buckets_hold_their_values)
{
    static const uint64_t v[] = { 0, 1, 15, 16, 17, 31, 32, 33, 100, 999, 1000,
                                  1023, 1024, 65535, 65536, 1000000,
                                  (1ull << 24) - 1 };

    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        unsigned i = gw_delay_bucket(v[k]);
        uint64_t lo = i == 0 ? 0 : gw_delay_upper(i - 1) + 1;

        CHECK_INT(i, <, GW_DELAY_BUCKETS - 1);
        CHECK_INT(lo, <=, v[k]);
        CHECK_INT(v[k], <=, gw_delay_upper(i));
        /* An upper edge is at most 12.5 % above any value of its bucket. */
        CHECK_INT(gw_delay_upper(i) * 8, <=, lo * 9 + 8);
    }
    CHECK_INT(gw_delay_bucket(1ull << 24), ==, GW_DELAY_BUCKETS - 1);
    CHECK_INT(gw_delay_bucket(UINT64_MAX), ==, GW_DELAY_BUCKETS - 1);
}

TEST(delay_edges_are_contiguous)
{
    for (unsigned i = 0; i + 1 < GW_DELAY_BUCKETS - 1; i++) {
        uint64_t up = gw_delay_upper(i);

        CHECK_INT(gw_delay_bucket(up), ==, i);
        CHECK_INT(gw_delay_bucket(up + 1), ==, i + 1);
    }
}

TEST(delay_quantiles)
{
    uint64_t h[GW_DELAY_BUCKETS] = { 0 }, n;

    CHECK_INT(gw_delay_quantile(h, GW_DELAY_BUCKETS, 0.99, &n), ==, 0);
    CHECK_INT(n, ==, 0);
    /* 990 packets at 10 us, 9 at 500 us, 1 at 5000 us. */
    h[gw_delay_bucket(10)] = 990;
    h[gw_delay_bucket(500)] = 9;
    h[gw_delay_bucket(5000)] = 1;
    CHECK_INT(gw_delay_quantile(h, GW_DELAY_BUCKETS, 0.5, &n), ==, 10);
    CHECK_INT(n, ==, 1000);
    CHECK_INT(gw_delay_quantile(h, GW_DELAY_BUCKETS, 0.99, NULL), ==, 10);
    CHECK_INT(gw_delay_quantile(h, GW_DELAY_BUCKETS, 0.991, NULL), ==,
              gw_delay_upper(gw_delay_bucket(500)));
    CHECK_INT(gw_delay_quantile(h, GW_DELAY_BUCKETS, 0.999, NULL), ==,
              gw_delay_upper(gw_delay_bucket(500)));
    CHECK_INT(gw_delay_quantile(h, GW_DELAY_BUCKETS, 1.0, NULL), ==,
              gw_delay_upper(gw_delay_bucket(5000)));
    CHECK_INT(gw_delay_upper(gw_delay_bucket(500)), >=, 500);
    CHECK_INT(gw_delay_upper(gw_delay_bucket(500)), <, 563);
}

TEST(delay_last_bucket_and_short_histograms)
{
    uint64_t h[GW_DELAY_BUCKETS] = { 0 }, n;
    unsigned last = GW_DELAY_BUCKETS - 1;

    /* The last bucket has no upper edge: reported as its lower one. */
    CHECK_INT(gw_delay_value(last), ==, 1ll << 24);
    CHECK_INT(gw_delay_value(last - 1), ==, (1ll << 24) - 1);
    h[gw_delay_bucket(30000000)] = 1;   /* 30 s */
    h[gw_delay_bucket(100)] = 99;
    CHECK_INT(gw_delay_quantile(h, GW_DELAY_BUCKETS, 1.0, &n), ==, 1ll << 24);
    CHECK_INT(n, ==, 100);
    CHECK_INT(gw_delay_quantile(h, GW_DELAY_BUCKETS, 0.99, NULL), ==,
              gw_delay_upper(gw_delay_bucket(100)));
    /* A heartbeat leaves trailing empty buckets out: n below the layout. */
    CHECK_INT(gw_delay_quantile(h, gw_delay_bucket(100) + 1, 1.0, &n), ==,
              gw_delay_upper(gw_delay_bucket(100)));
    CHECK_INT(n, ==, 99);
    CHECK_INT(gw_delay_quantile(h, 0, 0.5, &n), ==, 0);
    CHECK_INT(n, ==, 0);
}

TEST(delay_quantile_rank_is_exact_for_large_counts)
{
    uint64_t h[GW_DELAY_BUCKETS] = { 0 };

    /* 10^12 samples, q * total a whole number: the rank is exactly
     * 0.99 * total (the 99th percentile sample), not one past it. */
    h[gw_delay_bucket(10)] = 990000000000ull;
    h[gw_delay_bucket(1000)] = 10000000000ull;
    CHECK_INT(gw_delay_quantile(h, GW_DELAY_BUCKETS, 0.99, NULL), ==, 10);
    CHECK_INT(gw_delay_quantile(h, GW_DELAY_BUCKETS, 0.9900001, NULL), ==,
              gw_delay_upper(gw_delay_bucket(1000)));
}

TEST(delay_import_keeps_every_sample)
{
    uint64_t src[GW_DELAY_BUCKETS + 3], dst[GW_DELAY_BUCKETS];

    for (size_t i = 0; i < GW_DELAY_BUCKETS + 3; i++)
        src[i] = i + 1;
    /* Three buckets too many: folded into the last one. */
    CHECK_INT(gw_delay_import(dst, src, GW_DELAY_BUCKETS + 3), ==, GW_DELAY_BUCKETS);
    CHECK_INT(dst[0], ==, 1);
    CHECK_INT(dst[GW_DELAY_BUCKETS - 2], ==, GW_DELAY_BUCKETS - 1);
    CHECK_INT(dst[GW_DELAY_BUCKETS - 1], ==,
              GW_DELAY_BUCKETS + (GW_DELAY_BUCKETS + 1) + (GW_DELAY_BUCKETS + 2) + (GW_DELAY_BUCKETS + 3));
    /* Fewer: the rest zeroed; none at all: src may be NULL. */
    CHECK_INT(gw_delay_import(dst, src, 2), ==, 2);
    CHECK_INT(dst[1], ==, 2);
    CHECK_INT(dst[2], ==, 0);
    CHECK_INT(gw_delay_import(dst, NULL, 0), ==, 0);
    CHECK_INT(dst[0], ==, 0);
}

static const gw_test_t tests[] = {
    T(delay_buckets_hold_their_values),
    T(delay_edges_are_contiguous),
    T(delay_quantiles),
    T(delay_last_bucket_and_short_histograms),
    T(delay_quantile_rank_is_exact_for_large_counts),
    T(delay_import_keeps_every_sample),
    { NULL, NULL }
};

int main(int argc, char **argv)
{
    return gw_test_main(argc, argv, tests);
}
