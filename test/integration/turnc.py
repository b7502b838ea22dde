"""A small TURN client (RFC 8656) of its own, independent of turnd's C code
(Python's hmac/hashlib/zlib), and the protocol checks test-turn.sh runs
with it: error codes, credentials, safe peers, lifetimes, quotas, bad
input, and the bus (a fake sigd: ZeroMQ ROUTER with hand-encoded protobuf);
and the large-datagram and burst checks test-turn-large.sh runs with it.

Each check prints "ok NAME" or "not-ok NAME: reason"; the shell turns them
into the harness's ok / not_ok lines. Every socket wait is bounded.
"""
import base64, hashlib, hmac, os, socket, struct, sys, time, zlib

COOKIE = 0x2112A442
BINDING, ALLOCATE, REFRESH, SEND, DATA, CREATE_PERM, CHANNEL_BIND = 1, 3, 4, 6, 7, 8, 9
REQ, IND, OK, ERR = 0, 1, 2, 3
A_USERNAME, A_MI, A_ERROR, A_UNKNOWN, A_CHANNEL, A_LIFETIME = 0x6, 0x8, 0x9, 0xA, 0xC, 0xD
A_PEER, A_DATA, A_REALM, A_NONCE, A_RELAYED, A_TRANSPORT = 0x12, 0x13, 0x14, 0x15, 0x16, 0x19
A_MI256, A_MAPPED, A_FP, A_SOFTWARE = 0x1C, 0x20, 0x8028, 0x8022


def mtype(method, cls):
    return ((method & 0xF) | ((method & 0x70) << 1) | ((method & 0xF80) << 2) |
            ((cls & 1) << 4) | ((cls & 2) << 7))


def attr(t, v):
    return struct.pack(">HH", t, len(v)) + v + b"\0" * ((4 - len(v) % 4) % 4)


def xaddr(ip, port, tid):
    if ":" in ip:
        raw = socket.inet_pton(socket.AF_INET6, ip)
        mask = struct.pack(">I", COOKIE) + tid
        return struct.pack(">BBH", 0, 2, port ^ (COOKIE >> 16)) + bytes(
            a ^ b for a, b in zip(raw, mask))
    raw = socket.inet_aton(ip)
    return struct.pack(">BBH", 0, 1, port ^ (COOKIE >> 16)) + bytes(
        a ^ b for a, b in zip(raw, struct.pack(">I", COOKIE)))


def parse_xaddr(v, tid):
    port = struct.unpack(">H", v[2:4])[0] ^ (COOKIE >> 16)
    if v[1] == 1:
        return socket.inet_ntoa(bytes(a ^ b for a, b in zip(v[4:8], struct.pack(">I", COOKIE)))), port
    mask = struct.pack(">I", COOKIE) + tid
    return socket.inet_ntop(socket.AF_INET6, bytes(a ^ b for a, b in zip(v[4:20], mask))), port


class Msg:
    def __init__(self, raw):
        t, ln, cookie = struct.unpack(">HHI", raw[:8])
        if ln + 20 != len(raw) or cookie != COOKIE:
            raise ValueError("bad STUN message")
        self.raw, self.tid = raw, raw[8:20]
        self.cls = ((t >> 4) & 1) | ((t >> 7) & 2)
        self.method = (t & 0xF) | ((t >> 1) & 0x70) | ((t >> 2) & 0xF80)
        self.attrs, off = [], 20
        while off < len(raw):
            at, al = struct.unpack(">HH", raw[off:off + 4])
            self.attrs.append((at, raw[off + 4:off + 4 + al], off))
            off += 4 + ((al + 3) & ~3)

    def get(self, t):
        for at, v, _ in self.attrs:
            if at == t:
                return v
        return None

    def code(self):
        v = self.get(A_ERROR)
        return None if v is None else (v[2] & 7) * 100 + v[3]

    def check_mi(self, key):
        for at, v, off in self.attrs:
            if at in (A_MI, A_MI256):
                alg = hashlib.sha1 if at == A_MI else hashlib.sha256
                hdr = self.raw[:2] + struct.pack(">H", off + 4 + len(v) - 20) + self.raw[4:off]
                return hmac.new(key, hdr, alg).digest()[:len(v)] == v
        return False


