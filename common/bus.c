/* Control bus over ZeroMQ: see bus.h.
 *
 * Framing: a DEALER sends one frame (the packed Envelope); the ROUTER sees
 * [routing id][frame] and prefixes the routing id when sending. A ROUTER is
 * created with ZMQ_ROUTER_MANDATORY so that a send to a node that is gone
 * fails with EHOSTUNREACH instead of vanishing.
 */
#include "bus.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <zmq.h>

#define BUS_MAX_FRAME (256 * 1024)
#define BUS_CACHE 64
#define BUS_NBODY 64    /* body case numbers are below this */

typedef struct {
    char peer[GW_BUS_PEERLEN];
    uint64_t request_id;      /* 0 = empty slot */
    uint8_t *data;
    size_t len;
} bus_cached_t;

struct gw_bus_s {
    /* private */
    void *zctx;
    void *sock;
    gw_bus_mode_t mode;
    gw_bus_handler_f handlers[BUS_NBODY];
    void *ctx;
    uint64_t next_id;
    int in_process;
    bus_cached_t cache[BUS_CACHE];
    unsigned cache_next;
    gw_bus_stats_t stats;
};

const char *gw_bus_body_name(Gw__Envelope__BodyCase body)
{
    switch (body) {
#define X(c, name) case GW__ENVELOPE__BODY_##c: return name;
    GW_BUS_BODIES(X)
#undef X
    default:
        return "unset";
    }
}

