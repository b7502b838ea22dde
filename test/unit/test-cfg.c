/* Tests for common/cfg.c: INI loading over a directive table that covers
 * every directive type, defaults, the "file:line: reason" errors, the
 * sections of other daemons, the -s overrides, and the splitting of list
 * values (gw_cfg_list_split()).
 *
 * Each test writes its INI text to a mkstemp file under /tmp; an atexit
 * hook removes it, so a failing CHECK (which calls exit) leaves nothing
 * behind either. */
#include "runner.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"
#include "net.h"

typedef struct {
    char name[GW_CFG_STRLEN];
    int port;
    int symmetric;
    char addr[GW_CFG_STRLEN];
    struct sockaddr_storage listen;
    gw_cfg_range_t range;
    gw_log_level_t level;
} tcfg_t;

#define F(x) offsetof(tcfg_t, x)

static const gw_cfg_directive_t tdirs[] = {
    { "name", GW_CFG_STR, F(name), "sig1", 0, 0, "node name" },
    { "port", GW_CFG_INT, F(port), "5060", 1, 65535, "SIP port" },
    { "symmetric", GW_CFG_BOOL, F(symmetric), "no", 0, 0, "symmetric" },
    { "addr", GW_CFG_ADDR, F(addr), "127.0.0.1", 0, 0, "bind address" },
    { "listen", GW_CFG_HOSTPORT, F(listen), "127.0.0.1:7700", 0, 0, "bus" },
    { "range", GW_CFG_RANGE, F(range), "10000-20000", 1024, 65535, "ports" },
    { "level", GW_CFG_LEVEL, F(level), "info", 0, 0, "log level" },
    GW_CFG_END
};

static tcfg_t cfg;
static const gw_cfg_section_t tsecs[] = { { "sigd", tdirs, &cfg } };
#define NSECS (sizeof tsecs / sizeof tsecs[0])

static char tmp_path[64];

static void tmp_remove(void)
{
    if (tmp_path[0] != '\0')
        unlink(tmp_path);
    tmp_path[0] = '\0';
}

/* Writes text to a fresh temp file; returns its path (static storage). */
static const char *tmp_write(const char *text)
{
    static int hooked;
    size_t len = strlen(text);
    int fd;

    if (!hooked) {
        atexit(tmp_remove);
        hooked = 1;
    }
    tmp_remove();
    snprintf(tmp_path, sizeof tmp_path, "/tmp/gw-test-cfg-XXXXXX");
    fd = mkstemp(tmp_path);
    CHECK(fd >= 0);
    CHECK(write(fd, text, len) == (ssize_t)len);
    close(fd);
    return tmp_path;
}

static int load(const char *text, char *err, size_t errlen)
{
    int rc;

    memset(&cfg, 0, sizeof cfg);
    err[0] = '\0';
    rc = gw_cfg_load(tmp_write(text), tsecs, NSECS, err, errlen);
    return rc;
}

/* The load must fail with -EINVAL, and err must name "path:line:" and
 * contain the reason fragment. */
static void expect_fail(const char *text, int line, const char *reason)
{
    char err[1024], where[128];
    int rc = load(text, err, sizeof err);

    if (rc != -EINVAL)
        fprintf(stderr, "unexpected rc %d for:\n%s\nerr: %s\n", rc, text, err);
    CHECK_INT(rc, ==, -EINVAL);
    snprintf(where, sizeof where, "%s:%d: ", tmp_path, line);
    CHECK(strncmp(err, where, strlen(where)) == 0 ||
          (fprintf(stderr, "err \"%s\" does not start with \"%s\"\n", err,
                   where), 0));
    CHECK_CONTAINS(err, reason);
    tmp_remove();
}

