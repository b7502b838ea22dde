/* Safe peers: which addresses a TURN client may relay to.
 *
 * By default turnd refuses (403) every address that reaches the inside of
 * the DMZ or the host itself: unspecified (0.0.0.0/8, ::), loopback,
 * RFC 1918 and RFC 6598 (CGNAT) space, link-local (169.254/16, with the
 * cloud metadata address, and fe80::/10), IPv6 unique-local and site-local,
 * multicast and reserved space, broadcast, and the server's own addresses.
 * An IPv6 address that carries an IPv4 address (IPv4-mapped ::ffff:a.b.c.d,
 * IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged
 * by that IPv4 address too, which closes the bypasses seen in the field
 * (CVE-2020-26262: 0.0.0.0 and :: reaching loopback; mapped forms of
 * denied IPv4 addresses). The local-use NAT64 prefix 64:ff9b:1::/48, whose
 * embedding position varies, is refused whole.
 *
 * An allow-list entry (CIDR) permits exactly the addresses it covers, as
 * written: allowing 192.0.2.10/32 does not allow ::ffff:192.0.2.10. The
 * operator can add deny entries of their own.
 */
#ifndef TURN_PEER_H
#define TURN_PEER_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#define TURN_PEER_MAX_RULES 32
#define TURN_PEER_MAX_SELF  64

typedef struct {
    struct in6_addr net;       /* IPv4 as ::ffff:a.b.c.d */
    unsigned plen;             /* prefix length over the 128 bits */
} turn_cidr_t;

typedef struct {
    /* read-only */
    unsigned nallow, ndeny, nself;
    /* private */
    turn_cidr_t allow[TURN_PEER_MAX_RULES];
    turn_cidr_t deny[TURN_PEER_MAX_RULES];
    struct in6_addr self[TURN_PEER_MAX_SELF];
} turn_peers_t;

/* `allow`, `deny`: comma-separated CIDRs ("192.0.2.0/24,2001:db8::/32";
 * a bare address is a host route) or "". 0, or -EINVAL with a reason. */
int turn_peers_init(turn_peers_t *p, const char *allow, const char *deny,
                    char *err, size_t errlen);
/* Adds one of the server's own addresses (port ignored). */
int turn_peers_add_self(turn_peers_t *p, const struct sockaddr *sa);
/* Adds every address of the host's interfaces (getifaddrs). */
int turn_peers_add_local(turn_peers_t *p);
/* 0 when `sa` may be relayed to; -EPERM with *why (a static string for
 * logs) otherwise. */
int turn_peers_check(const turn_peers_t *p, const struct sockaddr *sa,
                     const char **why);

#endif
