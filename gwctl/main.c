/* gwctl: the operator's command-line tool. It connects to sigd's bus as a
 * short-lived client, sends one command and prints the answer.
 *
 *   gwctl [-b tcp://127.0.0.1:7700] nodes
 *
 * Output is one line per item with key=value fields, easy to read and to
 * grep in scripts. Exit status: 0 on success, 1 on an error answer, 2 when
 * sigd does not answer within the timeout.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "log.h"

#define CTL_TIMEOUT_MS 3000

static int done, exit_code = 2;

static const char *state_name(Gw__NodeState s)
{
    return s == GW__NODE_STATE__NODE_LIVE ? "live"
         : s == GW__NODE_STATE__NODE_DRAINING ? "draining" : "dead";
}

static void print_nodes(const Gw__CtlReply *r)
{
    for (size_t i = 0; i < r->n_nodes; i++) {
        const Gw__NodeInfo *n = r->nodes[i];
        printf("node %s role=%s state=%s sessions=%u ports=%u relayed=%llu "
               "dropped=%llu weight=%u capacity=%u seen_ms=%u",
               n->node, n->role == GW__ROLE__ROLE_MEDIA ? "media" : "turn",
               state_name(n->state), n->sessions, n->ports_in_use,
               (unsigned long long)n->packets_relayed,
               (unsigned long long)n->packets_dropped, n->weight, n->capacity,
               n->last_seen_ms);
        for (size_t k = 0; k < n->n_ifaces; k++) {
            const Gw__Interface *f = n->ifaces[k];
            printf(" %s=%s", f->side == GW__SIDE__SIDE_EXT ? "ext" : "int",
                   f->advertised_addr && f->advertised_addr[0] ? f->advertised_addr
                                                               : f->bind_addr);
            if (f->ports)
                printf(":%u-%u", f->ports->lo, f->ports->hi);
        }
        printf("\n");
    }
    printf("calls %u\n", r->calls);
}

static void on_reply(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                     void *ctx)
{
    (void)bus;
    (void)peer;
    (void)ctx;
    if (env->ctl_reply->status == GW__STATUS__ST_OK) {
        print_nodes(env->ctl_reply);
        exit_code = 0;
    } else {
        fprintf(stderr, "gwctl: error: %s\n",
                env->ctl_reply->text ? env->ctl_reply->text : "failed");
        exit_code = 1;
    }
    done = 1;
}

static void on_error(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                     void *ctx)
{
    (void)bus;
    (void)peer;
    (void)ctx;
    fprintf(stderr, "gwctl: error: %s\n", env->error->text ? env->error->text : "?");
    exit_code = 1;
    done = 1;
}

static const gw_bus_route_t routes[] = {
    { GW__ENVELOPE__BODY_CTL_REPLY, on_reply },
    { GW__ENVELOPE__BODY_ERROR, on_error },
    { 0, NULL }
};

static void usage(void)
{
    fprintf(stderr, "usage: gwctl [-b BUS_ENDPOINT] nodes\n");
}

int main(int argc, char **argv)
{
    const char *endpoint = "tcp://127.0.0.1:7700";
    gw_bus_opts_t bo = { 0 };
    Gw__Envelope env = GW__ENVELOPE__INIT;
    Gw__CtlRequest req = GW__CTL_REQUEST__INIT;
    char id[64], err[256];
    gw_bus_t *bus;
    struct timespec t0, t;
    int i = 1;

    gw_log_init("gwctl", GW_LOG_WARN);
    if (i + 1 < argc && strcmp(argv[i], "-b") == 0) {
        endpoint = argv[i + 1];
        i += 2;
    }
    if (i >= argc || strcmp(argv[i], "nodes") != 0) {
        usage();
        return 2;
    }
    snprintf(id, sizeof id, "gwctl-%ld", (long)getpid());
    bo.mode = GW_BUS_CLIENT;
    bo.endpoint = endpoint;
    bo.identity = id;
    bo.routes = routes;
    bus = gw_bus_new(&bo, err, sizeof err);
    if (bus == NULL) {
        fprintf(stderr, "gwctl: %s\n", err);
        return 2;
    }
    req.command = argv[i];
    req.n_args = (size_t)(argc - i - 1);
    req.args = argv + i + 1;
    env.body_case = GW__ENVELOPE__BODY_CTL;
    env.ctl = &req;
    env.has_deadline_ms = 1;
    env.deadline_ms = CTL_TIMEOUT_MS;
    gw_bus_send(bus, NULL, &env);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!done) {
        struct pollfd p = { gw_bus_fd(bus), POLLIN, 0 };
        long ms;
        gw_bus_process(bus);
        if (done)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t);
        ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms >= CTL_TIMEOUT_MS) {
            fprintf(stderr, "gwctl: no answer from sigd at %s\n", endpoint);
            break;
        }
        poll(&p, 1, 50);
    }
    gw_bus_free(bus);
    return exit_code;
}
