/* Relay delay histograms: how long a packet stayed in a relay, from the
 * moment the kernel queued it on the receiving socket to the moment the
 * relay handed it back to the kernel to send.
 *
 * Buckets are log-linear in microseconds, like HdrHistogram with three
 * significant bits: 0..15 us one bucket per microsecond, then eight
 * buckets per power of two, so that any value is known to within 12.5 %.
 * The last bucket takes everything from 2^24 us (16.8 s) up. Counters are
 * cumulative since the node started (like a Prometheus histogram): a
 * percentile over a time window is taken on the difference of two
 * snapshots. This layout is part of the bus protocol (Heartbeat.delay_hist):
 * changing it needs a new field, not new constants.
 */
#ifndef GW_DELAY_H
#define GW_DELAY_H

#include <stddef.h>
#include <stdint.h>

#define GW_DELAY_LINEAR 16u
#define GW_DELAY_SUB 8u                 /* buckets per power of two */
#define GW_DELAY_TOP_EXP 24u            /* 2^24 us and above: last bucket */
#define GW_DELAY_BUCKETS (GW_DELAY_LINEAR + (GW_DELAY_TOP_EXP - 4u) * GW_DELAY_SUB + 1u)

/* The bucket of a delay in microseconds. */
static inline unsigned gw_delay_bucket(uint64_t us)
{
    unsigned e;

    if (us < GW_DELAY_LINEAR)
        return (unsigned)us;
    e = 63u - (unsigned)__builtin_clzll(us);          /* 2^e <= us, e >= 4 */
    if (e >= GW_DELAY_TOP_EXP)
        return GW_DELAY_BUCKETS - 1u;
    return GW_DELAY_LINEAR + (e - 4u) * GW_DELAY_SUB +
           (unsigned)((us >> (e - 3u)) & (GW_DELAY_SUB - 1u));
}

/* The largest delay (us) bucket i holds: a percentile is reported as the
 * upper edge of its bucket, never below the true value. The last bucket
 * has no edge: UINT64_MAX. */
static inline uint64_t gw_delay_upper(unsigned i)
{
    unsigned e, sub;

    if (i < GW_DELAY_LINEAR)
        return i;
    if (i >= GW_DELAY_BUCKETS - 1u)
        return UINT64_MAX;
    e = 4u + (i - GW_DELAY_LINEAR) / GW_DELAY_SUB;
    sub = (i - GW_DELAY_LINEAR) % GW_DELAY_SUB;
    return ((uint64_t)(GW_DELAY_SUB + sub + 1u) << (e - 3u)) - 1u;
}

/* Stores n buckets received from another process (a heartbeat) in
 * dst[GW_DELAY_BUCKETS]: the rest zeroed, buckets beyond the layout (a
 * buggy or hostile sender) counted in the last, so that no sample is
 * lost. src may be NULL when n is 0. Returns the buckets kept. */
static inline size_t gw_delay_import(uint64_t *dst, const uint64_t *src, size_t n)
{
    size_t kept = n < GW_DELAY_BUCKETS ? n : GW_DELAY_BUCKETS;

    for (size_t i = 0; i < GW_DELAY_BUCKETS; i++)
        dst[i] = i < kept ? src[i] : 0;
    for (size_t i = GW_DELAY_BUCKETS; i < n; i++)
        dst[GW_DELAY_BUCKETS - 1] += src[i];
    return kept;
}

/* What a report says of bucket i: its upper edge, and for the last bucket,
 * which has none, its lower edge 2^24 us ("16.8 s or more"). */
static inline uint64_t gw_delay_value(unsigned i)
{
    if (i >= GW_DELAY_BUCKETS - 1u)
        return gw_delay_upper(GW_DELAY_BUCKETS - 2u) + 1u;
    return gw_delay_upper(i);
}

/* The q-quantile (0 < q <= 1) of n (<= GW_DELAY_BUCKETS) buckets, as
 * gw_delay_value() of the bucket it falls in; 0 with no samples. *count
 * gets the number of samples. */
static inline uint64_t gw_delay_quantile(const uint64_t *hist, size_t n, double q,
                                         uint64_t *count)
{
    uint64_t total = 0, rank, seen = 0;
    double want;

    for (size_t i = 0; i < n; i++)
        total += hist[i];
    if (count != NULL)
        *count = total;
    if (total == 0)
        return 0;
    want = q * (double)total;
    rank = (uint64_t)want;
    if ((double)rank < want)
        rank++;                 /* the ceiling, in integers */
    if (rank < 1)
        rank = 1;
    if (rank > total)
        rank = total;
    for (size_t i = 0; i < n; i++) {
        seen += hist[i];
        if (seen >= rank)
            return gw_delay_value((unsigned)i);
    }
    return gw_delay_value((unsigned)(n - 1));
}

#endif
