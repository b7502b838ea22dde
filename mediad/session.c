/* Session table and session life cycle: see session.h.
 *
 * The table is a fixed array of buckets with chaining, indexed by the low
 * bits of a mixed session id: O(1) per request; the packet path never looks
 * a session up (each socket's data pointer is its leg).
 */
#include "session.h"
#include "net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIND_ATTEMPTS 8

static unsigned bucket_of(uint64_t id)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdULL;
    id ^= id >> 33;
    return (unsigned)(id & (MD_HASH_BUCKETS - 1));
}

md_session_t *md_session_find(md_t *md, uint64_t id)
{
    for (md_session_t *s = md->buckets[bucket_of(id)]; s; s = s->hnext)
        if (s->id == id)
            return s;
    return NULL;
}

static void table_remove(md_t *md, md_session_t *s)
{
    md_session_t **pp = &md->buckets[bucket_of(s->id)];

    for (; *pp; pp = &(*pp)->hnext) {
        if (*pp == s) {
            *pp = s->hnext;
            md->nsessions--;
            return;
        }
    }
}

/* Takes a port pair from the pool and binds both sockets, trying another
 * pair when a port is held by some other process. */
static int leg_open(md_t *md, md_leg_t *leg)
{
    gw_ports_t *pool = leg->side == GW__SIDE__SIDE_EXT ? &md->ext_ports
                                                       : &md->int_ports;
    const char *addr = leg->side == GW__SIDE__SIDE_EXT ? md->cfg.ext_addr
                                                       : md->cfg.int_addr;
    int busy[BIND_ATTEMPTS], nbusy = 0, rc = -EIO;

    for (int i = 0; i < BIND_ATTEMPTS; i++) {
        int port = gw_ports_alloc(pool);
        if (port < 0) {
            rc = port;
            break;
        }
        leg->port = (unsigned)port;
        rc = md_relay_open(leg, addr);
        if (rc == 0)
            break;
        md_relay_close(leg);  /* no-op unless a handle was started */
        leg->port = 0;
        busy[nbusy++] = port;
        if (rc != UV_EADDRINUSE)
            break;
    }
    /* Ports taken by someone else go back at the tail of the FIFO. */
    for (int i = 0; i < nbusy; i++)
        gw_ports_release(pool, (unsigned)busy[i]);
    if (rc < 0 && rc != -ENOSPC)
        rc = -EIO;
    return rc;
}

static void leg_close(md_t *md, md_leg_t *leg)
{
    gw_ports_t *pool = leg->side == GW__SIDE__SIDE_EXT ? &md->ext_ports
                                                       : &md->int_ports;
    if (leg->port == 0)
        return;
    gw_ports_release(pool, leg->port);
    leg->port = 0;
    md_relay_close(leg);
}

int md_session_create(md_t *md, uint64_t id, const char *call_id,
                      unsigned nstreams, md_session_t **out)
{
    md_session_t *s;
    unsigned b;
    int rc;

    if (nstreams == 0 || nstreams > MD_MAX_STREAMS)
        return -EINVAL;
    if (md_session_find(md, id) != NULL)
        return -EEXIST;
    s = calloc(1, sizeof *s + sizeof(md_leg_t) * 2 * nstreams);
    if (s == NULL)
        return -ENOMEM;
    s->id = id;
    s->md = md;
    s->nstreams = nstreams;
    snprintf(s->call_id, sizeof s->call_id, "%s", call_id ? call_id : "");
    for (unsigned i = 0; i < nstreams; i++) {
        md_leg_t *e = md_leg(s, i, GW__SIDE__SIDE_EXT);
        md_leg_t *n = md_leg(s, i, GW__SIDE__SIDE_INT);
        e->sess = n->sess = s;
        e->side = GW__SIDE__SIDE_EXT;
        n->side = GW__SIDE__SIDE_INT;
        e->other = n;
        n->other = e;
        e->send_unlatched = !md->cfg.ext_symmetric;
        n->send_unlatched = 1;
    }
    for (unsigned i = 0; i < 2 * nstreams; i++) {
        rc = leg_open(md, &s->legs[i]);
        if (rc < 0)
            goto fail;
    }
    b = bucket_of(id);
    s->hnext = md->buckets[b];
    md->buckets[b] = s;
    md->nsessions++;
    *out = s;
    return 0;

fail:
    for (unsigned i = 0; i < 2 * nstreams; i++)
        leg_close(md, &s->legs[i]);
    s->destroyed = 1;
    if (s->open_handles == 0)
        free(s);
    return rc;
}

void md_leg_set_remote(md_leg_t *leg, const Gw__Endpoint *ep)
{
    struct sockaddr_storage a;
    unsigned rtcp;

    leg->rtp_latched = leg->rtcp_latched = 0;
    leg->has_remote = 0;
    if (ep == NULL || ep->port == 0 || gw_addr_parse(ep->addr, ep->port, &a) < 0)
        return;
    leg->remote_rtp = a;
    rtcp = ep->has_rtcp_mux && ep->rtcp_mux ? ep->port
         : ep->has_rtcp_port && ep->rtcp_port ? ep->rtcp_port : ep->port + 1;
    gw_addr_set_port(&a, rtcp);
    leg->remote_rtcp = a;
    leg->has_remote = 1;
}

void md_session__handle_closed(uv_handle_t *h)
{
    md_leg_t *leg = h->data;
    md_session_t *s = leg->sess;

    if (--s->open_handles == 0 && s->destroyed)
        free(s);
}

void md_session_destroy(md_session_t *s)
{
    md_t *md = s->md;

    if (s->destroyed)
        return;
    table_remove(md, s);
    s->destroyed = 1;
    /* Keep the session alive across the closes below even if they
     * complete synchronously (they do not in libuv, but be explicit). */
    s->open_handles++;
    for (unsigned i = 0; i < 2 * s->nstreams; i++)
        leg_close(md, &s->legs[i]);
    if (--s->open_handles == 0)
        free(s);
}

void md_session_destroy_all(md_t *md)
{
    for (unsigned b = 0; b < MD_HASH_BUCKETS; b++)
        while (md->buckets[b])
            md_session_destroy(md->buckets[b]);
}
