/* libFuzzer target: mediad's packet path (md_relay__handle) for one
 * datagram: RTP/RTCP validation, rtcp-mux demultiplexing, strict-source
 * latching, SRTP/SRTCP unprotect and protect, loss/jitter accounting and
 * the forward decision. The first input byte picks the leg set-up (which
 * leg receives, SRTP on either leg, rtcp-mux, RTCP port, pre-latched, a
 * foreign source); the rest is the datagram. Sockets are not opened: the
 * send at the end fails on fd -1 and is counted as a drop. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "worker.h"

static md_t md;
static md_worker_t w;
static md_session_t *s;
static srtp_t rx[2], tx[2];

/* Fixed test keys (base64 of 30 bytes each); not secrets. */
static const char *const keys[2] = {
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd",
    "HR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6",
};

static void setup(void)
{
    md_srtp_global_init();
    md.cfg.ext_symmetric = 1;
    w.md = &md;
    w.sq.fd = -1;
    uv_loop_init(&w.loop);
    s = calloc(1, sizeof *s + 2 * sizeof(md_leg_t));
    s->nstreams = 1;
    s->worker = &w;
    s->refs = 1;
    for (int k = 0; k < 2; k++) {
        md_srtp_create(&rx[k], MD_SUITE_AES_CM_128_HMAC_SHA1_80, keys[k], 0);
        md_srtp_create(&tx[k], MD_SUITE_AES_CM_128_HMAC_SHA1_80, keys[k], 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[9000];
    struct sockaddr_storage peer, other;
    md_leg_t *e, *n, *in;
    uint8_t mode;

    if (s == NULL)
        setup();
    if (size < 1 || size - 1 > sizeof buf - 64)
        return 0;
    mode = data[0];
    e = md_leg(s, 0, GW__SIDE__SIDE_EXT);
    n = md_leg(s, 0, GW__SIDE__SIDE_INT);
    memset(s->legs, 0, 2 * sizeof(md_leg_t));
    for (int k = 0; k < 2; k++) {
        md_leg_t *l = &s->legs[k];
        l->sess = s;
        l->other = &s->legs[1 - k];
        l->side = k ? GW__SIDE__SIDE_INT : GW__SIDE__SIDE_EXT;
        l->rtp_fd = l->rtcp_fd = -1;
        l->send_unlatched = (uint8_t)k;
        if (mode & (1u << k)) {
            l->suite = MD_SUITE_AES_CM_128_HMAC_SHA1_80;
            l->srtp_rx = rx[k];
            l->srtp_tx = tx[k];
        }
    }
    e->rtcp_mux = (mode >> 2) & 1;
    gw_addr_parse("192.0.2.1", 4000, &peer);
    gw_addr_parse("192.0.2.9", 4002, &other);
    memcpy(&n->remote_rtp, &peer, sizeof n->remote_rtp);
    memcpy(&n->remote_rtcp, &peer, sizeof n->remote_rtcp);
    n->has_remote = 1;
    if (mode & 0x20) {
        memcpy(&e->remote_rtp, &peer, sizeof e->remote_rtp);
        memcpy(&e->remote_rtcp, &peer, sizeof e->remote_rtcp);
        e->rtp_latched = e->rtcp_latched = 1;
    }
    in = (mode & 0x10) ? n : e;
    memcpy(buf, data + 1, size - 1);
    md_relay__handle(&w, in, (mode >> 3) & 1, buf, (int)(size - 1),
                     (const struct sockaddr *)((mode & 0x40) ? &other : &peer));
    md_relay_flush(&w);
    /* The SRTP contexts belong to setup(), not to the legs. */
    e->srtp_rx = e->srtp_tx = n->srtp_rx = n->srtp_tx = NULL;
    return 0;
}
