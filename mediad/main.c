/* mediad: RTP/RTCP relay node. Reads its config, starts its worker
 * threads, registers on the bus and runs the main loop (bus, signals)
 * until SIGINT/SIGTERM; then stops the workers, which close every session,
 * and frees everything. Media ports are opened per session, not here. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "worker.h"

static md_t md_instance;

static void on_signal(uv_signal_t *h, int signum)
{
    md_t *md = h->data;

    GW_INFO("signal %d: stopping (%u sessions open)", signum, md->nsessions);
    md->stopping = 1;
    uv_stop(h->loop);
}

static void on_done(md_wake_t *wk)
{
    md_t *md = wk->data;
    md_cmd_t *cmd;

    for (;;) {
        pthread_mutex_lock(&md->done_lock);
        cmd = md->done_head;
        if (cmd) {
            md->done_head = cmd->next;
            if (md->done_head == NULL)
                md->done_tail = NULL;
        }
        pthread_mutex_unlock(&md->done_lock);
        if (cmd == NULL)
            break;
        md_control_done(md, cmd);
    }
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void describe(md_t *md)
{
    const char *adv = md->cfg.ext_advertised[0] ? md->cfg.ext_advertised
                                                : md->cfg.ext_addr;
    struct timespec ts;

    gw__port_range__init(&md->range);
    md->range.lo = md->cfg.rtp_range.lo;
    md->range.hi = md->cfg.rtp_range.hi;
    for (int i = 0; i < 2; i++) {
        gw__interface__init(&md->ifaces[i]);
        md->ifaces[i].ports = &md->range;
        md->iface_ptrs[i] = &md->ifaces[i];
    }
    md->ifaces[0].side = GW__SIDE__SIDE_EXT;
    md->ifaces[0].bind_addr = md->cfg.ext_addr;
    md->ifaces[0].advertised_addr = (char *)adv;
    md->ifaces[1].side = GW__SIDE__SIDE_INT;
    md->ifaces[1].bind_addr = md->cfg.int_addr;
    md->ifaces[1].advertised_addr = md->cfg.int_addr;

    gw__node_register__init(&md->reg);
    md->reg.role = GW__ROLE__ROLE_MEDIA;
    md->reg.node = md->cfg.name;
    md->reg.n_ifaces = 2;
    md->reg.ifaces = md->iface_ptrs;
    md->reg.has_capacity = 1;
    md->reg.capacity = (uint32_t)md->cfg.capacity;
    md->reg.has_weight = 1;
    md->reg.weight = (uint32_t)md->cfg.weight;
    md->reg.version = "mediad " GW_VERSION;
    clock_gettime(CLOCK_REALTIME, &ts);
    md->reg.epoch = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The CPUs worker_cpus names, resolved once by check_config(). */
static int worker_cpus[CPU_SETSIZE], nworker_cpus;

/* What the directive types cannot judge, run for --check too. */
static int check_config(void *ctx, char *err, size_t errlen)
{
    md_t *md = ctx;
    char why[256];

    if (md->cfg.worker_cpus[0] == '\0')
        return 0;
    nworker_cpus = md_cpus_resolve(md->cfg.worker_cpus, worker_cpus, why, sizeof why);
    if (nworker_cpus < 0) {
        snprintf(err, errlen, "%s: worker_cpus: %s",
                 gw_cfg_where("mediad", "worker_cpus"), why);
        return -EINVAL;
    }
    return 0;
}

/* delay_stats: the kernel stamps received packets only while some socket
 * asks for it, and turns stamping on and off in a deferred work item when
 * the first socket asks or the last one closes. A media socket's first
 * packets could then be stamped late, at recvmmsg(), and look fast. This
 * socket, held for mediad's life, keeps stamping on between calls. */
