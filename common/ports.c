/* Port-pair pool: see ports.h. A ring of free pair indices gives O(1)
 * alloc and release with FIFO reuse; a byte per pair rejects double
 * releases, which would otherwise hand one port to two calls. */
#include "ports.h"

#include <errno.h>
#include <stdlib.h>

int gw_ports_init(gw_ports_t *p, unsigned lo, unsigned hi)
{
    p->fifo = NULL;
    p->used = NULL;
    if (lo & 1)
        lo++;
    if (lo == 0 || hi > 65535 || lo + 1 > hi)
        return -EINVAL;
    p->lo = lo;
    p->npairs = (hi - lo + 1) / 2;
    p->in_use = 0;
    p->head = 0;
    p->count = p->npairs;
    p->fifo = malloc(sizeof *p->fifo * p->npairs);
    p->used = calloc(p->npairs, 1);
    if (p->fifo == NULL || p->used == NULL)
        goto fail;
    for (unsigned i = 0; i < p->npairs; i++)
        p->fifo[i] = (uint16_t)i;
    return 0;

fail:
    free(p->used);
    free(p->fifo);
    p->used = NULL;
    p->fifo = NULL;
    return -ENOMEM;
}

void gw_ports_free(gw_ports_t *p)
{
    free(p->fifo);
    free(p->used);
    p->fifo = NULL;
    p->used = NULL;
    p->npairs = p->count = p->in_use = 0;
}

int gw_ports_alloc(gw_ports_t *p)
{
    unsigned idx;

    if (p->count == 0)
        return -ENOSPC;
    idx = p->fifo[p->head];
    p->head = (p->head + 1) % p->npairs;
    p->count--;
    p->used[idx] = 1;
    p->in_use++;
    return (int)(p->lo + 2 * idx);
}

int gw_ports_release(gw_ports_t *p, unsigned port)
{
    unsigned idx;

    if (port < p->lo || (port - p->lo) & 1)
        return -EINVAL;
    idx = (port - p->lo) / 2;
    if (idx >= p->npairs || !p->used[idx])
        return -EINVAL;
    p->used[idx] = 0;
    p->fifo[(p->head + p->count) % p->npairs] = (uint16_t)idx;
    p->count++;
    p->in_use--;
    return 0;
}
