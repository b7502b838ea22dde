/* Tests for sigd/sdp.c on SDPs shaped like real ones (sipp, baresip with
 * SRTP, Avaya- and Cisco-style PBXes, a WebRTC browser with ICE and
 * rtcp-mux, a Polycom audio+video offer, linphone over IPv6, an answer
 * rejecting video): endpoint extraction and its errors, and the rewrite.
 *
 * A rewrite is checked two ways. Against a hand-written expected SDP,
 * compared section by section as sorted line sets (canon()), because
 * Sofia's printer reorders lines inside a section; and against the input,
 * where every line except o=, c=, m=, a=rtcp and the mode line must come
 * out byte for byte (the second half of check_rewrite()). Since the SRTP
 * work the rewrite also owns a=crypto and the m= protocol of RTP streams:
 * a relay endpoint with a crypto line gives RTP/SAVP and exactly that
 * line, one without gives RTP/AVP and none. Sofia's printer, as this suite
 * relies on it:
 *   - within an RTP/AVP or RTP/SAVP media section, a=rtpmap/a=fmtp are
 *     printed first (in payload order), then the mode line, then the other
 *     attributes in their original order; for other protocols (WebRTC's
 *     UDP/TLS/RTP/SAVPF) a=rtpmap stays an ordinary attribute, in place;
 *   - sig_sdp_rewrite() passes sdp_f_mode_always, so every active media
 *     section gets a mode line (a=sendrecv when none was given, or the
 *     session-level mode), and a port-0 section gets none;
 *   - lines end in CRLF.
 * Every test also checks that none of the input's addresses survive
 * anywhere in the output (internal addresses must not leak).
 *
 * SDP parsing needs only su_alloc homes, not su_init(): each test owns one
 * su_home_t and deinits it, so LSan sees nothing left over. */
#include "runner.h"

#include <errno.h>
#include <sys/resource.h>

#include "sdp.h"

#define RELAY4 "203.0.113.7"
#define RELAY4B "203.0.113.8"
#define RELAY6 "2001:db8::7"

/* ---- SDPs ------------------------------------------------------------- */

/* sipp's built-in uac scenario ([local_ip], [media_port]). */
static const char sdp_sipp[] =
    "v=0\r\n"
    "o=user1 53655765 2353687637 IN IP4 192.168.56.10\r\n"
    "s=-\r\n"
    "c=IN IP4 192.168.56.10\r\n"
    "t=0 0\r\n"
    "m=audio 6000 RTP/AVP 0\r\n"
    "a=rtpmap:0 PCMU/8000\r\n";

/* baresip with mediaenc=srtp: two a=crypto suites, session-level a=tool. */
static const char sdp_baresip[] =
    "v=0\r\n"
    "o=- 1863217470 2110919590 IN IP4 192.168.1.50\r\n"
    "s=-\r\n"
    "c=IN IP4 192.168.1.50\r\n"
    "t=0 0\r\n"
    "a=tool:baresip 3.10.1\r\n"
    "m=audio 10346 RTP/SAVP 96 9 0 8 101\r\n"
    "b=AS:128\r\n"
    "a=rtpmap:96 opus/48000/2\r\n"
    "a=fmtp:96 stereo=1;sprop-stereo=1\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=rtcp-rsize\r\n"
    "a=sendrecv\r\n"
    "a=label:1\r\n"
    "a=ssrc:2943165282 cname:b7e2b9b4-7b66-4f1d-9c6c-4c1a2e5d9f10\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:Hxu9NE4XJ8M8FVxo4MUl2hq5GHe3Cn1fT0u8mS2J\r\n"
    "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:k0FH3rXY2N6EY5hK0wW7jHdXQ4B6vO6R0q6Y1N1f|2^31\r\n"
    "a=ptime:20\r\n";

/* Avaya-style: o= and c= addresses differ, session b=, a=rtcp:PORT,
 * vendor session attributes. */
static const char sdp_avaya[] =
    "v=0\r\n"
    "o=- 1 2 IN IP4 10.20.30.40\r\n"
    "s=-\r\n"
    "c=IN IP4 10.20.30.41\r\n"
    "b=AS:64\r\n"
    "t=0 0\r\n"
    "a=avf:avc=n prio=n\r\n"
    "a=csup:avf-v0\r\n"
    "m=audio 2048 RTP/AVP 0 8 18 127\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:18 G729/8000\r\n"
    "a=fmtp:18 annexb=no\r\n"
    "a=rtpmap:127 telephone-event/8000\r\n"
    "a=fmtp:127 0-15\r\n"
    "a=rtcp:2049\r\n"
    "a=ptime:20\r\n"
    "a=sendrecv\r\n";

/* Cisco-style: media-level c= overriding the session one, a=rtcp with an
 * address (RFC 3605), an unknown x- attribute, video rejected (port 0,
 * no media-level c=). */
static const char sdp_cisco[] =
    "v=0\r\n"
    "o=CiscoSystemsSIP-GW-UserAgent 6361 9386 IN IP4 10.20.30.50\r\n"
    "s=SIP Call\r\n"
    "c=IN IP4 10.20.30.50\r\n"
    "t=0 0\r\n"
    "m=audio 16434 RTP/AVP 18 0 101 19\r\n"
    "c=IN IP4 10.20.30.51\r\n"
    "a=rtpmap:18 G729/8000\r\n"
    "a=fmtp:18 annexb=no\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=rtpmap:19 CN/8000\r\n"
    "a=rtcp:16435 IN IP4 10.20.30.52\r\n"
    "a=ptime:20\r\n"
    "a=x-cisco-media:umoh\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "a=rtpmap:96 H264/90000\r\n";

/* A browser offer after gathering: BUNDLE, ICE, DTLS, rtcp-mux, a=rtcp:9
 * IN IP4 0.0.0.0, candidates (host and srflx). */
static const char sdp_webrtc[] =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=msid-semantic: WMS stream0\r\n"
    "a=ice-options:trickle\r\n"
    "m=audio 54321 UDP/TLS/RTP/SAVPF 111 0 126\r\n"
    "c=IN IP4 198.51.100.9\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:1467250027 1 udp 2122260223 192.168.1.77 54321 typ host generation 0\r\n"
    "a=candidate:842163049 1 udp 1677729535 198.51.100.9 54321 typ srflx raddr 192.168.1.77 rport 54321 generation 0\r\n"
    "a=ice-ufrag:EsAw\r\n"
    "a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\r\n"
    "a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    "a=sendrecv\r\n"
    "a=msid:stream0 track0\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:126 telephone-event/8000\r\n"
    "a=ssrc:3570614608 cname:4TOk42mSjXCkVIa6\r\n"
    "m=video 54321 UDP/TLS/RTP/SAVPF 96 97\r\n"
    "c=IN IP4 198.51.100.9\r\n"
    "b=AS:2000\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:EsAw\r\n"
    "a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\r\n"
    "a=mid:1\r\n"
    "a=recvonly\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtcp-fb:96 nack pli\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n";

/* Polycom-style audio+video; video has its own c= and a=rtcp with address.
 * (Real Polycoms send b=TIAS too: see sdp_rewrite_bandwidth_modifiers.) */
