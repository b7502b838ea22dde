/* A TURN client as the protocol code sees it: the address a message came
 * from and the way back to it, whatever the transport. udp.c fills one on
 * the stack per datagram (conn = the listener); tcp.c keeps one per
 * connection (conn = the connection). An allocation copies it, so that
 * relayed data can reach the client long after the request.
 */
#ifndef TURN_CLIENT_H
#define TURN_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef enum {
    TURN_PROTO_UDP = 0,
    TURN_PROTO_TCP = 1,
    TURN_PROTO_TLS = 2
} turn_proto_t;

/* Sends one whole message (STUN or ChannelData) to `to` over `conn`.
 * 0, or a negative errno when it was dropped (socket full, connection
 * closing): callers count it, TURN data is loss-tolerant. */
typedef int (*turn_send_f)(void *conn, const struct sockaddr *to,
                           const uint8_t *data, size_t len);

typedef struct {
    struct sockaddr_storage addr;  /* the client's address and port */
    turn_proto_t proto;
    void *conn;                    /* transport object, owned by it */
    turn_send_f send;
} turn_client_t;

static inline int turn_client_stream(const turn_client_t *c)
{
    return c->proto != TURN_PROTO_UDP;
}

#endif
