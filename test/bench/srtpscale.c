/* srtpscale: what one protect + unprotect costs in the libsrtp2 we link,
 * as the number of live SRTP contexts grows (a relay holds two per SRTP
 * leg). Debian's libsrtp2 does its crypto through NSS; this shows how its
 * cost per packet behaves at call-centre scale, apart from mediad.
 *
 *   srtpscale [packets]      prints one line per context count and suite */
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXCTX 1000

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void run(const char *name, int gcm, int nctx, int n)
{
    static srtp_t tx[MAXCTX], rx[MAXCTX];
    unsigned char key[30], buf[256];
    double t0;

    for (int i = 0; i < 30; i++)
        key[i] = (unsigned char)i;
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
        srtp_create(&tx[c], &p);
        p.ssrc.type = ssrc_any_inbound;
        srtp_create(&rx[c], &p);
    }
    t0 = now();
    for (int i = 0; i < n; i++) {
        int c = i % nctx, len = 172, seq = i / nctx;
        memset(buf, 0, 172);
        buf[0] = 0x80;
        buf[1] = 8;
        buf[2] = (unsigned char)(seq >> 8);
        buf[3] = (unsigned char)seq;
        buf[11] = (unsigned char)c;
        srtp_protect(tx[c], buf, &len);
        srtp_unprotect(rx[c], buf, &len);
    }
    printf("{\"suite\":\"%s\",\"contexts\":%d,\"us_per_protect_unprotect\":%.2f}\n",
           name, 2 * nctx, (now() - t0) / n * 1e6);
    for (int c = 0; c < nctx; c++) {
        srtp_dealloc(tx[c]);
        srtp_dealloc(rx[c]);
    }
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100000;

    if (n < 1000 || n > 10000000 || srtp_init() != srtp_err_status_ok)
        return 2;
    for (int k = 1; k <= MAXCTX; k *= 10) {
        run("AES_CM_128_HMAC_SHA1_80", 0, k, n);
        run("AEAD_AES_128_GCM", 1, k, n);
    }
    srtp_shutdown();
    return 0;
}
