/* RTP loss and jitter: see rtpstats.h. Simplified from RFC 3550 A.1: no
 * probation (a relay sees the stream from its first packet), a jump of
 * more than MAX_DROPOUT restarts the count (the sender restarted), late
 * and duplicate packets within MAX_MISORDER are counted as received. */
#include "rtpstats.h"

#define MAX_DROPOUT 3000
#define MAX_MISORDER 100

uint32_t md_rtp_static_rate(uint8_t pt)
{
    switch (pt) {
    case 0: case 3: case 4: case 5: case 7: case 8: case 9: case 12:
    case 13: case 15: case 18:
        return 8000;          /* G.722's RTP clock is 8000 too */
    case 6: return 16000;
    case 10: case 11: return 44100;
    case 14: case 25: case 26: case 28: case 31: case 32: case 33: case 34:
        return 90000;
    default:
        return 0;
    }
}

static uint32_t rate_of(uint8_t pt, const md_clock_t *clocks, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (clocks[i].pt == pt)
            return clocks[i].rate;
    return md_rtp_static_rate(pt);
}

void md_rtpstats_update(md_rtpstats_t *st, const uint8_t *rtp, uint64_t now_us,
                        const md_clock_t *clocks, unsigned nclocks)
{
    uint16_t seq = (uint16_t)(rtp[2] << 8 | rtp[3]);
    uint32_t ts = (uint32_t)rtp[4] << 24 | (uint32_t)rtp[5] << 16 |
                  (uint32_t)rtp[6] << 8 | rtp[7];
    uint8_t pt = rtp[1] & 0x7f;
    uint32_t rate;

    if (!st->started) {
        st->started = 1;
        st->base_seq = st->max_seq = seq;
        st->cycles = 0;
        st->received = 1;
    } else {
        uint16_t delta = (uint16_t)(seq - st->max_seq);
        if (delta < MAX_DROPOUT) {
            if (seq < st->max_seq)
                st->cycles += 65536;
            st->max_seq = seq;
            st->received++;
        } else if (delta <= 65535 - MAX_MISORDER) {
            /* A big jump: the source restarted its sequence. */
            st->base_seq = st->max_seq = seq;
            st->cycles = 0;
            st->received = 1;
        } else {
            st->received++;   /* late or duplicate */
        }
    }

    rate = rate_of(pt, clocks, nclocks);
    if (rate == 0)
        return;
    if (rate != st->rate) {
        st->rate = rate;
        st->have_transit = 0;
    }
    {
        /* Arrival in RTP units; only differences matter, so everything
         * is computed modulo 2^32 in unsigned arithmetic (a hostile or
         * restarted timestamp must not overflow a signed type). */
        uint32_t arrival = (uint32_t)(now_us * rate / 1000000u);
        uint32_t transit = arrival - ts;
        if (st->have_transit) {
            uint32_t diff = transit - st->last_transit;
            uint32_t d = diff > 0x80000000u ? 0u - diff : diff;
            if (d > rate * 10u)
                d = rate * 10u;   /* a timestamp jump, not network jitter */
            /* J += (|D| - J) / 16, kept scaled by 16 (A.8). */
            st->jitter_q4 += d - ((st->jitter_q4 + 8) >> 4);
            if (st->jitter_q4 > st->jitter_max_q4)
                st->jitter_max_q4 = st->jitter_q4;
        }
        st->last_transit = transit;
        st->have_transit = 1;
    }
}

uint64_t md_rtpstats_lost(const md_rtpstats_t *st)
{
    uint64_t expected;

    if (!st->started)
        return 0;
    expected = (uint64_t)st->cycles + st->max_seq - st->base_seq + 1;
    return expected > st->received ? expected - st->received : 0;
}

static uint32_t to_us(uint32_t q4, uint32_t rate)
{
    return rate ? (uint32_t)((uint64_t)(q4 >> 4) * 1000000u / rate) : 0;
}

uint32_t md_rtpstats_jitter_us(const md_rtpstats_t *st)
{
    return to_us(st->jitter_q4, st->rate);
}

uint32_t md_rtpstats_jitter_max_us(const md_rtpstats_t *st)
{
    return to_us(st->jitter_max_q4, st->rate);
}
