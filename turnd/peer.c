/* Safe peers: see peer.h.
 *
 * Everything is compared as IPv6: an IPv4 address becomes ::ffff:a.b.c.d
 * and IPv4 prefixes get 96 added to their length. The built-in deny table
 * is written in that form. The embedded IPv4 address of an IPv6 peer is
 * checked against the same tables, so that no rule needs a twin per
 * embedding.
 */
#include "peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *cidr;
    const char *why;
} builtin_t;

static const builtin_t builtin_deny[] = {
    { "0.0.0.0/8", "unspecified (this network)" },
    { "127.0.0.0/8", "loopback" },
    { "10.0.0.0/8", "private (RFC 1918)" },
    { "172.16.0.0/12", "private (RFC 1918)" },
    { "192.168.0.0/16", "private (RFC 1918)" },
    { "100.64.0.0/10", "shared address space (RFC 6598)" },
    { "169.254.0.0/16", "link-local (cloud metadata)" },
    { "192.0.0.0/24", "IETF protocol assignments" },
    { "224.0.0.0/4", "multicast" },
    { "240.0.0.0/4", "reserved or broadcast" },
    { "::/128", "unspecified" },
    { "::1/128", "loopback" },
    { "fe80::/10", "link-local" },
    { "fec0::/10", "site-local" },
    { "fc00::/7", "unique local" },
    { "ff00::/8", "multicast" },
    { "64:ff9b:1::/48", "local-use NAT64" },
    { "100::/64", "discard-only" },
};
#define NBUILTIN (sizeof builtin_deny / sizeof builtin_deny[0])

static turn_cidr_t builtin_cidr[NBUILTIN];
static int builtin_ready;

static int parse_cidr(const char *s, turn_cidr_t *out)
{
    char buf[INET6_ADDRSTRLEN + 8];
    char *slash, *end;
    struct in_addr a4;
    long plen;
    int v4;

    if (strlen(s) >= sizeof buf)
        return -EINVAL;
    strcpy(buf, s);
    slash = strchr(buf, '/');
    if (slash != NULL)
        *slash = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        v4 = 1;
        out->net.s6_addr[10] = out->net.s6_addr[11] = 0xff;
        memcpy(&out->net.s6_addr[12], &a4, 4);
    } else if (inet_pton(AF_INET6, buf, &out->net) == 1) {
        v4 = 0;
    } else {
        return -EINVAL;
    }
    plen = v4 ? 32 : 128;
    if (slash != NULL) {
        plen = strtol(slash + 1, &end, 10);
        if (*end != '\0' || slash[1] == '\0' || plen < 0 || plen > (v4 ? 32 : 128))
            return -EINVAL;
    }
    out->plen = (unsigned)plen + (v4 ? 96 : 0);
    return 0;
}

