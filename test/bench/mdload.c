/* mdload: load generator for the media benchmark.
 *
 * Stands in for sigd on the bus (a ROUTER, through common/bus.c), waits for
 * one mediad to register, creates N sessions with offer/answer exactly as
 * sigd does, then plays G.711-sized RTP (12 + 160 bytes) both ways: paced
 * (one packet per stream every 20 ms; every --tick-us, default 1000, the
 * streams whose slot of the 20 ms it is, sent as one batch per direction;
 * ticks that start a tick late are counted, late_ticks and max_lag_us) or
 * unpaced (as fast as the sockets take it, a bounded count). The send time of each
 * packet is kept in a table indexed by session, direction and RTP sequence
 * number, found again on arrival from the cleartext RTP header (the SSRC
 * names the session and direction). Send times are taken right before the
 * sendmmsg() of each batch; arrival times come from the kernel
 * (SO_TIMESTAMPNS, stamped when the relay's packet enters the loopback
 * receive path), so that neither this program's sleep between ticks nor
 * its scheduling on a shared machine lands in the latency. Both clocks are
 * CLOCK_REALTIME, the one SO_TIMESTAMPNS uses. A datagram that comes
 * without the timestamp falls back to the time its recvmmsg() returned;
 * latency_kernel_ts counts the samples that had one. The payload carries
 * the session and sequence number, so that a decrypted packet can be
 * compared with what was sent.
 * With --bare it drives barerelay instead (no bus; fixed port plan).
 *
 * SRTP (--srtp 1): the phone's packets are protected before the timed phase
 * (the whole schedule, per session), so that the timed loop only sends
 * buffers, and what the phone receives is not unprotected there: the
 * header SRTP leaves in clear is enough for the latency. This program's
 * crypto then cannot limit the figures. That mediad's SRTP towards the
 * phone is valid is checked after the run on a sample of the packets
 * received (every Nth, at most CHECK_MAX), unprotected with the key mediad
 * gave in its reply and compared with what the platform side sent.
 *
 * Prints one JSON object: packets sent/received, loss, relayed packets per
 * second, latency p50/p99/p99.9, and for mediad its CPU and user memory per
 * session (RSS growth while the sessions were created). Every loop is
 * bounded in time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <srtp2/srtp.h>

#include "bus.h"
#include "delay.h"
#include "log.h"

#define PKT 172
#define BATCH 64
#define HIST_US 200000       /* latency histogram: 1 us buckets up to 200 ms */
#define SPKT (PKT + SRTP_MAX_TRAILER_LEN)   /* room for one protected packet */
#define CHECK_MAX 8192       /* received SRTP packets kept for the check */
#define PRE_MAX (256u << 20) /* bytes of pre-protected packets, at most */
#define TABLE_MAX (256u << 20) /* bytes of send times, at most */
#define SEQ_MAX 30000        /* packets per stream: below 2^15, so the roll-over
                              * counter stays 0 and a fresh context guesses it */

typedef struct {
    struct sockaddr_in ext;  /* relay EXT address of the session */
    struct sockaddr_in in;   /* relay INT address */
    uint16_t seq[2];         /* next RTP sequence number per direction */
    char key[64];            /* --srtp: mediad's key towards the phone (base64) */
} sess_t;

static struct {
    const char *bus, *phone_ip, *platform_ip, *mode, *bare_ext, *bare_int;
    int n, seconds, pid, bare_base, burst_count, platform_port, srtp, tick_us;
} opt = { "tcp://127.0.60.1:17800", "127.0.60.5", "127.0.60.3", "paced", NULL,
          NULL, 100, 5, 0, 0, 200000, 39000, 0, 1000 };

/* --srtp 1: the phone offers SDES AES_CM_128_HMAC_SHA1_80 with this fixed
 * test key (bytes 0..29, not a secret) and protects what it sends, so
 * mediad unprotects on EXT and protects towards the phone. */
