/* Worker threads: one libuv loop each, owning the sockets, packet path and
 * timers of the sessions assigned to it.
 *
 * The main thread talks to a worker only through commands: it appends a
 * md_cmd_t to the worker's queue (mutex) and wakes it (md_wake_t); the
 * worker executes it (control.c) and appends it to the main thread's done
 * queue, whose wake-up rouses the main loop to send the bus reply.
 * Media-timeout events travel the same way.
 */
#ifndef MD_WORKER_H
#define MD_WORKER_H

#include <sys/socket.h>

#include "session.h"

#define MD_SEND_BATCH 32
#define MD_RECV_SLOTS 32          /* datagrams per recvmmsg */
#define MD_MAX_PKT 8192           /* larger datagrams are not media */
/* A receive slot: the largest packet plus room for the SRTP trailer that
 * protect() appends in place. */
#define MD_SLOT (MD_MAX_PKT + 128)

typedef enum {
    MD_CMD_OFFER,
    MD_CMD_ANSWER,
    MD_CMD_DELETE,
    MD_CMD_QUERY,
    MD_CMD_EVENT,                 /* worker -> main: media timeout */
    MD_CMD_STOP
} md_cmd_kind_t;

/* A MediaReply with all its storage, filled by the worker. */
typedef struct {
    Gw__MediaReply r;
    Gw__StreamReply streams[MD_MAX_STREAMS];
    Gw__StreamReply *stream_ptrs[MD_MAX_STREAMS];
    Gw__Endpoint ep[MD_MAX_STREAMS][2];
    Gw__Crypto crypto[MD_MAX_STREAMS][2];
    Gw__Crypto *crypto_ptrs[MD_MAX_STREAMS][2];
    char keys[MD_MAX_STREAMS][2][MD_KEY_B64_LEN];
    Gw__LegStats legs[MD_MAX_STREAMS][2];
    Gw__LegStats *leg_ptrs[MD_MAX_STREAMS][2];
    char remote[MD_MAX_STREAMS][2][64];
    char error[128];
} md_reply_t;

struct md_cmd_s {
    md_cmd_kind_t kind;
    md_session_t *sess;           /* referenced */
    int create;                   /* an offer that creates the session */
    int quiet;                    /* no bus reply (purge) */
    char peer[GW_BUS_PEERLEN];    /* who asked, for the reply */
    uint64_t request_id;
    void *msg;                    /* unpacked private copy of the request */
    md_reply_t reply;             /* filled by the worker */
    int rc;
    md_cmd_t *next;
};

typedef struct {
    int fd;
    unsigned n;
    struct mmsghdr msgs[MD_SEND_BATCH];
    struct iovec iov[MD_SEND_BATCH];
    md_leg_t *legs[MD_SEND_BATCH];
    uint64_t rx_ns[MD_SEND_BATCH];   /* kernel receive time; 0 = none */
} md_sendq_t;

/* Room for one SO_TIMESTAMPNS control message. */
typedef union {
    char buf[CMSG_SPACE(sizeof(struct timespec))];
    struct cmsghdr align;
} md_rxctl_t;

struct md_worker_s {
    /* read-only */
    md_t *md;
    unsigned index;
    unsigned assigned;            /* sessions given to it (main thread) */
    md_totals_t published;        /* totals as of the last sweep (atomic) */
    uint64_t delay_published[GW_DELAY_BUCKETS];   /* the same (atomic) */
    /* private: worker thread */
    uv_loop_t loop;
    uv_thread_t thread;
    md_wake_t wake;
    uv_timer_t sweep;
    md_totals_t totals;
    md_session_t *sessions;
    uint8_t (*rxbuf)[MD_SLOT];    /* MD_RECV_SLOTS receive slots */
    struct mmsghdr rx_msgs[MD_RECV_SLOTS];
    struct iovec rx_iov[MD_RECV_SLOTS];
    struct sockaddr_in6 rx_addr[MD_RECV_SLOTS];
    md_rxctl_t rx_ctl[MD_RECV_SLOTS];
    uint64_t rx_ns;               /* receive time of the packet in hand */
    uint64_t delay[GW_DELAY_BUCKETS];   /* relay delay histogram */
    md_sendq_t sq;
    /* shared, under lock */
    pthread_mutex_t lock;
    md_cmd_t *head, *tail;
};

int md_workers_start(md_t *md, unsigned n);
/* Puts every worker thread under SCHED_FIFO at `prio` (the directive
 * allows 1-98: 99 is the kernel's watchdog and migration level); the main
 * thread (bus, control) keeps normal scheduling. Returns 0 or -errno
 * (-EPERM without CAP_SYS_NICE or a high enough RLIMIT_RTPRIO). */
int md_workers_set_rt(md_t *md, int prio);
/* The CPUs `spec` names ("auto": those the process may run on; or a list
 * such as "0,2-3"), into cpus[CPU_SETSIZE]. Returns the count, or -EINVAL
 * (-errno) with the reason in err: a bad list, a CPU this process may not
 * use. */
int md_cpus_resolve(const char *spec, int *cpus, char *err, size_t errlen);
/* Pins worker i to cpus[i % n]. Returns 0 or -errno with err set. */
int md_workers_pin(md_t *md, const int *cpus, int n, char *err, size_t errlen);
/* Stops every worker (their sessions are closed) and joins the threads. */
void md_workers_stop(md_t *md);
/* Main thread: queue a command for a worker. */
void md_worker_post(md_worker_t *w, md_cmd_t *cmd);
/* Worker thread: hand a finished command (or an event) to the main thread. */
void md_worker_done(md_t *md, md_cmd_t *cmd);
/* Worker thread: keep a session in the worker's list (timeouts, stop). */
void md_worker_attach(md_worker_t *w, md_session_t *s);
void md_worker_detach(md_worker_t *w, md_session_t *s);
/* Sum of the published totals of all workers. */
md_totals_t md_workers_totals(md_t *md);
/* Sum of the published delay histograms into hist[GW_DELAY_BUCKETS]. */
void md_workers_delay(md_t *md, uint64_t *hist);
/* The worker with the fewest sessions. */
md_worker_t *md_worker_pick(md_t *md);

/* Worker thread: closes every session and the worker's handles, so that
 * its loop ends (MD_CMD_STOP). */
void md_worker__stop(md_worker_t *w);

/* control.c: executes a command in the worker thread. */
void md_control_exec(md_worker_t *w, md_cmd_t *cmd);

/* relay.c: sends what the packet path queued. */
void md_relay_flush(md_worker_t *w);
/* relay.c: the decision for one datagram that arrived on `leg` (its RTP
 * port, or its RTCP port when on_rtcp_port). `p` must have room for the
 * SRTP trailer after len. Exposed for the fuzz target. */
void md_relay__handle(md_worker_t *w, md_leg_t *leg, int on_rtcp_port, uint8_t *p,
                      int len, const struct sockaddr *src);

/* A receive slot's lengths, as recvmmsg expects them before a call. */
static inline void md_relay_slot_reset(md_worker_t *w, unsigned k)
{
    w->rx_msgs[k].msg_hdr.msg_namelen = sizeof w->rx_addr[k];
    if (w->rx_msgs[k].msg_hdr.msg_control != NULL)
        w->rx_msgs[k].msg_hdr.msg_controllen = sizeof w->rx_ctl[k];
}

#endif
