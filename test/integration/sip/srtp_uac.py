#!/usr/bin/python3
"""An external SRTP phone, written for the test: a minimal SIP UAC over UDP
(INVITE, ACK along the record-routed path, BYE) that offers RTP/SAVP with an
SDES key and sends real SRTP (pylibsrtp) through the gateway to a plain-RTP
platform that echoes (sipp -rtp_echo), then decrypts the echo with the key
the gateway answered with and compares payloads.

Usage: srtp_uac.py PHONE_IP SIGD_EXT_IP SIGD_PORT SUITE [COUNT]
SUITE "BOGUS" offers only an unsupported suite and expects 488.
Prints ok/not ok lines; exit 1 on failure.
"""
import base64
import os
import random
import re
import socket
import struct
import sys
import time

import pylibsrtp

PHONE, PROXY, PPORT, SUITE = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
COUNT = int(sys.argv[5]) if len(sys.argv) > 5 else 50
PROFILES = {
    "AES_CM_128_HMAC_SHA1_80": (pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 30),
    "AES_CM_128_HMAC_SHA1_32": (pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32, 30),
    "AEAD_AES_128_GCM": (pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 28),
}
failed = 0


def report(ok, what):
    global failed
    print(("ok - " if ok else "not ok - ") + "srtp-call %s: %s" % (SUITE, what), flush=True)
    failed += 0 if ok else 1


sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sip.bind((PHONE, 0))
sip.settimeout(0.5)
media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
media.bind((PHONE, 0))
media.settimeout(0.5)
sport, mport = sip.getsockname()[1], media.getsockname()[1]
call_id = "srtp-%d@%s" % (random.randint(0, 1 << 30), PHONE)
ftag = "f%d" % random.randint(0, 1 << 30)
key = os.urandom(PROFILES.get(SUITE, (None, 30))[1])
suite_name = SUITE if SUITE in PROFILES else "F8_128_HMAC_SHA1_80"
sdp = ("v=0\r\no=phone 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
       "m=audio %d RTP/SAVP 8\r\na=rtpmap:8 PCMA/8000\r\n"
       "a=crypto:1 %s inline:%s\r\na=sendrecv\r\n") % (
    PHONE, PHONE, mport, suite_name, base64.b64encode(key).decode())


def request(method, ruri, cseq, to_tag=None, routes=(), body=""):
    branch = "z9hG4bK%d" % random.randint(0, 1 << 40)
    lines = ["%s %s SIP/2.0" % (method, ruri),
             "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (PHONE, sport, branch),
             "Max-Forwards: 70",
             "From: <sip:phone@%s>;tag=%s" % (PHONE, ftag),
             "To: <sip:service@%s:%d>%s" % (PROXY, PPORT, ";tag=" + to_tag if to_tag else ""),
             "Call-ID: " + call_id,
             "CSeq: %d %s" % (cseq, method),
             "Contact: <sip:phone@%s:%d>" % (PHONE, sport)]
    lines += ["Route: " + r for r in routes]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def send_to_first_hop(msg, routes):
    if routes:
        m = re.search(r"sip:([\d.]+):(\d+)", routes[0])
        sip.sendto(msg, (m.group(1), int(m.group(2))))
    else:
        sip.sendto(msg, (PROXY, PPORT))


def wait_final(deadline_s=8):
    end = time.time() + deadline_s
    while time.time() < end:
        try:
            data, _ = sip.recvfrom(65535)
        except socket.timeout:
            continue
        text = data.decode(errors="replace")
        m = re.match(r"SIP/2.0 (\d+)", text)
        if m and int(m.group(1)) >= 200:
            return int(m.group(1)), text
    return None, None


def header(text, name):
    return re.findall(r"^%s:\s*(.*?)\r?$" % name, text, re.M | re.I)


sip.sendto(request("INVITE", "sip:service@%s:%d" % (PROXY, PPORT), 1, body=sdp), (PROXY, PPORT))
status, resp = wait_final()
if SUITE not in PROFILES:
    report(status == 488, "an offer with only an unsupported suite gets 488 (got %s)" % status)
    if status and status >= 300:
        sip.sendto(request("ACK", "sip:service@%s:%d" % (PROXY, PPORT), 1,
                           to_tag=re.search(r"tag=([^;\s>]+)", header(resp, "To")[0]).group(1)),
                   (PROXY, PPORT))
    sys.exit(1 if failed else 0)
report(status == 200, "call answered (status %s)" % status)
if status != 200:
    sys.exit(1)
body = resp.split("\r\n\r\n", 1)[1]
to_tag = re.search(r"tag=([^;\s>]+)", header(resp, "To")[0]).group(1)
contact = re.search(r"<([^>]+)>", header(resp, "Contact")[0]).group(1)
rr = []
for h in header(resp, "Record-Route"):
    rr += [x.strip() for x in h.split(",")]
routes = list(reversed(rr))
c = re.search(r"^c=IN IP4 (\S+)", body, re.M).group(1)
m = re.search(r"^m=audio (\d+) (\S+)", body, re.M)
relay = (c, int(m.group(1)))
crypto = re.findall(r"^a=crypto:(\d+) (\S+) inline:([^|\s]+)", body, re.M)
report(m.group(2) == "RTP/SAVP" and len(crypto) == 1 and crypto[0][1] == SUITE and crypto[0][0] == "1",
       "answer is RTP/SAVP with one a=crypto line of our suite and tag (%s, %d line(s))" % (m.group(2), len(crypto)))
report(crypto and base64.b64decode(crypto[0][2]) != key, "the gateway answers with its own key, not ours")
report(c == PROXY, "answer names the relay on EXT (%s)" % c)
sip_ack = request("ACK", contact, 1, to_tag=to_tag, routes=routes)
send_to_first_hop(sip_ack, routes)

prof = PROFILES[SUITE][0]
tx = pylibsrtp.Session(policy=pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
                                               srtp_profile=prof))
rx = pylibsrtp.Session(policy=pylibsrtp.Policy(key=base64.b64decode(crypto[0][2]),
                                               ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND,
                                               srtp_profile=prof))
sent_payloads, got_payloads = set(), set()


def collect(timeout):
    media.settimeout(timeout)
    try:
        data, src = media.recvfrom(2048)
    except socket.timeout:
        return False
    try:
        plain = rx.unprotect(data)
    except pylibsrtp.Error:
        return True
    if src == relay:
        got_payloads.add(plain[12:])
    return True


for i in range(COUNT):
    payload = os.urandom(160)
    sent_payloads.add(payload)
    pkt = struct.pack("!BBHII", 0x80, 8, i, i * 160, 0x1234ABCD) + payload
    media.sendto(tx.protect(pkt), relay)
    end = time.time() + 0.02
    while time.time() < end and collect(max(0.001, end - time.time())):
        pass
# Late echoes on a loaded machine still count, within 2 s.
end = time.time() + 2
while len(got_payloads & sent_payloads) < COUNT and time.time() < end:
    collect(0.1)
good = len(got_payloads & sent_payloads)
report(good == COUNT, "%d of %d SRTP packets came back through the plain-RTP echo, decrypted to the same payload"
       % (good, COUNT))
bye = request("BYE", contact, 2, to_tag=to_tag, routes=routes)
send_to_first_hop(bye, routes)
status, _ = wait_final()
report(status == 200, "BYE answered 200")
sys.exit(1 if failed else 0)