static int keep_timestamps(void)
{
    int one = 1, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        GW_WARN("delay_stats: socket(): %s; the first packets of a call after "
                "an idle spell may show too small a delay", strerror(errno));
    } else if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) < 0) {
        GW_WARN("delay_stats: setsockopt(SO_TIMESTAMPNS): %s", strerror(errno));
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Pins the workers as worker_cpus says; warns when two share a CPU (more
 * workers than CPUs listed, or a CPU listed twice): under SCHED_FIFO one
 * then waits for the other's whole burst. */
static int pin_workers(md_t *md)
{
    const int *cpus = worker_cpus;
    unsigned n = (unsigned)nworker_cpus;
    char err[256];

    if (md_workers_pin(md, cpus, (int)n, err, sizeof err) < 0) {
        GW_ERR("%s: worker_cpus: %s", gw_cfg_where("mediad", "worker_cpus"), err);
        return -1;
    }
    for (unsigned i = 0; i < md->nworkers; i++)
        for (unsigned k = 0; k < i; k++)
            if (cpus[i % n] == cpus[k % n]) {
                GW_WARN("%s: worker_cpus: workers %u and %u share CPU %d (%u workers, "
                        "%u CPUs listed)", gw_cfg_where("mediad", "worker_cpus"), k, i,
                        cpus[i % n], md->nworkers, n);
                return 0;
            }
    return 0;
}

int main(int argc, char **argv)
{
    md_t *md = &md_instance;
    gw_cfg_section_t secs[] = { { "mediad", md_config_directives, &md->cfg } };
    gw_bus_opts_t bo = { 0 };
    uv_signal_t sigint, sigterm;
    unsigned nworkers;
    char err[512];
    int rc = 1, wrc, stamp_fd = -1;

    rc = gw_cfg_cli_check(argc, argv, "mediad", secs, 1, check_config, md);
    if (rc != 0)
        return rc > 0 ? 0 : 1;
    rc = 1;
    gw_log_init("mediad", md->cfg.log_level);
    signal(SIGPIPE, SIG_IGN);

    if (gw_ports_init(&md->ext_ports, md->cfg.rtp_range.lo, md->cfg.rtp_range.hi) < 0 ||
        gw_ports_init(&md->int_ports, md->cfg.rtp_range.lo, md->cfg.rtp_range.hi) < 0) {
        GW_ERR("rtp_range %u-%u holds no even port pair", md->cfg.rtp_range.lo,
               md->cfg.rtp_range.hi);
        goto out_ports;
    }
    if (md_srtp_global_init() < 0) {
        GW_ERR("libsrtp2 initialisation failed");
        goto out_ports;
    }
    md_mutex_init(&md->ports_lock);
    md_mutex_init(&md->done_lock);
    md->loop = uv_default_loop();
    wrc = md_wake_init(md->loop, &md->done_wake, on_done, md);
    if (wrc < 0) {
        GW_ERR("cannot make the workers' wake-up descriptor: %s", uv_strerror(wrc));
        goto out_wake;
    }
    describe(md);

    if (md->cfg.delay_stats)
        stamp_fd = keep_timestamps();
    nworkers = md->cfg.workers > 0 ? (unsigned)md->cfg.workers
                                   : (unsigned)uv_available_parallelism();
    if (nworkers == 0)
        nworkers = 1;
    wrc = md_workers_start(md, nworkers);
    if (wrc < 0) {
        GW_ERR("cannot start %u worker threads: %s", nworkers, uv_strerror(wrc));
        goto out_workers;
    }
    if (md->cfg.worker_cpus[0] != '\0' && pin_workers(md) < 0)
        goto out_workers;
    if (md->cfg.rt_priority > 0) {
        int e = md_workers_set_rt(md, md->cfg.rt_priority);
        if (e < 0) {
            GW_ERR("%s: rt_priority %d: cannot put the packet threads under "
                   "SCHED_FIFO (pthread_setschedparam): %s%s",
                   gw_cfg_where("mediad", "rt_priority"), md->cfg.rt_priority,
                   strerror(-e),
                   e == -EPERM ? " (needs CAP_SYS_NICE, or RLIMIT_RTPRIO of at "
                                 "least this priority: systemd LimitRTPRIO=; in a "
                                 "cgroup with its own real-time budget, a share of "
                                 "it: cpu.rt_runtime_us)" : "");
            goto out_workers;
        }
    }

    bo.mode = GW_BUS_CLIENT;
    bo.endpoint = md->cfg.bus;
    bo.identity = md->cfg.name;
    bo.routes = md_control_routes;
    bo.ctx = md;
    bo.server_key_file = md->cfg.bus_server_key_file;
    bo.secret_key_file = md->cfg.bus_secret_key_file;
    md->bus = gw_bus_new(&bo, err, sizeof err);
    if (md->bus == NULL) {
        GW_ERR("bus: %s", err);
        goto out_workers;
    }
    gw_bus_uv_start(&md->bus_uv, md->loop, md->bus);
    md->node.reg = &md->reg;
    md->node.fill = md_control_fill_heartbeat;
    md->node.ctx = md;
    md->node.purge = md_control_purge;
    gw_node_start(&md->node, md->loop, md->bus);

    uv_signal_init(md->loop, &sigint);
    uv_signal_init(md->loop, &sigterm);
    sigint.data = sigterm.data = md;
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);

    GW_INFO("node '%s': EXT %s (advertised %s), INT %s, RTP %u-%u, %u worker(s)%s%s, "
            "bus %s", md->cfg.name, md->cfg.ext_addr, md->ifaces[0].advertised_addr,
            md->cfg.int_addr, md->cfg.rtp_range.lo, md->cfg.rtp_range.hi,
            nworkers, md->cfg.rt_priority > 0 ? " under SCHED_FIFO" : "",
            md->cfg.worker_cpus[0] ? ", pinned" : "", md->cfg.bus);
    uv_run(md->loop, UV_RUN_DEFAULT);
    rc = 0;

    md->stopping = 1;
    gw_node_stop(&md->node, "shutdown");
    gw_bus_uv_stop(&md->bus_uv);
out_workers:
    if (md->workers)
        md_workers_stop(md);
    md->stopping = 1;
    on_done(&md->done_wake);   /* replies and events left by the workers */
    for (unsigned b = 0; b < MD_HASH_BUCKETS; b++)
        while (md->buckets[b])
            md_session_unlink(md, md->buckets[b]);
    md_wake_close(&md->done_wake);
    uv_walk(md->loop, close_walk, NULL);
    uv_run(md->loop, UV_RUN_DEFAULT);
    uv_loop_close(md->loop);
    md_wake_free(&md->done_wake);   /* the workers are joined */
    gw_bus_free(md->bus);
out_wake:
    md_srtp_global_free();
    pthread_mutex_destroy(&md->done_lock);
    pthread_mutex_destroy(&md->ports_lock);
out_ports:
    if (stamp_fd >= 0)
        close(stamp_fd);
    gw_ports_free(&md->int_ports);
    gw_ports_free(&md->ext_ports);
    return rc;
}
