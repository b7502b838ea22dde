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
 * node module keeps re-sending the register while sigd is away. Once
 * registered, the node asks sigd for the TURN REST secrets; sigd may push
 * new ones (rotation) and revoke usernames at any time.
 */
#include "daemon.h"
#include "bus.h"
#include "bus_uv.h"
#include "log.h"
#include "net.h"
#include "node.h"
#include "stun.h"
#include "tcp.h"
#include "tls.h"
#include "turn.h"
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
    turn_t turn;
    int allocs_started;
    turn_udp_t udp;
    turn_tcp_t tcp;
    turn_tcp_t tls;            /* TURN over TLS, when tls_port is set */
    turn_tls_t *tls_cred;      /* chain, key, priority; freed after the loop */

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

/* After each registration: ask sigd for the REST secrets. */
static void on_registered(gw_bus_t *bus, const char *peer,
                          const Gw__Envelope *env, void *ctx)
{
    turn_daemon_t *d = ctx;
    Gw__Envelope req = GW__ENVELOPE__INIT;
    Gw__TurnSecrets ts = GW__TURN_SECRETS__INIT;

    (void)peer;
    gw_node_on_registered(&d->node, env);
    if (!d->node.registered)
        return;
    ts.has_request = 1;
    ts.request = 1;
    req.body_case = GW__ENVELOPE__BODY_TURN_SECRETS;
    req.turn_secrets = &ts;
    gw_bus_send(bus, NULL, &req);
}

static void turn_reply(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                       Gw__Status st, const char *error, uint32_t count,
                       uint32_t allocations)
{
    Gw__Envelope reply = GW__ENVELOPE__INIT;
    Gw__TurnReply r = GW__TURN_REPLY__INIT;

    r.status = st;
    r.error = (char *)error;
    r.has_count = 1;
    r.count = count;
    r.has_allocations = 1;
    r.allocations = allocations;
    reply.body_case = GW__ENVELOPE__BODY_TURN_REPLY;
    reply.turn_reply = &r;
    gw_bus_reply(bus, peer, env, &reply);
}

/* Secrets pushed by sigd, or sigd's answer to our request. */
static void on_turn_secrets(gw_bus_t *bus, const char *peer,
                            const Gw__Envelope *env, void *ctx)
{
    turn_daemon_t *d = ctx;
    const Gw__TurnSecrets *ts = env->turn_secrets;
    int answer = !env->has_correlation_id;   /* a push, not a reply */

    if (ts->request) {
        turn_reply(bus, peer, env, GW__STATUS__ST_ENOTSUP,
                   "a TURN node has no secrets to give", 0, 0);
        return;
    }
    if (ts->n_secrets == 0) {
        GW_INFO("bus: sigd has no TURN REST secret; keeping %u from the config",
                d->turn.auth.nsecrets);
        if (answer)
            turn_reply(bus, peer, env, GW__STATUS__ST_OK, NULL,
                       d->turn.auth.nsecrets, d->turn.allocs.count);
        return;
    }
    if (turn_auth_set_secrets(&d->turn.auth, (const char *const *)ts->secrets,
                              ts->n_secrets) < 0) {
        GW_WARN("bus: refused %zu TURN REST secrets from '%s' (empty, too "
                "long or too many)", ts->n_secrets, peer);
        if (answer)
            turn_reply(bus, peer, env, GW__STATUS__ST_EINVAL,
                       "secrets refused", 0, d->turn.allocs.count);
        return;
    }
    GW_INFO("bus: %zu TURN REST secret(s) now active", ts->n_secrets);
    if (answer)
        turn_reply(bus, peer, env, GW__STATUS__ST_OK, NULL,
                   (uint32_t)ts->n_secrets, d->turn.allocs.count);
}

