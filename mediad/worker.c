/* Worker threads: see worker.h. */
#include "worker.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_MS 1000

static void on_wake(md_wake_t *wk)
{
    md_worker_t *w = wk->data;
    md_cmd_t *cmd;

    for (;;) {
        pthread_mutex_lock(&w->lock);
        cmd = w->head;
        if (cmd) {
            w->head = cmd->next;
            if (w->head == NULL)
                w->tail = NULL;
        }
        pthread_mutex_unlock(&w->lock);
        if (cmd == NULL)
            break;
        md_control_exec(w, cmd);
    }
}

static void publish(md_worker_t *w)
{
    __atomic_store_n(&w->published.packets_relayed, w->totals.packets_relayed,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&w->published.bytes_relayed, w->totals.bytes_relayed,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&w->published.packets_dropped, w->totals.packets_dropped,
                     __ATOMIC_RELAXED);
    for (unsigned i = 0; i < GW_DELAY_BUCKETS; i++)
        __atomic_store_n(&w->delay_published[i], w->delay[i], __ATOMIC_RELAXED);
}

/* 1 when some leg that has a party has been silent longer than allowed. */
static int silent(md_worker_t *w, md_session_t *s, uint64_t now)
{
    md_t *md = w->md;
    int hold = 0;
    uint64_t limit;

    for (unsigned i = 0; i < 2 * s->nstreams; i++)
        hold |= s->legs[i].hold;
    limit = (uint64_t)(hold ? md->cfg.hold_timeout : md->cfg.timeout) * 1000;
    for (unsigned i = 0; i < 2 * s->nstreams; i++) {
        const md_leg_t *leg = &s->legs[i];
        uint64_t last = leg->st.last_ms > s->created_ms ? leg->st.last_ms
                                                        : s->created_ms;
        if (!leg->has_remote && !leg->rtp_latched)
            continue;   /* no party on this leg (disabled stream) */
        if (now - last > limit)
            return 1;
    }
    return 0;
}

static void on_sweep(uv_timer_t *t)
{
    md_worker_t *w = t->data;
    uint64_t now = uv_now(&w->loop);

    publish(w);
    for (md_session_t *s = w->sessions; s; s = s->wnext) {
        if (!silent(w, s, now)) {
            s->timeout_sent = 0;
            continue;
        }
        if (s->timeout_sent)
            continue;
        md_cmd_t *ev = calloc(1, sizeof *ev);
        if (ev == NULL)
            continue;
        s->timeout_sent = 1;
        ev->kind = MD_CMD_EVENT;
        ev->sess = s;
        md_session_ref(s);
        md_worker_done(w->md, ev);
    }
}

static void close_cb(uv_handle_t *h)
{
    (void)h;
}

/* MD_CMD_STOP lands here (from control.c's exec). */
static void worker_stop(md_worker_t *w)
{
    while (w->sessions)
        md_session_close(w->sessions);
    md_wake_close(&w->wake);
    uv_close((uv_handle_t *)&w->sweep, close_cb);
}

static void run(void *arg)
{
    md_worker_t *w = arg;

    uv_run(&w->loop, UV_RUN_DEFAULT);
    publish(w);
}

void md_mutex_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;

    pthread_mutexattr_init(&a);
    /* Cannot fail on Linux (ENOTSUP only without PI futexes). */
    pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
}

