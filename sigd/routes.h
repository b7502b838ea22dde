/* Routing from config ([routes] section): internal targets with OPTIONS
 * health checks and failover, trunks recognised by source CIDR, outbound
 * routes by dialled prefix, and the default route.
 *
 * Header kept free of Sofia's magic types (sigd.h includes it for the
 * config struct), like antifraud.h; url.h and su_alloc.h have none.
 */
#ifndef SIG_ROUTES_H
#define SIG_ROUTES_H

#include "cfg.h"

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

struct sig_s;
struct msg_s;

typedef struct {
    char internal_targets[GW_CFG_LISTLEN];  /* comma list of URIs, in order */
    int health_interval;                   /* s between OPTIONS; 0 = none */
    int health_failures;                   /* missed OPTIONS before down */
    char trunks[GW_CFG_LISTLEN];            /* NAME=CIDR or NAME=tls:DNSNAME, ... */
    char trunk_context[GW_CFG_STRLEN];     /* RFC 4904 tags towards INT */
    char outbound[GW_CFG_LISTLEN];          /* PREFIX=URI[|URI...], ... */
} sig_routes_config_t;

extern const gw_cfg_directive_t sig_routes_directives[];

#define SIG_ROUTES_MAX 32

/* Parses the lists (errors logged) and starts the health checks. 0 or
 * -EINVAL. */
int sig_routes_start(struct sig_s *sig);
void sig_routes_stop(struct sig_s *sig);

/* The internal target to try for a new request from EXT: the first live
 * one at or after index *idx (updated), else the first at or after it.
 * NULL after the last one. Allocated in home. */
url_t *sig_routes_internal(struct sig_s *sig, su_home_t *home, int *idx);
/* 1 when an internal target follows index idx (failover is possible). */
int sig_routes_more(int idx);
/* The target at idx did not answer (408/503): it is marked down at once
 * (the health checks bring it back). */
void sig_routes_target_failed(struct sig_s *sig, int idx);

/* The route for a number dialled from INT to sigd: URI number alt (from
 * 0) of the longest matching outbound prefix, else [sigd]
 * ext_default_route; NULL when none (or no such alternative). *more is
 * set to 1 when another alternative follows. */
url_t *sig_routes_outbound(struct sig_s *sig, su_home_t *home,
                           const char *number, int alt, int *more);

/* The name of the trunk msg came from (by source CIDR, or by the name in
 * the verified certificate of its TLS connection), or NULL. While msg is
 * being delivered (Sofia's record of the last delivery). */
const char *sig_routes_trunk(struct sig_s *sig, struct msg_s *msg);

/* The trunk a next hop (a URI we send to) belongs to, by numeric host in
 * a trunk's CIDR or by its TLS name; NULL when none. */
const char *sig_routes_trunk_of_hop(const url_t *hop);

/* Exported for the unit tests: 1 when ip is inside cidr ("a.b.c.d/n",
 * "v6/n", or a bare address). */
int sig__routes_cidr_match(const char *cidr, const char *ip);

#endif