def build(method, cls, attrs, tid=None, key=None, sha256=False, fp=True):
    tid = tid or os.urandom(12)
    body = b"".join(attrs)
    if key is not None:
        t, n, alg = (A_MI256, 32, hashlib.sha256) if sha256 else (A_MI, 20, hashlib.sha1)
        hdr = struct.pack(">HHI", mtype(method, cls), len(body) + 4 + n, COOKIE) + tid
        body += attr(t, hmac.new(key, hdr + body, alg).digest())
    if fp:
        hdr = struct.pack(">HHI", mtype(method, cls), len(body) + 8, COOKIE) + tid
        body += attr(A_FP, struct.pack(">I", zlib.crc32(hdr + body) ^ 0x5354554E))
    return struct.pack(">HHI", mtype(method, cls), len(body), COOKIE) + tid + body


def rest_user(secret, user, ttl=600):
    name = "%d:%s" % (int(time.time()) + ttl, user)
    return name, base64.b64encode(hmac.new(secret.encode(), name.encode(), hashlib.sha1).digest()).decode()


class Client:
    def __init__(self, server, user, password, sha256=False, local_ip=None):
        self.server, self.user, self.password, self.sha256 = server, user, password, sha256
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((local_ip or server[0], 0))
        self.s.settimeout(0.4)
        self.realm = self.nonce = self.key = None
        self.relayed = None

    def close(self):
        self.s.close()

    def transact(self, raw):
        tid = raw[8:20]
        for _ in range(5):
            self.s.sendto(raw, self.server)
            end = time.time() + 0.4
            while time.time() < end:
                try:
                    data, _ = self.s.recvfrom(70000)
                except socket.timeout:
                    break
                if data[:1] and data[0] & 0xC0 == 0 and data[8:20] == tid:
                    return Msg(data)
        raise ValueError("no answer from %s:%d" % self.server)

    def request(self, method, attrs, tid=None, auth=True):
        """Sends with credentials, learning realm/nonce from a 401 or 438."""
        for _ in range(3):
            a = list(attrs)
            if auth and self.nonce is not None:
                a += [attr(A_USERNAME, self.user.encode()), attr(A_REALM, self.realm),
                      attr(A_NONCE, self.nonce)]
                m = self.transact(build(method, REQ, a, tid, self.key, self.sha256))
            else:
                m = self.transact(build(method, REQ, a, tid))
            if auth and m.cls == ERR and m.code() in (401, 438) and m.get(A_NONCE):
                fresh = self.nonce is None or m.code() == 438
                self.realm, self.nonce = m.get(A_REALM), m.get(A_NONCE)
                self.key = hashlib.md5(self.user.encode() + b":" + self.realm + b":" +
                                       self.password.encode()).digest()
                if fresh:
                    continue
            return m
        return m

    def allocate(self, extra=(), lifetime=None):
        a = [attr(A_TRANSPORT, b"\x11\0\0\0")] + list(extra)
        if lifetime is not None:
            a.append(attr(A_LIFETIME, struct.pack(">I", lifetime)))
        m = self.request(ALLOCATE, a)
        if m.cls == OK:
            self.relayed = parse_xaddr(m.get(A_RELAYED), m.tid)
        return m

    def perm(self, ip, port=9):
        tid = os.urandom(12)
        return self.request(CREATE_PERM, [attr(A_PEER, xaddr(ip, port, tid))], tid)

    def bind(self, ch, ip, port):
        tid = os.urandom(12)
        return self.request(CHANNEL_BIND, [attr(A_CHANNEL, struct.pack(">HH", ch, 0)),
                                           attr(A_PEER, xaddr(ip, port, tid))], tid)

    def send(self, ip, port, data):
        tid = os.urandom(12)
        self.s.sendto(build(SEND, IND, [attr(A_PEER, xaddr(ip, port, tid)), attr(A_DATA, data)], tid,
                            fp=False), self.server)

    def recv_data(self, timeout=1.0):
        """Next Data indication or ChannelData: (peer or channel, payload)."""
        end = time.time() + timeout
        while time.time() < end:
            try:
                data, _ = self.s.recvfrom(70000)
            except socket.timeout:
                continue
            if data[0] & 0xC0 == 0x40:
                ch, n = struct.unpack(">HH", data[:4])
                return ch, data[4:4 + n]
            m = Msg(data)
            if m.cls == IND and m.method == DATA:
                return parse_xaddr(m.get(A_PEER), m.tid), m.get(A_DATA)
        return None, None

    def refresh(self, lifetime):
        return self.request(REFRESH, [attr(A_LIFETIME, struct.pack(">I", lifetime))])


