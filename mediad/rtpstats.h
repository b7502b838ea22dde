/* Receive-side RTP quality for one leg: packets lost from sequence gaps
 * (RFC 3550 A.1/A.3) and interarrival jitter (A.8), kept in the leg at a
 * few dozen bytes, updated in O(1) per packet without allocation. */
#ifndef MD_RTPSTATS_H
#define MD_RTPSTATS_H

#include <stdint.h>

#define MD_MAX_CLOCKS 6

typedef struct {
    /* sequence state (A.1) */
    uint32_t received;        /* packets counted for loss */
    uint32_t cycles;          /* sequence wraps << 16 */
    uint16_t base_seq;
    uint16_t max_seq;
    uint8_t started;
    /* jitter (A.8), in RTP timestamp units scaled by 16 */
    uint8_t have_transit;
    uint32_t rate;            /* clock rate of the stream, 0 = unknown */
    uint32_t last_transit;
    uint32_t jitter_q4;
    uint32_t jitter_max_q4;
} md_rtpstats_t;

typedef struct {
    uint32_t rate : 24;           /* Hz; RTP clocks are below 16.7 MHz */
    uint32_t pt : 8;
} md_clock_t;

/* Accounts one RTP packet (header already validated: len >= 12, V=2).
 * `now_us` is the arrival time; clocks maps payload types to rates. */
void md_rtpstats_update(md_rtpstats_t *st, const uint8_t *rtp, uint64_t now_us,
                        const md_clock_t *clocks, unsigned nclocks);
/* Cumulative packets lost (expected - received, never negative). */
uint64_t md_rtpstats_lost(const md_rtpstats_t *st);
/* Current and maximum jitter in microseconds (0 if the rate is unknown). */
uint32_t md_rtpstats_jitter_us(const md_rtpstats_t *st);
uint32_t md_rtpstats_jitter_max_us(const md_rtpstats_t *st);
/* The static clock rate of a payload type (RFC 3551), 0 if dynamic. */
uint32_t md_rtp_static_rate(uint8_t pt);

#endif
