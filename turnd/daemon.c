/* turnd's process life cycle: see daemon.h.
 *
 * Everything lives in one turn_daemon_t allocated for the run (it holds
 * the 64 KiB UDP receive buffer, too large for the stack). Start-up and
 * shut-down share one path: stop_all() closes whatever was opened, in the
 * reverse order of opening, and uv_run() then runs until the last close
 * callback, so that the loop can be closed and the memory freed with no
 * handle left behind.
 *
 * The bus never blocks STUN: ZeroMQ connects in the background, and the
 * node module keeps re-sending the register while sigd is away.
 */
#include "daemon.h"
#include "bus.h"
#include "bus_uv.h"
#include "log.h"
#include "net.h"
#include "node.h"
#include "stun.h"
#include "tcp.h"
#include "udp.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    /* private */
    const turn_conf_t *conf;
    uv_loop_t loop;
    uv_signal_t sigint;
    uv_signal_t sigterm;
    int signals_started;
    int stopping;
    turn_stun_t stun;
    turn_udp_t udp;
    turn_tcp_t tcp;
    gw_bus_t *bus;
    gw_bus_uv_t bus_uv;
    int bus_uv_started;
    gw_node_t node;
    /* What the node says of itself on the bus; the strings point into
     * conf, which outlives the run. */
    Gw__NodeRegister reg;
    Gw__Interface iface;
    Gw__Interface *ifaces[1];
    Gw__PortRange range;
    char software[96];
} turn_daemon_t;

/* --- bus --- */

static void on_registered(gw_bus_t *bus, const char *peer,
                          const Gw__Envelope *env, void *ctx)
{
    turn_daemon_t *d = ctx;

    (void)bus;
    (void)peer;
    gw_node_on_registered(&d->node, env);
}

static void on_error(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                     void *ctx)
{
    turn_daemon_t *d = ctx;

    (void)bus;
    (void)peer;
    gw_node_on_error(&d->node, env);
}

static void on_drain(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                     void *ctx)
{
    turn_daemon_t *d = ctx;

    (void)bus;
    gw_node_on_drain(&d->node, peer, env);
}

static const gw_bus_route_t routes[] = {
    { GW__ENVELOPE__BODY_REGISTERED, on_registered },
    { GW__ENVELOPE__BODY_ERROR, on_error },
    { GW__ENVELOPE__BODY_DRAIN, on_drain },
    { GW__ENVELOPE__BODY__NOT_SET, NULL }
};

/* Heartbeat load: no TURN allocations yet; STUN traffic as packets. */
static void fill_heartbeat(Gw__Heartbeat *hb, void *ctx)
{
    turn_daemon_t *d = ctx;

    hb->has_sessions = 1;
    hb->sessions = 0;
    hb->has_ports_in_use = 1;
    hb->ports_in_use = 0;
    hb->has_packets_relayed = 1;
    hb->packets_relayed = d->stun.stats.requests;
    hb->has_packets_dropped = 1;
    hb->packets_dropped = d->stun.stats.malformed;
}

static uint64_t epoch_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void describe_node(turn_daemon_t *d)
{
    const turn_conf_t *c = d->conf;

    gw__port_range__init(&d->range);
    d->range.lo = c->relay_range.lo;
    d->range.hi = c->relay_range.hi;
    gw__interface__init(&d->iface);
    d->iface.side = GW__SIDE__SIDE_EXT;
    d->iface.bind_addr = (char *)c->listen_addr;
    d->iface.advertised_addr = (char *)turn_conf_advertised(c);
    d->iface.ports = &d->range;
    d->ifaces[0] = &d->iface;
    gw__node_register__init(&d->reg);
    d->reg.role = GW__ROLE__ROLE_TURN;
    d->reg.node = (char *)c->name;
    d->reg.n_ifaces = 1;
    d->reg.ifaces = d->ifaces;
    d->reg.has_capacity = 1;
    d->reg.capacity = (uint32_t)c->capacity;
    d->reg.version = (char *)TURN_VERSION;
    d->reg.epoch = epoch_ns();
}

