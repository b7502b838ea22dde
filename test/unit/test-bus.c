/* Tests for common/bus.c over real ZeroMQ sockets: a ROUTER server and a
 * DEALER client on tcp://127.0.0.1:<random port>, plus a raw DEALER that
 * sends what a gw_bus_t never would (garbage, extra frames).
 *
 * No event loop: pump() calls gw_bus_process() on both ends with a 1 ms
 * sleep between rounds until a condition holds or about three seconds
 * have passed; the CHECK that follows tells which. */
#include "runner.h"

#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "bus.h"

#define PUMP_ROUNDS 3000

/* What a handler saw: copied out, the envelope is freed after it returns. */
typedef struct {
    int calls;
    char peer[GW_BUS_PEERLEN];
    uint64_t request_id;
    int has_correlation_id;
    uint64_t correlation_id;
    /* NodeRegister */
    Gw__Role role;
    char node[64];
    size_t n_ifaces;
    char bind0[64], adv0[64], bind1[64];
    int has_ports0, has_ports1;
    unsigned lo0, hi0;
    uint64_t epoch;
    int has_capacity;
    unsigned capacity, weight;
    /* NodeRegistered */
    unsigned heartbeat_ms;
    /* the sender's key label (gw_bus_peer_key), "(null)" on a plain bus */
    char key[64];
    /* Error */
    Gw__Status status;
    char text[128];
} seen_t;

static seen_t srv_seen, cli_seen;

static void copy_str(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "(null)");
}

static void note(seen_t *s, const char *peer, const Gw__Envelope *env)
{
    s->calls++;
    copy_str(s->peer, sizeof s->peer, peer);
    s->request_id = env->request_id;
    s->has_correlation_id = env->has_correlation_id;
    s->correlation_id = env->correlation_id;
}

/* Server: answers a NodeRegister with NodeRegistered. */
static void srv_on_reg(gw_bus_t *bus, const char *peer, const Gw__Envelope *env,
                       void *ctx)
{
    const Gw__NodeRegister *r = env->reg;
    Gw__Envelope out = GW__ENVELOPE__INIT;
    Gw__NodeRegistered ok = GW__NODE_REGISTERED__INIT;
    seen_t *s = ctx;

    note(s, peer, env);
    copy_str(s->key, sizeof s->key, gw_bus_peer_key(bus));
    s->role = r->role;
    copy_str(s->node, sizeof s->node, r->node);
    s->n_ifaces = r->n_ifaces;
    if (r->n_ifaces > 0) {
        copy_str(s->bind0, sizeof s->bind0, r->ifaces[0]->bind_addr);
        copy_str(s->adv0, sizeof s->adv0, r->ifaces[0]->advertised_addr);
        s->has_ports0 = r->ifaces[0]->ports != NULL;
        if (r->ifaces[0]->ports) {
            s->lo0 = r->ifaces[0]->ports->lo;
            s->hi0 = r->ifaces[0]->ports->hi;
        }
    }
    if (r->n_ifaces > 1) {
        copy_str(s->bind1, sizeof s->bind1, r->ifaces[1]->bind_addr);
        s->has_ports1 = r->ifaces[1]->ports != NULL;
    }
    s->epoch = r->epoch;
    s->has_capacity = r->has_capacity;
    s->capacity = r->capacity;
    s->weight = r->weight;

    ok.node = r->node;
    ok.has_heartbeat_ms = 1;
    ok.heartbeat_ms = 750;
    out.body_case = GW__ENVELOPE__BODY_REGISTERED;
    out.registered = &ok;
    CHECK_INT(gw_bus_reply(bus, peer, env, &out), ==, 0);
}

static void cli_on_registered(gw_bus_t *bus, const char *peer,
                              const Gw__Envelope *env, void *ctx)
{
    seen_t *s = ctx;

    (void)bus;
    note(s, peer, env);
    copy_str(s->node, sizeof s->node, env->registered->node);
    s->heartbeat_ms = env->registered->heartbeat_ms;
}

static void cli_on_error(gw_bus_t *bus, const char *peer,
                         const Gw__Envelope *env, void *ctx)
{
    seen_t *s = ctx;

    (void)bus;
    note(s, peer, env);
    s->status = env->error->status;
    copy_str(s->text, sizeof s->text, env->error->text);
}

static const gw_bus_route_t srv_routes[] = {
    { GW__ENVELOPE__BODY_REG, srv_on_reg },
    { 0, NULL }
};

static const gw_bus_route_t cli_routes[] = {
    { GW__ENVELOPE__BODY_REGISTERED, cli_on_registered },
    { GW__ENVELOPE__BODY_ERROR, cli_on_error },
    { 0, NULL }
};

static char endpoint[64];
static gw_bus_t *srv, *cli;

