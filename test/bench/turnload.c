/* turnload: allocation-rate load for a TURN server, independent of turnd's
 * code (its own STUN encoding; GnuTLS for MD5 and HMAC-SHA1).
 *
 *   turnload IP PORT USER PASSWORD [CLIENTS] [SECONDS] [SRC_PREFIX] [SERVER_PID]
 *
 * CLIENTS UDP sockets each loop over: Allocate (no credentials) -> 401,
 * Allocate with MESSAGE-INTEGRITY -> 200, Refresh lifetime 0 -> 200, so
 * that the server does the full challenge and a relay socket open and
 * close per allocation, and ports never run out. Each allocation comes
 * from a fresh socket (a new 5-tuple, as a new client): coturn refuses to
 * reuse a 5-tuple soon after a delete (437), and at thousands per second
 * the kernel's ephemeral ports come round quickly, so with SRC_PREFIX
 * ("127.0.21") the sockets also rotate over source addresses .1 to .250. One outstanding request
 * per socket, retransmitted after 500 ms. Prints one line:
 *   allocations N seconds S rate R/s errors E timeouts T
 * and with SERVER_PID also: cpu_s C other_cores O steal_cores X (below).
 * Loopback benchmarking only; nothing here checks certificates or nonces.
 *
 * Relay mode (relayed packets/s, CPU per relayed packet, memory per
 * allocation):
 *   turnload -r IP PORT USER PASSWORD ALLOCS SECONDS PEER_IP PPS SERVER_PID
 * forks an echo peer on PEER_IP (recvmmsg/sendmmsg, sends every datagram
 * back to the relay it came from), makes ALLOCS allocations one by one,
 * each with a channel to the echo peer, reading SERVER_PID's VmRSS after
 * half and after all of them, then sends 160-byte ChannelData round-robin
 * over the allocations: SECONDS paced at PPS in total, then SECONDS
 * unpaced with at most 512 packets in flight. Each echoed packet crossed
 * the server twice (client -> peer, peer -> client); the server's CPU
 * (utime + stime from /proc/SERVER_PID/stat) is divided by the relayed
 * packets the echo peer and the clients saw. Prints three lines:
 *   relay allocs N errors E rss_half_kb A rss_full_kb B bytes_per_alloc C
 *   relay paced sent S received R loss L% pps X cpu_s C us_per_pkt U
 *         other_cores O steal_cores X
 *   relay unpaced ... (same fields)
 * Set-up gives up after SETUP_MAX_S seconds (a dead server), counting the
 * allocations not made as errors; the echo peer dies with its parent.
 *
 * How noisy the machine was during a measured window: other_cores is the
 * CPU time the whole machine spent busy (/proc/stat: user, nice, system,
 * irq, softirq) minus that of the server and of turnload itself (and its
 * echo peer), per second of the window, i.e. how many cores other jobs
 * (and kernel work not charged to a process) took; steal_cores the same
 * for the hypervisor's steal time. /proc/stat counts in ticks, so figures
 * under ~0.02 are rounding.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXC 1024
#define SETUP_MAX_S 30.0

enum { S_CHALLENGE, S_ALLOC, S_DELETE };

typedef struct {
    int fd, state;
    uint8_t tid[12];
    uint8_t req[512];
    size_t reqlen;
    double sent;
    char nonce[256];        /* servers may bind nonces to the 5-tuple */
    size_t noncelen;
} cl_t;

static const char *user, *pass;
static char realm[256];
static size_t realmlen;
static uint8_t key[16];
static int have_key;
static unsigned long long nalloc, nerr, ntimeout;
static int first_error;
static struct sockaddr_in srv = { .sin_family = AF_INET };
static struct pollfd pf[MAXC];
static cl_t cl[MAXC];
static const char *src_prefix;
static unsigned src_next;

