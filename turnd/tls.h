/* TURN over TLS (RFC 8656 section 3.5): the GnuTLS side of a TLS
 * connection, with no I/O of its own. tcp.c moves the bytes: libuv reads
 * ciphertext into the session's input buffer (turn_tls_in_space(),
 * turn_tls_in_add()), and writes what the session leaves in its output
 * buffer (turn_tls_out(), turn_tls_out_done()). GnuTLS sees these buffers
 * through custom pull and push functions that never block: an empty input
 * or a full output is EAGAIN, so the handshake advances a little with each
 * read, like the rest of the event loop.
 *
 * One turn_tls_t per listener holds the certificate chain, the key and the
 * priority cache; it outlives its connections. TLS 1.0 and 1.1 are removed
 * from any configured priority string, and the version is checked again
 * after the handshake: the minimum is TLS 1.2.
 *
 * Keys never leave GnuTLS; errors carry GnuTLS's text, never key material.
 */
#ifndef TURN_TLS_H
#define TURN_TLS_H

#include <stddef.h>
#include <stdint.h>

/* Ciphertext buffered per connection, each way. The output holds a whole
 * handshake flight (certificate chain included) or several records of
 * relayed data; a connection is refused data beyond it (turn_tls_room()). */
#define TURN_TLS_INBUF   4096
#define TURN_TLS_OUTBUF  32768
/* Bound on what one record adds to its plaintext (header, nonce, tag,
 * padding), used to decide whether a record fits. */
#define TURN_TLS_RECORD_OVERHEAD 256

typedef struct turn_tls_s turn_tls_t;
typedef struct turn_tls_conn_s turn_tls_conn_t;

/* Loads the PEM chain (leaf first, presented whole) and key and compiles
 * `priority`. 0 with *out (owned by the caller, turn_tls_free()), or
 * -EINVAL / -ENOMEM with a reason in err (file names, GnuTLS text). */
int turn_tls_new(turn_tls_t **out, const char *cert_file, const char *key_file,
                 const char *priority, char *err, size_t errlen);
void turn_tls_free(turn_tls_t *t);

/* A server session for one accepted connection; NULL when out of memory.
 * Freed by turn_tls_conn_free(), after which its buffers are gone: free it
 * only once no write from its output buffer is in flight. */
turn_tls_conn_t *turn_tls_conn_new(turn_tls_t *t);
void turn_tls_conn_free(turn_tls_conn_t *tc);

/* Where libuv may read ciphertext: the free tail of the input buffer. */
void turn_tls_in_space(turn_tls_conn_t *tc, uint8_t **buf, size_t *len);
/* `n` bytes were read into the space given last. */
void turn_tls_in_add(turn_tls_conn_t *tc, size_t n);

/* Advances the handshake, then decrypts into buf. Returns the number of
 * plaintext bytes (0: nothing yet, read more), or -ECONNRESET when the
 * peer closed the session, -EPROTO on a TLS failure (handshake refused,
 * bad record, version below 1.2; turn_tls_error() says why). */
int turn_tls_read(turn_tls_conn_t *tc, uint8_t *buf, size_t len);
/* Encrypts one whole message into the output buffer: 0, -ENOBUFS when it
 * does not fit (dropped, nothing written), -EPROTO on a TLS failure. */
int turn_tls_write(turn_tls_conn_t *tc, const uint8_t *data, size_t len);
/* Plaintext that fits in the output buffer now. */
size_t turn_tls_room(const turn_tls_conn_t *tc);
int turn_tls_established(const turn_tls_conn_t *tc);

/* Ciphertext waiting to be written, at the head of the output buffer. The
 * bytes do not move until turn_tls_out_done(); more may be appended behind
 * them meanwhile. */
void turn_tls_out(const turn_tls_conn_t *tc, const uint8_t **buf, size_t *len);
void turn_tls_out_done(turn_tls_conn_t *tc, size_t n);

/* Queues a close_notify alert (nothing when the handshake never ended). */
void turn_tls_bye(turn_tls_conn_t *tc);

/* GnuTLS's text for the last failure of this connection. */
const char *turn_tls_error(const turn_tls_conn_t *tc);
/* "TLS1.3", "TLS1.2" ... once established. */
const char *turn_tls_version(const turn_tls_conn_t *tc);

#endif