class Echo:
    """A UDP echo peer on an allowed address."""
    def __init__(self, ip):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((ip, 0))
        self.s.setblocking(False)
        self.addr = self.s.getsockname()
        self.got = []

    def pump(self):
        while True:
            try:
                d, a = self.s.recvfrom(70000)
            except BlockingIOError:
                return
            self.got.append((a, d))
            self.s.sendto(d, a)


RESULTS = []


def check(name, cond, why=""):
    RESULTS.append(name)
    print(("ok %s" % name) if cond else ("not-ok %s: %s" % (name, why)), flush=True)


def expect(name, m, code):
    got = m.code() if m.cls == ERR else "success"
    check(name, got == code, "got %s, want %s" % (got, code))


def exchange(c, echo, payload, chan=None):
    """Sends payload through the allocation, lets the echo peer answer, and
    returns what came back."""
    if chan is None:
        c.send(echo.addr[0], echo.addr[1], payload)
    else:
        c.s.sendto(struct.pack(">HH", chan, len(payload)) + payload, c.server)
    end = time.time() + 1
    while time.time() < end and not echo.got:
        echo.pump()
        time.sleep(0.01)
    echo.got.clear()
    return c.recv_data()


# ---- the checks -------------------------------------------------------------

def main_checks(env):
    srv = (env["EXT"], int(env["PORT"]))
    lan, adv = env["LAN"], env["ADV"]
    echo = Echo(lan)

    # Challenge, then long-term credentials with MESSAGE-INTEGRITY.
    c = Client(srv, "alice", "wonderland")
    m = c.transact(build(ALLOCATE, REQ, [attr(A_TRANSPORT, b"\x11\0\0\0")]))
    check("401 challenge carries REALM and NONCE", m.code() == 401 and m.get(A_REALM) == b"gw"
          and m.get(A_NONCE) is not None, "code %s" % m.code())
    m = c.allocate()
    check("allocate (long-term, MESSAGE-INTEGRITY) signed with the user's key",
          m.cls == OK and m.check_mi(c.key), "code %s" % m.code())
    check("XOR-RELAYED-ADDRESS carries the advertised address",
          c.relayed is not None and c.relayed[0] == adv, str(c.relayed))
    check("XOR-MAPPED-ADDRESS is the client's", m.get(A_MAPPED) is not None and
          parse_xaddr(m.get(A_MAPPED), m.tid) == c.s.getsockname(), "")
    expect("second Allocate on the same 5-tuple: 437", c.allocate(), 437)

    # Data through a permission (Send/Data) and a channel (ChannelData).
    expect("CreatePermission to the allow-listed peer", c.perm(lan), "success")
    peer, data = exchange(c, echo, b"hello via send")
    check("Send indication relayed and echo returned as Data indication",
          data == b"hello via send" and peer == echo.addr, "%r %r" % (peer, data))
    expect("ChannelBind to the allow-listed peer", c.bind(0x4001, lan, echo.addr[1]), "success")
    ch, data = exchange(c, echo, b"hello via channel!", chan=0x4001)
    check("ChannelData relayed both ways", ch == 0x4001 and data == b"hello via channel!",
          "%r %r" % (ch, data))
    expect("ChannelBind of the same number to another peer: 400",
           c.bind(0x4001, lan, echo.addr[1] + 1), 400)
    expect("ChannelBind number out of range: 400", c.bind(0x3FFF, lan, echo.addr[1]), 400)

    # Denied peers, each form, by CreatePermission and ChannelBind.
    denied = ["127.0.0.1", env["EXT"], "0.0.0.0", "0.1.2.3", "10.1.2.3", "172.16.5.4",
              "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
              "224.0.0.1", "239.255.255.250", "255.255.255.255", adv,
              "::", "::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1",
              "::ffff:0.0.0.0", "::ffff:192.168.0.1", "::127.0.0.1", "::a9fe:a9fe",
              "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "2002:7f00:1::1",
              "2002:a9fe:a9fe::1", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "fec0::1"]
    bad = [ip for ip in denied if c.perm(ip).code() != 403]
    check("CreatePermission refused (403) for all %d denied address forms" % len(denied),
          not bad, "not 403: %s" % bad)
    bad = [ip for i, ip in enumerate(denied) if c.bind(0x4100 + i, ip, 5000).code() != 403]
    check("ChannelBind refused (403) for all denied address forms", not bad, "not 403: %s" % bad)
    # A Send to a denied address where something listens: nothing arrives.
    trap = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    trap.bind(("127.0.0.1", 0))
    trap.settimeout(0.5)
    c.send("127.0.0.1", trap.getsockname()[1], b"must not arrive")
    c.send("::ffff:127.0.0.1", trap.getsockname()[1], b"must not arrive")
    try:
        trap.recvfrom(100)
        check("Send indication to a denied address is dropped", False, "it arrived")
    except socket.timeout:
        check("Send indication to a denied address is dropped", True)
    trap.close()
    expect("allowed peer's mapped IPv6 form is still refused", c.perm("::ffff:" + lan), 403)
    peer, data = exchange(c, echo, b"still fine")
    check("allow-listed peer still relays after the refusals", data == b"still fine", repr(data))

    # MESSAGE-INTEGRITY-SHA256, REST credentials, rotation of secrets.
    c2 = Client(srv, "alice", "wonderland", sha256=True)
    m = c2.allocate()
    check("allocate with MESSAGE-INTEGRITY-SHA256, answered in kind",
          m.cls == OK and m.get(A_MI256) is not None and m.check_mi(c2.key), "code %s" % m.code())
    expect("Refresh with lifetime 0 deletes", c2.refresh(0), "success")
    expect("Refresh after delete: 437", c2.refresh(600), 437)
    for secret, label in (("newsecret", "newest"), ("oldsecret", "older")):
        u, p = rest_user(secret, "agent7")
        c3 = Client(srv, u, p)
        expect("REST credentials (%s of two secrets)" % label, c3.allocate(), "success")
        c3.refresh(0)
        c3.close()
    u, p = rest_user("newsecret", "agent7", ttl=-10)
    expect("expired REST username: 401", Client(srv, u, p).allocate(), 401)
    u, p = rest_user("notasecret", "agent7")
    expect("REST password from an unknown secret: 401", Client(srv, u, p).allocate(), 401)
    expect("wrong password: 401", Client(srv, "alice", "rabbit").allocate(), 401)
    expect("unknown user: 401", Client(srv, "mallory", "x").allocate(), 401)

    # Other users' credentials on an allocation; unsupported transport.
    c4 = Client(srv, "bob", "builder", local_ip=None)
    c4.s.close()
    c4.s = c.s
    expect("Refresh of alice's allocation with bob's credentials: 441", c4.refresh(600), 441)
    c5 = Client(srv, "alice", "wonderland")
    c5.request(BINDING, [], auth=False)
    m = c5.request(ALLOCATE, [attr(A_TRANSPORT, b"\x06\0\0\0")])
    expect("REQUESTED-TRANSPORT TCP: 442", m, 442)
    m = c5.request(ALLOCATE, [])
    expect("no REQUESTED-TRANSPORT: 400", m, 400)
    m = c5.request(ALLOCATE, [attr(A_TRANSPORT, b"\x11\0\0\0"), attr(0x0017, b"\x02\0\0\0")])
    expect("REQUESTED-ADDRESS-FAMILY IPv6 on an IPv4 relay: 440", m, 440)
    m = c5.request(ALLOCATE, [attr(A_TRANSPORT, b"\x11\0\0\0"), attr(0x0033, b"xxxx")])
    check("unknown comprehension-required attribute: 420 listing it",
          m.code() == 420 and m.get(A_UNKNOWN) == b"\x00\x33", "code %s" % m.code())

    # Bad input to the running daemon; the allocation above must survive.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((env["EXT"], 0))
    tid = os.urandom(12)
    good = build(ALLOCATE, REQ, [attr(A_TRANSPORT, b"\x11\0\0\0")], tid)
    junk = [good[:30], good[:20] + b"\0\x19\0\x40" + good[24:],      # truncated, attr too long
            good[:2] + b"\0\x80" + good[4:],                          # length past the end
            build(ALLOCATE, REQ, [attr(A_USERNAME, b"x" * 5000)]),    # oversized username
            b"\x40\x01\xff\xff" + b"x" * 10,                          # ChannelData too short
            b"\x40\x01\0\x10" + b"x" * 40,                            # ChannelData too long
            b"\x7f\xff\0\0", os.urandom(1), bytes(65507)]
    for j in junk:
        s.sendto(j, srv)
    s.settimeout(0.5)
    answers = 0
    try:
        while True:
            d, _ = s.recvfrom(70000)
            m = Msg(d)
            if m.cls != ERR:
                answers += 1
    except socket.timeout:
        pass
    check("truncated, oversized, wrong-length input: no success answer", answers == 0,
          "%d answers" % answers)
    ch, data = exchange(c, echo, b"after garbage", chan=0x4001)
    check("existing allocation unharmed by bad input", data == b"after garbage", repr(data))
    c.refresh(0)


