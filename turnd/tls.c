/* TURN over TLS: see tls.h.
 *
 * The pull function hands GnuTLS what libuv has read and reports EAGAIN
 * when the input is empty; the push function appends whole chunks to the
 * output buffer and reports EAGAIN when one does not fit, which GnuTLS
 * retries on the next call (a handshake flight larger than the buffer
 * would only stall until tcp.c has written the head). Because tcp.c checks
 * turn_tls_room() before every record, gnutls_record_send() never meets
 * EAGAIN: a record is either fully buffered or not started.
 *
 * The handshake timeout of GnuTLS is switched off: a non-blocking session
 * has no clock of its own, and tcp.c's idle sweep closes connections that
 * never finish.
 */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

struct turn_tls_s {
    /* private */
    gnutls_certificate_credentials_t cred;
    gnutls_priority_t prio;
};

struct turn_tls_conn_s {
    /* private */
    gnutls_session_t s;
    int established;
    int err;                    /* last GnuTLS error, or TLS_ERR_VERSION */
    size_t in_off, in_len;      /* unread ciphertext: in[in_off, in_len) */
    size_t out_len;             /* ciphertext to write: out[0, out_len) */
    uint8_t in[TURN_TLS_INBUF];
    uint8_t out[TURN_TLS_OUTBUF];
};

/* Our own error for a version GnuTLS accepted but we do not (a priority
 * string that slipped one in); outside GnuTLS's negative range. */
#define TLS_ERR_VERSION 1

/* Versions below TLS 1.2 are removed from every priority string. */
#define TLS_MIN_SUFFIX ":-VERS-TLS1.1:-VERS-TLS1.0:-VERS-SSL3.0"

static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
    turn_tls_conn_t *tc = ptr;
    size_t n = tc->in_len - tc->in_off;

    if (n == 0) {
        gnutls_transport_set_errno(tc->s, EAGAIN);
        return -1;
    }
    if (n > len)
        n = len;
    memcpy(data, tc->in + tc->in_off, n);
    tc->in_off += n;
    if (tc->in_off == tc->in_len)
        tc->in_off = tc->in_len = 0;
    return (ssize_t)n;
}

/* Only asked for when GnuTLS wants to wait; we never do. */
static int tls_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
    turn_tls_conn_t *tc = ptr;

    (void)ms;
    return tc->in_len > tc->in_off ? 1 : 0;
}

static ssize_t tls_push(gnutls_transport_ptr_t ptr, const void *data,
                        size_t len)
{
    turn_tls_conn_t *tc = ptr;

    if (len > sizeof tc->out - tc->out_len) {
        gnutls_transport_set_errno(tc->s, EAGAIN);
        return -1;
    }
    memcpy(tc->out + tc->out_len, data, len);
    tc->out_len += len;
    return (ssize_t)len;
}

int turn_tls_new(turn_tls_t **out, const char *cert_file, const char *key_file,
                 const char *priority, char *err, size_t errlen)
{
    turn_tls_t *t;
    char *prio = NULL;
    const char *errpos = NULL;
    size_t plen;
    int rc;

    if (cert_file[0] == '\0' || key_file[0] == '\0') {
        snprintf(err, errlen, "tls_cert and tls_key are required for TLS");
        return -EINVAL;
    }
    t = calloc(1, sizeof *t);
    if (t == NULL)
        goto nomem;
    rc = gnutls_certificate_allocate_credentials(&t->cred);
    if (rc < 0) {
        free(t);
        goto nomem;
    }
    /* The whole chain in cert_file is presented, leaf first. */
    rc = gnutls_certificate_set_x509_key_file2(t->cred, cert_file, key_file,
                                               GNUTLS_X509_FMT_PEM, NULL, 0);
    if (rc < 0) {
        snprintf(err, errlen, "tls_cert '%s' / tls_key '%s': %s", cert_file,
                 key_file, gnutls_strerror(rc));
        goto fail;
    }
    plen = strlen(priority) + sizeof TLS_MIN_SUFFIX;
    prio = malloc(plen);
    if (prio == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
        goto fail_free;
    }
    snprintf(prio, plen, "%s%s", priority, TLS_MIN_SUFFIX);
    rc = gnutls_priority_init2(&t->prio, prio, &errpos, 0);
    if (rc < 0) {
        snprintf(err, errlen, "tls_priority '%s': %s near '%.20s'", priority,
                 gnutls_strerror(rc), errpos != NULL ? errpos : "");
        t->prio = NULL;
        goto fail;
    }
    free(prio);
    *out = t;
    return 0;

nomem:
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
fail:
    rc = -EINVAL;
fail_free:
    free(prio);
    gnutls_certificate_free_credentials(t->cred);
    free(t);
    return rc;
}

void turn_tls_free(turn_tls_t *t)
{
    if (t == NULL)
        return;
    gnutls_priority_deinit(t->prio);
    gnutls_certificate_free_credentials(t->cred);
    free(t);
}

