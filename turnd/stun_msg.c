/* STUN message encoding and decoding: see stun_msg.h.
 *
 * Decoding is one pass over the attributes, checking each TLV against the
 * end of the message before recording it, so nothing later ever reads past
 * the input. Only the structure is judged here; whether an attribute is
 * acceptable in a given request is the caller's business (stun.c).
 *
 * RFC 3489 clients (the Debian `stun` client among them) send Binding
 * requests whose cookie field is random: RFC 8489 section 12 asks servers
 * to answer them, so the decoder accepts those when asked to, and only for
 * Binding requests, where the message can still be checked for structure.
 *
 * CRC-32: a 16-entry (nibble) table instead of zlib's crc32(). zlib is not
 * among the product's dependencies and adding it would touch the build and
 * deps files for fifteen lines; FINGERPRINT covers short messages, so the
 * nibble loop's speed is plenty. The unit tests check it against the
 * standard check value and the RFC 5769 vectors.
 *
 * MESSAGE-INTEGRITY uses GnuTLS's HMAC (the daemon links GnuTLS for TLS
 * anyway); comparisons of MACs run in constant time.
 */
#include "stun_msg.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <netinet/in.h>
#include <string.h>

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Reflected polynomial 0xEDB88320, one entry per nibble. */
static const uint32_t crc_nibble[16] = {
    0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC,
    0x76DC4190, 0x6B6B51F4, 0x4DB26158, 0x5005713C,
    0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C,
    0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C
};

uint32_t turn_stun_crc32(uint32_t crc, const uint8_t *buf, size_t len)
{
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= buf[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 0x0F];
        crc = (crc >> 4) ^ crc_nibble[crc & 0x0F];
    }
    return ~crc;
}

static const struct {
    uint16_t type;
    const char *name;
} attr_names[] = {
    { TURN_ATTR_MAPPED_ADDRESS, "MAPPED-ADDRESS" },
    { TURN_ATTR_CHANGE_REQUEST, "CHANGE-REQUEST" },
    { TURN_ATTR_USERNAME, "USERNAME" },
    { TURN_ATTR_MESSAGE_INTEGRITY, "MESSAGE-INTEGRITY" },
    { TURN_ATTR_ERROR_CODE, "ERROR-CODE" },
    { TURN_ATTR_UNKNOWN_ATTRIBUTES, "UNKNOWN-ATTRIBUTES" },
    { TURN_ATTR_CHANNEL_NUMBER, "CHANNEL-NUMBER" },
    { TURN_ATTR_LIFETIME, "LIFETIME" },
    { TURN_ATTR_XOR_PEER_ADDRESS, "XOR-PEER-ADDRESS" },
    { TURN_ATTR_DATA, "DATA" },
    { TURN_ATTR_REALM, "REALM" },
    { TURN_ATTR_NONCE, "NONCE" },
    { TURN_ATTR_XOR_RELAYED_ADDRESS, "XOR-RELAYED-ADDRESS" },
    { TURN_ATTR_REQUESTED_ADDRESS_FAMILY, "REQUESTED-ADDRESS-FAMILY" },
    { TURN_ATTR_EVEN_PORT, "EVEN-PORT" },
    { TURN_ATTR_REQUESTED_TRANSPORT, "REQUESTED-TRANSPORT" },
    { TURN_ATTR_DONT_FRAGMENT, "DONT-FRAGMENT" },
    { TURN_ATTR_MESSAGE_INTEGRITY_SHA256, "MESSAGE-INTEGRITY-SHA256" },
    { TURN_ATTR_PASSWORD_ALGORITHM, "PASSWORD-ALGORITHM" },
    { TURN_ATTR_USERHASH, "USERHASH" },
    { TURN_ATTR_XOR_MAPPED_ADDRESS, "XOR-MAPPED-ADDRESS" },
    { TURN_ATTR_RESERVATION_TOKEN, "RESERVATION-TOKEN" },
    { TURN_ATTR_PASSWORD_ALGORITHMS, "PASSWORD-ALGORITHMS" },
    { TURN_ATTR_ALTERNATE_DOMAIN, "ALTERNATE-DOMAIN" },
    { TURN_ATTR_SOFTWARE, "SOFTWARE" },
    { TURN_ATTR_ALTERNATE_SERVER, "ALTERNATE-SERVER" },
    { TURN_ATTR_FINGERPRINT, "FINGERPRINT" },
};

