/* Configuration: INI files read with inih, directives declared by the
 * module that uses them.
 *
 * Each module exports a table of gw_cfg_directive_t (name, type, default,
 * bounds, help) over its own struct, like nginx's ngx_command_t arrays; a
 * daemon hands the tables of its modules to gw_cfg_load(). One file may
 * hold the sections of every daemon: a daemon skips the sections it knows
 * belong to another daemon and rejects anything else it does not know.
 * Every error names the file, the line and the reason.
 */
#ifndef GW_CFG_H
#define GW_CFG_H

#include <stddef.h>
#include <sys/socket.h>

#define GW_CFG_STRLEN 256
#define GW_CFG_LISTLEN 2048

typedef enum {
    GW_CFG_STR,       /* char[GW_CFG_STRLEN] */
    GW_CFG_INT,       /* int, within [min, max] */
    GW_CFG_BOOL,      /* int 0/1: yes/no, true/false, on/off, 1/0 */
    GW_CFG_ADDR,      /* char[GW_CFG_STRLEN]: numeric IPv4 or IPv6 address */
    GW_CFG_HOSTPORT,  /* struct sockaddr_storage: "ip:port" or "[ip6]:port" */
    GW_CFG_RANGE,     /* gw_cfg_range_t: "lo-hi", both within [min, max] */
    GW_CFG_LEVEL,     /* gw_log_level_t: err, warn, info, debug */
    GW_CFG_LIST       /* char[GW_CFG_LISTLEN]: a comma list; repeating the
                       * directive in a file adds to it (a line holds at
                       * most 199 characters), -s replaces it */
} gw_cfg_type_t;

typedef struct {
    unsigned lo;
    unsigned hi;
} gw_cfg_range_t;

typedef struct {
    const char *name;
    gw_cfg_type_t type;
    size_t offset;        /* offset of the field in the section's struct */
    const char *def;      /* default, written as in a file; NULL = required */
    long min, max;        /* bounds for INT and RANGE */
    const char *help;
} gw_cfg_directive_t;

typedef struct {
    const char *section;                   /* "sigd", "mediad", ... */
    const gw_cfg_directive_t *directives;  /* ends with a NULL name */
    void *base;                            /* struct the offsets point into */
} gw_cfg_section_t;

#define GW_CFG_END { NULL, 0, 0, NULL, 0, 0, NULL }

/* Sets defaults, then reads `path` (NULL: defaults only). On error writes
 * "file:line: reason" into err and returns -EINVAL (-ENOENT when the file
 * cannot be opened). */
int gw_cfg_load(const char *path, const gw_cfg_section_t *secs, size_t nsecs,
                char *err, size_t errlen);
/* Applies one "section.name=value" override (command line). */
int gw_cfg_set(const gw_cfg_section_t *secs, size_t nsecs, const char *assign,
               char *err, size_t errlen);
/* Sets one value in a known section/name; err gets "reason" only. */
int gw_cfg_apply(const gw_cfg_section_t *secs, size_t nsecs, const char *section,
                 const char *name, const char *value, char *err, size_t errlen);
/* Prints every directive with its default and help. */
/* Where [section] name got its value in the last gw_cfg_load(): "FILE:LINE",
 * or "FILE" (default or -s) when the file did not set it or a -s override
 * (gw_cfg_set()) replaced the file's value since, for errors found
 * after loading (e.g. a TLS group OpenSSL refuses). Static storage. */
const char *gw_cfg_where(const char *section, const char *name);
/* 0 when the file [section] name names can be read; otherwise -errno
 * (-EINVAL when path is empty) and err gets "WHERE: [section] name: PATH:
 * reason" (if_empty is the reason for an empty path), e.g. a certificate
 * the config names before it was made. */
int gw_cfg_readable(const char *section, const char *name, const char *path,
                    const char *if_empty, char *err, size_t errlen);

void gw_cfg_print_help(const gw_cfg_section_t *secs, size_t nsecs);

/* The standard daemon command line: -c FILE, -s section.name=value (any
 * number), --check (validate and exit 0), -h. Prints errors itself.
 * Returns 0 to run, 1 to exit successfully, -1 to exit with failure. */
int gw_cfg_cli(int argc, char **argv, const char *prog,
               const gw_cfg_section_t *secs, size_t nsecs);
/* The same, with the daemon's own checks of the values it read (rules
 * across directives, values the directive types cannot judge): `check`
 * runs after the file and the -s overrides, --check included, and a
 * negative return stops with "prog: config error: " and its err (which
 * should start with gw_cfg_where() of the directive). */
typedef int (*gw_cfg_check_fn)(void *ctx, char *err, size_t errlen);
int gw_cfg_cli_check(int argc, char **argv, const char *prog,
                     const gw_cfg_section_t *secs, size_t nsecs,
                     gw_cfg_check_fn check, void *ctx);

/* Splits a GW_CFG_LIST value (or any list up to GW_CFG_LISTLEN - 1
 * characters) and calls fn(item, arg) for each item in order: items are
 * separated by any character of seps, the characters of trim are removed
 * from both ends of each, and empty items are skipped. item points into a
 * copy of list that fn may modify, valid during the call only. Returns 0,
 * the first negative result of fn (no item after it is seen), or -E2BIG
 * when list is too long (fn not called). */
typedef int (*gw_cfg_item_fn)(char *item, void *arg);
int gw_cfg_list_split(const char *list, const char *seps, const char *trim,
                      gw_cfg_item_fn fn, void *arg);

/* Parses a CPU list such as "0,2-3" into cpus (in order, ranges expanded,
 * at most max). Returns the count, or -EINVAL with the reason in err. */
int gw_cfg_cpu_list(const char *spec, int *cpus, int max, char *err, size_t errlen);

#endif
