"""Sends a corpus of malformed SIP messages to one SIP listener and reports,
per message, what came back.

    /usr/bin/python3 sipfuzz.py udp|tcp HOST PORT WAIT_S LOCAL_ADDR PROBE_ADDR:PORT

UDP: one socket, one datagram per case. TCP: one connection per case. The
replies to a case are read until a final response to it arrives or WAIT_S
seconds pass. Prints one line per case:

    case NAME STATUSES [relayed]

STATUSES is a comma-separated list of the SIP status codes received for the
case, in order, "none" when nothing came back, "garbage" for bytes that were
no SIP response, "error:..." when the connection could not be made. A
response carrying the Call-ID of another case (a retransmission of an
earlier final response) is not counted. "relayed" means that the case's
request reached PROBE_ADDR:PORT, a UDP listener standing for an arbitrary
host on the internal network. The caller judges the outcomes.

Every case has its own Call-ID and branch, so that no case is taken for a
retransmission of another; the corpus is fixed (seeded). Only the standard
library; nothing is sent anywhere but HOST:PORT.
"""
import random
import re
import socket
import sys
import time

proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
wait = float(sys.argv[4])
LOCAL_ADDR = sys.argv[5]
probe_host, probe_port = sys.argv[6].rsplit(":", 1)
probe_port = int(probe_port)

rnd = random.Random(20240607)
VIA_PROTO = "SIP/2.0/UDP" if proto == "udp" else "SIP/2.0/TCP"
# A UDP datagram carries at most 65507 bytes: stay below it on UDP.
BIG = 60000 if proto == "udp" else 70 * 1024


def sdp(addr):
    return ("v=0\r\no=bad 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio 40000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n" % (addr, addr))


def request(name, local, method="INVITE", drop=(), extra=(), body=None,
            clen=None, ruri=None, to_tag=False, vias=1):
    """A request built header by header; `drop` names headers to leave out.
    Its Call-ID starts with "badinput-NAME-"."""
    lh, lp = local
    ruri = ruri or "sip:service@%s:%d" % (host, port)
    if body is None:
        body = sdp(lh) if method == "INVITE" else ""
    hdrs = []
    for i in range(vias):
        hdrs.append(("Via", "%s %s:%d;rport;branch=z9hG4bK-%s-%d-%d"
                     % (VIA_PROTO, lh, lp, name, i, rnd.randrange(1 << 30))))
    hdrs += [
        ("From", "<sip:fuzz@%s:%d>;tag=fz%d" % (lh, lp, rnd.randrange(1 << 30))),
        ("To", "<sip:service@%s:%d>%s"
         % (host, port, ";tag=gone%d" % rnd.randrange(1 << 30) if to_tag else "")),
        ("Call-ID", "badinput-%s-%d@%s" % (name, rnd.randrange(1 << 30), lh)),
        ("CSeq", "1 %s" % method),
        ("Contact", "<sip:fuzz@%s:%d>" % (lh, lp)),
        ("Max-Forwards", "70"),
    ]
    if body:
        hdrs.append(("Content-Type", "application/sdp"))
    hdrs.append(("Content-Length", str(len(body)) if clen is None else clen))
    hdrs = [h for h in hdrs if h[0] not in drop] + list(extra)
    head = "%s %s SIP/2.0\r\n" % (method, ruri)
    head += "".join("%s: %s\r\n" % h for h in hdrs)
    return (head + "\r\n" + body).encode("latin-1")


