/* Cross-thread wake-ups: see wake.h. */
#include "wake.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

static void on_readable(uv_poll_t *h, int status, int events)
{
    md_wake_t *wk = h->data;
    uint64_t n;

    (void)events;
    if (status < 0) {
        /* libuv has stopped the watch: this loop hears no more posts. */
        GW_ERR("wake-up eventfd: poll: %s", uv_strerror(status));
        return;
    }
    /* Read first: a post that lands after this read writes again. */
    if (read(wk->fd, &n, sizeof n) < 0 && errno != EAGAIN)
        GW_WARN("wake-up eventfd: read: %s", strerror(errno));
    wk->cb(wk);
}

int md_wake_init(uv_loop_t *loop, md_wake_t *wk, md_wake_cb cb, void *data)
{
    int rc;

    wk->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wk->fd < 0)
        return -errno;
    wk->cb = cb;
    wk->data = data;
    rc = uv_poll_init(loop, &wk->poll, wk->fd);
    if (rc < 0) {
        md_wake_free(wk);
        return rc;
    }
    wk->poll.data = wk;
    rc = uv_poll_start(&wk->poll, UV_READABLE, on_readable);
    if (rc < 0) {
        /* The handle is the loop's now: it closes with it, the fd here. */
        uv_close((uv_handle_t *)&wk->poll, NULL);
        md_wake_free(wk);
    }
    return rc;
}

void md_wake_send(md_wake_t *wk)
{
    uint64_t one = 1;

    /* Fails only with the counter near 2^64 (EAGAIN): already readable. */
    if (write(wk->fd, &one, sizeof one) < 0 && errno != EAGAIN)
        GW_WARN("wake-up eventfd: write: %s", strerror(errno));
}

void md_wake_close(md_wake_t *wk)
{
    if (!uv_is_closing((uv_handle_t *)&wk->poll))
        uv_close((uv_handle_t *)&wk->poll, NULL);
}

void md_wake_free(md_wake_t *wk)
{
    if (wk->fd >= 0)
        close(wk->fd);
    wk->fd = -1;
}
