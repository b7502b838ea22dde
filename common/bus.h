/* The control bus: ZeroMQ ROUTER (sigd) / DEALER (nodes, gwctl) carrying one
 * protobuf-c gw.Envelope per frame.
 *
 * Decoding stays here; behaviour lives in the handlers each daemon lists in
 * a table of gw_bus_route_t, one row per message it accepts (the X-macro
 * GW_BUS_BODIES names every body). A frame that does not decode, or whose
 * body the daemon does not accept, is logged with its sender and dropped;
 * nothing else is disturbed.
 *
 * Event loops: the ZMQ_FD is edge-triggered, so gw_bus_process() drains
 * until nothing is pending. Call it when the fd is readable, and call
 * gw_bus_process_pending() once per loop iteration before the loop blocks
 * (libuv prepare handle, Sofia prepoll): a send made outside the read
 * callback may have consumed the fd's edge for a message that arrived
 * meanwhile, so the bus notes every send and that call drains after one.
 * Without a send since the last drain it costs nothing (no system call),
 * which matters because the loop turns once per SIP datagram or RTP batch.
 *
 * Repeated requests: replies sent with gw_bus_reply() are kept in a small
 * cache keyed by (peer, request id); a request seen again is answered from
 * the cache, not executed twice.
 *
 * Security: across hosts the bus runs ZeroMQ CURVE (encrypted, and each
 * peer proves it holds a key). The server holds a key pair and admits the
 * public keys found in allowed_keys_dir (one NAME.pub file per peer, NAME
 * being the label logged for it) through a ZAP handler, a REP socket on
 * inproc://zeromq.zap.01 served by a thread of its own; the directory is
 * read again whenever it changes, so adding a node's key needs no restart.
 * A client holds its own key pair and the server's public key. Without
 * keys the bus is plain TCP, which gw_bus_new() accepts only for loopback,
 * ipc:// and inproc:// endpoints. Keys are Z85 text files (40 characters,
 * '#' comments allowed); logs name a key by its fingerprint only.
 */
#ifndef GW_BUS_H
#define GW_BUS_H

#include <stddef.h>
#include <stdint.h>

#include "gw.pb-c.h"

#define GW_BUS_PEERLEN 64   /* routing ids (node names) are shorter */
#define GW_BUS_KEYLEN 41    /* Z85 text of a 32-byte CURVE key, with NUL */
#define GW_BUS_FPLEN 17     /* key fingerprint: 16 hex digits, with NUL */

/* X(CASE_SUFFIX, printable name) for every Envelope body. */
#define GW_BUS_BODIES(X)                 \
    X(REG, "register")                   \
    X(REGISTERED, "registered")          \
    X(HEARTBEAT, "heartbeat")            \
    X(DRAIN, "drain")                    \
    X(DEREG, "deregister")               \
    X(OFFER, "offer")                    \
    X(ANSWER, "answer")                  \
    X(DEL, "delete")                     \
    X(QUERY, "query")                    \
    X(MEDIA_REPLY, "media-reply")        \
    X(EVENT, "event")                    \
    X(ERROR, "error")                    \
    X(CTL, "ctl")                        \
    X(CTL_REPLY, "ctl-reply")            \
    X(TURN_SECRETS, "turn-secrets")      \
    X(TURN_REVOKE, "turn-revoke")        \
    X(TURN_REPLY, "turn-reply")

typedef struct gw_bus_s gw_bus_t;

/* `peer` is the sender's routing id on a server, "" on a client. The
 * envelope is freed after the handler returns: copy what must outlive it. */
typedef void (*gw_bus_handler_f)(gw_bus_t *bus, const char *peer,
                                 const Gw__Envelope *env, void *ctx);

typedef struct {
    Gw__Envelope__BodyCase body;
    gw_bus_handler_f fn;
} gw_bus_route_t;

typedef enum {
    GW_BUS_SERVER,   /* ROUTER, binds */
    GW_BUS_CLIENT    /* DEALER, connects with `identity` as routing id */
} gw_bus_mode_t;

typedef struct {
    gw_bus_mode_t mode;
    const char *endpoint;          /* "tcp://127.0.0.1:7700" */
    const char *identity;          /* client routing id (node name) */
    const gw_bus_route_t *routes;  /* ends with a NULL fn */
    void *ctx;                     /* passed to handlers */
    /* CURVE: NULL or "" everywhere = plain TCP (loopback only). */
    const char *secret_key_file;   /* own secret key (public is derived) */
    const char *server_key_file;   /* client: the server's public key */
    const char *allowed_keys_dir;  /* server: NAME.pub per admitted peer */
} gw_bus_opts_t;