def corpus(local):
    """(name, bytes) for every case; `local` is the sender's address."""
    lh, lp = local
    yield "garbage", bytes(rnd.randrange(256) for _ in range(512))
    yield "request-line-only", ("INVITE sip:service@%s:%d SIP/2.0\r\n\r\n"
                                % (host, port)).encode()
    yield "no-call-id", request("no-call-id", local, drop=("Call-ID",))
    yield "no-via", request("no-via", local, drop=("Via",))
    yield "no-cseq", request("no-cseq", local, drop=("CSeq",))
    yield "clen-too-large", request("clen-too-large", local, clen="5000")
    yield "clen-negative", request("clen-negative", local, clen="-5")
    yield "clen-non-numeric", request("clen-non-numeric", local, clen="abc")
    yield "long-header", request("long-header", local,
                                 extra=(("X-Long", "a" * BIG),))
    yield "many-via", request("many-via", local, vias=BIG // 80)
    yield "broken-sdp", request("broken-sdp", local,
                                body="v=0\r\nm=audio xx\r\n")
    # In-dialog (To tag) requests for a dialog that does not exist: one
    # addressed to the gateway itself, one to a host on the internal side.
    yield "bye-unknown-dialog", request("bye-unknown-dialog", local,
                                        method="BYE", to_tag=True)
    yield "bye-unknown-dialog-inside", request(
        "bye-unknown-dialog-inside", local, method="BYE", to_tag=True,
        ruri="sip:probe@%s:%d" % (probe_host, probe_port))
    yield "cancel-no-transaction", request("cancel-no-transaction", local,
                                           method="CANCEL")
    yield "nul-bytes", b"\x00" * 300
    yield "nul-in-headers", request("nul-in-headers", local).replace(
        b"Call-ID: badinput-", b"Call-ID: \x00\x00badinput-\x00").replace(
        b" SIP/2.0\r\n", b" SIP/2.0\x00\r\n", 1)
    yield "stray-response", (
        "SIP/2.0 200 OK\r\nVia: %s %s:%d;branch=z9hG4bK-stray\r\n"
        "From: <sip:a@%s>;tag=1\r\nTo: <sip:b@%s>;tag=2\r\n"
        "Call-ID: badinput-stray-response-1@%s\r\nCSeq: 1 INVITE\r\n"
        "Content-Length: 0\r\n\r\n" % (VIA_PROTO, lh, lp, lh, lh, lh)).encode()


RESPONSE = re.compile(rb"SIP/2\.0 (\d{3}) ")
CALL_ID = re.compile(rb"\r\n(?:Call-ID|i)\s*:\s*\S*badinput-([a-z-]+?)-\d",
                     re.IGNORECASE)


class Collector:
    """The responses to one case, from a stream (TCP) or datagrams (UDP)."""

    def __init__(self, name):
        self.name, self.codes, self.final, self.junk = name, [], False, False

    def feed(self, data):
        starts = [m.start() for m in RESPONSE.finditer(data)]
        if not starts:
            self.junk = self.junk or bool(data)
            return
        for i, s in enumerate(starts):
            msg = data[s:starts[i + 1] if i + 1 < len(starts) else len(data)]
            m = CALL_ID.search(msg)
            if m and m.group(1).decode() != self.name:
                continue        # another case's retransmission
            code = int(RESPONSE.match(msg).group(1))
            self.codes.append(code)
            if code >= 200:
                self.final = True

    def result(self):
        if self.codes:
            return [str(c) for c in self.codes]
        return ["garbage"] if self.junk else ["none"]


def probe_socket():
    p = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    p.bind((probe_host, probe_port))
    p.setblocking(False)
    return p


PROBED = set()


def probed(p, name):
    """True if the request of case `name` reached the probe. A request is
    known by its Call-ID; retransmissions of an earlier case's request are
    counted for that case, whose line is already printed."""
    while True:
        try:
            data = p.recv(70000)
        except BlockingIOError:
            break
        m = CALL_ID.search(data)
        PROBED.add(m.group(1).decode() if m else name)
    return name in PROBED


def run_udp(probe):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((LOCAL_ADDR, 0))
    for name, msg in corpus(s.getsockname()):
        c = Collector(name)
        s.sendto(msg, (host, port))
        end = time.monotonic() + wait
        while not c.final and time.monotonic() < end:
            s.settimeout(max(0.01, end - time.monotonic()))
            try:
                c.feed(s.recv(70000))
            except socket.timeout:
                break
        report(name, c, probe)
    s.close()


def run_tcp(probe):
    names = [name for name, _ in corpus((LOCAL_ADDR, 5060))]
    for name in names:
        c = Collector(name)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((LOCAL_ADDR, 0))
        s.settimeout(wait)
        got = b""
        try:
            s.connect((host, port))
            s.sendall(dict(corpus(s.getsockname()))[name])
            end = time.monotonic() + wait
            while not c.final and time.monotonic() < end:
                s.settimeout(max(0.01, end - time.monotonic()))
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
                c = Collector(name)
                c.feed(got)
        except socket.timeout:
            pass
        except (ConnectionResetError, BrokenPipeError):
            pass    # closed by the peer: a drop, not a reply
        except OSError as e:
            c.codes = ["error:%s" % e.__class__.__name__]
        s.close()
        report(name, c, probe)


def report(name, c, probe):
    time.sleep(0.05)    # a relayed request is on loopback: already there
    line = "case %s %s" % (name, ",".join(str(x) for x in c.result()))
    if probed(probe, name):
        line += " relayed"
    print(line, flush=True)


probe = probe_socket()
if proto == "udp":
    run_udp(probe)
else:
    run_tcp(probe)