static int open_client(int i)
{
    if (cl[i].fd > 0)
        close(cl[i].fd);
    cl[i].fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (cl[i].fd >= 0 && src_prefix != NULL) {
        struct sockaddr_in src = { .sin_family = AF_INET };
        char ip[64];

        snprintf(ip, sizeof ip, "%s.%u", src_prefix, 1 + src_next++ % 250);
        if (inet_pton(AF_INET, ip, &src.sin_addr) != 1 ||
            bind(cl[i].fd, (struct sockaddr *)&src, sizeof src) < 0)
            return -1;
    }
    if (cl[i].fd < 0 || connect(cl[i].fd, (struct sockaddr *)&srv, sizeof srv) < 0)
        return -1;
    pf[i].fd = cl[i].fd;
    pf[i].events = POLLIN;
    cl[i].noncelen = 0;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t put_attr(uint8_t *p, uint16_t t, const void *v, size_t n)
{
    p[0] = t >> 8; p[1] = t & 0xff; p[2] = n >> 8; p[3] = n & 0xff;
    memcpy(p + 4, v, n);
    memset(p + 4 + n, 0, (4 - n % 4) % 4);
    return 4 + ((n + 3) & ~(size_t)3);
}

static void build(cl_t *c, uint16_t type, int auth, int lifetime0)
{
    uint8_t *p = c->req;
    size_t off = 20;
    static const uint8_t udp[4] = { 17, 0, 0, 0 }, zero[4] = { 0 };

    for (int i = 0; i < 12; i++)
        c->tid[i] = (uint8_t)rand();
    p[0] = type >> 8; p[1] = type & 0xff;
    p[4] = 0x21; p[5] = 0x12; p[6] = 0xa4; p[7] = 0x42;
    memcpy(p + 8, c->tid, 12);
    if (lifetime0)
        off += put_attr(p + off, 0x000D, zero, 4);
    else
        off += put_attr(p + off, 0x0019, udp, 4);
    if (auth) {
        off += put_attr(p + off, 0x0006, user, strlen(user));
        off += put_attr(p + off, 0x0014, realm, realmlen);
        off += put_attr(p + off, 0x0015, c->nonce, c->noncelen);
        p[2] = (uint8_t)((off + 24 - 20) >> 8); p[3] = (uint8_t)(off + 24 - 20);
        uint8_t mac[20];
        gnutls_hmac_fast(GNUTLS_MAC_SHA1, key, 16, p, off, mac);
        off += put_attr(p + off, 0x0008, mac, 20);
    }
    p[2] = (uint8_t)((off - 20) >> 8); p[3] = (uint8_t)(off - 20);
    c->reqlen = off;
}

static void send_req(cl_t *c)
{
    send(c->fd, c->req, c->reqlen, 0);
    c->sent = now_s();
}

static void next(cl_t *c)
{
    switch (c->state) {
    case S_CHALLENGE: build(c, 0x0003, 0, 0); break;
    case S_ALLOC: build(c, 0x0003, 1, 0); break;
    case S_DELETE: build(c, 0x0004, 1, 1); break;
    }
    send_req(c);
}

/* Reads realm and nonce from a 401. */
static void learn(cl_t *c, const uint8_t *m, size_t len)
{
    size_t off = 20;

    while (off + 4 <= len) {
        uint16_t t = m[off] << 8 | m[off + 1], n = m[off + 2] << 8 | m[off + 3];
        if (off + 4 + n > len || n >= 256)
            break;
        if (t == 0x0014) { memcpy(realm, m + off + 4, n); realmlen = n; }
        if (t == 0x0015) { memcpy(c->nonce, m + off + 4, n); c->noncelen = n; }
        off += 4 + ((n + 3u) & ~3u);
    }
    if (!have_key && realmlen > 0) {
        char buf[1024];
        int k = snprintf(buf, sizeof buf, "%s:%.*s:%s", user, (int)realmlen, realm, pass);
        gnutls_hash_fast(GNUTLS_DIG_MD5, buf, (size_t)k, key);
        have_key = 1;
    }
}

static void on_answer(cl_t *c, const uint8_t *m, size_t len)
{
    int cls;

    if (len < 20 || memcmp(m + 8, c->tid, 12) != 0)
        return;
    cls = ((m[0] & 1) << 1) | ((m[1] >> 4) & 1);
    if (cls == 3 && first_error == 0 && c->state != S_CHALLENGE && len >= 28)
        first_error = (m[26] & 7) * 100 + m[27];   /* ERROR-CODE first */
    if (c->state == S_CHALLENGE) {
        learn(c, m, len);
        c->state = S_ALLOC;
    } else if (c->state == S_ALLOC) {
        if (cls == 2) {
            c->state = S_DELETE;
        } else {
            nerr++;
            learn(c, m, len);   /* 438: a fresh nonce */
            c->state = S_CHALLENGE;
        }
    } else {
        if (cls == 2)
            nalloc++;
        else
            nerr++;
        c->state = S_CHALLENGE;
        if (open_client((int)(c - cl)) < 0) {
            perror("turnload: socket");
            exit(1);
        }
    }
    next(c);
}

/* ---- relay mode ---- */

#define RPAYLOAD 160
#define RWINDOW  512
#define RCHAN    0x4000

static struct sockaddr_in peer = { .sin_family = AF_INET };

/* The echo peer (child): every datagram back to where it came from; at
 * SIGTERM writes its count to `out`. */
static volatile sig_atomic_t echo_stop;
static void on_term(int sig) { (void)sig; echo_stop = 1; }

static void echo_peer(int fd, int out)
{
    enum { B = 64 };
    static uint8_t bufs[B][2048];
    struct mmsghdr m[B];
    struct iovec iov[B];
    struct sockaddr_in from[B];
    unsigned long long got = 0;
    struct sigaction sa = { .sa_handler = on_term };

    sigaction(SIGTERM, &sa, NULL);
    prctl(PR_SET_PDEATHSIG, SIGTERM);   /* turnload killed: no orphan */
    if (getppid() == 1)
        _exit(1);
    while (!echo_stop) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int k;

        if (poll(&p, 1, 100) <= 0)
            continue;
        for (int i = 0; i < B; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = sizeof bufs[i];
            memset(&m[i], 0, sizeof m[i]);
            m[i].msg_hdr.msg_iov = &iov[i];
            m[i].msg_hdr.msg_iovlen = 1;
            m[i].msg_hdr.msg_name = &from[i];
            m[i].msg_hdr.msg_namelen = sizeof from[i];
        }
        k = recvmmsg(fd, m, B, MSG_DONTWAIT, NULL);
        if (k <= 0)
            continue;
        got += (unsigned long long)k;
        for (int i = 0; i < k; i++)
            iov[i].iov_len = m[i].msg_len;
        sendmmsg(fd, m, (unsigned)k, 0);
    }
    if (write(out, &got, sizeof got) != (ssize_t)sizeof got)
        _exit(1);
    _exit(0);
}