static const char srtp_key_b64[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";
static srtp_t srtp_tx;

static sess_t *sess;
static gw_bus_t *bus;
static char node[GW_BUS_PEERLEN];
static int replies, reply_errors;
static uint32_t *hist;
static uint64_t hist_n, hist_kts, sent[2], recvd[2];
static uint64_t ticks, late_ticks, max_lag;   /* paced: the schedule kept? */

/* Send times (CLOCK_REALTIME ns, 0 = not sent), a ring of `ring` (a power
 * of two) per session and direction: [(i * 2 + dir) * ring + seq % ring].
 * A packet older than `ring` sends of its stream would find a newer time,
 * but at 20 ms a packet that is even 64 behind is beyond the histogram. */
static uint64_t *tsent;
static unsigned ring;

/* --srtp: per session, pre_n protected phone packets (sequence numbers
 * 0..pre_n-1) of pre_len bytes, SPKT apart. */
static char *pre;
static uint16_t *pre_len;
static unsigned pre_n;

/* --srtp: every chk_stride-th packet the phone receives, kept for the
 * check after the run. */
static char *chk;
static uint16_t chk_len[CHECK_MAX];
static unsigned chk_n, chk_stride = 1;
static uint64_t chk_seen, srtp_checked, srtp_auth_fail, srtp_bad_payload;

static uint64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- bus side ------------------------------------------------------------ */

static void on_reg(gw_bus_t *b, const char *peer, const Gw__Envelope *env, void *ctx)
{
    Gw__Envelope r = GW__ENVELOPE__INIT;
    Gw__NodeRegistered ok = GW__NODE_REGISTERED__INIT;

    (void)ctx;
    snprintf(node, sizeof node, "%s", peer);
    ok.node = node;
    ok.has_heartbeat_ms = 1;
    ok.heartbeat_ms = 1000;
    r.body_case = GW__ENVELOPE__BODY_REGISTERED;
    r.registered = &ok;
    gw_bus_reply(b, peer, env, &r);
}

static void on_reply(gw_bus_t *b, const char *peer, const Gw__Envelope *env, void *ctx)
{
    const Gw__MediaReply *r = env->media_reply;

    (void)b;
    (void)peer;
    (void)ctx;
    replies++;
    if (r->status != GW__STATUS__ST_OK) {
        reply_errors++;
        return;
    }
    if (r->has_session_id && r->session_id >= 1 && r->session_id <= (uint64_t)opt.n &&
        r->n_streams == 1) {
        sess_t *s = &sess[r->session_id - 1];
        const Gw__StreamReply *sr = r->streams[0];
        s->ext.sin_family = s->in.sin_family = AF_INET;
        inet_pton(AF_INET, sr->ext_local->addr, &s->ext.sin_addr);
        inet_pton(AF_INET, sr->int_local->addr, &s->in.sin_addr);
        s->ext.sin_port = htons(sr->ext_local->port);
        s->in.sin_port = htons(sr->int_local->port);
        if (sr->ext_local->n_crypto > 0)
            snprintf(s->key, sizeof s->key, "%s", sr->ext_local->crypto[0]->key);
    }
}

static void on_ignore(gw_bus_t *b, const char *peer, const Gw__Envelope *env, void *ctx)
{
    (void)b;
    (void)peer;
    (void)env;
    (void)ctx;
}

/* The node's relay delay histogram (common/delay.h) from its heartbeats:
 * the latest, and how many heartbeats in a row had the same relayed count
 * (a node at rest has published all it relayed). */
static uint64_t hb_hist[GW_DELAY_BUCKETS], hb_relayed;
static int hb_same = -1, hb_has_delay;

/* Like sigd: a heartbeat from a node we do not know makes it register. */
static void on_heartbeat(gw_bus_t *b, const char *peer, const Gw__Envelope *env,
                         void *ctx)
{
    const Gw__Heartbeat *hb = env->heartbeat;

    (void)ctx;
    if (strcmp(peer, node) != 0) {
        gw_bus_reply_error(b, peer, env, GW__STATUS__ST_ENOENT, "unknown node");
        return;
    }
    hb_same = hb_same >= 0 && hb->packets_relayed == hb_relayed ? hb_same + 1 : 0;
    hb_relayed = hb->packets_relayed;
    hb_has_delay = gw_delay_import(hb_hist, hb->delay_hist, hb->n_delay_hist) > 0;
}

/* Over the timed phase (after at_rest): the histogram's difference and
 * the packets relayed; delay_ok 0 when the node sent none or never
 * came to rest. */
static uint64_t delay0[GW_DELAY_BUCKETS], relayed0;
static int delay_ok = 1;

/* Three heartbeats in a row with the same relayed count. */
static int at_rest(void) { return hb_same >= 2; }

static const gw_bus_route_t routes[] = {
    { GW__ENVELOPE__BODY_REG, on_reg },
    { GW__ENVELOPE__BODY_MEDIA_REPLY, on_reply },
    { GW__ENVELOPE__BODY_HEARTBEAT, on_heartbeat },
    { GW__ENVELOPE__BODY_EVENT, on_ignore },
    { GW__ENVELOPE__BODY_DEREG, on_ignore },
    { 0, NULL }
};

/* Processes the bus until cond() or ms elapse. */
static int bus_wait(int (*cond)(void), int ms)
{
    uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)ms * 1000000u;

    while (now_ns(CLOCK_MONOTONIC) < end) {
        struct pollfd p = { gw_bus_fd(bus), POLLIN, 0 };
        gw_bus_process(bus);
        if (cond())
            return 0;
        poll(&p, 1, 10);
    }
    return -1;
}

