/* STUN message encoding and decoding (RFC 8489), nothing else: no sockets,
 * no policy, no allocation.
 *
 * Decoding validates the whole message before anyone looks at it (header
 * bits, length, magic cookie, every attribute inside the message, a
 * FINGERPRINT only in last place and matching) and then describes it in a
 * turn_stun_msg_t whose attribute values point into the caller's buffer:
 * the buffer must outlive the description. Typed accessors (addresses,
 * error code) validate the value they read, so an attribute that decoded as
 * a TLV can still be refused on its contents.
 *
 * Encoding appends attributes to a caller-owned buffer through a
 * turn_stun_enc_t, keeping the header length current after every attribute,
 * so that FINGERPRINT (and later MESSAGE-INTEGRITY) can be computed at any
 * point. The first error sticks: callers may chain appends and check once,
 * at turn_stun_enc_finish().
 *
 * TURN (RFC 8656) reuses all of this: its methods and attributes are listed
 * below, and XOR-PEER-ADDRESS / XOR-RELAYED-ADDRESS use the same XOR address
 * coding as XOR-MAPPED-ADDRESS.
 */
#ifndef TURN_STUN_MSG_H
#define TURN_STUN_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define TURN_STUN_HDR_LEN    20
#define TURN_STUN_COOKIE     0x2112A442u
#define TURN_STUN_TID_LEN    12
/* Largest message the length field can describe (a multiple of 4). */
#define TURN_STUN_MAX_MSG    (TURN_STUN_HDR_LEN + 65532)
/* Attributes kept per decoded message; more is refused as hostile. */
#define TURN_STUN_MAX_ATTRS  32
/* Longest SOFTWARE, REALM, NONCE and reason phrase text (RFC 8489). */
#define TURN_STUN_MAX_TEXT   763
#define TURN_STUN_FP_XOR     0x5354554eu

/* Message classes (the C1 C0 bits of the type). */
typedef enum {
    TURN_STUN_REQUEST = 0,
    TURN_STUN_INDICATION = 1,
    TURN_STUN_SUCCESS = 2,
    TURN_STUN_ERROR = 3
} turn_stun_class_t;

/* Methods: Binding from RFC 8489, the rest from RFC 8656 (TURN). */
enum {
    TURN_STUN_BINDING = 0x001,
    TURN_STUN_ALLOCATE = 0x003,
    TURN_STUN_REFRESH = 0x004,
    TURN_STUN_SEND = 0x006,
    TURN_STUN_DATA = 0x007,
    TURN_STUN_CREATE_PERMISSION = 0x008,
    TURN_STUN_CHANNEL_BIND = 0x009
};

/* Attribute types. Below 0x8000 an attribute is comprehension-required: a
 * receiver that does not understand it must refuse the request (420). */
enum {
    TURN_ATTR_MAPPED_ADDRESS = 0x0001,
    TURN_ATTR_CHANGE_REQUEST = 0x0003,      /* RFC 5780, sent by RFC 3489 clients */
    TURN_ATTR_USERNAME = 0x0006,
    TURN_ATTR_MESSAGE_INTEGRITY = 0x0008,
    TURN_ATTR_ERROR_CODE = 0x0009,
    TURN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
    TURN_ATTR_CHANNEL_NUMBER = 0x000C,      /* TURN */
    TURN_ATTR_LIFETIME = 0x000D,            /* TURN */
    TURN_ATTR_XOR_PEER_ADDRESS = 0x0012,    /* TURN */
    TURN_ATTR_DATA = 0x0013,                /* TURN */
    TURN_ATTR_REALM = 0x0014,
    TURN_ATTR_NONCE = 0x0015,
    TURN_ATTR_XOR_RELAYED_ADDRESS = 0x0016, /* TURN */
    TURN_ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017, /* TURN */
    TURN_ATTR_EVEN_PORT = 0x0018,           /* TURN */
    TURN_ATTR_REQUESTED_TRANSPORT = 0x0019, /* TURN */
    TURN_ATTR_DONT_FRAGMENT = 0x001A,       /* TURN */
    TURN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
    TURN_ATTR_PASSWORD_ALGORITHM = 0x001D,
    TURN_ATTR_USERHASH = 0x001E,
    TURN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
    TURN_ATTR_RESERVATION_TOKEN = 0x0022,   /* TURN */
    TURN_ATTR_PASSWORD_ALGORITHMS = 0x8002,
    TURN_ATTR_ALTERNATE_DOMAIN = 0x8003,
    TURN_ATTR_SOFTWARE = 0x8022,
    TURN_ATTR_ALTERNATE_SERVER = 0x8023,
    TURN_ATTR_FINGERPRINT = 0x8028
};

