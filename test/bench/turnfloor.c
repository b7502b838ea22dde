/* turnfloor: the floor of a TURN relay built on one UDP socket per
 * allocation, for bench-turnd.sh. It relays ChannelData with the system
 * calls turnd makes and nothing else: epoll_wait(); one recvmmsg() of the
 * listener per wake-up (turnd reads once per wake-up too); a sendto() on
 * the allocation's relay socket per packet towards the peer; one
 * recvfrom() per readable relay socket; the packets towards clients
 * batched into one sendmmsg() of the listener per wake-up. No libuv, no
 * permission, bandwidth or lifetime checks, no counters: what is left of
 * a relay's CPU per packet once its own code costs nothing, i.e. the
 * kernel's share, which any relay of this design pays.
 *
 * With `uring` the same work goes through one io_uring instead: the
 * sends to peers of a listener read and the reads of the readable relay
 * sockets of a wake-up are queued and submitted together, one
 * io_uring_enter() per wake-up in place of a system call per packet
 * (epoll and the batched listener calls stay). It tells how much of the
 * floor is the cost of the system calls themselves.
 *
 *   turnfloor IP PORT RELAY_PORT [uring]
 *
 * Control: enough STUN for turnload's relay mode and no more. An Allocate
 * without MESSAGE-INTEGRITY gets 401 with a realm and a nonce; one with it
 * gets a relay socket on IP, on the next free port from RELAY_PORT up
 * (away from the other servers' ranges), and 200, credentials unchecked; a
 * ChannelBind records the channel's peer and gets 200. A benchmark tool on
 * loopback, never a server: it checks no credential and refuses no peer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <liburing.h>

#define MAXA    4096        /* allocations */
#define NSLOT   16          /* listener datagrams per wake-up */
#define NOUT    256         /* datagrams to clients per wake-up */
#define PKTMAX  2048
#define HDR     4           /* ChannelData header */
#define LISTENER UINT32_MAX /* epoll tag of the listener */
#define TX_TAG   UINT64_MAX /* io_uring tag of a send to a peer */

typedef struct {
    struct sockaddr_in client, peer;
    int fd;
    uint16_t chan;          /* 0 until ChannelBind */
} alloc_t;

static alloc_t al[MAXA];
static unsigned nal;
static int lfd, ep;
static struct sockaddr_in relay_ip;
static unsigned relay_port, relay_next;

/* Datagrams from clients (one listener read) and to clients (one
 * wake-up's relay reads, sent with one sendmmsg()). */
static uint8_t in[NSLOT][PKTMAX], out[NOUT][PKTMAX];
static struct mmsghdr im[NSLOT], om[NOUT];
static struct iovec iiov[NSLOT], oiov[NOUT];
static struct sockaddr_in ifrom[NSLOT], oto[NOUT];
static unsigned nout;

/* io_uring mode: the queued sends to peers and reads of relay sockets. */
static int uring;
static struct io_uring ring;
static struct msghdr txh[NSLOT], rxh[NOUT];
static struct iovec txv[NSLOT], rxv[NOUT];
static struct sockaddr_in rxfrom[NOUT];
static unsigned ntx, queued;

/* Allocations by client address: open addressing, twice the capacity. */
static int byclient[2 * MAXA];

static unsigned slot_of(const struct sockaddr_in *a)
{
    uint64_t k = (uint64_t)a->sin_addr.s_addr << 16 | a->sin_port;

    return (unsigned)((k * 0x9E3779B97F4A7C15ull) >> 40) % (2 * MAXA);
}

static alloc_t *find(const struct sockaddr_in *a)
{
    for (unsigned i = slot_of(a);; i = (i + 1) % (2 * MAXA)) {
        alloc_t *x;

        if (byclient[i] == 0)
            return NULL;
        x = &al[byclient[i] - 1];
        if (x->client.sin_addr.s_addr == a->sin_addr.s_addr &&
            x->client.sin_port == a->sin_port)
            return x;
    }
}