const char *turn_stun_attr_name(uint16_t type)
{
    for (size_t i = 0; i < sizeof attr_names / sizeof attr_names[0]; i++)
        if (attr_names[i].type == type)
            return attr_names[i].name;
    return NULL;
}

/* --- decoding --- */

int turn_stun_frame_len(const uint8_t *buf, size_t len)
{
    uint16_t mlen;

    if (len < TURN_STUN_HDR_LEN)
        return 0;
    mlen = rd16(buf + 2);
    if ((buf[0] & 0xC0) != 0 || (mlen & 3) != 0 ||
        rd32(buf + 4) != TURN_STUN_COOKIE)
        return -EINVAL;
    return TURN_STUN_HDR_LEN + mlen;
}

/* Checks the FINGERPRINT attribute found at offset `at` of the message. */
static int check_fingerprint(const turn_stun_msg_t *msg, size_t at,
                             const turn_stun_attr_t *a)
{
    uint32_t want;

    if (a->len != 4 || at + 8 != msg->len)
        return -EINVAL;  /* wrong size, or not the last attribute */
    want = turn_stun_crc32(0, msg->raw, at) ^ TURN_STUN_FP_XOR;
    return rd32(a->val) == want ? 0 : -EBADMSG;
}

int turn_stun_decode(turn_stun_msg_t *msg, const uint8_t *buf, size_t len,
                     unsigned flags)
{
    uint16_t type, mlen;
    size_t off;
    int rc;

    if (len > TURN_STUN_MAX_MSG)
        return -EMSGSIZE;
    if (len < TURN_STUN_HDR_LEN)
        return -EINVAL;
    type = rd16(buf);
    mlen = rd16(buf + 2);
    if ((type & 0xC000) != 0 || (mlen & 3) != 0 ||
        (size_t)mlen + TURN_STUN_HDR_LEN != len)
        return -EINVAL;

    memset(msg, 0, offsetof(turn_stun_msg_t, attrs));
    msg->method = (uint16_t)((type & 0x000F) | ((type & 0x00E0) >> 1) |
                             ((type & 0x3E00) >> 2));
    msg->cls = (turn_stun_class_t)(((type >> 4) & 1) | ((type >> 7) & 2));
    msg->cookie = rd32(buf + 4);
    memcpy(msg->tid, buf + 8, TURN_STUN_TID_LEN);
    msg->raw = buf;
    msg->len = len;
    if (msg->cookie != TURN_STUN_COOKIE) {
        if (!(flags & TURN_STUN_F_LEGACY) || msg->method != TURN_STUN_BINDING ||
            msg->cls != TURN_STUN_REQUEST)
            return -EPROTO;
        msg->legacy = 1;
    }

    for (off = TURN_STUN_HDR_LEN; off < len;) {
        turn_stun_attr_t *a;
        size_t padded;

        if (len - off < 4)
            return -EINVAL;
        if (msg->nattrs == TURN_STUN_MAX_ATTRS)
            return -E2BIG;
        a = &msg->attrs[msg->nattrs];
        a->type = rd16(buf + off);
        a->len = rd16(buf + off + 2);
        a->val = buf + off + 4;
        padded = ((size_t)a->len + 3) & ~(size_t)3;
        if (padded > len - off - 4)
            return -EINVAL;
        msg->nattrs++;
        if (a->type == TURN_ATTR_FINGERPRINT) {
            rc = check_fingerprint(msg, off, a);
            if (rc < 0)
                return rc;
            msg->has_fingerprint = 1;
        }
        off += 4 + padded;
    }
    return 0;
}

const turn_stun_attr_t *turn_stun_find(const turn_stun_msg_t *msg, uint16_t type)
{
    for (unsigned i = 0; i < msg->nattrs; i++)
        if (msg->attrs[i].type == type)
            return &msg->attrs[i];
    return NULL;
}

/* Reads family, port and address of a (possibly XOR-coded) address value;
 * `mask` is cookie + transaction id for XOR coding, NULL for plain. */
static int get_address(const turn_stun_attr_t *a, const uint8_t *mask,
                       struct sockaddr_storage *out)
{
    const uint8_t *v = a->val;
    uint16_t port;

