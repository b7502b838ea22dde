/* libFuzzer target for the config loader (common/cfg.c): the input is an
 * INI file, loaded through gw_cfg_load() over a table with one directive
 * of each type in our section plus a second section, so that section
 * skipping, every value parser and the line-number bookkeeping are all
 * reached. The input is also tried as a "-s section.name=value" override.
 *
 * The file is a memfd reached through /proc/self/fd: no disk traffic, and
 * one descriptor reused for every input. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"

typedef struct {
    char name[GW_CFG_STRLEN];
    int port;
    int flag;
    char addr[GW_CFG_STRLEN];
    struct sockaddr_storage listen;
    gw_cfg_range_t range;
    gw_log_level_t level;
    char secret[GW_CFG_STRLEN];
} fz_cfg_t;

#define F(x) offsetof(fz_cfg_t, x)

static const gw_cfg_directive_t fz_dirs[] = {
    { "name", GW_CFG_STR, F(name), "n", 0, 0, "" },
    { "port", GW_CFG_INT, F(port), "5060", 1, 65535, "" },
    { "flag", GW_CFG_BOOL, F(flag), "no", 0, 0, "" },
    { "addr", GW_CFG_ADDR, F(addr), "127.0.0.1", 0, 0, "" },
    { "listen", GW_CFG_HOSTPORT, F(listen), "[::1]:7700", 0, 0, "" },
    { "range", GW_CFG_RANGE, F(range), "10000-20000", 1024, 65535, "" },
    { "level", GW_CFG_LEVEL, F(level), "info", 0, 0, "" },
    GW_CFG_END
};

static const gw_cfg_directive_t fz_bus_dirs[] = {
    { "secret", GW_CFG_STR, F(secret), NULL, 0, 0, "required" },
    { "port", GW_CFG_INT, F(port), "7", -5, 5000000, "" },
    GW_CFG_END
};

static fz_cfg_t fz_a, fz_b;

static const gw_cfg_section_t fz_secs[] = {
    { "sigd", fz_dirs, &fz_a },
    { "bus", fz_bus_dirs, &fz_b },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    char err[1024], *assign;

    if (fd < 0) {
        fd = memfd_create("fuzz-cfg", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    memset(&fz_a, 0, sizeof fz_a);
    memset(&fz_b, 0, sizeof fz_b);
    err[0] = '\0';
    if (gw_cfg_load(path, fz_secs, 2, err, sizeof err) < 0 &&
        strncmp(err, path, strlen(path)) != 0)
        abort();   /* every load error names the file */

    assign = malloc(size + 1);
    if (assign == NULL)
        return 0;
    memcpy(assign, data, size);
    assign[size] = '\0';
    gw_cfg_set(fz_secs, 2, assign, err, sizeof err);
    free(assign);
    return 0;
}
