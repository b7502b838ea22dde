#!/usr/bin/python3
# A forking platform for test-fork.sh (tests only): raw SIP over UDP on
# one address, two branches behind one INVITE, each an early dialog with
# its own To tag, Contact and RTP socket.
#
#   forkpeer.py answer IP:PORT RTP_A RTP_B SECONDS [GAP]
#       INVITE -> 100, 180 (tag A, SDP A); 1 s later 180 (tag B, SDP B);
#       1 s later 200 from B, then 200 from A (each retransmitted until
#       its ACK comes, at most 6 times). With GAP (seconds), A's 200 comes
#       GAP after B's, and twice (a retransmission that crossed the ACK).
#       With "nosdp" after GAP, B rings first and A second, and B's 200
#       has no SDP (its answer was in its 180). Answers BYE with 200. Each RTP
#       socket echoes what it gets to its source, counted per branch
#       before and after the 200s ("early", "answered").
#   forkpeer.py cancel IP:PORT RTP_A RTP_B SECONDS
#       INVITE -> 100, 180 (tag A), 180 (tag B), then waits: CANCEL ->
#       200, and 487 for the INVITE (both branches are canceled), which
#       must be ACKed.
#   forkpeer.py prack IP:PORT RTP_A RTP_B SECONDS
#       As cancel, with both 180s reliable (Require: 100rel, RSeq): each
#       PRACK is answered 200 and counted by the To tag it names, and as
#       misrouted when its Request-URI is the other branch's Contact.
#   forkpeer.py agents PLAT_IP:PORT SIGD_INT:PORT A1_IP A2_IP SECONDS
#       The platform forks towards two agents on EXT itself: two INVITEs
#       (one Call-ID, two branches) through sigd, one to each agent (both
#       played here, on A1_IP/A2_IP:15100). Both ring (180 with SDP);
#       agent 1 answers 1 s later; the platform ACKs it, CANCELs agent 2
#       (200, 487, ACK); the platform and agent 1 each send 100 RTP
#       packets to the relay, counting what comes from the other; then
#       the platform BYEs. Prints "agents: ..." findings. With "both"
#       after SECONDS, agent 2 answers too, right behind agent 1 (before
#       the CANCEL can reach it). With "cancelall", nobody answers: once
#       both ring, the platform CANCELs both branches (each agent answers
#       200 and 487, and gets the ACK).
#   Ends SECONDS after the INVITE (or when the BYE of the answered branch
#   has come, in answer mode) and prints one line of findings:
#   "invites N acks A=.. B=.. byes A=.. B=.. bye_a_cseq .. cancels ..
#    ack487 .. rtp early A=.. B=.. answered A=.. B=..".
import re
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
    nosdp = len(sys.argv) > 7 and sys.argv[7] == "nosdp"
    ring = ("B", "A") if nosdp else ("A", "B")
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
             "prack_A": 0, "prack_B": 0, "misrouted": 0,
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
        if mode == "prack" and code == 180:
            out += ["Require: 100rel", "RSeq: 1"]
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
                sip.sendto(response(180, "Ringing", hs, ring[0],
                                    sdp(ring[0]) if mode == "answer" else b""), src)
                t0 = time.time()
                delay = 1.0 if mode == "answer" else 0.2

                def ring_b(hs=hs, src=src):
                    sip.sendto(response(180, "Ringing", hs, ring[1],
                                        sdp(ring[1]) if mode == "answer" else b""), src)
                plan.append((t0 + delay, ring_b))
                if mode == "answer":
                    def answer(br, copies, hs=hs, src=src):
                        nonlocal phase
                        phase = "answered"
                        m = response(200, "OK", hs, br,
                                     b"" if nosdp and br == "B" else sdp(br))
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
                if mode != "answer":
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
            elif method == "PRACK":
                t = tag_of(get(hs, "to"))
                user = start.split()[1].split(":", 1)[1].split("@")[0]
                for br in ("A", "B"):
                    if t == tags[br]:
                        stats["prack_" + br] += 1
                        if user != br.lower():
                            stats["misrouted"] += 1
                sip.sendto(response(200, "OK", hs), src)
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
          "ack487 %d pracks A=%d B=%d misrouted %d "
          "rtp early A=%d B=%d answered A=%d B=%d" % (
              stats["invites"], stats["ack_A"], stats["ack_B"], stats["bye_A"],
              stats["bye_B"], stats["bye_a_cseq"], stats["cancels"], stats["ack487"],
              stats["prack_A"], stats["prack_B"], stats["misrouted"],
              stats["early_A"], stats["early_B"], stats["answered_A"],
              stats["answered_B"]), flush=True)


def uri_hostport(u):
    m = re.search(r"sips?:(?:[^@;>]*@)?([^:;>]+)(?::(\d+))?", u)
    return m.group(1), int(m.group(2) or 5060)