    if (a->len < 4)
        return -EINVAL;
    port = rd16(v + 2);
    if (mask != NULL)
        port ^= rd16(mask);
    memset(out, 0, sizeof *out);
    if (v[1] == 0x01 && a->len == 8) {
        struct sockaddr_in *sin = (struct sockaddr_in *)out;
        uint8_t *ip = (uint8_t *)&sin->sin_addr;

        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        for (int i = 0; i < 4; i++)
            ip[i] = v[4 + i] ^ (mask ? mask[i] : 0);
        return 0;
    }
    if (v[1] == 0x02 && a->len == 20) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
        uint8_t *ip = (uint8_t *)&sin6->sin6_addr;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        for (int i = 0; i < 16; i++)
            ip[i] = v[4 + i] ^ (mask ? mask[i] : 0);
        return 0;
    }
    return -EINVAL;
}

/* The 16 bytes an XOR-coded address is masked with: cookie, then id. */
static void xor_mask(uint8_t mask[16], uint32_t cookie, const uint8_t *tid)
{
    wr32(mask, cookie);
    memcpy(mask + 4, tid, TURN_STUN_TID_LEN);
}

int turn_stun_get_xaddr(const turn_stun_msg_t *msg, const turn_stun_attr_t *a,
                        struct sockaddr_storage *out)
{
    uint8_t mask[16];

    xor_mask(mask, TURN_STUN_COOKIE, msg->tid);
    return get_address(a, mask, out);
}

int turn_stun_get_addr(const turn_stun_attr_t *a, struct sockaddr_storage *out)
{
    return get_address(a, NULL, out);
}

int turn_stun_get_error(const turn_stun_attr_t *a, int *code,
                        const char **reason, size_t *reason_len)
{
    int c;

    if (a->len < 4 || a->len > 4 + TURN_STUN_MAX_TEXT)
        return -EINVAL;
    c = (a->val[2] & 0x07) * 100 + a->val[3];
    if (c < 300 || c > 699 || a->val[3] > 99)
        return -EINVAL;
    *code = c;
    *reason = (const char *)a->val + 4;
    *reason_len = a->len - 4u;
    return 0;
}

/* --- encoding --- */

int turn_stun_enc_init(turn_stun_enc_t *e, uint8_t *buf, size_t cap,
                       uint16_t method, turn_stun_class_t cls, uint32_t cookie,
                       const uint8_t tid[TURN_STUN_TID_LEN])
{
    e->buf = buf;
    e->cap = cap > TURN_STUN_MAX_MSG ? TURN_STUN_MAX_MSG : cap;
    e->len = 0;
    e->err = 0;
    if (method > 0x0FFF) {
        e->err = -EINVAL;
        return e->err;
    }
    if (e->cap < TURN_STUN_HDR_LEN) {
        e->err = -EMSGSIZE;
        return e->err;
    }
    wr16(buf, turn_stun_type(method, cls));
    wr16(buf + 2, 0);
    wr32(buf + 4, cookie);
    memcpy(buf + 8, tid, TURN_STUN_TID_LEN);
    e->len = TURN_STUN_HDR_LEN;
    return 0;
}

int turn_stun_enc_reply(turn_stun_enc_t *e, uint8_t *buf, size_t cap,
                        const turn_stun_msg_t *req, turn_stun_class_t cls)
{
    return turn_stun_enc_init(e, buf, cap, req->method, cls, req->cookie,
                              req->tid);
}

/* Reserves room for an attribute of `len` value bytes and writes its
 * header; returns the value's place, or NULL with e->err set. */
static uint8_t *enc_reserve(turn_stun_enc_t *e, uint16_t type, size_t len)
{
    size_t padded = (len + 3) & ~(size_t)3;
    uint8_t *p;

    if (e->err != 0)
        return NULL;
    if (len > 0xFFFF) {
        e->err = -EINVAL;
        return NULL;
    }
    if (padded + 4 > e->cap - e->len) {
        e->err = -EMSGSIZE;
        return NULL;
    }
    p = e->buf + e->len;
    wr16(p, type);
    wr16(p + 2, (uint16_t)len);
    memset(p + 4 + len, 0, padded - len);
    e->len += 4 + padded;
    wr16(e->buf + 2, (uint16_t)(e->len - TURN_STUN_HDR_LEN));
    return p + 4;
}

