"""Sends malformed and unwelcome frames to sigd's control bus (a ROUTER) from
DEALER sockets, the way a broken or hostile node would, and prints what
sigd answered.

    /usr/bin/python3 busfuzz.py tcp://HOST:PORT

Prints "sent PEER CASE" for every message sent and "reply PEER body=N
status=S" for every reply (N: the Envelope body field number, S: the
status of an Error body, or -). The Envelopes are encoded by hand from
proto/gw.proto (field numbers), independent of our C code. Bounded: every
wait has a timeout; the sockets never linger.
"""
import random
import sys
import time

import zmq

endpoint = sys.argv[1]
rnd = random.Random(7700)


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def vi(field, n):       # varint field
    return varint(field << 3) + varint(n)


def ld(field, data):    # length-delimited field
    return varint((field << 3) | 2) + varint(len(data)) + data


def envelope(request_id, body_field=None, body=b""):
    e = vi(1, request_id)
    if body_field is not None:
        e += ld(body_field, body)
    return e


def register(node, role=1, epoch=42):
    """NodeRegister: role 1, node 2, ifaces 3, capacity 4, epoch 6."""
    iface = vi(1, 0) + ld(2, b"127.0.61.1") + ld(4, vi(1, 30000) + vi(2, 30999))
    return vi(1, role) + ld(2, node) + ld(3, iface) + vi(4, 10) + vi(6, epoch)


def parse(data):
    """Top-level fields of a message: {field: value} (last one wins)."""
    out, i = {}, 0
    while i < len(data):
        key, i = read_varint(data, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(data, i)
        elif wt == 2:
            n, i = read_varint(data, i)
            v, i = data[i:i + n], i + n
        else:
            raise ValueError("wire type %d" % wt)
        out[f] = v
    return out


def read_varint(data, i):
    n = shift = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


ctx = zmq.Context()


def dealer(identity):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.ROUTING_ID, identity)
    s.connect(endpoint)
    return s


def send(sock, name, frames):
    if isinstance(frames, bytes):
        frames = [frames]
    sock.send_multipart(frames)
    print("sent %s %s" % (sock.getsockopt(zmq.ROUTING_ID).decode("ascii", "replace"),
                          name), flush=True)


fuzzer = dealer(b"fuzzer")
# Cases sigd must refuse as malformed ("bus: malformed frame"): 6.
send(fuzzer, "random-bytes", bytes(rnd.randrange(256) for _ in range(300)))
send(fuzzer, "empty-frame", b"")
hb = envelope(0x1234567, 12, vi(1, 99))
send(fuzzer, "truncated-envelope", hb[:-1])
send(fuzzer, "length-past-end", vi(1, 5) + varint((12 << 3) | 2) + varint(1000) + b"\x08\x01")
send(fuzzer, "overlong-varint", b"\x08" + b"\xff" * 11)
send(fuzzer, "missing-required-field", envelope(0x1234568, 12, vi(2, 3)))
# Badly framed ("bus: badly framed message"): 1.
send(fuzzer, "multi-frame", [envelope(0x1234569), b"second", b"third"])
# Well-formed but unwelcome: answered with an error, never acted upon.
send(fuzzer, "no-body", envelope(0x123456a))
send(fuzzer, "heartbeat-unknown-node", envelope(0x123456b, 12, vi(1, 99)))
send(fuzzer, "media-reply-nobody-asked-for",
     envelope(0x123456c, 24, vi(1, 0)) + vi(2, 0x7fffffffffff))
send(fuzzer, "register-bad-role", envelope(0x123456d, 10, register(b"fuzzer", role=99)))
send(fuzzer, "deregister-unknown-node", envelope(0x123456e, 14, ld(1, b"fuzz")))
send(fuzzer, "big-frame", bytes(rnd.randrange(256) for _ in range(300 * 1024)))

# A node claiming another node's name: refused, media1 left alone.
impostor = dealer(b"media1-impostor")
send(impostor, "register-as-media1", envelope(0x2234567, 10, register(b"media1")))
send(impostor, "heartbeat-as-media1", envelope(0x2234568, 12, vi(1, 42)))

# Routing ids sigd cannot print or reply to as is: a binary one and one
# longer than a node name may be.
binary = dealer(b"fz\x01\xfe\x7f")
send(binary, "no-body", envelope(0x3234567))
send(binary, "random-bytes", bytes(rnd.randrange(256) for _ in range(64)))
longid = dealer(b"L" * 200)
send(longid, "no-body", envelope(0x4234567))
send(longid, "register", envelope(0x4234568, 10, register(b"L" * 200)))

poller = zmq.Poller()
socks = {fuzzer: "fuzzer", impostor: "media1-impostor", binary: "binary",
         longid: "long-id"}
for s in socks:
    poller.register(s, zmq.POLLIN)
end = time.monotonic() + 1.5
while time.monotonic() < end:
    for s, _ in poller.poll(timeout=100):
        frames = s.recv_multipart()
        try:
            env = parse(frames[-1])
            body = [f for f in env if f >= 10]
            st = "-"
            if 31 in env:
                st = parse(env[31]).get(1, 0)
            print("reply %s body=%s status=%s"
                  % (socks[s], body[0] if body else "none", st), flush=True)
        except (ValueError, IndexError):
            print("reply %s undecodable" % socks[s], flush=True)
for s in socks:
    s.close()
ctx.term()
