/* One request to sigd: connect a short-lived DEALER (CURVE when keys are
 * given), send a CtlRequest, wait for the CtlReply or an Error up to
 * GWCTL_TIMEOUT_MS. No event loop: poll() on the bus fd, and
 * gw_bus_process() every 50 ms for the edge-triggered ZMQ_FD. */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gwctl.h"

typedef struct {
    gwctl_print_f print;
    void *arg;
    int done;
    int status;
} gwctl_wait_t;

static void on_reply(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                     void *ctx)
{
    gwctl_wait_t *w = ctx;
    const Gw__CtlReply *r = env->ctl_reply;

    (void)bus;
    (void)peer;
    if (r->status == GW__STATUS__ST_OK) {
        if (w->print)
            w->print(r, w->arg);
        w->status = 0;
    } else {
        fprintf(stderr, "gwctl: error: %s\n", r->text ? r->text : "failed");
        w->status = 1;
    }
    w->done = 1;
}

static void on_error(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                     void *ctx)
{
    gwctl_wait_t *w = ctx;

    (void)bus;
    (void)peer;
    fprintf(stderr, "gwctl: error: %s\n", env->error->text ? env->error->text : "?");
    w->status = 1;
    w->done = 1;
}

static const gw_bus_route_t routes[] = {
    { GW__ENVELOPE__BODY_CTL_REPLY, on_reply },
    { GW__ENVELOPE__BODY_ERROR, on_error },
    { 0, NULL }
};

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int gwctl_request(const gwctl_opts_t *o, const char *command, int argc,
                  char **argv, gwctl_print_f print, void *arg)
{
    gw_bus_opts_t bo = { 0 };
    Gw__Envelope env = GW__ENVELOPE__INIT;
    Gw__CtlRequest req = GW__CTL_REQUEST__INIT;
    gwctl_wait_t w = { print, arg, 0, 2 };
    char id[64], err[512];
    struct timespec t0;
    gw_bus_t *bus;

    snprintf(id, sizeof id, "gwctl-%ld", (long)getpid());
    bo.mode = GW_BUS_CLIENT;
    bo.endpoint = o->bus;
    bo.identity = id;
    bo.routes = routes;
    bo.ctx = &w;
    bo.secret_key_file = o->bus_secret_key_file;
    bo.server_key_file = o->bus_server_key_file;
    bus = gw_bus_new(&bo, err, sizeof err);
    if (bus == NULL) {
        fprintf(stderr, "gwctl: %s\n", err);
        return 1;
    }
    req.command = (char *)command;
    req.n_args = (size_t)argc;
    req.args = argv;
    env.body_case = GW__ENVELOPE__BODY_CTL;
    env.ctl = &req;
    env.has_deadline_ms = 1;
    env.deadline_ms = GWCTL_TIMEOUT_MS;
    gw_bus_send(bus, NULL, &env);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!w.done) {
        struct pollfd p = { gw_bus_fd(bus), POLLIN, 0 };
        gw_bus_process(bus);
        if (w.done)
            break;
        if (elapsed_ms(&t0) >= GWCTL_TIMEOUT_MS) {
            fprintf(stderr, "gwctl: no answer from sigd at %s%s\n", o->bus,
                    gw_bus_stats(bus)->auth_refused ? " (our CURVE key was refused)"
                                                   : "");
            break;
        }
        poll(&p, 1, 50);
    }
    gw_bus_free(bus);
    return w.status;
}

const char *gwctl_state_name(Gw__NodeState s)
{
    return s == GW__NODE_STATE__NODE_LIVE ? "live"
         : s == GW__NODE_STATE__NODE_DRAINING ? "draining" : "dead";
}

const char *gwctl_role_name(Gw__Role r)
{
    return r == GW__ROLE__ROLE_MEDIA ? "media" : r == GW__ROLE__ROLE_TURN ? "turn" : "?";
}

const char *gwctl_iface_addr(const Gw__Interface *f)
{
    return f->advertised_addr && f->advertised_addr[0] ? f->advertised_addr
                                                       : f->bind_addr;
}
