/* A wake-up from another thread: an eventfd the loop watches (uv_poll).
 *
 * Not uv_async_t: libuv 1.44's uv_async_send() marks the handle busy,
 * writes to the loop's descriptor, then marks it done, and the woken loop
 * spins (pause, then sched_yield) while the handle is busy. A SCHED_FIFO
 * worker (rt_priority) woken by that write preempts a poster on its CPU,
 * and sched_yield lets no normal thread in: the worker spun until the
 * kernel's real-time throttling stopped it, most of a second per command.
 *
 * Here the poster queues its work first, then writes; the loop reads the
 * counter first, then drains the queue, so no post is missed and nobody
 * waits for anybody. The descriptor belongs to whoever can tell that no
 * thread will post any more: md_wake_close() stops the watch from the
 * loop's thread, md_wake_free() closes the descriptor afterwards (after
 * the posting threads are joined, or the loop's own thread is).
 */
#ifndef MD_WAKE_H
#define MD_WAKE_H

#include <uv.h>

typedef struct md_wake_s md_wake_t;
typedef void (*md_wake_cb)(md_wake_t *wk);

struct md_wake_s {
    /* read-only once made */
    int fd;
    md_wake_cb cb;
    void *data;
    /* private: the loop's thread */
    uv_poll_t poll;
};

/* 0, or a negative errno (the descriptor, or libuv's watch, failed). */
int md_wake_init(uv_loop_t *loop, md_wake_t *wk, md_wake_cb cb, void *data);
/* Any thread; never blocks. */
void md_wake_send(md_wake_t *wk);
/* The loop's thread: stop watching (the handle closes with the loop). */
void md_wake_close(md_wake_t *wk);
/* Once no thread can post: close the descriptor. Safe on a zeroed or
 * never-made wake-up (fd -1). */
void md_wake_free(md_wake_t *wk);

#endif