#define TURN_ATTR_IS_REQUIRED(t) ((t) < 0x8000)

/* Decode flags. */
#define TURN_STUN_F_LEGACY 0x1  /* accept RFC 3489 Binding requests (no cookie) */

typedef struct {
    uint16_t type;
    uint16_t len;           /* value length, before padding */
    const uint8_t *val;     /* points into the decoded buffer */
} turn_stun_attr_t;

typedef struct {
    /* read-only: filled by turn_stun_decode() */
    uint16_t method;
    turn_stun_class_t cls;
    uint32_t cookie;                /* TURN_STUN_COOKIE unless legacy */
    uint8_t tid[TURN_STUN_TID_LEN];
    int legacy;                     /* RFC 3489 client: cookie is part of the id */
    int has_fingerprint;            /* present and verified */
    const uint8_t *raw;             /* the whole message, header included */
    size_t len;                     /* TURN_STUN_HDR_LEN + length field */
    unsigned nattrs;
    turn_stun_attr_t attrs[TURN_STUN_MAX_ATTRS];
} turn_stun_msg_t;

static inline uint16_t turn_stun_type(uint16_t method, turn_stun_class_t cls)
{
    return (uint16_t)((method & 0x000F) | ((method & 0x0070) << 1) |
                      ((method & 0x0F80) << 2) | ((cls & 1) << 4) |
                      ((cls & 2) << 7));
}

/* Looks at a stream's first bytes (TCP framing). Returns the length of the
 * whole message once the header is there, 0 when fewer than
 * TURN_STUN_HDR_LEN bytes are available, -EINVAL when the header cannot
 * start a STUN message (top bits, length not a multiple of 4, cookie). */
int turn_stun_frame_len(const uint8_t *buf, size_t len);

/* Decodes exactly one message filling all of buf[0..len). Returns 0, or
 *   -EMSGSIZE  len above TURN_STUN_MAX_MSG;
 *   -EINVAL    not a well-formed message (short, top bits, length field,
 *              an attribute crossing the end, FINGERPRINT not last or of
 *              the wrong size);
 *   -EPROTO    wrong magic cookie (and not an accepted legacy request);
 *   -EBADMSG   FINGERPRINT does not match;
 *   -E2BIG     more than TURN_STUN_MAX_ATTRS attributes.
 * `msg` points into buf afterwards. */
int turn_stun_decode(turn_stun_msg_t *msg, const uint8_t *buf, size_t len,
                     unsigned flags);

/* First attribute of `type`, or NULL. */
const turn_stun_attr_t *turn_stun_find(const turn_stun_msg_t *msg, uint16_t type);

/* Reads an XOR-coded address attribute (XOR-MAPPED-, XOR-PEER-,
 * XOR-RELAYED-ADDRESS) or a plain MAPPED-ADDRESS into `out`. 0 or -EINVAL
 * (bad family or length). */
int turn_stun_get_xaddr(const turn_stun_msg_t *msg, const turn_stun_attr_t *a,
                        struct sockaddr_storage *out);
int turn_stun_get_addr(const turn_stun_attr_t *a, struct sockaddr_storage *out);
/* Reads ERROR-CODE: *code is 300..699; reason and reason_len point into the
 * message (not NUL-terminated). 0 or -EINVAL. */
int turn_stun_get_error(const turn_stun_attr_t *a, int *code,
                        const char **reason, size_t *reason_len);

/* Name of a known attribute type for logs; NULL when unknown. */
const char *turn_stun_attr_name(uint16_t type);

/* CRC-32 (ISO-HDLC, as zlib) of buf, continuing from `crc` (start at 0). */
uint32_t turn_stun_crc32(uint32_t crc, const uint8_t *buf, size_t len);

/* --- MESSAGE-INTEGRITY (RFC 8489 sections 14.5, 14.6) --- */

#define TURN_STUN_MI_LEN      20   /* HMAC-SHA1 */
#define TURN_STUN_MI256_LEN   32   /* HMAC-SHA256, may be truncated to 16 */

/* Checks a MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256 attribute `a` of
 * `msg` with the long-term key (HMAC over the message up to the attribute,
 * with the length field as if it ended there). 0, -EINVAL when the value
 * has a wrong size or `a` is of another type, -EACCES on a mismatch. */
int turn_stun_check_integrity(const turn_stun_msg_t *msg,
                              const turn_stun_attr_t *a, const uint8_t *key,
                              size_t keylen);

/* --- ChannelData (RFC 8656 section 12.4) --- */

