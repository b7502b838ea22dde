/* Configuration loader: see cfg.h.
 *
 * inih (Debian's build) does not pass line numbers to its handler, so the
 * file is read through ini_parse_stream() with a reader that counts the
 * lines it hands out: when the handler runs, that count is the line of the
 * directive. A syntax error inih finds itself comes back as its return
 * value, with no reason recorded by us.
 */
#include "cfg.h"
#include "log.h"
#include "net.h"

#include <errno.h>
#include <sched.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Sections owned by some daemon of the product: skipped when not ours. */
static const char *const known_sections[] = {
    "sigd", "antifraud", "routes", "turn", "mediad", "turnd", "bus", "gwctl", NULL
};

/* Lines of the directives set by the last file loaded (gw_cfg_where()). */
#define WHERE_MAX 256
static struct {
    char section[32];
    char name[48];
    int line;
} where[WHERE_MAX];
static int nwhere;
static char where_path[256];

typedef struct {
    const gw_cfg_section_t *secs;
    size_t nsecs;
    FILE *fp;
    int line;          /* line last handed to inih */
    int err_line;      /* first error line, 0 = none */
    char *err;
    size_t errlen;
    const gw_cfg_directive_t *lists[64];  /* list directives set in this file */
    int nlists;
} cfg_parse_t;

static const gw_cfg_section_t *find_section(const gw_cfg_section_t *secs,
                                            size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(secs[i].section, name) == 0)
            return &secs[i];
    return NULL;
}

static int parse_long(const char *v, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(v, &end, 10);
    return (errno != 0 || end == v || *end != '\0') ? -EINVAL : 0;
}

static int set_value(const gw_cfg_directive_t *d, void *base, const char *v,
                     char *err, size_t errlen)
{
    void *dst = (char *)base + d->offset;
    long n;

    switch (d->type) {
    case GW_CFG_STR:
        if (strlen(v) >= GW_CFG_STRLEN) {
            snprintf(err, errlen, "%s: value longer than %d characters",
                     d->name, GW_CFG_STRLEN - 1);
            return -EINVAL;
        }
        strcpy(dst, v);
        return 0;
    case GW_CFG_INT:
        if (parse_long(v, &n) < 0) {
            snprintf(err, errlen, "%s: '%s' is not an integer", d->name, v);
            return -EINVAL;
        }
        if (n < d->min || n > d->max) {
            snprintf(err, errlen, "%s: %ld is outside %ld..%ld", d->name, n,
                     d->min, d->max);
            return -EINVAL;
        }
        *(int *)dst = (int)n;
        return 0;
    case GW_CFG_BOOL:
        if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
            !strcasecmp(v, "on") || !strcmp(v, "1")) {
            *(int *)dst = 1;
            return 0;
        }
        if (!strcasecmp(v, "no") || !strcasecmp(v, "false") ||
            !strcasecmp(v, "off") || !strcmp(v, "0")) {
            *(int *)dst = 0;
            return 0;
        }
        snprintf(err, errlen, "%s: '%s' is not a boolean (yes/no)", d->name, v);
        return -EINVAL;
    case GW_CFG_ADDR: {
        struct sockaddr_storage ss;
        if (v[0] == '\0') {      /* empty = unset; required ones are checked later */
            ((char *)dst)[0] = '\0';
            return 0;
        }
        if (strlen(v) >= GW_CFG_STRLEN || gw_addr_parse(v, 0, &ss) < 0) {
            snprintf(err, errlen, "%s: '%s' is not a numeric IP address",
                     d->name, v);
            return -EINVAL;
        }
        strcpy(dst, v);
        return 0;
    }
    case GW_CFG_HOSTPORT:
        if (gw_hostport_parse(v, dst) < 0) {
            snprintf(err, errlen, "%s: '%s' is not ip:port", d->name, v);
            return -EINVAL;
        }
        return 0;
    case GW_CFG_RANGE: {
        gw_cfg_range_t *r = dst;
        const char *dash = strchr(v, '-');
        char lo[32];
        long a, b;

        if (dash == NULL || (size_t)(dash - v) >= sizeof lo) {
            snprintf(err, errlen, "%s: '%s' is not a range lo-hi", d->name, v);
            return -EINVAL;
        }
        memcpy(lo, v, (size_t)(dash - v));
        lo[dash - v] = '\0';
        if (parse_long(lo, &a) < 0 || parse_long(dash + 1, &b) < 0) {
            snprintf(err, errlen, "%s: '%s' is not a range lo-hi", d->name, v);
            return -EINVAL;
        }
        if (a < d->min || b > d->max || a >= b) {
            snprintf(err, errlen, "%s: %ld-%ld must satisfy %ld <= lo < hi <= %ld",
                     d->name, a, b, d->min, d->max);
            return -EINVAL;
        }
        r->lo = (unsigned)a;
        r->hi = (unsigned)b;
        return 0;
    }
    case GW_CFG_LIST:
        if (strlen(v) >= GW_CFG_LISTLEN) {
            snprintf(err, errlen, "%s: list longer than %d characters",
                     d->name, GW_CFG_LISTLEN - 1);
            return -EINVAL;
        }
        strcpy(dst, v);
        return 0;
    case GW_CFG_LEVEL:
        if (gw_log_level_parse(v, dst) < 0) {
            snprintf(err, errlen, "%s: '%s' is not one of err, warn, info, debug",
                     d->name, v);
            return -EINVAL;
        }
        return 0;
    }
    snprintf(err, errlen, "%s: unknown directive type", d->name);
    return -EINVAL;
}