static int cidr_match(const turn_cidr_t *c, const struct in6_addr *a)
{
    unsigned full = c->plen / 8, rest = c->plen % 8;

    if (memcmp(c->net.s6_addr, a->s6_addr, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    return ((c->net.s6_addr[full] ^ a->s6_addr[full]) &
            (uint8_t)(0xFF << (8 - rest))) == 0;
}

static int parse_list(const char *list, turn_cidr_t *out, unsigned *n,
                      const char *what, char *err, size_t errlen)
{
    char copy[1024], *save = NULL, *tok;

    if (strlen(list) >= sizeof copy) {
        snprintf(err, errlen, "%s: too long", what);
        return -EINVAL;
    }
    strcpy(copy, list);
    for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (*n == TURN_PEER_MAX_RULES) {
            snprintf(err, errlen, "%s: more than %d entries", what,
                     TURN_PEER_MAX_RULES);
            return -EINVAL;
        }
        if (parse_cidr(tok, &out[*n]) < 0) {
            snprintf(err, errlen, "%s: '%s' is not an address or CIDR", what, tok);
            return -EINVAL;
        }
        (*n)++;
    }
    return 0;
}

int turn_peers_init(turn_peers_t *p, const char *allow, const char *deny,
                    char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (!builtin_ready) {
        for (size_t i = 0; i < NBUILTIN; i++)
            if (parse_cidr(builtin_deny[i].cidr, &builtin_cidr[i]) < 0)
                return -EINVAL;  /* our own table: cannot happen */
        builtin_ready = 1;
    }
    if (parse_list(allow, p->allow, &p->nallow, "allowed_peers", err, errlen) < 0 ||
        parse_list(deny, p->deny, &p->ndeny, "denied_peers", err, errlen) < 0)
        return -EINVAL;
    return 0;
}

/* The address as IPv6 (IPv4 mapped); -EINVAL for other families. */
static int to_v6(const struct sockaddr *sa, struct in6_addr *out)
{
    if (sa->sa_family == AF_INET) {
        memset(out, 0, sizeof *out);
        out->s6_addr[10] = out->s6_addr[11] = 0xff;
        memcpy(&out->s6_addr[12], &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        *out = ((const struct sockaddr_in6 *)sa)->sin6_addr;
        return 0;
    }
    return -EINVAL;
}

int turn_peers_add_self(turn_peers_t *p, const struct sockaddr *sa)
{
    struct in6_addr a;

    if (to_v6(sa, &a) < 0)
        return -EINVAL;
    for (unsigned i = 0; i < p->nself; i++)
        if (memcmp(&p->self[i], &a, sizeof a) == 0)
            return 0;
    if (p->nself == TURN_PEER_MAX_SELF)
        return -ENOSPC;
    p->self[p->nself++] = a;
    return 0;
}

int turn_peers_add_local(turn_peers_t *p)
{
    struct ifaddrs *ifs, *i;

    if (getifaddrs(&ifs) < 0)
        return -errno;
    for (i = ifs; i != NULL; i = i->ifa_next)
        if (i->ifa_addr != NULL)
            turn_peers_add_self(p, i->ifa_addr);
    freeifaddrs(ifs);
    return 0;
}

/* The IPv4 address an IPv6 address carries, as ::ffff:a.b.c.d; 0 when it
 * carries none. */
static int embedded_v4(const struct in6_addr *a, struct in6_addr *out)
{
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    static const uint8_t zero[12];
    static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };
    const uint8_t *b = a->s6_addr;
    const uint8_t *v4;

    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
        v4 = b + 12;
    else if (memcmp(b, zero, 12) == 0)
        v4 = b + 12;                 /* IPv4-compatible (deprecated) */
    else if (b[0] == 0x20 && b[1] == 0x02)
        v4 = b + 2;                  /* 6to4 */
    else
        return 0;
    memset(out, 0, sizeof *out);
    out->s6_addr[10] = out->s6_addr[11] = 0xff;
    memcpy(&out->s6_addr[12], v4, 4);
    return 1;
}

static const char *denied(const turn_peers_t *p, const struct in6_addr *a)
{
    for (size_t i = 0; i < NBUILTIN; i++)
        if (cidr_match(&builtin_cidr[i], a))
            return builtin_deny[i].why;
    for (unsigned i = 0; i < p->ndeny; i++)
        if (cidr_match(&p->deny[i], a))
            return "denied by denied_peers";
    for (unsigned i = 0; i < p->nself; i++)
        if (memcmp(&p->self[i], a, sizeof *a) == 0)
            return "one of the server's own addresses";
    return NULL;
}

int turn_peers_check(const turn_peers_t *p, const struct sockaddr *sa,
                     const char **why)
{
    struct in6_addr a, v4;
    const char *w;

    if (to_v6(sa, &a) < 0) {
        *why = "not an IP address";
        return -EPERM;
    }
    for (unsigned i = 0; i < p->nallow; i++) {
        /* An IPv4 rule must not match the mapped form of a v6 peer. */
        if (sa->sa_family == AF_INET6 && p->allow[i].plen >= 96 &&
            memcmp(p->allow[i].net.s6_addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
            continue;
        if (cidr_match(&p->allow[i], &a))
            return 0;
    }
    w = denied(p, &a);
    if (w == NULL && sa->sa_family == AF_INET6 && embedded_v4(&a, &v4))
        w = denied(p, &v4);
    if (w != NULL) {
        *why = w;
        return -EPERM;
    }
    return 0;
}