static const char sdp_av[] =
    "v=0\r\n"
    "o=polycom 1614627411 1614627411 IN IP4 172.16.5.20\r\n"
    "s=-\r\n"
    "c=IN IP4 172.16.5.20\r\n"
    "b=AS:1024\r\n"
    "t=0 0\r\n"
    "m=audio 2222 RTP/AVP 9 0 101\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=sendrecv\r\n"
    "m=video 2224 RTP/AVP 109 34\r\n"
    "c=IN IP4 172.16.5.21\r\n"
    "b=AS:960\r\n"
    "a=rtpmap:109 H264/90000\r\n"
    "a=fmtp:109 profile-level-id=42E016;packetization-mode=1\r\n"
    "a=rtpmap:34 H263/90000\r\n"
    "a=rtcp:2225 IN IP4 172.16.5.21\r\n"
    "a=content:main\r\n"
    "a=label:2\r\n"
    "a=sendonly\r\n";

/* linphone over IPv6. */
static const char sdp_ipv6[] =
    "v=0\r\n"
    "o=alice 2214 1526 IN IP6 fd00:10::21\r\n"
    "s=Talk\r\n"
    "c=IN IP6 fd00:10::21\r\n"
    "t=0 0\r\n"
    "a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\r\n"
    "m=audio 7078 RTP/AVP 96 0 8 101\r\n"
    "a=rtpmap:96 opus/48000/2\r\n"
    "a=fmtp:96 useinbandfec=1\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=rtcp:7079\r\n"
    "a=rtcp-fb:* trr-int 1000\r\n"
    "a=rtcp-fb:* ccm tmmbr\r\n";

/* An answer that rejects video; every section has its own c=. */
static const char sdp_reject[] =
    "v=0\r\n"
    "o=- 3 4 IN IP4 10.9.8.7\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "m=audio 30000 RTP/AVP 8 101\r\n"
    "c=IN IP4 10.9.8.7\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "c=IN IP4 10.9.8.6\r\n"
    "a=rtcp:30003 IN IP4 10.9.8.6\r\n";

/* ---- helpers ---------------------------------------------------------- */

static sdp_session_t *parse_ok(su_home_t *home, const char *text)
{
    char err[256] = "";
    sdp_session_t *s = sig_sdp_parse(home, text, strlen(text), err, sizeof err);

    if (s == NULL)
        fprintf(stderr, "parse failed: %s\n", err);
    CHECK(s != NULL);
    return s;
}

/* Relay i at addr[i % naddr], ports base + 2i and base + 2i + 1. */
static void relays(sig_sdp_ep_t *r, unsigned n, const char *a0, const char *a1,
                   unsigned base)
{
    memset(r, 0, n * sizeof *r);
    for (unsigned i = 0; i < n; i++) {
        snprintf(r[i].addr, sizeof r[i].addr, "%s", (i % 2 && a1) ? a1 : a0);
        r[i].port = base + 2 * i;
        r[i].rtcp_port = base + 2 * i + 1;
    }
}

