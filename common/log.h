/* Logging for all daemons.
 *
 * One line per event on stderr (journald and `make run` both read it), with a
 * UTC timestamp, the daemon's name, the level and, where there is one, the
 * Call-ID or session the event belongs to. Keys and passwords must never be
 * passed to these functions: callers log key fingerprints or nothing.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdarg.h>

typedef enum {
    GW_LOG_ERR = 0,
    GW_LOG_WARN,
    GW_LOG_INFO,
    GW_LOG_DEBUG
} gw_log_level_t;

/* `name` must outlive the process (a string literal). */
void gw_log_init(const char *name, gw_log_level_t level);
void gw_log_set_level(gw_log_level_t level);
int gw_log_enabled(gw_log_level_t level);
/* Parses "err", "warn", "info", "debug"; returns -EINVAL otherwise. */
int gw_log_level_parse(const char *s, gw_log_level_t *out);

/* `ctx` is the Call-ID or session id; NULL for none. */
void gw_log(gw_log_level_t level, const char *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gw_vlog(gw_log_level_t level, const char *ctx, const char *fmt,
             va_list ap);

#define GW_ERR(...)   gw_log(GW_LOG_ERR, NULL, __VA_ARGS__)
#define GW_WARN(...)  gw_log(GW_LOG_WARN, NULL, __VA_ARGS__)
#define GW_INFO(...)  gw_log(GW_LOG_INFO, NULL, __VA_ARGS__)
#define GW_DEBUG(...) \
    do { if (gw_log_enabled(GW_LOG_DEBUG)) gw_log(GW_LOG_DEBUG, NULL, __VA_ARGS__); } while (0)

/* Asserts on our own invariants; stay on in release builds. Never for input
 * from the network or a config file. */
#define GW_ASSERT(cond) \
    do { if (!(cond)) gw__assert_fail(#cond, __FILE__, __LINE__); } while (0)
void gw__assert_fail(const char *expr, const char *file, int line)
    __attribute__((noreturn));

#endif
