/* turnd: STUN/TURN node of the gateway. main() only reads the
 * configuration and hands over to daemon.c, so that everything else can be
 * linked into the unit tests.
 *
 * turn_conf_check() (the cross-field rules and the TLS files) runs through
 * gw_cfg_cli_check(), so that --check judges what a start would.
 */
#include "conf.h"
#include "daemon.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static int check_conf(void *ctx, char *err, size_t errlen)
{
    return turn_conf_check(ctx, err, errlen);
}

int main(int argc, char **argv)
{
    static turn_conf_t conf;
    const gw_cfg_section_t secs[] = {
        { "turnd", turn_conf_directives, &conf },
    };
    int rc;

    rc = gw_cfg_cli_check(argc, argv, "turnd", secs, 1, check_conf, &conf);
    if (rc != 0)
        return rc > 0 ? 0 : 1;
    gw_log_init("turnd", conf.log_level);
    /* A write to a stream the client has reset must fail with EPIPE, not
     * end the process (libuv writes streams with write(2)). */
    signal(SIGPIPE, SIG_IGN);
    return turn_daemon_run(&conf) < 0 ? 1 : 0;
}