/* The directive [section] name and its section: 0 with *sp and *dp set,
 * 1 when the section belongs to another daemon (nothing to set), or
 * -EINVAL with the reason in err. */
static int lookup(const gw_cfg_section_t *secs, size_t nsecs, const char *section,
                  const char *name, const gw_cfg_section_t **sp,
                  const gw_cfg_directive_t **dp, char *err, size_t errlen)
{
    const gw_cfg_section_t *s = find_section(secs, nsecs, section);

    if (s == NULL) {
        for (int i = 0; known_sections[i] != NULL; i++)
            if (strcmp(known_sections[i], section) == 0)
                return 1;  /* another daemon's section */
        snprintf(err, errlen, "unknown section [%s]", section);
        return -EINVAL;
    }
    for (const gw_cfg_directive_t *d = s->directives; d->name != NULL; d++) {
        if (strcmp(d->name, name) == 0) {
            *sp = s;
            *dp = d;
            return 0;
        }
    }
    snprintf(err, errlen, "unknown directive '%s' in section [%s]", name, section);
    return -EINVAL;
}

int gw_cfg_apply(const gw_cfg_section_t *secs, size_t nsecs, const char *section,
                 const char *name, const char *value, char *err, size_t errlen)
{
    const gw_cfg_section_t *s;
    const gw_cfg_directive_t *d;
    int rc = lookup(secs, nsecs, section, name, &s, &d, err, errlen);

    if (rc != 0)
        return rc < 0 ? rc : 0;
    return set_value(d, s->base, value, err, errlen);
}

/* inih hands us a buffer of INI_MAX_LINE (200) bytes. A longer line would
 * reach it in pieces, each parsed as a line of its own: the head silently
 * truncated, the tail applied as a directive if it looks like one, and the
 * line count off by one from there. Reject the line instead, skip its
 * rest, and give inih an empty line so that numbering stays right. */
static char *cfg_reader(char *str, int num, void *stream)
{
    cfg_parse_t *p = stream;
    char *r = fgets(str, num, p->fp);
    size_t n;
    int c;

    if (r == NULL)
        return NULL;
    p->line++;
    n = strlen(str);
    if (n + 1 < (size_t)num || str[n - 1] == '\n')
        return r;
    c = fgetc(p->fp);
    if (c == '\n' || c == EOF)
        return r;  /* the line just fits */
    while (c != '\n' && c != EOF)
        c = fgetc(p->fp);
    if (p->err_line == 0) {
        p->err_line = p->line;
        snprintf(p->err, p->errlen, "line longer than %d characters", num - 1);
    }
    str[0] = '\0';
    return r;
}

static int cfg_handler(void *user, const char *section, const char *name,
                       const char *value)
{
    cfg_parse_t *p = user;
    const gw_cfg_section_t *s;
    const gw_cfg_directive_t *d;
    char reason[512];
    int rc;

    if (p->err_line != 0)
        return 1;  /* report the first error only */
    if (nwhere < WHERE_MAX && strlen(section) < sizeof where[0].section &&
        strlen(name) < sizeof where[0].name) {
        strcpy(where[nwhere].section, section);
        strcpy(where[nwhere].name, name);
        where[nwhere++].line = p->line;
    }
    if (section[0] == '\0') {
        snprintf(reason, sizeof reason, "'%s' outside any [section]", name);
        goto fail;
    }
    rc = lookup(p->secs, p->nsecs, section, name, &s, &d, reason, sizeof reason);
    if (rc < 0)
        goto fail;
    if (rc > 0)
        return 1;   /* another daemon's section */
    if (d->type == GW_CFG_LIST) {
        /* A list directive seen before in this file: the value is added. */
        char *dst = (char *)s->base + d->offset;
        int seen = 0;

        for (int i = 0; i < p->nlists; i++)
            seen |= p->lists[i] == d;
        if (seen && value[0] == '\0')
            return 1;   /* adds nothing */
        if (seen) {
            if (strlen(dst) + 2 + strlen(value) >= GW_CFG_LISTLEN) {
                snprintf(reason, sizeof reason, "%s: list longer than %d characters",
                         name, GW_CFG_LISTLEN - 1);
                goto fail;
            }
            if (dst[0])
                strcat(dst, ", ");
            strcat(dst, value);
            return 1;
        }
        if (p->nlists < (int)(sizeof p->lists / sizeof p->lists[0]))
            p->lists[p->nlists++] = d;
    }
    if (set_value(d, s->base, value, reason, sizeof reason) < 0)
        goto fail;
    return 1;

fail:
    p->err_line = p->line;
    snprintf(p->err, p->errlen, "%s", reason);
    return 0;
}

