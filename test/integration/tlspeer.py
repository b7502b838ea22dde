#!/usr/bin/env python3
"""A SIP-over-TLS trunk for the tests: a UAS on Python's ssl module.

tlspeer.py HOST PORT CERT KEY [--ca CA] [--require-client-cert] [--tls11]

Answers OPTIONS with 200; INVITE with 100 and then 200 carrying an SDP
answer (audio to HOST:40000, the address the relay must be told about);
BYE with 200; ACK silently. One line per message on stdout:
  "<method or status> <Call-ID> tls=<version> cipher=<name> peer-cert=<CN|->
   uri=<Request-URI>" (no uri for responses)
so that the test can see what reached the trunk and over what. Runs until
killed (the test stops it by PID); every connection has its own thread.
"""
import re
import socket
import ssl
import sys
import threading


def parse(buf):
    """Splits one SIP message off buf: (message bytes, rest) or (None, buf)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None, buf
    head = buf[:end].decode("utf-8", "replace")
    m = re.search(r"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
    n = int(m.group(1)) if m else 0
    total = end + 4 + n
    if len(buf) < total:
        return None, buf
    return buf[:total], buf[total:]


def headers(msg):
    text = msg.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    lines = text.split("\r\n")
    out = {}
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            out.setdefault(k.strip().lower(), []).append(v.strip())
    return lines[0], out


def reply(start, hdrs, code, phrase, host, port, body=b"", to_tag=None):
    out = ["SIP/2.0 %d %s" % (code, phrase)]
    for v in hdrs.get("via", []) + hdrs.get("v", []):
        out.append("Via: " + v)
    for v in hdrs.get("record-route", []):
        out.append("Record-Route: " + v)
    to = (hdrs.get("to") or hdrs.get("t"))[0]
    if to_tag and "tag=" not in to:
        to += ";tag=" + to_tag
    out.append("From: " + (hdrs.get("from") or hdrs.get("f"))[0])
    out.append("To: " + to)
    out.append("Call-ID: " + (hdrs.get("call-id") or hdrs.get("i"))[0])
    out.append("CSeq: " + hdrs["cseq"][0])
    out.append("Contact: <sip:trunk@%s:%d;transport=tls>" % (host, port))
    if body:
        out.append("Content-Type: application/sdp")
    out.append("Content-Length: %d" % len(body))
    return ("\r\n".join(out) + "\r\n\r\n").encode() + body


def serve(conn, host, port):
    try:
        conn.settimeout(60)
        peer = conn.getpeercert()
        cn = "-"
        if peer:
            for rdn in peer.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
        info = "tls=%s cipher=%s peer-cert=%s" % (conn.version(), conn.cipher()[0], cn)
        buf = b""
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while True:
                msg, buf = parse(buf)
                if msg is None:
                    break
                start, hdrs = headers(msg)
                cid = (hdrs.get("call-id") or hdrs.get("i") or ["?"])[0]
                if start.startswith("SIP/2.0"):
                    print("%s %s %s" % (start.split()[1], cid, info), flush=True)
                    continue
                method = start.split()[0]
                print("%s %s %s uri=%s" % (method, cid, info, start.split()[1]), flush=True)
                if method == "INVITE":
                    conn.sendall(reply(start, hdrs, 100, "Trying", host, port))
                    sdp = ("v=0\r\no=trunk 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\n"
                           "t=0 0\r\nm=audio 40000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n"
                           % (host, host)).encode()
                    conn.sendall(reply(start, hdrs, 200, "OK", host, port, sdp, "trunk1"))
                elif method in ("BYE", "OPTIONS", "CANCEL"):
                    conn.sendall(reply(start, hdrs, 200, "OK", host, port))
    except (OSError, ssl.SSLError) as e:
        print("error %s" % e, flush=True)
    finally:
        conn.close()


def main():
    host, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if "--tls11" in sys.argv:
        # An old trunk: TLS 1.1 at most (OpenSSL needs security level 0 for it).
        ctx.set_ciphers("DEFAULT@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    if "--ca" in sys.argv:
        ctx.load_verify_locations(sys.argv[sys.argv.index("--ca") + 1])
        ctx.verify_mode = (ssl.CERT_REQUIRED if "--require-client-cert" in sys.argv
                           else ssl.CERT_OPTIONAL)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((host, port))
    lsock.listen(16)
    print("listening %s:%d" % (host, port), flush=True)
    while True:
        raw, _ = lsock.accept()
        try:
            conn = ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError) as e:
            print("handshake-failed %s" % e, flush=True)
            raw.close()
            continue
        threading.Thread(target=serve, args=(conn, host, port), daemon=True).start()


if __name__ == "__main__":
    main()
