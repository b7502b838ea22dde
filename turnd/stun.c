/* STUN request handling: see stun.h.
 *
 * turn_stun_handle() is a thin dispatcher: decode, sort by class, then one
 * call per method. Each method handler first checks for attributes it
 * does not understand (a 420 is due before anything else is considered)
 * and then builds its answer with the encoder. Answers go into the
 * caller's buffer: nothing here allocates.
 */
#include "stun.h"
#include "log.h"
#include "net.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define UNKNOWN_MAX 16          /* types listed in one UNKNOWN-ATTRIBUTES */
#define WARN_INTERVAL_MS 10000

/* Comprehension-required attributes a Binding request may carry. The
 * credentials attributes are understood (a later TURN change checks them);
 * Binding is answered without authentication, as public STUN servers do.
 * CHANGE-REQUEST is understood only when it asks for no change: this node
 * has no alternate address to answer from (RFC 5780 section 7.2). */
static int binding_understands(const turn_stun_attr_t *a)
{
    switch (a->type) {
    case TURN_ATTR_USERNAME:
    case TURN_ATTR_MESSAGE_INTEGRITY:
    case TURN_ATTR_MESSAGE_INTEGRITY_SHA256:
    case TURN_ATTR_USERHASH:
    case TURN_ATTR_REALM:
    case TURN_ATTR_NONCE:
    case TURN_ATTR_PASSWORD_ALGORITHM:
        return 1;
    case TURN_ATTR_CHANGE_REQUEST:
        return a->len == 4 && (a->val[3] & 0x06) == 0;
    default:
        return !TURN_ATTR_IS_REQUIRED(a->type);
    }
}

/* Collects the types `understands` refuses, without repeats; returns how
 * many. */
static unsigned find_unknown(const turn_stun_msg_t *msg,
                             int (*understands)(const turn_stun_attr_t *),
                             uint16_t *types, unsigned max)
{
    unsigned n = 0;

    for (unsigned i = 0; i < msg->nattrs; i++) {
        const turn_stun_attr_t *a = &msg->attrs[i];
        unsigned j;

        if (understands(a))
            continue;
        for (j = 0; j < n && types[j] != a->type; j++)
            ;
        if (j == n && n < max)
            types[n++] = a->type;
    }
    return n;
}

/* Builds an error response; the 420 lists `unknown`. */
static int reply_error(turn_stun_t *s, const turn_stun_msg_t *req, int code,
                       const char *reason, const uint16_t *unknown,
                       unsigned nunknown, uint8_t *out, size_t cap,
                       size_t *outlen)
{
    turn_stun_enc_t e;
    int rc;

    turn_stun_enc_reply(&e, out, cap, req, TURN_STUN_ERROR);
    turn_stun_enc_error(&e, code, reason);
    if (nunknown > 0)
        turn_stun_enc_unknown(&e, unknown, nunknown);
    turn_stun_enc_software(&e, s->software);
    if (!req->legacy)
        turn_stun_enc_fingerprint(&e);
    rc = turn_stun_enc_finish(&e);
    if (rc < 0)
        return rc;
    *outlen = (size_t)rc;
    s->stats.errors++;
    return 0;
}

static int on_binding(turn_stun_t *s, const turn_stun_msg_t *req,
                      const struct sockaddr *peer, uint8_t *out, size_t cap,
                      size_t *outlen)
{
    uint16_t unknown[UNKNOWN_MAX];
    unsigned n = find_unknown(req, binding_understands, unknown, UNKNOWN_MAX);
    turn_stun_enc_t e;
    int rc;

    if (n > 0)
        return reply_error(s, req, 420, "Unknown Attribute", unknown, n, out,
                           cap, outlen);
    turn_stun_enc_reply(&e, out, cap, req, TURN_STUN_SUCCESS);
    if (req->legacy) {
        /* An RFC 3489 client knows neither XOR-MAPPED-ADDRESS nor
         * FINGERPRINT; SOFTWARE is comprehension-optional. */
        turn_stun_enc_addr(&e, TURN_ATTR_MAPPED_ADDRESS, peer);
        turn_stun_enc_software(&e, s->software);
    } else {
        turn_stun_enc_xaddr(&e, TURN_ATTR_XOR_MAPPED_ADDRESS, peer);
        turn_stun_enc_software(&e, s->software);
        turn_stun_enc_fingerprint(&e);
    }
    rc = turn_stun_enc_finish(&e);
    if (rc < 0)
        return rc;
    *outlen = (size_t)rc;
    s->stats.responses++;
    return 0;
}

