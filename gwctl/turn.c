/* gwctl turn-secret / turn-cred / turn-revoke / turn-agents / turn-grace:
 * call-scoped TURN access, asked of sigd, which keeps the REST secrets,
 * pushes them to the TURN nodes (sigd/turn.c) and revokes an agent's
 * call-scoped names when its calls end (sigd/turnscope.c). Each answer is
 * key=value text, one line per item. */
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
