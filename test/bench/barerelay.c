/* barerelay: the machine's baseline for the media benchmark. A bare,
 * single-threaded UDP relay with the same job as one mediad worker and
 * nothing else: N port pairs, EXT port i <-> INT port i, latching on EXT,
 * fixed INT destination, epoll + recvmmsg + sendmmsg. No sessions, no
 * bus, no statistics, no SRTP: what is left is the kernel's cost.
 *
 *   barerelay EXT_IP INT_IP BASE_PORT N DEST_IP DEST_PORT SECONDS [THREADS]
 *
 * THREADS (default 1): that many threads, thread k pinned to the k-th CPU
 * the process may run on and relaying the k-th block of pairs: the
 * baseline for mediad with one worker per core. Runs for SECONDS, then
 * prints the packets it relayed and exits. */

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define SLOT 2048

typedef struct {
    int fd;
    int peer;              /* index of the paired socket */
    int latched;           /* dst is known */
    struct sockaddr_in dst;  /* where packets sent from this socket go */
} bsock_t;

static int bind_udp(const char *ip, int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), buf = 1 << 20;

    inet_pton(AF_INET, ip, &a.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        fprintf(stderr, "barerelay: bind %s:%d: %s\n", ip, port, strerror(errno));
        exit(1);
    }
    return fd;
}

typedef struct {
    bsock_t *s;
    int first, end, cpu, secs;    /* pairs [first, end) */
    unsigned long long relayed;   /* written once, at the end */
} relay_t;

static void *relay(void *arg)
{
    static __thread char bufs[BATCH][SLOT];
    relay_t *r = arg;
    bsock_t *s = r->s;
    struct mmsghdr in[BATCH], out[BATCH];
    struct iovec iov[BATCH], oiov[BATCH];
    struct sockaddr_in src[BATCH];
    struct epoll_event ev, evs[64];
    struct timespec t0, t;
    unsigned long long relayed = 0;
    int ep = epoll_create1(0);

    if (r->cpu >= 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(r->cpu, &one);
        pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    }
    for (int i = r->first; i < r->end; i++)
        for (int k = 0; k < 2; k++) {
            ev.events = EPOLLIN;
            ev.data.u32 = (uint32_t)(2 * i + k);
            epoll_ctl(ep, EPOLL_CTL_ADD, s[2 * i + k].fd, &ev);
        }
    for (int k = 0; k < BATCH; k++) {
        iov[k].iov_base = bufs[k];
        iov[k].iov_len = SLOT;
        memset(&in[k], 0, sizeof in[k]);
        in[k].msg_hdr.msg_iov = &iov[k];
        in[k].msg_hdr.msg_iovlen = 1;
        in[k].msg_hdr.msg_name = &src[k];
        in[k].msg_hdr.msg_namelen = sizeof src[k];
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int ne = epoll_wait(ep, evs, 64, 100);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec >= r->secs)
            break;
        for (int e = 0; e < ne; e++) {
            unsigned idx = evs[e].data.u32;
            bsock_t *from = &s[idx], *to = &s[from->peer];
            const struct sockaddr_in *dst;
            int got;

            for (int k = 0; k < BATCH; k++)
                in[k].msg_hdr.msg_namelen = sizeof src[k];
            got = recvmmsg(from->fd, in, BATCH, MSG_DONTWAIT, NULL);
            if (got <= 0)
                continue;
            if (!(idx & 1)) {            /* from EXT: latch the party */
                from->dst = src[got - 1];
                from->latched = 1;
            }
            if (!to->latched)
                continue;
            dst = &to->dst;
            for (int k = 0; k < got; k++) {
                oiov[k].iov_base = bufs[k];
                oiov[k].iov_len = in[k].msg_len;
                memset(&out[k], 0, sizeof out[k]);
                out[k].msg_hdr.msg_iov = &oiov[k];
                out[k].msg_hdr.msg_iovlen = 1;
                out[k].msg_hdr.msg_name = (void *)dst;
                out[k].msg_hdr.msg_namelen = sizeof *dst;
            }
            int sent = sendmmsg(to->fd, out, (unsigned)got, MSG_DONTWAIT);
            if (sent > 0)
                relayed += (unsigned)sent;
        }
    }
    close(ep);
    r->relayed = relayed;
    return NULL;
}

int main(int argc, char **argv)
{
    relay_t r[64];
    pthread_t th[64];
    unsigned long long relayed = 0;
    cpu_set_t allowed;
    int cpus[CPU_SETSIZE], ncpu = 0;
    bsock_t *s;
    int n, threads;

    if (argc != 8 && argc != 9) {
        fprintf(stderr, "usage: barerelay EXT_IP INT_IP BASE N DEST_IP DEST_PORT SECONDS [THREADS]\n");
        return 2;
    }
    n = atoi(argv[4]);
    threads = argc == 9 ? atoi(argv[8]) : 1;
    if (threads < 1 || threads > 64) {
        fprintf(stderr, "barerelay: THREADS 1..64\n");
        return 2;
    }
    s = calloc(2 * (size_t)n, sizeof *s);
    for (int i = 0; i < n; i++) {
        bsock_t *e = &s[2 * i], *in_ = &s[2 * i + 1];
        e->fd = bind_udp(argv[1], atoi(argv[3]) + 2 * i);
        in_->fd = bind_udp(argv[2], atoi(argv[3]) + 2 * i);
        e->peer = 2 * i + 1;
        in_->peer = 2 * i;
        /* EXT sockets send to what they latch; INT ones to the platform. */
        in_->dst.sin_family = AF_INET;
        in_->dst.sin_port = htons(atoi(argv[6]));
        inet_pton(AF_INET, argv[5], &in_->dst.sin_addr);
        in_->latched = 1;
        e->latched = 0;
    }
    sched_getaffinity(0, sizeof allowed, &allowed);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &allowed))
            cpus[ncpu++] = c;
    printf("barerelay: ready\n");
    fflush(stdout);
    for (int k = 0; k < threads; k++) {
        /* A block of pairs each, so that no two threads write one line. */
        r[k] = (relay_t){ s, (int)((long)n * k / threads), (int)((long)n * (k + 1) / threads),
                          threads > 1 ? cpus[k % ncpu] : -1, atoi(argv[7]), 0 };
        if (pthread_create(&th[k], NULL, relay, &r[k]) != 0) {
            fprintf(stderr, "barerelay: cannot start thread %d\n", k);
            return 1;
        }
    }
    for (int k = 0; k < threads; k++) {
        pthread_join(th[k], NULL);
        relayed += r[k].relayed;
    }
    printf("barerelay: relayed %llu\n", relayed);
    return 0;
}
