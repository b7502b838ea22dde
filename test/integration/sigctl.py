#!/usr/bin/python3
# A bus client for ctl commands gwctl does not have yet (tests only):
#   sigctl.py tcp://127.0.0.1:7700 terminate CALL-ID
# Sends one gw.Envelope{ctl=CtlRequest} on a DEALER and prints the reply's
# status and text. Exit: 0 ST_OK, 1 an error reply, 2 no reply in 3 s.
# The protobuf encoding is written by hand (a few fields), so the test
# needs only python3-zmq.
import os
import sys

import zmq


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(num, wire, payload):
    key = varint((num << 3) | wire)
    if wire == 0:
        return key + varint(payload)
    return key + varint(len(payload)) + payload


def read_varint(buf, i):
    """The varint at buf[i:]: (value, index after it)."""
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def fields(buf):
    i = 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = read_varint(buf, i)
            yield num, v
        elif wire == 2:
            n, i = read_varint(buf, i)
            yield num, buf[i:i + n]
            i += n
        else:
            raise ValueError("unexpected wire type %d" % wire)


def main():
    if len(sys.argv) < 3:
        sys.stderr.write("usage: sigctl.py BUS COMMAND [ARG...]\n")
        return 2
    bus, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    ctl = field(1, 2, cmd.encode())
    for a in args:
        ctl += field(2, 2, a.encode())
    env = field(1, 0, int.from_bytes(os.urandom(6), "big")) + field(40, 2, ctl)
    s = zmq.Context().socket(zmq.DEALER)
    s.setsockopt(zmq.IDENTITY, ("sigctl-%d" % os.getpid()).encode())
    s.setsockopt(zmq.LINGER, 0)
    s.connect(bus)
    s.send(env)
    if not s.poll(3000):
        sys.stderr.write("sigctl: no reply\n")
        return 2
    reply = dict(fields(s.recv()))
    body = reply.get(41) or reply.get(31)
    if body is None:
        sys.stderr.write("sigctl: unexpected reply\n")
        return 1
    r = dict(fields(body))
    status = r.get(1, 0)
    text = r.get(2, b"").decode()
    print("status %d %s" % (status, text))
    return 0 if status == 0 and 41 in reply else 1


sys.exit(main())
