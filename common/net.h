/* Address helpers shared by the daemons: parsing numeric IPv4/IPv6
 * addresses (no DNS: configs and SDP in this product carry literals), and
 * formatting them for logs and SDP. */
#ifndef GW_NET_H
#define GW_NET_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define GW_ADDRSTRLEN 64   /* "[ipv6]:port" plus NUL */

/* Parses a numeric address into `out` with `port`. 0 or -EINVAL. */
int gw_addr_parse(const char *host, unsigned port, struct sockaddr_storage *out);
/* Parses "ip:port", "[ipv6]:port". 0 or -EINVAL. */
int gw_hostport_parse(const char *s, struct sockaddr_storage *out);
/* Writes "ip:port" ("[ip]:port" for IPv6) into buf; returns buf. */
char *gw_addr_str(const struct sockaddr *sa, char *buf, size_t len);
/* Writes the bare IP into buf; returns buf. */
char *gw_addr_ip(const struct sockaddr *sa, char *buf, size_t len);
unsigned gw_addr_port(const struct sockaddr *sa);
void gw_addr_set_port(struct sockaddr_storage *ss, unsigned port);
/* The same for any IPv4 or IPv6 address (a sockaddr_in or _in6 in its own
 * room); other families are left alone. */
void gw_addr_set_port_sa(struct sockaddr *sa, unsigned port);
socklen_t gw_addr_len(const struct sockaddr *sa);
/* 1 when family, address and port are equal. */
int gw_addr_eq(const struct sockaddr *a, const struct sockaddr *b);
/* 1 for 0.0.0.0 or :: */
int gw_addr_is_any(const struct sockaddr *sa);

#endif
