/* Permissions and channels of one allocation (RFC 8656 sections 9, 12).
 *
 * Both are small arrays searched linearly: a WebRTC or SIP client talks to
 * a handful of peers, and a short array beats a hash on the per-packet
 * path. A permission is per IP address (any port); a channel binds one
 * number to one transport address, and binding or refreshing it also
 * installs or refreshes the permission of its IP, as the RFC asks.
 */
#include "alloc.h"
#include "net.h"

#include <errno.h>
#include <string.h>

int turn_same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return 0;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (a->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
    return 0;
}

int turn_perm_add(turn_alloc_t *a, const struct sockaddr *peer)
{
    uint32_t exp = (uint32_t)((uv_now(a->tab->loop) + TURN_PERM_LIFETIME_MS) /
                              1000);

    for (unsigned i = 0; i < a->nperms; i++) {
        if (turn_same_ip((struct sockaddr *)&a->perms[i].ip, peer)) {
            a->perms[i].expires_s = exp;
            return 0;
        }
    }
    if (a->nperms == TURN_ALLOC_PERMS)
        return -ENOSPC;
    memset(&a->perms[a->nperms].ip, 0, sizeof a->perms[0].ip);
    memcpy(&a->perms[a->nperms].ip, peer, gw_addr_len(peer));
    a->perms[a->nperms].expires_s = exp;
    a->nperms++;
    return 0;
}

int turn_perm_has(const turn_alloc_t *a, const struct sockaddr *peer)
{
    for (unsigned i = 0; i < a->nperms; i++)
        if (turn_same_ip((const struct sockaddr *)&a->perms[i].ip, peer))
            return 1;
    return 0;
}

const turn_chan_t *turn_chan_by_num(const turn_alloc_t *a, uint16_t num)
{
    for (unsigned i = 0; i < a->nchans; i++)
        if (a->chans[i].num == num)
            return &a->chans[i];
    return NULL;
}

const turn_chan_t *turn_chan_by_peer(const turn_alloc_t *a,
                                     const struct sockaddr *peer)
{
    for (unsigned i = 0; i < a->nchans; i++)
        if (gw_addr_eq((const struct sockaddr *)&a->chans[i].peer, peer))
            return &a->chans[i];
    return NULL;
}

int turn_chan_bind(turn_alloc_t *a, uint16_t num, const struct sockaddr *peer)
{
    const turn_chan_t *by_num = turn_chan_by_num(a, num);
    const turn_chan_t *by_peer = turn_chan_by_peer(a, peer);
    turn_chan_t *c;
    int rc;

    if (by_num != by_peer)
        return -EEXIST;   /* number bound to another peer, or vice versa */
    if (by_num == NULL && a->nchans == TURN_ALLOC_CHANS)
        return -ENOSPC;
    rc = turn_perm_add(a, peer);
    if (rc < 0)
        return rc;
    if (by_num != NULL) {
        c = &a->chans[by_num - a->chans];
    } else {
        c = &a->chans[a->nchans++];
        c->num = num;
        memset(&c->peer, 0, sizeof c->peer);
        memcpy(&c->peer, peer, gw_addr_len(peer));
    }
    c->expires_s = (uint32_t)((uv_now(a->tab->loop) + TURN_CHAN_LIFETIME_MS) /
                              1000);
    return 0;
}

void turn_perm_sweep(turn_alloc_t *a, uint64_t now_ms)
{
    uint32_t now = (uint32_t)(now_ms / 1000);
    unsigned i, j;

    for (i = j = 0; i < a->nperms; i++)
        if (a->perms[i].expires_s > now)
            a->perms[j++] = a->perms[i];
    a->nperms = j;
    for (i = j = 0; i < a->nchans; i++)
        if (a->chans[i].expires_s > now)
            a->chans[j++] = a->chans[i];
    a->nchans = j;
}
