#!/bin/sh
# Integration test of turnd's STUN service with independent clients:
#   stun (Debian stun-client, an RFC 3489 client), turnutils_stunclient
#   (Debian coturn) over UDP, a python3 client over TCP (framing, partial
#   writes, back-to-back messages), and misbehaving peers (garbage, a
#   truncated message, a 64 KiB datagram) after which STUN must still work.
# Everything runs on 127.0.0.1 on a free port; every wait is bounded; the
# harness (lib.sh) signals only the turnd this script started, by PID.
# Prints "ok - test-turnd: NAME" / "not ok - test-turnd: NAME: reason" per
# check and exits non-zero on any failure.
#
#   B=build/san sh test/integration/test-turnd.sh

. "$(dirname "$0")/lib.sh"
PY=${PYTHON:-python3}

if [ ! -x "$BIN/turnd" ]; then
    not_ok "setup: no turnd binary in $BIN (make $BIN/turnd)"
    exit 1
fi
for tool in stun turnutils_stunclient "$PY"; do
    command -v "$tool" >/dev/null 2>&1 || { not_ok "setup: $tool not found"; exit 1; }
done

# The python3 client: independent of our C code (its own encoder, zlib's
# CRC-32 for FINGERPRINT).
cat >"$T/stunc.py" <<'EOF'
import os, socket, struct, sys, time, zlib

COOKIE = 0x2112A442

def request(tid, attrs=b""):
    return struct.pack(">HHI", 0x0001, len(attrs), COOKIE) + tid + attrs

def parse(msg, tid):
    """Checks a Binding success response; returns the XOR-MAPPED address."""
    typ, length, cookie = struct.unpack(">HHI", msg[:8])
    if typ != 0x0101 or cookie != COOKIE or msg[8:20] != tid:
        raise ValueError("not a success response to our request: %s" % msg[:20].hex())
    if length + 20 != len(msg):
        raise ValueError("length field %d, message %d" % (length, len(msg)))
    off, mapped, fp = 20, None, False
    while off < len(msg):
        at, al = struct.unpack(">HH", msg[off:off + 4])
        val = msg[off + 4:off + 4 + al]
        if at == 0x0020:
            port = struct.unpack(">H", val[2:4])[0] ^ (COOKIE >> 16)
            ip = bytes(a ^ b for a, b in zip(val[4:8], struct.pack(">I", COOKIE)))
            mapped = (socket.inet_ntoa(ip), port)
        if at == 0x8028:
            want = zlib.crc32(msg[:off]) ^ 0x5354554E
            if struct.unpack(">I", val)[0] != want or off + 8 != len(msg):
                raise ValueError("bad FINGERPRINT")
            fp = True
        off += 4 + ((al + 3) & ~3)
    if mapped is None or not fp:
        raise ValueError("XOR-MAPPED-ADDRESS or FINGERPRINT missing")
    return mapped

def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ValueError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf

def recv_msg(s):
    hdr = recv_exact(s, 20)
    return hdr + recv_exact(s, struct.unpack(">H", hdr[2:4])[0])

def udp_binding(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.5)
    tid = os.urandom(12)
    for _ in range(6):          # bounded retransmissions
        s.sendto(request(tid), ("127.0.0.1", port))
        try:
            data, _ = s.recvfrom(2048)
        except socket.timeout:
            continue
        mapped = parse(data, tid)
        if mapped != s.getsockname():
            raise ValueError("mapped %s, socket is %s" % (mapped, s.getsockname()))
        return
    raise ValueError("no answer to a UDP Binding request")