static double proc_cpu_s(int pid)
{
    char path[64], buf[1024], *p;
    unsigned long long ut = 0, st = 0;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    if (fgets(buf, sizeof buf, f) == NULL) {
        fclose(f);
        return -1;
    }
    fclose(f);
    p = strrchr(buf, ')');   /* comm may hold spaces */
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                            &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long proc_rss_kb(int pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* The machine's busy and steal time, all CPUs, in seconds. */
typedef struct {
    double t, busy, steal, self, server, echo;
} sys_sample_t;

static void sys_sample(sys_sample_t *s, int server_pid, int echo_pid)
{
    unsigned long long v[8] = { 0 };
    struct rusage ru;
    double hz = (double)sysconf(_SC_CLK_TCK);
    FILE *f = fopen("/proc/stat", "r");

    if (f != NULL) {
        if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
            memset(v, 0, sizeof v);
        fclose(f);
    }
    /* user nice system idle iowait irq softirq steal; guest is in user. */
    s->busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / hz;
    s->steal = (double)v[7] / hz;
    getrusage(RUSAGE_SELF, &ru);
    s->self = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
              (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    s->server = server_pid > 0 ? proc_cpu_s(server_pid) : 0;
    s->echo = echo_pid > 0 ? proc_cpu_s(echo_pid) : 0;
    s->t = now_s();
}

/* " other_cores O steal_cores X" for the window a..b. */
static void print_noise(const sys_sample_t *a, const sys_sample_t *b)
{
    double dt = b->t - a->t, other;

    if (dt <= 0)
        return;
    other = (b->busy - a->busy) - (b->self - a->self) - (b->server - a->server) -
            (b->echo - a->echo);
    printf(" other_cores %.2f steal_cores %.2f", other > 0 ? other / dt : 0.0,
           (b->steal - a->steal) / dt);
}

/* One request/answer on a connected socket, 3 tries of 1 s: the answer's
 * class (0-3), or -1. */
static int transact(cl_t *c, uint8_t *resp, size_t cap, size_t *rlen)
{
    for (int tries = 0; tries < 3; tries++) {
        double until;

        send_req(c);
        until = c->sent + 1.0;
        while (now_s() < until) {
            struct pollfd p = { .fd = c->fd, .events = POLLIN };
            ssize_t r;

            if (poll(&p, 1, 100) <= 0)
                continue;
            r = recv(c->fd, resp, cap, MSG_DONTWAIT);
            if (r < 20 || memcmp(resp + 8, c->tid, 12) != 0)
                continue;
            *rlen = (size_t)r;
            return ((resp[0] & 1) << 1) | ((resp[1] >> 4) & 1);
        }
    }
    return -1;
}

/* ChannelBind RCHAN to the echo peer, with credentials. */
static void build_chanbind(cl_t *c)
{
    uint8_t *p = c->req, mac[20], num[4] = { RCHAN >> 8, RCHAN & 0xff, 0, 0 };
    uint8_t xpa[8] = { 0, 1 };
    uint32_t ip = ntohl(peer.sin_addr.s_addr) ^ 0x2112A442u;
    uint16_t port = ntohs(peer.sin_port) ^ 0x2112;
    size_t off = 20;

    xpa[2] = (uint8_t)(port >> 8); xpa[3] = (uint8_t)port;
    xpa[4] = (uint8_t)(ip >> 24); xpa[5] = (uint8_t)(ip >> 16);
    xpa[6] = (uint8_t)(ip >> 8); xpa[7] = (uint8_t)ip;
    for (int i = 0; i < 12; i++)
        c->tid[i] = (uint8_t)rand();
    p[0] = 0x00; p[1] = 0x09;
    p[4] = 0x21; p[5] = 0x12; p[6] = 0xa4; p[7] = 0x42;
    memcpy(p + 8, c->tid, 12);
    off += put_attr(p + off, 0x000C, num, 4);
    off += put_attr(p + off, 0x0012, xpa, 8);
    off += put_attr(p + off, 0x0006, user, strlen(user));
    off += put_attr(p + off, 0x0014, realm, realmlen);
    off += put_attr(p + off, 0x0015, c->nonce, c->noncelen);
    p[2] = (uint8_t)((off + 24 - 20) >> 8); p[3] = (uint8_t)(off + 24 - 20);
    gnutls_hmac_fast(GNUTLS_MAC_SHA1, key, 16, p, off, mac);
    off += put_attr(p + off, 0x0008, mac, 20);
    p[2] = (uint8_t)((off - 20) >> 8); p[3] = (uint8_t)(off - 20);
    c->reqlen = off;
}

/* Allocate (401, then with credentials) and ChannelBind: 0 or -1. */
static int relay_setup(cl_t *c)
{
    uint8_t resp[2048];
    size_t rlen;

    build(c, 0x0003, 0, 0);
    if (transact(c, resp, sizeof resp, &rlen) != 3)
        return -1;
    learn(c, resp, rlen);
    for (int tries = 0; tries < 2; tries++) {
        int cls;

        build(c, 0x0003, 1, 0);
        cls = transact(c, resp, sizeof resp, &rlen);
        if (cls == 2)
            break;
        if (cls != 3 || tries == 1)
            return -1;
        learn(c, resp, rlen);   /* 438: a fresh nonce */
    }
    build_chanbind(c);
    return transact(c, resp, sizeof resp, &rlen) == 2 ? 0 : -1;
}

/* One phase: SECS seconds of ChannelData, paced at pps (0 = unpaced with
 * a window). Returns packets received back; *sent gets those sent. */
static unsigned long long relay_phase(int n, double secs, double pps,
                                      unsigned long long *sent)
{
    uint8_t pkt[4 + RPAYLOAD], buf[2048];
    unsigned long long tx = 0, rx = 0;
    double t0 = now_s(), end = t0 + secs, t;
    int next_c = 0;

    pkt[0] = RCHAN >> 8; pkt[1] = RCHAN & 0xff; pkt[2] = 0; pkt[3] = RPAYLOAD;
    memset(pkt + 4, 0xab, RPAYLOAD);
    while ((t = now_s()) < end) {
        unsigned long long due = pps > 0 ? (unsigned long long)((t - t0) * pps)
                                         : rx + RWINDOW;
        int burst = 0;

        while (tx < due && burst < 64) {
            if (send(cl[next_c].fd, pkt, sizeof pkt, MSG_DONTWAIT) == (ssize_t)sizeof pkt)
                tx++;
            else if (pps <= 0)
                break;
            else
                tx++;   /* counted as lost */
            next_c = (next_c + 1) % n;
            burst++;
        }
        if (poll(pf, (nfds_t)n, pps > 0 ? 1 : 0) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            if (!(pf[i].revents & POLLIN))
                continue;
            while (recv(cl[i].fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
                rx++;
        }
    }
    /* Stragglers: 200 ms. */
    end = now_s() + 0.2;
    while (now_s() < end) {
        if (poll(pf, (nfds_t)n, 20) <= 0)
            continue;
        for (int i = 0; i < n; i++)
            while (recv(cl[i].fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
                rx++;
    }
    *sent = tx;
    return rx;
}

static int relay_main(int argc, char **argv)
{
    int n, spid, echofd, pipefd[2], errors = 0;
    double secs, pps;
    long rss_half = -1, rss_full = -1;
    socklen_t plen = sizeof peer;
    pid_t child;
    int bufsz = 4 << 20;
    double setup_end;

    if (argc < 11 || inet_pton(AF_INET, argv[2], &srv.sin_addr) != 1 ||
        inet_pton(AF_INET, argv[8], &peer.sin_addr) != 1) {
        fprintf(stderr, "usage: turnload -r IP PORT USER PASSWORD ALLOCS SECONDS "
                "PEER_IP PPS SERVER_PID\n");
        return 2;
    }
    srv.sin_port = htons((uint16_t)atoi(argv[3]));
    user = argv[4];
    pass = argv[5];
    n = atoi(argv[6]);
    secs = atof(argv[7]);
    pps = atof(argv[9]);
    spid = atoi(argv[10]);
    if (n < 2 || n > MAXC || secs <= 0 || pps <= 0 || spid <= 0) {
        fprintf(stderr, "turnload: bad ALLOCS (2..%d), SECONDS, PPS or PID\n", MAXC);
        return 2;
    }
    echofd = socket(AF_INET, SOCK_DGRAM, 0);
    setsockopt(echofd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
    setsockopt(echofd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
    if (echofd < 0 || bind(echofd, (struct sockaddr *)&peer, sizeof peer) < 0 ||
        getsockname(echofd, (struct sockaddr *)&peer, &plen) < 0 || pipe(pipefd) < 0) {
        perror("turnload: echo peer");
        return 1;
    }
    child = fork();
    if (child < 0) {
        perror("turnload: fork");
        return 1;
    }
    if (child == 0) {
        close(pipefd[0]);
        echo_peer(echofd, pipefd[1]);
    }
    close(pipefd[1]);
    close(echofd);
    srand((unsigned)getpid());
    setup_end = now_s() + SETUP_MAX_S;
    for (int i = 0; i < n; i++) {
        if (open_client(i) < 0) {
            perror("turnload: socket");
            kill(child, SIGTERM);
            return 1;
        }
        setsockopt(cl[i].fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
        if (now_s() > setup_end || relay_setup(&cl[i]) < 0)
            errors++;
        if (i + 1 == n / 2) {
            usleep(200000);
            rss_half = proc_rss_kb(spid);
        }
    }
    usleep(200000);
    rss_full = proc_rss_kb(spid);
    printf("relay allocs %d errors %d rss_half_kb %ld rss_full_kb %ld bytes_per_alloc %.0f\n",
           n, errors, rss_half, rss_full,
           (double)(rss_full - rss_half) * 1024.0 / (double)(n - n / 2));
    for (int phase = 0; phase < 2; phase++) {
        unsigned long long sent, rx;
        sys_sample_t s0, s1;
        double dt, relayed, cpu;

        sys_sample(&s0, spid, child);
        rx = relay_phase(n, secs, phase == 0 ? pps : 0, &sent);
        sys_sample(&s1, spid, child);
        dt = s1.t - s0.t;
        cpu = s1.server - s0.server;
        /* What reached the peer is not counted here (the echo peer runs
         * on): each packet back crossed the server twice, each lost one
         * at least once. */
        relayed = 2.0 * (double)rx + (double)(sent - rx);
        printf("relay %s sent %llu received %llu loss %.2f%% pps %.0f cpu_s %.2f "
               "us_per_pkt %.2f", phase == 0 ? "paced" : "unpaced", sent, rx,
               sent ? 100.0 * (double)(sent - rx) / (double)sent : 0.0,
               relayed / dt, cpu, relayed > 0 ? cpu * 1e6 / relayed : 0.0);
        print_noise(&s0, &s1);
        printf("\n");
        fflush(stdout);
    }
    kill(child, SIGTERM);
    {
        unsigned long long got = 0;
        if (read(pipefd[0], &got, sizeof got) == (ssize_t)sizeof got)
            printf("relay echo_peer_received %llu\n", got);
    }
    waitpid(child, NULL, 0);
    return errors == n ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "-r") == 0)
        return relay_main(argc, argv);
    int n = argc > 5 ? atoi(argv[5]) : 32;
    double secs = argc > 6 ? atof(argv[6]) : 5, t0, end;
    int spid = argc > 8 ? atoi(argv[8]) : 0;
    sys_sample_t s0, s1;
    uint8_t buf[2048];

    if (argc < 5 || n < 1 || n > MAXC || inet_pton(AF_INET, argv[1], &srv.sin_addr) != 1) {
        fprintf(stderr, "usage: turnload IP PORT USER PASSWORD [CLIENTS<=%d] [SECONDS] "
                "[SRC_PREFIX] [SERVER_PID]\n", MAXC);
        return 2;
    }
    srv.sin_port = htons((uint16_t)atoi(argv[2]));
    user = argv[3];
    pass = argv[4];
    src_prefix = argc > 7 && argv[7][0] != '\0' ? argv[7] : NULL;
    srand((unsigned)getpid());
    for (int i = 0; i < n; i++) {
        if (open_client(i) < 0) {
            perror("turnload: socket");
            return 1;
        }
        cl[i].state = S_CHALLENGE;
        next(&cl[i]);
    }
    sys_sample(&s0, spid, 0);
    t0 = now_s();
    end = t0 + secs;
    while (now_s() < end) {
        double t;
        if (poll(pf, (nfds_t)n, 50) < 0 && errno != EINTR)
            break;
        t = now_s();
        for (int i = 0; i < n; i++) {
            ssize_t r;
            while ((r = recv(cl[i].fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
                on_answer(&cl[i], buf, (size_t)r);
            if (t - cl[i].sent > 0.5) {
                ntimeout++;
                send_req(&cl[i]);
            }
        }
    }
    secs = now_s() - t0;
    sys_sample(&s1, spid, 0);
    printf("allocations %llu seconds %.2f rate %.0f/s errors %llu timeouts %llu",
           nalloc, secs, nalloc / secs, nerr, ntimeout);
    if (spid > 0) {
        printf(" cpu_s %.2f", s1.server - s0.server);
        print_noise(&s0, &s1);
    }
    if (first_error)
        printf(" (first error %d)", first_error);
    printf("\n");
    return 0;
}