# ---- stale nonce, expiry, quota, bandwidth, bus (second turnd) ----------------

def pb_varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        out += bytes([b | (0x80 if v else 0)])
        if not v:
            return out


def pb_field(num, v):
    if isinstance(v, int):
        return pb_varint(num << 3) + pb_varint(v)
    if isinstance(v, str):
        v = v.encode()
    return pb_varint(num << 3 | 2) + pb_varint(len(v)) + v


def pb_parse(buf):
    out, i = {}, 0
    while i < len(buf):
        key, i = pb_read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = pb_read_varint(buf, i)
        elif wt == 2:
            n, i = pb_read_varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        else:
            v, i = buf[i:i + 4], i + 4
        out.setdefault(num, []).append(v)
    return out


def pb_read_varint(buf, i):
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


class FakeSigd:
    """sigd's side of the bus for one TURN node: register, heartbeats,
    secrets push, revoke."""
    def __init__(self, endpoint):
        import zmq
        self.zmq = zmq
        self.sock = zmq.Context.instance().socket(zmq.ROUTER)
        self.sock.bind(endpoint)
        self.node, self.rid, self.heartbeat, self.asked = None, 1000, None, False
        self.replies = {}

    def pump(self, seconds):
        end = time.time() + seconds
        while time.time() < end:
            if not self.sock.poll(50):
                continue
            peer, data = self.sock.recv_multipart()
            env = pb_parse(data)
            rid = env[1][0]
            if 10 in env:       # register
                self.node = peer
                self.rid += 1
                body = pb_field(1, pb_parse(env[10][0])[2][0]) + pb_field(2, 200)
                self.sock.send_multipart([peer, pb_field(1, self.rid) + pb_field(2, rid) +
                                          pb_field(11, body)])
            elif 12 in env:
                self.heartbeat = pb_parse(env[12][0])
            elif 50 in env:     # the node asks for secrets: sigd has none yet
                self.asked = True
                self.rid += 1
                self.sock.send_multipart([peer, pb_field(1, self.rid) + pb_field(2, rid) +
                                          pb_field(50, b"")])
            elif 52 in env:
                self.replies[env[2][0]] = pb_parse(env[52][0])

    def request(self, field, body):
        self.rid += 1
        rid = self.rid
        self.sock.send_multipart([self.node, pb_field(1, rid) + pb_field(3, 1000) +
                                  pb_field(field, body)])
        end = time.time() + 3
        while time.time() < end and rid not in self.replies:
            self.pump(0.1)
        return self.replies.get(rid)