/* Binds the server on a random high port, retrying when it is taken. */
static gw_bus_t *server_new(void)
{
    gw_bus_opts_t o = { GW_BUS_SERVER, endpoint, NULL, srv_routes, &srv_seen, NULL, NULL, NULL };
    char err[256] = "";
    gw_bus_t *b = NULL;

    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    for (int i = 0; i < 50 && b == NULL; i++) {
        snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d",
                 20000 + rand() % 40000);
        b = gw_bus_new(&o, err, sizeof err);
    }
    if (b == NULL)
        fprintf(stderr, "server: %s\n", err);
    CHECK(b != NULL);
    return b;
}

static gw_bus_t *client_new(const char *identity)
{
    gw_bus_opts_t o = { GW_BUS_CLIENT, endpoint, identity, cli_routes, &cli_seen, NULL, NULL, NULL };
    char err[256] = "";
    gw_bus_t *b = gw_bus_new(&o, err, sizeof err);

    if (b == NULL)
        fprintf(stderr, "client: %s\n", err);
    CHECK(b != NULL);
    return b;
}

static void setup(void)
{
    memset(&srv_seen, 0, sizeof srv_seen);
    memset(&cli_seen, 0, sizeof cli_seen);
    srv = server_new();
    cli = client_new("media1");
}

static void teardown(void)
{
    gw_bus_free(cli);
    gw_bus_free(srv);
    cli = srv = NULL;
}

static void pump_once(void)
{
    if (srv)
        gw_bus_process(srv);
    if (cli)
        gw_bus_process(cli);
    usleep(1000);
}

#define PUMP_UNTIL(cond)                                        \
    do {                                                        \
        for (int r_ = 0; r_ < PUMP_ROUNDS && !(cond); r_++)     \
            pump_once();                                        \
        CHECK(cond);                                            \
    } while (0)

/* A few more rounds, to catch anything that should not happen. */
static void pump_quiet(int ms)
{
    for (int i = 0; i < ms; i++)
        pump_once();
}

/* A NodeRegister with an EXT interface (advertised address, port range)
 * and an INT one without ports. The strings are literals: nothing to free. */
typedef struct {
    Gw__Envelope env;
    Gw__NodeRegister reg;
    Gw__Interface ext, in;
    Gw__Interface *ifaces[2];
    Gw__PortRange range;
} reg_msg_t;

static void reg_init(reg_msg_t *m)
{
    gw__envelope__init(&m->env);
    gw__node_register__init(&m->reg);
    gw__interface__init(&m->ext);
    gw__interface__init(&m->in);
    gw__port_range__init(&m->range);
    m->range.lo = 10000;
    m->range.hi = 19999;
    m->ext.side = GW__SIDE__SIDE_EXT;
    m->ext.bind_addr = "192.0.2.10";
    m->ext.advertised_addr = "203.0.113.10";
    m->ext.ports = &m->range;
    m->in.side = GW__SIDE__SIDE_INT;
    m->in.bind_addr = "10.0.0.10";
    m->ifaces[0] = &m->ext;
    m->ifaces[1] = &m->in;
    m->reg.role = GW__ROLE__ROLE_MEDIA;
    m->reg.node = "media1";
    m->reg.n_ifaces = 2;
    m->reg.ifaces = m->ifaces;
    m->reg.has_capacity = 1;
    m->reg.capacity = 5000;
    m->reg.epoch = 0x1122334455667788ULL;
    m->env.body_case = GW__ENVELOPE__BODY_REG;
    m->env.reg = &m->reg;
}