/* Makes worker i and starts its thread; on failure undoes what it made. */
static int worker_start(md_t *md, md_worker_t *w, unsigned i)
{
    char name[16];
    int rc;

    w->md = md;
    w->index = i;
    w->sq.fd = -1;
    w->wake.fd = -1;
    w->rxbuf = malloc(sizeof *w->rxbuf * MD_RECV_SLOTS);
    if (w->rxbuf == NULL)
        return -ENOMEM;
    rc = uv_loop_init(&w->loop);
    if (rc < 0) {
        free(w->rxbuf);
        return rc;
    }
    for (unsigned k = 0; k < MD_RECV_SLOTS; k++) {
        w->rx_iov[k].iov_base = w->rxbuf[k];
        /* MD_MAX_PKT + 1: a datagram larger than a packet shows up
         * as MSG_TRUNC instead of fitting exactly. */
        w->rx_iov[k].iov_len = MD_MAX_PKT + 1;
        w->rx_msgs[k].msg_hdr.msg_iov = &w->rx_iov[k];
        w->rx_msgs[k].msg_hdr.msg_iovlen = 1;
        w->rx_msgs[k].msg_hdr.msg_name = &w->rx_addr[k];
        if (md->cfg.delay_stats)
            w->rx_msgs[k].msg_hdr.msg_control = w->rx_ctl[k].buf;
        md_relay_slot_reset(w, k);
    }
    md_mutex_init(&w->lock);
    uv_timer_init(&w->loop, &w->sweep);
    w->sweep.data = w;
    uv_timer_start(&w->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    rc = md_wake_init(&w->loop, &w->wake, on_wake, w);
    if (rc == 0)
        rc = uv_thread_create(&w->thread, run, w);
    if (rc < 0) {
        if (w->wake.fd >= 0)
            md_wake_close(&w->wake);
        uv_close((uv_handle_t *)&w->sweep, close_cb);
        uv_run(&w->loop, UV_RUN_NOWAIT);   /* the close callbacks */
        uv_loop_close(&w->loop);
        md_wake_free(&w->wake);
        pthread_mutex_destroy(&w->lock);
        free(w->rxbuf);
        return rc;
    }
    /* Named, so that top -H, ps -L and /proc tell them apart. */
    snprintf(name, sizeof name, "md-worker%u", (unsigned short)i);   /* workers <= 64 */
    pthread_setname_np(w->thread, name);
    return 0;
}

int md_workers_start(md_t *md, unsigned n)
{
    md->workers = calloc(n, sizeof *md->workers);
    if (md->workers == NULL)
        return -ENOMEM;
    md->nworkers = 0;   /* counts the started ones, which md_workers_stop stops */
    for (unsigned i = 0; i < n; i++) {
        int rc = worker_start(md, &md->workers[i], i);
        if (rc < 0)
            return rc;
        md->nworkers = i + 1;
    }
    return 0;
}

int md_cpus_resolve(const char *spec, int *cpus, char *err, size_t errlen)
{
    cpu_set_t allowed;
    int n = 0;

    if (sched_getaffinity(0, sizeof allowed, &allowed) < 0) {
        int e = errno;
        snprintf(err, errlen, "sched_getaffinity: %s", strerror(e));
        return -e;
    }
    if (strcmp(spec, "auto") == 0) {
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &allowed))
                cpus[n++] = c;
        return n;
    }
    n = gw_cfg_cpu_list(spec, cpus, CPU_SETSIZE, err, errlen);
    if (n < 0) {
        snprintf(err, errlen, "'%s' is not 'auto' or a CPU list such as 0,2-3", spec);
        return n;
    }
    for (int k = 0; k < n; k++)
        if (!CPU_ISSET(cpus[k], &allowed)) {
            snprintf(err, errlen, "CPU %d is not one mediad may run on", cpus[k]);
            return -EINVAL;
        }
    return n;
}

int md_workers_pin(md_t *md, const int *cpus, int n, char *err, size_t errlen)
{
    for (unsigned i = 0; i < md->nworkers; i++) {
        int cpu = cpus[i % (unsigned)n];
        cpu_set_t one;
        int rc;

        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        rc = pthread_setaffinity_np(md->workers[i].thread, sizeof one, &one);
        if (rc != 0) {
            snprintf(err, errlen, "pthread_setaffinity_np(CPU %d): %s", cpu, strerror(rc));
            return -rc;
        }
    }
    return 0;
}

