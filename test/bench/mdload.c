/* mdload: load generator for the media benchmark.
 *
 * Stands in for sigd on the bus (a ROUTER, through common/bus.c), waits for
 * one mediad to register, creates N sessions with offer/answer exactly as
 * sigd does, then plays G.711-sized RTP (12 + 160 bytes) both ways: paced
 * (one packet per stream every 20 ms, spread over the interval) or unpaced
 * (as fast as the sockets take it, a bounded count). Each packet carries
 * its send time; arrival times come from the kernel (SO_TIMESTAMPNS), so
 * the latency measured is the relay's, not this program's batching.
 * With --bare it drives barerelay instead (no bus; fixed port plan).
 *
 * Prints one JSON object: packets sent/received, loss, relayed packets per
 * second, latency p50/p99, and for mediad its CPU and user memory per
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <srtp2/srtp.h>

#include "bus.h"
#include "log.h"

#define PKT 172
#define BATCH 64
#define HIST_US 200000       /* latency histogram: 1 us buckets up to 200 ms */

typedef struct {
    struct sockaddr_in ext;  /* relay EXT address of the session */
    struct sockaddr_in in;   /* relay INT address */
    uint16_t seq[2];
} sess_t;

static struct {
    const char *bus, *phone_ip, *platform_ip, *mode, *bare_ext, *bare_int;
    int n, seconds, pid, bare_base, burst_count, platform_port, srtp;
} opt = { "tcp://127.0.60.1:17800", "127.0.60.5", "127.0.60.3", "paced", NULL,
          NULL, 100, 5, 0, 0, 200000, 39000, 0 };

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
static uint64_t hist_n, sent[2], recvd[2];

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
    }
}

static void on_ignore(gw_bus_t *b, const char *peer, const Gw__Envelope *env, void *ctx)
{
    (void)b;
    (void)peer;
    (void)env;
    (void)ctx;
}

/* Like sigd: a heartbeat from a node we do not know makes it register. */
static void on_heartbeat(gw_bus_t *b, const char *peer, const Gw__Envelope *env,
                         void *ctx)
{
    (void)ctx;
    if (strcmp(peer, node) != 0)
        gw_bus_reply_error(b, peer, env, GW__STATUS__ST_ENOENT, "unknown node");
}

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
    char buf[BATCH][PKT + SRTP_MAX_TRAILER_LEN];
    unsigned n;
} batch_t;

static void build(batch_t *b, int dir, int i, const struct sockaddr_in *to)
{
    char *p = b->buf[b->n];
    sess_t *s = &sess[i];
    uint16_t seq = s->seq[dir]++;
    uint32_t ts = (uint32_t)seq * 160, ssrc = (uint32_t)i << 1 | (uint32_t)dir;
    uint64_t t;

    p[0] = (char)0x80;
    p[1] = 8;
    p[2] = (char)(seq >> 8);
    p[3] = (char)seq;
    memcpy(p + 4, &ts, 4);
    ssrc = htonl(ssrc);
    memcpy(p + 8, &ssrc, 4);
    t = now_ns(CLOCK_REALTIME);
    memcpy(p + 12, &t, 8);
    b->iov[b->n].iov_base = p;
    b->iov[b->n].iov_len = PKT;
    if (dir == 0 && opt.srtp) {
        int len = PKT;
        if (srtp_protect(srtp_tx, p, &len) == srtp_err_status_ok)
            b->iov[b->n].iov_len = (size_t)len;
    }
    memset(&b->m[b->n], 0, sizeof b->m[b->n]);
    b->m[b->n].msg_hdr.msg_iov = &b->iov[b->n];
    b->m[b->n].msg_hdr.msg_iovlen = 1;
    b->m[b->n].msg_hdr.msg_name = (void *)to;
    b->m[b->n].msg_hdr.msg_namelen = sizeof *to;
    b->n++;
}

static void flush(int fd, batch_t *b, int dir)
{
    unsigned off = 0;

    while (off < b->n) {
        int r = sendmmsg(fd, b->m + off, b->n - off, 0);
        if (r <= 0)
            break;
        off += (unsigned)r;
    }
    sent[dir] += off;
    b->n = 0;
}