TEST(bus_round_trip)
{
    reg_msg_t m;
    uint64_t id;

    setup();
    reg_init(&m);
    CHECK_INT(gw_bus_send(cli, NULL, &m.env), ==, 0);
    id = m.env.request_id;
    CHECK(id != 0);
    PUMP_UNTIL(cli_seen.calls == 1);

    CHECK_INT(srv_seen.calls, ==, 1);
    CHECK_STR(srv_seen.peer, "media1");
    CHECK(srv_seen.request_id == id);
    CHECK_INT(srv_seen.has_correlation_id, ==, 0);
    CHECK_INT(srv_seen.role, ==, GW__ROLE__ROLE_MEDIA);
    CHECK_STR(srv_seen.key, "(null)");     /* plain bus: no key */
    CHECK_STR(srv_seen.node, "media1");
    CHECK_INT(srv_seen.n_ifaces, ==, 2);
    CHECK_STR(srv_seen.bind0, "192.0.2.10");
    CHECK_STR(srv_seen.adv0, "203.0.113.10");
    CHECK_INT(srv_seen.has_ports0, ==, 1);
    CHECK_INT(srv_seen.lo0, ==, 10000);
    CHECK_INT(srv_seen.hi0, ==, 19999);
    CHECK_STR(srv_seen.bind1, "10.0.0.10");
    CHECK_INT(srv_seen.has_ports1, ==, 0);
    CHECK(srv_seen.epoch == 0x1122334455667788ULL);
    CHECK_INT(srv_seen.has_capacity, ==, 1);
    CHECK_INT(srv_seen.capacity, ==, 5000);
    CHECK_INT(srv_seen.weight, ==, 100);   /* proto2 default, not sent */

    CHECK_STR(cli_seen.peer, "");
    CHECK_INT(cli_seen.has_correlation_id, ==, 1);
    CHECK(cli_seen.correlation_id == id);
    CHECK(cli_seen.request_id != 0 && cli_seen.request_id != id);
    CHECK_STR(cli_seen.node, "media1");
    CHECK_INT(cli_seen.heartbeat_ms, ==, 750);

    CHECK_INT(gw_bus_stats(srv)->frames_in, ==, 1);
    CHECK_INT(gw_bus_stats(srv)->frames_out, ==, 1);
    CHECK_INT(gw_bus_stats(srv)->frames_bad, ==, 0);
    CHECK_INT(gw_bus_stats(srv)->replays, ==, 0);
    CHECK_INT(gw_bus_stats(cli)->frames_in, ==, 1);
    CHECK_INT(gw_bus_stats(cli)->frames_out, ==, 1);
    teardown();
}

TEST(bus_repeated_request)
{
    reg_msg_t m;
    uint64_t first_reply_id;

    setup();
    reg_init(&m);
    m.env.request_id = 424242;
    CHECK_INT(gw_bus_send(cli, NULL, &m.env), ==, 0);
    PUMP_UNTIL(cli_seen.calls == 1);
    first_reply_id = cli_seen.request_id;

    /* The same request again (a retry after a lost reply). */
    CHECK(m.env.request_id == 424242);
    CHECK_INT(gw_bus_send(cli, NULL, &m.env), ==, 0);
    PUMP_UNTIL(cli_seen.calls == 2);
    pump_quiet(20);

    CHECK_INT(srv_seen.calls, ==, 1);
    CHECK_INT(cli_seen.calls, ==, 2);
    CHECK(cli_seen.correlation_id == 424242);
    /* The very same reply, not a new one. */
    CHECK(cli_seen.request_id == first_reply_id);
    CHECK_INT(gw_bus_stats(srv)->replays, ==, 1);
    CHECK_INT(gw_bus_stats(srv)->frames_in, ==, 2);
    CHECK_INT(gw_bus_stats(srv)->frames_out, ==, 2);

    /* A new request id runs the handler again. */
    m.env.request_id = 424243;
    CHECK_INT(gw_bus_send(cli, NULL, &m.env), ==, 0);
    PUMP_UNTIL(cli_seen.calls == 3);
    CHECK_INT(srv_seen.calls, ==, 2);
    CHECK_INT(gw_bus_stats(srv)->replays, ==, 1);
    teardown();
}

TEST(bus_repeated_request_other_peer)
{
    reg_msg_t m;
    gw_bus_t *cli2;

    /* The cache is keyed by (peer, id): another node reusing the id runs
     * the handler. */
    setup();
    reg_init(&m);
    m.env.request_id = 77;
    CHECK_INT(gw_bus_send(cli, NULL, &m.env), ==, 0);
    PUMP_UNTIL(cli_seen.calls == 1);
    cli2 = client_new("media2");
    CHECK_INT(gw_bus_send(cli2, NULL, &m.env), ==, 0);
    for (int i = 0; i < PUMP_ROUNDS && cli_seen.calls < 2; i++) {
        gw_bus_process(cli2);
        pump_once();
    }
    CHECK_INT(cli_seen.calls, ==, 2);
    CHECK_INT(srv_seen.calls, ==, 2);
    CHECK_STR(srv_seen.peer, "media2");
    CHECK_INT(gw_bus_stats(srv)->replays, ==, 0);
    gw_bus_free(cli2);
    teardown();
}

/* A raw DEALER with a routing id of our choice, on its own context. */
typedef struct {
    void *zctx;
    void *sock;
} raw_t;

