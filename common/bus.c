/* Control bus over ZeroMQ: see bus.h.
 *
 * Framing: a DEALER sends one frame (the packed Envelope); the ROUTER sees
 * [routing id][frame] and prefixes the routing id when sending. A ROUTER is
 * created with ZMQ_ROUTER_MANDATORY so that a send to a node that is gone
 * fails with EHOSTUNREACH instead of vanishing.
 *
 * CURVE: the ZAP handler thread owns the REP socket and the allow-list
 * from the moment it starts; the main thread never touches either again
 * until gw_bus_free() has shut the context down and joined the thread. The
 * only shared datum is the refusal counter (atomic). Handshake outcomes a
 * ZAP handler cannot see (a plain peer on a CURVE bus, a client whose key
 * sigd refused) come from a socket monitor, read in gw_bus_process().
 */
#include "bus.h"
#include "log.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define BUS_MAX_FRAME (256 * 1024)
#define BUS_CACHE 64
#define BUS_NBODY 64    /* body case numbers are below this */
#define BUS_MAX_KEYS 1024
#define BUS_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define BUS_ZAP_DOMAIN "gw"
#define BUS_LOG_EVERY_MS 10000  /* repeated refusals of one key: one line */
#define BUS_RETRY_AUTH_MS 2000  /* client: new handshake after a refusal */
#define BUS_MONITOR_MS 100      /* CURVE: handshake events read at least this often
                                 * by gw_bus_process_pending() */

typedef struct {
    uint8_t key[32];
    char label[GW_BUS_PEERLEN];     /* file name without .pub */
} bus_key_t;

/* The allow-list: owned by the ZAP thread once it runs. */
typedef struct {
    char dir[512];
    struct timespec mtime;          /* of dir when last read */
    bus_key_t *keys;
    unsigned nkeys;
    char last_fp[GW_BUS_FPLEN];     /* log throttling */
    int64_t last_log_ms;
    unsigned suppressed;
} bus_allow_t;

typedef struct {
    char peer[GW_BUS_PEERLEN];
    uint64_t request_id;      /* 0 = empty slot */
    uint8_t *data;
    size_t len;
} bus_cached_t;

struct gw_bus_s {
    /* private */
    void *zctx;
    void *sock;
    gw_bus_mode_t mode;
    gw_bus_handler_f handlers[BUS_NBODY];
    void *ctx;
    uint64_t next_id;
    int in_process;
    int sent;                   /* a frame went out since the last drain */
    int64_t next_monitor_ms;    /* CURVE: when gw_bus_process_pending() drains anyway */
    bus_cached_t cache[BUS_CACHE];
    unsigned cache_next;
    gw_bus_stats_t stats;
    /* CURVE */
    int curve;
    void *zap;                  /* REP, the ZAP thread's */
    pthread_t zap_thread;
    int zap_running;
    bus_allow_t allow;
    atomic_ulong zap_refused;
    void *monitor;              /* PAIR reading handshake events */
    int auth_failing;           /* client: last handshake was refused */
    int64_t reconnect_ms;       /* client: when to try again, 0 = no need */
    int64_t proto_log_ms;       /* server: last handshake failure logged */
    zmq_msg_t *cur_frame;       /* the frame being dispatched, for its key label */
    char endpoint[256];
};

const char *gw_bus_body_name(Gw__Envelope__BodyCase body)
{
    switch (body) {
#define X(c, name) case GW__ENVELOPE__BODY_##c: return name;
    GW_BUS_BODIES(X)
#undef X
    default:
        return "unset";
    }
}

/* ---- keys ------------------------------------------------------------ */

int gw_bus_endpoint_is_local(const char *ep)
{
    char host[256];
    const char *h, *end;
    struct in6_addr a6;
    struct in_addr a4;
    size_t n;

    if (ep == NULL)
        return 0;
    if (strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "inproc://", 9) == 0)
        return 1;
    if (strncmp(ep, "tcp://", 6) != 0)
        return 0;
    h = ep + 6;
    if ((end = strchr(h, ';')) != NULL)    /* "src;dst": the destination */
        h = end + 1;
    if (h[0] == '[') {
        h++;
        end = strchr(h, ']');
    } else {
        end = strrchr(h, ':');
    }
    if (end == NULL || (n = (size_t)(end - h)) == 0 || n >= sizeof host)
        return 0;
    memcpy(host, h, n);
    host[n] = '\0';
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return strcmp(host, "localhost") == 0;
}

int gw_bus_keygen(char pub[GW_BUS_KEYLEN], char sec[GW_BUS_KEYLEN])
{
    return zmq_curve_keypair(pub, sec) == 0 ? 0 : -EIO;
}

