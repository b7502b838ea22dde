/* The SIP parser of sigd's agents: Sofia's, with method names read as
 * RFC 3261 defines them (any token), which Sofia's own does not quite. */
#ifndef SIG_SIPPARSE_H
#define SIG_SIPPARSE_H

#include <sofia-sip/msg_types.h>

/* The message class to give nta (NTATAG_MCLASS). Made on the first call
 * (not thread-safe), then the same object; it lives until
 * sig_sipparse_free(). NULL when out of memory. */
msg_mclass_t *sig_sipparse_mclass(void);
void sig_sipparse_free(void);

/* 1 when s[0..n) is a token of RFC 3261 section 25.1. */
int sig__sip_token(const char *s, size_t n);

#endif
