/* turnload: allocation-rate load for a TURN server, independent of turnd's
 * code (its own STUN encoding; GnuTLS for MD5 and HMAC-SHA1).
 *
 *   turnload IP PORT USER PASSWORD [CLIENTS] [SECONDS] [SRC_PREFIX]
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
 * Loopback benchmarking only; nothing here checks certificates or nonces.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXC 1024

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

int main(int argc, char **argv)
{
    int n = argc > 5 ? atoi(argv[5]) : 32;
    double secs = argc > 6 ? atof(argv[6]) : 5, t0, end;
    uint8_t buf[2048];

    if (argc < 5 || n < 1 || n > MAXC || inet_pton(AF_INET, argv[1], &srv.sin_addr) != 1) {
        fprintf(stderr, "usage: turnload IP PORT USER PASSWORD [CLIENTS<=%d] [SECONDS]\n", MAXC);
        return 2;
    }
    srv.sin_port = htons((uint16_t)atoi(argv[2]));
    user = argv[3];
    pass = argv[4];
    src_prefix = argc > 7 ? argv[7] : NULL;
    srand((unsigned)getpid());
    for (int i = 0; i < n; i++) {
        if (open_client(i) < 0) {
            perror("turnload: socket");
            return 1;
        }
        cl[i].state = S_CHALLENGE;
        next(&cl[i]);
    }
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
    printf("allocations %llu seconds %.2f rate %.0f/s errors %llu timeouts %llu",
           nalloc, secs, nalloc / secs, nerr, ntimeout);
    if (first_error)
        printf(" (first error %d)", first_error);
    printf("\n");
    return 0;
}