gw_bus_t *gw_bus_new(const gw_bus_opts_t *o, char *err, size_t errlen)
{
    gw_bus_t *bus;
    int one = 1, linger = 200;

    bus = calloc(1, sizeof *bus);
    if (bus == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    bus->mode = o->mode;
    bus->ctx = o->ctx;
    for (const gw_bus_route_t *r = o->routes; r && r->fn; r++) {
        GW_ASSERT(r->body > 0 && r->body < BUS_NBODY);
        bus->handlers[r->body] = r->fn;
    }
    if (getrandom(&bus->next_id, sizeof bus->next_id, 0) != sizeof bus->next_id)
        bus->next_id = (uint64_t)(uintptr_t)bus;
    bus->next_id = (bus->next_id >> 16) | 1;  /* leave room to count up */

    bus->zctx = zmq_ctx_new();
    if (bus->zctx == NULL)
        goto zfail;
    bus->sock = zmq_socket(bus->zctx, o->mode == GW_BUS_SERVER ? ZMQ_ROUTER
                                                              : ZMQ_DEALER);
    if (bus->sock == NULL)
        goto zfail;
    zmq_setsockopt(bus->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (o->mode == GW_BUS_SERVER) {
        zmq_setsockopt(bus->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
        /* A node that restarts under the same name takes over its routing
         * id instead of being refused until the old connection times out. */
        zmq_setsockopt(bus->sock, ZMQ_ROUTER_HANDOVER, &one, sizeof one);
        if (zmq_bind(bus->sock, o->endpoint) < 0)
            goto zfail;
    } else {
        if (o->identity == NULL || o->identity[0] == '\0' ||
            strlen(o->identity) >= GW_BUS_PEERLEN) {
            snprintf(err, errlen, "bus identity must be 1..%d characters",
                     GW_BUS_PEERLEN - 1);
            goto fail;
        }
        zmq_setsockopt(bus->sock, ZMQ_ROUTING_ID, o->identity,
                       strlen(o->identity));
        if (zmq_connect(bus->sock, o->endpoint) < 0)
            goto zfail;
    }
    return bus;

zfail:
    snprintf(err, errlen, "%s %s: %s",
             o->mode == GW_BUS_SERVER ? "bind" : "connect",
             o->endpoint ? o->endpoint : "(null)", zmq_strerror(zmq_errno()));
fail:
    if (bus->sock)
        zmq_close(bus->sock);
    if (bus->zctx)
        zmq_ctx_term(bus->zctx);
    free(bus);
    return NULL;
}

void gw_bus_free(gw_bus_t *bus)
{
    if (bus == NULL)
        return;
    for (unsigned i = 0; i < BUS_CACHE; i++)
        free(bus->cache[i].data);
    zmq_close(bus->sock);
    zmq_ctx_term(bus->zctx);
    free(bus);
}

int gw_bus_fd(gw_bus_t *bus)
{
    int fd = -1;
    size_t len = sizeof fd;

    zmq_getsockopt(bus->sock, ZMQ_FD, &fd, &len);
    return fd;
}

const gw_bus_stats_t *gw_bus_stats(const gw_bus_t *bus)
{
    return &bus->stats;
}

uint64_t gw_bus_next_id(gw_bus_t *bus)
{
    return bus->next_id++;
}

Gw__Envelope *gw_bus_decode(const uint8_t *data, size_t len)
{
    return gw__envelope__unpack(NULL, len, data);
}

static int send_bytes(gw_bus_t *bus, const char *peer, const uint8_t *buf,
                      size_t len)
{
    if (bus->mode == GW_BUS_SERVER) {
        if (peer == NULL || peer[0] == '\0')
            return -EHOSTUNREACH;
        if (zmq_send(bus->sock, peer, strlen(peer), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
            goto fail;
    }
    if (zmq_send(bus->sock, buf, len, ZMQ_DONTWAIT) < 0)
        goto fail;
    bus->stats.frames_out++;
    return 0;

fail:
    bus->stats.send_failed++;
    return -zmq_errno();
}

static int pack(Gw__Envelope *env, uint8_t **out, size_t *outlen)
{
    size_t len = gw__envelope__get_packed_size(env);

    if (len > BUS_MAX_FRAME)
        return -EMSGSIZE;
    *out = malloc(len ? len : 1);
    if (*out == NULL)
        return -ENOMEM;
    *outlen = gw__envelope__pack(env, *out);
    return 0;
}

int gw_bus_send(gw_bus_t *bus, const char *peer, Gw__Envelope *env)
{
    uint8_t *buf;
    size_t len;
    int rc;

    if (env->request_id == 0)
        env->request_id = gw_bus_next_id(bus);
    rc = pack(env, &buf, &len);
    if (rc < 0)
        return rc;
    rc = send_bytes(bus, peer, buf, len);
    free(buf);
    return rc;
}

int gw_bus_reply(gw_bus_t *bus, const char *peer, const Gw__Envelope *req,
                 Gw__Envelope *reply)
{
    bus_cached_t *c;
    uint8_t *buf;
    size_t len;
    int rc;

    reply->request_id = gw_bus_next_id(bus);
    reply->has_correlation_id = 1;
    reply->correlation_id = req->request_id;
    rc = pack(reply, &buf, &len);
    if (rc < 0)
        return rc;
    rc = send_bytes(bus, peer, buf, len);
    /* Cache even when the send failed: the sender will retry. */
    c = &bus->cache[bus->cache_next];
    bus->cache_next = (bus->cache_next + 1) % BUS_CACHE;
    free(c->data);
    snprintf(c->peer, sizeof c->peer, "%s", peer ? peer : "");
    c->request_id = req->request_id;
    c->data = buf;
    c->len = len;
    return rc;
}

int gw_bus_reply_error(gw_bus_t *bus, const char *peer, const Gw__Envelope *req,
                       Gw__Status st, const char *text)
{
    Gw__Envelope env = GW__ENVELOPE__INIT;
    Gw__Error e = GW__ERROR__INIT;

    e.status = st;
    e.text = (char *)text;
    env.body_case = GW__ENVELOPE__BODY_ERROR;
    env.error = &e;
    return gw_bus_reply(bus, peer, req, &env);
}

static const bus_cached_t *cache_find(gw_bus_t *bus, const char *peer,
                                      uint64_t id)
{
    for (unsigned i = 0; i < BUS_CACHE; i++) {
        const bus_cached_t *c = &bus->cache[i];
        if (c->request_id == id && c->data && strcmp(c->peer, peer) == 0)
            return c;
    }
    return NULL;
}

/* Receives one message into peer/frame. Returns 1 when a frame was read, 0
 * when nothing is pending, <0 on a framing error (already consumed). */
static int recv_one(gw_bus_t *bus, char *peer, zmq_msg_t *frame)
{
    int more;
    size_t ml = sizeof more;

    peer[0] = '\0';
    if (bus->mode == GW_BUS_SERVER) {
        zmq_msg_t id;
        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, bus->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            return 0;
        }
        size_t n = zmq_msg_size(&id);
        if (n >= GW_BUS_PEERLEN)
            n = GW_BUS_PEERLEN - 1;
        memcpy(peer, zmq_msg_data(&id), n);
        peer[n] = '\0';
        /* Routing ids we did not choose (no ZMQ_ROUTING_ID) are binary. */
        for (size_t i = 0; i < n; i++)
            if (peer[i] < 0x21 || peer[i] > 0x7e)
                peer[i] = '?';
        zmq_msg_close(&id);
        zmq_getsockopt(bus->sock, ZMQ_RCVMORE, &more, &ml);
        if (!more)
            return -EPROTO;
    }
    if (zmq_msg_recv(frame, bus->sock, ZMQ_DONTWAIT) < 0)
        return bus->mode == GW_BUS_SERVER ? -EPROTO : 0;
    zmq_getsockopt(bus->sock, ZMQ_RCVMORE, &more, &ml);
    if (more) {
        /* Extra frames: swallow the rest of the message, reject it whole. */
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        do {
            if (zmq_msg_recv(&extra, bus->sock, ZMQ_DONTWAIT) < 0)
                break;
            zmq_getsockopt(bus->sock, ZMQ_RCVMORE, &more, &ml);
        } while (more);
        zmq_msg_close(&extra);
        return -EPROTO;
    }
    return 1;
}

static void dispatch(gw_bus_t *bus, const char *peer, zmq_msg_t *frame)
{
    Gw__Envelope *env;
    const bus_cached_t *c;
    gw_bus_handler_f fn = NULL;

    env = gw_bus_decode(zmq_msg_data(frame), zmq_msg_size(frame));
    if (env == NULL) {
        bus->stats.frames_bad++;
        GW_WARN("bus: malformed frame (%zu bytes) from '%s' ignored",
                zmq_msg_size(frame), peer);
        return;
    }
    if (!env->has_correlation_id &&
        (c = cache_find(bus, peer, env->request_id)) != NULL) {
        bus->stats.replays++;
        send_bytes(bus, peer, c->data, c->len);
        goto out;
    }
    if ((unsigned)env->body_case < BUS_NBODY)
        fn = bus->handlers[env->body_case];
    if (fn == NULL) {
        bus->stats.frames_bad++;
        GW_WARN("bus: unexpected %s message from '%s' ignored",
                gw_bus_body_name(env->body_case), peer);
        if (!env->has_correlation_id)
            gw_bus_reply_error(bus, peer, env, GW__STATUS__ST_ENOTSUP,
                               "message not accepted by this daemon");
        goto out;
    }
    fn(bus, peer, env, bus->ctx);
out:
    gw__envelope__free_unpacked(env, NULL);
}

void gw_bus_process(gw_bus_t *bus)
{
    char peer[GW_BUS_PEERLEN];
    zmq_msg_t frame;
    int events, rc;
    size_t len;

    if (bus->in_process)
        return;
    bus->in_process = 1;
    for (;;) {
        len = sizeof events;
        if (zmq_getsockopt(bus->sock, ZMQ_EVENTS, &events, &len) < 0 ||
            !(events & ZMQ_POLLIN))
            break;
        zmq_msg_init(&frame);
        rc = recv_one(bus, peer, &frame);
        if (rc == 1) {
            bus->stats.frames_in++;
            dispatch(bus, peer, &frame);
        } else if (rc < 0) {
            bus->stats.frames_bad++;
            GW_WARN("bus: badly framed message from '%s' ignored", peer);
        }
        zmq_msg_close(&frame);
        if (rc == 0)
            break;
    }
    bus->in_process = 0;
}
