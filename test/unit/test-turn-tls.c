/* Unit tests of turnd's TLS sessions (tls.c) without sockets: a GnuTLS
 * client talks to turn_tls_conn_t through memory, so the non-blocking
 * pull/push paths, the TLS 1.2 floor, the output-room rule and the
 * credential loading errors are checked byte for byte. The certificate is
 * made here (ECDSA P-384, self-signed) into a temporary directory.
 */
#include "runner.h"
#include "tls.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <unistd.h>

static char dir[64], certf[128], keyf[128];

/* A self-signed P-384 certificate and its key as PEM files. */
static void make_cert(void)
{
    gnutls_x509_privkey_t key;
    gnutls_x509_crt_t crt;
    gnutls_datum_t out;
    FILE *f;

    snprintf(dir, sizeof dir, "/tmp/gw-test-turn-tls.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(certf, sizeof certf, "%s/cert.pem", dir);
    snprintf(keyf, sizeof keyf, "%s/key.pem", dir);
    CHECK(gnutls_x509_privkey_init(&key) == 0);
    CHECK(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
          GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP384R1), 0) == 0);
    CHECK(gnutls_x509_crt_init(&crt) == 0);
    CHECK(gnutls_x509_crt_set_version(crt, 3) == 0);
    CHECK(gnutls_x509_crt_set_serial(crt, "\x01", 1) == 0);
    CHECK(gnutls_x509_crt_set_activation_time(crt, time(NULL) - 60) == 0);
    CHECK(gnutls_x509_crt_set_expiration_time(crt, time(NULL) + 3600) == 0);
    CHECK(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                        "turn.test", 9) == 0);
    CHECK(gnutls_x509_crt_set_key(crt, key) == 0);
    CHECK(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA384, 0) == 0);
    CHECK(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &out) == 0);
    f = fopen(certf, "w");
    CHECK(f != NULL && fwrite(out.data, 1, out.size, f) == out.size);
    fclose(f);
    gnutls_free(out.data);
    CHECK(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &out) == 0);
    f = fopen(keyf, "w");
    CHECK(f != NULL && fwrite(out.data, 1, out.size, f) == out.size);
    fclose(f);
    gnutls_free(out.data);
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
}

static void drop_cert(void)
{
    unlink(certf);
    unlink(keyf);
    rmdir(dir);
}

/* The client side: its own buffers, filled from the server's output. */
typedef struct {
    gnutls_session_t s;
    gnutls_certificate_credentials_t cred;
    turn_tls_conn_t *srv;
    uint8_t in[65536];
    size_t in_off, in_len;
} client_t;

static ssize_t cli_push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
    client_t *c = p;
    uint8_t *buf;
    size_t room;

    turn_tls_in_space(c->srv, &buf, &room);
    if (len > room) {
        gnutls_transport_set_errno(c->s, EAGAIN);
        return -1;
    }
    memcpy(buf, data, len);
    turn_tls_in_add(c->srv, len);
    return (ssize_t)len;
}

static ssize_t cli_pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
    client_t *c = p;
    size_t n = c->in_len - c->in_off;

    if (n == 0) {
        gnutls_transport_set_errno(c->s, EAGAIN);
        return -1;
    }
    if (n > len)
        n = len;
    memcpy(data, c->in + c->in_off, n);
    c->in_off += n;
    return (ssize_t)n;
}

/* Moves the server's ciphertext to the client, as tcp.c's writes would. */
static void server_to_client(client_t *c)
{
    const uint8_t *p;
    size_t len;

    turn_tls_out(c->srv, &p, &len);
    if (c->in_off == c->in_len)
        c->in_off = c->in_len = 0;
    CHECK(c->in_len + len <= sizeof c->in);
    memcpy(c->in + c->in_len, p, len);
    c->in_len += len;
    turn_tls_out_done(c->srv, len);
}

static void client_init(client_t *c, turn_tls_conn_t *srv, const char *prio)
{
    memset(c, 0, sizeof *c);
    c->srv = srv;
    CHECK(gnutls_certificate_allocate_credentials(&c->cred) == 0);
    CHECK(gnutls_init(&c->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK) == 0);
    CHECK(gnutls_priority_set_direct(c->s, prio, NULL) == 0);
    CHECK(gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, c->cred) == 0);
    gnutls_transport_set_ptr(c->s, c);
    gnutls_transport_set_push_function(c->s, cli_push);
    gnutls_transport_set_pull_function(c->s, cli_pull);
}

static void client_free(client_t *c)
{
    gnutls_deinit(c->s);
    gnutls_certificate_free_credentials(c->cred);
}

/* Runs both handshakes to the end: the client's result. */
static int handshake(client_t *c, int *srv_rc)
{
    uint8_t buf[64];
    int rc = GNUTLS_E_AGAIN;

    *srv_rc = 0;
    for (int i = 0; i < 20 && rc == GNUTLS_E_AGAIN; i++) {
        rc = gnutls_handshake(c->s);
        *srv_rc = turn_tls_read(c->srv, buf, sizeof buf);
        server_to_client(c);
        if (*srv_rc < 0)
            break;
    }
    if (rc == GNUTLS_E_AGAIN)
        rc = gnutls_handshake(c->s);
    return rc;
}

