/* turnd: STUN/TURN node of the gateway. main() only reads the
 * configuration and hands over to daemon.c, so that everything else can be
 * linked into the unit tests. */
#include "conf.h"
#include "daemon.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    static turn_conf_t conf;
    const gw_cfg_section_t secs[] = {
        { "turnd", turn_conf_directives, &conf },
    };
    char err[512];
    int rc;

    rc = gw_cfg_cli(argc, argv, "turnd", secs, 1);
    if (rc != 0)
        return rc > 0 ? 0 : 1;
    if (turn_conf_check(&conf, err, sizeof err) < 0) {
        fprintf(stderr, "turnd: config error: %s\n", err);
        return 1;
    }
    gw_log_init("turnd", conf.log_level);
    return turn_daemon_run(&conf) < 0 ? 1 : 0;
}
