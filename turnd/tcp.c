/* STUN over TCP: see tcp.h.
 *
 * Per connection the input is consumed in place: libuv reads into the free
 * tail of the connection's buffer, every complete message at its head is
 * handled, and what remains (a partial message) is moved to the front.
 * While an answer waits in the output buffer, reading is stopped and no
 * further message is handled; the write callback resumes both, in order.
 *
 * TLS mode (the listener has a turn_tls_t): libuv reads ciphertext into
 * the session's input buffer; conn_tls_fill() decrypts into buf, so that
 * the framing code below is the same for both. Answers and relayed data
 * are encrypted into the session's output buffer, written by conn_flush()
 * with the same try-write-then-queue rule; while a write is in flight the
 * session may still append behind it (relayed data, up to
 * turn_tls_room()), but no further request is handled.
 */
#include "tcp.h"
#include "log.h"
#include "net.h"
#include "tls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct turn_tcp_conn_s {
    /* private */
    uv_tcp_t handle;
    uv_write_t wreq;
    turn_tcp_t *srv;
    turn_tcp_conn_t *prev, *next;   /* in srv->conns */
    turn_client_t client;           /* peer address, way back (tcp_send) */
    uint64_t last_ms;               /* uv_now() of the last complete message */
    int reading;
    int writing;                    /* out[] (or TLS output) being written */
    int closing;
    size_t used;                    /* bytes in buf */
    turn_tls_conn_t *tls;           /* NULL on plain TCP */
    size_t wlen;                    /* TLS: bytes of the write in flight */
    uint8_t out[TURN_TCP_BUF];      /* the unwritten tail of one message */
    uint8_t buf[TURN_TCP_BUF];
};

static void conn_process(turn_tcp_conn_t *c);
static void conn_resume(turn_tcp_conn_t *c);

static void on_conn_closed(uv_handle_t *h)
{
    turn_tcp_conn_t *c = h->data;
    turn_tcp_t *t = c->srv;

    if (c->prev)
        c->prev->next = c->next;
    else
        t->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    t->nconns--;
    turn_tls_conn_free(c->tls);
    free(c);
}

/* TLS: a last try to deliver what the session still holds (an alert, a
 * close_notify), without waiting for the socket. */
static void conn_tls_last_words(turn_tcp_conn_t *c)
{
    const uint8_t *p;
    size_t len;
    uv_buf_t b;

    if (c->writing)
        return;
    turn_tls_bye(c->tls);
    turn_tls_out(c->tls, &p, &len);
    if (len == 0)
        return;
    b = uv_buf_init((char *)p, (unsigned)len);
    (void)uv_try_write((uv_stream_t *)&c->handle, &b, 1);
}

static void conn_close(turn_tcp_conn_t *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (c->tls != NULL)
        conn_tls_last_words(c);
    /* RFC 8656 section 3.1: an allocation ends with its connection. */
    if (c->srv->stun->turn != NULL)
        turn_allocs_drop_conn(&c->srv->stun->turn->allocs, c);
    uv_close((uv_handle_t *)&c->handle, on_conn_closed);
}

/* Closes a connection whose input cannot be STUN; `rc` says why. */
static void conn_bad(turn_tcp_conn_t *c, int rc)
{
    c->srv->closed_bad++;
    turn_stun_log_bad(c->srv->stun, "tcp", (struct sockaddr *)&c->client.addr,
                      rc);
    conn_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    turn_tcp_conn_t *c = h->data;

    (void)suggested;
    if (c->tls != NULL) {
        uint8_t *p;
        size_t len;

        turn_tls_in_space(c->tls, &p, &len);
        *buf = uv_buf_init((char *)p, (unsigned)len);
        return;
    }
    /* A full buffer yields a zero-length buffer: libuv then reports
     * UV_ENOBUFS, which closes the connection. conn_process() never leaves
     * a full buffer behind while reading, so that is a safety net only. */
    *buf = uv_buf_init((char *)c->buf + c->used,
                       (unsigned)(sizeof c->buf - c->used));
}

