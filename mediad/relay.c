/* The packet path: a leg's sockets and the forwarding decision.
 *
 * For each datagram: check it looks like RTP/RTCP (version 2, length
 * bounds, not truncated); once the leg is latched, accept it only from the
 * latched address (no RTP injection or bleed), and on a leg that trusts
 * its SDP address, for a grace period after the party moved to a new one
 * (a forked call's other early dialog, a re-INVITE), latch only from that
 * address, so that the packets still coming from the previous one do not
 * take the leg; on an SRTP leg unprotect it,
 * and latch only a packet that authenticated; account it; then send it
 * from the other leg's matching socket to that leg's remote address,
 * protected if that leg speaks SRTP. An EXT leg sends only to an address
 * it latched (symmetric RTP: traffic towards the internet is a response)
 * unless ext_symmetric is off; an INT leg may send to its SDP address
 * first. RTCP is told from RTP by the socket it came on, or on an
 * rtcp-mux leg by its packet type (RFC 5761), and leaves on the RTCP port
 * or the RTP port as the other leg wants.
 *
 * Batching: libuv only tells us a socket is readable (uv_poll); we read it
 * with recvmmsg into the worker's 32 slots and send what the batch
 * produced for each outgoing socket with one sendmmsg before the slots are
 * reused. A uv_poll_t is also a third smaller than a uv_udp_t, which
 * matters at four sockets per call. No allocation, no logging and no
 * lookup per packet.
 *
 * Relay delay (delay_stats): the sockets of one session in delay_sample
 * (counted as sessions are made) ask for SO_TIMESTAMPNS, the
 * software receive stamp the kernel gives a packet when the network stack
 * takes it in (before IP, netfilter and the socket lookup); once the
 * sendmmsg that carried it returns, the time since then goes into the
 * worker's histogram (common/delay.h), for each packet the kernel took.
 * So the figure holds the kernel's receive path, the wait in the socket
 * buffer behind other packets and other threads, mediad's own work and
 * the kernel's send path up to the hand-off (on loopback that includes
 * the receiving socket's delivery); not the wire. Costs: while any socket
 * asks for stamps the kernel stamps every packet the host receives; per
 * sampled packet a control message and a bucket increment; a clock read
 * per flush that carried one. Sampling sessions keeps the histogram's
 * shape (every packet of a sampled call counts) at a fraction of the cost.
 */
#include "worker.h"
#include "net.h"

#include <errno.h>
#include <netinet/ip.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { DROP_SOURCE, DROP_MALFORMED, DROP_AUTH, DROP_REPLAY, DROP_NODEST, DROP_SEND };

static void drop(md_worker_t *w, md_leg_t *leg, int why)
{
    switch (why) {
    case DROP_SOURCE: leg->st.drop_source++; break;
    case DROP_MALFORMED: leg->st.drop_malformed++; break;
    case DROP_AUTH: leg->st.drop_auth++; break;
    case DROP_REPLAY: leg->st.drop_replay++; break;
    case DROP_NODEST: leg->st.drop_nodest++; break;
    default: leg->st.drop_send++; break;
    }
    w->totals.packets_dropped++;
}

/* Adds the delay of a packet received at rx_ns (0: not stamped) and just
 * sent; *now is read from the clock at the first stamped packet of a
 * flush. */
static void account_delay(md_worker_t *w, uint64_t rx_ns, uint64_t *now)
{
    if (rx_ns == 0)
        return;   /* not a sampled session (or the fuzz target) */
    if (*now == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);   /* SO_TIMESTAMPNS's clock */
        *now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    }
    if (*now >= rx_ns)   /* not across a step back of the clock */
        /* Rounded up: a bucket's edge is never below the delay. A forward
         * step of the clock puts the packets in flight in the top
         * buckets: a handful, once. */
        w->delay[gw_delay_bucket((*now - rx_ns + 999u) / 1000u)]++;
}

void md_relay_flush(md_worker_t *w)
{
    md_sendq_t *q = &w->sq;
    unsigned sent = 0;
    uint64_t now = 0;

    while (sent < q->n) {
        int rc = sendmmsg(q->fd, q->msgs + sent, q->n - sent, MSG_DONTWAIT);
        if (rc <= 0)
            break;
        sent += (unsigned)rc;
    }
    for (unsigned i = 0; i < q->n; i++) {
        md_leg_t *out = q->legs[i];
        if (i >= sent) {
            /* Full socket buffer or an ICMP error pending: the rest of
             * the batch is dropped, counted on the legs it came from. */
            drop(w, out->other, DROP_SEND);
            continue;
        }
        out->st.packets_out++;
        out->st.bytes_out += q->iov[i].iov_len;
        w->totals.packets_relayed++;
        w->totals.bytes_relayed += q->iov[i].iov_len;
        account_delay(w, q->rx_ns[i], &now);
    }
    q->n = 0;
    q->fd = -1;
}