static int registered(void) { return node[0] != '\0'; }
static int target_replies;
static int all_replied(void) { return replies >= target_replies; }

static void send_media(int kind, int i)
{
    Gw__Envelope env = GW__ENVELOPE__INIT;
    Gw__StreamOffer so = GW__STREAM_OFFER__INIT, *sop = &so;
    Gw__Endpoint ep = GW__ENDPOINT__INIT;
    Gw__MediaOffer o = GW__MEDIA_OFFER__INIT;
    Gw__MediaAnswer a = GW__MEDIA_ANSWER__INIT;
    Gw__MediaDelete d = GW__MEDIA_DELETE__INIT;
    char call_id[32];

    snprintf(call_id, sizeof call_id, "bench-%d", i + 1);
    Gw__Crypto c = GW__CRYPTO__INIT, *cp = &c;

    so.index = 0;
    so.remote = &ep;
    if (kind == 0 && opt.srtp) {
        c.tag = 1;
        c.suite = "AES_CM_128_HMAC_SHA1_80";
        c.key = (char *)srtp_key_b64;
        ep.n_crypto = 1;
        ep.crypto = &cp;
    }
    ep.addr = (char *)(kind == 0 ? opt.phone_ip : opt.platform_ip);
    ep.port = kind == 0 ? 20000 : (uint32_t)opt.platform_port;
    if (kind == 0) {
        o.session_id = (uint64_t)i + 1;
        o.call_id = call_id;
        o.from_side = GW__SIDE__SIDE_EXT;
        o.n_streams = 1;
        o.streams = &sop;
        env.body_case = GW__ENVELOPE__BODY_OFFER;
        env.offer = &o;
    } else if (kind == 1) {
        a.session_id = (uint64_t)i + 1;
        a.n_streams = 1;
        a.streams = &sop;
        env.body_case = GW__ENVELOPE__BODY_ANSWER;
        env.answer = &a;
    } else {
        d.session_id = (uint64_t)i + 1;
        d.reason = "bench";
        env.body_case = GW__ENVELOPE__BODY_DEL;
        env.del = &d;
    }
    gw_bus_send(bus, node, &env);
}

/* Sends `kind` for sessions [from, to), 200 at a time, and waits for the
 * replies. */
static int media_round(int kind, int from, int to)
{
    for (int i = from; i < to; i += 200) {
        target_replies = replies + (to - i < 200 ? to - i : 200);
        for (int k = i; k < to && k < i + 200; k++)
            send_media(kind, k);
        if (bus_wait(all_replied, 10000) < 0)
            return -1;
    }
    return 0;
}

/* ---- /proc ------------------------------------------------------------- */