def second_checks(env):
    srv = (env["EXT"], int(env["PORT2"]))
    lan = env["LAN"]
    sigd = FakeSigd(env["FAKEBUS"])
    sigd.pump(0.1)
    end = time.time() + 5
    while time.time() < end and (sigd.node is None or not sigd.asked):
        sigd.pump(0.2)
    check("bus: node registered and asked for the REST secrets", sigd.node is not None and sigd.asked,
          "node %r asked %r" % (sigd.node, sigd.asked))

    # Quota: 2 allocations per user, the third gets 486.
    cs = [Client(srv, "carol", "pw") for _ in range(3)]
    codes = [c.allocate().code() for c in cs]
    check("user quota: third allocation of a user gets 486", codes == [None, None, 486], str(codes))
    sigd.pump(1.5)
    hb = sigd.heartbeat or {}
    check("bus: heartbeat reports the allocations", hb.get(2, [None])[0] == 2, str(hb))

    # Bandwidth cap 2000 B/s: a burst of 20 x 500 B gets through only in part.
    echo = Echo(lan)
    cs[0].perm(lan)
    for i in range(20):
        cs[0].send(lan, echo.addr[1], b"%03d" % i + b"x" * 497)
    time.sleep(0.3)
    echo.pump()
    n = len(echo.got)
    check("bandwidth cap per allocation drops the excess", 1 <= n <= 6, "%d of 20 arrived" % n)

    # Lifetime 2 s (the server's maximum here): expired without a Refresh.
    time.sleep(2.6)
    expect("allocation expired after its lifetime: Refresh gets 437", cs[1].refresh(2), 437)
    # The nonce lifetime is 2 s too: the client's nonce is stale now.
    c = cs[2]
    c.nonce_before = c.nonce
    m = c.transact(build(REFRESH, REQ, [attr(A_USERNAME, c.user.encode()), attr(A_REALM, c.realm),
                                        attr(A_NONCE, c.nonce)], None, c.key))
    check("stale nonce: 438 with a fresh NONCE", m.code() == 438 and m.get(A_NONCE) not in (None, c.nonce),
          "code %s" % m.code())
    for x in cs:
        x.close()

    # Secrets pushed and rotated by sigd; REST credentials follow.
    r = sigd.request(50, pb_field(1, "pushed-2") + pb_field(1, "pushed-1"))
    check("bus: secrets push answered OK with the count", r is not None and r.get(1) == [0]
          and r.get(3) == [2], str(r))
    u, p = rest_user("pushed-1", "agent9")
    a = Client(srv, u, p)
    expect("REST with a pushed secret", a.allocate(), "success")
    u2, p2 = rest_user("configured", "agent9")
    expect("REST with the replaced config secret: 401", Client(srv, u2, p2).allocate(), 401)

    # Revoke the full REST name: allocation gone, name refused.
    r = sigd.request(51, pb_field(1, u))
    check("bus: revoke answered with 1 allocation deleted, none left",
          r is not None and r.get(3) == [1] and r.get(4) == [0], str(r))
    # The name is refused before the allocation is looked up.
    expect("Refresh with the revoked name: 401", a.refresh(2), 401)
    expect("revoked REST name is refused: 401", Client(srv, u, p).allocate(), 401)
    a.close()
    # Revoke by bare user: every REST name of that user.
    b1 = Client(srv, *rest_user("pushed-2", "agent10"))
    b2 = Client(srv, *rest_user("pushed-2", "agent10", ttl=900))
    b1.allocate()
    b2.allocate()
    r = sigd.request(51, pb_field(1, "agent10"))
    check("bus: revoke by user deletes all its REST allocations", r is not None and r.get(3) == [2], str(r))