turn_tls_conn_t *turn_tls_conn_new(turn_tls_t *t)
{
    turn_tls_conn_t *tc = malloc(sizeof *tc);

    if (tc == NULL)
        return NULL;
    tc->established = 0;
    tc->err = 0;
    tc->in_off = tc->in_len = tc->out_len = 0;
    if (gnutls_init(&tc->s, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0)
        goto fail;
    if (gnutls_priority_set(tc->s, t->prio) < 0 ||
        gnutls_credentials_set(tc->s, GNUTLS_CRD_CERTIFICATE, t->cred) < 0)
        goto fail_session;
    gnutls_certificate_server_set_request(tc->s, GNUTLS_CERT_IGNORE);
    gnutls_handshake_set_timeout(tc->s, 0);
    gnutls_transport_set_ptr(tc->s, tc);
    gnutls_transport_set_pull_function(tc->s, tls_pull);
    gnutls_transport_set_pull_timeout_function(tc->s, tls_pull_timeout);
    gnutls_transport_set_push_function(tc->s, tls_push);
    return tc;

fail_session:
    gnutls_deinit(tc->s);
fail:
    free(tc);
    return NULL;
}

void turn_tls_conn_free(turn_tls_conn_t *tc)
{
    if (tc == NULL)
        return;
    gnutls_deinit(tc->s);
    free(tc);
}

void turn_tls_in_space(turn_tls_conn_t *tc, uint8_t **buf, size_t *len)
{
    if (tc->in_off > 0) {
        memmove(tc->in, tc->in + tc->in_off, tc->in_len - tc->in_off);
        tc->in_len -= tc->in_off;
        tc->in_off = 0;
    }
    *buf = tc->in + tc->in_len;
    *len = sizeof tc->in - tc->in_len;
}

void turn_tls_in_add(turn_tls_conn_t *tc, size_t n)
{
    tc->in_len += n;
}

static int tls_handshake(turn_tls_conn_t *tc)
{
    int rc = gnutls_handshake(tc->s);

    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED ||
        (rc < 0 && !gnutls_error_is_fatal(rc)))
        return 0;
    if (rc < 0) {
        tc->err = rc;
        /* Best effort: the alert goes out with what tcp.c still writes. */
        gnutls_alert_send_appropriate(tc->s, rc);
        return -EPROTO;
    }
    if (gnutls_protocol_get_version(tc->s) < GNUTLS_TLS1_2) {
        tc->err = TLS_ERR_VERSION;
        gnutls_alert_send(tc->s, GNUTLS_AL_FATAL, GNUTLS_A_PROTOCOL_VERSION);
        return -EPROTO;
    }
    tc->established = 1;
    return 1;
}

int turn_tls_read(turn_tls_conn_t *tc, uint8_t *buf, size_t len)
{
    ssize_t n;
    int rc;

    if (!tc->established) {
        rc = tls_handshake(tc);
        if (rc <= 0)
            return rc;
    }
    /* Warnings (non-fatal alerts) are skipped; a few in a row at most, so
     * that a peer cannot keep us here. */
    for (int i = 0; i < 4; i++) {
        n = gnutls_record_recv(tc->s, buf, len);
        if (n > 0)
            return (int)n;
        if (n == 0)
            return -ECONNRESET;          /* close_notify */
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
            return 0;
        if (gnutls_error_is_fatal((int)n)) {
            tc->err = (int)n;
            return -EPROTO;
        }
    }
    return 0;
}

size_t turn_tls_room(const turn_tls_conn_t *tc)
{
    size_t free_out = sizeof tc->out - tc->out_len;
    /* One record's overhead per 16 KiB of plaintext, and one to spare. */
    size_t over = TURN_TLS_RECORD_OVERHEAD * (2 + free_out / 16384);

    return free_out > over ? free_out - over : 0;
}

int turn_tls_write(turn_tls_conn_t *tc, const uint8_t *data, size_t len)
{
    ssize_t n;

    if (!tc->established || len > turn_tls_room(tc))
        return -ENOBUFS;
    /* A message above the record size goes out as several records. */
    while (len > 0) {
        n = gnutls_record_send(tc->s, data, len);
        if (n < 0) {
            tc->err = (int)n;
            return -EPROTO;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int turn_tls_established(const turn_tls_conn_t *tc)
{
    return tc->established;
}

void turn_tls_out(const turn_tls_conn_t *tc, const uint8_t **buf, size_t *len)
{
    *buf = tc->out;
    *len = tc->out_len;
}

void turn_tls_out_done(turn_tls_conn_t *tc, size_t n)
{
    if (n >= tc->out_len) {
        tc->out_len = 0;
        return;
    }
    memmove(tc->out, tc->out + n, tc->out_len - n);
    tc->out_len -= n;
}

void turn_tls_bye(turn_tls_conn_t *tc)
{
    if (tc->established)
        gnutls_bye(tc->s, GNUTLS_SHUT_WR);
}

const char *turn_tls_error(const turn_tls_conn_t *tc)
{
    if (tc->err == TLS_ERR_VERSION)
        return "protocol version below TLS 1.2";
    if (tc->err == 0)
        return "no error";
    return gnutls_strerror(tc->err);
}

const char *turn_tls_version(const turn_tls_conn_t *tc)
{
    const char *v = gnutls_protocol_get_name(gnutls_protocol_get_version(tc->s));

    return v != NULL ? v : "unknown";
}