static void conn_flush(turn_tcp_conn_t *c);

static void on_written(uv_write_t *req, int status)
{
    turn_tcp_conn_t *c = req->data;

    c->writing = 0;
    if (status < 0) {
        GW_DEBUG("stun: tcp write failed: %s", uv_strerror(status));
        conn_close(c);
        return;
    }
    if (c->tls != NULL) {
        turn_tls_out_done(c->tls, c->wlen);
        conn_flush(c);
    }
    conn_process(c);
}

/* TLS: writes the session's pending ciphertext; what the socket does not
 * take now is written from the session's buffer, where it stays put. */
static void conn_flush(turn_tcp_conn_t *c)
{
    const uint8_t *p;
    size_t len;
    uv_buf_t b;
    int n;

    if (c->writing || c->closing)
        return;
    turn_tls_out(c->tls, &p, &len);
    if (len == 0)
        return;
    b = uv_buf_init((char *)p, (unsigned)len);
    n = uv_try_write((uv_stream_t *)&c->handle, &b, 1);
    if (n == UV_EAGAIN)
        n = 0;
    if (n < 0) {
        GW_DEBUG("stun: tls write failed: %s", uv_strerror(n));
        conn_close(c);
        return;
    }
    turn_tls_out_done(c->tls, (size_t)n);
    turn_tls_out(c->tls, &p, &len);
    if (len == 0)
        return;
    b = uv_buf_init((char *)p, (unsigned)len);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->handle, &b, 1, on_written) < 0) {
        conn_close(c);
        return;
    }
    c->wlen = len;
    c->writing = 1;
}

/* TLS: a session failure, logged with the peer (GnuTLS's text only). */
static void conn_tls_failed(turn_tcp_conn_t *c, int rc)
{
    char a[GW_ADDRSTRLEN];

    if (rc == -ECONNRESET) {
        conn_close(c);
        return;
    }
    gw_addr_str((struct sockaddr *)&c->client.addr, a, sizeof a);
    c->srv->tls_failed++;
    GW_INFO("stun: tls %s with %s failed: %s",
            turn_tls_established(c->tls) ? "session" : "handshake", a,
            turn_tls_error(c->tls));
    conn_close(c);
}

/* TLS: decrypts what has arrived into buf, as far as it fits. -1 when the
 * connection was closed. */
static int conn_tls_fill(turn_tcp_conn_t *c)
{
    int was = turn_tls_established(c->tls);
    int n;

    while (c->used < sizeof c->buf) {
        n = turn_tls_read(c->tls, c->buf + c->used, sizeof c->buf - c->used);
        if (n < 0) {
            conn_tls_failed(c, n);
            return -1;
        }
        if (n == 0)
            break;
        c->used += (size_t)n;
    }
    if (!was && turn_tls_established(c->tls)) {
        char a[GW_ADDRSTRLEN];

        c->srv->tls_handshakes++;
        gw_addr_str((struct sockaddr *)&c->client.addr, a, sizeof a);
        GW_DEBUG("stun: tls %s with %s", turn_tls_version(c->tls), a);
    }
    conn_flush(c);     /* handshake flights */
    return c->closing ? -1 : 0;
}

/* Sends one answer: directly when the socket takes it all, else through
 * the output buffer. */
static void conn_send(turn_tcp_conn_t *c, const uint8_t *data, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int n;

    if (c->tls != NULL) {
        n = turn_tls_write(c->tls, data, len);
        if (n < 0) {
            conn_tls_failed(c, n);
            return;
        }
        conn_flush(c);
        return;
    }
    n = uv_try_write((uv_stream_t *)&c->handle, &b, 1);
    if (n == UV_EAGAIN)
        n = 0;
    if (n < 0) {
        GW_DEBUG("stun: tcp write failed: %s", uv_strerror(n));
        conn_close(c);
        return;
    }
    if ((size_t)n == len)
        return;
    memcpy(c->out, data + n, len - (size_t)n);
    b = uv_buf_init((char *)c->out, (unsigned)(len - (size_t)n));
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->handle, &b, 1, on_written) < 0) {
        conn_close(c);
        return;
    }
    c->writing = 1;
}

