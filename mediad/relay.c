/* The packet path: a leg's RTP and RTCP sockets and the forwarding
 * decision.
 *
 * For each datagram: check it looks like RTP/RTCP (version 2, minimum
 * length, not truncated); latch the sender while the leg is unlatched,
 * otherwise accept it only from the latched address (no RTP injection or
 * bleed); then send it from the other leg's matching socket to that leg's
 * remote address. An EXT leg sends only to an address it latched
 * (symmetric RTP: traffic towards the internet is always a response) unless
 * ext_symmetric is off; an INT leg may send to its SDP address first.
 *
 * No allocation, no logging and no lookup per packet: the receive buffer is
 * one static block (a loop runs one callback at a time) and each socket's
 * data pointer is its leg.
 */
#include "session.h"
#include "net.h"

#include <errno.h>
#include <netinet/ip.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RELAY_BUF 65536

static char relay_buf[RELAY_BUF];

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = relay_buf;
    buf->len = sizeof relay_buf;
}

static void drop(md_leg_t *leg)
{
    leg->st.dropped++;
    leg->sess->md->totals.packets_dropped++;
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *src, unsigned flags)
{
    md_leg_t *leg = h->data, *out;
    int is_rtcp = (h == &leg->rtcp);
    struct sockaddr_storage *remote;
    uint8_t *latched;
    uv_buf_t b;
    int rc;

    if (nread <= 0 || src == NULL)
        return;  /* nothing, or an error we cannot act on per packet */
    if ((flags & UV_UDP_PARTIAL) || nread < (is_rtcp ? 8 : 12) ||
        ((uint8_t)buf->base[0] >> 6) != 2) {
        drop(leg);
        return;
    }
    remote = is_rtcp ? &leg->remote_rtcp : &leg->remote_rtp;
    latched = is_rtcp ? &leg->rtcp_latched : &leg->rtp_latched;
    if (!*latched) {
        memcpy(remote, src, gw_addr_len(src));
        *latched = 1;
    } else if (!gw_addr_eq(src, (const struct sockaddr *)remote)) {
        drop(leg);
        return;
    }
    leg->st.packets_in++;
    leg->st.bytes_in += (uint64_t)nread;

    out = leg->other;
    if (is_rtcp ? !out->rtcp_latched && !(out->has_remote && out->send_unlatched)
                : !out->rtp_latched && !(out->has_remote && out->send_unlatched)) {
        drop(leg);
        return;
    }
    b = uv_buf_init(buf->base, (unsigned)nread);
    rc = uv_udp_try_send(is_rtcp ? &out->rtcp : &out->rtp, &b, 1,
                         (const struct sockaddr *)(is_rtcp ? &out->remote_rtcp
                                                           : &out->remote_rtp));
    if (rc < 0) {
        drop(leg);
        return;
    }
    out->st.packets_out++;
    out->st.bytes_out += (uint64_t)nread;
    leg->sess->md->totals.packets_relayed++;
    leg->sess->md->totals.bytes_relayed += (uint64_t)nread;
}

/* Binds a UDP socket by hand so that a port held by another process fails
 * here, before any libuv handle exists (a handle cannot be reused until
 * its close callback has run). Returns the fd or -errno. */
static int bind_fd(const char *addr, unsigned port, int dscp)
{
    struct sockaddr_storage ss;
    int fd, rc, tos = dscp << 2;

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
    if (bind(fd, (struct sockaddr *)&ss, gw_addr_len((struct sockaddr *)&ss)) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

static int start_one(md_leg_t *leg, uv_udp_t *h, int fd)
{
    int rc;

    rc = uv_udp_init(leg->sess->md->loop, h);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    h->data = leg;
    leg->sess->open_handles++;
    rc = uv_udp_open(h, fd);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return uv_udp_recv_start(h, on_alloc, on_recv);
}

int md_relay_open(md_leg_t *leg, const char *addr)
{
    int dscp = leg->sess->md->cfg.dscp;
    int fd_rtp, fd_rtcp, rc;

    fd_rtp = bind_fd(addr, leg->port, dscp);
    if (fd_rtp < 0)
        return fd_rtp;
    fd_rtcp = bind_fd(addr, leg->port + 1, dscp);
    if (fd_rtcp < 0) {
        close(fd_rtp);
        return fd_rtcp;
    }
    rc = start_one(leg, &leg->rtp, fd_rtp);
    if (rc < 0) {
        close(fd_rtcp);
        return rc;  /* the caller closes what was started */
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