/* Attribute of type t in a STUN message, or NULL. */
static const uint8_t *attr(const uint8_t *m, size_t len, uint16_t t, size_t *alen)
{
    size_t off = 20;

    while (off + 4 <= len) {
        uint16_t at = (uint16_t)(m[off] << 8 | m[off + 1]);
        size_t n = (size_t)(m[off + 2] << 8 | m[off + 3]);

        if (off + 4 + n > len)
            return NULL;
        if (at == t) {
            *alen = n;
            return m + off + 4;
        }
        off += 4 + ((n + 3) & ~(size_t)3);
    }
    return NULL;
}

static size_t put(uint8_t *p, uint16_t t, const void *v, size_t n)
{
    p[0] = (uint8_t)(t >> 8); p[1] = (uint8_t)t;
    p[2] = (uint8_t)(n >> 8); p[3] = (uint8_t)n;
    memcpy(p + 4, v, n);
    memset(p + 4 + n, 0, (4 - n % 4) % 4);
    return 4 + ((n + 3) & ~(size_t)3);
}

/* The answer to the request m: success, or 401 when `challenge`. */
static void answer(const uint8_t *m, const struct sockaddr_in *to, int challenge)
{
    static const uint8_t err401[] = { 0, 0, 4, 1, 'U', 'n', 'a', 'u', 't', 'h' };
    uint8_t r[128];
    size_t off = 20;
    uint16_t type = (uint16_t)((m[0] << 8 | m[1]) | (challenge ? 0x0110 : 0x0100));

    r[0] = (uint8_t)(type >> 8); r[1] = (uint8_t)type;
    memcpy(r + 4, m + 4, 16);   /* cookie and transaction id */
    if (challenge) {
        off += put(r + off, 0x0009, err401, sizeof err401);
        off += put(r + off, 0x0014, "gw", 2);
        off += put(r + off, 0x0015, "floor", 5);
    }
    r[2] = (uint8_t)((off - 20) >> 8); r[3] = (uint8_t)(off - 20);
    sendto(lfd, r, off, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof *to);
}

static void allocate(const uint8_t *m, size_t len, const struct sockaddr_in *from)
{
    size_t n;
    alloc_t *a = find(from);
    struct epoll_event ev = { .events = EPOLLIN };
    unsigned i;

    if (attr(m, len, 0x0008, &n) == NULL) {
        answer(m, from, 1);
        return;
    }
    if (a == NULL) {
        if (nal == MAXA)
            return;
        a = &al[nal];
        a->client = *from;
        a->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        do
            relay_ip.sin_port = htons((uint16_t)(relay_port + relay_next++ % MAXA));
        while (a->fd >= 0 && bind(a->fd, (struct sockaddr *)&relay_ip, sizeof relay_ip) < 0 &&
               errno == EADDRINUSE && relay_next < 2 * MAXA);
        if (a->fd < 0 || getsockname(a->fd, (struct sockaddr *)&relay_ip,
                                     &(socklen_t){ sizeof relay_ip }) < 0 ||
            relay_ip.sin_port == 0) {
            perror("turnfloor: relay socket");
            exit(1);
        }
        ev.data.u32 = nal;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, a->fd, &ev) < 0) {
            perror("turnfloor: epoll_ctl");
            exit(1);
        }
        for (i = slot_of(from); byclient[i] != 0; i = (i + 1) % (2 * MAXA))
            ;
        byclient[i] = (int)++nal;
    }
    answer(m, from, 0);
}

static void channel_bind(const uint8_t *m, size_t len, const struct sockaddr_in *from)
{
    alloc_t *a = find(from);
    const uint8_t *num, *xpa;
    size_t n1, n2;

    num = attr(m, len, 0x000C, &n1);
    xpa = attr(m, len, 0x0012, &n2);
    if (a == NULL || num == NULL || n1 < 2 || xpa == NULL || n2 < 8 || xpa[1] != 1)
        return;
    a->chan = (uint16_t)(num[0] << 8 | num[1]);
    a->peer.sin_family = AF_INET;
    a->peer.sin_port = htons((uint16_t)((xpa[2] << 8 | xpa[3]) ^ 0x2112));
    memcpy(&a->peer.sin_addr, xpa + 4, 4);
    a->peer.sin_addr.s_addr ^= htonl(0x2112A442u);
    answer(m, from, 0);
}

