/* libuv adapter for the bus: see bus_uv.h. */
#include "bus_uv.h"

static void on_poll(uv_poll_t *h, int status, int events)
{
    gw_bus_uv_t *b = h->data;
    (void)status;
    (void)events;
    gw_bus_process(b->bus);
}

/* Before the loop blocks: a drain after a send made outside on_poll(),
 * nothing otherwise (see bus.h). */
static void on_prepare(uv_prepare_t *h)
{
    gw_bus_uv_t *b = h->data;
    gw_bus_process_pending(b->bus);
}

int gw_bus_uv_start(gw_bus_uv_t *b, uv_loop_t *loop, gw_bus_t *bus)
{
    int rc;

    b->bus = bus;
    b->closing = 0;
    rc = uv_poll_init(loop, &b->poll, gw_bus_fd(bus));
    if (rc < 0)
        return rc;
    b->poll.data = b;
    uv_prepare_init(loop, &b->prepare);
    b->prepare.data = b;
    uv_poll_start(&b->poll, UV_READABLE, on_poll);
    uv_prepare_start(&b->prepare, on_prepare);
    return 0;
}

void gw_bus_uv_stop(gw_bus_uv_t *b)
{
    if (b->closing)
        return;
    b->closing = 1;
    uv_close((uv_handle_t *)&b->poll, NULL);
    uv_close((uv_handle_t *)&b->prepare, NULL);
}
