/* srtpscale: what one protect + unprotect costs in the libsrtp2 we link,
 * as the number of live SRTP contexts grows (a relay holds two per SRTP
 * leg), apart from mediad. Also per context: the resident memory it adds,
 * and what creating and freeing it costs (once per call, but on the
 * control path).
 *
 *   srtpscale [packets [libsrtp|mediad]]
 *   srtpscale backend
 *
 * prints one line per context count and suite. It is built against the
 * libsrtp2 mediad links (Makefile, SRTP=): by default Debian's source on
 * OpenSSL, which needs no set-up, so both modes are the same there. With
 * SRTP=system (GW_SRTP_NSS) the crypto is NSS: "libsrtp" (the default)
 * lets libsrtp2 initialise NSS itself; "mediad" first initialises NSS the
 * way md_srtp_global_init() does (mediad/srtp.c: no OPTIMIZESPACE), so
 * that the two can be compared. NSS can be initialised once per process,
 * hence two runs of this tool. "backend" prints "openssl" or "nss". */
#include <dlfcn.h>
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXCTX 1000

#ifdef GW_SRTP_NSS
#define BACKEND "nss"
/* NSS is reached through dlsym, as libsrtp2's dependency, so that this
 * tool needs no NSS headers. The flags are nss.h's NSS_INIT_READONLY |
 * NOCERTDB | NOMODDB | FORCEOPEN | NOROOTINIT, as in mediad/srtp.c. */
typedef void *(*nss_init_context_fn)(const char *, const char *, const char *,
                                     const char *, void *, unsigned);
#define NSS_FLAGS_LIKE_MEDIAD 0x1fu

static int nss_init_like_mediad(void)
{
    nss_init_context_fn init;

    *(void **)&init = dlsym(RTLD_DEFAULT, "NSS_InitContext");
    if (init == NULL || init("", "", "", "", NULL, NSS_FLAGS_LIKE_MEDIAD) == NULL) {
        fprintf(stderr, "srtpscale: NSS_InitContext not found or failed\n");
        return -1;
    }
    return 0;
}
#else
#define BACKEND "openssl"
/* OpenSSL needs no initialisation: mediad's is srtp_init() alone. */
static int nss_init_like_mediad(void)
{
    return 0;
}
#endif

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    fclose(f);
    return rss * sysconf(_SC_PAGESIZE);
}

static void run(const char *name, const char *nss, int gcm, int nctx, int n)
{
    static srtp_t tx[MAXCTX], rx[MAXCTX];
    unsigned char key[30], buf[256];
    double t0, t_create, t_ops;
    long rss0;

    for (int i = 0; i < 30; i++)
        key[i] = (unsigned char)i;
    rss0 = rss_bytes();
    t0 = now();
    for (int c = 0; c < nctx; c++) {
        srtp_policy_t p;
        memset(&p, 0, sizeof p);
        if (gcm) {
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
        } else {
            srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
            srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
        }
        p.key = key;
        p.window_size = 1024;
        p.ssrc.type = ssrc_any_outbound;
        if (srtp_create(&tx[c], &p) != srtp_err_status_ok)
            exit(3);
        p.ssrc.type = ssrc_any_inbound;
        if (srtp_create(&rx[c], &p) != srtp_err_status_ok)
            exit(3);
    }
    t_create = now() - t0;
    t0 = now();
    for (int i = 0; i < n; i++) {
        int c = i % nctx, len = 172, seq = i / nctx;
        memset(buf, 0, 172);
        buf[0] = 0x80;
        buf[1] = 8;
        buf[2] = (unsigned char)(seq >> 8);
        buf[3] = (unsigned char)seq;
        buf[11] = (unsigned char)c;
        if (srtp_protect(tx[c], buf, &len) != srtp_err_status_ok ||
            srtp_unprotect(rx[c], buf, &len) != srtp_err_status_ok)
            exit(4);
    }
    t_ops = now() - t0;
    /* After the packets: a context's stream is cloned on its first one. */
    long rss = rss_bytes() - rss0;
    t0 = now();
    for (int c = 0; c < nctx; c++) {
        srtp_dealloc(tx[c]);
        srtp_dealloc(rx[c]);
    }
    printf("{\"backend\":\"" BACKEND "\",\"suite\":\"%s\",\"nss_init\":\"%s\",\"contexts\":%d,"
           "\"us_per_protect_unprotect\":%.2f,\"rss_bytes_per_context\":%ld,"
           "\"us_per_create\":%.1f,\"us_per_dealloc\":%.1f}\n",
           name, nss, 2 * nctx, t_ops / n * 1e6, rss / (2 * nctx),
           t_create / (2 * nctx) * 1e6, (now() - t0) / (2 * nctx) * 1e6);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100000;
    const char *nss = argc > 2 ? argv[2] : "libsrtp";

    if (argc > 1 && strcmp(argv[1], "backend") == 0) {
        puts(BACKEND);
        return 0;
    }
    if (n < 1000 || n > 10000000)
        return 2;
    if (strcmp(nss, "mediad") == 0) {
        if (nss_init_like_mediad() < 0)
            return 2;
    } else if (strcmp(nss, "libsrtp") != 0) {
        return 2;
    }
#ifndef GW_SRTP_NSS
    nss = "none";
#endif
    if (srtp_init() != srtp_err_status_ok)
        return 2;
    for (int k = 1; k <= MAXCTX; k *= 10) {
        run("AES_CM_128_HMAC_SHA1_80", nss, 0, k, n);
        run("AEAD_AES_128_GCM", nss, 1, k, n);
    }
    srtp_shutdown();
    return 0;
}