int gw_cfg_load(const char *path, const gw_cfg_section_t *secs, size_t nsecs,
                char *err, size_t errlen)
{
    char reason[512] = "";
    cfg_parse_t p = { secs, nsecs, NULL, 0, 0, reason, sizeof reason, { NULL }, 0 };
    int rc;

    for (size_t i = 0; i < nsecs; i++) {
        for (const gw_cfg_directive_t *d = secs[i].directives; d->name; d++) {
            if (d->def == NULL)
                continue;
            if (set_value(d, secs[i].base, d->def, reason, sizeof reason) < 0) {
                snprintf(err, errlen, "built-in default: [%s] %s",
                         secs[i].section, reason);
                return -EINVAL;
            }
        }
    }
    nwhere = 0;
    snprintf(where_path, sizeof where_path, "%s", path ? path : "(built-in defaults)");
    if (path == NULL)
        return 0;
    p.fp = fopen(path, "r");
    if (p.fp == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -ENOENT;
    }
    rc = ini_parse_stream(cfg_reader, &p, cfg_handler, &p);
    fclose(p.fp);
    if (p.err_line != 0 && (rc <= 0 || rc >= p.err_line)) {
        snprintf(err, errlen, "%s:%d: %s", path, p.err_line, reason);
        return -EINVAL;
    }
    if (rc > 0) {
        snprintf(err, errlen, "%s:%d: syntax error (expected [section] or "
                 "name = value)", path, rc);
        return -EINVAL;
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot read", path);
        return -EINVAL;
    }
    /* Required directives (no default) must have been set. */
    for (size_t i = 0; i < nsecs; i++) {
        for (const gw_cfg_directive_t *d = secs[i].directives; d->name; d++) {
            const char *v = (const char *)secs[i].base + d->offset;
            if (d->def == NULL && (d->type == GW_CFG_STR || d->type == GW_CFG_ADDR)
                && v[0] == '\0') {
                snprintf(err, errlen, "%s: [%s] %s is required", path,
                         secs[i].section, d->name);
                return -EINVAL;
            }
        }
    }
    return 0;
}

int gw_cfg_set(const gw_cfg_section_t *secs, size_t nsecs, const char *assign,
               char *err, size_t errlen)
{
    char section[64], reason[512];
    const char *dot = strchr(assign, '.'), *eq = strchr(assign, '=');

    if (dot == NULL || eq == NULL || eq < dot || (size_t)(dot - assign) >= sizeof section) {
        snprintf(err, errlen, "-s %s: expected section.name=value", assign);
        return -EINVAL;
    }
    memcpy(section, assign, (size_t)(dot - assign));
    section[dot - assign] = '\0';
    {
        char name[128];
        size_t nl = (size_t)(eq - dot - 1);
        if (nl == 0 || nl >= sizeof name) {
            snprintf(err, errlen, "-s %s: expected section.name=value", assign);
            return -EINVAL;
        }
        memcpy(name, dot + 1, nl);
        name[nl] = '\0';
        if (find_section(secs, nsecs, section) == NULL) {
            snprintf(err, errlen, "-s %s: unknown section [%s]", assign, section);
            return -EINVAL;
        }
        if (gw_cfg_apply(secs, nsecs, section, name, eq + 1, reason,
                         sizeof reason) < 0) {
            snprintf(err, errlen, "-s %s: %s", assign, reason);
            return -EINVAL;
        }
        /* The file's line no longer holds the value: gw_cfg_where()
         * names the file only, as for a default. */
        for (int i = 0; i < nwhere; i++)
            if (strcmp(where[i].section, section) == 0 && strcmp(where[i].name, name) == 0)
                where[i].name[0] = '\0';
    }
    return 0;
}

const char *gw_cfg_where(const char *section, const char *name)
{
    static char buf[300];

    for (int i = nwhere - 1; i >= 0; i--)
        if (strcmp(where[i].section, section) == 0 && strcmp(where[i].name, name) == 0) {
            snprintf(buf, sizeof buf, "%s:%d", where_path, where[i].line);
            return buf;
        }
    return where_path[0] ? where_path : "(built-in defaults)";
}

