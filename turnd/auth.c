/* TURN authentication: see auth.h.
 *
 * Order of the checks follows RFC 8489 section 9.2.4: no MESSAGE-INTEGRITY
 * at all is a challenge; a missing USERNAME, REALM or NONCE beside it is a
 * bad request; a nonce that is not ours is refused and an expired one is
 * stale, both before the user is looked up, so that a client with a stale
 * nonce learns it without a MAC being computed. The MAC is then checked
 * with the user's key (static users) or with the key of each active REST
 * secret in turn. Revocations are kept in a small array pruned as they
 * expire: revocation is rare and call-scoped.
 */
#include "auth.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static int64_t unix_s(void)
{
    return (int64_t)time(NULL);
}

/* MD5(username ":" realm ":" password), the long-term key. */
static int make_key(const char *user, size_t ulen, const char *realm,
                    const char *pass, size_t plen, uint8_t key[TURN_AUTH_KEYLEN])
{
    char buf[TURN_AUTH_USERLEN + TURN_STUN_MAX_TEXT + TURN_AUTH_SECRETLEN + 4];
    int n;

    n = snprintf(buf, sizeof buf, "%.*s:%s:%.*s", (int)ulen, user, realm,
                 (int)plen, pass);
    if (n < 0 || (size_t)n >= sizeof buf)
        return -EINVAL;
    return gnutls_hash_fast(GNUTLS_DIG_MD5, buf, (size_t)n, key) < 0 ? -EIO : 0;
}

int turn_auth_rest_password(const char *secret, const char *username,
                            char *out, size_t outlen)
{
    uint8_t mac[20];
    gnutls_datum_t in = { mac, sizeof mac }, b64 = { NULL, 0 };
    int rc = 0;

    if (gnutls_hmac_fast(GNUTLS_MAC_SHA1, secret, strlen(secret), username,
                         strlen(username), mac) < 0)
        return -EIO;
    if (gnutls_base64_encode2(&in, &b64) < 0)
        return -EIO;
    if (b64.size + 1 > outlen)
        rc = -ENOSPC;
    else {
        memcpy(out, b64.data, b64.size);
        out[b64.size] = '\0';
    }
    gnutls_free(b64.data);
    return rc;
}

