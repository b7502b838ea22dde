/* Anti-fraud on the EXT side: bans after failed authentication (persisted),
 * a per-IP rate limit on new requests, scanner user agents, uniform answers for
 * unknown users, and the outbound destination policy for calls from INT.
 *
 * The proxy calls it twice: sig_antifraud_check() at the top of request
 * handling, sig_antifraud_response() on each final response it relays.
 * Its directives live in their own [antifraud] section.
 *
 * This header only forward-declares Sofia's and sigd's types so that
 * sigd.h can include it for the config struct.
 */
#ifndef SIG_ANTIFRAUD_H
#define SIG_ANTIFRAUD_H

#include "cfg.h"

struct sig_s;
struct nta_incoming_s;
struct msg_s;
struct sip_s;

typedef struct {
    int enabled;
    int max_failures;           /* failed authentications before a ban */
    int window;                 /* s: failures older than this are forgotten */
    int ban_time;               /* s */
    char ban_file[GW_CFG_STRLEN];
    int rate;                   /* requests per second per IP; 0 = no limit */
    int burst;                  /* token-bucket depth */
    char scanners[GW_CFG_STRLEN];      /* comma list, case-insensitive substrings */
    int uniform;                /* 404 to REGISTER -> 401 challenge */
    char realm[GW_CFG_STRLEN];  /* realm of fabricated challenges */
    char allowed_prefixes[GW_CFG_STRLEN];
    char denied_prefixes[GW_CFG_STRLEN];
    char emergency[GW_CFG_STRLEN];
} sig_af_config_t;

extern const gw_cfg_directive_t sig_antifraud_directives[];

/* Results of sig_antifraud_check() besides a SIP status (>= 400). */
#define SIG_AF_PASS 0
#define SIG_AF_DROP 1

/* Creates the table and reloads the ban file. 0 or -errno (logged). */
int sig_antifraud_start(struct sig_s *sig);
void sig_antifraud_stop(struct sig_s *sig);

/* Facts about a request from EXT that the proxy established (flags for
 * sig_antifraud_check()): such a request is never rate-limited, and takes
 * no token from its source's bucket. */
#define SIG_AF_KNOWN_DIALOG    0x1  /* in-dialog, of a dialog in the table */
#define SIG_AF_REGISTERED_FLOW 0x2  /* came on a flow with a live registration */

/* Decides about a request that arrived on `side`, before any transaction
 * exists: SIG_AF_PASS, SIG_AF_DROP (answer nothing; counted and logged
 * through drops.h), or a SIP status to answer with. facts: SIG_AF_*
 * flags. msg stays the caller's. */
int sig_antifraud_check(struct sig_s *sig, int side, struct msg_s *msg,
                        const struct sip_s *sip, unsigned facts);

/* A final response to a request that came from EXT: counts authentication
 * failures of the request's source and, for an unknown user, answers the
 * uniform challenge itself. Returns 1 when it answered irq (the caller
 * drops the response), 0 when the response goes on unchanged. */
int sig_antifraud_response(struct sig_s *sig, struct nta_incoming_s *irq,
                           int method, int status, const struct sip_s *rsip);

/* Policy helpers, exported for the unit tests. */
/* 1 when `list` (comma-separated) has an item that is a case-insensitive
 * substring of s. */
int sig__af_list_has_substr(const char *list, const char *s);
/* The outbound decision for a dialled number: 0 to allow, 403. */
int sig__af_destination(const sig_af_config_t *cfg, const char *number);

#endif