/* A ChannelData payload to the allocation's peer; in io_uring mode the
 * datagram stays in the listener's slot until the wake-up's submission. */
static void to_peer(alloc_t *a, const uint8_t *data, size_t len)
{
    struct io_uring_sqe *q;

    if (!uring) {
        sendto(a->fd, data, len, MSG_DONTWAIT, (const struct sockaddr *)&a->peer,
               sizeof a->peer);
        return;
    }
    q = io_uring_get_sqe(&ring);
    txv[ntx] = (struct iovec){ (void *)data, len };
    txh[ntx] = (struct msghdr){ .msg_name = &a->peer, .msg_namelen = sizeof a->peer,
                                .msg_iov = &txv[ntx], .msg_iovlen = 1 };
    io_uring_prep_sendmsg(q, a->fd, &txh[ntx], MSG_DONTWAIT);
    io_uring_sqe_set_data64(q, TX_TAG);
    ntx++;
    queued++;
}

static void chan_header(unsigned slot, const alloc_t *a, size_t len)
{
    out[slot][0] = (uint8_t)(a->chan >> 8);
    out[slot][1] = (uint8_t)a->chan;
    out[slot][2] = (uint8_t)(len >> 8);
    out[slot][3] = (uint8_t)len;
    oiov[slot].iov_len = len + HDR;
    oto[slot] = a->client;
}

/* A relay socket is readable: its datagram to the client, in slot nout.
 * The sender's address is read too, as a relay needs it to check the
 * permission. */
static void from_peer(alloc_t *a)
{
    struct io_uring_sqe *q;

    if (nout == NOUT)
        return;   /* level-triggered: read on the next wake-up */
    if (a->chan == 0) {   /* no channel yet: dropped */
        recv(a->fd, out[nout], PKTMAX, MSG_DONTWAIT);
        return;
    }
    if (!uring) {
        struct sockaddr_in pf;
        socklen_t pl = sizeof pf;
        ssize_t r = recvfrom(a->fd, out[nout] + HDR, PKTMAX - HDR, MSG_DONTWAIT,
                             (struct sockaddr *)&pf, &pl);

        if (r >= 0)
            chan_header(nout++, a, (size_t)r);
        return;
    }
    q = io_uring_get_sqe(&ring);
    rxv[nout] = (struct iovec){ out[nout] + HDR, PKTMAX - HDR };
    rxh[nout] = (struct msghdr){ .msg_name = &rxfrom[nout], .msg_namelen = sizeof rxfrom[nout],
                                 .msg_iov = &rxv[nout], .msg_iovlen = 1 };
    io_uring_prep_recvmsg(q, a->fd, &rxh[nout], MSG_DONTWAIT);
    io_uring_sqe_set_data64(q, nout);
    chan_header(nout++, a, 0);   /* the length once it is known */
    queued++;
}

/* End of a wake-up: in io_uring mode submit what is queued and wait for
 * it (UDP sends and reads of readable sockets complete at once), then the
 * datagrams to clients in one system call. */
static void flush(void)
{
    if (queued > 0) {
        struct io_uring_cqe *c;
        unsigned head, seen = 0, keep = 0;

        io_uring_submit_and_wait(&ring, queued);
        io_uring_for_each_cqe(&ring, head, c) {
            uint64_t slot = io_uring_cqe_get_data64(c);

            seen++;
            if (slot == TX_TAG)
                continue;
            out[slot][2] = (uint8_t)(c->res >> 8);
            out[slot][3] = (uint8_t)c->res;
            oiov[slot].iov_len = c->res >= 0 ? (size_t)c->res + HDR : 0;
        }
        io_uring_cq_advance(&ring, seen);
        queued = ntx = 0;
        for (unsigned i = 0; i < nout; i++) {   /* drop failed reads */
            if (oiov[i].iov_len == 0)
                continue;
            if (keep != i) {
                memcpy(out[keep], out[i], oiov[i].iov_len);
                oiov[keep].iov_len = oiov[i].iov_len;
                oto[keep] = oto[i];
            }
            keep++;
        }
        nout = keep;
    }
    if (nout == 1)
        sendto(lfd, out[0], oiov[0].iov_len, MSG_DONTWAIT, (struct sockaddr *)&oto[0],
               sizeof oto[0]);
    else if (nout > 1)
        sendmmsg(lfd, om, nout, MSG_DONTWAIT);
    nout = 0;
}