/* Parses "name:password,..." into a->users. */
static int parse_users(turn_auth_t *a, const char *list, char *err,
                       size_t errlen)
{
    const char *p = list;

    while (*p != '\0') {
        const char *end = strchr(p, ',');
        const char *colon;
        size_t len = end ? (size_t)(end - p) : strlen(p);
        turn_auth_user_t *u;

        colon = memchr(p, ':', len);
        if (colon == NULL || colon == p || (size_t)(colon - p) >= TURN_AUTH_USERLEN) {
            snprintf(err, errlen, "users: entry %u is not name:password",
                     a->nusers + 1);
            return -EINVAL;
        }
        if (a->nusers == TURN_AUTH_MAX_USERS) {
            snprintf(err, errlen, "users: more than %d", TURN_AUTH_MAX_USERS);
            return -EINVAL;
        }
        u = &a->users[a->nusers++];
        memcpy(u->name, p, (size_t)(colon - p));
        u->name[colon - p] = '\0';
        if (make_key(u->name, strlen(u->name), a->realm, colon + 1,
                     len - (size_t)(colon - p) - 1, u->key) < 0) {
            snprintf(err, errlen, "users: entry '%s' too long", u->name);
            return -EINVAL;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

int turn_auth_set_secrets(turn_auth_t *a, const char *const *secrets, size_t n)
{
    if (n > TURN_AUTH_MAX_SECRETS)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (secrets[i][0] == '\0' || strlen(secrets[i]) >= TURN_AUTH_SECRETLEN)
            return -EINVAL;
    for (size_t i = 0; i < n; i++)
        snprintf(a->secrets[i], TURN_AUTH_SECRETLEN, "%s", secrets[i]);
    for (size_t i = n; i < TURN_AUTH_MAX_SECRETS; i++)
        memset(a->secrets[i], 0, TURN_AUTH_SECRETLEN);
    a->nsecrets = (unsigned)n;
    return 0;
}

int turn_auth_init(turn_auth_t *a, const char *realm, const char *users,
                   const char *secrets, unsigned nonce_lifetime_s, char *err,
                   size_t errlen)
{
    char copy[TURN_AUTH_MAX_SECRETS * TURN_AUTH_SECRETLEN];
    const char *list[TURN_AUTH_MAX_SECRETS];
    size_t n = 0;
    char *save = NULL, *tok;

    memset(a, 0, sizeof *a);
    if (realm[0] == '\0' || strlen(realm) > TURN_STUN_MAX_TEXT) {
        snprintf(err, errlen, "realm: must be 1 to %d characters",
                 TURN_STUN_MAX_TEXT);
        return -EINVAL;
    }
    snprintf(a->realm, sizeof a->realm, "%s", realm);
    a->nonce_lifetime_s = nonce_lifetime_s;
    if (gnutls_rnd(GNUTLS_RND_KEY, a->nonce_key, sizeof a->nonce_key) < 0) {
        snprintf(err, errlen, "no random bytes for the nonce key");
        return -EIO;
    }
    if (parse_users(a, users, err, errlen) < 0)
        return -EINVAL;
    snprintf(copy, sizeof copy, "%s", secrets);
    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == TURN_AUTH_MAX_SECRETS) {
            snprintf(err, errlen, "rest_secrets: more than %d",
                     TURN_AUTH_MAX_SECRETS);
            return -EINVAL;
        }
        list[n++] = tok;
    }
    if (turn_auth_set_secrets(a, list, n) < 0) {
        snprintf(err, errlen, "rest_secrets: a secret is empty or too long");
        return -EINVAL;
    }
    return 0;
}

const char *turn_auth_realm(const turn_auth_t *a)
{
    return a->realm;
}

/* The REST expiry of "expiry:user", or -1 when the name has none. */
static int64_t rest_expiry(const char *name)
{
    char *end;
    long long v;

    if (name[0] < '0' || name[0] > '9')
        return -1;
    v = strtoll(name, &end, 10);
    if (*end != ':' || v <= 0)
        return -1;
    return (int64_t)v;
}

void turn_auth_revoke(turn_auth_t *a, const char *username)
{
    int64_t now = unix_s(), until = rest_expiry(username);
    unsigned i, j;

    if (until < 0)
        until = now + 86400;
    /* Prune what has expired on its own; the oldest goes when full. */
    for (i = j = 0; i < a->nrevoked; i++)
        if (a->revoked[i].until >= now)
            a->revoked[j++] = a->revoked[i];
    a->nrevoked = j;
    if (a->nrevoked == TURN_AUTH_MAX_REVOKED) {
        memmove(a->revoked, a->revoked + 1,
                (TURN_AUTH_MAX_REVOKED - 1) * sizeof a->revoked[0]);
        a->nrevoked--;
    }
    snprintf(a->revoked[a->nrevoked].name, TURN_AUTH_USERLEN, "%s", username);
    a->revoked[a->nrevoked].until = until;
    a->nrevoked++;
}

static int is_revoked(const turn_auth_t *a, const char *name)
{
    for (unsigned i = 0; i < a->nrevoked; i++)
        if (strcmp(a->revoked[i].name, name) == 0)
            return 1;
    return 0;
}

static void nonce_mac(const turn_auth_t *a, const char *hexexp,
                      const struct sockaddr *client, char out[17])
{
    uint8_t data[8 + 16], mac[20];
    size_t n = 8;

    memcpy(data, hexexp, 8);
    if (client->sa_family == AF_INET) {
        memcpy(data + n, &((const struct sockaddr_in *)client)->sin_addr, 4);
        n += 4;
    } else if (client->sa_family == AF_INET6) {
        memcpy(data + n, &((const struct sockaddr_in6 *)client)->sin6_addr, 16);
        n += 16;
    }
    gnutls_hmac_fast(GNUTLS_MAC_SHA1, a->nonce_key, sizeof a->nonce_key,
                     data, n, mac);
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

void turn_auth_nonce(const turn_auth_t *a, const struct sockaddr *client,
                     char out[TURN_AUTH_NONCELEN + 1])
{
    uint32_t exp = (uint32_t)(mono_s() + a->nonce_lifetime_s);

    snprintf(out, 9, "%08x", exp);
    nonce_mac(a, out, client, out + 8);
}

/* 0 fresh, TURN_AUTH_STALE, TURN_AUTH_REFUSED (not ours). */
static int check_nonce(const turn_auth_t *a, const turn_stun_attr_t *n,
                       const struct sockaddr *client)
{
    char hex[9], mac[17];
    unsigned long exp;
    unsigned diff = 0;

    if (n->len != TURN_AUTH_NONCELEN)
        return TURN_AUTH_REFUSED;
    memcpy(hex, n->val, 8);
    hex[8] = '\0';
    nonce_mac(a, hex, client, mac);
    for (int i = 0; i < 16; i++)
        diff |= (unsigned)(mac[i] ^ n->val[8 + i]);
    if (diff != 0)
        return TURN_AUTH_REFUSED;
    exp = strtoul(hex, NULL, 16);
    return (int64_t)exp < mono_s() ? TURN_AUTH_STALE : 0;
}

static int try_key(const turn_stun_msg_t *msg, const turn_stun_attr_t *mi,
                   const uint8_t *key)
{
    return turn_stun_check_integrity(msg, mi, key, TURN_AUTH_KEYLEN) == 0;
}

int turn_auth_check(turn_auth_t *a, const turn_stun_msg_t *msg,
                    const struct sockaddr *client, turn_auth_cred_t *cred)
{
    const turn_stun_attr_t *mi, *user, *realm, *nonce;
    char pass[64];
    int64_t exp;
    int rc;

    /* Prefer SHA-256 when the client offers it. */
    mi = turn_stun_find(msg, TURN_ATTR_MESSAGE_INTEGRITY_SHA256);
    cred->mi_type = TURN_ATTR_MESSAGE_INTEGRITY_SHA256;
    if (mi == NULL) {
        mi = turn_stun_find(msg, TURN_ATTR_MESSAGE_INTEGRITY);
        cred->mi_type = TURN_ATTR_MESSAGE_INTEGRITY;
    }
    if (mi == NULL)
        return TURN_AUTH_CHALLENGE;
    user = turn_stun_find(msg, TURN_ATTR_USERNAME);
    realm = turn_stun_find(msg, TURN_ATTR_REALM);
    nonce = turn_stun_find(msg, TURN_ATTR_NONCE);
    if (user == NULL || realm == NULL || nonce == NULL ||
        user->len == 0 || user->len >= TURN_AUTH_USERLEN)
        return TURN_AUTH_BAD;
    rc = check_nonce(a, nonce, client);
    if (rc != 0)
        goto refuse;
    rc = TURN_AUTH_REFUSED;
    if (realm->len != strlen(a->realm) ||
        memcmp(realm->val, a->realm, realm->len) != 0)
        goto refuse;
    memcpy(cred->username, user->val, user->len);
    cred->username[user->len] = '\0';
    if (memchr(cred->username, '\0', user->len) != NULL)
        goto refuse;

    exp = rest_expiry(cred->username);
    if (exp > 0 && a->nsecrets > 0) {
        if (exp < unix_s() || is_revoked(a, cred->username))
            goto refuse;
        for (unsigned i = 0; i < a->nsecrets; i++) {
            if (turn_auth_rest_password(a->secrets[i], cred->username, pass,
                                        sizeof pass) < 0 ||
                make_key(cred->username, user->len, a->realm, pass,
                         strlen(pass), cred->key) < 0)
                continue;
            if (try_key(msg, mi, cred->key))
                return 0;
        }
        goto refuse;
    }
    if (is_revoked(a, cred->username))
        goto refuse;
    for (unsigned i = 0; i < a->nusers; i++) {
        if (strcmp(a->users[i].name, cred->username) != 0)
            continue;
        memcpy(cred->key, a->users[i].key, TURN_AUTH_KEYLEN);
        if (try_key(msg, mi, cred->key))
            return 0;
        break;
    }
refuse:
    if (rc == TURN_AUTH_STALE)
        a->stale++;
    else
        a->refused++;
    memset(cred->key, 0, sizeof cred->key);
    return rc;
}
