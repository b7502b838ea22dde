/* What Sofia's nta refuses or drops before sigd's message callback sees
 * it (a 400 for a header that does not parse, a 505, unparsable bytes, a
 * Via of the wrong transport, malformed responses) is known only from
 * nta's debug log: ntalog.c reads that log and turns each such verdict
 * into a refusal of reject.c (a counted, rate-limited log line). */
#ifndef SIG_NTALOG_H
#define SIG_NTALOG_H

/* Redirects nta's log to ntalog.c (at level 5 at least, where nta says
 * what it refuses); lines that are not verdicts go to stderr as before
 * when NTA_DEBUG asked for them. Call once before any agent exists. */
void sig_ntalog_start(void);

/* Reports a refusal still pending (a malformed request nta dropped
 * without an answer, which its log does not say). Call before polling. */
void sig_ntalog_flush(void);

void sig_ntalog_stop(void);

/* Hands one nta log call to the logger (unit tests). */
void sig__ntalog_feed(const char *fmt, ...);

#endif