static void on_turn_revoke(gw_bus_t *bus, const char *peer,
                           const Gw__Envelope *env, void *ctx)
{
    turn_daemon_t *d = ctx;
    const char *user = env->turn_revoke->username;
    unsigned n;

    if (user[0] == '\0' || strlen(user) >= TURN_AUTH_USERLEN) {
        turn_reply(bus, peer, env, GW__STATUS__ST_EINVAL, "bad username", 0,
                   d->turn.allocs.count);
        return;
    }
    if (strchr(user, ':') != NULL)
        turn_auth_revoke(&d->turn.auth, user);
    n = turn_allocs_revoke(&d->turn.allocs, user);
    GW_INFO("bus: revoked '%s' for '%s': %u allocation(s) deleted", user, peer, n);
    turn_reply(bus, peer, env, GW__STATUS__ST_OK, NULL, n, d->turn.allocs.count);
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
    { GW__ENVELOPE__BODY_TURN_SECRETS, on_turn_secrets },
    { GW__ENVELOPE__BODY_TURN_REVOKE, on_turn_revoke },
    { GW__ENVELOPE__BODY__NOT_SET, NULL }
};

/* Heartbeat load: allocations (one relay port each) and relayed data. */
static void fill_heartbeat(Gw__Heartbeat *hb, void *ctx)
{
    turn_daemon_t *d = ctx;
    const turn_allocs_stats_t *st = &d->turn.allocs.stats;

    hb->has_sessions = 1;
    hb->sessions = d->turn.allocs.count;
    hb->has_ports_in_use = 1;
    hb->ports_in_use = d->turn.allocs.count;
    hb->has_packets_relayed = 1;
    hb->packets_relayed = st->pkts_relayed;
    hb->has_bytes_relayed = 1;
    hb->bytes_relayed = st->bytes_relayed;
    hb->has_packets_dropped = 1;
    hb->packets_dropped = d->stun.stats.malformed + st->dropped_perm +
                          st->dropped_bw + st->dropped_send +
                          d->turn.stats.dropped + d->turn.stats.denied_peers;
    hb->has_draining = 1;
    hb->draining = d->node.draining;
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
    d->reg.has_service_port = 1;
    d->reg.service_port = (uint32_t)c->port;
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
        .server_key_file = d->conf->bus_server_key_file,
        .secret_key_file = d->conf->bus_secret_key_file,
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
    if (d->allocs_started)
        turn_allocs_stop(&d->turn.allocs);
    turn_tcp_stop(&d->tls);
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

/* Credentials, safe peers and the allocation table. */
static int start_turn(turn_daemon_t *d)
{
    const turn_conf_t *c = d->conf;
    turn_t *t = &d->turn;
    struct sockaddr_storage adv;
    char err[256];
    int rc;

    t->software = d->software;
    t->default_lifetime_s = (unsigned)c->default_lifetime;
    t->max_lifetime_s = (unsigned)c->max_lifetime;
    rc = turn_auth_init(&t->auth, c->realm, c->users, c->rest_secrets,
                        (unsigned)c->nonce_lifetime, err, sizeof err);
    if (rc == 0)
        rc = turn_peers_init(&t->peers, c->allowed_peers, c->denied_peers,
                             err, sizeof err);
    if (rc < 0) {
        GW_ERR("turnd: %s", err);
        return rc;
    }
    gw_addr_parse(c->listen_addr, 0, &t->allocs.relay_ip);
    gw_addr_parse(turn_conf_advertised(c), 0, &adv);
    t->allocs.adv_ip = adv;
    /* The server's own addresses are never peers: the configured ones
     * (a 1:1 NAT address is not on any interface) and every local one. */
    turn_peers_add_self(&t->peers, (struct sockaddr *)&t->allocs.relay_ip);
    turn_peers_add_self(&t->peers, (struct sockaddr *)&adv);
    if (turn_peers_add_local(&t->peers) < 0)
        GW_WARN("turnd: getifaddrs() failed: %s; only the configured "
                "addresses count as the server's own", strerror(errno));
    t->allocs.port_lo = c->relay_range.lo;
    t->allocs.port_hi = c->relay_range.hi;
    t->allocs.capacity = (unsigned)c->capacity;
    t->allocs.user_quota = (unsigned)c->user_quota;
    t->allocs.bps = (unsigned)c->max_bps;
    t->allocs.use_uring = c->io_uring;
    rc = turn_allocs_start(&t->allocs, &d->loop);
    if (rc < 0) {
        GW_ERR("turnd: allocation table: %s", strerror(-rc));
        return rc;
    }
    if (t->allocs.rq.on)
        GW_INFO("turnd: relay I/O through io_uring");
    else if (c->io_uring)
        GW_WARN("turnd: io_uring unavailable (io_uring_queue_init: %s); relay "
                "I/O with a system call per packet", strerror(-t->allocs.rq_err));
    else
        GW_INFO("turnd: relay I/O with a system call per packet (io_uring = no)");
    d->allocs_started = 1;
    d->stun.turn = t;
    GW_INFO("turnd: TURN realm '%s', %u user(s), %u REST secret(s), relay %s "
            "ports %u-%u advertised as %s, %u peer allow rule(s)", c->realm,
            t->auth.nusers, t->auth.nsecrets, c->listen_addr,
            c->relay_range.lo, c->relay_range.hi, turn_conf_advertised(c),
            t->peers.nallow);
    return 0;
}

/* TURN over TLS on tls_port, same address (RFC 8656 section 3.5). */
static int start_tls(turn_daemon_t *d)
{
    const turn_conf_t *c = d->conf;
    struct sockaddr_storage ss;
    char a[GW_ADDRSTRLEN], err[512];
    int rc;

    if (c->tls_port == 0)
        return 0;
    rc = turn_tls_new(&d->tls_cred, c->tls_cert, c->tls_key, c->tls_priority,
                      err, sizeof err);
    if (rc < 0) {
        GW_ERR("turnd: tls: %s", err);
        return rc;
    }
    gw_addr_parse(c->listen_addr, (unsigned)c->tls_port, &ss);
    gw_addr_str((struct sockaddr *)&ss, a, sizeof a);
    rc = turn_tcp_start(&d->tls, &d->loop, (struct sockaddr *)&ss, &d->stun,
                        d->tls_cred);
    if (rc < 0) {
        GW_ERR("turnd: tls listen(%s) failed: %s", a, uv_strerror(rc));
        return rc;
    }
    GW_INFO("turnd: TURN over TLS on tcp %s (certificate %s, priority '%s', "
            "TLS 1.2 at least)", a, c->tls_cert, c->tls_priority);
    return 0;
}

static int start_stun(turn_daemon_t *d)
{
    const turn_conf_t *c = d->conf;
    struct sockaddr_storage ss;
    char a[GW_ADDRSTRLEN];
    int rc;

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
    rc = turn_tcp_start(&d->tcp, &d->loop, (struct sockaddr *)&ss, &d->stun,
                        NULL);
    if (rc < 0) {
        GW_ERR("turnd: tcp listen(%s) failed: %s", a, uv_strerror(rc));
        return rc;
    }
    GW_INFO("turnd: STUN on udp %s, tcp %s; relay range %u-%u", a, a,
            c->relay_range.lo, c->relay_range.hi);
    return start_tls(d);
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
    snprintf(d->software, sizeof d->software, "gw-turnd %s", TURN_VERSION);
    rc = start_turn(d);
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
    if (d->allocs_started)
        turn_allocs_free(&d->turn.allocs);
    turn_tls_free(d->tls_cred);
    if (uv_loop_close(&d->loop) != 0)
        GW_ERR("turnd: handles left open at exit");
    GW_INFO("turnd: stopped (%llu requests, %llu malformed, %llu "
            "allocations, %llu packets relayed, %llu io_uring submissions, "
            "%llu TLS handshakes, %llu TLS failures)",
            (unsigned long long)d->stun.stats.requests,
            (unsigned long long)d->stun.stats.malformed,
            (unsigned long long)d->turn.allocs.stats.created,
            (unsigned long long)d->turn.allocs.stats.pkts_relayed,
            (unsigned long long)d->turn.allocs.rq.submits,
            (unsigned long long)d->tls.tls_handshakes,
            (unsigned long long)d->tls.tls_failed);
    free(d);
    return rc;
}
