/* TURN methods: see turn.h.
 *
 * Every request handler has the same shape: authenticate, refuse unknown
 * comprehension-required attributes, find the allocation, validate the
 * attributes, act, answer. Answers to authenticated requests carry the
 * integrity attribute the client used (MESSAGE-INTEGRITY or -SHA256) with
 * the same key; challenges (401, 438) carry REALM and a fresh NONCE.
 */
#include "turn.h"
#include "log.h"
#include "net.h"

#include <errno.h>
#include <string.h>

#define UNKNOWN_MAX 16
#define PROTO_UDP 17

static int understands(const turn_stun_attr_t *a)
{
    switch (a->type) {
    case TURN_ATTR_USERNAME:
    case TURN_ATTR_MESSAGE_INTEGRITY:
    case TURN_ATTR_MESSAGE_INTEGRITY_SHA256:
    case TURN_ATTR_REALM:
    case TURN_ATTR_NONCE:
    case TURN_ATTR_PASSWORD_ALGORITHM:
    case TURN_ATTR_CHANNEL_NUMBER:
    case TURN_ATTR_LIFETIME:
    case TURN_ATTR_XOR_PEER_ADDRESS:
    case TURN_ATTR_DATA:
    case TURN_ATTR_REQUESTED_ADDRESS_FAMILY:
    case TURN_ATTR_EVEN_PORT:
    case TURN_ATTR_REQUESTED_TRANSPORT:
    case TURN_ATTR_DONT_FRAGMENT:
    case TURN_ATTR_RESERVATION_TOKEN:
        return 1;
    default:
        return !TURN_ATTR_IS_REQUIRED(a->type);
    }
}

/* Ends an answer: SOFTWARE, integrity when authenticated, FINGERPRINT. */
static int finish(turn_req_t *r, turn_stun_enc_t *e,
                  const turn_auth_cred_t *cred)
{
    int rc;

    turn_stun_enc_software(e, r->t->software);
    if (cred != NULL)
        turn_stun_enc_integrity(e, cred->mi_type, cred->key, TURN_AUTH_KEYLEN);
    turn_stun_enc_fingerprint(e);
    rc = turn_stun_enc_finish(e);
    if (rc < 0)
        return rc;
    *r->outlen = (size_t)rc;
    return 0;
}

static int reply_error(turn_req_t *r, const turn_auth_cred_t *cred, int code,
                       const char *reason, const uint16_t *unknown,
                       unsigned nunknown)
{
    turn_stun_enc_t e;

    turn_stun_enc_reply(&e, r->out, r->cap, r->req, TURN_STUN_ERROR);
    turn_stun_enc_error(&e, code, reason);
    if (nunknown > 0)
        turn_stun_enc_unknown(&e, unknown, nunknown);
    if (code == 401 || code == 438) {
        char nonce[TURN_AUTH_NONCELEN + 1];
        const char *realm = turn_auth_realm(&r->t->auth);

        turn_auth_nonce(&r->t->auth, (const struct sockaddr *)&r->c->addr, nonce);
        turn_stun_enc_attr(&e, TURN_ATTR_REALM, realm, strlen(realm));
        turn_stun_enc_attr(&e, TURN_ATTR_NONCE, nonce, TURN_AUTH_NONCELEN);
    }
    return finish(r, &e, cred);
}

/* Authenticates and checks attributes: 0 to go on, 1 when an error answer
 * has been built. */
static int admit(turn_req_t *r, turn_auth_cred_t *cred)
{
    uint16_t unknown[UNKNOWN_MAX];
    unsigned n = 0;

    switch (turn_auth_check(&r->t->auth, r->req,
                            (const struct sockaddr *)&r->c->addr, cred)) {
    case 0:
        break;
    case TURN_AUTH_STALE:
        reply_error(r, NULL, 438, "Stale Nonce", NULL, 0);
        return 1;
    case TURN_AUTH_BAD:
        reply_error(r, NULL, 400, "Bad Request", NULL, 0);
        return 1;
    default:
        reply_error(r, NULL, 401, "Unauthorized", NULL, 0);
        return 1;
    }
    for (unsigned i = 0; i < r->req->nattrs; i++) {
        const turn_stun_attr_t *a = &r->req->attrs[i];
        unsigned j;

        if (understands(a))
            continue;
        for (j = 0; j < n && unknown[j] != a->type; j++)
            ;
        if (j == n && n < UNKNOWN_MAX)
            unknown[n++] = a->type;
    }
    if (n > 0) {
        reply_error(r, cred, 420, "Unknown Attribute", unknown, n);
        return 1;
    }
    return 0;
}

