/* gwctl: options and the command table; see gwctl.h.
 *
 *   gwctl [-c FILE] [-b ENDPOINT] [-k SECRET_KEY_FILE] [-S SERVER_KEY_FILE]
 *         COMMAND [ARGS]
 *
 * -c reads the [gwctl] section of a config file (the same directives as
 * the options); options given after it win.
 */
#include <stdio.h>
#include <string.h>

#include "gwctl.h"
#include "log.h"

#define F(x) offsetof(gwctl_opts_t, x)

const gw_cfg_directive_t gwctl_directives[] = {
    { "bus", GW_CFG_STR, F(bus), "tcp://127.0.0.1:7700", 0, 0,
      "sigd's bus endpoint" },
    { "bus_server_key_file", GW_CFG_STR, F(bus_server_key_file), "", 0, 0,
      "sigd's CURVE public key (Z85 file)" },
    { "bus_secret_key_file", GW_CFG_STR, F(bus_secret_key_file), "", 0, 0,
      "gwctl's CURVE secret key; its public key must be in sigd's allowed keys" },
    { "public_addr", GW_CFG_STR, F(public_addr), "", 0, 0,
      "firewall: the perimeter's public address (default: the nodes' advertised EXT)" },
    GW_CFG_END
};

static const struct {
    const char *name;
    int min_args, max_args;
    int (*fn)(const gwctl_opts_t *o, int argc, char **argv);
    const char *usage;
} commands[] = {
    { "nodes", 0, 0, gwctl_cmd_nodes, "nodes                 registered nodes, load, state" },
    { "metrics", 0, 0, gwctl_cmd_metrics, "metrics               the nodes' figures for Prometheus (text format)" },
    { "drain", 1, 1, gwctl_cmd_drain, "drain NODE            no new calls on NODE; its calls go on" },
    { "undrain", 1, 1, gwctl_cmd_drain, "undrain NODE          NODE takes new calls again" },
    { "sessions", 0, 0, gwctl_cmd_sessions, "sessions              calls and their media node" },
    { "session", 1, 1, gwctl_cmd_session, "session CALLID|ID     one call's legs and counters" },
    { "keygen", 1, 2, gwctl_cmd_keygen, "keygen NAME [DIR]     CURVE key pair DIR/NAME.key + DIR/NAME.pub" },
    { "plan", 0, 0, gwctl_cmd_plan, "plan                  the port plan of the running gateway" },
    { "firewall", 0, 0, gwctl_cmd_firewall, "firewall [-p PUBLIC]  nftables rules the port plan needs" },
    { "turn-secret", 1, 1, gwctl_cmd_turn, "turn-secret SECRET    rotate the TURN REST secret (pushed to TURN nodes)" },
    { "turn-cred", 1, 3, gwctl_cmd_turn, "turn-cred USER [TTL] [call|ttl]  mint TURN REST credentials (default 3600 s);\n"
      "                        call (default): revoked when USER's calls end; ttl: until TTL only" },
    { "turn-revoke", 1, 1, gwctl_cmd_turn, "turn-revoke USERNAME  end that user's allocations on every TURN node" },
    { "turn-agents", 0, 0, gwctl_cmd_turn, "turn-agents           agents with call-scoped TURN names, their calls" },
    { "turn-grace", 0, 1, gwctl_cmd_turn, "turn-grace [SECONDS]  show or set the revocation grace (run time)" },
    { NULL, 0, 0, NULL, NULL }
};

static void usage(void)
{
    fprintf(stderr, "usage: gwctl [-c FILE] [-b ENDPOINT] [-k SECRET_KEY_FILE] "
            "[-S SERVER_KEY_FILE] COMMAND [ARGS]\ncommands:\n");
    for (int i = 0; commands[i].name; i++)
        fprintf(stderr, "  %s\n", commands[i].usage);
}

int main(int argc, char **argv)
{
    gwctl_opts_t o;
    gw_cfg_section_t sec = { "gwctl", gwctl_directives, &o };
    char err[512];
    int i = 1;

    gw_log_init("gwctl", GW_LOG_WARN);
    if (gw_cfg_load(NULL, &sec, 1, err, sizeof err) < 0)
        return 1;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        const char *opt = argv[i], *v = argv[i + 1], *name = NULL;
        if (strcmp(opt, "-c") == 0) {
            if (gw_cfg_load(v, &sec, 1, err, sizeof err) < 0) {
                fprintf(stderr, "gwctl: %s\n", err);
                return 1;
            }
            continue;
        }
        name = strcmp(opt, "-b") == 0 ? "bus"
             : strcmp(opt, "-k") == 0 ? "bus_secret_key_file"
             : strcmp(opt, "-S") == 0 ? "bus_server_key_file"
             : strcmp(opt, "-p") == 0 ? "public_addr" : NULL;
        if (name == NULL)
            break;
        if (gw_cfg_apply(&sec, 1, "gwctl", name, v, err, sizeof err) < 0) {
            fprintf(stderr, "gwctl: %s: %s\n", opt, err);
            return 1;
        }
    }
    if (i >= argc) {
        usage();
        return 1;
    }
    for (int k = 0; commands[k].name; k++) {
        int nargs = argc - i - 1;
        if (strcmp(argv[i], commands[k].name) != 0)
            continue;
        /* firewall takes -p after the command too. */
        if (commands[k].fn == gwctl_cmd_firewall && nargs == 2 &&
            strcmp(argv[i + 1], "-p") == 0) {
            snprintf(o.public_addr, sizeof o.public_addr, "%s", argv[i + 2]);
            nargs = 0;
        }
        if (nargs < commands[k].min_args || nargs > commands[k].max_args) {
            fprintf(stderr, "usage: gwctl %s\n", commands[k].usage);
            return 1;
        }
        return commands[k].fn(&o, nargs + 1, argv + i);
    }
    fprintf(stderr, "gwctl: unknown command '%s'\n", argv[i]);
    usage();
    return 1;
}