TEST(cfg_good_file)
{
    char err[512], buf[GW_ADDRSTRLEN];
    int rc = load("; a comment\n"
                  "# another\n"
                  "\n"
                  "[sigd]\n"
                  "name = edge-7\n"
                  "port = 5070\n"
                  "symmetric = On\n"
                  "addr = ::1\n"
                  "listen = [::1]:7800\n"
                  "range = 30000-30099\n"
                  "level = DEBUG\n",
                  err, sizeof err);

    if (rc != 0)
        fprintf(stderr, "err: %s\n", err);
    CHECK_INT(rc, ==, 0);
    CHECK_STR(cfg.name, "edge-7");
    CHECK_INT(cfg.port, ==, 5070);
    CHECK_INT(cfg.symmetric, ==, 1);
    CHECK_STR(cfg.addr, "::1");
    CHECK_INT(cfg.listen.ss_family, ==, AF_INET6);
    CHECK_STR(gw_addr_str((struct sockaddr *)&cfg.listen, buf, sizeof buf),
              "[::1]:7800");
    CHECK_INT(cfg.range.lo, ==, 30000);
    CHECK_INT(cfg.range.hi, ==, 30099);
    CHECK_INT(cfg.level, ==, GW_LOG_DEBUG);
    tmp_remove();
}

TEST(cfg_defaults)
{
    char err[512], buf[GW_ADDRSTRLEN];
    int rc = load("[sigd]\nport = 5080\n", err, sizeof err);

    CHECK_INT(rc, ==, 0);
    CHECK_INT(cfg.port, ==, 5080);
    CHECK_STR(cfg.name, "sig1");
    CHECK_INT(cfg.symmetric, ==, 0);
    CHECK_STR(cfg.addr, "127.0.0.1");
    CHECK_STR(gw_addr_str((struct sockaddr *)&cfg.listen, buf, sizeof buf),
              "127.0.0.1:7700");
    CHECK_INT(cfg.range.lo, ==, 10000);
    CHECK_INT(cfg.range.hi, ==, 20000);
    CHECK_INT(cfg.level, ==, GW_LOG_INFO);
    tmp_remove();

    /* No file at all: defaults only. */
    memset(&cfg, 0, sizeof cfg);
    CHECK_INT(gw_cfg_load(NULL, tsecs, NSECS, err, sizeof err), ==, 0);
    CHECK_INT(cfg.port, ==, 5060);
    CHECK_STR(cfg.name, "sig1");
}

TEST(cfg_bool_spellings)
{
    static const char *const yes[] = { "yes", "TRUE", "on", "1" };
    static const char *const no[] = { "No", "false", "OFF", "0" };
    char text[128], err[512];

    for (size_t i = 0; i < 4; i++) {
        snprintf(text, sizeof text, "[sigd]\nsymmetric = %s\n", yes[i]);
        CHECK_INT(load(text, err, sizeof err), ==, 0);
        CHECK_INT(cfg.symmetric, ==, 1);
        snprintf(text, sizeof text, "[sigd]\nsymmetric = yes\nsymmetric = %s\n",
                 no[i]);
        CHECK_INT(load(text, err, sizeof err), ==, 0);
        CHECK_INT(cfg.symmetric, ==, 0);
    }
    tmp_remove();
}

TEST(cfg_other_daemon_section_skipped)
{
    char err[512];
    int rc = load("[turnd]\n"
                  "realm = example.org\n"
                  "anything = goes here\n"
                  "[sigd]\n"
                  "port = 5090\n"
                  "[mediad]\n"
                  "rtp_range = 1-2\n",
                  err, sizeof err);

    if (rc != 0)
        fprintf(stderr, "err: %s\n", err);
    CHECK_INT(rc, ==, 0);
    CHECK_INT(cfg.port, ==, 5090);
    tmp_remove();
}

TEST(cfg_unknown_key)
{
    expect_fail("[sigd]\nport = 5060\n\nprot = 5061\n", 4,
                "unknown directive 'prot'");
}

TEST(cfg_unknown_section)
{
    /* The error is reported at the first directive of the section: inih
     * (Debian's build) does not call the handler for a bare header. */
    expect_fail("[sigd]\nport = 5060\n[sgid]\nport = 5061\n", 4,
                "unknown section [sgid]");
}