/* The allocation of this 5-tuple for a request that needs one: NULL when
 * an error answer (437, 441) has been built. */
static turn_alloc_t *own_alloc(turn_req_t *r, const turn_auth_cred_t *cred)
{
    turn_alloc_t *a = turn_allocs_find(&r->t->allocs, r->c);

    if (a == NULL) {
        reply_error(r, cred, 437, "Allocation Mismatch", NULL, 0);
        return NULL;
    }
    if (strcmp(turn_alloc_username(a), cred->username) != 0) {
        reply_error(r, cred, 441, "Wrong Credentials", NULL, 0);
        return NULL;
    }
    return a;
}

static int get_u32(const turn_stun_attr_t *a, uint32_t *v)
{
    if (a->len != 4)
        return -EINVAL;
    *v = (uint32_t)a->val[0] << 24 | (uint32_t)a->val[1] << 16 |
         (uint32_t)a->val[2] << 8 | a->val[3];
    return 0;
}

static unsigned lifetime(const turn_t *t, uint32_t asked)
{
    if (asked > t->max_lifetime_s)
        asked = t->max_lifetime_s;
    return asked < t->default_lifetime_s ? t->default_lifetime_s : asked;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int reply_allocated(turn_req_t *r, const turn_alloc_t *a,
                           const turn_auth_cred_t *cred)
{
    uint64_t now = uv_now(r->t->allocs.loop);
    uint8_t lt[4];
    turn_stun_enc_t e;

    put_u32(lt, (uint32_t)((a->expires_ms - now + 999) / 1000));
    turn_stun_enc_reply(&e, r->out, r->cap, r->req, TURN_STUN_SUCCESS);
    turn_stun_enc_xaddr(&e, TURN_ATTR_XOR_RELAYED_ADDRESS,
                        (const struct sockaddr *)&a->relay_adv);
    turn_stun_enc_attr(&e, TURN_ATTR_LIFETIME, lt, 4);
    turn_stun_enc_xaddr(&e, TURN_ATTR_XOR_MAPPED_ADDRESS,
                        (const struct sockaddr *)&r->c->addr);
    return finish(r, &e, cred);
}

int turn_on_allocate(turn_req_t *r)
{
    turn_t *t = r->t;
    const turn_stun_attr_t *tr, *fam, *lt, *even;
    turn_auth_cred_t cred;
    turn_alloc_t *a;
    uint32_t asked = t->default_lifetime_s;
    int rc;

    if (admit(r, &cred))
        return 0;
    a = turn_allocs_find(&t->allocs, r->c);
    if (a != NULL) {
        /* A retransmission of the request that made it gets the same
         * answer; anything else is a mismatch. */
        if (memcmp(a->tid, r->req->tid, TURN_STUN_TID_LEN) == 0 &&
            strcmp(turn_alloc_username(a), cred.username) == 0)
            return reply_allocated(r, a, &cred);
        return reply_error(r, &cred, 437, "Allocation Mismatch", NULL, 0);
    }
    tr = turn_stun_find(r->req, TURN_ATTR_REQUESTED_TRANSPORT);
    if (tr == NULL || tr->len != 4)
        return reply_error(r, &cred, 400, "Bad Request", NULL, 0);
    if (tr->val[0] != PROTO_UDP)
        return reply_error(r, &cred, 442, "Unsupported Transport Protocol",
                           NULL, 0);
    fam = turn_stun_find(r->req, TURN_ATTR_REQUESTED_ADDRESS_FAMILY);
    if (fam != NULL) {
        int want = fam->len == 4 && fam->val[0] == 0x01 ? AF_INET
                 : fam->len == 4 && fam->val[0] == 0x02 ? AF_INET6 : -1;
        if (want < 0)
            return reply_error(r, &cred, 400, "Bad Request", NULL, 0);
        if (want != t->allocs.relay_ip.ss_family)
            return reply_error(r, &cred, 440, "Address Family not Supported",
                               NULL, 0);
    }
    even = turn_stun_find(r->req, TURN_ATTR_EVEN_PORT);
    if (turn_stun_find(r->req, TURN_ATTR_RESERVATION_TOKEN) != NULL) {
        if (even != NULL)
            return reply_error(r, &cred, 400, "Bad Request", NULL, 0);
        /* This server keeps no reserved ports: no token is valid. */
        return reply_error(r, &cred, 508, "Insufficient Capacity", NULL, 0);
    }
    if (even != NULL && even->len != 1)
        return reply_error(r, &cred, 400, "Bad Request", NULL, 0);
    lt = turn_stun_find(r->req, TURN_ATTR_LIFETIME);
    if (lt != NULL && get_u32(lt, &asked) < 0)
        return reply_error(r, &cred, 400, "Bad Request", NULL, 0);
    rc = turn_allocs_create(&t->allocs, r->c, &cred, r->req->tid,
                            lifetime(t, asked), even != NULL, &a);
    switch (rc) {
    case 0:
        return reply_allocated(r, a, &cred);
    case -EDQUOT:
        return reply_error(r, &cred, 486, "Allocation Quota Reached", NULL, 0);
    case -ENOSPC:
    case -EADDRINUSE:
        return reply_error(r, &cred, 508, "Insufficient Capacity", NULL, 0);
    default:
        GW_WARN("turn: relay socket for %s failed: %s", cred.username,
                uv_strerror(rc));
        return reply_error(r, &cred, 500, "Server Error", NULL, 0);
    }
}

int turn_on_refresh(turn_req_t *r)
{
    const turn_stun_attr_t *lt;
    turn_auth_cred_t cred;
    turn_alloc_t *a;
    turn_stun_enc_t e;
    uint32_t asked = r->t->default_lifetime_s;
    uint8_t v[4];
    unsigned granted;

    if (admit(r, &cred) || (a = own_alloc(r, &cred)) == NULL)
        return 0;
    lt = turn_stun_find(r->req, TURN_ATTR_LIFETIME);
    if (lt != NULL && get_u32(lt, &asked) < 0)
        return reply_error(r, &cred, 400, "Bad Request", NULL, 0);
    granted = asked == 0 ? 0 : lifetime(r->t, asked);
    turn_alloc_refresh(a, granted);
    put_u32(v, granted);
    turn_stun_enc_reply(&e, r->out, r->cap, r->req, TURN_STUN_SUCCESS);
    turn_stun_enc_attr(&e, TURN_ATTR_LIFETIME, v, 4);
    return finish(r, &e, &cred);
}

/* Reads and judges one XOR-PEER-ADDRESS: 0, or an error answer built. */
static int check_peer(turn_req_t *r, const turn_auth_cred_t *cred,
                      const turn_alloc_t *a, const turn_stun_attr_t *attr,
                      struct sockaddr_storage *peer)
{
    const char *why;
    char c[GW_ADDRSTRLEN], p[GW_ADDRSTRLEN];

    if (turn_stun_get_xaddr(r->req, attr, peer) < 0) {
        reply_error(r, cred, 400, "Bad Request", NULL, 0);
        return 1;
    }
    if (turn_peers_check(&r->t->peers, (struct sockaddr *)peer, &why) < 0) {
        r->t->stats.denied_peers++;
        GW_INFO("turn: %s (user %s) refused peer %s: %s",
                gw_addr_str((const struct sockaddr *)&r->c->addr, c, sizeof c),
                cred->username, gw_addr_ip((struct sockaddr *)peer, p, sizeof p),
                why);
        reply_error(r, cred, 403, "Forbidden", NULL, 0);
        return 1;
    }
    if (peer->ss_family != a->relay.sa.sa_family) {
        reply_error(r, cred, 443, "Peer Address Family Mismatch", NULL, 0);
        return 1;
    }
    return 0;
}

int turn_on_create_permission(turn_req_t *r)
{
    struct sockaddr_storage peers[TURN_ALLOC_PERMS];
    turn_auth_cred_t cred;
    turn_alloc_t *a;
    turn_stun_enc_t e;
    unsigned n = 0;

    if (admit(r, &cred) || (a = own_alloc(r, &cred)) == NULL)
        return 0;
    /* All or nothing: every address is judged before any is installed. */
    for (unsigned i = 0; i < r->req->nattrs; i++) {
        if (r->req->attrs[i].type != TURN_ATTR_XOR_PEER_ADDRESS)
            continue;
        if (n == TURN_ALLOC_PERMS)
            return reply_error(r, &cred, 508, "Insufficient Capacity", NULL, 0);
        if (check_peer(r, &cred, a, &r->req->attrs[i], &peers[n]))
            return 0;
        n++;
    }
    if (n == 0)
        return reply_error(r, &cred, 400, "Bad Request", NULL, 0);
    for (unsigned i = 0; i < n; i++)
        if (turn_perm_add(a, (struct sockaddr *)&peers[i]) < 0)
            return reply_error(r, &cred, 508, "Insufficient Capacity", NULL, 0);
    turn_stun_enc_reply(&e, r->out, r->cap, r->req, TURN_STUN_SUCCESS);
    return finish(r, &e, &cred);
}

int turn_on_channel_bind(turn_req_t *r)
{
    const turn_stun_attr_t *num, *pa;
    struct sockaddr_storage peer;
    turn_auth_cred_t cred;
    turn_alloc_t *a;
    turn_stun_enc_t e;
    uint32_t v;
    int rc;

    if (admit(r, &cred) || (a = own_alloc(r, &cred)) == NULL)
        return 0;
    num = turn_stun_find(r->req, TURN_ATTR_CHANNEL_NUMBER);
    pa = turn_stun_find(r->req, TURN_ATTR_XOR_PEER_ADDRESS);
    if (num == NULL || pa == NULL || get_u32(num, &v) < 0 ||
        (v >> 16) < TURN_CHAN_MIN || (v >> 16) > TURN_CHAN_MAX)
        return reply_error(r, &cred, 400, "Bad Request", NULL, 0);
    if (check_peer(r, &cred, a, pa, &peer))
        return 0;
    rc = turn_chan_bind(a, (uint16_t)(v >> 16), (struct sockaddr *)&peer);
    if (rc == -EEXIST)
        return reply_error(r, &cred, 400, "Bad Request", NULL, 0);
    if (rc < 0)
        return reply_error(r, &cred, 508, "Insufficient Capacity", NULL, 0);
    turn_stun_enc_reply(&e, r->out, r->cap, r->req, TURN_STUN_SUCCESS);
    return finish(r, &e, &cred);
}

void turn_on_send(turn_t *t, const turn_stun_msg_t *ind, const turn_client_t *c)
{
    const turn_stun_attr_t *pa, *data;
    struct sockaddr_storage peer;
    turn_alloc_t *a;
    const char *why;

    a = turn_allocs_find(&t->allocs, c);
    pa = turn_stun_find(ind, TURN_ATTR_XOR_PEER_ADDRESS);
    data = turn_stun_find(ind, TURN_ATTR_DATA);
    if (a == NULL || pa == NULL || data == NULL ||
        turn_stun_get_xaddr(ind, pa, &peer) < 0) {
        t->stats.dropped++;
        return;
    }
    if (turn_peers_check(&t->peers, (struct sockaddr *)&peer, &why) < 0) {
        t->stats.denied_peers++;
        return;
    }
    if (peer.ss_family != a->relay.sa.sa_family ||
        !turn_perm_has(a, (struct sockaddr *)&peer)) {
        t->allocs.stats.dropped_perm++;
        return;
    }
    if (turn_alloc_to_peer(a, (struct sockaddr *)&peer, data->val, data->len) == 0)
        t->stats.send_ind++;
}

int turn_on_channel_data(turn_t *t, const turn_client_t *c, const uint8_t *buf,
                         size_t len)
{
    const turn_chan_t *ch;
    const uint8_t *data;
    turn_alloc_t *a;
    uint16_t num;
    size_t dlen;

    if (turn_chan_decode(buf, len, &num, &data, &dlen) < 0)
        return -EINVAL;
    a = turn_allocs_find(&t->allocs, c);
    if (a == NULL || (ch = turn_chan_by_num(a, num)) == NULL) {
        t->stats.dropped++;
        return 0;
    }
    /* The policy was applied at ChannelBind; the permission may have
     * lapsed since. */
    if (!turn_perm_has(a, (const struct sockaddr *)&ch->peer)) {
        t->allocs.stats.dropped_perm++;
        return 0;
    }
    if (turn_alloc_to_peer(a, (const struct sockaddr *)&ch->peer, data, dlen) == 0)
        t->stats.chan_data++;
    return 0;
}
