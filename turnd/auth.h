/* TURN authentication: long-term credentials (RFC 8489 section 9.2) for
 * static users and for TURN REST API users, and the nonces that go with
 * them.
 *
 * Static users come from the config as "name:password" pairs; only their
 * keys (MD5 of "name:realm:password") are kept. REST users
 * (draft-uberti-behave-turn-rest, as coturn's use-auth-secret) carry
 * "expiry:user" as username, expiry in Unix seconds, and
 * base64(HMAC-SHA1(secret, username)) as password; several secrets are
 * active at once so that a rotation never cuts a client off, and sigd can
 * replace them over the bus. A full REST username can be revoked: it is
 * then refused until its own expiry.
 *
 * Nonces are stateless: 8 hex digits of their expiry (monotonic seconds)
 * and 16 of an HMAC over that expiry and the client's IP address under a
 * key drawn at start-up. An expired nonce is answered 438 (Stale Nonce),
 * a forged one 401.
 */
#ifndef TURN_AUTH_H
#define TURN_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "stun_msg.h"

#define TURN_AUTH_KEYLEN      16     /* MD5 long-term key */
#define TURN_AUTH_NONCELEN    24
#define TURN_AUTH_USERLEN     256    /* longest username accepted, with NUL */
#define TURN_AUTH_MAX_USERS   64
#define TURN_AUTH_MAX_SECRETS 8
#define TURN_AUTH_SECRETLEN   256
#define TURN_AUTH_MAX_REVOKED 1024

/* Outcomes of turn_auth_check() besides 0 (authenticated). */
enum {
    TURN_AUTH_CHALLENGE = 1,  /* no credentials yet: 401 with realm, nonce */
    TURN_AUTH_STALE = 2,      /* nonce expired: 438 with a fresh nonce */
    TURN_AUTH_REFUSED = 3,    /* unknown user, bad MAC, expired or revoked
                               * credential: 401 with realm, nonce */
    TURN_AUTH_BAD = 4         /* malformed credentials attributes: 400 */
};

typedef struct {
    char name[TURN_AUTH_USERLEN];
    uint8_t key[TURN_AUTH_KEYLEN];
} turn_auth_user_t;

typedef struct {
    char name[TURN_AUTH_USERLEN];
    int64_t until;             /* Unix seconds: the credential's expiry */
} turn_auth_revoked_t;

/* What an authenticated request proved. */
typedef struct {
    char username[TURN_AUTH_USERLEN];
    uint8_t key[TURN_AUTH_KEYLEN];
    uint16_t mi_type;          /* the integrity attribute to answer with */
} turn_auth_cred_t;

typedef struct {
    /* read-only */
    uint64_t refused;          /* 401 after credentials were sent */
    uint64_t stale;            /* 438 */
    unsigned nsecrets;
    /* private */
    char realm[TURN_STUN_MAX_TEXT + 1];
    unsigned nonce_lifetime_s;
    uint8_t nonce_key[20];
    turn_auth_user_t users[TURN_AUTH_MAX_USERS];
    unsigned nusers;
    char secrets[TURN_AUTH_MAX_SECRETS][TURN_AUTH_SECRETLEN];
    turn_auth_revoked_t revoked[TURN_AUTH_MAX_REVOKED];
    unsigned nrevoked;
} turn_auth_t;

/* `users`: "name:password[,name:password...]" or ""; `secrets`:
 * "secret[,secret...]" or "". 0, or -EINVAL with a reason in err. */
int turn_auth_init(turn_auth_t *a, const char *realm, const char *users,
                   const char *secrets, unsigned nonce_lifetime_s, char *err,
                   size_t errlen);
/* Replaces the REST secrets (first = newest). -EINVAL when n is too large
 * or a secret empty or too long; the old set stays then. */
int turn_auth_set_secrets(turn_auth_t *a, const char *const *secrets, size_t n);
/* Refuses `username` until its REST expiry (now + 1 day for a name that
 * carries none). */
void turn_auth_revoke(turn_auth_t *a, const char *username);
const char *turn_auth_realm(const turn_auth_t *a);
/* A fresh nonce for `client`, NUL-terminated. */
void turn_auth_nonce(const turn_auth_t *a, const struct sockaddr *client,
                     char out[TURN_AUTH_NONCELEN + 1]);
/* Checks the credentials of request `msg` from `client`: 0 with `cred`
 * filled, or one of the TURN_AUTH_* outcomes. */
int turn_auth_check(turn_auth_t *a, const turn_stun_msg_t *msg,
                    const struct sockaddr *client, turn_auth_cred_t *cred);
/* The REST password of `username` under `secret` (base64 of the HMAC,
 * NUL-terminated): for tests and for sigd-style minting. 0 or -EIO. */
int turn_auth_rest_password(const char *secret, const char *username,
                            char *out, size_t outlen);

#endif
