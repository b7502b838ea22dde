/* Dropped messages: per-reason counters and flood-proof drop logs.
 *
 * Whatever module decides to drop a message without an answer (anti-fraud,
 * the parser's guards, ...) reports it here, so that no drop is silent and
 * none floods the log:
 *
 *   sig_drop_log(sig, SIG_DROP_RATE, ip, call_id, "%s over %d/s", ...);
 *   sig_drop_msg(sig, SIG_DROP_MALFORMED, msg, "no Via");
 *
 * Each call counts one drop under its reason (exported by `gwctl metrics`
 * as gw_sig_requests_dropped_total{reason="..."}) and logs at WARN, at
 * most one line per source and reason every SIG_DROP_LOG_MS: the first
 * drop of a quiet source is logged at once with its details; later ones
 * are only counted, and a timer logs "N more ... in the last 10 s" with
 * the last one's details when the 10 s are up. A source with no drop for
 * a whole period is forgotten (its next drop is logged at once again).
 * When more sources are tracked than SIG_DROP_MAX_SOURCES, the others
 * share one line per reason ("other sources").
 *
 * Reasons are one table (SIG_DROP_REASONS): add a line there for a new
 * one; its name is the metric's label value.
 */
#ifndef SIG_DROPS_H
#define SIG_DROPS_H

#include <stdint.h>

struct sig_s;
struct msg_s;

/* X(ID, "label", "what it means") */
#define SIG_DROP_REASONS(X)                                                  \
    X(RATE, "rate", "new request over the source's rate limit (anti-fraud)") \
    X(BANNED, "banned", "request from a banned source (anti-fraud)")         \
    X(SCANNER, "scanner", "request with a scanner User-Agent (anti-fraud)")

typedef enum {
#define SIG_DROP_ENUM(id, name, help) SIG_DROP_##id,
    SIG_DROP_REASONS(SIG_DROP_ENUM)
#undef SIG_DROP_ENUM
    SIG_DROP_NREASONS
} sig_drop_reason_t;

#define SIG_DROP_LOG_MS 10000       /* one line per source and reason per period */
#define SIG_DROP_MAX_SOURCES 4096   /* tracked at once; the rest share a line */

/* Allocates sig->drops and starts the summary timer. 0 or -errno. */
int sig_drops_start(struct sig_s *sig);
/* Logs the pending counts and frees everything. */
void sig_drops_stop(struct sig_s *sig);

/* One dropped message of reason r from src (an IP literal; NULL when
 * unknown), in call call_id (NULL for none): counted, and logged as
 * described above; fmt says what was dropped and why ("BYE over 50/s"),
 * without the source or the reason, which the line carries. */
void sig_drop_log(struct sig_s *sig, sig_drop_reason_t r, const char *src,
                  const char *call_id, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The same with the source and the Call-ID taken from a received message
 * (its source address; its Call-ID when the message parsed that far). The
 * message stays the caller's. */
void sig_drop_msg(struct sig_s *sig, sig_drop_reason_t r, struct msg_s *msg,
                  const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Drops of reason r since sigd started. */
uint64_t sig_drop_total(const struct sig_s *sig, sig_drop_reason_t r);
/* "rate", "banned", ...; NULL for an unknown reason. */
const char *sig_drop_name(sig_drop_reason_t r);

/* The bookkeeping without Sofia or the clock, for the unit tests. */
typedef struct sig_drops_s sig_drops_t;
typedef void (*sig__drop_emit_fn)(void *arg, sig_drop_reason_t r, const char *src,
                                  uint64_t more, int64_t period_ms, const char *last);
sig_drops_t *sig__drops_new(void);
void sig__drops_free(sig_drops_t *d);
/* Counts a drop at now_ms; 1 when it is to be logged now (the first of a
 * quiet source), 0 when the summary will tell. detail: kept as "last". */
int sig__drops_note(sig_drops_t *d, sig_drop_reason_t r, const char *src,
                    int64_t now_ms, const char *detail);
/* Emits the summary of every source whose period ended by now_ms with
 * drops not logged yet, and forgets sources with none. all: every pending
 * count now, whatever the period (at stop). */
void sig__drops_flush(sig_drops_t *d, int64_t now_ms, int all,
                      sig__drop_emit_fn emit, void *arg);
uint64_t sig__drops_total(const sig_drops_t *d, sig_drop_reason_t r);

#endif
