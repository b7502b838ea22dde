"""Sends the RFC 4475 torture messages to sigd's EXT side and records, per
message, what came back to the sender and what reached the platform.

    /usr/bin/python3 rfc4475.py CORPUS_DIR SIGD_HOST SIGD_PORT SENDER_NET \
        PLATFORM_ADDR PLATFORM_PORT WAIT_S [NAME...]

The script is also the internal platform (a UDP and a TCP listener on
PLATFORM_ADDR:PLATFORM_PORT, the internal target sigd routes new requests
to): it records the Call-ID of every request that arrives and answers it,
486 to an INVITE (then absorbs the ACK), 200 to anything else. An INVITE
whose From user is "sipp" (the call in progress of test-rfc4475.sh) is
answered 200 with SDP naming an RTP port of ours that echoes every
packet back, and its BYE 200: the platform side of a real call.

Each message goes out on its own socket (UDP, TCP when its top Via says
TCP, TLS when it says TLS and the environment names sigd's TLS port in
RFC4475_TLS_PORT, without checking sigd's certificate; TCP otherwise),
all of them at once, each from its own address (a UDP socket
bound to its top Via's port, where responses go when there is no rport), then replies are read for WAIT_S
seconds. Prints one line per message:

    case NAME TRANSPORT statuses=S[,S...]|none fwd=0|1

statuses are the status codes of the responses received on that message's
socket (a retransmission counted once); fwd=1 when a request with the
message's Call-ID reached the platform. Lines "platform CALL-ID METHOD"
list what the platform received. Only the standard library; nothing is
sent anywhere but SIGD_HOST:SIGD_PORT and back to sigd from the platform.
"""
import os
import re
import select
import socket
import ssl
import sys
import time

corpus, host, port, sender = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
paddr, pport, wait = sys.argv[5], int(sys.argv[6]), float(sys.argv[7])
only = set(sys.argv[8:])

HDR_RE = re.compile(rb"^(call-id|i)[ \t]*:[ \t]*(\S+)", re.I | re.M)


def call_id(b):
    head = b.split(b"\r\n\r\n", 1)[0]
    m = HDR_RE.search(head)
    return m.group(2).decode("latin-1") if m else None


def top_via(b):
    """(transport, port) of the top Via; the port a response over UDP
    goes to when the Via has no rport (RFC 3261 18.2.2), 5060 by default."""
    m = re.search(rb"^(via|v)[ \t]*:[ \t]*SIP[ \t\r\n]*/[ \t\r\n]*2\.0[ \t\r\n]*/[ \t\r\n]*(\w+)"
                  rb"[ \t\r\n]*[^ \t\r\n:;,]+(:(\d+))?", b, re.I | re.M)
    if not m:
        return "UDP", 5060
    return m.group(2).decode().upper(), int(m.group(4) or 5060)


def headers(msg):
    """The header lines of a request sigd sent (Sofia prints one per line)."""
    head = msg.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    return head[0], head[1:]


def answer(msg, echo_port):
    first, hl = headers(msg)
    method = first.split(" ", 1)[0]
    keep = [h for h in hl if re.match(r"(via|v|from|f|to|t|call-id|i|cseq|record-route)\s*:", h, re.I)]
    keep = [h + (";tag=plat1" if re.match(r"(to|t)\s*:", h, re.I) and "tag=" not in h else "")
            for h in keep]
    body = ""
    if method == "INVITE" and re.search(r"^(from|f)\s*:.*sip:sipp@", "\n".join(hl), re.I | re.M):
        status = "200 OK"
        body = ("v=0\r\no=plat 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                "m=audio %d RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"
                "a=rtpmap:101 telephone-event/8000\r\n" % (paddr, paddr, echo_port))
        keep.append("Contact: <sip:plat@%s:%d>" % (paddr, pport))
        keep.append("Content-Type: application/sdp")
    elif method == "INVITE":
        status = "486 Busy Here"
    else:
        status = "200 OK"
    keep.append("Content-Length: %d" % len(body))
    return ("SIP/2.0 %s\r\n" % status + "\r\n".join(keep) + "\r\n\r\n" + body).encode("latin-1")