uint8_t *turn_stun_enc_inplace(turn_stun_enc_t *e, uint16_t type, size_t len)
{
    return enc_reserve(e, type, len);
}

int turn_stun_enc_attr(turn_stun_enc_t *e, uint16_t type, const void *val,
                       size_t len)
{
    uint8_t *p = enc_reserve(e, type, len);

    if (p == NULL)
        return e->err;
    if (len > 0)
        memcpy(p, val, len);
    return 0;
}

/* Writes an address value; `mask` as in get_address(). */
static int enc_address(turn_stun_enc_t *e, uint16_t type,
                       const struct sockaddr *sa, const uint8_t *mask)
{
    const uint8_t *ip;
    size_t iplen;
    uint16_t port;
    uint8_t *p;

    if (e->err != 0)
        return e->err;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        ip = (const uint8_t *)&sin->sin_addr;
        iplen = 4;
        port = ntohs(sin->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        ip = (const uint8_t *)&sin6->sin6_addr;
        iplen = 16;
        port = ntohs(sin6->sin6_port);
    } else {
        e->err = -EINVAL;
        return e->err;
    }
    p = enc_reserve(e, type, 4 + iplen);
    if (p == NULL)
        return e->err;
    p[0] = 0;
    p[1] = iplen == 4 ? 0x01 : 0x02;
    wr16(p + 2, mask ? (uint16_t)(port ^ rd16(mask)) : port);
    for (size_t i = 0; i < iplen; i++)
        p[4 + i] = ip[i] ^ (mask ? mask[i] : 0);
    return 0;
}

int turn_stun_enc_xaddr(turn_stun_enc_t *e, uint16_t type,
                        const struct sockaddr *sa)
{
    uint8_t mask[16];

    if (e->err != 0)
        return e->err;
    /* The mask always uses the magic cookie, as a receiver does. */
    xor_mask(mask, TURN_STUN_COOKIE, e->buf + 8);
    return enc_address(e, type, sa, mask);
}

int turn_stun_enc_addr(turn_stun_enc_t *e, uint16_t type,
                       const struct sockaddr *sa)
{
    return enc_address(e, type, sa, NULL);
}

int turn_stun_enc_software(turn_stun_enc_t *e, const char *text)
{
    size_t n = strlen(text);

    if (e->err == 0 && n > TURN_STUN_MAX_TEXT)
        e->err = -EINVAL;
    return turn_stun_enc_attr(e, TURN_ATTR_SOFTWARE, text, n);
}

int turn_stun_enc_error(turn_stun_enc_t *e, int code, const char *reason)
{
    size_t n = strlen(reason);
    uint8_t *p;

    if (e->err == 0 && (code < 300 || code > 699 || n > TURN_STUN_MAX_TEXT))
        e->err = -EINVAL;
    p = enc_reserve(e, TURN_ATTR_ERROR_CODE, 4 + n);
    if (p == NULL)
        return e->err;
    p[0] = 0;
    p[1] = 0;
    p[2] = (uint8_t)(code / 100);
    p[3] = (uint8_t)(code % 100);
    memcpy(p + 4, reason, n);
    return 0;
}

int turn_stun_enc_unknown(turn_stun_enc_t *e, const uint16_t *types, unsigned n)
{
    uint8_t *p = enc_reserve(e, TURN_ATTR_UNKNOWN_ATTRIBUTES, 2 * (size_t)n);

    if (p == NULL)
        return e->err;
    for (unsigned i = 0; i < n; i++)
        wr16(p + 2 * i, types[i]);
    return 0;
}

int turn_stun_enc_fingerprint(turn_stun_enc_t *e)
{
    size_t at = e->len;
    uint8_t *p = enc_reserve(e, TURN_ATTR_FINGERPRINT, 4);

    /* The header length already counts the FINGERPRINT, as RFC 8489
     * section 14.7 requires of the bytes the CRC covers. */
    if (p == NULL)
        return e->err;
    wr32(p, turn_stun_crc32(0, e->buf, at) ^ TURN_STUN_FP_XOR);
    return 0;
}

int turn_stun_enc_finish(const turn_stun_enc_t *e)
{
    return e->err != 0 ? e->err : (int)e->len;
}

/* --- MESSAGE-INTEGRITY --- */