int gw_bus_key_public(const char *sec, char pub[GW_BUS_KEYLEN])
{
    if (sec == NULL || strlen(sec) != GW_BUS_KEYLEN - 1)
        return -EINVAL;
    return zmq_curve_public(pub, sec) == 0 ? 0 : -EINVAL;
}

void gw_bus_key_fingerprint(const char *pub, char fp[GW_BUS_FPLEN])
{
    uint8_t raw[32];
    uint64_t h = 14695981039346656037ull;

    if (pub == NULL || strlen(pub) != GW_BUS_KEYLEN - 1 ||
        zmq_z85_decode(raw, pub) == NULL) {
        snprintf(fp, GW_BUS_FPLEN, "%s", "invalid");
        return;
    }
    for (int i = 0; i < 32; i++)
        h = (h ^ raw[i]) * 1099511628211ull;
    snprintf(fp, GW_BUS_FPLEN, "%016llx", (unsigned long long)h);
}

static void fingerprint_raw(const uint8_t raw[32], char fp[GW_BUS_FPLEN])
{
    char z85[GW_BUS_KEYLEN];

    zmq_z85_encode(z85, raw, 32);
    gw_bus_key_fingerprint(z85, fp);
}

int gw_bus_key_read(const char *path, int secret, char key[GW_BUS_KEYLEN],
                    char *err, size_t errlen)
{
    char line[256];
    uint8_t raw[32];
    struct stat st;
    FILE *f;
    int rc = -EINVAL;

    f = fopen(path, "r");
    if (f == NULL) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    if (secret && fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        snprintf(err, errlen, "%s: secret key file is accessible to group or "
                 "others (mode %04o); chmod 600 it", path,
                 (unsigned)(st.st_mode & 07777));
        goto out;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        char *p = line, *e;
        while (*p == ' ' || *p == '\t')
            p++;
        e = p + strlen(p);
        while (e > p && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' ||
                         e[-1] == '\t'))
            *--e = '\0';
        if (*p == '\0' || *p == '#')
            continue;
        if (e - p != GW_BUS_KEYLEN - 1 || zmq_z85_decode(raw, p) == NULL) {
            /* Say what is wrong without quoting a line that may be a key. */
            snprintf(err, errlen, "%s: not a CURVE key (expected 40 Z85 "
                     "characters, got %zu characters)", path, (size_t)(e - p));
            goto out;
        }
        memcpy(key, p, GW_BUS_KEYLEN);
        explicit_bzero(line, sizeof line);
        rc = 0;
        goto out;
    }
    snprintf(err, errlen, "%s: no key in file", path);
out:
    explicit_bzero(line, sizeof line);
    explicit_bzero(raw, sizeof raw);
    fclose(f);
    return rc;
}

int gw_bus_key_write(const char *path, int secret, const char *key,
                     const char *comment)
{
    int fd, n, rc = 0;
    char buf[512];

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, secret ? 0600 : 0644);
    if (fd < 0)
        return -errno;
    n = snprintf(buf, sizeof buf, "# %s\n%s\n", comment ? comment : "", key);
    if (n < 0 || (size_t)n >= sizeof buf || write(fd, buf, (size_t)n) != n)
        rc = n < 0 || (size_t)n >= sizeof buf ? -EINVAL : -errno;
    explicit_bzero(buf, sizeof buf);
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc < 0)
        unlink(path);
    return rc;
}

/* ---- the allow-list and the ZAP handler --------------------------------- */

/* Reads every NAME.pub in the directory. A file that is not a key is
 * logged and skipped: one bad file must not lock every node out. */