static void enqueue(md_worker_t *w, int fd, void *data, size_t len,
                    const md_addr_t *dst, md_leg_t *out)
{
    md_sendq_t *q = &w->sq;
    struct msghdr *h;

    if (q->n && (q->fd != fd || q->n == MD_SEND_BATCH))
        md_relay_flush(w);
    q->fd = fd;
    q->iov[q->n].iov_base = data;
    q->iov[q->n].iov_len = len;
    h = &q->msgs[q->n].msg_hdr;
    memset(h, 0, sizeof *h);
    h->msg_name = (void *)dst;
    h->msg_namelen = gw_addr_len(&dst->sa);
    h->msg_iov = &q->iov[q->n];
    h->msg_iovlen = 1;
    q->legs[q->n] = out;
    q->rx_ns[q->n] = w->rx_ns;
    q->n++;
}

void md_relay__handle(md_worker_t *w, md_leg_t *leg, int on_rtcp_port, uint8_t *p,
                      int len, const struct sockaddr *src)
{
    md_leg_t *out = leg->other;
    md_addr_t *remote;
    uint8_t *latched;
    int is_rtcp, out_latched;
    uv_poll_t *sock;
    const md_addr_t *dst;

    if (len < 8 || len > MD_MAX_PKT || (p[0] >> 6) != 2) {
        drop(w, leg, DROP_MALFORMED);
        return;
    }
    is_rtcp = on_rtcp_port || (leg->rtcp_mux && p[1] >= 192 && p[1] <= 223);
    if (!is_rtcp && len < 12) {
        drop(w, leg, DROP_MALFORMED);
        return;
    }
    remote = is_rtcp ? &leg->remote_rtcp : &leg->remote_rtp;
    latched = is_rtcp ? &leg->rtcp_latched : &leg->rtp_latched;
    if (*latched && !gw_addr_eq(src, &remote->sa)) {
        drop(w, leg, DROP_SOURCE);
        return;
    }
    if (!*latched && leg->strict_until_ms && !gw_addr_eq(src, &remote->sa)) {
        if (uv_now(&w->loop) < leg->strict_until_ms) {
            drop(w, leg, DROP_SOURCE);   /* the party before the re-target */
            return;
        }
        leg->strict_until_ms = 0;
    }
    if (leg->suite != MD_SUITE_NONE) {
        srtp_err_status_t e;
        if (leg->srtp_rx == NULL) {
            drop(w, leg, DROP_AUTH);   /* no key from the party yet */
            return;
        }
        e = is_rtcp ? srtp_unprotect_rtcp(leg->srtp_rx, p, &len)
                    : srtp_unprotect(leg->srtp_rx, p, &len);
        if (e != srtp_err_status_ok) {
            drop(w, leg, e == srtp_err_status_replay_fail ||
                         e == srtp_err_status_replay_old ? DROP_REPLAY : DROP_AUTH);
            return;
        }
    }
    if (!*latched) {
        memcpy(remote, src, gw_addr_len(src));
        *latched = 1;
    }
    leg->st.packets_in++;
    leg->st.bytes_in += (uint64_t)len;
    leg->st.last_ms = uv_now(&w->loop);
    if (!is_rtcp)
        md_rtpstats_update(&leg->rtp_stats, p, uv_hrtime() / 1000, leg->clocks,
                           leg->nclocks);

    if (is_rtcp && !out->rtcp_mux) {
        sock = &out->rtcp;
        dst = &out->remote_rtcp;
        out_latched = out->rtcp_latched;
    } else {
        sock = &out->rtp;
        dst = is_rtcp ? &out->remote_rtcp : &out->remote_rtp;
        out_latched = is_rtcp ? out->rtcp_latched : out->rtp_latched;
    }
    if (!out_latched && !(out->has_remote && out->send_unlatched)) {
        drop(w, leg, DROP_NODEST);
        return;
    }
    if (out->suite != MD_SUITE_NONE) {
        srtp_err_status_t e = is_rtcp ? srtp_protect_rtcp(out->srtp_tx, p, &len)
                                      : srtp_protect(out->srtp_tx, p, &len);
        if (e != srtp_err_status_ok) {
            drop(w, leg, DROP_SEND);
            return;
        }
    }
    enqueue(w, sock == &out->rtcp ? out->rtcp_fd : out->rtp_fd, p, (size_t)len,
            dst, out);
}

