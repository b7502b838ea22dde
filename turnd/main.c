/* turnd: STUN/TURN node of the gateway. main() only reads the
 * configuration and hands over to daemon.c, so that everything else can be
 * linked into the unit tests.
 *
 * `--check` is taken out of argv before gw_cfg_cli() sees it: that
 * function answers --check itself as soon as the file parses, before
 * turn_conf_check() could run, and a check that skips the cross-field
 * rules (and the TLS files) would call a broken config OK.
 */
#include "conf.h"
#include "daemon.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    static turn_conf_t conf;
    const gw_cfg_section_t secs[] = {
        { "turnd", turn_conf_directives, &conf },
    };
    char *args[argc + 1];
    char err[1024];
    int n = 0, check = 0, rc;

    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--check") == 0 &&
            strcmp(argv[i - 1], "-c") != 0 && strcmp(argv[i - 1], "-s") != 0)
            check = 1;
        else
            args[n++] = argv[i];
    }
    args[n] = NULL;
    rc = gw_cfg_cli(n, args, "turnd", secs, 1);
    if (rc != 0)
        return rc > 0 ? 0 : 1;
    if (turn_conf_check(&conf, err, sizeof err) < 0) {
        fprintf(stderr, "turnd: config error: %s\n", err);
        return 1;
    }
    if (check) {
        printf("turnd: configuration OK\n");
        return 0;
    }
    gw_log_init("turnd", conf.log_level);
    /* A write to a stream the client has reset must fail with EPIPE, not
     * end the process (libuv writes streams with write(2)). */
    signal(SIGPIPE, SIG_IGN);
    return turn_daemon_run(&conf) < 0 ? 1 : 0;
}
