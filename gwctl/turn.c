/* gwctl turn-secret / turn-cred / turn-revoke: call-scoped TURN access,
 * asked of sigd, which keeps the REST secrets and pushes them to the TURN
 * nodes (sigd/turn.c). Each answer is one line of key=value text. */
#include <stdio.h>

#include "gwctl.h"

static void print_text(const Gw__CtlReply *r, void *arg)
{
    (void)arg;
    printf("%s\n", r->text ? r->text : "");
}

int gwctl_cmd_turn(const gwctl_opts_t *o, int argc, char **argv)
{
    return gwctl_request(o, argv[0], argc - 1, argv + 1, print_text, NULL);
}