/* Drains one socket; dir is the direction of the packets it receives. */
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
        for (int k = 0; k < r; k++) {
            struct cmsghdr *c;
            uint64_t t_sent, t_recv = 0;
            if (m[k].msg_len < 20)
                continue;
            recvd[dir]++;
            for (c = CMSG_FIRSTHDR(&m[k].msg_hdr); c; c = CMSG_NXTHDR(&m[k].msg_hdr, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                    struct timespec ts;
                    memcpy(&ts, CMSG_DATA(c), sizeof ts);
                    t_recv = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
                }
            memcpy(&t_sent, rbuf[k] + 12, 8);
            if (t_recv > t_sent) {
                uint64_t us = (t_recv - t_sent) / 1000;
                hist[us < HIST_US ? us : HIST_US - 1]++;
                hist_n++;
            }
        }
    }
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
    uint64_t t0, t1, last_rx;

    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--bus")) opt.bus = v;
        else if (!strcmp(k, "--sessions")) opt.n = atoi(v);
        else if (!strcmp(k, "--seconds")) opt.seconds = atoi(v);
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
    if (opt.n < 1 || opt.n > 20000 || opt.seconds < 1 || opt.seconds > 120) {
        fprintf(stderr, "mdload: --sessions 1..20000, --seconds 1..120\n");
        return 2;
    }
    gw_log_init("mdload", GW_LOG_WARN);
    if (opt.srtp) {
        static unsigned char key[30];
        srtp_policy_t pol;
        for (int i = 0; i < 30; i++)
            key[i] = (unsigned char)i;
        memset(&pol, 0, sizeof pol);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
        pol.ssrc.type = ssrc_any_outbound;
        pol.key = key;
        pol.window_size = 1024;
        if (srtp_init() != srtp_err_status_ok || srtp_create(&srtp_tx, &pol) != srtp_err_status_ok) {
            fprintf(stderr, "mdload: libsrtp2 set-up failed\n");
            return 1;
        }
    }
    bare = opt.bare_ext != NULL;
    sess = calloc((size_t)opt.n, sizeof *sess);
    hist = calloc(HIST_US, sizeof *hist);
    bp = calloc(1, sizeof *bp);
    bl = calloc(1, sizeof *bl);

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
    memset(hist, 0, HIST_US * sizeof *hist);
    hist_n = sent[0] = sent[1] = recvd[0] = recvd[1] = 0;

    cpu0 = opt.pid ? cpu_s(opt.pid) : 0;
    t0 = now_ns(CLOCK_MONOTONIC);
    if (strcmp(opt.mode, "paced") == 0) {
        /* Every 1 ms, the twentieth of the sessions whose turn it is. */
        uint64_t tick = t0;
        int slots = opt.seconds * 1000;
        for (int s = 0; s < slots; s++) {
            for (int i = s % 20; i < opt.n; i += 20) {
                build(bp, 0, i, &sess[i].ext);
                if (bp->n == BATCH)
                    flush(fp, bp, 0);
                build(bl, 1, i, &sess[i].in);
                if (bl->n == BATCH)
                    flush(fl, bl, 1);
            }
            flush(fp, bp, 0);
            flush(fl, bl, 1);
            drain(fl, 0);
            drain(fp, 1);
            tick += 1000000u;
            sleep_until(tick);
        }
    } else {
        /* Unpaced: a bounded count, sessions in turn, both directions. */
        int i = 0;
        uint64_t end = t0 + (uint64_t)opt.seconds * 1000000000u;
        while (sent[0] + sent[1] < (uint64_t)opt.burst_count &&
               now_ns(CLOCK_MONOTONIC) < end) {
            for (int k = 0; k < BATCH / 2; k++, i = (i + 1) % opt.n) {
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

    {
        uint64_t s = sent[0] + sent[1], r = recvd[0] + recvd[1];
        printf("{\"target\":\"%s\",\"srtp\":%d,\"mode\":\"%s\",\"sessions\":%d,\"seconds\":%.3f,"
               "\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ",\"loss_pct\":%.4f,"
               "\"relayed_pps\":%.0f,\"latency_p50_us\":%.0f,\"latency_p99_us\":%.0f",
               bare ? "bare" : "mediad", opt.srtp, opt.mode, opt.n, elapsed, s, r,
               s ? 100.0 * (double)(s - (r < s ? r : s)) / (double)s : 0.0,
               (double)r / elapsed, pct(0.50), pct(0.99));
        if (opt.pid && cpu1 > cpu0)
            printf(",\"cpu_pct\":%.1f,\"pps_per_core\":%.0f",
                   100.0 * (cpu1 - cpu0) / elapsed, (double)r / (cpu1 - cpu0));
        if (!bare && opt.pid)
            printf(",\"rss_kb_before\":%ld,\"rss_kb_after\":%ld,"
                   "\"bytes_per_session\":%.0f", rss0, rss1,
                   (double)(rss1 - rss0) * 1024.0 / (opt.n - half));
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
    free(sess);
    return 0;

setup_failed:
    fprintf(stderr, "mdload: session set-up failed (%d errors)\n", reply_errors);
    return 1;
}
