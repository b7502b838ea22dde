/* turnd's process life cycle: open the STUN listeners, join the control
 * bus as a TURN node, run the libuv loop until SIGINT or SIGTERM, then
 * close every handle and free everything. */
#ifndef TURN_DAEMON_H
#define TURN_DAEMON_H

#include "conf.h"

/* The build's version (git describe) when the Makefile passes one. */
#ifdef GW_VERSION
#define TURN_VERSION GW_VERSION
#else
#define TURN_VERSION "0.1.0"
#endif

/* Runs until a stop signal. Returns 0 after a clean stop, or a negative
 * errno when start-up failed (the reason has been logged). `conf` must
 * have passed turn_conf_check(). */
int turn_daemon_run(const turn_conf_t *conf);

#endif