int gw_cfg_readable(const char *section, const char *name, const char *path,
                    const char *if_empty, char *err, size_t errlen)
{
    int e;

    if (path[0] != '\0' && access(path, R_OK) == 0)
        return 0;
    e = path[0] != '\0' ? errno : EINVAL;
    snprintf(err, errlen, "%s: [%s] %s: %s: %s", gw_cfg_where(section, name),
             section, name, path[0] ? path : "(empty)",
             path[0] ? strerror(e) : if_empty);
    return -e;
}

void gw_cfg_print_help(const gw_cfg_section_t *secs, size_t nsecs)
{
    for (size_t i = 0; i < nsecs; i++) {
        printf("[%s]\n", secs[i].section);
        for (const gw_cfg_directive_t *d = secs[i].directives; d->name; d++)
            printf("  %-18s = %-22s ; %s\n", d->name,
                   d->def ? d->def : "(required)", d->help);
    }
}

int gw_cfg_cli(int argc, char **argv, const char *prog,
               const gw_cfg_section_t *secs, size_t nsecs)
{
    return gw_cfg_cli_check(argc, argv, prog, secs, nsecs, NULL, NULL);
}

int gw_cfg_list_split(const char *list, const char *seps, const char *trim,
                      gw_cfg_item_fn fn, void *arg)
{
    char buf[GW_CFG_LISTLEN], *save = NULL, *it;
    size_t n = strlen(list);

    if (n >= sizeof buf)
        return -E2BIG;
    memcpy(buf, list, n + 1);
    for (it = strtok_r(buf, seps, &save); it; it = strtok_r(NULL, seps, &save)) {
        char *e;
        int rc;

        it += strspn(it, trim);
        e = it + strlen(it);
        while (e > it && strchr(trim, e[-1]) != NULL)
            *--e = '\0';
        if (*it && (rc = fn(it, arg)) < 0)
            return rc;
    }
    return 0;
}

int gw_cfg_cpu_list(const char *spec, int *cpus, int max, char *err, size_t errlen)
{
    const char *p = spec;
    int n = 0;

    while (*p) {
        char *end;
        long lo, hi;

        if (*p < '0' || *p > '9')
            goto bad;
        lo = strtol(p, &end, 10);
        hi = lo;
        if (*end == '-') {
            p = end + 1;
            if (*p < '0' || *p > '9')
                goto bad;
            hi = strtol(p, &end, 10);
        }
        if (lo >= CPU_SETSIZE || hi >= CPU_SETSIZE || hi < lo)
            goto bad;
        for (long c = lo; c <= hi; c++) {
            if (n == max) {
                snprintf(err, errlen, "more than %d CPUs in '%s'", max, spec);
                return -EINVAL;
            }
            cpus[n++] = (int)c;
        }
        if (*end == ',' && end[1] != '\0')
            end++;
        else if (*end != '\0')
            goto bad;
        p = end;
    }
    if (n > 0)
        return n;
bad:
    snprintf(err, errlen, "'%s' is not a CPU list such as 0,2-3", spec);
    return -EINVAL;
}

int gw_cfg_cli_check(int argc, char **argv, const char *prog,
                     const gw_cfg_section_t *secs, size_t nsecs,
                     gw_cfg_check_fn check_fn, void *ctx)
{
    const char *path = NULL;
    int check = 0;
    char err[1024];

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc) {
            path = argv[++i];
        } else if (!strcmp(argv[i], "--check")) {
            check = 1;
        } else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
            i++;  /* applied after the file, below */
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: %s [-c FILE] [-s section.name=value]... [--check]\n\n"
                   "directives:\n", prog);
            gw_cfg_print_help(secs, nsecs);
            return 1;
        } else {
            fprintf(stderr, "%s: unknown argument '%s' (try -h)\n", prog, argv[i]);
            return -1;
        }
    }
    if (gw_cfg_load(path, secs, nsecs, err, sizeof err) < 0) {
        fprintf(stderr, "%s: config error: %s\n", prog, err);
        return -1;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-s") && i + 1 < argc) {
            if (gw_cfg_set(secs, nsecs, argv[++i], err, sizeof err) < 0) {
                fprintf(stderr, "%s: config error: %s\n", prog, err);
                return -1;
            }
        } else if (!strcmp(argv[i], "-c")) {
            i++;
        }
    }
    if (check_fn && check_fn(ctx, err, sizeof err) < 0) {
        fprintf(stderr, "%s: config error: %s\n", prog, err);
        return -1;
    }
    if (check) {
        printf("%s: configuration OK\n", prog);
        return 1;
    }
    return 0;
}