def frames(buf):
    """Splits a TCP byte stream into messages by Content-Length; returns
    (messages, rest)."""
    out = []
    while True:
        buf = buf.lstrip(b"\r\n")
        i = buf.find(b"\r\n\r\n")
        if i < 0:
            return out, buf
        m = re.search(rb"^(content-length|l)[ \t]*:[ \t]*(\d+)", buf[:i], re.I | re.M)
        n = int(m.group(2)) if m else 0
        if len(buf) < i + 4 + n:
            return out, buf
        out.append(buf[:i + 4 + n])
        buf = buf[i + 4 + n:]


def status_of(msg):
    m = re.match(rb"SIP/2\.0 (\d+)", msg)
    return m.group(1).decode() if m else None


# ---- the platform -----------------------------------------------------------
pu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
pu.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
pu.bind((paddr, pport))
pt = socket.socket()
pt.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
pt.bind((paddr, pport))
pt.listen(16)
echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
echo.bind((paddr, 0))
echo_port = echo.getsockname()[1]
arrived = []          # (call-id, method)
pconns = {}           # socket -> buffer


def platform_request(msg, reply):
    first, _ = headers(msg)
    if not re.match(r"\S+ \S+ SIP/2\.0$", first):
        return        # a response to one of ours: none sent
    method = first.split(" ", 1)[0]
    arrived.append((call_id(msg), method))
    if method != "ACK":
        reply(answer(msg, echo_port))


# ---- the cases ---------------------------------------------------------------
cases = []
for f in sorted(os.listdir(corpus)):
    if not f.endswith(".dat"):
        continue
    name = f[:-4]
    if only and name not in only:
        continue
    data = open(os.path.join(corpus, f), "rb").read()
    vtr, vport = top_via(data)
    tr = "tcp" if vtr in ("TCP", "TLS") else "udp"
    if vtr == "TLS" and os.environ.get("RFC4475_TLS_PORT"):
        tr = "tls"
    # One source address per message (SENDER_ADDR is a /24 prefix such as
    # 127.0.23), so that sigd's per-source log limit shows every case.
    src = "%s.%d" % (sender, 10 + len(cases))
    if tr in ("tcp", "tls"):
        s = socket.socket()
        s.bind((src, 0))
        s.settimeout(2)
        try:
            if tr == "tls":
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                s = ctx.wrap_socket(s)
                s.connect((host, int(os.environ["RFC4475_TLS_PORT"])))
            else:
                s.connect((host, port))
            s.sendall(data)
        except OSError as e:
            print("case %s %s error:%s" % (name, tr, e))
            continue
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, vport))
        s.sendto(data, (host, port))
    s.setblocking(False)
    cases.append({"name": name, "tr": tr, "sock": s, "cid": call_id(data), "src": src,
                  "statuses": [], "buf": b"", "seen": set()})

end = time.time() + wait
bysock = {c["sock"]: c for c in cases}
while time.time() < end:
    rl = [pu, pt, echo] + list(pconns) + list(bysock)
    r, _, _ = select.select(rl, [], [], max(0.0, end - time.time()))
    for s in r:
        if s is pu:
            msg, src = pu.recvfrom(65535)
            platform_request(msg, lambda b, src=src: pu.sendto(b, src))
        elif s is pt:
            c, _ = pt.accept()
            c.setblocking(False)
            pconns[c] = b""
        elif s is echo:
            pkt, src = echo.recvfrom(2048)
            echo.sendto(pkt, src)
        elif s in pconns:
            try:
                d = s.recv(65535)
            except OSError:
                d = b""
            if not d:
                del pconns[s]
                s.close()
                continue
            msgs, pconns[s] = frames(pconns[s] + d)
            for m in msgs:
                platform_request(m, lambda b, s=s: s.sendall(b))
        else:
            c = bysock[s]
            try:
                d = s.recv(65535)
            except ssl.SSLWantReadError:
                continue
            except OSError:
                d = b""
            if not d:
                del bysock[s]
                continue
            msgs = [d] if c["tr"] == "udp" else None
            if msgs is None:
                msgs, c["buf"] = frames(c["buf"] + d)
            for m in msgs:
                st = status_of(m)
                if st and m not in c["seen"]:
                    c["seen"].add(m)
                    c["statuses"].append(st)

cids = {cid for cid, _ in arrived}
for c in cases:
    fwd = 1 if c["cid"] and c["cid"] in cids else 0
    print("case %s %s %s statuses=%s fwd=%d" % (c["name"], c["tr"], c["src"],
          ",".join(c["statuses"]) or "none", fwd))
for cid, m in arrived:
    print("platform %s %s" % (cid, m))
sys.stdout.flush()