static int start_bus(turn_daemon_t *d)
{
    gw_bus_opts_t opts = {
        .mode = GW_BUS_CLIENT,
        .endpoint = d->conf->bus,
        .identity = d->conf->name,
        .routes = routes,
        .ctx = d,
    };
    char err[256];
    int rc;

    d->bus = gw_bus_new(&opts, err, sizeof err);
    if (d->bus == NULL) {
        GW_ERR("bus: cannot use %s: %s", d->conf->bus, err);
        return -EINVAL;
    }
    rc = gw_bus_uv_start(&d->bus_uv, &d->loop, d->bus);
    if (rc < 0) {
        GW_ERR("bus: uv_poll_init() failed: %s", uv_strerror(rc));
        return rc;
    }
    d->bus_uv_started = 1;
    describe_node(d);
    d->node.reg = &d->reg;
    d->node.fill = fill_heartbeat;
    d->node.ctx = d;
    rc = gw_node_start(&d->node, &d->loop, d->bus);
    if (rc < 0) {
        GW_ERR("bus: node timer failed: %s", uv_strerror(rc));
        return rc;
    }
    return 0;
}

/* --- life cycle --- */

static void stop_all(turn_daemon_t *d)
{
    if (d->stopping)
        return;
    d->stopping = 1;
    gw_node_stop(&d->node, "shutdown");
    if (d->bus_uv_started)
        gw_bus_uv_stop(&d->bus_uv);
    turn_tcp_stop(&d->tcp);
    turn_udp_stop(&d->udp);
    if (d->signals_started) {
        uv_close((uv_handle_t *)&d->sigterm, NULL);
        uv_close((uv_handle_t *)&d->sigint, NULL);
    }
}

static void on_signal(uv_signal_t *h, int signum)
{
    turn_daemon_t *d = h->data;

    GW_INFO("turnd: stopping on %s", signum == SIGINT ? "SIGINT" : "SIGTERM");
    stop_all(d);
}

static int start_signals(turn_daemon_t *d)
{
    uv_signal_init(&d->loop, &d->sigint);
    uv_signal_init(&d->loop, &d->sigterm);
    d->sigint.data = d->sigterm.data = d;
    d->signals_started = 1;
    if (uv_signal_start(&d->sigint, on_signal, SIGINT) < 0 ||
        uv_signal_start(&d->sigterm, on_signal, SIGTERM) < 0)
        return -EINVAL;
    return 0;
}

static int start_stun(turn_daemon_t *d)
{
    const turn_conf_t *c = d->conf;
    struct sockaddr_storage ss;
    char a[GW_ADDRSTRLEN];
    int rc;

    snprintf(d->software, sizeof d->software, "gw-turnd %s", TURN_VERSION);
    d->stun.software = d->software;
    rc = gw_addr_parse(c->listen_addr, (unsigned)c->port, &ss);
    if (rc < 0) {
        GW_ERR("turnd: listen_addr '%s' is not an address", c->listen_addr);
        return rc;
    }
    gw_addr_str((struct sockaddr *)&ss, a, sizeof a);
    rc = turn_udp_start(&d->udp, &d->loop, (struct sockaddr *)&ss, &d->stun);
    if (rc < 0) {
        GW_ERR("turnd: udp bind(%s) failed: %s", a, uv_strerror(rc));
        return rc;
    }
    rc = turn_tcp_start(&d->tcp, &d->loop, (struct sockaddr *)&ss, &d->stun);
    if (rc < 0) {
        GW_ERR("turnd: tcp listen(%s) failed: %s", a, uv_strerror(rc));
        return rc;
    }
    GW_INFO("turnd: STUN on udp %s, tcp %s; relay range %u-%u", a, a,
            c->relay_range.lo, c->relay_range.hi);
    return 0;
}

int turn_daemon_run(const turn_conf_t *conf)
{
    turn_daemon_t *d = calloc(1, sizeof *d);
    int rc;

    if (d == NULL) {
        GW_ERR("turnd: out of memory");
        return -ENOMEM;
    }
    d->conf = conf;
    rc = uv_loop_init(&d->loop);
    if (rc < 0) {
        GW_ERR("turnd: uv_loop_init() failed: %s", uv_strerror(rc));
        free(d);
        return rc;
    }
    rc = start_signals(d);
    if (rc < 0)
        goto fail;
    rc = start_stun(d);
    if (rc < 0)
        goto fail;
    rc = start_bus(d);
    if (rc < 0)
        goto fail;
    GW_INFO("bus: joining %s as '%s' (epoch %llu)", conf->bus, conf->name,
            (unsigned long long)d->reg.epoch);
    uv_run(&d->loop, UV_RUN_DEFAULT);

fail:
    /* Also the normal exit: after a signal stop_all() has run already. */
    stop_all(d);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    gw_bus_free(d->bus);
    if (uv_loop_close(&d->loop) != 0)
        GW_ERR("turnd: handles left open at exit");
    GW_INFO("turnd: stopped (%llu requests, %llu malformed)",
            (unsigned long long)d->stun.stats.requests,
            (unsigned long long)d->stun.stats.malformed);
    free(d);
    return rc;
}
