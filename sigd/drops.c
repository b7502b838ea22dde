/* Dropped messages: counters and rate-limited logs (see drops.h).
 *
 * One entry per (reason, source) that dropped something in the current
 * period, in a chained hash bounded by SIG_DROP_MAX_SOURCES; past that,
 * one shared entry per reason stands for every other source, so that a
 * flood from many addresses still gives one line per reason per period.
 * An entry holds when its period began, how many drops it has not logged
 * yet and the last one's details. A timer runs the summaries every
 * second: an entry whose period is over is logged when it has pending
 * drops (and starts a new period), forgotten when it has none. The cost
 * per drop is one hash lookup and, for the first drop of a source, one
 * allocation: no formatting unless the line is written.
 */
#include "drops.h"
#include "nodes.h"
#include "sigd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_protos.h>

#include "hash.h"
#include "net.h"

#define DROP_BUCKETS 1024       /* power of two */
#define DROP_TICK_MS 1000
#define DROP_SRC_LEN 48         /* an IPv6 literal, or "other sources" */
#define DROP_DETAIL_LEN 160
#define DROP_OTHERS "other sources"

typedef struct sig_drop_entry_s sig_drop_entry_t;

struct sig_drop_entry_s {
    sig_drop_entry_t *next;
    sig_drop_reason_t reason;
    char src[DROP_SRC_LEN];
    int64_t period_start;       /* ms: the last line about this entry */
    uint64_t pending;           /* drops since then, not logged yet */
    char last[DROP_DETAIL_LEN]; /* the last pending drop's details */
};

struct sig_drops_s {
    sig_drop_entry_t *buckets[DROP_BUCKETS];
    sig_drop_entry_t others[SIG_DROP_NREASONS];   /* when the table is full */
    int others_live[SIG_DROP_NREASONS];
    unsigned nentries;
    uint64_t total[SIG_DROP_NREASONS];
    su_timer_t *timer;
};

static const char *const reason_names[] = {
#define SIG_DROP_NAME(id, name, help) name,
    SIG_DROP_REASONS(SIG_DROP_NAME)
#undef SIG_DROP_NAME
};

const char *sig_drop_name(sig_drop_reason_t r)
{
    return (unsigned)r < SIG_DROP_NREASONS ? reason_names[r] : NULL;
}

/* ---- bookkeeping ------------------------------------------------------ */

sig_drops_t *sig__drops_new(void)
{
    return calloc(1, sizeof(sig_drops_t));
}

void sig__drops_free(sig_drops_t *d)
{
    if (d == NULL)
        return;
    for (unsigned i = 0; i < DROP_BUCKETS; i++) {
        while (d->buckets[i]) {
            sig_drop_entry_t *e = d->buckets[i];
            d->buckets[i] = e->next;
            free(e);
        }
    }
    free(d);
}

uint64_t sig__drops_total(const sig_drops_t *d, sig_drop_reason_t r)
{
    return d && (unsigned)r < SIG_DROP_NREASONS ? d->total[r] : 0;
}

static unsigned bucket_of(sig_drop_reason_t r, const char *src)
{
    return (gw_hash_str(src) + (uint32_t)r * 2654435761u) & (DROP_BUCKETS - 1);
}

int sig__drops_note(sig_drops_t *d, sig_drop_reason_t r, const char *src,
                    int64_t now_ms, const char *detail)
{
    unsigned b;
    sig_drop_entry_t *e;

    if ((unsigned)r >= SIG_DROP_NREASONS)
        return 0;
    d->total[r]++;
    if (src == NULL || *src == '\0')
        src = "unknown source";
    b = bucket_of(r, src);
    for (e = d->buckets[b]; e; e = e->next)
        if (e->reason == r && strcmp(e->src, src) == 0)
            break;
    if (e == NULL && d->nentries < SIG_DROP_MAX_SOURCES &&
        (e = calloc(1, sizeof *e)) != NULL) {
        e->reason = r;
        snprintf(e->src, sizeof e->src, "%s", src);
        e->period_start = now_ms;
        e->next = d->buckets[b];
        d->buckets[b] = e;
        d->nentries++;
        return 1;
    }
    if (e == NULL) {
        /* Table full (or no memory): the shared line of this reason. */
        e = &d->others[r];
        if (!d->others_live[r]) {
            d->others_live[r] = 1;
            e->reason = r;
            snprintf(e->src, sizeof e->src, "%s", DROP_OTHERS);
            e->period_start = now_ms;
            e->pending = 0;
            return 1;
        }
    }
    e->pending++;
    if (detail)
        snprintf(e->last, sizeof e->last, "%s", detail);
    return 0;
}