def agents():
    plat_hp, sigd_hp, a1_ip, a2_ip, secs = sys.argv[2:7]
    both = len(sys.argv) > 7 and sys.argv[7] == "both"
    cancelall = len(sys.argv) > 7 and sys.argv[7] == "cancelall"
    pip, pport = plat_hp.rsplit(":", 1)
    sip_, sport = sigd_hp.rsplit(":", 1)
    sigd = (sip_, int(sport))

    def udp(ip, port):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((ip, port))
        return s
    plat, prtp = udp(pip, int(pport)), udp(pip, 17000)
    ag = {1: (udp(a1_ip, 15100), udp(a1_ip, 17010), a1_ip, 17010),
          2: (udp(a2_ip, 15100), udp(a2_ip, 17020), a2_ip, 17020)}
    cid = "fork2-%d@%s" % (int(time.time() * 1000), pip)
    st = {k: 0 for k in ("p180", "p200", "pcancel200", "p487", "p480", "pbye200", "a1ack",
                         "a1bye", "a1rtp", "a1cancel", "a2cancel", "a2ack", "a2bye", "sent", "prtp",
                         "p200other")}
    tags180 = set()
    inv = {}        # agent -> (src, headers) of the INVITE it got
    plan = []
    dialog = {}     # the platform's view of the answered dialog
    relay = None
    a1relay = []    # where agent 1 sends its RTP (the 200's offer: the relay)
    end = time.time() + float(secs)

    def sdp(ip, port):
        return ("v=0\r\no=x 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                "m=audio %d RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n" % (ip, ip, port)).encode()

    def request(method, ruri, branch, cseq, to, extra=(), body=b""):
        out = ["%s %s SIP/2.0" % (method, ruri),
               "Via: SIP/2.0/UDP %s:%s;branch=%s;rport" % (pip, pport, branch),
               "From: <sip:plat@%s>;tag=pf1" % pip, "To: " + to, "Call-ID: " + cid,
               "CSeq: %d %s" % (cseq, method), "Contact: <sip:plat@%s:%s>" % (pip, pport),
               "Max-Forwards: 70"] + list(extra)
        if body:
            out.append("Content-Type: application/sdp")
        out.append("Content-Length: %d" % len(body))
        return ("\r\n".join(out) + "\r\n\r\n").encode() + body

    def agent_resp(n, code, phrase, hs, body=b""):
        out = ["SIP/2.0 %d %s" % (code, phrase)]
        for k, v in hs:
            if k in ("via", "record-route"):
                out.append("%s: %s" % (k.title(), v))
        to = get(hs, "to")
        if tag_of(to) is None:
            to += ";tag=ag%d" % n
        out += ["From: " + get(hs, "from"), "To: " + to, "Call-ID: " + get(hs, "call-id"),
                "CSeq: " + get(hs, "cseq"),
                "Contact: <sip:agent%d@%s:15100>" % (n, ag[n][2])]
        if body:
            out.append("Content-Type: application/sdp")
        out.append("Content-Length: %d" % len(body))
        return ("\r\n".join(out) + "\r\n\r\n").encode() + body

    for n in (1, 2):
        plat.sendto(request("INVITE", "sip:agent%d@%s:15100" % (n, ag[n][2]), "z9hG4bKf%d" % n,
                            1, "<sip:agent@%s>" % ag[n][2], body=sdp(pip, 17000)), sigd)

    def answer1():
        src, hs = inv[1]
        m = agent_resp(1, 200, "OK", hs, sdp(a1_ip, 17010))
        ag[1][0].sendto(m, src)
        if both and 2 in inv:
            src2, hs2 = inv[2]
            ag[2][0].sendto(agent_resp(2, 200, "OK", hs2, sdp(a2_ip, 17020)), src2)
        if (st["a1ack"] == 0 or (both and st["a2ack"] == 0)) and time.time() < end:
            plan.append((time.time() + 0.5, answer1))

    def rtp_tick(i=[0]):
        if relay is None or i[0] >= 100:
            if i[0] >= 100 and dialog.get("bye") is None:
                dialog["bye"] = 1
                plan.append((time.time() + 0.3, bye))
            return
        pkt = bytes([0x80, 8]) + i[0].to_bytes(2, "big") + (i[0] * 160).to_bytes(4, "big") + \
            b"\x12\x34\x56\x78" + b"\xd5" * 160
        prtp.sendto(pkt, relay)
        if a1relay:
            ag[1][1].sendto(pkt, a1relay[0])
        st["sent"] += 1
        i[0] += 1
        plan.append((time.time() + 0.02, rtp_tick))

    def bye():
        route = dialog["route"]
        extra = ["Route: " + route] if route else []
        plat.sendto(request("BYE", dialog["target"], "z9hG4bKbye", 2, dialog["to"], extra),
                    dialog["hop"])

    while time.time() < end:
        now = time.time()
        for e in [e for e in plan if e[0] <= now]:
            plan.remove(e)
            e[1]()
        socks = [plat, prtp] + [x for n in ag for x in ag[n][:2]]
        r, _, _ = select.select(socks, [], [], 0.02)
        for s in r:
            data, src = s.recvfrom(65535)
            if s is prtp:
                st["prtp"] += 1
                continue
            if s is ag[1][1]:
                st["a1rtp"] += 1
                continue
            if s is ag[2][1]:
                continue
            start, hs, body = parse(data)
            if s is plat:
                if not start.startswith("SIP/2.0"):
                    continue
                code = int(start.split()[1])
                method = get(hs, "cseq").split()[1]
                br = re.search(r"branch=([^;\s]+)", get(hs, "via") or "")
                br = br.group(1) if br else ""
                if method == "INVITE" and code == 180:
                    st["p180"] += 1
                    tags180.add(tag_of(get(hs, "to")))
                    if cancelall and len(tags180) == 2 and st["p180"] == 2:
                        for k in (1, 2):
                            plat.sendto(request("CANCEL", "sip:agent%d@%s:15100" % (k, ag[k][2]),
                                                "z9hG4bKf%d" % k, 1,
                                                "<sip:agent@%s>" % ag[k][2]), sigd)
                elif method == "INVITE" and code == 200 and br == "z9hG4bKf1":
                    st["p200"] += 1
                    rr = [v for k, v in hs if k == "record-route"]
                    route = ", ".join(reversed(", ".join(rr).split(", "))) if rr else ""
                    target = re.search(r"<([^>]+)>", get(hs, "contact")).group(1)
                    hop = uri_hostport(route.split(",")[0] if route else target)
                    dialog.update(to=get(hs, "to"), route=route, target=target, hop=hop)
                    extra = ["Route: " + route] if route else []
                    plat.sendto(request("ACK", target, "z9hG4bKack1", 1, dialog["to"], extra), hop)
                    if st["p200"] == 1:
                        plat.sendto(request("CANCEL", "sip:agent2@%s:15100" % a2_ip,
                                            "z9hG4bKf2", 1, "<sip:agent@%s>" % a2_ip), sigd)
                        m = re.search(rb"c=IN IP4 (\S+)", body)
                        p = re.search(rb"m=audio (\d+)", body)
                        relay = (m.group(1).decode(), int(p.group(1)))
                        plan.append((time.time() + 0.1, rtp_tick))
                elif method == "CANCEL" and code == 200:
                    st["pcancel200"] += 1
                elif method == "INVITE" and code >= 300 and br in ("z9hG4bKf1", "z9hG4bKf2"):
                    k = int(br[-1])
                    st["p487"] += code == 487
                    st["p480"] += code == 480
                    plat.sendto(request("ACK", "sip:agent%d@%s:15100" % (k, ag[k][2]), br, 1,
                                        get(hs, "to")), sigd)
                    if cancelall and st["p487"] == 2:
                        end = min(end, time.time() + 1.0)
                elif method == "INVITE" and code == 200:
                    st["p200other"] += 1
                elif method == "BYE" and code == 200:
                    st["pbye200"] += 1
                    end = min(end, time.time() + 0.5)
                continue
            n = 1 if s is ag[1][0] else 2
            if start.startswith("SIP/2.0"):
                continue
            method = start.split()[0]
            if method == "INVITE":
                if n in inv:
                    continue
                inv[n] = (src, hs)
                if n == 1:
                    m = re.search(rb"c=IN IP4 (\S+)", body)
                    p = re.search(rb"m=audio (\d+)", body)
                    a1relay.append((m.group(1).decode(), int(p.group(1))))
                s.sendto(agent_resp(n, 180, "Ringing", hs, sdp(ag[n][2], ag[n][3])), src)
                if n == 1 and not cancelall:
                    plan.append((time.time() + 1.0, answer1))
            elif method == "ACK":
                st["a1ack" if n == 1 else "a2ack"] += 1
            elif method == "CANCEL":
                st["a%dcancel" % n] += 1
                s.sendto(agent_resp(n, 200, "OK", hs), src)
                isrc, ihs = inv[n]
                s.sendto(agent_resp(n, 487, "Request Terminated", ihs), isrc)
            elif method == "BYE":
                key = "a1bye" if n == 1 else "a2bye"
                st[key] = st.get(key, 0) + 1
                s.sendto(agent_resp(n, 200, "OK", hs), src)
    print("agents: p180 %d tags %d p200 %d p200other %d pcancel200 %d p487 %d p480 %d pbye200 %d "
          "a1ack %d a1bye %d a1rtp %d a1cancel %d a2cancel %d a2ack %d a2bye %d sent %d prtp %d" % (
              st["p180"], len(tags180), st["p200"], st["p200other"], st["pcancel200"],
              st["p487"], st["p480"], st["pbye200"], st["a1ack"], st["a1bye"], st["a1rtp"],
              st["a1cancel"], st["a2cancel"], st["a2ack"], st["a2bye"], st["sent"], st["prtp"]), flush=True)


if sys.argv[1] == "agents":
    agents()
else:
    main()