# ---- large datagrams and bursts (test-turn-large.sh) --------------------------
#
# turnd reads UDP into 1600-byte slots with a 64 KiB overflow area each and
# joins a larger datagram in a separate buffer, on the listener (from
# clients) and on the relay sockets (from peers); one datagram per quiet
# wake-up with recvfrom(), a batch with recvmmsg() when busy (the socket was
# read in the previous loop iteration). These checks send payloads around
# and far beyond the slot, one at a time in both modes and in bursts
# (turnd stopped with SIGSTOP while a burst is queued, so that it wakes to a
# full socket and reads it in batches), and compare every byte.

SO_RCVBUFFORCE = 33
CHAN_MAX = 65507 - 4            # ChannelData in one UDP datagram
IND_MAX = (65507 - 36) & ~3     # Send/Data indication: header, XOR-PEER-ADDRESS, DATA
# The datagram sizes of the slot boundary: payload + 4 (ChannelData) and
# padded payload + 36 (indication) on the listener, the payload itself on
# the relay socket.
SIZES = (1, 2, 3, 4, 5, 100, 1499, 1500, 1563, 1564, 1565, 1595, 1596, 1597, 1599,
         1600, 1601, 1602, 1604, 2000, 3200, 4000, 9000, 16384, 32768, 65000)


def big_rcvbuf(s, size=8 << 20):
    """A test socket that never drops a burst of large datagrams itself."""
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)     # root
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)   # up to rmem_max


def payload(tag, n):
    """n random bytes, the first six the tag and the length (so that a
    mix-up names the datagram it came from)."""
    p = os.urandom(n)
    return struct.pack(">HI", tag & 0xFFFF, n)[:n] + p[6:] if n >= 6 else p


def udp_drops(ip, port):
    """The kernel's drop count of the UDP socket bound to ip:port (a full
    receive buffer), from /proc/net/udp; None if not found."""
    want = "%08X:%04X" % (struct.unpack("<I", socket.inet_aton(ip))[0], port)
    try:
        with open("/proc/net/udp") as f:
            for line in f:
                col = line.split()
                if len(col) > 12 and col[1] == want:
                    return int(col[12])
    except OSError:
        pass
    return None


def datagrams(s, count, timeout):
    """Up to count datagrams from socket s as (bytes, source), waiting at
    most timeout seconds in all."""
    end = time.time() + timeout
    for _ in range(count):
        s.settimeout(max(0.01, end - time.time()))
        try:
            yield s.recvfrom(70000)
        except socket.timeout:
            return
        if time.time() >= end:
            return