int md_workers_set_rt(md_t *md, int prio)
{
    struct sched_param sp = { .sched_priority = prio };

    for (unsigned i = 0; i < md->nworkers; i++) {
        int rc = pthread_setschedparam(md->workers[i].thread, SCHED_FIFO, &sp);
        if (rc != 0)
            return -rc;
    }
    return 0;
}

void md_workers_stop(md_t *md)
{
    for (unsigned i = 0; i < md->nworkers; i++) {
        md_cmd_t *stop = calloc(1, sizeof *stop);
        if (stop == NULL)
            abort();   /* shutting down without memory: nothing better */
        stop->kind = MD_CMD_STOP;
        md_worker_post(&md->workers[i], stop);
    }
    for (unsigned i = 0; i < md->nworkers; i++) {
        md_worker_t *w = &md->workers[i];
        uv_thread_join(&w->thread);
        uv_loop_close(&w->loop);
        md_wake_free(&w->wake);   /* its poster, the main thread, is here */
        pthread_mutex_destroy(&w->lock);
        free(w->rxbuf);
    }
    free(md->workers);
    md->workers = NULL;
    md->nworkers = 0;
}

void md_worker_post(md_worker_t *w, md_cmd_t *cmd)
{
    cmd->next = NULL;
    pthread_mutex_lock(&w->lock);
    if (w->tail)
        w->tail->next = cmd;
    else
        w->head = cmd;
    w->tail = cmd;
    pthread_mutex_unlock(&w->lock);
    md_wake_send(&w->wake);
}

void md_worker_done(md_t *md, md_cmd_t *cmd)
{
    cmd->next = NULL;
    pthread_mutex_lock(&md->done_lock);
    if (md->done_tail)
        md->done_tail->next = cmd;
    else
        md->done_head = cmd;
    md->done_tail = cmd;
    pthread_mutex_unlock(&md->done_lock);
    md_wake_send(&md->done_wake);
}

void md_worker_attach(md_worker_t *w, md_session_t *s)
{
    if ((s->wnext = w->sessions))
        w->sessions->wprev = &s->wnext;
    s->wprev = &w->sessions;
    w->sessions = s;
}

void md_worker_detach(md_worker_t *w, md_session_t *s)
{
    (void)w;
    if (s->wprev == NULL)
        return;
    if ((*s->wprev = s->wnext))
        s->wnext->wprev = s->wprev;
    s->wprev = NULL;
    s->wnext = NULL;
}

md_totals_t md_workers_totals(md_t *md)
{
    md_totals_t t = { 0, 0, 0 };

    for (unsigned i = 0; i < md->nworkers; i++) {
        md_worker_t *w = &md->workers[i];
        t.packets_relayed += __atomic_load_n(&w->published.packets_relayed,
                                             __ATOMIC_RELAXED);
        t.bytes_relayed += __atomic_load_n(&w->published.bytes_relayed,
                                           __ATOMIC_RELAXED);
        t.packets_dropped += __atomic_load_n(&w->published.packets_dropped,
                                             __ATOMIC_RELAXED);
    }
    return t;
}

void md_workers_delay(md_t *md, uint64_t *hist)
{
    memset(hist, 0, sizeof *hist * GW_DELAY_BUCKETS);
    for (unsigned i = 0; i < md->nworkers; i++)
        for (unsigned k = 0; k < GW_DELAY_BUCKETS; k++)
            hist[k] += __atomic_load_n(&md->workers[i].delay_published[k],
                                       __ATOMIC_RELAXED);
}

md_worker_t *md_worker_pick(md_t *md)
{
    md_worker_t *best = &md->workers[0];

    for (unsigned i = 1; i < md->nworkers; i++)
        if (md->workers[i].assigned < best->assigned)
            best = &md->workers[i];
    return best;
}

void md_worker__stop(md_worker_t *w)
{
    worker_stop(w);
}
