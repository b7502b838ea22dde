/* gwctl keygen NAME [DIR]: a CURVE key pair for a node, sigd or gwctl
 * itself. DIR/NAME.key (secret, 0600) stays on the host that owns it;
 * DIR/NAME.pub goes into sigd's bus_allowed_keys_dir (for sigd's own
 * pair: to every node, as bus_server_key_file). Existing files are never
 * overwritten. The secret key is written to its file only, never printed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gwctl.h"

int gwctl_cmd_keygen(const gwctl_opts_t *o, int argc, char **argv)
{
    const char *name = argv[1], *dir = argc > 2 ? argv[2] : ".";
    char pub[GW_BUS_KEYLEN], sec[GW_BUS_KEYLEN], fp[GW_BUS_FPLEN];
    char kpath[1024], ppath[1024], comment[256];
    int rc;

    (void)o;
    if (name[0] == '\0' || strchr(name, '/') || strlen(name) >= GW_BUS_PEERLEN) {
        fprintf(stderr, "gwctl: keygen: NAME must be 1..%d characters, no '/'\n",
                GW_BUS_PEERLEN - 1);
        return 1;
    }
    snprintf(kpath, sizeof kpath, "%s/%s.key", dir, name);
    snprintf(ppath, sizeof ppath, "%s/%s.pub", dir, name);
    if (gw_bus_keygen(pub, sec) < 0) {
        fprintf(stderr, "gwctl: keygen: zmq_curve_keypair failed\n");
        return 1;
    }
    gw_bus_key_fingerprint(pub, fp);
    snprintf(comment, sizeof comment, "CURVE secret key of '%s' (fingerprint %s); "
             "keep private", name, fp);
    rc = gw_bus_key_write(kpath, 1, sec, comment);
    explicit_bzero(sec, sizeof sec);
    if (rc < 0) {
        fprintf(stderr, "gwctl: keygen: %s: %s\n", kpath, strerror(-rc));
        return 1;
    }
    snprintf(comment, sizeof comment, "CURVE public key of '%s' (fingerprint %s)",
             name, fp);
    rc = gw_bus_key_write(ppath, 0, pub, comment);
    if (rc < 0) {
        fprintf(stderr, "gwctl: keygen: %s: %s\n", ppath, strerror(-rc));
        return 1;
    }
    printf("key %s secret=%s public=%s fingerprint=%s\n", name, kpath, ppath, fp);
    return 0;
}