class Peer:
    """A raw UDP peer on an allowed address: sends datagrams of its own to
    the relayed address and keeps what arrives."""
    def __init__(self, ip):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((ip, 0))
        big_rcvbuf(self.s)
        self.addr = self.s.getsockname()

    def recv(self, count, timeout=2.0):
        """Up to count datagrams as (source, bytes), waiting at most timeout."""
        return [(a, d) for d, a in datagrams(self.s, count, timeout)]

    def extra(self, wait=0.1):
        """Datagrams that arrive within wait: none are expected."""
        return self.recv(1000, wait)


def client_recv(c, count, timeout=2.0):
    """Up to count relayed datagrams at client c as (channel or peer,
    payload); a ChannelData whose length field disagrees with the datagram
    (beyond padding) or anything not a Data indication comes back as ("bad", hex head)."""
    out = []
    for d, _ in datagrams(c.s, count, timeout):
        if len(d) >= 4 and d[0] & 0xC0 == 0x40:
            ch, n = struct.unpack(">HH", d[:4])
            # Over UDP padding is optional (RFC 8656 12.5): at most 3 bytes.
            exact = 0 <= len(d) - 4 - n <= 3
            out.append((ch, d[4:4 + n]) if exact else ("bad", d[:8].hex()))
            continue
        try:
            m = Msg(d)
        except (ValueError, struct.error):
            out.append(("bad", d[:8].hex()))
            continue
        if m.cls == IND and m.method == DATA and m.get(A_PEER) and m.get(A_DATA) is not None:
            out.append((parse_xaddr(m.get(A_PEER), m.tid), m.get(A_DATA)))
        else:
            out.append(("bad", d[:8].hex()))
    c.s.settimeout(0.4)
    return out


def describe(got, want):
    """Why got (a list of (key, bytes)) is not want: the first difference."""
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            if g[0] != w[0]:
                return "datagram %d: from/channel %r, want %r" % (i, g[0], w[0])
            if len(g[1]) != len(w[1]):
                return "datagram %d: %d bytes, want %d (head %s)" % (
                    i, len(g[1]), len(w[1]), g[1][:6].hex())
            j = next(k for k in range(len(w[1])) if g[1][k] != w[1][k])
            return "datagram %d (%d bytes): differs from byte %d" % (i, len(w[1]), j)
    return "%d of %d arrived" % (len(got), len(want))


class Paused:
    """turnd stopped (SIGSTOP) for the block, so that what is sent meanwhile
    is queued on its sockets and read in batches when it continues. Without
    a PID (TURND_PID unset) the block runs with turnd running."""
    def __init__(self, pid):
        self.pid = pid

    def __enter__(self):
        if self.pid:
            os.kill(self.pid, 19)      # SIGSTOP
        return self

    def __exit__(self, *exc):
        if self.pid:
            time.sleep(0.05)           # loopback delivery is done; margin
            os.kill(self.pid, 18)      # SIGCONT
        return False


