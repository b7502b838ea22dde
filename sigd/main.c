/* sigd: SIP proxy and owner of the control bus. Reads its config, binds
 * the bus, opens the EXT and INT SIP listeners and runs Sofia's su_root
 * until SIGINT/SIGTERM. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "drops.h"
#include "media.h"
#include "nat.h"
#include "nodes.h"
#include "ntalog.h"
#include "proxy.h"
#include "topo.h"
#include "siptls.h"
#include "turn.h"

static sig_daemon_t sig_instance;
static volatile sig_atomic_t stop_signal;

static void on_signal(int signum)
{
    stop_signal = signum;
}

static int on_bus_readable(sig_daemon_t *sig, su_wait_t *w, sig_daemon_t *arg)
{
    (void)w;
    (void)arg;
    gw_bus_process(sig->bus);
    return 0;
}

/* Runs before every poll: drains the bus after a send (edge-triggered
 * ZMQ_FD, see common/bus.h) and notices a stop signal. */
static void on_prepoll(sig_daemon_t *sig, su_root_t *root)
{
    gw_bus_process_pending(sig->bus);
    sig_ntalog_flush();
    if (stop_signal)
        su_root_break(root);
}

static void on_stop_timer(sig_daemon_t *sig, su_timer_t *t, sig_daemon_t *arg)
{
    (void)t;
    (void)arg;
    if (stop_signal)
        su_root_break(sig->root);
}

/* What the directive types cannot judge, for --check too: the whole TLS
 * policy tried on a context of sigd's own (versions, groups, ciphers,
 * certificate chain, key, CA), each error with its file and line. */
static int check_config(void *ctx, char *err, size_t errlen)
{
    sig_daemon_t *sig = ctx;

    return sig_tls_setup(&sig->cfg.tls, err, errlen) < 0 ? -EINVAL : 0;
}

int main(int argc, char **argv)
{
    sig_daemon_t *sig = &sig_instance;
    gw_cfg_section_t secs[] = {
        { "sigd", sig_config_directives, &sig->cfg },
        { "antifraud", sig_antifraud_directives, &sig->af_cfg },
        { "routes", sig_routes_directives, &sig->routes_cfg },
        { "turn", sig_turn_directives, &sig_turn_cfg },
    };
    gw_bus_opts_t bo = { 0 };
    su_timer_t *stop_timer = NULL;
    char err[512];
    int rc = 1;

    rc = gw_cfg_cli_check(argc, argv, "sigd", secs, sizeof secs / sizeof secs[0],
                          check_config, sig);
    if (rc != 0)
        return rc > 0 ? 0 : 1;
    rc = 1;
    gw_log_init("sigd", sig->cfg.log_level);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    if (su_init() != 0) {
        GW_ERR("su_init failed");
        return 1;
    }
    su_home_init(sig->home);
    sig->root = su_root_create(sig);
    if (sig->root == NULL) {
        GW_ERR("su_root_create failed");
        goto out_su;
    }
    if (sig_calls_init(sig) < 0)
        goto out_root;

    bo.mode = GW_BUS_SERVER;
    bo.endpoint = sig->cfg.bus_bind;
    bo.routes = sig_control_routes;
    bo.ctx = sig;
    bo.secret_key_file = sig->cfg.bus_secret_key_file;
    bo.allowed_keys_dir = sig->cfg.bus_allowed_keys_dir;
    sig->bus = gw_bus_new(&bo, err, sizeof err);
    if (sig->bus == NULL) {
        GW_ERR("bus: %s", err);
        goto out_calls;
    }
    su_wait_create(&sig->bus_wait, gw_bus_fd(sig->bus), SU_WAIT_IN);
    sig->bus_index = su_root_register(sig->root, &sig->bus_wait, on_bus_readable,
                                      sig, 0);
    su_root_add_prepoll(sig->root, on_prepoll, sig);
    if (sig_nodes_start(sig) < 0 || sig_media_start(sig) < 0)
        goto out_bus;
    sig_ntalog_start();
    if (sig_topo_start(sig) < 0 || sig_drops_start(sig) < 0 ||
        sig_antifraud_start(sig) < 0 || sig_proxy_start(sig) < 0 ||
        sig_nat_start(sig) < 0 || sig_routes_start(sig) < 0)
        goto out_proxy;
    /* A signal that lands while su_root sleeps is seen within 200 ms. */
    stop_timer = su_timer_create(su_root_task(sig->root), 200);
    su_timer_set_for_ever(stop_timer, on_stop_timer, sig);

    GW_INFO("bus bound on %s; internal target %s", sig->cfg.bus_bind,
            sig->cfg.internal_target);
    su_root_run(sig->root);
    GW_INFO("signal %d: stopping (%u calls open)", (int)stop_signal, sig->ncalls);
    rc = 0;

    su_timer_destroy(stop_timer);
out_proxy:
    sig_calls_fini(sig);
    sig_routes_stop(sig);
    sig_nat_stop(sig);
    sig_proxy_stop(sig);
    sig_ntalog_stop();
    sig_antifraud_stop(sig);
    sig_drops_stop(sig);
    /* Let the deletes reach the nodes before the bus closes. */
    gw_bus_process(sig->bus);
out_bus:
    sig_media_stop(sig);
    sig_nodes_stop(sig);
    su_root_remove_prepoll(sig->root);
    su_root_deregister(sig->root, sig->bus_index);
    gw_bus_free(sig->bus);
out_calls:
    sig_calls_fini(sig);
out_root:
    su_root_destroy(sig->root);
out_su:
    su_home_deinit(sig->home);
    su_deinit();
    return rc;
}
