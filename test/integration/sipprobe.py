#!/usr/bin/python3
# Raw SIP over UDP for the anti-fraud and NAT tests (tests only).
#
#   sipprobe.py send SRC_IP DST_IP:PORT METHOD URI [--auth] [--ua UA]
#               [--count N] [--wait S] [--from-user U] [--sport P] [--to-tag]
#               [--pace R]
#       Sends N requests (new Call-ID and branch each) from SRC_IP (port P,
#       default any; --to-tag: with a random To tag, as if in a dialog; R
#       requests per second, default back to back) and
#       prints one line per request: the status of its final response, or
#       "none" when nothing came within S seconds (default 1). With
#       --count > 1 requests go out back to back, then the answers are
#       collected; "answered K of N" is printed last.
#   sipprobe.py keepalive SRC_IP[:PORT] DST_IP:PORT SECONDS
#       Registers (Contact at a private address, Expires 60) through
#       DST, then listens SECONDS and answers 200 to every OPTIONS that
#       comes; prints "registered STATUS options N".
#   sipprobe.py responder IP:PORT
#       Answers 200 to every OPTIONS (a platform that is up) and prints
#       its request line. Runs until killed.
#   sipprobe.py registrar IP:PORT
#       A registrar stand-in: REGISTER for user "ghost" -> 404, any other
#       REGISTER -> 401 with a Digest challenge (realm "pbx.test"), so that
#       nothing ever authenticates. Runs until killed.
import random
import socket
import sys
import time


def request(method, uri, src, sport, auth, ua, user, n, to_tag=False):
    cid = "%08x-%d@%s" % (random.getrandbits(32), n, src)
    br = "z9hG4bK%08x%d" % (random.getrandbits(32), n)
    hdrs = [
        "%s %s SIP/2.0" % (method, uri),
        "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (src, sport, br),
        "From: <sip:%s@%s>;tag=%x" % (user, src, random.getrandbits(24)),
        "To: <%s>%s" % (uri if method != "REGISTER" else "sip:%s@%s" % (user, src),
                        ";tag=%x" % random.getrandbits(32) if to_tag else ""),
        "Call-ID: %s" % cid,
        "CSeq: 1 %s" % method,
        "Contact: <sip:%s@%s:%d>" % (user, src, sport),
        "Max-Forwards: 70",
    ]
    if ua:
        hdrs.append("User-Agent: %s" % ua)
    if auth:
        hdrs.append('Authorization: Digest username="%s", realm="pbx.test", '
                    'nonce="abc", uri="%s", response="%032x"'
                    % (user, uri, random.getrandbits(128)))
    hdrs.append("Content-Length: 0")
    return ("\r\n".join(hdrs) + "\r\n\r\n").encode(), cid


def cmd_send(argv):
    src, dst, method, uri = argv[0], argv[1], argv[2], argv[3]
    auth = "--auth" in argv
    ua = argv[argv.index("--ua") + 1] if "--ua" in argv else "probe/1.0"
    count = int(argv[argv.index("--count") + 1]) if "--count" in argv else 1
    wait = float(argv[argv.index("--wait") + 1]) if "--wait" in argv else 1.0
    user = argv[argv.index("--from-user") + 1] if "--from-user" in argv else "100"
    bind_port = int(argv[argv.index("--sport") + 1]) if "--sport" in argv else 0
    to_tag = "--to-tag" in argv
    host, port = dst.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, bind_port))
    try:    # root: past rmem_max, so that no answer is lost while sending
        s.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)   # SO_RCVBUFFORCE
    except OSError:
        pass
    pace = float(argv[argv.index("--pace") + 1]) if "--pace" in argv else 0
    sport = s.getsockname()[1]
    status = {}
    order = []
    for n in range(count):
        data, cid = request(method, uri, src, sport, auth, ua, user, n, to_tag)
        order.append(cid)
        s.sendto(data, (host, int(port)))
        if pace and n % 10 == 9:
            time.sleep(10 / pace)
    deadline = time.time() + wait
    while time.time() < deadline:
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            pkt = s.recv(65535).decode(errors="replace")
        except socket.timeout:
            break
        code = int(pkt.split(" ", 2)[1]) if pkt.startswith("SIP/2.0") else 0
        for line in pkt.split("\r\n"):
            if line.lower().startswith("call-id:"):
                c = line.split(":", 1)[1].strip()
                if code >= 200:
                    status[c] = code
        if count > 1 and len(status) == count:
            break
        if count == 1 and status:
            break
    if count == 1:
        print(status.get(order[0], "none"))
    else:
        print("answered %d of %d" % (len(status), count))