static int allow_load(bus_allow_t *a, char *err, size_t errlen)
{
    bus_key_t *keys;
    unsigned n = 0;
    struct dirent *de;
    struct stat st;
    DIR *d;

    if (stat(a->dir, &st) < 0 || (d = opendir(a->dir)) == NULL) {
        snprintf(err, errlen, "allowed keys directory %s: %s", a->dir,
                 strerror(errno));
        return -errno;
    }
    keys = calloc(BUS_MAX_KEYS, sizeof *keys);
    if (keys == NULL) {
        closedir(d);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    while ((de = readdir(d)) != NULL && n < BUS_MAX_KEYS) {
        size_t len = strlen(de->d_name);
        char path[1024], z85[GW_BUS_KEYLEN], why[1200];

        if (len < 5 || strcmp(de->d_name + len - 4, ".pub") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", a->dir, de->d_name);
        if (gw_bus_key_read(path, 0, z85, why, sizeof why) < 0) {
            GW_WARN("bus: %s: skipped", why);
            continue;
        }
        zmq_z85_decode(keys[n].key, z85);
        snprintf(keys[n].label, sizeof keys[n].label, "%.*s",
                 (int)(len - 4 < GW_BUS_PEERLEN - 1 ? len - 4 : GW_BUS_PEERLEN - 1),
                 de->d_name);
        n++;
    }
    closedir(d);
    free(a->keys);
    a->keys = keys;
    a->nkeys = n;
    a->mtime = st.st_mtim;
    return 0;
}

static void allow_refresh(bus_allow_t *a)
{
    struct stat st;
    char err[600];

    if (stat(a->dir, &st) < 0 || (st.st_mtim.tv_sec == a->mtime.tv_sec &&
                                  st.st_mtim.tv_nsec == a->mtime.tv_nsec))
        return;
    if (allow_load(a, err, sizeof err) == 0)
        GW_INFO("bus: allowed keys reloaded from %s: %u key(s)", a->dir, a->nkeys);
    else
        GW_WARN("bus: %s (keeping the previous list)", err);
}

static const bus_key_t *allow_find(const bus_allow_t *a, const uint8_t *key)
{
    for (unsigned i = 0; i < a->nkeys; i++)
        if (memcmp(a->keys[i].key, key, 32) == 0)
            return &a->keys[i];
    return NULL;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line per refused key and address every BUS_LOG_EVERY_MS: a refused
 * node reconnects every second and must not flood the journal. */
static void log_refused(bus_allow_t *a, const char *fp, const char *addr,
                        const char *why)
{
    int64_t now = mono_ms();

    if (strcmp(a->last_fp, fp) == 0 && now - a->last_log_ms < BUS_LOG_EVERY_MS) {
        a->suppressed++;
        return;
    }
    GW_WARN("bus: peer %s refused: CURVE key %s %s%s", addr, fp, why,
            a->suppressed ? " (earlier refusals not logged)" : "");
    snprintf(a->last_fp, sizeof a->last_fp, "%s", fp);
    a->last_log_ms = now;
    a->suppressed = 0;
}

static void zap_send(void *zap, const char *s, size_t n, int more)
{
    zmq_send(zap, s, n, more ? ZMQ_SNDMORE : 0);
}

/* ZAP request (RFC 27): version, request id, domain, address, routing id,
 * mechanism, credentials...; reply: version, request id, status code,
 * status text, user id, metadata. */
static void zap_handle(gw_bus_t *bus, zmq_msg_t *f, int nf)
{
    char addr[64] = "?", fp[GW_BUS_FPLEN] = "none";
    const bus_key_t *k = NULL;
    const char *why = "is not in the allowed keys";
    size_t n;

    if (nf >= 4) {
        n = zmq_msg_size(&f[3]) < sizeof addr - 1 ? zmq_msg_size(&f[3]) : sizeof addr - 1;
        memcpy(addr, zmq_msg_data(&f[3]), n);
        addr[n] = '\0';
    }
    if (nf == 7 && zmq_msg_size(&f[5]) == 5 &&
        memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 && zmq_msg_size(&f[6]) == 32) {
        fingerprint_raw(zmq_msg_data(&f[6]), fp);
        allow_refresh(&bus->allow);
        k = allow_find(&bus->allow, zmq_msg_data(&f[6]));
    } else {
        why = "missing: not a CURVE handshake";
    }
    if (k != NULL)
        GW_DEBUG("bus: peer %s admitted: CURVE key %s ('%s')", addr, fp, k->label);
    else {
        atomic_fetch_add(&bus->zap_refused, 1);
        log_refused(&bus->allow, fp, addr, why);
    }
    zap_send(bus->zap, "1.0", 3, 1);
    if (nf >= 2)
        zmq_send(bus->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
    else
        zap_send(bus->zap, "", 0, 1);
    zap_send(bus->zap, k ? "200" : "400", 3, 1);
    zap_send(bus->zap, k ? "OK" : "key not allowed", k ? 2 : 15, 1);
    zap_send(bus->zap, k ? k->label : "", k ? strlen(k->label) : 0, 1);
    zap_send(bus->zap, "", 0, 0);
}

static void *zap_main(void *arg)
{
    gw_bus_t *bus = arg;
    zmq_msg_t f[8];
    int more, nf;
    size_t ml;

    for (;;) {
        nf = 0;
        do {
            zmq_msg_t extra, *m = nf < 8 ? &f[nf] : &extra;
            zmq_msg_init(m);
            if (zmq_msg_recv(m, bus->zap, 0) < 0) {
                int e = zmq_errno();
                zmq_msg_close(m);
                for (int i = 0; i < nf && i < 8; i++)
                    zmq_msg_close(&f[i]);
                if (e == ETERM)
                    goto out;
                nf = -1;
                break;
            }
            ml = sizeof more;
            zmq_getsockopt(bus->zap, ZMQ_RCVMORE, &more, &ml);
            if (m == &extra)
                zmq_msg_close(m);
            nf++;
        } while (more);
        if (nf < 0)
            continue;
        zap_handle(bus, f, nf > 8 ? 8 : nf);
        for (int i = 0; i < nf && i < 8; i++)
            zmq_msg_close(&f[i]);
    }
out:
    zmq_close(bus->zap);
    bus->zap = NULL;
    return NULL;
}

/* ---- handshake events (socket monitor) ---------------------------------- */

static int monitor_start(gw_bus_t *bus, char *err, size_t errlen)
{
    char ep[64];

    snprintf(ep, sizeof ep, "inproc://gw-bus-monitor-%p", (void *)bus);
    if (zmq_socket_monitor(bus->sock, ep, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED) < 0 ||
        (bus->monitor = zmq_socket(bus->zctx, ZMQ_PAIR)) == NULL ||
        zmq_connect(bus->monitor, ep) < 0) {
        snprintf(err, errlen, "socket monitor: %s", zmq_strerror(zmq_errno()));
        return -EIO;
    }
    return 0;
}

/* Logs handshake outcomes: on a client the first refusal after a success
 * (and the recovery), on a server failures the ZAP handler never sees. */
static void monitor_drain(gw_bus_t *bus)
{
    zmq_msg_t ev, ep;
    uint16_t event;
    uint32_t value;

    if (bus->monitor == NULL)
        return;
    for (;;) {
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, bus->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        zmq_msg_init(&ep);
        zmq_msg_recv(&ep, bus->monitor, ZMQ_DONTWAIT);
        if (zmq_msg_size(&ev) >= 6) {
            memcpy(&event, zmq_msg_data(&ev), 2);
            memcpy(&value, (uint8_t *)zmq_msg_data(&ev) + 2, 4);
            if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
                if (bus->mode == GW_BUS_CLIENT && bus->auth_failing)
                    GW_INFO("bus: CURVE handshake with %.*s succeeded",
                            (int)zmq_msg_size(&ep), (char *)zmq_msg_data(&ep));
                bus->auth_failing = 0;
            } else if (bus->mode == GW_BUS_CLIENT) {
                if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
                    bus->stats.auth_refused++;
                if (!bus->auth_failing)
                    GW_ERR("bus: %.*s refused the handshake (%s, code %u): is "
                           "this node's public key in sigd's allowed keys, and "
                           "bus_server_key_file sigd's key?",
                           (int)zmq_msg_size(&ep), (char *)zmq_msg_data(&ep),
                           event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "key refused"
                                                                    : "protocol",
                           (unsigned)value);
                bus->auth_failing = 1;
                /* ZeroMQ does not reconnect after a refused handshake: we
                 * do, so that admitting our key later is enough. */
                bus->reconnect_ms = mono_ms() + BUS_RETRY_AUTH_MS;
            } else if (event != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH &&
                       mono_ms() - bus->proto_log_ms >= BUS_LOG_EVERY_MS) {
                /* Auth refusals were logged by the ZAP handler. */
                GW_WARN("bus: a peer failed the CURVE handshake on %.*s (event "
                        "0x%x, code 0x%x): a plain TCP peer, or one with the "
                        "wrong server key", (int)zmq_msg_size(&ep),
                        (char *)zmq_msg_data(&ep), (unsigned)event, (unsigned)value);
                bus->proto_log_ms = mono_ms();
            }
        }
        zmq_msg_close(&ep);
        zmq_msg_close(&ev);
    }
}

/* ---- set-up -------------------------------------------------------------- */

static int curve_server(gw_bus_t *bus, const gw_bus_opts_t *o, char *err,
                        size_t errlen)
{
    char sec[GW_BUS_KEYLEN], pub[GW_BUS_KEYLEN], fp[GW_BUS_FPLEN];
    int one = 1, rc;

    if (o->allowed_keys_dir == NULL || o->allowed_keys_dir[0] == '\0') {
        snprintf(err, errlen, "CURVE needs a directory of allowed public keys "
                 "(bus_allowed_keys_dir)");
        return -EINVAL;
    }
    rc = gw_bus_key_read(o->secret_key_file, 1, sec, err, errlen);
    if (rc < 0)
        return rc;
    snprintf(bus->allow.dir, sizeof bus->allow.dir, "%s", o->allowed_keys_dir);
    rc = allow_load(&bus->allow, err, errlen);
    if (rc < 0)
        goto out;
    /* The handler must exist before the server binds (ZMQ looks it up when
     * a connection comes in). */
    bus->zap = zmq_socket(bus->zctx, ZMQ_REP);
    if (bus->zap == NULL || zmq_bind(bus->zap, BUS_ZAP_ENDPOINT) < 0) {
        snprintf(err, errlen, "ZAP handler: bind %s: %s", BUS_ZAP_ENDPOINT,
                 zmq_strerror(zmq_errno()));
        rc = -EIO;
        goto out;
    }
    if (zmq_setsockopt(bus->sock, ZMQ_CURVE_SERVER, &one, sizeof one) < 0 ||
        zmq_setsockopt(bus->sock, ZMQ_CURVE_SECRETKEY, sec, GW_BUS_KEYLEN) < 0 ||
        zmq_setsockopt(bus->sock, ZMQ_ZAP_DOMAIN, BUS_ZAP_DOMAIN,
                       strlen(BUS_ZAP_DOMAIN)) < 0) {
        snprintf(err, errlen, "CURVE options: %s", zmq_strerror(zmq_errno()));
        rc = -EIO;
        goto out;
    }
    gw_bus_key_public(sec, pub);
    gw_bus_key_fingerprint(pub, fp);
    GW_INFO("bus: CURVE on, server key %s, %u allowed key(s) in %s", fp,
            bus->allow.nkeys, bus->allow.dir);
out:
    explicit_bzero(sec, sizeof sec);
    return rc;
}

static int curve_client(gw_bus_t *bus, const gw_bus_opts_t *o, char *err,
                        size_t errlen)
{
    char sec[GW_BUS_KEYLEN], pub[GW_BUS_KEYLEN], srv[GW_BUS_KEYLEN];
    char fp[GW_BUS_FPLEN], sfp[GW_BUS_FPLEN];
    int rc;

    if (o->server_key_file == NULL || o->server_key_file[0] == '\0') {
        snprintf(err, errlen, "CURVE needs sigd's public key (bus_server_key_file)");
        return -EINVAL;
    }
    if (o->secret_key_file == NULL || o->secret_key_file[0] == '\0') {
        snprintf(err, errlen, "CURVE needs this node's key (bus_secret_key_file)");
        return -EINVAL;
    }
    rc = gw_bus_key_read(o->server_key_file, 0, srv, err, errlen);
    if (rc < 0)
        return rc;
    rc = gw_bus_key_read(o->secret_key_file, 1, sec, err, errlen);
    if (rc < 0)
        return rc;
    gw_bus_key_public(sec, pub);
    if (zmq_setsockopt(bus->sock, ZMQ_CURVE_SERVERKEY, srv, GW_BUS_KEYLEN) < 0 ||
        zmq_setsockopt(bus->sock, ZMQ_CURVE_PUBLICKEY, pub, GW_BUS_KEYLEN) < 0 ||
        zmq_setsockopt(bus->sock, ZMQ_CURVE_SECRETKEY, sec, GW_BUS_KEYLEN) < 0) {
        snprintf(err, errlen, "CURVE options: %s", zmq_strerror(zmq_errno()));
        rc = -EIO;
    } else {
        gw_bus_key_fingerprint(pub, fp);
        gw_bus_key_fingerprint(srv, sfp);
        GW_INFO("bus: CURVE on, own key %s, server key %s", fp, sfp);
    }
    explicit_bzero(sec, sizeof sec);
    return rc;
}

static int has(const char *s)
{
    return s != NULL && s[0] != '\0';
}

gw_bus_t *gw_bus_new(const gw_bus_opts_t *o, char *err, size_t errlen)
{
    gw_bus_t *bus;
    int one = 1, linger = 200, ivl_max = 1000;

    if (o->endpoint == NULL || o->endpoint[0] == '\0') {
        snprintf(err, errlen, "no bus endpoint");
        return NULL;
    }
    if (!has(o->secret_key_file) && !gw_bus_endpoint_is_local(o->endpoint)) {
        snprintf(err, errlen, "%s is not a loopback endpoint: plain TCP is only "
                 "allowed on loopback; configure CURVE keys (%s)", o->endpoint,
                 o->mode == GW_BUS_SERVER
                     ? "bus_secret_key_file and bus_allowed_keys_dir"
                     : "bus_secret_key_file and bus_server_key_file");
        return NULL;
    }
    bus = calloc(1, sizeof *bus);
    if (bus == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    bus->mode = o->mode;
    bus->ctx = o->ctx;
    bus->curve = has(o->secret_key_file);
    snprintf(bus->endpoint, sizeof bus->endpoint, "%s", o->endpoint);
    for (const gw_bus_route_t *r = o->routes; r && r->fn; r++) {
        GW_ASSERT(r->body > 0 && r->body < BUS_NBODY);
        bus->handlers[r->body] = r->fn;
    }
    if (getrandom(&bus->next_id, sizeof bus->next_id, 0) != sizeof bus->next_id)
        bus->next_id = (uint64_t)(uintptr_t)bus;
    bus->next_id = (bus->next_id >> 16) | 1;  /* leave room to count up */

    bus->zctx = zmq_ctx_new();
    if (bus->zctx == NULL)
        goto zfail;
    bus->sock = zmq_socket(bus->zctx, o->mode == GW_BUS_SERVER ? ZMQ_ROUTER
                                                              : ZMQ_DEALER);
    if (bus->sock == NULL)
        goto zfail;
    zmq_setsockopt(bus->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (bus->curve) {
        int rc = o->mode == GW_BUS_SERVER ? curve_server(bus, o, err, errlen)
                                          : curve_client(bus, o, err, errlen);
        if (rc < 0 || monitor_start(bus, err, errlen) < 0)
            goto fail;
    }
    if (o->mode == GW_BUS_SERVER) {
        zmq_setsockopt(bus->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
        /* A node that restarts under the same name takes over its routing
         * id instead of being refused until the old connection times out. */
        zmq_setsockopt(bus->sock, ZMQ_ROUTER_HANDOVER, &one, sizeof one);
        if (zmq_bind(bus->sock, o->endpoint) < 0)
            goto zfail;
    } else {
        if (o->identity == NULL || o->identity[0] == '\0' ||
            strlen(o->identity) >= GW_BUS_PEERLEN) {
            snprintf(err, errlen, "bus identity must be 1..%d characters",
                     GW_BUS_PEERLEN - 1);
            goto fail;
        }
        zmq_setsockopt(bus->sock, ZMQ_ROUTING_ID, o->identity,
                       strlen(o->identity));
        /* Back off to one attempt a second while sigd is away (or refuses
         * our key), instead of ten. */
        zmq_setsockopt(bus->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
        if (zmq_connect(bus->sock, o->endpoint) < 0)
            goto zfail;
    }
    if (bus->zap != NULL) {
        int e = pthread_create(&bus->zap_thread, NULL, zap_main, bus);
        if (e != 0) {   /* returns the error; errno is not set */
            snprintf(err, errlen, "ZAP handler thread: %s", strerror(e));
            goto fail;
        }
        bus->zap_running = 1;
    }
    return bus;

zfail:
    snprintf(err, errlen, "%s %s: %s",
             o->mode == GW_BUS_SERVER ? "bind" : "connect",
             o->endpoint ? o->endpoint : "(null)", zmq_strerror(zmq_errno()));
fail:
    if (bus->monitor)
        zmq_close(bus->monitor);
    if (bus->zap)
        zmq_close(bus->zap);
    if (bus->sock)
        zmq_close(bus->sock);
    if (bus->zctx)
        zmq_ctx_term(bus->zctx);
    free(bus->allow.keys);
    free(bus);
    return NULL;
}

void gw_bus_free(gw_bus_t *bus)
{
    if (bus == NULL)
        return;
    for (unsigned i = 0; i < BUS_CACHE; i++)
        free(bus->cache[i].data);
    if (bus->monitor) {
        zmq_socket_monitor(bus->sock, NULL, 0);
        zmq_close(bus->monitor);
    }
    zmq_close(bus->sock);
    if (bus->zap_running) {
        /* Shutdown makes the handler's blocking receive return ETERM; the
         * thread then closes its socket, which lets zmq_ctx_term() end. */
        zmq_ctx_shutdown(bus->zctx);
        pthread_join(bus->zap_thread, NULL);
    } else if (bus->zap) {
        zmq_close(bus->zap);
    }
    zmq_ctx_term(bus->zctx);
    free(bus->allow.keys);
    free(bus);
}

int gw_bus_fd(gw_bus_t *bus)
{
    int fd = -1;
    size_t len = sizeof fd;

    zmq_getsockopt(bus->sock, ZMQ_FD, &fd, &len);
    return fd;
}

const char *gw_bus_peer_key(const gw_bus_t *bus)
{
    const char *u;

    if (!bus->curve || bus->mode != GW_BUS_SERVER)
        return NULL;
    /* The ZAP handler's user id (the admitted key's label), asked of the
     * frame only when a handler wants it, not for every message. */
    u = bus->cur_frame ? zmq_msg_gets(bus->cur_frame, "User-Id") : NULL;
    return u ? u : "";
}

const gw_bus_stats_t *gw_bus_stats(const gw_bus_t *bus)
{
    return &bus->stats;
}

uint64_t gw_bus_next_id(gw_bus_t *bus)
{
    return bus->next_id++;
}

Gw__Envelope *gw_bus_decode(const uint8_t *data, size_t len)
{
    return gw__envelope__unpack(NULL, len, data);
}

static int send_bytes(gw_bus_t *bus, const char *peer, const uint8_t *buf,
                      size_t len)
{
    if (bus->mode == GW_BUS_SERVER) {
        if (peer == NULL || peer[0] == '\0')
            return -EHOSTUNREACH;
        if (zmq_send(bus->sock, peer, strlen(peer), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
            goto fail;
    }
    if (zmq_send(bus->sock, buf, len, ZMQ_DONTWAIT) < 0)
        goto fail;
    bus->sent = 1;
    bus->stats.frames_out++;
    return 0;

fail:
    /* A failed send may have processed commands too (and eaten the
     * fd's edge): drain before the loop blocks all the same. */
    bus->sent = 1;
    bus->stats.send_failed++;
    return -zmq_errno();
}

static int pack(Gw__Envelope *env, uint8_t **out, size_t *outlen)
{
    size_t len = gw__envelope__get_packed_size(env);

    if (len > BUS_MAX_FRAME)
        return -EMSGSIZE;
    *out = malloc(len ? len : 1);
    if (*out == NULL)
        return -ENOMEM;
    *outlen = gw__envelope__pack(env, *out);
    return 0;
}

int gw_bus_send(gw_bus_t *bus, const char *peer, Gw__Envelope *env)
{
    uint8_t *buf;
    size_t len;
    int rc;

    if (env->request_id == 0)
        env->request_id = gw_bus_next_id(bus);
    rc = pack(env, &buf, &len);
    if (rc < 0)
        return rc;
    rc = send_bytes(bus, peer, buf, len);
    free(buf);
    return rc;
}

int gw_bus_reply(gw_bus_t *bus, const char *peer, const Gw__Envelope *req,
                 Gw__Envelope *reply)
{
    bus_cached_t *c;
    uint8_t *buf;
    size_t len;
    int rc;

    reply->request_id = gw_bus_next_id(bus);
    reply->has_correlation_id = 1;
    reply->correlation_id = req->request_id;
    rc = pack(reply, &buf, &len);
    if (rc < 0)
        return rc;
    rc = send_bytes(bus, peer, buf, len);
    /* Cache even when the send failed: the sender will retry. */
    c = &bus->cache[bus->cache_next];
    bus->cache_next = (bus->cache_next + 1) % BUS_CACHE;
    free(c->data);
    snprintf(c->peer, sizeof c->peer, "%s", peer ? peer : "");
    c->request_id = req->request_id;
    c->data = buf;
    c->len = len;
    return rc;
}

Gw__Status gw_bus_status(int rc)
{
    switch (rc) {
    case 0: return GW__STATUS__ST_OK;
    case -ENOSPC: return GW__STATUS__ST_ENOSPC;
    case -EEXIST: return GW__STATUS__ST_EEXIST;
    case -ENOENT: return GW__STATUS__ST_ENOENT;
    case -EBUSY: return GW__STATUS__ST_EBUSY;
    case -EINVAL: return GW__STATUS__ST_EINVAL;
    case -ENOTSUP: return GW__STATUS__ST_ENOTSUP;
    default: return GW__STATUS__ST_EIO;
    }
}

int gw_bus_reply_error(gw_bus_t *bus, const char *peer, const Gw__Envelope *req,
                       Gw__Status st, const char *text)
{
    Gw__Envelope env = GW__ENVELOPE__INIT;
    Gw__Error e = GW__ERROR__INIT;

    e.status = st;
    e.text = (char *)text;
    env.body_case = GW__ENVELOPE__BODY_ERROR;
    env.error = &e;
    return gw_bus_reply(bus, peer, req, &env);
}

static const bus_cached_t *cache_find(gw_bus_t *bus, const char *peer,
                                      uint64_t id)
{
    for (unsigned i = 0; i < BUS_CACHE; i++) {
        const bus_cached_t *c = &bus->cache[i];
        if (c->request_id == id && c->data && strcmp(c->peer, peer) == 0)
            return c;
    }
    return NULL;
}

/* Receives one message into peer/frame. Returns 1 when a frame was read, 0
 * when nothing is pending, <0 on a framing error (already consumed). */
static int recv_one(gw_bus_t *bus, char *peer, zmq_msg_t *frame)
{
    int more;
    size_t ml = sizeof more;

    peer[0] = '\0';
    if (bus->mode == GW_BUS_SERVER) {
        zmq_msg_t id;
        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, bus->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            return 0;
        }
        size_t n = zmq_msg_size(&id);
        if (n >= GW_BUS_PEERLEN)
            n = GW_BUS_PEERLEN - 1;
        memcpy(peer, zmq_msg_data(&id), n);
        peer[n] = '\0';
        /* Routing ids we did not choose (no ZMQ_ROUTING_ID) are binary. */
        for (size_t i = 0; i < n; i++)
            if (peer[i] < 0x21 || peer[i] > 0x7e)
                peer[i] = '?';
        zmq_msg_close(&id);
        zmq_getsockopt(bus->sock, ZMQ_RCVMORE, &more, &ml);
        if (!more)
            return -EPROTO;
    }
    if (zmq_msg_recv(frame, bus->sock, ZMQ_DONTWAIT) < 0)
        return bus->mode == GW_BUS_SERVER ? -EPROTO : 0;
    zmq_getsockopt(bus->sock, ZMQ_RCVMORE, &more, &ml);
    if (more) {
        /* Extra frames: swallow the rest of the message, reject it whole. */
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        do {
            if (zmq_msg_recv(&extra, bus->sock, ZMQ_DONTWAIT) < 0)
                break;
            zmq_getsockopt(bus->sock, ZMQ_RCVMORE, &more, &ml);
        } while (more);
        zmq_msg_close(&extra);
        return -EPROTO;
    }
    return 1;
}

static void dispatch(gw_bus_t *bus, const char *peer, zmq_msg_t *frame)
{
    Gw__Envelope *env;
    const bus_cached_t *c;
    gw_bus_handler_f fn = NULL;

    env = gw_bus_decode(zmq_msg_data(frame), zmq_msg_size(frame));
    if (env == NULL) {
        bus->stats.frames_bad++;
        GW_WARN("bus: malformed frame (%zu bytes) from '%s' ignored",
                zmq_msg_size(frame), peer);
        return;
    }
    if (!env->has_correlation_id &&
        (c = cache_find(bus, peer, env->request_id)) != NULL) {
        bus->stats.replays++;
        send_bytes(bus, peer, c->data, c->len);
        goto out;
    }
    if ((unsigned)env->body_case < BUS_NBODY)
        fn = bus->handlers[env->body_case];
    if (fn == NULL) {
        bus->stats.frames_bad++;
        GW_WARN("bus: unexpected %s message from '%s' ignored",
                gw_bus_body_name(env->body_case), peer);
        if (!env->has_correlation_id)
            gw_bus_reply_error(bus, peer, env, GW__STATUS__ST_ENOTSUP,
                               "message not accepted by this daemon");
        goto out;
    }
    bus->cur_frame = frame;
    fn(bus, peer, env, bus->ctx);
    bus->cur_frame = NULL;
out:
    gw__envelope__free_unpacked(env, NULL);
}

void gw_bus_process(gw_bus_t *bus)
{
    char peer[GW_BUS_PEERLEN];
    zmq_msg_t frame;
    int rc;

    if (bus->in_process)
        return;
    bus->in_process = 1;
    if (bus->curve) {
        int64_t now = mono_ms();

        bus->next_monitor_ms = now + BUS_MONITOR_MS;
        monitor_drain(bus);
        if (bus->mode == GW_BUS_SERVER)
            bus->stats.auth_refused = atomic_load(&bus->zap_refused);
        if (bus->reconnect_ms && now >= bus->reconnect_ms) {
            bus->reconnect_ms = 0;
            zmq_disconnect(bus->sock, bus->endpoint);
            zmq_connect(bus->sock, bus->endpoint);
        }
    }
    /* Receive until EAGAIN rather than asking ZMQ_EVENTS before each
     * message: both make ZeroMQ read its command mailbox (a poll() and a
     * getpid() each time), but a receive that finds a message does so
     * only every 100 messages. The EAGAIN that ends the loop comes from
     * the same mailbox check ZMQ_EVENTS would make, after the last send
     * of the handlers, so the edge-triggered fd is re-armed. */
    do {
        zmq_msg_init(&frame);
        rc = recv_one(bus, peer, &frame);
        if (rc == 1) {
            bus->stats.frames_in++;
            dispatch(bus, peer, &frame);
        } else if (rc < 0) {
            bus->stats.frames_bad++;
            GW_WARN("bus: badly framed message from '%s' ignored", peer);
        }
        zmq_msg_close(&frame);
    } while (rc != 0);
    bus->sent = 0;
    bus->in_process = 0;
}

void gw_bus_process_pending(gw_bus_t *bus)
{
    if (bus->sent || (bus->curve && mono_ms() >= bus->next_monitor_ms))
        gw_bus_process(bus);
}