def large_checks(env):
    srv = (env["EXT"], int(env["PORT"]))
    lan = env["LAN"]
    pid = int(env.get("TURND_PID") or 0)
    chan = 0x4001
    pa, pb = Peer(lan), Peer(lan)      # pa: on a channel; pb: Send/Data indications
    c = Client(srv, "alice", "wonderland")
    big_rcvbuf(c.s)
    m = c.allocate()
    ok = m.cls == OK and c.relayed is not None
    check("large: allocate", ok, "code %s" % m.code())
    if not ok:
        return
    expect("large: CreatePermission for the peers' address", c.perm(lan), "success")
    expect("large: ChannelBind 0x%04x to peer A" % chan, c.bind(chan, lan, pa.addr[1]), "success")
    relayed = (env["EXT"], c.relayed[1])

    def to_peer(p, data):
        if p is pa:
            c.s.sendto(struct.pack(">HH", chan, len(data)) + data, srv)
        else:
            c.send(lan, pb.addr[1], data)

    def key(p):
        return chan if p is pa else pb.addr

    # One at a time: each size on each path, twice. turnd counts a socket
    # busy when it was read in the loop iteration before, however long that
    # iteration waited, so a datagram after a datagram is read with
    # recvmmsg() (the slots); a poke that makes turnd read another socket
    # first (a datagram from a peer without permission to the relay socket,
    # a Binding request from another socket to the listener) makes the
    # next read a quiet one, recvfrom() into the large buffer.
    poke = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    poke.bind((env["EXT"], 0))          # no permission for this address

    def quiet(listener):
        if listener:
            poke.sendto(b"x", relayed)  # dropped: no permission
        else:
            poke.sendto(build(BINDING, REQ, []), srv)
        time.sleep(0.005)

    for mode in ("busy read", "quiet read"):
        for p, name, top in ((pa, "ChannelData", CHAN_MAX), (pb, "Send indication", IND_MAX)):
            bad = []
            for n in SIZES + (top,):
                data = payload(n, n)
                if mode == "quiet read":
                    quiet(True)
                to_peer(p, data)
                got = p.recv(1, 1.0)
                if got != [(relayed, data)]:
                    bad.append("%d: %s" % (n, describe(got, [(relayed, data)])))
            check("client->peer %s, %d payload sizes 1..%d bytes one at a time (%s): "
                  "byte-identical from the relayed address" % (name, len(SIZES) + 1, top, mode),
                  not bad, "; ".join(bad))
        for p, name, top in ((pa, "ChannelData on the channel", CHAN_MAX),
                             (pb, "Data indication (no channel)", IND_MAX)):
            bad = []
            for n in SIZES + (top,):
                data = payload(n, n)
                if mode == "quiet read":
                    quiet(False)
                p.s.sendto(data, relayed)
                got = client_recv(c, 1, 1.0)
                if got != [(key(p), data)]:
                    bad.append("%d: %s" % (n, describe(got, [(key(p), data)])))
            check("peer->client %s, %d payload sizes 1..%d bytes one at a time (%s): "
                  "byte-identical" % (name, len(SIZES) + 1, top, mode), not bad, "; ".join(bad))
    poke.close()

    # Bursts: 64 datagrams back to back, both framings interleaved, large
    # ones among small ones. From the peers, what is queued must fit the
    # relay socket's default receive buffer (208 KiB, with the kernel's
    # overhead per datagram): sizes up to 9000, one 65000 apart.
    mix = (1, 1600, 160, 1601, 2, 1599, 4000, 172, 1597, 1565, 100, 9000, 1596, 1564, 1602, 3)
    mix_peer = (1, 1600, 160, 1601, 2, 1599, 172, 4000, 1500, 3, 100, 1602, 160, 5, 172, 9000)

    def burst_to_peers(sizes, paused, label):
        sent = []
        with Paused(pid if paused else 0):
            for i, n in enumerate(sizes):
                p = pa if i % 2 == 0 else pb
                data = payload(i, n)
                to_peer(p, data)
                sent.append((p, data))
        bad = []
        for p, name in ((pa, "ChannelData"), (pb, "Send")):
            want = [(relayed, d) for q, d in sent if q is p]
            got = p.recv(len(want), 3.0)
            got += p.extra()
            if got != want:
                bad.append("%s: %s" % (name, describe(got, want)))
        check("client->peer burst of %d (%s): all byte-identical, in order, nothing more"
              % (len(sizes), label), not bad, "; ".join(bad))

    def burst_to_client(sizes, label):
        sent = []
        with Paused(pid):
            for i, n in enumerate(sizes):
                p = pa if i % 2 == 0 else pb
                data = payload(i, n)
                p.s.sendto(data, relayed)
                sent.append((key(p), data))
        got = client_recv(c, len(sent), 3.0)
        got += client_recv(c, 1000, 0.1)
        why = describe(got, sent)
        if got != sent:
            why += ", relay socket drops %s" % udp_drops(*relayed)
        check("peer->client burst of %d (%s): all byte-identical, in order, nothing more"
              % (len(sizes), label), got == sent, why)

    burst_to_peers(mix * 4, True, "mixed 1..9000 bytes, turnd paused")
    burst_to_peers((1, 65000, CHAN_MAX, 1600, 100, IND_MAX, 1601, 32768) * 4, True,
                   "up to %d bytes, turnd paused" % CHAN_MAX)
    burst_to_peers(mix * 4, False, "mixed, turnd running")
    burst_to_client(mix_peer * 4, "mixed 1..9000 bytes, turnd paused")
    burst_to_client((1, 65000, 32768, IND_MAX, 1601, 3), "up to %d bytes, turnd paused" % IND_MAX)

    # The allocation still works for a plain small datagram both ways.
    to_peer(pa, b"after the bursts")
    got = pa.recv(1, 1.0)
    pa.s.sendto(b"and back", relayed)
    back = client_recv(c, 1, 1.0)
    check("large: allocation relays small datagrams after the bursts",
          got == [(relayed, b"after the bursts")] and back == [(chan, b"and back")],
          "%r %r" % (got, back))
    expect("large: Refresh 0 deletes the allocation", c.refresh(0), "success")
    c.close()


if __name__ == "__main__":
    {"main": main_checks, "second": second_checks,
     "large": large_checks}[sys.argv[1]](os.environ)