static long rss_kb(int pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static double cpu_s(int pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    if (fgets(buf, sizeof buf, f) && (p = strrchr(buf, ')')) != NULL)
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
    fclose(f);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- media side ----------------------------------------------------------- */

static int udp(const char *ip, int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), one = 1, buf = 8 << 20;

    inet_pton(AF_INET, ip, &a.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        fprintf(stderr, "mdload: bind %s:%d: %s\n", ip, port, strerror(errno));
        exit(1);
    }
    return fd;
}

typedef struct {
    struct mmsghdr m[BATCH];
    struct iovec iov[BATCH];
    uint64_t *ts[BATCH];     /* send-time slot of each packet, set by flush() */
    char buf[BATCH][PKT + SRTP_MAX_TRAILER_LEN];
    unsigned n;
} batch_t;

/* Writes the packet `seq` of session i in direction dir: RTP header, then
 * the session, direction and sequence number, then A-law silence. */
static void rtp_fill(char *p, int dir, int i, uint16_t seq)
{
    uint32_t ts = (uint32_t)seq * 160, ssrc = htonl((uint32_t)i << 1 | (uint32_t)dir);
    uint32_t id = htonl((uint32_t)i);

    p[0] = (char)0x80;
    p[1] = 8;
    p[2] = (char)(seq >> 8);
    p[3] = (char)seq;
    memcpy(p + 4, &ts, 4);
    memcpy(p + 8, &ssrc, 4);
    memset(p + 12, 0xd5, PKT - 12);
    memcpy(p + 12, &id, 4);
    p[16] = (char)dir;
    p[17] = (char)(seq >> 8);
    p[18] = (char)seq;
}

static uint64_t *tslot(int i, int dir, uint16_t seq)
{
    return &tsent[((size_t)i * 2 + (size_t)dir) * ring + (seq & (ring - 1))];
}

/* Protects the phone's whole schedule before the timed phase: `count`
 * packets per session, in order per stream as libsrtp wants them. */
static int prebuild(unsigned count)
{
    pre_n = count;
    pre = malloc((size_t)opt.n * count * SPKT);
    pre_len = malloc((size_t)opt.n * count * sizeof *pre_len);
    if (pre == NULL || pre_len == NULL)
        return -ENOMEM;
    for (int i = 0; i < opt.n; i++)
        for (unsigned k = 0; k < count; k++) {
            size_t at = (size_t)i * count + k;
            char *p = pre + at * SPKT;
            int len = PKT;
            rtp_fill(p, 0, i, (uint16_t)k);
            if (srtp_protect(srtp_tx, p, &len) != srtp_err_status_ok)
                return -EINVAL;
            pre_len[at] = (uint16_t)len;
        }
    return 0;
}

/* Whether session i has a packet left to send towards mediad. */
static int can_send(int i)
{
    return !opt.srtp || sess[i].seq[0] < pre_n;
}

static void build(batch_t *b, int dir, int i, const struct sockaddr_in *to)
{
    sess_t *s = &sess[i];
    uint16_t seq;
    char *p;
    size_t len = PKT;

    if (dir == 0 && !can_send(i))
        return;
    seq = s->seq[dir]++;
    if (dir == 0 && opt.srtp) {
        p = pre + ((size_t)i * pre_n + seq) * SPKT;
        len = pre_len[(size_t)i * pre_n + seq];
    } else {
        p = b->buf[b->n];
        rtp_fill(p, dir, i, seq);
    }
    b->ts[b->n] = tslot(i, dir, seq);
    b->iov[b->n].iov_base = p;
    b->iov[b->n].iov_len = len;
    memset(&b->m[b->n], 0, sizeof b->m[b->n]);
    b->m[b->n].msg_hdr.msg_iov = &b->iov[b->n];
    b->m[b->n].msg_hdr.msg_iovlen = 1;
    b->m[b->n].msg_hdr.msg_name = (void *)to;
    b->m[b->n].msg_hdr.msg_namelen = sizeof *to;
    b->n++;
}

/* Sends the batch. The send times are taken here, just before each
 * sendmmsg(), not when the packets were built: the other direction's batch
 * may be sent in between. A packet the kernel did not take keeps its time
 * of 0 and is not measured. */
static void flush(int fd, batch_t *b, int dir)
{
    unsigned off = 0;

    while (off < b->n) {
        uint64_t t = now_ns(CLOCK_REALTIME);
        for (unsigned k = off; k < b->n; k++)
            *b->ts[k] = t;
        int r = sendmmsg(fd, b->m + off, b->n - off, 0);
        if (r <= 0)
            break;
        off += (unsigned)r;
    }
    for (unsigned k = off; k < b->n; k++)
        *b->ts[k] = 0;
    sent[dir] += off;
    b->n = 0;
}

/* Drains one socket; dir is the direction of the packets it receives.
 * The arrival time of a datagram is its SO_TIMESTAMPNS control message, or
 * failing that the time recvmmsg() returned. */
static void drain(int fd, int dir)
{
    static char rbuf[BATCH][2048];
    static char ctl[BATCH][64];
    struct mmsghdr m[BATCH];
    struct iovec iov[BATCH];

    for (;;) {
        for (int k = 0; k < BATCH; k++) {
            iov[k].iov_base = rbuf[k];
            iov[k].iov_len = sizeof rbuf[k];
            memset(&m[k], 0, sizeof m[k]);
            m[k].msg_hdr.msg_iov = &iov[k];
            m[k].msg_hdr.msg_iovlen = 1;
            m[k].msg_hdr.msg_control = ctl[k];
            m[k].msg_hdr.msg_controllen = sizeof ctl[k];
        }
        int r = recvmmsg(fd, m, BATCH, MSG_DONTWAIT, NULL);
        if (r <= 0)
            return;
        uint64_t t_drain = now_ns(CLOCK_REALTIME);
        for (int k = 0; k < r; k++) {
            struct cmsghdr *c;
            const unsigned char *p = (const unsigned char *)rbuf[k];
            uint64_t t_sent, t_recv = 0;
            int kts = 0;
            uint32_t ssrc;
            uint16_t seq;
            if (m[k].msg_len < 20)
                continue;
            recvd[dir]++;
            memcpy(&ssrc, p + 8, 4);
            ssrc = ntohl(ssrc);
            seq = (uint16_t)(p[2] << 8 | p[3]);
            if ((ssrc & 1) != (uint32_t)dir || (ssrc >> 1) >= (uint32_t)opt.n)
                continue;
            if (dir == 1 && opt.srtp && chk_seen++ % chk_stride == 0 && chk_n < CHECK_MAX) {
                size_t len = m[k].msg_len < SPKT ? m[k].msg_len : SPKT;
                memcpy(chk + (size_t)chk_n * SPKT, p, len);
                chk_len[chk_n++] = (uint16_t)len;
            }
            for (c = CMSG_FIRSTHDR(&m[k].msg_hdr); c; c = CMSG_NXTHDR(&m[k].msg_hdr, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                    struct timespec ts;
                    memcpy(&ts, CMSG_DATA(c), sizeof ts);
                    t_recv = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
                    kts = t_recv != 0;
                }
            if (!kts)
                t_recv = t_drain;
            t_sent = *tslot((int)(ssrc >> 1), dir, seq);
            if (t_sent && t_recv > t_sent) {
                uint64_t us = (t_recv - t_sent) / 1000;
                hist[us < HIST_US ? us : HIST_US - 1]++;
                hist_n++;
                hist_kts += (uint64_t)kts;
            }
        }
    }
}

/* An AES_CM_128_HMAC_SHA1_80 context for RTP and RTCP with the 30-byte
 * key||salt, for what this program sends (outbound) or receives. */
static int srtp_ctx(srtp_t *ctx, const unsigned char *key, int outbound)
{
    srtp_policy_t pol;

    memset(&pol, 0, sizeof pol);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
    pol.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    pol.key = (unsigned char *)key;
    pol.window_size = 1024;
    return srtp_create(ctx, &pol) == srtp_err_status_ok ? 0 : -EINVAL;
}

/* A session's SDES key from mediad (base64 of key||salt) -> inbound
 * context; -EINVAL when the key is not 30 bytes. */
static int srtp_ctx_b64(srtp_t *ctx, const char *b64)
{
    gnutls_datum_t in = { (unsigned char *)b64, (unsigned)strlen(b64) }, raw = { NULL, 0 };
    int rc = -EINVAL;

    if (gnutls_base64_decode2(&in, &raw) == 0 && raw.size == 30)
        rc = srtp_ctx(ctx, raw.data, 0);
    gnutls_free(raw.data);
    return rc;
}

/* Unprotects the kept sample with each session's key from mediad (one
 * inbound context per session, the packets in arrival order) and compares
 * the payload with what the platform side sent. */
static void srtp_check(void)
{
    srtp_t *rx = calloc((size_t)opt.n, sizeof *rx);

    for (unsigned c = 0; rx != NULL && c < chk_n; c++) {
        char *p = chk + (size_t)c * SPKT, want[PKT];
        int len = chk_len[c], i;
        uint32_t ssrc;
        uint16_t seq = (uint16_t)((unsigned char)p[2] << 8 | (unsigned char)p[3]);

        memcpy(&ssrc, p + 8, 4);
        i = (int)(ntohl(ssrc) >> 1);
        srtp_checked++;
        if (rx[i] == NULL) {
            if (srtp_ctx_b64(&rx[i], sess[i].key) < 0) {
                rx[i] = NULL;
                srtp_auth_fail++;
                continue;
            }
        }
        if (srtp_unprotect(rx[i], p, &len) != srtp_err_status_ok) {
            srtp_auth_fail++;
            continue;
        }
        rtp_fill(want, 1, i, seq);
        if (len != PKT || memcmp(p, want, PKT) != 0)
            srtp_bad_payload++;
    }
    for (int i = 0; rx != NULL && i < opt.n; i++)
        if (rx[i])
            srtp_dealloc(rx[i]);
    free(rx);
}

static double pct(double q)
{
    uint64_t want = (uint64_t)(q * (double)hist_n), acc = 0;

    for (unsigned i = 0; i < HIST_US; i++) {
        acc += hist[i];
        if (acc > want)
            return (double)i;
    }
    return (double)HIST_US;
}

static void sleep_until(uint64_t t)
{
    struct timespec ts = { (time_t)(t / 1000000000u), (long)(t % 1000000000u) };
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

int main(int argc, char **argv)
{
    gw_bus_opts_t bo = { 0 };
    batch_t *bp, *bl;
    char err[256];
    int fp, fl, bare, half = 0;
    long rss0 = 0, rss1 = 0;
    double cpu0 = 0, cpu1 = 0, elapsed;
    uint64_t t0, t1, last_rx, per_stream;

    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--bus")) opt.bus = v;
        else if (!strcmp(k, "--sessions")) opt.n = atoi(v);
        else if (!strcmp(k, "--seconds")) opt.seconds = atoi(v);
        else if (!strcmp(k, "--tick-us")) opt.tick_us = atoi(v);
        else if (!strcmp(k, "--mode")) opt.mode = v;
        else if (!strcmp(k, "--pid")) opt.pid = atoi(v);
        else if (!strcmp(k, "--phone")) opt.phone_ip = v;
        else if (!strcmp(k, "--platform")) opt.platform_ip = v;
        else if (!strcmp(k, "--platform-port")) opt.platform_port = atoi(v);
        else if (!strcmp(k, "--count")) opt.burst_count = atoi(v);
        else if (!strcmp(k, "--srtp")) opt.srtp = atoi(v);
        else if (!strcmp(k, "--bare-ext")) opt.bare_ext = v;
        else if (!strcmp(k, "--bare-int")) opt.bare_int = v;
        else if (!strcmp(k, "--bare-base")) opt.bare_base = atoi(v);
        else { fprintf(stderr, "mdload: unknown option %s\n", k); return 2; }
    }
    if (opt.n < 1 || opt.n > 20000 || opt.seconds < 1 || opt.seconds > 120 ||
        opt.tick_us < 20 || opt.tick_us > 20000 || 20000 % opt.tick_us != 0) {
        fprintf(stderr, "mdload: --sessions 1..20000, --seconds 1..120, "
                "--tick-us 20..20000 dividing 20000\n");
        return 2;
    }
    /* Ticks finer than the default 50 us timer slack would be late. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    gw_log_init("mdload", GW_LOG_WARN);
    if (opt.srtp) {
        static unsigned char key[30];   /* srtp_key_b64's bytes */
        for (int i = 0; i < 30; i++)
            key[i] = (unsigned char)i;
        if (srtp_init() != srtp_err_status_ok || srtp_ctx(&srtp_tx, key, 1) < 0) {
            fprintf(stderr, "mdload: libsrtp2 set-up failed\n");
            return 1;
        }
    }
    bare = opt.bare_ext != NULL;
    sess = calloc((size_t)opt.n, sizeof *sess);
    hist = calloc(HIST_US, sizeof *hist);
    bp = calloc(1, sizeof *bp);
    bl = calloc(1, sizeof *bl);
    /* Packets per stream at most: the paced schedule, or an even share of
     * the unpaced count, plus the warm-up. */
    per_stream = strcmp(opt.mode, "paced") == 0
                     ? (uint64_t)opt.seconds * 50 + 2
                     : (uint64_t)opt.burst_count / 2 / (uint64_t)opt.n + 2;
    if (per_stream > SEQ_MAX)
        per_stream = SEQ_MAX;
    for (ring = 64; ring < per_stream; ring <<= 1)
        ;
    while (ring > 64 && (size_t)opt.n * 2 * ring * sizeof *tsent > TABLE_MAX)
        ring >>= 1;
    tsent = calloc((size_t)opt.n * 2 * ring, sizeof *tsent);
    if (opt.srtp) {
        chk = malloc((size_t)CHECK_MAX * SPKT);
        chk_stride = (unsigned)((uint64_t)opt.n * per_stream / CHECK_MAX + 1);
    }
    if (sess == NULL || hist == NULL || bp == NULL || bl == NULL || tsent == NULL ||
        (opt.srtp && chk == NULL)) {
        fprintf(stderr, "mdload: out of memory\n");
        return 1;
    }

    if (bare) {
        for (int i = 0; i < opt.n; i++) {
            sess[i].ext.sin_family = sess[i].in.sin_family = AF_INET;
            inet_pton(AF_INET, opt.bare_ext, &sess[i].ext.sin_addr);
            inet_pton(AF_INET, opt.bare_int, &sess[i].in.sin_addr);
            sess[i].ext.sin_port = sess[i].in.sin_port = htons(opt.bare_base + 2 * i);
        }
    } else {
        bo.mode = GW_BUS_SERVER;
        bo.endpoint = opt.bus;
        bo.routes = routes;
        bus = gw_bus_new(&bo, err, sizeof err);
        if (bus == NULL) {
            fprintf(stderr, "mdload: %s\n", err);
            return 1;
        }
        if (bus_wait(registered, 15000) < 0) {
            fprintf(stderr, "mdload: no media node registered\n");
            return 1;
        }
        /* Memory per session: the growth between half and all of the
         * sessions, so that buffers every request needs once (replies in
         * flight, allocator arenas) are not counted per session. */
        half = opt.n / 2;
        if (media_round(0, 0, half) < 0 || media_round(1, 0, half) < 0)
            goto setup_failed;
        rss0 = opt.pid ? rss_kb(opt.pid) : 0;
        if (media_round(0, half, opt.n) < 0 || media_round(1, half, opt.n) < 0 ||
            reply_errors)
            goto setup_failed;
        rss1 = opt.pid ? rss_kb(opt.pid) : 0;
    }

    if (opt.srtp) {
        /* The unpaced run stops early if PRE_MAX leaves fewer packets. */
        uint64_t n = per_stream;
        while (n > 2 && (uint64_t)opt.n * n * SPKT > PRE_MAX)
            n--;
        if (prebuild((unsigned)n) < 0) {
            fprintf(stderr, "mdload: pre-protecting %d x %" PRIu64 " packets failed\n",
                    opt.n, n);
            return 1;
        }
    }
    fp = udp(opt.phone_ip, 0);
    fl = udp(opt.platform_ip, opt.platform_port);
    /* Warm-up: latch every EXT leg, then forget the counts. */
    for (int i = 0; i < opt.n; i++) {
        build(bp, 0, i, &sess[i].ext);
        if (bp->n == BATCH)
            flush(fp, bp, 0);
    }
    flush(fp, bp, 0);
    sleep_until(now_ns(CLOCK_MONOTONIC) + 300000000u);
    drain(fl, 0);
    drain(fp, 1);
    /* mediad's own delay figures over the timed phase: the difference of
     * its histogram at rest before and after (the warm-up is in both). */
    if (!bare) {
        hb_same = -1;
        if (bus_wait(at_rest, 8000) == 0) {
            memcpy(delay0, hb_hist, sizeof delay0);
            relayed0 = hb_relayed;
        } else
            delay_ok = 0;
        drain(fl, 0);
        drain(fp, 1);
    }
    memset(hist, 0, HIST_US * sizeof *hist);
    hist_n = hist_kts = sent[0] = sent[1] = recvd[0] = recvd[1] = 0;
    chk_n = 0;
    chk_seen = 0;

    cpu0 = opt.pid ? cpu_s(opt.pid) : 0;
    t0 = now_ns(CLOCK_MONOTONIC);
    if (strcmp(opt.mode, "paced") == 0) {
        /* Every tick, the sessions whose turn it is: 20 ms / tick slots
         * per packet time, session i in slot i % per. With the default 1 ms
         * tick the streams come in 20 groups, each sent as one burst; a
         * finer tick spreads them as independent calls would be. */
        uint64_t tick = t0;
        int per = 20000 / opt.tick_us;
        int drain_every = opt.tick_us >= 1000 ? 1 : 1000 / opt.tick_us;
        int slots = opt.seconds * 1000000 / opt.tick_us;
        ticks = (uint64_t)slots;
        for (int s = 0; s < slots; s++) {
            /* A tick started more than a tick late: this program fell
             * behind, and what it sends next comes as a burst. */
            uint64_t lag = now_ns(CLOCK_MONOTONIC) - tick;
            if (lag > (uint64_t)opt.tick_us * 1000u)
                late_ticks++;
            if (lag > max_lag)
                max_lag = lag;
            for (int i = s % per; i < opt.n; i += per) {
                build(bp, 0, i, &sess[i].ext);
                if (bp->n == BATCH)
                    flush(fp, bp, 0);
                build(bl, 1, i, &sess[i].in);
                if (bl->n == BATCH)
                    flush(fl, bl, 1);
            }
            flush(fp, bp, 0);
            flush(fl, bl, 1);
            /* Arrival times are the kernel's, so reading can wait: once a
             * millisecond is enough (the buffers hold far more), and at
             * fine ticks it spares two receive calls per tick. */
            if ((s + 1) % drain_every == 0) {
                drain(fl, 0);
                drain(fp, 1);
            }
            tick += (uint64_t)opt.tick_us * 1000u;
            sleep_until(tick);
        }
    } else {
        /* Unpaced: a bounded count, sessions in turn, both directions. */
        int i = 0;
        uint64_t end = t0 + (uint64_t)opt.seconds * 1000000000u;
        while (sent[0] + sent[1] < (uint64_t)opt.burst_count &&
               now_ns(CLOCK_MONOTONIC) < end && can_send(i)) {
            for (int k = 0; k < BATCH / 2 && can_send(i); k++, i = (i + 1) % opt.n) {
                build(bp, 0, i, &sess[i].ext);
                build(bl, 1, i, &sess[i].in);
            }
            flush(fp, bp, 0);
            flush(fl, bl, 1);
            drain(fl, 0);
            drain(fp, 1);
        }
    }
    /* Stragglers: up to 500 ms after the last send. */
    last_rx = now_ns(CLOCK_MONOTONIC);
    t1 = last_rx;
    while (now_ns(CLOCK_MONOTONIC) - last_rx < 500000000u) {
        uint64_t before = recvd[0] + recvd[1];
        drain(fl, 0);
        drain(fp, 1);
        if (recvd[0] + recvd[1] != before) {
            last_rx = now_ns(CLOCK_MONOTONIC);
            t1 = last_rx;
        }
        sleep_until(now_ns(CLOCK_MONOTONIC) + 1000000u);
    }
    cpu1 = opt.pid ? cpu_s(opt.pid) : 0;
    elapsed = (double)(t1 - t0) / 1e9;
    if (!bare) {
        hb_same = -1;
        if (delay_ok && bus_wait(at_rest, 8000) == 0 && hb_has_delay) {
            relayed0 = hb_relayed - relayed0;
            for (unsigned k = 0; k < GW_DELAY_BUCKETS; k++)
                delay0[k] = hb_hist[k] - delay0[k];
        } else {
            delay_ok = 0;
        }
    }
    if (opt.srtp)
        srtp_check();

    {
        uint64_t s = sent[0] + sent[1], r = recvd[0] + recvd[1];
        printf("{\"target\":\"%s\",\"srtp\":%d,\"mode\":\"%s\",\"tick_us\":%d,\"sessions\":%d,\"seconds\":%.3f,"
               "\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ",\"loss_pct\":%.4f,"
               "\"relayed_pps\":%.0f,\"latency_p50_us\":%.0f,\"latency_p99_us\":%.0f,"
               "\"latency_p999_us\":%.0f",
               bare ? "bare" : "mediad", opt.srtp, opt.mode, opt.tick_us, opt.n, elapsed, s, r,
               s ? 100.0 * (double)(s - (r < s ? r : s)) / (double)s : 0.0,
               (double)r / elapsed, pct(0.50), pct(0.99), pct(0.999));
        if (opt.pid && cpu1 > cpu0)
            printf(",\"cpu_pct\":%.1f,\"pps_per_core\":%.0f",
                   100.0 * (cpu1 - cpu0) / elapsed, (double)r / (cpu1 - cpu0));
        if (!bare && opt.pid)
            printf(",\"rss_kb_before\":%ld,\"rss_kb_after\":%ld,"
                   "\"bytes_per_session\":%.0f", rss0, rss1,
                   (double)(rss1 - rss0) * 1024.0 / (opt.n - half));
        printf(",\"latency_samples\":%" PRIu64 ",\"latency_kernel_ts\":%" PRIu64,
               hist_n, hist_kts);
        if (!bare && delay_ok) {
            /* In mediad, socket to send (delay_stats), upper bucket edges. */
            uint64_t dn;
            double p50 = (double)gw_delay_quantile(delay0, GW_DELAY_BUCKETS, 0.5, &dn);
            printf(",\"mediad_delay_samples\":%" PRIu64 ",\"mediad_relayed\":%" PRIu64
                   ",\"mediad_delay_p50_us\":%.0f,\"mediad_delay_p99_us\":%.0f"
                   ",\"mediad_delay_p999_us\":%.0f", dn, relayed0, p50,
                   (double)gw_delay_quantile(delay0, GW_DELAY_BUCKETS, 0.99, NULL),
                   (double)gw_delay_quantile(delay0, GW_DELAY_BUCKETS, 0.999, NULL));
        }
        if (ticks)
            printf(",\"ticks\":%" PRIu64 ",\"late_ticks\":%" PRIu64 ",\"max_lag_us\":%" PRIu64,
                   ticks, late_ticks, max_lag / 1000u);
        if (opt.srtp)
            printf(",\"srtp_prebuilt_per_session\":%u,\"srtp_checked\":%" PRIu64
                   ",\"srtp_auth_fail\":%" PRIu64 ",\"srtp_bad_payload\":%" PRIu64,
                   pre_n, srtp_checked, srtp_auth_fail, srtp_bad_payload);
        printf("}\n");
    }
    if (!bare) {
        media_round(2, 0, opt.n);
        gw_bus_free(bus);
    }
    close(fp);
    close(fl);
    free(bp);
    free(bl);
    free(hist);
    free(tsent);
    free(chk);
    free(pre);
    free(pre_len);
    free(sess);
    if (opt.srtp)
        srtp_dealloc(srtp_tx);
    return 0;

setup_failed:
    fprintf(stderr, "mdload: session set-up failed (%d errors)\n", reply_errors);
    return 1;
}