def cmd_keepalive(argv):
    src, dst, secs = argv[0], argv[1], float(argv[2])
    sport = 0
    if ":" in src:
        src, sport = src.rsplit(":", 1)
    host, port = dst.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, int(sport)))
    sport = s.getsockname()[1]
    data, cid = request("REGISTER", "sip:%s" % dst, src, sport, False,
                        "agent/1.0", "agent9", 0)
    data = data.replace(("Contact: <sip:agent9@%s:%d>" % (src, sport)).encode(),
                        b"Contact: <sip:agent9@10.1.2.3:5060>;expires=60")
    s.sendto(data, (host, int(port)))
    reg = "none"
    options = 0
    deadline = time.time() + secs
    while time.time() < deadline:
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            pkt, peer = s.recvfrom(65535)
        except socket.timeout:
            break
        msg = pkt.decode(errors="replace")
        if msg.startswith("SIP/2.0 ") and cid in msg:
            code = int(msg.split(" ", 2)[1])
            if code >= 200:
                reg = str(code)
        elif msg.startswith("OPTIONS "):
            options += 1
            lines = msg.split("\r\n")
            keep = [l for l in lines[1:] if l.split(":", 1)[0].lower() in
                    ("via", "from", "to", "call-id", "cseq")]
            out = ["SIP/2.0 200 OK"] + keep + ["Content-Length: 0"]
            s.sendto(("\r\n".join(out) + "\r\n\r\n").encode(), peer)
    print("registered %s options %d" % (reg, options))


def cmd_responder(argv):
    host, port = argv[0].rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, int(port)))
    while True:
        data, peer = s.recvfrom(65535)
        msg = data.decode(errors="replace")
        if not msg.startswith("OPTIONS "):
            continue
        print(msg.split("\r\n", 1)[0], flush=True)
        keep = [l for l in msg.split("\r\n")[1:] if l.split(":", 1)[0].lower() in
                ("via", "from", "to", "call-id", "cseq")]
        out = ["SIP/2.0 200 OK"] + keep + ["Content-Length: 0"]
        s.sendto(("\r\n".join(out) + "\r\n\r\n").encode(), peer)


def cmd_registrar(argv):
    host, port = argv[0].rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, int(port)))
    while True:
        data, peer = s.recvfrom(65535)
        msg = data.decode(errors="replace")
        if not msg.startswith("REGISTER "):
            continue
        lines = msg.split("\r\n")
        keep = [l for l in lines[1:] if l.split(":", 1)[0].lower() in
                ("via", "from", "to", "call-id", "cseq")]
        ghost = lines[0].split(" ")[1].startswith("sip:ghost@") or any(
            l.lower().startswith("to:") and "ghost@" in l for l in lines)
        if ghost:
            head = ["SIP/2.0 404 Not Found"]
        else:
            head = ["SIP/2.0 401 Unauthorized",
                    'WWW-Authenticate: Digest realm="pbx.test", nonce="%x", '
                    'algorithm=MD5, qop="auth"' % random.getrandbits(64)]
        out = head + [l + (";tag=reg1" if l.lower().startswith("to:") and
                           "tag=" not in l else "") for l in keep]
        out.append("Content-Length: 0")
        s.sendto(("\r\n".join(out) + "\r\n\r\n").encode(), peer)


if __name__ == "__main__":
    if sys.argv[1] == "send":
        cmd_send(sys.argv[2:])
    elif sys.argv[1] == "keepalive":
        cmd_keepalive(sys.argv[2:])
    elif sys.argv[1] == "responder":
        cmd_responder(sys.argv[2:])
    elif sys.argv[1] == "registrar":
        cmd_registrar(sys.argv[2:])
    else:
        sys.exit("usage: sipprobe.py send|registrar ...")