static void raw_open(raw_t *r, const char *identity)
{
    int linger = 0;

    r->zctx = zmq_ctx_new();
    CHECK(r->zctx != NULL);
    r->sock = zmq_socket(r->zctx, ZMQ_DEALER);
    CHECK(r->sock != NULL);
    zmq_setsockopt(r->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (identity)
        CHECK_INT(zmq_setsockopt(r->sock, ZMQ_ROUTING_ID, identity,
                                 strlen(identity)), ==, 0);
    CHECK_INT(zmq_connect(r->sock, endpoint), ==, 0);
}

static void raw_close(raw_t *r)
{
    zmq_close(r->sock);
    zmq_ctx_term(r->zctx);
}

/* Receives one frame on the raw socket within ~3 s; returns its size. */
static int raw_recv(raw_t *r, uint8_t *buf, size_t len)
{
    for (int i = 0; i < PUMP_ROUNDS; i++) {
        int n = zmq_recv(r->sock, buf, len, ZMQ_DONTWAIT);
        if (n >= 0)
            return n;
        CHECK_INT(zmq_errno(), ==, EAGAIN);
        pump_once();
    }
    return -1;
}

static size_t pack_reg(uint64_t id, uint8_t *buf, size_t len)
{
    reg_msg_t m;

    reg_init(&m);
    m.env.request_id = id;
    CHECK(gw__envelope__get_packed_size(&m.env) <= len);
    return gw__envelope__pack(&m.env, buf);
}

TEST(bus_malformed_frame)
{
    static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x34,
                                       'n', 'o', 't', ' ', 'p', 'b' };
    uint8_t buf[512];
    size_t len;
    int n;
    raw_t raw;
    Gw__Envelope *reply;

    setup();
    raw_open(&raw, "rawnode");
    CHECK_INT(zmq_send(raw.sock, garbage, sizeof garbage, 0), ==, sizeof garbage);
    PUMP_UNTIL(gw_bus_stats(srv)->frames_bad == 1);
    CHECK_INT(srv_seen.calls, ==, 0);
    CHECK_INT(gw_bus_stats(srv)->frames_in, ==, 1);

    /* An empty frame is malformed too (request_id is required). */
    CHECK_INT(zmq_send(raw.sock, "", 0, 0), ==, 0);
    PUMP_UNTIL(gw_bus_stats(srv)->frames_bad == 2);
    CHECK_INT(srv_seen.calls, ==, 0);

    /* The next valid message from the same peer is still delivered. */
    len = pack_reg(9001, buf, sizeof buf);
    CHECK_INT(zmq_send(raw.sock, buf, len, 0), ==, (int)len);
    PUMP_UNTIL(srv_seen.calls == 1);
    CHECK_STR(srv_seen.peer, "rawnode");
    CHECK(srv_seen.request_id == 9001);
    CHECK_INT(srv_seen.n_ifaces, ==, 2);
    CHECK_INT(gw_bus_stats(srv)->frames_bad, ==, 2);

    n = raw_recv(&raw, buf, sizeof buf);
    CHECK_INT(n, >, 0);
    reply = gw_bus_decode(buf, (size_t)n);
    CHECK(reply != NULL);
    CHECK_INT(reply->body_case, ==, GW__ENVELOPE__BODY_REGISTERED);
    CHECK(reply->has_correlation_id && reply->correlation_id == 9001);
    gw__envelope__free_unpacked(reply, NULL);
    raw_close(&raw);
    teardown();
}

TEST(bus_extra_frames)
{
    uint8_t buf[512];
    size_t len;
    raw_t raw;

    /* A valid envelope followed by a second frame: the message is
     * rejected whole, and the stream stays in step afterwards. */
    setup();
    raw_open(&raw, "rawnode");
    len = pack_reg(5, buf, sizeof buf);
    CHECK_INT(zmq_send(raw.sock, buf, len, ZMQ_SNDMORE), ==, (int)len);
    CHECK_INT(zmq_send(raw.sock, "x", 1, 0), ==, 1);
    PUMP_UNTIL(gw_bus_stats(srv)->frames_bad == 1);
    CHECK_INT(srv_seen.calls, ==, 0);

    len = pack_reg(6, buf, sizeof buf);
    CHECK_INT(zmq_send(raw.sock, buf, len, 0), ==, (int)len);
    PUMP_UNTIL(srv_seen.calls == 1);
    CHECK(srv_seen.request_id == 6);
    CHECK_INT(gw_bus_stats(srv)->frames_bad, ==, 1);
    raw_close(&raw);
    teardown();
}

TEST(bus_unexpected_body)
{
    Gw__Envelope env = GW__ENVELOPE__INIT;
    Gw__Heartbeat hb = GW__HEARTBEAT__INIT;

    setup();
    hb.epoch = 1;
    env.body_case = GW__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    CHECK_INT(gw_bus_send(cli, NULL, &env), ==, 0);
    PUMP_UNTIL(cli_seen.calls == 1);

    CHECK_INT(srv_seen.calls, ==, 0);
    CHECK_INT(gw_bus_stats(srv)->frames_bad, ==, 1);
    CHECK_INT(cli_seen.status, ==, GW__STATUS__ST_ENOTSUP);
    CHECK(cli_seen.has_correlation_id && cli_seen.correlation_id == env.request_id);

    /* An envelope without a body is unexpected as well. */
    gw__envelope__init(&env);
    CHECK_INT(gw_bus_send(cli, NULL, &env), ==, 0);
    PUMP_UNTIL(cli_seen.calls == 2);
    CHECK_INT(cli_seen.status, ==, GW__STATUS__ST_ENOTSUP);
    CHECK(cli_seen.correlation_id == env.request_id);

    /* A reply (correlation_id set) with no route is dropped silently: an
     * error answering an answer could bounce forever. The client has no
     * route for a heartbeat either; the server sends it one as a reply. */
    hb.epoch = 2;
    gw__envelope__init(&env);
    env.body_case = GW__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    env.has_correlation_id = 1;
    env.correlation_id = 1;
    CHECK_INT(gw_bus_send(srv, "media1", &env), ==, 0);
    PUMP_UNTIL(gw_bus_stats(cli)->frames_bad == 1);
    pump_quiet(20);
    CHECK_INT(gw_bus_stats(cli)->frames_out, ==, 2);
    CHECK_INT(gw_bus_stats(srv)->frames_bad, ==, 2);
    teardown();
}