typedef struct {
    uint64_t frames_in;
    uint64_t frames_out;
    uint64_t frames_bad;        /* undecodable or unexpected */
    uint64_t replays;           /* answered from the reply cache */
    uint64_t send_failed;       /* peer unknown/gone or queue full */
    uint64_t auth_refused;      /* server: keys the ZAP handler refused;
                                 * client: handshakes sigd refused. Updated
                                 * by gw_bus_process(). */
} gw_bus_stats_t;

/* Returns NULL with a reason in err. */
gw_bus_t *gw_bus_new(const gw_bus_opts_t *opts, char *err, size_t errlen);
/* Closes the socket; pending output is given up to 200 ms. */
void gw_bus_free(gw_bus_t *bus);
int gw_bus_fd(gw_bus_t *bus);
/* Drains every pending frame and dispatches it. Not re-entrant: a call
 * made from inside a handler returns at once. */
void gw_bus_process(gw_bus_t *bus);
/* gw_bus_process() when a frame was sent (or a send failed) since the last
 * drain; on a CURVE bus also every 100 ms, for the handshake events and
 * the client's reconnection after a refusal. For the loop's pre-poll hook. */
void gw_bus_process_pending(gw_bus_t *bus);
/* A fresh request id (random start, so a restarted sender never reuses a
 * recent id). */
uint64_t gw_bus_next_id(gw_bus_t *bus);
/* Sends env to peer (ignored on a client). Sets request_id when it is 0.
 * Returns 0, -EHOSTUNREACH (no such peer), -EAGAIN, -EMSGSIZE, -ENOMEM. */
int gw_bus_send(gw_bus_t *bus, const char *peer, Gw__Envelope *env);
/* Sends reply to the sender of req with correlation_id set, and remembers
 * it for repeated requests. */
int gw_bus_reply(gw_bus_t *bus, const char *peer, const Gw__Envelope *req,
                 Gw__Envelope *reply);
/* The bus status for a 0 / -errno result: ENOSPC, EEXIST, ENOENT, EBUSY,
 * EINVAL and ENOTSUP as themselves, anything else as EIO. */
Gw__Status gw_bus_status(int rc);
/* Sends an Error reply. */
int gw_bus_reply_error(gw_bus_t *bus, const char *peer, const Gw__Envelope *req,
                       Gw__Status st, const char *text);
const gw_bus_stats_t *gw_bus_stats(const gw_bus_t *bus);
/* Inside a handler on a CURVE server: the label of the key the sender
 * authenticated with (its NAME.pub file name); NULL on a plain bus. Lets
 * a daemon bind a name to a key (sigd: a node registers only under the
 * name of its own key). */
const char *gw_bus_peer_key(const gw_bus_t *bus);
const char *gw_bus_body_name(Gw__Envelope__BodyCase body);
/* Decodes a frame: NULL if malformed. Exposed for tests and fuzzing. */
Gw__Envelope *gw_bus_decode(const uint8_t *data, size_t len);

/* 1 when plain TCP is acceptable for `endpoint`: tcp:// to a 127/8 or ::1
 * address, ipc://, inproc://. */
int gw_bus_endpoint_is_local(const char *endpoint);
/* A fresh key pair in Z85. 0 or -EIO. */
int gw_bus_keygen(char pub[GW_BUS_KEYLEN], char sec[GW_BUS_KEYLEN]);
/* The public key of a secret key, both Z85. 0 or -EINVAL. */
int gw_bus_key_public(const char *sec, char pub[GW_BUS_KEYLEN]);
/* Reads a key file: the first line that is neither empty nor a '#'
 * comment must be 40 Z85 characters. With `secret` set the file must not
 * be readable or writable by group or others. 0, or -errno with a reason
 * (never the key) in err. */
int gw_bus_key_read(const char *path, int secret, char key[GW_BUS_KEYLEN],
                    char *err, size_t errlen);
/* Writes a key file (mode 0600 when `secret`, 0644 otherwise) with a
 * comment line; refuses to overwrite. 0 or -errno. */
int gw_bus_key_write(const char *path, int secret, const char *key,
                     const char *comment);
/* A short fingerprint of a Z85 public key (FNV-1a 64 of the 32 bytes, in
 * hex), the only form of a key that may reach a log. */
void gw_bus_key_fingerprint(const char *pub, char fp[GW_BUS_FPLEN]);

#endif
