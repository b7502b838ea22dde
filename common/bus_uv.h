/* Runs a gw_bus_t inside a libuv loop (mediad, turnd, gwctl): a poll handle
 * on ZMQ_FD for readability and a prepare handle that drains the bus before
 * every loop iteration blocks, which covers the edge-triggered ZMQ_FD after
 * sends made outside the read callback. */
#ifndef GW_BUS_UV_H
#define GW_BUS_UV_H

#include <uv.h>

#include "bus.h"

typedef struct {
    /* private */
    uv_poll_t poll;
    uv_prepare_t prepare;
    gw_bus_t *bus;
    int closing;
} gw_bus_uv_t;

int gw_bus_uv_start(gw_bus_uv_t *b, uv_loop_t *loop, gw_bus_t *bus);
/* Closes both handles; the bus itself stays the caller's. */
void gw_bus_uv_stop(gw_bus_uv_t *b);

#endif