static char *rewrite_ok(su_home_t *home, const char *text, const sig_sdp_ep_t *r,
                        unsigned n)
{
    char err[256] = "";
    sdp_session_t *s = parse_ok(home, text);
    char *out = sig_sdp_rewrite(home, s, r, n, err, sizeof err);

    if (out == NULL)
        fprintf(stderr, "rewrite failed: %s\n", err);
    CHECK(out != NULL);
    return out;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_mode(const char *l)
{
    return !strcmp(l, "a=sendrecv") || !strcmp(l, "a=sendonly") ||
           !strcmp(l, "a=recvonly") || !strcmp(l, "a=inactive");
}

/* Lines the rewrite may change, add or drop: o=, c=, m=, a=rtcp:,
 * a=crypto:, mode, and ICE (removed: the relay anchors the media). */
static int is_ours(const char *l)
{
    return !strncmp(l, "o=", 2) || !strncmp(l, "c=", 2) || !strncmp(l, "m=", 2) ||
           !strncmp(l, "a=rtcp:", 7) || !strncmp(l, "a=crypto:", 9) || is_mode(l) ||
           !strncmp(l, "a=candidate:", 12) || !strncmp(l, "a=ice-", 6) ||
           !strncmp(l, "a=end-of-candidates", 19) ||
           !strncmp(l, "a=remote-candidates", 19);
}

/* Canonical form of an SDP: one output line per input line, each media
 * section starting at its m= line, the lines after a section's first line
 * sorted. Lines must end in CRLF. With skip_ours, the lines is_ours()
 * names are dropped (an m= line becomes "m=" so sections stay apart). */
static char *canon(su_home_t *home, const char *sdp, int skip_ours)
{
    size_t len = strlen(sdp), nl = 0, start = 0;
    char *copy = su_strdup(home, sdp), *out, *p;
    char **lines;

    for (size_t i = 0; i < len; i++)
        nl += sdp[i] == '\n';
    lines = su_zalloc(home, (nl + 1) * sizeof *lines);
    out = su_zalloc(home, len + nl + 1);
    CHECK(copy && lines && out);
    nl = 0;
    for (char *l = copy; *l; ) {
        char *e = strstr(l, "\r\n");
        if (e == NULL) {
            fprintf(stderr, "line not CRLF-terminated: \"%s\"\n", l);
            CHECK(e != NULL);
        }
        *e = '\0';
        CHECK(strchr(l, '\n') == NULL);   /* no bare LF */
        if (!strncmp(l, "m=", 2)) {
            if (nl > start + 1)
                qsort(lines + start + 1, nl - start - 1, sizeof *lines, cmp_str);
            start = nl;
            lines[nl++] = skip_ours ? "m=" : l;
        } else if (!(skip_ours && is_ours(l))) {
            lines[nl++] = l;
        }
        l = e + 2;
    }
    if (nl > start + 1)
        qsort(lines + start + 1, nl - start - 1, sizeof *lines, cmp_str);
    p = out;
    for (size_t i = 0; i < nl; i++)
        p += sprintf(p, "%s\n", lines[i]);
    return out;
}

/* out must equal expected as per-section line sets, and must keep every
 * line of in that the rewrite does not own, unchanged. */
static void check_rewrite(su_home_t *home, const char *in, const char *out,
                          const char *expected)
{
    CHECK_STR(canon(home, out, 0), canon(home, expected, 0));
    CHECK_STR(canon(home, out, 1), canon(home, in, 1));
}

/* None of addrs[] may appear in out, except inside lines starting with
 * `except` (NULL for none). */
static void check_no_leak(const char *out, const char *const *addrs,
                          const char *except)
{
    for (const char *l = out; *l; ) {
        const char *e = strstr(l, "\r\n");
        size_t n = e ? (size_t)(e - l) : strlen(l);

        if (except == NULL || strncmp(l, except, strlen(except)) != 0) {
            for (const char *const *a = addrs; *a; a++) {
                const char *hit = strstr(l, *a);
                if (hit != NULL && hit < l + n) {
                    fprintf(stderr, "internal address %s leaks in \"%.*s\"\n", *a,
                            (int)n, l);
                    CHECK(hit == NULL);
                }
            }
        }
        l += n + (e ? 2 : 0);
    }
}

static int endpoints(su_home_t *home, const char *text, sig_sdp_ep_t *eps,
                     unsigned max, char *err, size_t errlen)
{
    return sig_sdp_endpoints(parse_ok(home, text), eps, max, err, errlen);
}

/* ---- parse ------------------------------------------------------------ */

TEST(sdp_parse_rejects)
{
    su_home_t home[1];
    char err[256];
    static const char no_c[] =
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";
    static const char bin[] = { 'v', '=', '0', '\r', '\n', 0x01, (char)0xff, 0x00, 'x' };

    su_home_init(home);
    err[0] = '\0';
    CHECK(sig_sdp_parse(home, "", 0, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "empty SDP");
    err[0] = '\0';
    CHECK(sig_sdp_parse(home, NULL, 10, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "empty SDP");
    err[0] = '\0';
    CHECK(sig_sdp_parse(home, "garbage\r\n", 9, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "bad SDP: ");
    CHECK_INT(strlen(err), >, strlen("bad SDP: "));
    err[0] = '\0';
    CHECK(sig_sdp_parse(home, "hello world", 11, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "bad SDP: ");
    err[0] = '\0';
    CHECK(sig_sdp_parse(home, bin, sizeof bin, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "bad SDP: ");
    /* No c= anywhere: Sofia's parser already refuses it, with its reason. */
    err[0] = '\0';
    CHECK(sig_sdp_parse(home, no_c, strlen(no_c), err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "No c= on either session level or all mediums");
    /* Only the first len bytes count: a valid prefix cut before m=... */
    err[0] = '\0';
    CHECK(sig_sdp_parse(home, sdp_sipp, 3, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "bad SDP: ");
    /* A small error buffer is truncated, not overrun. */
    {
        char small[8];
        memset(small, 'X', sizeof small);
        CHECK(sig_sdp_parse(home, "garbage", 7, small, 6) == NULL);
        CHECK_STR(small, "bad S");
        CHECK(small[6] == 'X' && small[7] == 'X');
    }
    su_home_deinit(home);
}

/* Leniency (RFC 4475 esc01 and others): an a=rtpmap without a clock rate
 * and unknown lines pass through untouched; c= and m= are still rewritten,
 * and a malformed m= line is still refused. */
TEST(sdp_lenient_rtpmap_passes_through)
{
    su_home_t home[1];
    sig_sdp_ep_t r[2];
    char err[256];
    const char *in =
        "v=0\r\n"
        "o=mhandley 29739 7272939 IN IP4 192.0.2.1\r\n"
        "s=-\r\n"
        "c=IN IP4 192.0.2.1\r\n"
        "t=0 0\r\n"
        "m=audio 49217 RTP/AVP 0 12\r\n"
        "m=video 3227 RTP/AVP 31\r\n"
        "a=rtpmap:31 LPC\r\n"
        "a=x-odd-thing:1 2 3\r\n";
    char *out;

    su_home_init(home);
    relays(r, 2, "203.0.113.7", NULL, 40000);
    out = rewrite_ok(home, in, r, 2);
    CHECK(out != NULL && strstr(out, "a=rtpmap:31 LPC\r\n") != NULL);
    CHECK(out != NULL && strstr(out, "a=x-odd-thing:1 2 3\r\n") != NULL);
    CHECK(out != NULL && strstr(out, "m=video 40002 RTP/AVP 31\r\n") != NULL);
    CHECK(out != NULL && strstr(out, "192.0.2.1") == NULL);
    CHECK(out != NULL && strstr(out, "x-sigd") == NULL);
    /* Still strict where it matters. */
    CHECK(sig_sdp_parse(home, "v=0\r\nm=audio x RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n", 44,
                        err, sizeof err) == NULL);
    su_home_deinit(home);
}

TEST(sdp_parse_all_samples)
{
    const char *const all[] = { sdp_sipp, sdp_baresip, sdp_avaya, sdp_cisco,
                                sdp_webrtc, sdp_av, sdp_ipv6, sdp_reject };
    su_home_t home[1];

    su_home_init(home);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        sdp_session_t *s = parse_ok(home, all[i]);
        CHECK(s->sdp_media != NULL);
    }
    /* LF-only line ends, as some softphones send, are accepted too. */
    {
        static const char lf[] = "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\n"
                                 "c=IN IP4 10.0.0.1\nt=0 0\nm=audio 5000 RTP/AVP 0\n";
        sig_sdp_ep_t ep[1];
        char err[256];
        CHECK_INT(endpoints(home, lf, ep, 1, err, sizeof err), ==, 1);
        CHECK_STR(ep[0].addr, "10.0.0.1");
        CHECK_INT(ep[0].port, ==, 5000);
    }
    su_home_deinit(home);
}

/* ---- endpoints -------------------------------------------------------- */

TEST(sdp_endpoints_simple)
{
    su_home_t home[1];
    sig_sdp_ep_t ep[SIG_SDP_MAX_STREAMS];
    char err[256];

    su_home_init(home);
    memset(ep, 0x55, sizeof ep);
    CHECK_INT(endpoints(home, sdp_sipp, ep, SIG_SDP_MAX_STREAMS, err, sizeof err), ==, 1);
    CHECK_STR(ep[0].addr, "192.168.56.10");
    CHECK_INT(ep[0].port, ==, 6000);
    CHECK_INT(ep[0].rtcp_port, ==, 0);
    CHECK_INT(ep[0].rtcp_mux, ==, 0);

    CHECK_INT(endpoints(home, sdp_baresip, ep, SIG_SDP_MAX_STREAMS, err, sizeof err), ==, 1);
    CHECK_STR(ep[0].addr, "192.168.1.50");
    CHECK_INT(ep[0].port, ==, 10346);
    CHECK_INT(ep[0].rtcp_port, ==, 0);
    CHECK_INT(ep[0].rtcp_mux, ==, 0);   /* a=rtcp-rsize is not rtcp-mux */
    CHECK_INT(ep[0].savp, ==, 1);
    CHECK_INT(ep[0].hold, ==, 0);
    CHECK_INT(ep[0].ncrypto, ==, 2);
    CHECK_INT(ep[0].crypto[0].tag, ==, 1);
    CHECK_STR(ep[0].crypto[0].suite, "AES_CM_128_HMAC_SHA1_80");
    CHECK_STR(ep[0].crypto[0].key, "Hxu9NE4XJ8M8FVxo4MUl2hq5GHe3Cn1fT0u8mS2J");
    CHECK_INT(ep[0].crypto[1].tag, ==, 2);
    CHECK_STR(ep[0].crypto[1].suite, "AES_CM_128_HMAC_SHA1_32");
    CHECK_STR(ep[0].crypto[1].key, "k0FH3rXY2N6EY5hK0wW7jHdXQ4B6vO6R0q6Y1N1f");  /* no |2^31 */
    CHECK(sig_sdp_srtp_supported(&ep[0]));
    /* Clock rates from the rtpmaps, in m= order; opus is 48 kHz. */
    CHECK_INT(ep[0].nclocks, ==, 5);
    CHECK_INT(ep[0].clocks[0].pt, ==, 96);
    CHECK_INT(ep[0].clocks[0].rate, ==, 48000);
    CHECK_INT(ep[0].clocks[1].pt, ==, 9);
    CHECK_INT(ep[0].clocks[1].rate, ==, 8000);
    CHECK_INT(ep[0].clocks[4].pt, ==, 101);
    CHECK_INT(ep[0].clocks[4].rate, ==, 8000);

    /* The c= address counts, not the o= one. */
    CHECK_INT(endpoints(home, sdp_avaya, ep, 1, err, sizeof err), ==, 1);
    CHECK_STR(ep[0].addr, "10.20.30.41");
    CHECK_INT(ep[0].port, ==, 2048);
    CHECK_INT(ep[0].rtcp_port, ==, 2049);
    CHECK_INT(ep[0].rtcp_mux, ==, 0);
    CHECK_INT(ep[0].savp, ==, 0);
    CHECK_INT(ep[0].ncrypto, ==, 0);
    CHECK(!sig_sdp_srtp_supported(&ep[0]));
    CHECK_INT(ep[0].hold, ==, 0);
    su_home_deinit(home);
}

TEST(sdp_endpoints_media_level_c)
{
    su_home_t home[1];
    sig_sdp_ep_t ep[SIG_SDP_MAX_STREAMS];
    char err[256];

    su_home_init(home);
    /* Cisco: media c= wins over session c=; a=rtcp with an address gives
     * its port; the rejected video stream is counted, port 0, no address. */
    memset(ep, 0x55, sizeof ep);
    CHECK_INT(endpoints(home, sdp_cisco, ep, SIG_SDP_MAX_STREAMS, err, sizeof err), ==, 2);
    CHECK_STR(ep[0].addr, "10.20.30.51");
    CHECK_INT(ep[0].port, ==, 16434);
    CHECK_INT(ep[0].rtcp_port, ==, 16435);
    CHECK_INT(ep[0].rtcp_mux, ==, 0);
    CHECK_STR(ep[1].addr, "");
    CHECK_INT(ep[1].port, ==, 0);
    CHECK_INT(ep[1].rtcp_port, ==, 0);
    CHECK_INT(ep[1].rtcp_mux, ==, 0);

    /* Audio inherits the session c=, video has its own. */
    CHECK_INT(endpoints(home, sdp_av, ep, SIG_SDP_MAX_STREAMS, err, sizeof err), ==, 2);
    CHECK_STR(ep[0].addr, "172.16.5.20");
    CHECK_INT(ep[0].port, ==, 2222);
    CHECK_INT(ep[0].rtcp_port, ==, 0);
    CHECK_STR(ep[1].addr, "172.16.5.21");
    CHECK_INT(ep[1].port, ==, 2224);
    CHECK_INT(ep[1].rtcp_port, ==, 2225);
    CHECK_INT(ep[0].hold, ==, 0);
    CHECK_INT(ep[1].hold, ==, 1);   /* a=sendonly */

    /* Answer rejecting video: each stream has its own c=. */
    CHECK_INT(endpoints(home, sdp_reject, ep, SIG_SDP_MAX_STREAMS, err, sizeof err), ==, 2);
    CHECK_STR(ep[0].addr, "10.9.8.7");
    CHECK_INT(ep[0].port, ==, 30000);
    CHECK_INT(ep[1].port, ==, 0);
    CHECK_STR(ep[1].addr, "");
    CHECK_INT(ep[1].rtcp_port, ==, 0);   /* ignored on a disabled stream */
    su_home_deinit(home);
}

TEST(sdp_endpoints_webrtc)
{
    su_home_t home[1];
    sig_sdp_ep_t ep[SIG_SDP_MAX_STREAMS];
    char err[256];

    su_home_init(home);
    CHECK_INT(endpoints(home, sdp_webrtc, ep, SIG_SDP_MAX_STREAMS, err, sizeof err), ==, 2);
    for (int i = 0; i < 2; i++) {
        CHECK_STR(ep[i].addr, "198.51.100.9");
        CHECK_INT(ep[i].port, ==, 54321);
        CHECK_INT(ep[i].rtcp_port, ==, 9);
        CHECK_INT(ep[i].rtcp_mux, ==, 1);
    }
    su_home_deinit(home);
}

TEST(sdp_endpoints_ipv6)
{
    su_home_t home[1];
    sig_sdp_ep_t ep[SIG_SDP_MAX_STREAMS];
    char err[256];
    static const char mixed[] =
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        "m=audio 5000 RTP/AVP 0\r\n"
        "m=video 5002 RTP/AVP 96\r\nc=IN IP6 2001:db8:ffff:ffff:ffff:ffff:ffff:fffe\r\n"
        "a=rtcp-mux\r\n";

    su_home_init(home);
    CHECK_INT(endpoints(home, sdp_ipv6, ep, SIG_SDP_MAX_STREAMS, err, sizeof err), ==, 1);
    CHECK_STR(ep[0].addr, "fd00:10::21");
    CHECK_INT(ep[0].port, ==, 7078);
    CHECK_INT(ep[0].rtcp_port, ==, 7079);
    CHECK_INT(ep[0].rtcp_mux, ==, 0);

    CHECK_INT(endpoints(home, mixed, ep, SIG_SDP_MAX_STREAMS, err, sizeof err), ==, 2);
    CHECK_STR(ep[0].addr, "10.0.0.1");
    CHECK_INT(ep[0].rtcp_mux, ==, 0);
    CHECK_STR(ep[1].addr, "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe");
    CHECK_INT(ep[1].port, ==, 5002);
    CHECK_INT(ep[1].rtcp_mux, ==, 1);
    su_home_deinit(home);
}

/* An SDP with n audio streams on ports 5000, 5002, ... */
static char *n_streams(su_home_t *home, unsigned n)
{
    char *s = su_strdup(home, "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"
                              "c=IN IP4 10.0.0.1\r\nt=0 0\r\n");
    for (unsigned i = 0; i < n; i++)
        s = su_sprintf(home, "%sm=audio %u RTP/AVP 0\r\n", s, 5000 + 2 * i);
    return s;
}

TEST(sdp_endpoints_stream_count)
{
    su_home_t home[1];
    sig_sdp_ep_t ep[SIG_SDP_MAX_STREAMS + 1];
    char err[256];

    su_home_init(home);
    /* Exactly max is fine, one more is refused. */
    CHECK_INT(endpoints(home, n_streams(home, SIG_SDP_MAX_STREAMS), ep,
                        SIG_SDP_MAX_STREAMS, err, sizeof err), ==, SIG_SDP_MAX_STREAMS);
    CHECK_INT(ep[SIG_SDP_MAX_STREAMS - 1].port, ==, 5000 + 2 * (SIG_SDP_MAX_STREAMS - 1));
    err[0] = '\0';
    memset(ep, 0x55, sizeof ep);
    CHECK_INT(endpoints(home, n_streams(home, SIG_SDP_MAX_STREAMS + 1), ep,
                        SIG_SDP_MAX_STREAMS, err, sizeof err), ==, -EINVAL);
    CHECK_CONTAINS(err, "more than 8 media streams");
    /* Nothing is written past eps[max - 1]. */
    CHECK_INT(ep[SIG_SDP_MAX_STREAMS].port, ==, 0x55555555);

    err[0] = '\0';
    CHECK_INT(endpoints(home, sdp_av, ep, 1, err, sizeof err), ==, -EINVAL);
    CHECK_CONTAINS(err, "more than 1 media streams");
    su_home_deinit(home);
}

TEST(sdp_endpoints_errors)
{
    su_home_t home[1];
    sig_sdp_ep_t ep[SIG_SDP_MAX_STREAMS];
    sdp_session_t *s;
    char err[256];
    static const char *const bad_rtcp[] = {
        "a=rtcp:abc", "a=rtcp:0", "a=rtcp:65536", "a=rtcp:70000 IN IP4 10.0.0.1",
        "a=rtcp:", "a=rtcp", "a=rtcp:-1", "a=rtcp:99999999999999999999999",
    };

    su_home_init(home);
    for (size_t i = 0; i < sizeof bad_rtcp / sizeof bad_rtcp[0]; i++) {
        char *t = su_sprintf(home, "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"
                                   "c=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                                   "m=audio 5000 RTP/AVP 0\r\n%s\r\n", bad_rtcp[i]);
        int rc;

        err[0] = '\0';
        rc = endpoints(home, t, ep, SIG_SDP_MAX_STREAMS, err, sizeof err);
        if (rc != -EINVAL)
            fprintf(stderr, "accepted: %s\n", bad_rtcp[i]);
        CHECK_INT(rc, ==, -EINVAL);
        CHECK_CONTAINS(err, "bad a=rtcp value");
    }
    /* The edges of the valid range. */
    {
        char *t = su_strdup(home, "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"
                                  "c=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                                  "m=audio 5000 RTP/AVP 0\r\na=rtcp:65535\r\n"
                                  "m=audio 65535 RTP/AVP 0\r\na=rtcp:1\r\n");
        CHECK_INT(endpoints(home, t, ep, SIG_SDP_MAX_STREAMS, err, sizeof err), ==, 2);
        CHECK_INT(ep[0].rtcp_port, ==, 65535);
        CHECK_INT(ep[1].port, ==, 65535);
        CHECK_INT(ep[1].rtcp_port, ==, 1);
    }

    /* m= port out of range (Sofia's parser takes any number). */
    err[0] = '\0';
    CHECK_INT(endpoints(home, "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"
                              "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 65536 RTP/AVP 0\r\n",
                        ep, SIG_SDP_MAX_STREAMS, err, sizeof err), ==, -EINVAL);
    CHECK_CONTAINS(err, "m= port 65536 out of range");
    err[0] = '\0';
    CHECK_INT(endpoints(home, "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"
                              "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
                              "m=video 4294967297 RTP/AVP 0\r\n",
                        ep, SIG_SDP_MAX_STREAMS, err, sizeof err), ==, -EINVAL);
    CHECK_CONTAINS(err, "out of range");

    /* No c= line at all. sig_sdp_parse() never returns such a session
     * (see sdp_parse_rejects), so take a parsed one and remove its c=. */
    s = parse_ok(home, sdp_sipp);
    s->sdp_connection = NULL;
    err[0] = '\0';
    CHECK_INT(sig_sdp_endpoints(s, ep, SIG_SDP_MAX_STREAMS, err, sizeof err), ==, -EINVAL);
    CHECK_CONTAINS(err, "m= line 0 has no c= address");
    /* ... a disabled stream needs none. */
    s->sdp_media->m_port = 0;
    CHECK_INT(sig_sdp_endpoints(s, ep, SIG_SDP_MAX_STREAMS, err, sizeof err), ==, 1);
    CHECK_INT(ep[0].port, ==, 0);

    /* Only a rejected stream without its own c= and no session c=: Sofia
     * accepts it, and there is nothing to relay. */
    CHECK_INT(endpoints(home, "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\n"
                              "m=audio 5000 RTP/AVP 0\r\nc=IN IP4 10.0.0.2\r\n"
                              "m=video 0 RTP/AVP 96\r\n",
                        ep, SIG_SDP_MAX_STREAMS, err, sizeof err), ==, 2);
    CHECK_STR(ep[0].addr, "10.0.0.2");
    CHECK_INT(ep[1].port, ==, 0);

    /* No m= lines: zero streams (the proxy answers 488 to that). */
    CHECK_INT(endpoints(home, "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"
                              "c=IN IP4 10.0.0.1\r\nt=0 0\r\n",
                        ep, SIG_SDP_MAX_STREAMS, err, sizeof err), ==, 0);
    su_home_deinit(home);
}

/* strtoul() stops at the first non-digit and the end pointer is only
 * compared with the start, so "a=rtcp:5001x" is taken as 5001 although
 * RFC 3605 allows only a port, optionally followed by " IN IP4 addr". */
TEST(sdp_endpoints_rtcp_trailing_garbage)
{
    su_home_t home[1];
    sig_sdp_ep_t ep[1];
    char err[256];

    su_home_init(home);
    CHECK_INT(endpoints(home, "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"
                              "c=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                              "m=audio 5000 RTP/AVP 0\r\na=rtcp:5001x\r\n",
                        ep, 1, err, sizeof err), ==, -EINVAL);
    su_home_deinit(home);
}

#if !defined(__SANITIZE_ADDRESS__)   /* the test caps the address space */
/* Sofia 1.12.11's parse_media() loops on a non-RTP m= line whose format
 * list has a non-token byte: token() returns NULL without advancing, and
 * each turn allocates a list node until memory runs out (19 GB resident
 * before it gave up, on this 80-byte body). One INVITE is enough. The
 * address space is capped here so that the unfixed parser fails in a
 * second instead of taking the machine down (not under ASan, whose shadow
 * memory needs more). */
TEST(sdp_parse_format_list_memory_bomb)
{
    su_home_t home[1];
    char err[256] = "";
    struct rlimit rl = { 1UL << 30, 1UL << 30 };
    static const char bomb[] =
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        "m=audio 5010 udp 0 (\r\n";

    CHECK_INT(setrlimit(RLIMIT_AS, &rl), ==, 0);
    su_home_init(home);
    CHECK(sig_sdp_parse(home, bomb, strlen(bomb), err, sizeof err) == NULL);
    CHECK(strstr(err, "memory") == NULL);   /* refused, not exhausted */
    su_home_deinit(home);
}
#endif

/* ---- rewrite ---------------------------------------------------------- */

TEST(sdp_rewrite_sipp_exact)
{
    su_home_t home[1];
    sig_sdp_ep_t r[1];
    const char *const internal[] = { "192.168.56.10", "6000", NULL };
    char *out;

    su_home_init(home);
    relays(r, 1, RELAY4, NULL, 40000);
    out = rewrite_ok(home, sdp_sipp, r, 1);
    /* Exact text: the mode line a=sendrecv is added. */
    CHECK_STR(out, "v=0\r\n"
                   "o=user1 53655765 2353687637 IN IP4 " RELAY4 "\r\n"
                   "s=-\r\n"
                   "c=IN IP4 " RELAY4 "\r\n"
                   "t=0 0\r\n"
                   "m=audio 40000 RTP/AVP 0\r\n"
                   "a=rtpmap:0 PCMU/8000\r\n"
                   "a=sendrecv\r\n");
    check_rewrite(home, sdp_sipp, out, out);
    check_no_leak(out, internal, NULL);
    su_home_deinit(home);
}

TEST(sdp_rewrite_baresip_crypto)
{
    su_home_t home[1];
    sig_sdp_ep_t r[1];
    const char *const internal[] = { "192.168.1.50", "10346", "Hxu9NE4XJ8M8",
                                     "k0FH3rXY2N6E", NULL };
    static const char crypto[] =
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";
    char *out;
    const char *head =
        "v=0\r\n"
        "o=- 1863217470 2110919590 IN IP4 " RELAY4 "\r\n"
        "s=-\r\n"
        "c=IN IP4 " RELAY4 "\r\n"
        "t=0 0\r\n"
        "a=tool:baresip 3.10.1\r\n";
    const char *body =
        "b=AS:128\r\n"
        "a=rtpmap:96 opus/48000/2\r\n"
        "a=fmtp:96 stereo=1;sprop-stereo=1\r\n"
        "a=rtpmap:9 G722/8000\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-15\r\n"
        "a=sendrecv\r\n"
        "a=rtcp-rsize\r\n"
        "a=label:1\r\n"
        "a=ssrc:2943165282 cname:b7e2b9b4-7b66-4f1d-9c6c-4c1a2e5d9f10\r\n";

    su_home_init(home);
    /* The relay speaks SRTP to this side with its own key: RTP/SAVP stays,
     * the caller's two crypto lines are replaced by exactly the relay's
     * (its keys must not reach the other side). Exact text, to pin the
     * printer's order: rtpmap/fmtp first, then the mode line, then the
     * other attributes in input order, the new a=crypto last. */
    relays(r, 1, RELAY4, NULL, 40000);
    r[0].ncrypto = 1;
    r[0].crypto[0].tag = 1;
    snprintf(r[0].crypto[0].suite, sizeof r[0].crypto[0].suite, "AES_CM_128_HMAC_SHA1_80");
    snprintf(r[0].crypto[0].key, sizeof r[0].crypto[0].key,
             "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz");
    out = rewrite_ok(home, sdp_baresip, r, 1);
    CHECK_STR(out, su_sprintf(home, "%sm=audio 40000 RTP/SAVP 96 9 0 8 101\r\n%s"
                                    "a=ptime:20\r\n%s", head, body, crypto));
    check_rewrite(home, sdp_baresip, out, out);
    check_no_leak(out, internal, NULL);

    /* SRTP ends at the relay: plain RTP/AVP and no a=crypto at all. */
    relays(r, 1, RELAY4, NULL, 40000);
    out = rewrite_ok(home, sdp_baresip, r, 1);
    CHECK_STR(out, su_sprintf(home, "%sm=audio 40000 RTP/AVP 96 9 0 8 101\r\n%s"
                                    "a=ptime:20\r\n", head, body));
    CHECK(strstr(out, "crypto") == NULL);
    check_rewrite(home, sdp_baresip, out, out);
    check_no_leak(out, internal, NULL);
    su_home_deinit(home);
}

TEST(sdp_rewrite_avaya_ipv6_relay)
{
    su_home_t home[1];
    sig_sdp_ep_t r[1];
    const char *const internal[] = { "10.20.30.40", "10.20.30.41", "2048", "2049",
                                     "IP4", NULL };
    char *out;

    su_home_init(home);
    relays(r, 1, RELAY6, NULL, 50000);
    out = rewrite_ok(home, sdp_avaya, r, 1);
    /* IPv4 in, IPv6 relay: addrtype becomes IP6 on o= and c=; the short
     * a=rtcp form stays short. */
    check_rewrite(home, sdp_avaya, out,
        "v=0\r\n"
        "o=- 1 2 IN IP6 " RELAY6 "\r\n"
        "s=-\r\n"
        "c=IN IP6 " RELAY6 "\r\n"
        "b=AS:64\r\n"
        "t=0 0\r\n"
        "a=avf:avc=n prio=n\r\n"
        "a=csup:avf-v0\r\n"
        "m=audio 50000 RTP/AVP 0 8 18 127\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:18 G729/8000\r\n"
        "a=fmtp:18 annexb=no\r\n"
        "a=rtpmap:127 telephone-event/8000\r\n"
        "a=fmtp:127 0-15\r\n"
        "a=rtcp:50001\r\n"
        "a=ptime:20\r\n"
        "a=sendrecv\r\n");
    check_no_leak(out, internal, NULL);
    su_home_deinit(home);
}

TEST(sdp_rewrite_cisco_media_c_and_rejected)
{
    su_home_t home[1];
    sig_sdp_ep_t r[2];
    const char *const internal[] = { "10.20.30.5", "16434", "16435", NULL };
    char *out;

    su_home_init(home);
    relays(r, 2, RELAY4, NULL, 40000);
    r[1].port = 0;   /* as the proxy does for a stream offered with port 0 */
    out = rewrite_ok(home, sdp_cisco, r, 2);
    /* Session and media c= both rewritten; a=rtcp keeps its long form
     * with the relay's address; video stays at port 0 with no mode line. */
    check_rewrite(home, sdp_cisco, out,
        "v=0\r\n"
        "o=CiscoSystemsSIP-GW-UserAgent 6361 9386 IN IP4 " RELAY4 "\r\n"
        "s=SIP Call\r\n"
        "c=IN IP4 " RELAY4 "\r\n"
        "t=0 0\r\n"
        "m=audio 40000 RTP/AVP 18 0 101 19\r\n"
        "c=IN IP4 " RELAY4 "\r\n"
        "a=rtpmap:18 G729/8000\r\n"
        "a=fmtp:18 annexb=no\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-16\r\n"
        "a=rtpmap:19 CN/8000\r\n"
        "a=rtcp:40001 IN IP4 " RELAY4 "\r\n"
        "a=ptime:20\r\n"
        "a=x-cisco-media:umoh\r\n"
        "a=sendrecv\r\n"
        "m=video 0 RTP/AVP 96\r\n"
        "a=rtpmap:96 H264/90000\r\n");
    check_no_leak(out, internal, NULL);

    /* The rejected stream keeps port 0 even if the relay has a port. */
    relays(r, 2, RELAY4, NULL, 40000);
    out = rewrite_ok(home, sdp_cisco, r, 2);
    CHECK_CONTAINS(out, "\r\nm=video 0 RTP/AVP 96\r\n");
    su_home_deinit(home);
}

TEST(sdp_rewrite_two_streams_two_relays)
{
    su_home_t home[1];
    sig_sdp_ep_t r[2];
    const char *const internal[] = { "172.16.5.2", "2222", "2224", "2225", NULL };
    char *out;

    su_home_init(home);
    /* Each stream on its own relay address: the media-level c= of video
     * gets relay[1]'s, the session c= and o= get relay[0]'s. */
    relays(r, 2, RELAY4, RELAY4B, 40000);
    out = rewrite_ok(home, sdp_av, r, 2);
    check_rewrite(home, sdp_av, out,
        "v=0\r\n"
        "o=polycom 1614627411 1614627411 IN IP4 " RELAY4 "\r\n"
        "s=-\r\n"
        "c=IN IP4 " RELAY4 "\r\n"
        "b=AS:1024\r\n"
        "t=0 0\r\n"
        "m=audio 40000 RTP/AVP 9 0 101\r\n"
        "a=rtpmap:9 G722/8000\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-15\r\n"
        "a=sendrecv\r\n"
        "m=video 40002 RTP/AVP 109 34\r\n"
        "c=IN IP4 " RELAY4B "\r\n"
        "b=AS:960\r\n"
        "a=rtpmap:109 H264/90000\r\n"
        "a=fmtp:109 profile-level-id=42E016;packetization-mode=1\r\n"
        "a=rtpmap:34 H263/90000\r\n"
        "a=rtcp:40003 IN IP4 " RELAY4B "\r\n"
        "a=content:main\r\n"
        "a=label:2\r\n"
        "a=sendonly\r\n");
    check_no_leak(out, internal, NULL);

    /* Same SDP to an IPv6 relay: every c=, o= and a=rtcp says IP6. */
    relays(r, 2, RELAY6, NULL, 50000);
    out = rewrite_ok(home, sdp_av, r, 2);
    CHECK_CONTAINS(out, "\r\no=polycom 1614627411 1614627411 IN IP6 " RELAY6 "\r\n");
    CHECK_CONTAINS(out, "\r\nc=IN IP6 " RELAY6 "\r\nb=AS:1024\r\n");
    CHECK_CONTAINS(out, "\r\nm=video 50002 RTP/AVP 109 34\r\nc=IN IP6 " RELAY6 "\r\n");
    CHECK_CONTAINS(out, "\r\na=rtcp:50003 IN IP6 " RELAY6 "\r\n");
    CHECK(strstr(out, "IP4") == NULL);
    check_no_leak(out, internal, NULL);
    check_rewrite(home, sdp_av, out, out);
    su_home_deinit(home);
}

TEST(sdp_rewrite_ipv6_to_ipv4)
{
    su_home_t home[1];
    sig_sdp_ep_t r[1];
    const char *const internal[] = { "fd00:10::21", "IP6", "7078", "7079", NULL };
    char *out;

    su_home_init(home);
    relays(r, 1, RELAY4, NULL, 40000);
    out = rewrite_ok(home, sdp_ipv6, r, 1);
    /* Payload 0 and 8 had no a=rtpmap and get none. */
    check_rewrite(home, sdp_ipv6, out,
        "v=0\r\n"
        "o=alice 2214 1526 IN IP4 " RELAY4 "\r\n"
        "s=Talk\r\n"
        "c=IN IP4 " RELAY4 "\r\n"
        "t=0 0\r\n"
        "a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\r\n"
        "m=audio 40000 RTP/AVP 96 0 8 101\r\n"
        "a=rtpmap:96 opus/48000/2\r\n"
        "a=fmtp:96 useinbandfec=1\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=rtcp:40001\r\n"
        "a=rtcp-fb:* trr-int 1000\r\n"
        "a=rtcp-fb:* ccm tmmbr\r\n"
        "a=sendrecv\r\n");
    check_no_leak(out, internal, NULL);
    su_home_deinit(home);
}

TEST(sdp_rewrite_webrtc)
{
    su_home_t home[1];
    sig_sdp_ep_t r[2];
    const char *const internal[] = { "198.51.100.9", "192.168.1.77", "127.0.0.1",
                                     "0.0.0.0", "54321", NULL };
    char *out;

    su_home_init(home);
    relays(r, 2, RELAY4, NULL, 40000);
    out = rewrite_ok(home, sdp_webrtc, r, 2);
    /* UDP/TLS/RTP/SAVPF is not an RTP profile Sofia knows, so a=rtpmap
     * stays in place; DTLS, rtcp-mux, BUNDLE lines pass through; ICE is
     * removed (the relay anchors the media; candidates would leak the
     * browser's addresses). Both streams keep their own port even though
     * BUNDLE shared one. */
    check_rewrite(home, sdp_webrtc, out,
        "v=0\r\n"
        "o=- 4611731400430051336 2 IN IP4 " RELAY4 "\r\n"
        "s=-\r\n"
        "t=0 0\r\n"
        "a=group:BUNDLE 0 1\r\n"
        "a=msid-semantic: WMS stream0\r\n"
        "m=audio 40000 UDP/TLS/RTP/SAVPF 111 0 126\r\n"
        "c=IN IP4 " RELAY4 "\r\n"
        "a=rtcp:40001 IN IP4 " RELAY4 "\r\n"
        "a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F\r\n"
        "a=setup:actpass\r\n"
        "a=mid:0\r\n"
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
        "a=sendrecv\r\n"
        "a=msid:stream0 track0\r\n"
        "a=rtcp-mux\r\n"
        "a=rtpmap:111 opus/48000/2\r\n"
        "a=rtcp-fb:111 transport-cc\r\n"
        "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:126 telephone-event/8000\r\n"
        "a=ssrc:3570614608 cname:4TOk42mSjXCkVIa6\r\n"
        "m=video 40002 UDP/TLS/RTP/SAVPF 96 97\r\n"
        "c=IN IP4 " RELAY4 "\r\n"
        "b=AS:2000\r\n"
        "a=rtcp:40003 IN IP4 " RELAY4 "\r\n"
        "a=mid:1\r\n"
        "a=recvonly\r\n"
        "a=rtcp-mux\r\n"
        "a=rtpmap:96 VP8/90000\r\n"
        "a=rtcp-fb:96 nack pli\r\n"
        "a=rtpmap:97 rtx/90000\r\n"
        "a=fmtp:97 apt=96\r\n");
    /* a=rtpmap:111 stays after a=rtcp-mux: not moved to the front. */
    CHECK_CONTAINS(out, "a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
                        "a=rtcp-fb:111 transport-cc\r\n");
    check_no_leak(out, internal, NULL);
    su_home_deinit(home);
}

TEST(sdp_rewrite_session_mode)
{
    su_home_t home[1];
    sig_sdp_ep_t r[2];
    char *out;
    static const char in[] =
        "v=0\r\no=- 7 7 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        "a=recvonly\r\n"
        "m=audio 5000 RTP/AVP 0\r\n"
        "m=audio 5002 RTP/AVP 8\r\na=inactive\r\n";

    su_home_init(home);
    relays(r, 2, RELAY4, NULL, 40000);
    out = rewrite_ok(home, in, r, 2);
    /* A session-level mode is kept and copied to the media that had none;
     * a media-level mode wins. */
    CHECK_STR(out, "v=0\r\no=- 7 7 IN IP4 " RELAY4 "\r\ns=-\r\nc=IN IP4 " RELAY4 "\r\n"
                   "t=0 0\r\na=recvonly\r\n"
                   "m=audio 40000 RTP/AVP 0\r\na=recvonly\r\n"
                   "m=audio 40002 RTP/AVP 8\r\na=inactive\r\n");
    su_home_deinit(home);
}

TEST(sdp_rewrite_errors)
{
    su_home_t home[1];
    sig_sdp_ep_t r[2];
    sdp_session_t *s;
    char err[256];

    su_home_init(home);
    relays(r, 2, RELAY4, NULL, 40000);
    s = parse_ok(home, sdp_av);
    err[0] = '\0';
    CHECK(sig_sdp_rewrite(home, s, r, 0, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "no relay endpoints");
    err[0] = '\0';
    CHECK(sig_sdp_rewrite(home, s, r, 1, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "more streams than relay endpoints");
    /* More relays than streams is fine; the extra ones are unused. */
    s = parse_ok(home, sdp_sipp);
    CHECK(sig_sdp_rewrite(home, s, r, 2, err, sizeof err) != NULL);
    su_home_deinit(home);
}

/* A rewritten SDP parses again and gives the relay endpoints back. */
TEST(sdp_rewrite_round_trip)
{
    const char *const all[] = { sdp_sipp, sdp_baresip, sdp_avaya, sdp_cisco,
                                sdp_webrtc, sdp_av, sdp_ipv6, sdp_reject };
    su_home_t home[1];

    su_home_init(home);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        sig_sdp_ep_t in[SIG_SDP_MAX_STREAMS], r[SIG_SDP_MAX_STREAMS], back[SIG_SDP_MAX_STREAMS];
        char err[256], *out;
        int n, m;

        n = endpoints(home, all[i], in, SIG_SDP_MAX_STREAMS, err, sizeof err);
        CHECK_INT(n, >, 0);
        relays(r, (unsigned)n, (i % 2) ? RELAY6 : RELAY4, NULL, 30000);
        for (int k = 0; k < n; k++)
            r[k].port = in[k].port ? r[k].port : 0;
        out = rewrite_ok(home, all[i], r, (unsigned)n);
        m = endpoints(home, out, back, SIG_SDP_MAX_STREAMS, err, sizeof err);
        CHECK_INT(m, ==, n);
        for (int k = 0; k < n; k++) {
            CHECK_INT(back[k].port, ==, r[k].port);
            if (in[k].port == 0)
                continue;
            CHECK_STR(back[k].addr, r[k].addr);
            CHECK_INT(back[k].rtcp_mux, ==, in[k].rtcp_mux);
            CHECK_INT(back[k].rtcp_port, ==, in[k].rtcp_port ? r[k].rtcp_port : 0);
        }
    }
    su_home_deinit(home);
}

/* A rejected (port 0) stream is skipped entirely, so its own c= line and
 * a=rtcp address keep the internal address 10.9.8.6. */
TEST(sdp_rewrite_rejected_stream_leak)
{
    su_home_t home[1];
    sig_sdp_ep_t r[2];
    const char *const internal[] = { "10.9.8.", NULL };
    char *out;

    su_home_init(home);
    relays(r, 2, RELAY4, NULL, 40000);
    r[1].port = 0;
    out = rewrite_ok(home, sdp_reject, r, 2);
    CHECK_CONTAINS(out, "\r\nm=video 0 RTP/AVP 96\r\n");
    check_no_leak(out, internal, NULL);
    su_home_deinit(home);
}

/* Sofia 1.12.11's parser inverts its "AS" test: every bandwidth modifier
 * but CT and AS (TIAS, RS, RR, X-...) comes back as AS with its name
 * dropped, so b=TIAS:64000 (bit/s) is printed as b=AS:64000 (kbit/s) and
 * b=RS:0 / b=RR:0 ("no RTCP") as b=AS:0 ("no media"). */
TEST(sdp_rewrite_bandwidth_modifiers)
{
    su_home_t home[1];
    sig_sdp_ep_t r[2];
    char *out;
    static const char in[] =
        "v=0\r\n"
        "o=CiscoSystemsSIP-GW-UserAgent 1 1 IN IP4 10.20.30.50\r\n"
        "s=SIP Call\r\n"
        "c=IN IP4 10.20.30.50\r\n"
        "b=CT:2000\r\n"
        "b=X-YZ:77\r\n"
        "t=0 0\r\n"
        "m=audio 16434 RTP/AVP 0\r\n"
        "b=AS:80\r\n"
        "b=TIAS:64000\r\n"
        "b=RS:0\r\n"
        "b=RR:0\r\n"
        "m=video 16436 RTP/AVP 96\r\n"
        "b=TIAS:1024000\r\n"
        "a=rtpmap:96 H264/90000\r\n";

    su_home_init(home);
    relays(r, 2, RELAY4, NULL, 40000);
    out = rewrite_ok(home, in, r, 2);
    check_rewrite(home, in, out,
        "v=0\r\n"
        "o=CiscoSystemsSIP-GW-UserAgent 1 1 IN IP4 " RELAY4 "\r\n"
        "s=SIP Call\r\n"
        "c=IN IP4 " RELAY4 "\r\n"
        "b=CT:2000\r\n"
        "b=X-YZ:77\r\n"
        "t=0 0\r\n"
        "m=audio 40000 RTP/AVP 0\r\n"
        "b=AS:80\r\n"
        "b=TIAS:64000\r\n"
        "b=RS:0\r\n"
        "b=RR:0\r\n"
        "a=sendrecv\r\n"
        "m=video 40002 RTP/AVP 96\r\n"
        "b=TIAS:1024000\r\n"
        "a=rtpmap:96 H264/90000\r\n"
        "a=sendrecv\r\n");
    su_home_deinit(home);
}

/* set_conn() replaces only the address: a multicast c= keeps its TTL and
 * address count, printed after the relay's unicast address
 * ("c=IN IP4 203.0.113.7/127/3"), and "m=audio 49170/2" keeps its port
 * count although the relay gives one port (pair) per stream. */
TEST(sdp_rewrite_multicast_and_port_count)
{
    su_home_t home[1];
    sig_sdp_ep_t r[1];
    char *out;
    static const char in[] =
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 224.2.1.1/127/3\r\n"
        "t=0 0\r\nm=audio 49170/2 RTP/AVP 0\r\n";

    su_home_init(home);
    relays(r, 1, RELAY4, NULL, 40000);
    out = rewrite_ok(home, in, r, 1);
    CHECK_CONTAINS(out, "\r\nc=IN IP4 " RELAY4 "\r\n");
    CHECK_CONTAINS(out, "\r\nm=audio 40000 RTP/AVP 0\r\n");
    su_home_deinit(home);
}

/* set_srtp() sets m_proto to sdp_proto_rtp/srtp for the feedback profiles
 * too, and Sofia prints a known m_proto by its enum: RTP/AVPF comes out as
 * RTP/AVP and RTP/SAVPF as RTP/SAVP. And any other "RTP/..." protocol is
 * turned into RTP/AVP whatever its format list (here "RTP/XYZ foo", which
 * then no longer parses). */
TEST(sdp_rewrite_avpf_kept)
{
    su_home_t home[1];
    sig_sdp_ep_t r[3];
    char *out;
    static const char in[] =
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        "m=audio 5000 RTP/AVPF 0\r\na=rtcp-fb:* nack\r\n"
        "m=video 5002 RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n"
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:Hxu9NE4XJ8M8FVxo4MUl2hq5GHe3Cn1fT0u8mS2J\r\n"
        "m=message 5004 RTP/XYZ foo\r\n";

    su_home_init(home);
    relays(r, 3, RELAY4, NULL, 40000);
    r[1].ncrypto = 1;
    r[1].crypto[0].tag = 1;
    snprintf(r[1].crypto[0].suite, sizeof r[1].crypto[0].suite, "AES_CM_128_HMAC_SHA1_80");
    snprintf(r[1].crypto[0].key, sizeof r[1].crypto[0].key,
             "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz");
    out = rewrite_ok(home, in, r, 3);
    CHECK_CONTAINS(out, "\r\nm=audio 40000 RTP/AVPF 0\r\n");
    CHECK_CONTAINS(out, "\r\nm=video 40002 RTP/SAVPF 96\r\n");
    CHECK_CONTAINS(out, "\r\nm=message 40004 RTP/XYZ foo\r\n");
    su_home_deinit(home);
}

/* ICE candidates must not pass through: the browser's host address
 * 192.168.1.77 (and its srflx address) would reach the other side, which
 * would also run ICE checks against addresses that bypass the relay. */
TEST(sdp_rewrite_webrtc_candidates_leak)
{
    su_home_t home[1];
    sig_sdp_ep_t r[2];
    const char *const internal[] = { "192.168.1.77", "198.51.100.9", NULL };
    char *out;

    su_home_init(home);
    relays(r, 2, RELAY4, NULL, 40000);
    out = rewrite_ok(home, sdp_webrtc, r, 2);
    check_no_leak(out, internal, NULL);
    su_home_deinit(home);
}

static const gw_test_t tests[] = {
    T(sdp_parse_rejects),
    T(sdp_parse_all_samples),
    T(sdp_lenient_rtpmap_passes_through),
    T(sdp_endpoints_simple),
    T(sdp_endpoints_media_level_c),
    T(sdp_endpoints_webrtc),
    T(sdp_endpoints_ipv6),
    T(sdp_endpoints_stream_count),
    T(sdp_endpoints_errors),
    T(sdp_rewrite_sipp_exact),
    T(sdp_rewrite_baresip_crypto),
    T(sdp_rewrite_avaya_ipv6_relay),
    T(sdp_rewrite_cisco_media_c_and_rejected),
    T(sdp_rewrite_two_streams_two_relays),
    T(sdp_rewrite_ipv6_to_ipv4),
    T(sdp_rewrite_webrtc),
    T(sdp_rewrite_session_mode),
    T(sdp_rewrite_errors),
    T(sdp_rewrite_round_trip),
#if !defined(__SANITIZE_ADDRESS__)   /* the test caps the address space */
    T(sdp_parse_format_list_memory_bomb),
#endif
    T(sdp_endpoints_rtcp_trailing_garbage),
    T(sdp_rewrite_rejected_stream_leak),
    T(sdp_rewrite_bandwidth_modifiers),
    T(sdp_rewrite_multicast_and_port_count),
    T(sdp_rewrite_avpf_kept),
    T(sdp_rewrite_webrtc_candidates_leak),
    { NULL, NULL }
};

int main(int argc, char **argv)
{
    return gw_test_main(argc, argv, tests);
}
