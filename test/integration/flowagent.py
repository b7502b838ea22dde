#!/usr/bin/env python3
"""A remote agent on a stream flow (TCP or TLS) for the NAT tests.

flowagent.py tcp|tls SRC_IP DST_IP:PORT USER PRIVATE_HOST SECONDS [--ca CA --name NAME]

Opens ONE connection from SRC_IP to sigd and never listens: like an agent
behind a NAT, it can only be reached over the connection it opened. It
REGISTERs with a private Contact (PRIVATE_HOST), then answers on that
same connection whatever comes: OPTIONS 200; INVITE 100 + 200 with SDP;
BYE 200 (and stops). Prints one line per event: "registered CODE",
"invite", "ack", "bye", and at the end "connections 1 calls N".
"""
import random
import re
import socket
import ssl
import sys
import time


def parse(buf):
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None, buf
    head = buf[:end].decode("utf-8", "replace")
    m = re.search(r"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
    total = end + 4 + (int(m.group(1)) if m else 0)
    if len(buf) < total:
        return None, buf
    return buf[:total], buf[total:]


def hdrs(msg):
    lines = msg.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").split("\r\n")
    out = []
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            out.append((k.strip(), v.strip()))
    return lines[0], out


def reply(start, hs, code, phrase, contact, body=b""):
    keep = [(k, v) for k, v in hs if k.lower() in
            ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq", "record-route")]
    out = ["SIP/2.0 %d %s" % (code, phrase)]
    for k, v in keep:
        if k.lower() in ("to", "t") and code > 100 and "tag=" not in v:
            v += ";tag=agent%d" % random.getrandbits(16)
        out.append("%s: %s" % (k, v))
    out.append("Contact: %s" % contact)
    if body:
        out.append("Content-Type: application/sdp")
    out.append("Content-Length: %d" % len(body))
    return ("\r\n".join(out) + "\r\n\r\n").encode() + body


def main():
    tr, src, dst, user, priv, secs = sys.argv[1:7]
    host, port = dst.rsplit(":", 1)
    raw = socket.socket()
    raw.bind((src, 0))
    raw.settimeout(5)
    raw.connect((host, int(port)))
    if tr == "tls":
        ctx = ssl.create_default_context(cafile=sys.argv[sys.argv.index("--ca") + 1])
        s = ctx.wrap_socket(raw, server_hostname=sys.argv[sys.argv.index("--name") + 1])
    else:
        s = raw
    contact = "<sip:%s@%s:5060;transport=%s>" % (user, priv, tr)
    cid = "%08x@%s" % (random.getrandbits(32), priv)
    reg = ("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/%s %s:5060;branch=z9hG4bK%08x;rport\r\n"
           "From: <sip:%s@%s>;tag=%x\r\nTo: <sip:%s@%s>\r\nCall-ID: %s\r\nCSeq: 1 REGISTER\r\n"
           "Contact: %s;expires=60\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
           % (dst, tr.upper(), priv, random.getrandbits(32), user, host,
              random.getrandbits(24), user, host, cid, contact))
    s.sendall(reg.encode())
    buf = b""
    calls = 0
    deadline = time.time() + float(secs)
    done = False
    while not done and time.time() < deadline:
        s.settimeout(max(0.05, deadline - time.time()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        if not data:
            print("closed by sigd", flush=True)
            break
        buf += data
        while True:
            msg, buf = parse(buf)
            if msg is None:
                break
            start, hs = hdrs(msg)
            if start.startswith("SIP/2.0 "):
                if "REGISTER" in dict((k.lower(), v) for k, v in hs).get("cseq", ""):
                    code = int(start.split()[1])
                    if code >= 200:
                        print("registered %d" % code, flush=True)
                continue
            method = start.split()[0]
            if method == "OPTIONS":
                s.sendall(reply(start, hs, 200, "OK", contact))
            elif method == "INVITE":
                print("invite", flush=True)
                calls += 1
                s.sendall(reply(start, hs, 100, "Trying", contact))
                sdp = ("v=0\r\no=agent 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                       "m=audio 40000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n" % (priv, priv)).encode()
                s.sendall(reply(start, hs, 200, "OK", contact, sdp))
            elif method == "ACK":
                print("ack", flush=True)
            elif method == "BYE":
                print("bye", flush=True)
                s.sendall(reply(start, hs, 200, "OK", contact))
                done = True
    print("connections 1 calls %d" % calls, flush=True)
    s.close()


if __name__ == "__main__":
    main()
