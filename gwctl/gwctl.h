/* gwctl: the operator's command-line tool, in one file per command group.
 *
 *   main.c      options and the command table
 *   request.c   one request to sigd over the bus, and its answer
 *   nodes.c     nodes, drain, undrain
 *   sessions.c  sessions, session
 *   keygen.c    CURVE key pairs
 *   plan.c      the port plan and the nftables rules it needs
 *
 * Output is one line per item with key=value fields (easy to grep), or
 * for `firewall` an nftables ruleset. Exit status: 0 on success, 1 on an
 * error answer or bad usage, 2 when sigd does not answer in time.
 */
#ifndef GWCTL_H
#define GWCTL_H

#include "bus.h"
#include "cfg.h"

#define GWCTL_TIMEOUT_MS 3000

/* Where sigd is and how to talk to it: -b, -k, -S or a [gwctl] section
 * read with -c. */
typedef struct {
    char bus[GW_CFG_STRLEN];
    char bus_server_key_file[GW_CFG_STRLEN];
    char bus_secret_key_file[GW_CFG_STRLEN];
    char public_addr[GW_CFG_STRLEN];   /* firewall: perimeter address */
} gwctl_opts_t;

extern const gw_cfg_directive_t gwctl_directives[];

/* Called with sigd's answer; the reply is freed after it returns. */
typedef void (*gwctl_print_f)(const Gw__CtlReply *r, void *arg);

/* Sends `command args...` to sigd and hands an OK answer to print.
 * Returns the exit status (see above); errors are printed. */
int gwctl_request(const gwctl_opts_t *o, const char *command, int argc,
                  char **argv, gwctl_print_f print, void *arg);

const char *gwctl_state_name(Gw__NodeState s);
const char *gwctl_role_name(Gw__Role r);
/* The address a peer uses for an interface: advertised, else bound. */
const char *gwctl_iface_addr(const Gw__Interface *f);

/* Commands: argv[0] is the command name. */
int gwctl_cmd_nodes(const gwctl_opts_t *o, int argc, char **argv);
int gwctl_cmd_metrics(const gwctl_opts_t *o, int argc, char **argv);
int gwctl_cmd_drain(const gwctl_opts_t *o, int argc, char **argv);
int gwctl_cmd_sessions(const gwctl_opts_t *o, int argc, char **argv);
int gwctl_cmd_session(const gwctl_opts_t *o, int argc, char **argv);
int gwctl_cmd_keygen(const gwctl_opts_t *o, int argc, char **argv);
int gwctl_cmd_plan(const gwctl_opts_t *o, int argc, char **argv);
int gwctl_cmd_firewall(const gwctl_opts_t *o, int argc, char **argv);
int gwctl_cmd_turn(const gwctl_opts_t *o, int argc, char **argv);

#endif
