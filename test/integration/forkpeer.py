#!/usr/bin/python3
# A forking platform for test-fork.sh (tests only): raw SIP over UDP on
# one address, two branches behind one INVITE, each an early dialog with
# its own To tag, Contact and RTP socket.
#
#   forkpeer.py answer IP:PORT RTP_A RTP_B SECONDS [GAP]
#       INVITE -> 100, 180 (tag A, SDP A); 1 s later 180 (tag B, SDP B);
#       1 s later 200 from B, then 200 from A (each retransmitted until
#       its ACK comes, at most 6 times). With GAP (seconds), A's 200 comes
#       GAP after B's, and twice (a retransmission that crossed the ACK). Answers BYE with 200. Each RTP
#       socket echoes what it gets to its source, counted per branch
#       before and after the 200s ("early", "answered").
#   forkpeer.py cancel IP:PORT RTP_A RTP_B SECONDS
#       INVITE -> 100, 180 (tag A), 180 (tag B), then waits: CANCEL ->
#       200, and 487 for the INVITE (both branches are canceled), which
#       must be ACKed.
#   Ends SECONDS after the INVITE (or when the BYE of the answered branch
#   has come, in answer mode) and prints one line of findings:
#   "invites N acks A=.. B=.. byes A=.. B=.. bye_a_cseq .. cancels ..
#    ack487 .. rtp early A=.. B=.. answered A=.. B=..".
import select
import socket
import sys
import time


def parse(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hs = []
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            hs.append((k.strip().lower(), v.strip()))
    return lines[0], hs, body


def get(hs, name):
    for k, v in hs:
        if k == name:
            return v
    return None


def tag_of(v):
    for p in (v or "").split(";")[1:]:
        if p.strip().startswith("tag="):
            return p.strip()[4:]
    return None


def main():
    mode, hp, rtp_a, rtp_b, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
        int(sys.argv[4]), float(sys.argv[5])
    gap = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
    ip, port = hp.rsplit(":", 1)
    sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sip.bind((ip, int(port)))
    rtp = {}
    for br, p in (("A", rtp_a), ("B", rtp_b)):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((ip, p))
        rtp[br] = s
    stats = {"invites": 0, "ack_A": 0, "ack_B": 0, "bye_A": 0, "bye_B": 0,
             "bye_a_cseq": "-", "cancels": 0, "ack487": 0,
             "early_A": 0, "early_B": 0, "answered_A": 0, "answered_B": 0}
    inv = None          # (src, headers) of the INVITE
    plan = []           # (time, action)
    pending = {}        # branch -> (response bytes, sends left) for 200s
    phase = "early"
    end = time.time() + 60
    tags = {"A": "brA%d" % int(time.time() * 1000 % 100000), "B": None}
    tags["B"] = tags["A"].replace("brA", "brB")

    def sdp(br):
        p = rtp_a if br == "A" else rtp_b
        return ("v=0\r\no=plat 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                "m=audio %d RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"
                "a=rtpmap:101 telephone-event/8000\r\n" % (ip, ip, p)).encode()

    def response(code, phrase, hs, br=None, body=b""):
        out = ["SIP/2.0 %d %s" % (code, phrase)]
        for k, v in hs:
            if k in ("via", "record-route"):
                out.append("%s: %s" % (k.title(), v))
        to = get(hs, "to")
        if br and tag_of(to) is None:
            to += ";tag=" + tags[br]
        out.append("From: " + get(hs, "from"))
        out.append("To: " + to)
        out.append("Call-ID: " + get(hs, "call-id"))
        out.append("CSeq: " + get(hs, "cseq"))
        if br:
            out.append("Contact: <sip:%s@%s:%s>" % (br.lower(), ip, port))
        if body:
            out.append("Content-Type: application/sdp")
        out.append("Content-Length: %d" % len(body))
        return ("\r\n".join(out) + "\r\n\r\n").encode() + body

    while time.time() < end:
        now = time.time()
        while plan and plan[0][0] <= now:
            _, act = plan.pop(0)
            act()
        for br, (msg, left) in list(pending.items()):
            if left <= 0:
                del pending[br]
        r, _, _ = select.select([sip] + list(rtp.values()), [], [], 0.05)
        for s in r:
            data, src = s.recvfrom(65535)
            for br, rs in rtp.items():
                if s is rs:
                    stats["%s_%s" % (phase, br)] += 1
                    rs.sendto(data, src)
            if s is not sip:
                continue
            start, hs, body = parse(data)
            if start.startswith("SIP/2.0"):
                continue
            method = start.split()[0]
            if method == "INVITE":
                if inv is not None:
                    continue    # a retransmission
                stats["invites"] += 1
                inv = (src, hs)
                end = time.time() + secs
                sip.sendto(response(100, "Trying", hs), src)
                sip.sendto(response(180, "Ringing", hs, "A",
                                    sdp("A") if mode == "answer" else b""), src)
                t0 = time.time()
                delay = 1.0 if mode == "answer" else 0.2

                def ring_b(hs=hs, src=src):
                    sip.sendto(response(180, "Ringing", hs, "B",
                                        sdp("B") if mode == "answer" else b""), src)
                plan.append((t0 + delay, ring_b))
                if mode == "answer":
                    def answer(br, copies, hs=hs, src=src):
                        nonlocal phase
                        phase = "answered"
                        m = response(200, "OK", hs, br, sdp(br))
                        for _ in range(copies):
                            sip.sendto(m, src)
                        pending[br] = (m, 5)
                    plan.append((t0 + 2 * delay, lambda: answer("B", 1)))
                    plan.append((t0 + 2 * delay + gap,
                                 lambda: answer("A", 2 if gap else 1)))

                    def retransmit():
                        for br, (m, left) in list(pending.items()):
                            sip.sendto(m, inv[0])
                            pending[br] = (m, left - 1)
                        if pending:
                            plan.append((time.time() + 0.5, retransmit))
                    plan.append((t0 + 2 * delay + gap + 0.5, retransmit))
                    plan.sort(key=lambda e: e[0])
            elif method == "ACK":
                t = tag_of(get(hs, "to"))
                if mode == "cancel":
                    stats["ack487"] += 1
                    continue
                for br in ("A", "B"):
                    if t == tags[br]:
                        stats["ack_" + br] += 1
                        pending.pop(br, None)
            elif method == "BYE":
                t = tag_of(get(hs, "to"))
                for br in ("A", "B"):
                    if t == tags[br]:
                        stats["bye_" + br] += 1
                        if br == "A":
                            stats["bye_a_cseq"] = get(hs, "cseq").split()[0]
                sip.sendto(response(200, "OK", hs), src)
                if t == tags["B"]:
                    end = min(end, time.time() + 1.0)
            elif method == "CANCEL":
                stats["cancels"] += 1
                sip.sendto(response(200, "OK", hs), src)
                if inv is not None:
                    ihs = [(k, v) for k, v in inv[1]]
                    m = response(487, "Request Terminated", ihs, "A")
                    sip.sendto(m, inv[0])
                    end = min(end, time.time() + 2.0)
            else:
                sip.sendto(response(200, "OK", hs), src)
    print("invites %d acks A=%d B=%d byes A=%d B=%d bye_a_cseq %s cancels %d "
          "ack487 %d rtp early A=%d B=%d answered A=%d B=%d" % (
              stats["invites"], stats["ack_A"], stats["ack_B"], stats["bye_A"],
              stats["bye_B"], stats["bye_a_cseq"], stats["cancels"], stats["ack487"],
              stats["early_A"], stats["early_B"], stats["answered_A"],
              stats["answered_B"]), flush=True)


main()