TEST(cfg_int_bounds)
{
    expect_fail("[sigd]\nport = 0\n", 2, "port: 0 is outside 1..65535");
    expect_fail("[sigd]\n\nport = 65536\n", 3, "outside 1..65535");
    expect_fail("[sigd]\nport = 50x\n", 2, "not an integer");
    expect_fail("[sigd]\nport = 99999999999999999999\n", 2, "not an integer");
    expect_fail("[sigd]\nport =\n", 2, "not an integer");
}

TEST(cfg_bad_range)
{
    expect_fail("[sigd]\nrange = 30000-30000\n", 2, "lo < hi");
    expect_fail("[sigd]\nrange = 30002-30000\n", 2, "lo < hi");
    expect_fail("[sigd]\nname = x\nrange = 30000-70000\n", 3, "<= 65535");
    expect_fail("[sigd]\nrange = 80-30000\n", 2, "1024 <= lo");
    expect_fail("[sigd]\nrange = 30000\n", 2, "not a range");
    expect_fail("[sigd]\nrange = 30000-\n", 2, "not a range");
    expect_fail("[sigd]\nrange = -5-10\n", 2, "not a range");
}

TEST(cfg_bad_addr)
{
    expect_fail("[sigd]\naddr = localhost\n", 2, "not a numeric IP address");
    expect_fail("[sigd]\naddr = 10.0.0.256\n", 2, "not a numeric IP address");
    expect_fail("[sigd]\nlisten = 127.0.0.1\n", 2, "not ip:port");
    expect_fail("[sigd]\nlisten = localhost:7700\n", 2, "not ip:port");
    expect_fail("[sigd]\nlisten = 127.0.0.1:65536\n", 2, "not ip:port");
}

TEST(cfg_bad_bool_level)
{
    expect_fail("[sigd]\nsymmetric = maybe\n", 2, "not a boolean");
    expect_fail("[sigd]\nlevel = verbose\n", 2, "not one of err, warn");
}

TEST(cfg_outside_section)
{
    expect_fail("port = 5060\n[sigd]\n", 1, "outside any [section]");
    expect_fail("; header\n\nport = 5060\n", 3, "'port' outside any [section]");
}

TEST(cfg_syntax_error)
{
    expect_fail("[sigd]\nport = 5060\nthis line has no equals sign\n", 3,
                "syntax error");
    expect_fail("[sigd\nport = 5060\n", 1, "syntax error");
}

TEST(cfg_first_error_wins)
{
    /* A directive error before a syntax error, and the other way round:
     * the earlier line is reported. */
    expect_fail("[sigd]\nport = 0\nbogus line\n", 2, "outside 1..65535");
    expect_fail("[sigd]\nbogus line\nport = 0\n", 2, "syntax error");
    expect_fail("[sigd]\nport = 0\nlevel = loud\n", 2, "port:");
}

TEST(cfg_line_numbers_after_comments)
{
    expect_fail("# c1\n; c2\n\n[sigd]\n  ; indented comment\nname = a\n\n"
                "level = 7\n", 8, "level: '7'");
}

/* INI_MAX_LINE is 200 in Debian's inih: a longer line reaches inih in
 * pieces. A value that is too long must be rejected at its own line, not
 * silently truncated, and later lines must keep their numbers. */
TEST(cfg_long_line)
{
    char text[1024], err[1024], where[128];
    int rc;

    snprintf(text, sizeof text, "[sigd]\nname = %0300d\nport = 0\n", 7);
    rc = load(text, err, sizeof err);
    CHECK_INT(rc, ==, -EINVAL);
    snprintf(where, sizeof where, "%s:2: ", tmp_path);
    if (strncmp(err, where, strlen(where)) != 0)
        fprintf(stderr, "err: %s\n", err);
    CHECK(strncmp(err, where, strlen(where)) == 0);
    tmp_remove();
}

/* Worse: the tail of a long line that looks like a directive is applied
 * as one, and the truncated head is accepted too. */
TEST(cfg_long_line_tail)
{
    char text[1024], err[1024];
    int rc;

    snprintf(text, sizeof text, "[sigd]\nname = %0192dlevel=debug\n", 7);
    rc = load(text, err, sizeof err);
    if (rc == 0)
        fprintf(stderr, "accepted: name has %zu characters, level %d\n",
                strlen(cfg.name), (int)cfg.level);
    CHECK_INT(rc, ==, -EINVAL);
    CHECK_CONTAINS(err, ":2: ");
    tmp_remove();
}

