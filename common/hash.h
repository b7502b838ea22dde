/* String hashing for the in-memory tables of the daemons (dialogs by
 * Call-ID, anti-fraud entries by source address, TURN agents by user).
 *
 * FNV-1a, 32 bits: short keys, no allocation, and good enough spread for
 * chained buckets. Not for anything an attacker must not predict: a table
 * keyed by network input bounds its chains by other means (entry limits).
 */
#ifndef GW_HASH_H
#define GW_HASH_H

#include <stdint.h>

/* FNV-1a of the NUL-terminated s; callers reduce it to their bucket count. */
static inline uint32_t gw_hash_str(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

#endif