static turn_tls_t *server_creds(const char *prio)
{
    turn_tls_t *t;
    char err[256];

    CHECK_INT(turn_tls_new(&t, certf, keyf, prio, err, sizeof err), ==, 0);
    return t;
}

TEST(tls12_p384_roundtrip)
{
    turn_tls_t *t;
    turn_tls_conn_t *srv;
    client_t c;
    uint8_t msg[1000], got[2000];
    ssize_t n;
    int srv_rc;

    make_cert();
    t = server_creds("SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
    srv = turn_tls_conn_new(t);
    CHECK(srv != NULL);
    client_init(&c, srv, "NORMAL:-VERS-ALL:+VERS-TLS1.2:-GROUP-ALL:+GROUP-SECP384R1");
    CHECK_INT(handshake(&c, &srv_rc), ==, 0);
    CHECK_INT(srv_rc, >=, 0);
    CHECK(turn_tls_established(srv));
    CHECK_STR(turn_tls_version(srv), "TLS1.2");
    CHECK_INT(gnutls_group_get(c.s), ==, GNUTLS_GROUP_SECP384R1);
    /* client -> server: one message, decrypted whole */
    memset(msg, 0x5a, sizeof msg);
    CHECK_INT(gnutls_record_send(c.s, msg, sizeof msg), ==, sizeof msg);
    CHECK_INT(turn_tls_read(srv, got, sizeof got), ==, sizeof msg);
    CHECK(memcmp(got, msg, sizeof msg) == 0);
    CHECK_INT(turn_tls_read(srv, got, sizeof got), ==, 0);   /* nothing more */
    /* server -> client */
    CHECK_INT(turn_tls_write(srv, msg, sizeof msg), ==, 0);
    server_to_client(&c);
    n = gnutls_record_recv(c.s, got, sizeof got);
    CHECK_INT(n, ==, sizeof msg);
    /* The output buffer refuses what would not fit, whole. */
    while (turn_tls_room(srv) >= sizeof msg)
        CHECK_INT(turn_tls_write(srv, msg, sizeof msg), ==, 0);
    CHECK_INT(turn_tls_write(srv, msg, sizeof msg), ==, -ENOBUFS);
    /* close_notify from the client reads as -ECONNRESET */
    server_to_client(&c);
    gnutls_bye(c.s, GNUTLS_SHUT_WR);
    CHECK_INT(turn_tls_read(srv, got, sizeof got), ==, -ECONNRESET);
    turn_tls_conn_free(srv);
    client_free(&c);
    turn_tls_free(t);
    drop_cert();
}

TEST(tls13_default)
{
    turn_tls_t *t;
    turn_tls_conn_t *srv;
    client_t c;
    int srv_rc;

    make_cert();
    t = server_creds("SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
    srv = turn_tls_conn_new(t);
    client_init(&c, srv, "NORMAL");
    CHECK_INT(handshake(&c, &srv_rc), ==, 0);
    CHECK_STR(turn_tls_version(srv), "TLS1.3");
    turn_tls_conn_free(srv);
    client_free(&c);
    turn_tls_free(t);
    drop_cert();
}

/* TLS 1.1 is refused even when the configured priority allows it. */
TEST(tls11_refused_whatever_the_priority)
{
    turn_tls_t *t;
    turn_tls_conn_t *srv;
    client_t c;
    int srv_rc, rc;

    make_cert();
    t = server_creds("NORMAL:+VERS-TLS1.1:+VERS-TLS1.0");
    srv = turn_tls_conn_new(t);
    client_init(&c, srv, "NORMAL:-VERS-ALL:+VERS-TLS1.1");
    rc = handshake(&c, &srv_rc);
    CHECK(rc < 0);
    CHECK_INT(srv_rc, ==, -EPROTO);
    CHECK(!turn_tls_established(srv));
    CHECK(strcmp(turn_tls_error(srv), "no error") != 0);
    turn_tls_conn_free(srv);
    client_free(&c);
    turn_tls_free(t);
    drop_cert();
}

TEST(bad_files_and_priority)
{
    turn_tls_t *t = NULL;
    char err[512];

    make_cert();
    CHECK_INT(turn_tls_new(&t, "", keyf, "NORMAL", err, sizeof err), ==, -EINVAL);
    CHECK_INT(turn_tls_new(&t, "/nonexistent.pem", keyf, "NORMAL", err, sizeof err),
              ==, -EINVAL);
    CHECK_CONTAINS(err, "/nonexistent.pem");
    CHECK_INT(turn_tls_new(&t, certf, certf, "NORMAL", err, sizeof err), ==, -EINVAL);
    CHECK_INT(turn_tls_new(&t, certf, keyf, "NOT-A-PRIORITY", err, sizeof err),
              ==, -EINVAL);
    CHECK_CONTAINS(err, "tls_priority");
    CHECK(t == NULL);
    drop_cert();
}

static const gw_test_t tests[] = {
    T(tls12_p384_roundtrip),
    T(tls13_default),
    T(tls11_refused_whatever_the_priority),
    T(bad_files_and_priority),
    { NULL, NULL }
};

int main(int argc, char **argv)
{
    return gw_test_main(argc, argv, tests);
}