#define TURN_CHAN_HDR_LEN  4
#define TURN_CHAN_MIN      0x4000
/* RFC 8656 narrowed channels to 0x4000-0x4FFF; RFC 5766 allowed up to
 * 0x7FFF and clients in the field (coturn's among them) still pick from
 * there. Accepting the old range costs nothing: 0x5000-0x7FFF cannot start
 * a STUN message either. */
#define TURN_CHAN_MAX      0x7FFF

/* 1 when buf starts like ChannelData (first two bits 01) rather than STUN. */
static inline int turn_chan_is(const uint8_t *buf, size_t len)
{
    return len > 0 && (buf[0] & 0xC0) == 0x40;
}

/* Decodes one ChannelData message in buf[0..len): *chan and the payload
 * (pointing into buf). Trailing bytes after the payload are padding and
 * must be fewer than 4 (UDP may omit the padding, a stream carries it).
 * 0, or -EINVAL (short, length past the end, channel out of range). */
int turn_chan_decode(const uint8_t *buf, size_t len, uint16_t *chan,
                     const uint8_t **data, size_t *dlen);
/* Writes the 4-byte ChannelData header. */
void turn_chan_header(uint8_t *hdr, uint16_t chan, size_t dlen);

/* Framing on a stream (TCP, TLS) where STUN messages and ChannelData
 * (padded to 4 bytes) alternate: the length of the frame at the head of
 * buf once its header is there, 0 when more bytes are needed, -EINVAL
 * when the head can start neither. */
int turn_stream_frame_len(const uint8_t *buf, size_t len);

/* --- encoding --- */

typedef struct {
    /* private */
    uint8_t *buf;         /* caller-owned output */
    size_t cap;
    size_t len;           /* bytes written, header included */
    int err;              /* first error, sticky */
} turn_stun_enc_t;

/* Starts a message in buf (cap bytes). `cookie` is TURN_STUN_COOKIE except
 * when answering an RFC 3489 client, whose value is echoed back. */
int turn_stun_enc_init(turn_stun_enc_t *e, uint8_t *buf, size_t cap,
                       uint16_t method, turn_stun_class_t cls, uint32_t cookie,
                       const uint8_t tid[TURN_STUN_TID_LEN]);
/* Starts a response (success or error) to `req`: same method, cookie and
 * transaction id. */
int turn_stun_enc_reply(turn_stun_enc_t *e, uint8_t *buf, size_t cap,
                        const turn_stun_msg_t *req, turn_stun_class_t cls);
/* Appends one attribute, zero-padded to 4 bytes. -EMSGSIZE when it does
 * not fit, -EINVAL for a value over 65535 bytes. */
int turn_stun_enc_attr(turn_stun_enc_t *e, uint16_t type, const void *val,
                       size_t len);
/* Appends the header of an attribute whose `len` value bytes the caller
 * has already placed right after it (relayed data, no copy); zeroes its
 * padding. Returns the value's place, or NULL (see turn_stun_enc_finish). */
uint8_t *turn_stun_enc_inplace(turn_stun_enc_t *e, uint16_t type, size_t len);
/* XOR-coded address of `type` (IPv4 or IPv6). -EINVAL for other families. */
int turn_stun_enc_xaddr(turn_stun_enc_t *e, uint16_t type,
                        const struct sockaddr *sa);
/* MAPPED-ADDRESS (for RFC 3489 clients). */
int turn_stun_enc_addr(turn_stun_enc_t *e, uint16_t type,
                       const struct sockaddr *sa);
/* SOFTWARE: -EINVAL above TURN_STUN_MAX_TEXT bytes. */
int turn_stun_enc_software(turn_stun_enc_t *e, const char *text);
/* ERROR-CODE with a code in 300..699 and a reason phrase. */
int turn_stun_enc_error(turn_stun_enc_t *e, int code, const char *reason);
/* UNKNOWN-ATTRIBUTES listing n types. */
int turn_stun_enc_unknown(turn_stun_enc_t *e, const uint16_t *types, unsigned n);
/* MESSAGE-INTEGRITY (type TURN_ATTR_MESSAGE_INTEGRITY, HMAC-SHA1) or
 * MESSAGE-INTEGRITY-SHA256 over everything before it, with `key`. Only
 * FINGERPRINT may follow. */
int turn_stun_enc_integrity(turn_stun_enc_t *e, uint16_t type,
                            const uint8_t *key, size_t keylen);
/* FINGERPRINT over everything before it; must be the last attribute. */
int turn_stun_enc_fingerprint(turn_stun_enc_t *e);
/* Returns the message length (> 0), or the first error. */
int turn_stun_enc_finish(const turn_stun_enc_t *e);

#endif