static int mi_alg(uint16_t type, gnutls_mac_algorithm_t *alg, size_t *full)
{
    if (type == TURN_ATTR_MESSAGE_INTEGRITY) {
        *alg = GNUTLS_MAC_SHA1;
        *full = TURN_STUN_MI_LEN;
        return 0;
    }
    if (type == TURN_ATTR_MESSAGE_INTEGRITY_SHA256) {
        *alg = GNUTLS_MAC_SHA256;
        *full = TURN_STUN_MI256_LEN;
        return 0;
    }
    return -EINVAL;
}

int turn_stun_check_integrity(const turn_stun_msg_t *msg,
                              const turn_stun_attr_t *a, const uint8_t *key,
                              size_t keylen)
{
    gnutls_mac_algorithm_t alg;
    gnutls_hmac_hd_t h;
    uint8_t hdr[4], mac[TURN_STUN_MI256_LEN];
    size_t full, at;
    unsigned diff = 0;

    if (mi_alg(a->type, &alg, &full) < 0)
        return -EINVAL;
    /* SHA-256 may be truncated to 16..32 bytes in steps of 4. */
    if (a->len > full || a->len < 16 || (a->len & 3) != 0 ||
        (alg == GNUTLS_MAC_SHA1 && a->len != full))
        return -EINVAL;
    at = (size_t)(a->val - 4 - msg->raw);
    /* The length field counts up to the end of this attribute. */
    hdr[0] = msg->raw[0];
    hdr[1] = msg->raw[1];
    wr16(hdr + 2, (uint16_t)(at + 4 + ((a->len + 3u) & ~3u) - TURN_STUN_HDR_LEN));
    if (gnutls_hmac_init(&h, alg, key, keylen) < 0)
        return -ENOMEM;
    gnutls_hmac(h, hdr, sizeof hdr);
    gnutls_hmac(h, msg->raw + 4, at - 4);
    gnutls_hmac_deinit(h, mac);
    for (size_t i = 0; i < a->len; i++)
        diff |= (unsigned)(mac[i] ^ a->val[i]);
    return diff == 0 ? 0 : -EACCES;
}

int turn_stun_enc_integrity(turn_stun_enc_t *e, uint16_t type,
                            const uint8_t *key, size_t keylen)
{
    gnutls_mac_algorithm_t alg;
    uint8_t mac[TURN_STUN_MI256_LEN];
    size_t full, at = e->len;
    uint8_t *p;

    if (e->err == 0 && mi_alg(type, &alg, &full) < 0)
        e->err = -EINVAL;
    if (e->err != 0)
        return e->err;
    p = enc_reserve(e, type, full);
    if (p == NULL)
        return e->err;
    /* The header length already counts this attribute. */
    if (gnutls_hmac_fast(alg, key, keylen, e->buf, at, mac) < 0) {
        e->err = -EIO;
        return e->err;
    }
    memcpy(p, mac, full);
    return 0;
}

/* --- ChannelData --- */

int turn_chan_decode(const uint8_t *buf, size_t len, uint16_t *chan,
                     const uint8_t **data, size_t *dlen)
{
    uint16_t c, n;

    if (len < TURN_CHAN_HDR_LEN)
        return -EINVAL;
    c = rd16(buf);
    n = rd16(buf + 2);
    if (c < TURN_CHAN_MIN || c > TURN_CHAN_MAX ||
        (size_t)n + TURN_CHAN_HDR_LEN > len ||
        len - TURN_CHAN_HDR_LEN - n > 3)
        return -EINVAL;
    *chan = c;
    *data = buf + TURN_CHAN_HDR_LEN;
    *dlen = n;
    return 0;
}

void turn_chan_header(uint8_t *hdr, uint16_t chan, size_t dlen)
{
    wr16(hdr, chan);
    wr16(hdr + 2, (uint16_t)dlen);
}

int turn_stream_frame_len(const uint8_t *buf, size_t len)
{
    if (len > 0 && (buf[0] & 0x80) != 0)
        return -EINVAL;   /* starts neither STUN (00) nor ChannelData (01) */
    if (len > 0 && turn_chan_is(buf, len)) {
        if (len < TURN_CHAN_HDR_LEN)
            return 0;
        if (rd16(buf) > TURN_CHAN_MAX)
            return -EINVAL;
        return (int)((TURN_CHAN_HDR_LEN + rd16(buf + 2) + 3u) & ~3u);
    }
    return turn_stun_frame_len(buf, len);
}