/* 1 when e is to be forgotten. */
static int flush_one(sig_drop_entry_t *e, int64_t now_ms, int all,
                     sig__drop_emit_fn emit, void *arg)
{
    if (!all && now_ms - e->period_start < SIG_DROP_LOG_MS)
        return 0;
    if (e->pending == 0)
        return 1;
    emit(arg, e->reason, e->src, e->pending, now_ms - e->period_start, e->last);
    e->pending = 0;
    e->period_start = now_ms;
    return all;
}

void sig__drops_flush(sig_drops_t *d, int64_t now_ms, int all,
                      sig__drop_emit_fn emit, void *arg)
{
    for (unsigned i = 0; i < DROP_BUCKETS; i++) {
        sig_drop_entry_t **pe = &d->buckets[i];
        while (*pe) {
            sig_drop_entry_t *e = *pe;
            if (flush_one(e, now_ms, all, emit, arg)) {
                *pe = e->next;
                free(e);
                d->nentries--;
            } else {
                pe = &e->next;
            }
        }
    }
    for (unsigned r = 0; r < SIG_DROP_NREASONS; r++)
        if (d->others_live[r] && flush_one(&d->others[r], now_ms, all, emit, arg))
            d->others_live[r] = 0;
}

/* ---- the daemon's side ------------------------------------------------ */

static void emit_summary(void *arg, sig_drop_reason_t r, const char *src,
                         uint64_t more, int64_t period_ms, const char *last)
{
    (void)arg;
    gw_log(GW_LOG_WARN, NULL, "dropped %llu more request(s) from %s (%s) in the "
           "last %.1f s; last: %s", (unsigned long long)more, src, sig_drop_name(r),
           (double)period_ms / 1000.0, last[0] ? last : "-");
}

static void on_tick(sig_daemon_t *sig, su_timer_t *t, sig_daemon_t *arg)
{
    (void)t;
    (void)arg;
    sig__drops_flush(sig->drops, sig_now_ms(), 0, emit_summary, NULL);
}

static void drop_vlog(sig_daemon_t *sig, sig_drop_reason_t r, const char *src,
                      const char *call_id, const char *fmt, va_list ap)
{
    char detail[DROP_DETAIL_LEN];

    vsnprintf(detail, sizeof detail, fmt, ap);
    /* Before start and after stop every drop gets its line. */
    if (sig->drops == NULL || sig__drops_note(sig->drops, r, src, sig_now_ms(), detail))
        gw_log(GW_LOG_WARN, call_id, "dropped request from %s (%s): %s; further "
               "drops from it are counted and logged every %d s",
               src && *src ? src : "unknown source", sig_drop_name(r), detail,
               SIG_DROP_LOG_MS / 1000);
}

void sig_drop_log(sig_daemon_t *sig, sig_drop_reason_t r, const char *src,
                  const char *call_id, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    drop_vlog(sig, r, src, call_id, fmt, ap);
    va_end(ap);
}

void sig_drop_msg(sig_daemon_t *sig, sig_drop_reason_t r, msg_t *msg,
                  const char *fmt, ...)
{
    su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
    sip_t *sip = msg ? sip_object(msg) : NULL;
    char ip[INET6_ADDRSTRLEN] = "";
    va_list ap;

    if (ai && ai->ai_addr)
        gw_addr_ip(ai->ai_addr, ip, sizeof ip);
    va_start(ap, fmt);
    drop_vlog(sig, r, ip, sip && sip->sip_call_id ? sip->sip_call_id->i_id : NULL,
              fmt, ap);
    va_end(ap);
}

uint64_t sig_drop_total(const sig_daemon_t *sig, sig_drop_reason_t r)
{
    return sig__drops_total(sig->drops, r);
}

int sig_drops_start(sig_daemon_t *sig)
{
    sig->drops = sig__drops_new();
    if (sig->drops == NULL)
        return -ENOMEM;
    sig->drops->timer = su_timer_create(su_root_task(sig->root), DROP_TICK_MS);
    if (sig->drops->timer == NULL) {
        GW_ERR("drops: cannot create the summary timer");
        sig__drops_free(sig->drops);
        sig->drops = NULL;
        return -ENOMEM;
    }
    su_timer_set_for_ever(sig->drops->timer, on_tick, sig);
    return 0;
}

void sig_drops_stop(sig_daemon_t *sig)
{
    if (sig->drops == NULL)
        return;
    su_timer_destroy(sig->drops->timer);
    sig__drops_flush(sig->drops, sig_now_ms(), 1, emit_summary, NULL);
    sig__drops_free(sig->drops);
    sig->drops = NULL;
}
