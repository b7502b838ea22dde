/* Even RTP/RTCP port-pair pool for one interface.
 *
 * A pair is an even port P (RTP) and P + 1 (RTCP); both lie inside the
 * configured range. Free pairs are handed out in FIFO order, so a pair just
 * released is the last to be reused: late packets of an ended call then
 * reach a closed port rather than the next call's.
 */
#ifndef GW_PORTS_H
#define GW_PORTS_H

#include <stdint.h>

typedef struct {
    /* read-only */
    unsigned lo;          /* first even port of the pool */
    unsigned npairs;      /* pairs in the pool */
    unsigned in_use;      /* pairs handed out */
    /* private */
    uint16_t *fifo;       /* ring of free pair indices */
    unsigned head;        /* next index to hand out */
    unsigned count;       /* free pairs in the ring */
    uint8_t *used;        /* one flag per pair, catches double frees */
} gw_ports_t;

/* Builds a pool over [lo, hi]; an odd lo is rounded up, and a pair needs
 * P + 1 <= hi. -EINVAL for an empty or invalid range, -ENOMEM. */
int gw_ports_init(gw_ports_t *p, unsigned lo, unsigned hi);
void gw_ports_free(gw_ports_t *p);
/* Returns the even RTP port of a free pair, or -ENOSPC. */
int gw_ports_alloc(gw_ports_t *p);
/* Returns a pair to the pool: 0, or -EINVAL if the port is not an
 * allocated pair of this pool (odd, out of range, or already free). */
int gw_ports_release(gw_ports_t *p, unsigned port);
/* Number of ports (not pairs) in use. */
static inline unsigned gw_ports_used(const gw_ports_t *p) { return p->in_use * 2; }

#endif