/* The longest line inih takes whole (199 characters) is fine, and the
 * lines after it keep their numbers. */
TEST(cfg_long_line_fits)
{
    char text[1024], err[1024];

    snprintf(text, sizeof text, "[sigd]\nname = %0192d\nport = 0\n", 7);
    CHECK_INT(load(text, err, sizeof err), ==, -EINVAL);
    CHECK_CONTAINS(err, ":3: port: 0 is outside");
    snprintf(text, sizeof text, "[sigd]\nname = %0192d\n", 7);
    CHECK_INT(load(text, err, sizeof err), ==, 0);
    CHECK_INT(strlen(cfg.name), ==, 192);
    tmp_remove();
}

TEST(cfg_missing_file)
{
    char err[512];
    int rc = gw_cfg_load("/tmp/gw-test-cfg-does-not-exist/x.ini", tsecs, NSECS,
                         err, sizeof err);

    CHECK_INT(rc, ==, -ENOENT);
    CHECK_CONTAINS(err, "/tmp/gw-test-cfg-does-not-exist/x.ini");
    CHECK_CONTAINS(err, "cannot open");
}

TEST(cfg_required)
{
    typedef struct { char key[GW_CFG_STRLEN]; int n; } req_t;
    static const gw_cfg_directive_t rdirs[] = {
        { "key", GW_CFG_STR, offsetof(req_t, key), NULL, 0, 0, "required" },
        { "n", GW_CFG_INT, offsetof(req_t, n), "3", 0, 9, "n" },
        GW_CFG_END
    };
    req_t r;
    const gw_cfg_section_t rsecs[] = { { "bus", rdirs, &r } };
    char err[512];

    memset(&r, 0, sizeof r);
    CHECK_INT(gw_cfg_load(tmp_write("[bus]\nn = 4\n"), rsecs, 1, err,
                          sizeof err), ==, -EINVAL);
    CHECK_CONTAINS(err, "[bus] key is required");
    memset(&r, 0, sizeof r);
    CHECK_INT(gw_cfg_load(tmp_write("[bus]\nkey = k1\n"), rsecs, 1, err,
                          sizeof err), ==, 0);
    CHECK_STR(r.key, "k1");
    CHECK_INT(r.n, ==, 3);
    tmp_remove();
}

/* A list directive repeated in a file adds up (lines are at most 199
 * characters); in another section or after -s it starts afresh. */
TEST(cfg_list_repeats_add)
{
    typedef struct { char l[GW_CFG_LISTLEN]; char one[GW_CFG_STRLEN]; } list_t;
    static const gw_cfg_directive_t ldirs[] = {
        { "routes", GW_CFG_LIST, offsetof(list_t, l), "", 0, 0, "a list" },
        { "one", GW_CFG_STR, offsetof(list_t, one), "", 0, 0, "not a list" },
        GW_CFG_END
    };
    list_t r;
    const gw_cfg_section_t lsecs[] = { { "routes", ldirs, &r } };
    char err[512], big[300];

    memset(&r, 0, sizeof r);
    CHECK_INT(gw_cfg_load(tmp_write("[routes]\nroutes = +41=sip:a\none = x\n"
                                    "routes = +33=sip:b, +49=sip:c\none = y\n"
                                    "routes =\nroutes = +1=sip:d\n"),
                          lsecs, 1, err, sizeof err), ==, 0);
    CHECK_STR(r.l, "+41=sip:a, +33=sip:b, +49=sip:c, +1=sip:d");
    CHECK_STR(r.one, "y");            /* a plain string is replaced */
    CHECK_INT(gw_cfg_set(lsecs, 1, "routes.routes=+44=sip:e", err, sizeof err), ==, 0);
    CHECK_STR(r.l, "+44=sip:e");      /* -s replaces the list */
    /* Over the list's size: the line that overflows is named. */
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    {
        char text[GW_CFG_LISTLEN * 2];
        size_t n = (size_t)snprintf(text, sizeof text, "[routes]\n");
        for (int i = 0; i < 12; i++)
            n += (size_t)snprintf(text + n, sizeof text - n, "routes = %.180s\n", big);
        memset(&r, 0, sizeof r);
        CHECK_INT(gw_cfg_load(tmp_write(text), lsecs, 1, err, sizeof err), ==, -EINVAL);
        CHECK_CONTAINS(err, ":13: routes: list longer than 2047 characters");
    }
    tmp_remove();
}