def tcp(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    # One request written in three pieces: partial reads on the server.
    tid = os.urandom(12)
    req = request(tid)
    for piece in (req[:3], req[3:11], req[11:]):
        s.sendall(piece)
        time.sleep(0.05)
    if parse(recv_msg(s), tid) != s.getsockname():
        raise ValueError("wrong mapped address over TCP")
    # Three requests back to back in one write, one with an odd SOFTWARE.
    tids = [os.urandom(12) for _ in range(3)]
    soft = struct.pack(">HH", 0x8022, 5) + b"probe\0\0\0"
    s.sendall(request(tids[0]) + request(tids[1], soft) + request(tids[2]))
    for t in tids:
        if parse(recv_msg(s), t) != s.getsockname():
            raise ValueError("wrong mapped address over TCP (back to back)")
    s.close()

def tcp_garbage(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    s.sendall(b"GET / HTTP/1.1\r\nHost: turnd\r\n\r\n")
    try:
        if s.recv(100) != b"":
            raise ValueError("answered garbage on TCP")
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise ValueError("connection left open after garbage")

def udp_garbage(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    dst = ("127.0.0.1", port)
    tid = os.urandom(12)
    full = request(tid, struct.pack(">HH", 0x8022, 4) + b"abcd")
    bad = [
        b"hello, this is not STUN",
        os.urandom(1), os.urandom(19), os.urandom(200),
        full[:10],                                  # truncated header
        full[:-4],                                  # truncated attribute
        full[:2] + b"\x00\x40" + full[4:],          # length past the end
        # No cookie: fine for an RFC 3489 Binding request, not for
        # another method.
        b"\x00\x03" + full[2:4] + b"\xde\xad\xbe\xef" + full[8:],
        b"\x01\x01" + full[2:],                     # a response: ignored
        bytes(65507),                               # 64 KiB datagram
    ]
    for b in bad:
        s.sendto(b, dst)
    s.settimeout(0.5)
    try:
        data, _ = s.recvfrom(70000)
        raise ValueError("answered garbage: %s" % data[:20].hex())
    except socket.timeout:
        pass

{"udp-binding": udp_binding, "tcp": tcp, "tcp-garbage": tcp_garbage,
 "udp-garbage": udp_garbage}[sys.argv[1]](int(sys.argv[2]))
EOF

# A port free for both UDP and TCP on 127.0.0.1 (bounded tries).
PORT=$("$PY" - <<'EOF'
import socket
for _ in range(50):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        continue
    print(p); break
EOF
)
BUSPORT=$((PORT == 65535 ? PORT - 1 : PORT + 1))
[ -n "$PORT" ] || { not_ok "setup: no free port"; exit 1; }

# sigd is not running: turnd must serve STUN and retry the bus quietly.
start_daemon turnd "$BIN/turnd" -s turnd.listen_addr=127.0.0.1 \
    -s turnd.port="$PORT" -s turnd.bus="tcp://127.0.0.1:$BUSPORT" \
    -s turnd.name=turn-it -s turnd.log_level=debug
if wait_until 10 grep -q "STUN on udp 127.0.0.1:$PORT, tcp 127.0.0.1:$PORT" \
        "$T/turnd.log" && alive turnd; then
    ok "start (udp+tcp 127.0.0.1:$PORT, no sigd)"
else
    not_ok "start: turnd not ready within 10 s"
    exit 1
fi

# (a) stun-client 0.97: takes the server as host:port (its -p is the
# client's own source port) and speaks RFC 3489; -v prints the mapping.
out=$(timeout 30 stun "127.0.0.1:$PORT" -v 2>&1)
if printf '%s\n' "$out" | grep -q "MappedAddress = 127.0.0.1:"; then
    ok "stun-client mapped address 127.0.0.1"
else
    not_ok "stun-client mapped address: $(printf '%s' "$out" | grep -E 'Mapped|Primary' | tr '\n' ' ')"
fi

# (b) coturn's turnutils_stunclient over UDP.
out=$(timeout 10 turnutils_stunclient -p "$PORT" 127.0.0.1 2>&1)
if printf '%s\n' "$out" | grep -q "UDP reflexive addr: 127.0.0.1:"; then
    ok "turnutils_stunclient reflexive address 127.0.0.1"
else
    not_ok "turnutils_stunclient reflexive address: $(printf '%s' "$out" | tr '\n' ' ')"
fi

# (c) TCP: partial writes and back-to-back messages, then garbage.
if err=$(timeout 20 "$PY" "$T/stunc.py" tcp "$PORT" 2>&1); then
    ok "tcp binding (split and back-to-back requests)"
else
    not_ok "tcp binding: $(printf '%s' "$err" | tail -n 1)"
fi
if err=$(timeout 20 "$PY" "$T/stunc.py" tcp-garbage "$PORT" 2>&1); then
    ok "tcp garbage closes the connection"
else
    not_ok "tcp garbage: $(printf '%s' "$err" | tail -n 1)"
fi

# (d) Misbehaving UDP peers, then a valid request must still succeed.
if err=$(timeout 20 "$PY" "$T/stunc.py" udp-garbage "$PORT" 2>&1); then
    ok "udp garbage, truncated and 64 KiB datagrams get no answer"
else
    not_ok "udp garbage: $(printf '%s' "$err" | tail -n 1)"
fi
if err=$(timeout 20 "$PY" "$T/stunc.py" udp-binding "$PORT" 2>&1); then
    ok "udp binding after garbage"
else
    not_ok "udp binding after garbage: $(printf '%s' "$err" | tail -n 1)"
fi
if alive turnd; then
    ok "turnd alive after garbage"
else
    not_ok "turnd alive after garbage: process is gone"
fi
if grep -q "DEBUG stun: .* from udp 127.0.0.1:" "$T/turnd.log"; then
    ok "malformed input logged with the peer address"
else
    not_ok "malformed input logged: no debug line naming the peer"
fi

# Clean stop: SIGTERM, bounded wait, exit status 0, no sanitizer report
# (under B=build/san a leak makes the exit status non-zero).
if stop_daemon turnd && grep -q "turnd: stopped" "$T/turnd.log" &&
        clean_log turnd; then
    ok "clean stop on SIGTERM"
else
    not_ok "clean stop: non-zero exit, no 'stopped' line or a sanitizer report"
fi

finish