TEST(bus_send_unknown_peer)
{
    Gw__Envelope env = GW__ENVELOPE__INIT;
    Gw__NodeDrain d = GW__NODE_DRAIN__INIT;

    setup();
    env.body_case = GW__ENVELOPE__BODY_DRAIN;
    env.drain = &d;
    CHECK_INT(gw_bus_send(srv, "nobody", &env), ==, -EHOSTUNREACH);
    CHECK_INT(gw_bus_send(srv, "", &env), ==, -EHOSTUNREACH);
    CHECK_INT(gw_bus_send(srv, NULL, &env), ==, -EHOSTUNREACH);
    CHECK_INT(gw_bus_stats(srv)->send_failed, >=, 1);
    CHECK_INT(gw_bus_stats(srv)->frames_out, ==, 0);
    teardown();
}

TEST(bus_new_errors)
{
    gw_bus_opts_t o = { GW_BUS_CLIENT, "tcp://127.0.0.1:1", NULL, cli_routes, NULL, NULL, NULL, NULL };
    char err[256];
    char longid[GW_BUS_PEERLEN + 1];

    err[0] = '\0';
    CHECK(gw_bus_new(&o, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "identity");
    o.identity = "";
    CHECK(gw_bus_new(&o, err, sizeof err) == NULL);
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    o.identity = longid;
    CHECK(gw_bus_new(&o, err, sizeof err) == NULL);

    o.identity = "x";
    o.endpoint = "nonsense://here";
    err[0] = '\0';
    CHECK(gw_bus_new(&o, err, sizeof err) == NULL);
    /* Plain TCP off loopback is refused before ZeroMQ sees it. */
    CHECK_CONTAINS(err, "nonsense://here is not a loopback endpoint");
    o.endpoint = "ipc:///nonexistent-dir/x";
    err[0] = '\0';
    o.mode = GW_BUS_SERVER;
    CHECK(gw_bus_new(&o, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "bind ipc:///nonexistent-dir/x");

    o.endpoint = "tcp://192.0.2.1:7700";   /* not a local address */
    err[0] = '\0';
    CHECK(gw_bus_new(&o, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "tcp://192.0.2.1:7700 is not a loopback endpoint");
}

TEST(bus_bind_in_use)
{
    gw_bus_opts_t o = { GW_BUS_SERVER, NULL, NULL, srv_routes, NULL, NULL, NULL, NULL };
    char err[256] = "";

    srv = server_new();
    o.endpoint = endpoint;
    CHECK(gw_bus_new(&o, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, endpoint);
    gw_bus_free(srv);
    gw_bus_free(NULL);
}

TEST(bus_next_id)
{
    gw_bus_opts_t o = { GW_BUS_CLIENT, "tcp://127.0.0.1:1", "idtest", NULL, NULL, NULL, NULL, NULL };
    char err[256];
    gw_bus_t *b = gw_bus_new(&o, err, sizeof err);
    uint64_t a, c;

    CHECK(b != NULL);
    a = gw_bus_next_id(b);
    c = gw_bus_next_id(b);
    CHECK(a != 0);
    CHECK(c == a + 1);
    CHECK(gw_bus_fd(b) >= 0);
    gw_bus_free(b);
}

TEST(bus_decode_truncated)
{
    reg_msg_t m;
    Gw__Envelope head = GW__ENVELOPE__INIT, *env;
    uint8_t buf[512];
    size_t len, body_at;

    reg_init(&m);
    m.env.request_id = 0x0102030405060708ULL;
    m.env.has_correlation_id = 1;
    m.env.correlation_id = 300;
    len = gw__envelope__pack(&m.env, buf);
    CHECK(len < sizeof buf);

    env = gw_bus_decode(buf, len);
    CHECK(env != NULL);
    CHECK(env->request_id == 0x0102030405060708ULL);
    CHECK_INT(env->body_case, ==, GW__ENVELOPE__BODY_REG);
    CHECK_STR(env->reg->ifaces[0]->advertised_addr, "203.0.113.10");
    gw__envelope__free_unpacked(env, NULL);

    /* Fields are packed in number order, so the body comes last: any cut
     * inside it leaves a length-delimited field short. */
    head.request_id = m.env.request_id;
    head.has_correlation_id = 1;
    head.correlation_id = 300;
    body_at = gw__envelope__get_packed_size(&head);
    CHECK(body_at < len);
    for (size_t cut = body_at + 1; cut < len; cut++) {
        env = gw_bus_decode(buf, cut);
        if (env != NULL)
            fprintf(stderr, "decoded a %zu-byte prefix of %zu\n", cut, len);
        CHECK(env == NULL);
    }
    /* Inside the request_id varint, or nothing at all. */
    CHECK(gw_bus_decode(buf, 3) == NULL);
    CHECK(gw_bus_decode(buf, 0) == NULL);
    CHECK(gw_bus_decode(NULL, 0) == NULL);
    /* Required request_id missing; then present. */
    {
        static const uint8_t only_corr[] = { 0x10, 0x05 };   /* field 2 = 5 */
        static const uint8_t only_id[] = { 0x08, 0x05 };     /* field 1 = 5 */
        CHECK(gw_bus_decode(only_corr, sizeof only_corr) == NULL);
        env = gw_bus_decode(only_id, sizeof only_id);
        CHECK(env != NULL && env->request_id == 5);
        CHECK_INT(env->body_case, ==, GW__ENVELOPE__BODY__NOT_SET);
        gw__envelope__free_unpacked(env, NULL);
    }
}

TEST(bus_body_names)
{
    CHECK_STR(gw_bus_body_name(GW__ENVELOPE__BODY_REG), "register");
    CHECK_STR(gw_bus_body_name(GW__ENVELOPE__BODY_MEDIA_REPLY), "media-reply");
    CHECK_STR(gw_bus_body_name(GW__ENVELOPE__BODY_CTL_REPLY), "ctl-reply");
    CHECK_STR(gw_bus_body_name(GW__ENVELOPE__BODY__NOT_SET), "unset");
    CHECK_STR(gw_bus_body_name((Gw__Envelope__BodyCase)999), "unset");
}

/* ---- CURVE ------------------------------------------------------------- */

TEST(bus_endpoint_local)
{
    CHECK_INT(gw_bus_endpoint_is_local("tcp://127.0.0.1:7700"), ==, 1);
    CHECK_INT(gw_bus_endpoint_is_local("tcp://127.0.40.1:17700"), ==, 1);
    CHECK_INT(gw_bus_endpoint_is_local("tcp://[::1]:7700"), ==, 1);
    CHECK_INT(gw_bus_endpoint_is_local("tcp://localhost:7700"), ==, 1);
    CHECK_INT(gw_bus_endpoint_is_local("ipc:///run/gw/bus"), ==, 1);
    CHECK_INT(gw_bus_endpoint_is_local("inproc://x"), ==, 1);
    CHECK_INT(gw_bus_endpoint_is_local("tcp://10.0.0.1:7700"), ==, 0);
    CHECK_INT(gw_bus_endpoint_is_local("tcp://*:7700"), ==, 0);
    CHECK_INT(gw_bus_endpoint_is_local("tcp://0.0.0.0:7700"), ==, 0);
    CHECK_INT(gw_bus_endpoint_is_local("tcp://[2001:db8::1]:7700"), ==, 0);
    CHECK_INT(gw_bus_endpoint_is_local("tcp://128.0.0.1:7700"), ==, 0);
    CHECK_INT(gw_bus_endpoint_is_local("tcp://sigd.example:7700"), ==, 0);
    CHECK_INT(gw_bus_endpoint_is_local("tcp://127.0.0.1"), ==, 0);
    CHECK_INT(gw_bus_endpoint_is_local("udp://127.0.0.1:1"), ==, 0);
    CHECK_INT(gw_bus_endpoint_is_local(NULL), ==, 0);
}

TEST(bus_plain_refused_off_loopback)
{
    gw_bus_opts_t o = { GW_BUS_SERVER, "tcp://192.0.2.1:7700", NULL, srv_routes, NULL,
                        NULL, NULL, NULL };
    char err[512] = "";

    CHECK(gw_bus_new(&o, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "not a loopback endpoint");
    CHECK_CONTAINS(err, "bus_allowed_keys_dir");
    o.mode = GW_BUS_CLIENT;
    o.identity = "media1";
    CHECK(gw_bus_new(&o, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "bus_server_key_file");
}

static char keydir[128];

/* A fresh directory with NAME.key/NAME.pub pairs and allowed/ holding the
 * public keys of `allowed` (comma-free list). */
static void keys_make(const char *const *names, const char *const *allowed)
{
    char pub[GW_BUS_KEYLEN], sec[GW_BUS_KEYLEN], path[256];

    snprintf(keydir, sizeof keydir, "/tmp/gw-test-bus-keys.XXXXXX");
    CHECK(mkdtemp(keydir) != NULL);
    snprintf(path, sizeof path, "%s/allowed", keydir);
    CHECK_INT(mkdir(path, 0700), ==, 0);
    for (int i = 0; names[i]; i++) {
        CHECK_INT(gw_bus_keygen(pub, sec), ==, 0);
        snprintf(path, sizeof path, "%s/%s.key", keydir, names[i]);
        CHECK_INT(gw_bus_key_write(path, 1, sec, "test"), ==, 0);
        snprintf(path, sizeof path, "%s/%s.pub", keydir, names[i]);
        CHECK_INT(gw_bus_key_write(path, 0, pub, "test"), ==, 0);
        for (int k = 0; allowed[k]; k++) {
            if (strcmp(allowed[k], names[i]) != 0)
                continue;
            snprintf(path, sizeof path, "%s/allowed/%s.pub", keydir, names[i]);
            CHECK_INT(gw_bus_key_write(path, 0, pub, "test"), ==, 0);
        }
    }
}

static void keys_remove(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", keydir);
    CHECK_INT(system(cmd), ==, 0);
}

static gw_bus_t *curve_server(void)
{
    char sk[256], dir[256], err[512] = "";
    gw_bus_opts_t o = { GW_BUS_SERVER, endpoint, NULL, srv_routes, &srv_seen,
                        sk, NULL, dir };
    gw_bus_t *b = NULL;

    snprintf(sk, sizeof sk, "%s/sigd.key", keydir);
    snprintf(dir, sizeof dir, "%s/allowed", keydir);
    for (int i = 0; i < 50 && b == NULL; i++) {
        snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", 20000 + rand() % 40000);
        b = gw_bus_new(&o, err, sizeof err);
    }
    if (b == NULL)
        fprintf(stderr, "server: %s\n", err);
    CHECK(b != NULL);
    return b;
}

static gw_bus_t *curve_client(const char *name, const char *server_pub)
{
    char sk[256], srvk[256], err[512] = "";
    gw_bus_opts_t o = { GW_BUS_CLIENT, endpoint, name, cli_routes, &cli_seen,
                        sk, srvk, NULL };
    gw_bus_t *b;

    snprintf(sk, sizeof sk, "%s/%s.key", keydir, name);
    snprintf(srvk, sizeof srvk, "%s/%s.pub", keydir, server_pub);
    b = gw_bus_new(&o, err, sizeof err);
    if (b == NULL)
        fprintf(stderr, "client: %s\n", err);
    CHECK(b != NULL);
    return b;
}

TEST(bus_curve_round_trip)
{
    static const char *const names[] = { "sigd", "media1", NULL };
    static const char *const allowed[] = { "media1", NULL };
    reg_msg_t m;

    srand((unsigned)getpid());
    keys_make(names, allowed);
    srv = curve_server();
    cli = curve_client("media1", "sigd");
    reg_init(&m);
    CHECK_INT(gw_bus_send(cli, NULL, &m.env), ==, 0);
    PUMP_UNTIL(cli_seen.calls == 1);
    CHECK_INT(srv_seen.calls, ==, 1);
    CHECK_STR(srv_seen.peer, "media1");
    CHECK_STR(srv_seen.key, "media1");     /* the admitted key's label */
    CHECK_INT(cli_seen.heartbeat_ms, ==, 750);
    CHECK_INT(gw_bus_stats(srv)->auth_refused, ==, 0);
    teardown();
    keys_remove();
}

TEST(bus_curve_unknown_key_refused)
{
    static const char *const names[] = { "sigd", "media1", "rogue", NULL };
    static const char *const allowed[] = { "media1", NULL };
    reg_msg_t m;

    srand((unsigned)getpid());
    keys_make(names, allowed);
    srv = curve_server();
    cli = curve_client("rogue", "sigd");
    reg_init(&m);
    gw_bus_send(cli, NULL, &m.env);
    PUMP_UNTIL(gw_bus_stats(srv)->auth_refused >= 1 && gw_bus_stats(cli)->auth_refused >= 1);
    pump_quiet(200);
    CHECK_INT(srv_seen.calls, ==, 0);
    CHECK_INT(cli_seen.calls, ==, 0);
    gw_bus_free(cli);
    /* A client with the right key but the wrong server key fails too. */
    cli = curve_client("media1", "rogue");
    gw_bus_send(cli, NULL, &m.env);
    pump_quiet(300);
    CHECK_INT(srv_seen.calls, ==, 0);
    teardown();
    keys_remove();
}

TEST(bus_curve_key_added_while_running)
{
    static const char *const names[] = { "sigd", "media2", NULL };
    static const char *const allowed[] = { NULL };
    char src[256], dst[256], cmd[600];
    reg_msg_t m;

    srand((unsigned)getpid());
    keys_make(names, allowed);
    srv = curve_server();
    cli = curve_client("media2", "sigd");
    reg_init(&m);
    gw_bus_send(cli, NULL, &m.env);
    PUMP_UNTIL(gw_bus_stats(srv)->auth_refused >= 1);
    CHECK_INT(srv_seen.calls, ==, 0);
    /* The operator drops the node's public key in: no restart needed. */
    snprintf(src, sizeof src, "%s/media2.pub", keydir);
    snprintf(dst, sizeof dst, "%s/allowed/media2.pub", keydir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, dst);
    CHECK_INT(system(cmd), ==, 0);
    gw_bus_free(cli);
    cli = curve_client("media2", "sigd");
    m.env.request_id = 0;
    gw_bus_send(cli, NULL, &m.env);
    PUMP_UNTIL(cli_seen.calls == 1);
    CHECK_STR(srv_seen.peer, "media2");
    teardown();
    keys_remove();
}

TEST(bus_curve_key_files)
{
    static const char *const names[] = { "sigd", NULL };
    static const char *const allowed[] = { NULL };
    char path[256], key[GW_BUS_KEYLEN], pub[GW_BUS_KEYLEN], pub2[GW_BUS_KEYLEN];
    char err[512], fp[GW_BUS_FPLEN];
    FILE *f;

    keys_make(names, allowed);
    /* The secret key file reads back and yields the public key. */
    snprintf(path, sizeof path, "%s/sigd.key", keydir);
    CHECK_INT(gw_bus_key_read(path, 1, key, err, sizeof err), ==, 0);
    CHECK_INT(gw_bus_key_public(key, pub), ==, 0);
    snprintf(path, sizeof path, "%s/sigd.pub", keydir);
    CHECK_INT(gw_bus_key_read(path, 0, pub2, err, sizeof err), ==, 0);
    CHECK_STR(pub, pub2);
    gw_bus_key_fingerprint(pub, fp);
    CHECK_INT(strlen(fp), ==, 16);
    /* Never overwritten. */
    CHECK_INT(gw_bus_key_write(path, 0, pub, "again"), ==, -EEXIST);
    /* A secret key others can read is refused, and the error names the
     * mode but never the key. */
    snprintf(path, sizeof path, "%s/sigd.key", keydir);
    CHECK_INT(chmod(path, 0644), ==, 0);
    CHECK_INT(gw_bus_key_read(path, 1, key, err, sizeof err), ==, -EINVAL);
    CHECK_CONTAINS(err, "chmod 600");
    CHECK(strstr(err, key) == NULL);
    /* Not a key. */
    snprintf(path, sizeof path, "%s/bad.pub", keydir);
    f = fopen(path, "w");
    CHECK(f != NULL);
    fprintf(f, "# comment\nthis is not a key\n");
    fclose(f);
    CHECK_INT(gw_bus_key_read(path, 0, key, err, sizeof err), ==, -EINVAL);
    CHECK_CONTAINS(err, "not a CURVE key");
    CHECK_INT(gw_bus_key_read("/nonexistent/x.pub", 0, key, err, sizeof err), ==, -ENOENT);
    /* CURVE server without an allow-list is a config error. */
    {
        char sk[256];
        gw_bus_opts_t o = { GW_BUS_SERVER, "tcp://127.0.0.1:1", NULL, srv_routes,
                            NULL, sk, NULL, NULL };
        snprintf(sk, sizeof sk, "%s/sigd.key", keydir);
        CHECK_INT(chmod(sk, 0600), ==, 0);
        CHECK(gw_bus_new(&o, err, sizeof err) == NULL);
        CHECK_CONTAINS(err, "bus_allowed_keys_dir");
    }
    keys_remove();
}

static const gw_test_t tests[] = {
    T(bus_round_trip),
    T(bus_repeated_request),
    T(bus_repeated_request_other_peer),
    T(bus_malformed_frame),
    T(bus_extra_frames),
    T(bus_unexpected_body),
    T(bus_send_unknown_peer),
    T(bus_new_errors),
    T(bus_bind_in_use),
    T(bus_next_id),
    T(bus_decode_truncated),
    T(bus_body_names),
    T(bus_endpoint_local),
    T(bus_plain_refused_off_loopback),
    T(bus_curve_round_trip),
    T(bus_curve_unknown_key_refused),
    T(bus_curve_key_added_while_running),
    T(bus_curve_key_files),
    { NULL, NULL }
};

int main(int argc, char **argv)
{
    return gw_test_main(argc, argv, tests);
}