static void from_client(const uint8_t *m, size_t len, const struct sockaddr_in *from)
{
    alloc_t *a;

    if (len >= HDR && (m[0] & 0xC0) == 0x40) {
        a = find(from);
        if (a != NULL && a->chan == (uint16_t)(m[0] << 8 | m[1]))
            to_peer(a, m + HDR, len - HDR);
        return;
    }
    if (len < 20 || (m[0] & 0xC0) != 0)
        return;
    switch (m[0] << 8 | m[1]) {
    case 0x0003: allocate(m, len, from); break;
    case 0x0009: channel_bind(m, len, from); break;
    default: break;
    }
}

int main(int argc, char **argv)
{
    struct epoll_event evs[256], ev = { .events = EPOLLIN, .data.u32 = LISTENER };
    struct sockaddr_in lis = { .sin_family = AF_INET };
    int rcvbuf = 4 << 20;

    if (argc < 4 || argc > 5 || inet_pton(AF_INET, argv[1], &lis.sin_addr) != 1 ||
        (relay_port = (unsigned)atoi(argv[3])) < 1024 || relay_port > 65535 - MAXA ||
        (argc == 5 && strcmp(argv[4], "uring") != 0)) {
        fprintf(stderr, "usage: turnfloor IP PORT RELAY_PORT (1024-%d) [uring]\n",
                65535 - MAXA);
        return 2;
    }
    uring = argc == 5;
    if (uring) {
        int rc = io_uring_queue_init(2 * (NSLOT + NOUT), &ring, 0);

        if (rc < 0) {
            fprintf(stderr, "turnfloor: io_uring_queue_init: %s\n", strerror(-rc));
            return 1;
        }
    }
    lis.sin_port = htons((uint16_t)atoi(argv[2]));
    relay_ip = lis;
    lfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    ep = epoll_create1(0);
    if (lfd < 0 || ep < 0 || bind(lfd, (struct sockaddr *)&lis, sizeof lis) < 0 ||
        epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
        perror("turnfloor: listener");
        return 1;
    }
    setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    for (int i = 0; i < NSLOT; i++) {
        iiov[i] = (struct iovec){ in[i], PKTMAX };
        im[i].msg_hdr.msg_iov = &iiov[i];
        im[i].msg_hdr.msg_iovlen = 1;
        im[i].msg_hdr.msg_name = &ifrom[i];
    }
    for (int i = 0; i < NOUT; i++) {
        oiov[i].iov_base = out[i];
        om[i].msg_hdr.msg_iov = &oiov[i];
        om[i].msg_hdr.msg_iovlen = 1;
        om[i].msg_hdr.msg_name = &oto[i];
        om[i].msg_hdr.msg_namelen = sizeof oto[i];
    }
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);

        if (n < 0 && errno != EINTR)
            return 1;
        for (int e = 0; e < n; e++) {
            uint32_t tag = evs[e].data.u32;
            int k;

            if (tag != LISTENER) {
                from_peer(&al[tag]);
                continue;
            }
            for (int i = 0; i < NSLOT; i++)
                im[i].msg_hdr.msg_namelen = sizeof ifrom[i];
            k = recvmmsg(lfd, im, NSLOT, MSG_DONTWAIT, NULL);
            for (int i = 0; i < k; i++)
                from_client(in[i], im[i].msg_len, &ifrom[i]);
        }
        flush();
    }
}
