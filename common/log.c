/* Logging: see log.h. Lines are written with one write(2) each so that the
 * three daemons sharing a terminal under `make run` do not interleave
 * characters inside a line. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_name = "gw";
static gw_log_level_t log_level = GW_LOG_INFO;

static const char *const level_names[] = { "ERR", "WARN", "INFO", "DEBUG" };

void gw_log_init(const char *name, gw_log_level_t level)
{
    log_name = name;
    log_level = level;
}

void gw_log_set_level(gw_log_level_t level)
{
    log_level = level;
}

int gw_log_enabled(gw_log_level_t level)
{
    return level <= log_level;
}

int gw_log_level_parse(const char *s, gw_log_level_t *out)
{
    static const char *const names[] = { "err", "warn", "info", "debug" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (gw_log_level_t)i;
            return 0;
        }
    }
    return -EINVAL;
}

void gw_vlog(gw_log_level_t level, const char *ctx, const char *fmt, va_list ap)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    int n, m;

    if (level > log_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld %s %s ",
                 tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                 log_name, level_names[level]);
    if (ctx != NULL && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - n, "[%s] ", ctx);
    if (n >= (int)sizeof line)
        n = sizeof line - 1;
    m = vsnprintf(line + n, sizeof line - n, fmt, ap);
    if (m < 0)
        m = 0;
    n += m;
    if (n > (int)sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    /* A failed write to stderr has nowhere to be reported. */
    if (write(STDERR_FILENO, line, n) < 0) {
    }
}

void gw_log(gw_log_level_t level, const char *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gw_vlog(level, ctx, fmt, ap);
    va_end(ap);
}

void gw__assert_fail(const char *expr, const char *file, int line)
{
    gw_log(GW_LOG_ERR, NULL, "assertion failed: %s (%s:%d)", expr, file, line);
    abort();
}