static int on_unsupported(turn_stun_t *s, const turn_stun_msg_t *req,
                          uint8_t *out, size_t cap, size_t *outlen)
{
    return reply_error(s, req, 400, "Method not supported", NULL, 0, out, cap,
                       outlen);
}

int turn_stun_handle(turn_stun_t *s, const uint8_t *in, size_t inlen,
                     const turn_client_t *c, uint8_t *out, size_t outcap,
                     size_t *outlen)
{
    const struct sockaddr *peer = (const struct sockaddr *)&c->addr;
    turn_req_t r = { s->turn, NULL, c, out, outcap, outlen };
    turn_stun_msg_t msg;
    int rc;

    *outlen = 0;
    rc = turn_stun_decode(&msg, in, inlen, TURN_STUN_F_LEGACY);
    if (rc < 0) {
        s->stats.malformed++;
        return rc;
    }
    if (msg.cls == TURN_STUN_INDICATION && msg.method == TURN_STUN_SEND &&
        s->turn != NULL) {
        turn_on_send(s->turn, &msg, c);
        return 0;
    }
    if (msg.cls != TURN_STUN_REQUEST) {
        s->stats.ignored++;
        return 0;
    }
    s->stats.requests++;
    r.req = &msg;
    switch (msg.method) {
    case TURN_STUN_BINDING:
        return on_binding(s, &msg, peer, out, outcap, outlen);
    case TURN_STUN_ALLOCATE:
        return s->turn ? turn_on_allocate(&r)
                       : on_unsupported(s, &msg, out, outcap, outlen);
    case TURN_STUN_REFRESH:
        return s->turn ? turn_on_refresh(&r)
                       : on_unsupported(s, &msg, out, outcap, outlen);
    case TURN_STUN_CREATE_PERMISSION:
        return s->turn ? turn_on_create_permission(&r)
                       : on_unsupported(s, &msg, out, outcap, outlen);
    case TURN_STUN_CHANNEL_BIND:
        return s->turn ? turn_on_channel_bind(&r)
                       : on_unsupported(s, &msg, out, outcap, outlen);
    default:
        return on_unsupported(s, &msg, out, outcap, outlen);
    }
}

static const char *bad_reason(int rc)
{
    switch (rc) {
    case -EMSGSIZE: return "oversize";
    case -EINVAL:   return "malformed";
    case -EPROTO:   return "no magic cookie";
    case -EBADMSG:  return "bad FINGERPRINT";
    case -E2BIG:    return "too many attributes";
    default:        return strerror(-rc);
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void turn_stun_log_bad(turn_stun_t *s, const char *transport,
                       const struct sockaddr *peer, int rc)
{
    char addr[GW_ADDRSTRLEN];
    uint64_t now = now_ms();

    gw_addr_str(peer, addr, sizeof addr);
    GW_DEBUG("stun: %s from %s %s dropped", bad_reason(rc), transport, addr);
    if (s->warn_last_ms != 0 && now - s->warn_last_ms < WARN_INTERVAL_MS) {
        s->warn_suppressed++;
        return;
    }
    GW_WARN("stun: dropping malformed input (last: %s from %s %s; "
            "%llu more since the last warning, %llu in all)", bad_reason(rc),
            transport, addr, (unsigned long long)s->warn_suppressed,
            (unsigned long long)s->stats.malformed);
    s->warn_last_ms = now;
    s->warn_suppressed = 0;
}