TEST(cfg_bad_default)
{
    static const gw_cfg_directive_t bdirs[] = {
        { "n", GW_CFG_INT, 0, "10", 0, 9, "n" },
        GW_CFG_END
    };
    int n = 0;
    const gw_cfg_section_t bsecs[] = { { "sigd", bdirs, &n } };
    char err[512];

    CHECK_INT(gw_cfg_load(NULL, bsecs, 1, err, sizeof err), ==, -EINVAL);
    CHECK_CONTAINS(err, "built-in default: [sigd] n:");
}

TEST(cfg_set_override)
{
    char err[512], buf[GW_ADDRSTRLEN];

    memset(&cfg, 0, sizeof cfg);
    CHECK_INT(gw_cfg_load(NULL, tsecs, NSECS, err, sizeof err), ==, 0);
    CHECK_INT(gw_cfg_set(tsecs, NSECS, "sigd.port=5070", err, sizeof err), ==, 0);
    CHECK_INT(cfg.port, ==, 5070);
    CHECK_INT(gw_cfg_set(tsecs, NSECS, "sigd.addr=10.1.2.3", err, sizeof err), ==, 0);
    CHECK_STR(cfg.addr, "10.1.2.3");
    CHECK_INT(gw_cfg_set(tsecs, NSECS, "sigd.listen=[2001:db8::1]:1",
                         err, sizeof err), ==, 0);
    CHECK_STR(gw_addr_str((struct sockaddr *)&cfg.listen, buf, sizeof buf),
              "[2001:db8::1]:1");
    CHECK_INT(gw_cfg_set(tsecs, NSECS, "sigd.range=2000-2001", err, sizeof err), ==, 0);
    CHECK_INT(cfg.range.lo, ==, 2000);
    CHECK_INT(cfg.range.hi, ==, 2001);
    CHECK_INT(gw_cfg_set(tsecs, NSECS, "sigd.name=a=b", err, sizeof err), ==, 0);
    CHECK_STR(cfg.name, "a=b");
}

/* gw_cfg_readable(): a file the config names but that is not there is
 * reported with the line naming it; after -s, with the file's name only. */
TEST(cfg_readable)
{
    char err[512], want[256];
    const char *path = tmp_write("[sigd]\nname = /nonexistent/gw-cert.pem\n");

    memset(&cfg, 0, sizeof cfg);
    CHECK_INT(gw_cfg_load(path, tsecs, NSECS, err, sizeof err), ==, 0);
    CHECK_INT(gw_cfg_readable("sigd", "name", cfg.name, "required", err, sizeof err),
              ==, -ENOENT);
    snprintf(want, sizeof want, "%s:2: [sigd] name: /nonexistent/gw-cert.pem: "
             "No such file or directory", path);
    CHECK_STR(err, want);
    CHECK_INT(gw_cfg_set(tsecs, NSECS, "sigd.name=/nonexistent/other.pem", err,
                         sizeof err), ==, 0);
    CHECK_INT(gw_cfg_readable("sigd", "name", cfg.name, "required", err, sizeof err),
              ==, -ENOENT);
    snprintf(want, sizeof want, "%s: [sigd] name: /nonexistent/other.pem: "
             "No such file or directory", path);
    CHECK_STR(err, want);
    CHECK_INT(gw_cfg_readable("sigd", "name", "", "required with x", err, sizeof err),
              ==, -EINVAL);
    CHECK_CONTAINS(err, "[sigd] name: (empty): required with x");
    CHECK_INT(gw_cfg_readable("sigd", "name", path, "required", err, sizeof err), ==, 0);
    tmp_remove();
}