/* turn_send_f for relayed data to this connection's client: a message
 * that cannot be written whole now is dropped, so that the stream never
 * carries half a frame and relayed media never queues behind a slow
 * reader. */
static int tcp_send(void *conn, const struct sockaddr *to, const uint8_t *data,
                    size_t len)
{
    turn_tcp_conn_t *c = conn;

    (void)to;
    if (c->tls != NULL) {
        /* Relayed data may queue behind a write in flight, up to the
         * session's buffer less room for one answer (so that an answer
         * always fits); beyond that it is dropped whole. */
        if (c->closing || len + TURN_STUN_REPLY_MAX > turn_tls_room(c->tls))
            return -EAGAIN;
        conn_send(c, data, len);
        return c->closing ? -EPIPE : 0;
    }
    if (c->closing || c->writing)
        return -EAGAIN;
    if (len > sizeof c->out)
        return -EMSGSIZE;
    conn_send(c, data, len);
    return c->closing ? -EPIPE : 0;
}

/* Handles every complete message at the head of the buffer, then reads
 * again unless an answer is waiting to be written. */
static void conn_process(turn_tcp_conn_t *c)
{
    uint8_t out[TURN_STUN_REPLY_MAX];
    size_t outlen;
    int flen, rc;

    while (!c->writing && !c->closing) {
        if (c->tls != NULL && conn_tls_fill(c) < 0)
            return;
        if (c->writing)
            break;
        flen = turn_stream_frame_len(c->buf, c->used);
        if (flen < 0 || flen > (int)sizeof c->buf) {
            c->srv->stun->stats.malformed++;
            conn_bad(c, flen < 0 ? flen : -EMSGSIZE);
            return;
        }
        if (flen == 0 || (size_t)flen > c->used)
            break;  /* wait for the rest */
        c->last_ms = uv_now(c->handle.loop);
        outlen = 0;
        if (turn_chan_is(c->buf, (size_t)flen))
            rc = c->srv->stun->turn == NULL ? -EINVAL
               : turn_on_channel_data(c->srv->stun->turn, &c->client, c->buf,
                                      (size_t)flen);
        else
            rc = turn_stun_handle(c->srv->stun, c->buf, (size_t)flen,
                                  &c->client, out, sizeof out, &outlen);
        if (rc < 0) {
            if (turn_chan_is(c->buf, (size_t)flen))
                c->srv->stun->stats.malformed++;
            conn_bad(c, rc);
            return;
        }
        c->used -= (size_t)flen;
        memmove(c->buf, c->buf + flen, c->used);
        if (outlen > 0)
            conn_send(c, out, outlen);
    }
    if (c->closing)
        return;
    if (!c->writing) {
        conn_resume(c);
    } else if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->handle);
        c->reading = 0;
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void conn_resume(turn_tcp_conn_t *c)
{
    if (c->closing || c->writing || c->reading)
        return;
    if (uv_read_start((uv_stream_t *)&c->handle, on_alloc, on_read) < 0) {
        conn_close(c);
        return;
    }
    c->reading = 1;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    turn_tcp_conn_t *c = s->data;

    (void)buf;
    if (nread < 0) {
        if (nread != UV_EOF)
            GW_DEBUG("stun: tcp read failed: %s", uv_strerror((int)nread));
        conn_close(c);
        return;
    }
    if (c->tls != NULL)
        turn_tls_in_add(c->tls, (size_t)nread);
    else
        c->used += (size_t)nread;
    conn_process(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    turn_tcp_t *t = server->data;
    turn_tcp_conn_t *c;
    int len = sizeof c->client.addr;

    if (status < 0) {
        GW_WARN("stun: tcp accept failed: %s", uv_strerror(status));
        return;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        GW_ERR("stun: tcp accept: out of memory");
        return;
    }
    c->srv = t;
    if (uv_tcp_init(server->loop, &c->handle) < 0) {
        free(c);
        return;
    }
    c->handle.data = c;
    c->next = t->conns;
    if (t->conns)
        t->conns->prev = c;
    t->conns = c;
    t->nconns++;
    if (uv_accept(server, (uv_stream_t *)&c->handle) < 0) {
        conn_close(c);
        return;
    }
    if (t->nconns > TURN_TCP_MAX_CONNS) {
        t->refused++;
        conn_close(c);
        return;
    }
    uv_tcp_getpeername(&c->handle, (struct sockaddr *)&c->client.addr, &len);
    if (t->tls != NULL) {
        c->tls = turn_tls_conn_new(t->tls);
        if (c->tls == NULL) {
            GW_ERR("stun: tls session: out of memory");
            conn_close(c);
            return;
        }
    }
    c->client.proto = t->tls != NULL ? TURN_PROTO_TLS : TURN_PROTO_TCP;
    c->client.conn = c;
    c->client.send = tcp_send;
    c->last_ms = uv_now(server->loop);
    t->accepted++;
    conn_resume(c);
}

/* Closes connections that sent no complete message for TURN_TCP_IDLE_MS,
 * and TLS connections whose handshake is late. */
static void on_sweep(uv_timer_t *timer)
{
    turn_tcp_t *t = timer->data;
    uint64_t now = uv_now(timer->loop);

    for (turn_tcp_conn_t *c = t->conns; c != NULL; c = c->next) {
        if (c->closing)
            continue;
        /* last_ms is still the accept time until the first message. */
        if (c->tls != NULL && !turn_tls_established(c->tls) &&
            now - c->last_ms >= TURN_TLS_HANDSHAKE_MS) {
            char a[GW_ADDRSTRLEN];

            t->tls_failed++;
            gw_addr_str((struct sockaddr *)&c->client.addr, a, sizeof a);
            GW_INFO("stun: tls handshake with %s not done after %d ms: closed",
                    a, TURN_TLS_HANDSHAKE_MS);
            conn_close(c);
            continue;
        }
        if (now - c->last_ms >= TURN_TCP_IDLE_MS) {
            t->closed_idle++;
            conn_close(c);
        }
    }
}

int turn_tcp_start(turn_tcp_t *t, uv_loop_t *loop, const struct sockaddr *addr,
                   turn_stun_t *stun, turn_tls_t *tls)
{
    int rc;

    memset(t, 0, sizeof *t);
    t->stun = stun;
    t->tls = tls;
    rc = uv_tcp_init(loop, &t->listener);
    if (rc < 0)
        return rc;
    t->listener.data = t;
    uv_timer_init(loop, &t->sweep);
    t->sweep.data = t;
    t->started = 1;
    rc = uv_tcp_bind(&t->listener, addr, 0);
    if (rc < 0)
        goto fail;
    rc = uv_listen((uv_stream_t *)&t->listener, 128, on_connection);
    if (rc < 0)
        goto fail;
    uv_timer_start(&t->sweep, on_sweep, TURN_TCP_SWEEP_MS, TURN_TCP_SWEEP_MS);
    return 0;

fail:
    turn_tcp_stop(t);
    return rc;
}

void turn_tcp_stop(turn_tcp_t *t)
{
    if (!t->started || t->closing)
        return;
    t->closing = 1;
    uv_close((uv_handle_t *)&t->listener, NULL);
    uv_close((uv_handle_t *)&t->sweep, NULL);
    for (turn_tcp_conn_t *c = t->conns; c != NULL; c = c->next)
        conn_close(c);
}
