/* sigd topology hiding (topo.c): the header list, and what a request and
 * a response look like once hidden, on messages parsed by Sofia. */
#include "topo.h"
#include "runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip_header.h>

#define HIDE "Server, User-Agent, Organization, Warning, P-Charging-Vector, X-*"

TEST(topo_name_listed)
{
    CHECK(sig__topo_name_listed(HIDE, "Server"));
    CHECK(sig__topo_name_listed(HIDE, "server"));
    CHECK(sig__topo_name_listed(HIDE, "X-Genesys-CallUUID"));
    CHECK(sig__topo_name_listed(HIDE, "x-anything"));
    CHECK(!sig__topo_name_listed(HIDE, "P-Asserted-Identity"));
    CHECK(!sig__topo_name_listed(HIDE, "Serve"));
    CHECK(!sig__topo_name_listed(HIDE, "Servers"));
    CHECK(!sig__topo_name_listed("", "Server"));
    CHECK(sig__topo_name_listed(" Warning ,Server", "warning"));
}

static void config(sig_daemon_t *sig)
{
    memset(sig, 0, sizeof *sig);
    strcpy(sig->cfg.ext_addr, "203.0.113.10");
    sig->cfg.ext_port = 5060;
    strcpy(sig->cfg.int_addr, "10.1.0.10");
    sig->cfg.int_port = 5060;
    sig->cfg.topology_hiding = 1;
    strcpy(sig->cfg.hide_headers, HIDE);
    strcpy(sig->cfg.topology_hiding_off, "carrierB");
}

static msg_t *parse(const char *text)
{
    msg_t *msg = msg_make(sip_default_mclass(), 0, text, (isize_t)strlen(text));

    return msg && sip_object(msg) && sip_object(msg)->sip_via ? msg : NULL;
}

static char *print(msg_t *msg, char *buf, size_t len)
{
    size_t n;
    char *s = msg_as_string(msg_home(msg), msg, NULL, 0, &n);

    snprintf(buf, len, "%s", s ? s : "");
    return buf;
}

TEST(topo_applies_per_trunk)
{
    sig_daemon_t sig;

    config(&sig);
    CHECK(sig_topo_applies(&sig, NULL));
    CHECK(sig_topo_applies(&sig, "carrierA"));
    CHECK(!sig_topo_applies(&sig, "carrierB"));
    sig.cfg.topology_hiding = 0;
    CHECK(!sig_topo_applies(&sig, NULL));
}

/* A 200 from the platform, going back to a caller on EXT that came over
 * TCP through a proxy of its own. */