TEST(cfg_set_errors)
{
    static const struct { const char *assign, *reason; } bad[] = {
        { "sigd.port", "expected section.name=value" },
        { "port=5070", "expected section.name=value" },
        { "sigd.=5070", "expected section.name=value" },
        { "sigd=5.1", "expected section.name=value" },
        { "turnd.port=5070", "unknown section [turnd]" },
        { "nosuch.port=5070", "unknown section [nosuch]" },
        { "sigd.prot=5070", "unknown directive 'prot'" },
        { "sigd.port=70000", "outside 1..65535" },
        { "sigd.range=3-2", "lo < hi" },
        { "sigd.addr=host.example", "not a numeric IP address" },
    };
    char err[512], prefix[128];

    memset(&cfg, 0, sizeof cfg);
    CHECK_INT(gw_cfg_load(NULL, tsecs, NSECS, err, sizeof err), ==, 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        CHECK_INT(gw_cfg_set(tsecs, NSECS, bad[i].assign, err, sizeof err), ==,
                  -EINVAL);
        snprintf(prefix, sizeof prefix, "-s %s: ", bad[i].assign);
        CHECK_CONTAINS(err, prefix);
        CHECK_CONTAINS(err, bad[i].reason);
    }
    /* Rejected values leave the previous ones in place. */
    CHECK_INT(cfg.port, ==, 5060);
    CHECK_INT(cfg.range.lo, ==, 10000);
    CHECK_INT(cfg.range.hi, ==, 20000);
    CHECK_STR(cfg.addr, "127.0.0.1");
}

TEST(cfg_cpu_list)
{
    int cpus[8], n;
    char err[128];

    n = gw_cfg_cpu_list("3", cpus, 8, err, sizeof err);
    CHECK(n == 1 && cpus[0] == 3);
    n = gw_cfg_cpu_list("0,2-4,1", cpus, 8, err, sizeof err);
    CHECK(n == 5 && cpus[0] == 0 && cpus[1] == 2 && cpus[2] == 3 && cpus[3] == 4 &&
          cpus[4] == 1);
    /* not lists: empty, empty entries, open or reversed ranges, signs,
     * spaces, beyond CPU_SETSIZE, trailing junk */
    static const char *bad[] = { "", ",", "0,", ",0", "0,,1", "1-", "-1", "3-1", "+1",
                                 " 1", "1 ", "1024", "0-1024", "99999999999999999999",
                                 "1x", "1-2-3", "a" };
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        err[0] = '\0';
        CHECK(gw_cfg_cpu_list(bad[b], cpus, 8, err, sizeof err) == -EINVAL);
        CHECK(strstr(err, "is not a CPU list such as 0,2-3") != NULL);
    }
    /* more CPUs than room */
    CHECK(gw_cfg_cpu_list("0-8", cpus, 8, err, sizeof err) == -EINVAL);
    CHECK(strcmp(err, "more than 8 CPUs in '0-8'") == 0);
}

/* Items seen by the gw_cfg_list_split() callback; it refuses more than
 * max of them with -ENOSPC, and writes into the item it is given. */
typedef struct {
    char items[8][64];
    int n;
    int max;
} items_t;

static int collect(char *item, void *arg)
{
    items_t *it = arg;

    if (it->n >= it->max)
        return -ENOSPC;
    snprintf(it->items[it->n++], sizeof it->items[0], "%s", item);
    item[0] = '#';               /* the copy is the callback's to modify */
    return 0;
}

static int split(const char *list, const char *seps, const char *trim, items_t *it)
{
    memset(it, 0, sizeof *it);
    it->max = 8;
    return gw_cfg_list_split(list, seps, trim, collect, it);
}

/* Empty items are skipped, whatever the separators and blanks around them. */
TEST(cfg_list_split_empty)
{
    static const char *empty[] = { "", ",", ",,,", " , \t ,", " \t " };
    items_t it;

    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        CHECK_INT(split(empty[i], ",", " \t", &it), ==, 0);
        CHECK_INT(it.n, ==, 0);
    }
    CHECK_INT(split(",a,,b,", ",", " \t", &it), ==, 0);
    CHECK_INT(it.n, ==, 2);
    CHECK_STR(it.items[0], "a");
    CHECK_STR(it.items[1], "b");
}