/* The SO_TIMESTAMPNS of a received datagram in ns, or 0. */
static uint64_t rx_stamp(const struct msghdr *m)
{
    struct cmsghdr *c;

    if (m->msg_control == NULL)
        return 0;
    for (c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR((struct msghdr *)m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        }
    return 0;
}

/* Reads a readable socket dry (bounded, so that one busy socket cannot
 * starve the others of its loop), one recvmmsg batch at a time. */
static void on_readable(uv_poll_t *h, int status, int events)
{
    md_leg_t *leg = h->data;
    md_worker_t *w = leg->sess->worker;
    int on_rtcp = (h == &leg->rtcp);
    int fd = on_rtcp ? leg->rtcp_fd : leg->rtp_fd;

    (void)events;
    if (status < 0)
        return;
    for (int round = 0; round < 8; round++) {
        int n = recvmmsg(fd, w->rx_msgs, MD_RECV_SLOTS, MSG_DONTWAIT, NULL);

        if (n <= 0)
            break;   /* EAGAIN, or an ICMP error we cannot act on */
        for (int k = 0; k < n; k++) {
            const struct msghdr *m = &w->rx_msgs[k].msg_hdr;
            w->rx_ns = rx_stamp(m);
            if (m->msg_flags & MSG_TRUNC)
                drop(w, leg, DROP_MALFORMED);
            else
                md_relay__handle(w, leg, on_rtcp, w->rxbuf[k],
                                 (int)w->rx_msgs[k].msg_len,
                                 (const struct sockaddr *)&w->rx_addr[k]);
            /* Only the slots a call filled were written: make just those
             * ready again (a paced call fills one of the 32). */
            md_relay_slot_reset(w, (unsigned)k);
        }
        md_relay_flush(w);   /* before the slots are read into again */
        if (n < MD_RECV_SLOTS)
            break;
    }
}

static int stamp_warned;   /* the SO_TIMESTAMPNS failure logged once */

/* Binds a UDP socket by hand so that a port held by another process fails
 * here, before any libuv handle exists (a handle cannot be reused until
 * its close callback has run). Returns the fd or -errno. */
static int bind_fd(md_t *md, const char *addr, unsigned port, int stamps)
{
    struct sockaddr_storage ss;
    int fd, rc, tos = md->cfg.dscp << 2, buf = md->cfg.sock_buf_kb * 1024, on = 1;

    rc = gw_addr_parse(addr, port, &ss);
    if (rc < 0)
        return rc;
    fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
    else
        setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
    /* Bursts on loopback overflow the default buffers; FORCE lifts the
     * rmem_max cap when we run as root, the plain option otherwise. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    /* A statistic must not refuse a call: without stamps the socket's
     * packets are relayed and left out of the histogram (rx_ns 0). */
    if (stamps && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0 &&
        !__atomic_exchange_n(&stamp_warned, 1, __ATOMIC_RELAXED))
        GW_WARN("delay_stats: setsockopt(SO_TIMESTAMPNS): %s; packets on such "
                "sockets are left out of the delay histogram", strerror(errno));
    if (bind(fd, (struct sockaddr *)&ss, gw_addr_len((struct sockaddr *)&ss)) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

static int start_one(md_leg_t *leg, uv_poll_t *h, int fd)
{
    md_session_t *s = leg->sess;
    int rc;

    rc = uv_poll_init(&s->worker->loop, h, fd);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    /* From here the fd is closed in md_session__handle_closed(). */
    h->data = leg;
    s->open_handles++;
    if (h == &leg->rtp)
        leg->rtp_fd = fd;
    else
        leg->rtcp_fd = fd;
    return uv_poll_start(h, UV_READABLE, on_readable);
}

int md_relay_open(md_leg_t *leg, const char *addr)
{
    md_t *md = leg->sess->worker->md;
    int fd_rtp, fd_rtcp, rc;

    fd_rtp = bind_fd(md, addr, leg->port, leg->sess->delay_sampled);
    if (fd_rtp < 0)
        return fd_rtp;
    fd_rtcp = bind_fd(md, addr, leg->port + 1u, leg->sess->delay_sampled);
    if (fd_rtcp < 0) {
        close(fd_rtp);
        return fd_rtcp;
    }
    rc = start_one(leg, &leg->rtp, fd_rtp);
    if (rc < 0) {
        close(fd_rtcp);
        return rc;   /* the caller closes what was started */
    }
    return start_one(leg, &leg->rtcp, fd_rtcp);
}

void md_relay_close(md_leg_t *leg)
{
    if (leg->rtp.data == leg && !uv_is_closing((uv_handle_t *)&leg->rtp))
        uv_close((uv_handle_t *)&leg->rtp, md_session__handle_closed);
    if (leg->rtcp.data == leg && !uv_is_closing((uv_handle_t *)&leg->rtcp))
        uv_close((uv_handle_t *)&leg->rtcp, md_session__handle_closed);
}