TEST(topo_response_to_ext)
{
    sig_daemon_t sig;
    char out[4096];
    msg_t *req = parse("INVITE sip:4711@203.0.113.10 SIP/2.0\r\n"
                       "Via: SIP/2.0/TCP 198.51.100.7:5060;branch=z9hG4bK1\r\n"
                       "Via: SIP/2.0/UDP 192.168.1.5:5060;branch=z9hG4bK0\r\n"
                       "Record-Route: <sip:198.51.100.7;lr>, <sip:198.51.100.8;lr>\r\n"
                       "From: <sip:a@example.com>;tag=1\r\nTo: <sip:4711@example.com>\r\n"
                       "Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
    msg_t *rsp = parse("SIP/2.0 200 OK\r\n"
                       "Via: SIP/2.0/TCP 10.1.0.10:5060;branch=z9hG4bKours\r\n"
                       "Record-Route: <sip:10.1.0.10;lr>\r\n"
                       "Record-Route: <sip:10.9.9.9;lr>\r\n"
                       "From: <sip:a@example.com>;tag=1\r\nTo: <sip:4711@example.com>;tag=2\r\n"
                       "Call-ID: c1\r\nCSeq: 1 INVITE\r\n"
                       "Contact: <sip:agent@10.9.9.20:5080>;+sip.instance=\"<urn:x>\";expires=60\r\n"
                       "Server: PBX 9 (10.9.9.20)\r\nWarning: 399 10.9.9.20 \"x\"\r\n"
                       "X-Agent: 10.9.9.20\r\nP-Asserted-Identity: <sip:4711@example.com>\r\n"
                       "Content-Length: 0\r\n\r\n");
    sip_t *rs, *s;

    config(&sig);
    CHECK(req != NULL && rsp != NULL);
    if (req == NULL || rsp == NULL)
        return;
    rs = sip_object(req);
    s = sip_object(rsp);
    CHECK(sig_topo_response(&sig, rsp, s, rs->sip_via, rs->sip_record_route,
                            GW__SIDE__SIDE_EXT, 1) == 0);
    print(rsp, out, sizeof out);
    CHECK(strstr(out, "10.") == NULL);           /* no internal address left */
    CHECK(strstr(out, "Via: SIP/2.0/TCP 198.51.100.7:5060;branch=z9hG4bK1\r\n"
                      "Via: SIP/2.0/UDP 192.168.1.5:5060;branch=z9hG4bK0\r\n") != NULL);
    CHECK(strstr(out, "Record-Route: <sip:203.0.113.10:5060;transport=tcp;lr>\r\n"
                      "Record-Route: <sip:198.51.100.7;lr>\r\n"
                      "Record-Route: <sip:198.51.100.8;lr>\r\n") != NULL);
    CHECK(strstr(out, "Contact: <sip:203.0.113.10:5060;transport=tcp>;expires=60\r\n") != NULL);
    CHECK(strstr(out, "urn:x") == NULL);
    CHECK(s->sip_server == NULL && s->sip_warning == NULL);
    CHECK(strstr(out, "X-Agent") == NULL);
    CHECK(strstr(out, "P-Asserted-Identity: <sip:4711@example.com>") != NULL);
    msg_destroy(req);
    msg_destroy(rsp);
}

/* A request from EXT on its way to the platform: its Vias go, the
 * Record-Route is ours on INT, the Contact ours; a forged source header
 * is replaced by the real source; headers stay (INT). */
TEST(topo_request_to_int)
{
    sig_daemon_t sig;
    char out[4096];
    msg_t *msg = parse("INVITE sip:4711@10.9.9.20 SIP/2.0\r\n"
                       "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK1\r\n"
                       "Record-Route: <sip:10.1.0.10;lr>\r\n"
                       "Record-Route: <sip:203.0.113.10;lr>\r\n"
                       "Record-Route: <sip:198.51.100.7;lr>\r\n"
                       "From: <sip:a@example.com>;tag=1\r\nTo: <sip:4711@example.com>\r\n"
                       "Call-ID: c1\r\nCSeq: 1 INVITE\r\n"
                       "Contact: <sip:a@192.168.1.5:5060>\r\nUser-Agent: phone\r\n"
                       "X-Src: 192.0.2.66:5060\r\nContent-Length: 0\r\n\r\n");
    sip_t *s;

    config(&sig);
    strcpy(sig.cfg.source_header, "X-Src");
    CHECK(msg != NULL);
    if (msg == NULL)
        return;
    s = sip_object(msg);
    CHECK(sig_topo_source(&sig, msg, s, 1, "198.51.100.7:5060") == 0);
    CHECK(sig_topo_request(&sig, msg, s, GW__SIDE__SIDE_INT, SIG_TP_UDP, 1) == 0);
    print(msg, out, sizeof out);
    CHECK(s->sip_via == NULL);
    CHECK(strstr(out, "198.51.100.7;lr") == NULL && strstr(out, "203.0.113.10") == NULL);
    CHECK(strstr(out, "Record-Route: <sip:10.1.0.10:5060;lr>\r\n") != NULL);
    CHECK(strstr(out, "Contact: <sip:10.1.0.10:5060>\r\n") != NULL);
    CHECK(strstr(out, "192.0.2.66") == NULL);
    CHECK(strstr(out, "X-Src: 198.51.100.7:5060\r\n") != NULL);
    CHECK(strstr(out, "User-Agent: phone") != NULL);   /* only EXT loses headers */
    msg_destroy(msg);
}

/* The registrar's 200 to an agent on EXT: its Path and Service-Route
 * name the inside; the bindings (Contact) stay as they are. */
TEST(topo_register_response_to_ext)
{
    sig_daemon_t sig;
    char out[4096];
    msg_t *req = parse("REGISTER sip:example.com SIP/2.0\r\n"
                       "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK1\r\n"
                       "From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\n"
                       "Call-ID: r1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n");
    msg_t *rsp = parse("SIP/2.0 200 OK\r\n"
                       "Via: SIP/2.0/UDP 10.1.0.10:5060;branch=z9hG4bKours\r\n"
                       "From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>;tag=9\r\n"
                       "Call-ID: r1\r\nCSeq: 1 REGISTER\r\n"
                       "Contact: <sip:a@198.51.100.7:5060>;expires=300\r\n"
                       "Path: <sip:10.1.0.10:5060;lr;gwflow=udp~198.51.100.7~5060>\r\n"
                       "Service-Route: <sip:10.9.9.1;lr>\r\n"
                       "Content-Length: 0\r\n\r\n");
    sip_t *rs;

    config(&sig);
    CHECK(req != NULL && rsp != NULL);
    if (req == NULL || rsp == NULL)
        return;
    rs = sip_object(req);
    CHECK(sig_topo_response(&sig, rsp, sip_object(rsp), rs->sip_via, NULL,
                            GW__SIDE__SIDE_EXT, 0) == 0);
    print(rsp, out, sizeof out);
    CHECK(strstr(out, "10.") == NULL);
    CHECK(strstr(out, "Contact: <sip:a@198.51.100.7:5060>;expires=300\r\n") != NULL);
    msg_destroy(req);
    msg_destroy(rsp);
}

static const gw_test_t tests[] = {
    T(topo_name_listed), T(topo_applies_per_trunk), T(topo_response_to_ext),
    T(topo_request_to_int),
    T(topo_register_response_to_ext), { NULL, NULL }
};

int main(int argc, char **argv)
{
    return gw_test_main(argc, argv, tests);
}