/* Blanks: trimmed at both ends of an item, kept inside it (an outbound
 * route "PREFIX=URI | URI"); or separators themselves (listener sets). */
TEST(cfg_list_split_spaces)
{
    const char *list = " +41=sip:a | sip:b ,\t1=sip:c\t, x y ";
    char copy[64];
    items_t it;

    snprintf(copy, sizeof copy, "%s", list);
    CHECK_INT(split(copy, ",", " \t", &it), ==, 0);
    CHECK_INT(it.n, ==, 3);
    CHECK_STR(it.items[0], "+41=sip:a | sip:b");
    CHECK_STR(it.items[1], "1=sip:c");
    CHECK_STR(it.items[2], "x y");
    CHECK_STR(copy, list);       /* the list itself is left alone */
    CHECK_INT(split("sip:a:1, sips:a:2 sip:b:3,sip:c:4", ", ", "", &it), ==, 0);
    CHECK_INT(it.n, ==, 4);
    CHECK_STR(it.items[0], "sip:a:1");
    CHECK_STR(it.items[1], "sips:a:2");
    CHECK_STR(it.items[2], "sip:b:3");
    CHECK_STR(it.items[3], "sip:c:4");
    /* with nothing to trim, a tab stays part of its item */
    CHECK_INT(split("a,\tb", ", ", "", &it), ==, 0);
    CHECK_INT(it.n, ==, 2);
    CHECK_STR(it.items[1], "\tb");
}

/* The callback's first error ends the walk and is returned. */
TEST(cfg_list_split_too_many)
{
    items_t it;

    memset(&it, 0, sizeof it);
    it.max = 2;
    CHECK_INT(gw_cfg_list_split("a, b, c, d", ",", " ", collect, &it), ==, -ENOSPC);
    CHECK_INT(it.n, ==, 2);
    CHECK_STR(it.items[1], "b");
}

/* A list that does not fit a GW_CFG_LIST value is refused whole. */
TEST(cfg_list_split_too_long)
{
    static char list[GW_CFG_LISTLEN + 1];
    items_t it;

    memset(list, 'x', GW_CFG_LISTLEN - 1);
    list[GW_CFG_LISTLEN - 1] = '\0';
    list[10] = ',';
    CHECK_INT(split(list, ",", " ", &it), ==, 0);     /* just fits */
    CHECK_INT(it.n, ==, 2);
    CHECK_STR(it.items[0], "xxxxxxxxxx");
    list[GW_CFG_LISTLEN - 1] = 'x';
    list[GW_CFG_LISTLEN] = '\0';
    CHECK_INT(split(list, ",", " ", &it), ==, -E2BIG);
    CHECK_INT(it.n, ==, 0);
}

static const gw_test_t tests[] = {
    T(cfg_good_file),
    T(cfg_defaults),
    T(cfg_bool_spellings),
    T(cfg_other_daemon_section_skipped),
    T(cfg_unknown_key),
    T(cfg_unknown_section),
    T(cfg_int_bounds),
    T(cfg_bad_range),
    T(cfg_bad_addr),
    T(cfg_bad_bool_level),
    T(cfg_outside_section),
    T(cfg_syntax_error),
    T(cfg_first_error_wins),
    T(cfg_line_numbers_after_comments),
    T(cfg_long_line),
    T(cfg_long_line_tail),
    T(cfg_long_line_fits),
    T(cfg_missing_file),
    T(cfg_required),
    T(cfg_list_repeats_add),
    T(cfg_bad_default),
    T(cfg_set_override),
    T(cfg_set_errors),
    T(cfg_readable),
    T(cfg_cpu_list),
    T(cfg_list_split_empty),
    T(cfg_list_split_spaces),
    T(cfg_list_split_too_many),
    T(cfg_list_split_too_long),
    { NULL, NULL }
};

int main(int argc, char **argv)
{
    return gw_test_main(argc, argv, tests);
}
