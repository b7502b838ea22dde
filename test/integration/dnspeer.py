#!/usr/bin/env python3
"""A tiny authoritative DNS server for the tests (UDP only).

dnspeer.py ADDR NAME=IP [NAME=IP...]

Answers A queries for the given names (case-insensitive) with their IPv4
address, every other query for them with an empty answer (NOERROR/NODATA:
no NAPTR, SRV or AAAA records), and anything else with NXDOMAIN. Lets the
tests dial TLS trunks by DNS name, as production does, without touching
/etc/hosts or the machine's resolver. Prints one line per query; runs until
killed by PID.
"""
import socket
import struct
import sys


def qname(data, off):
    labels = []
    while data[off]:
        n = data[off]
        labels.append(data[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels).lower(), off + 1


def main():
    addr = sys.argv[1]
    names = {}
    for a in sys.argv[2:]:
        n, ip = a.split("=", 1)
        names[n.lower().rstrip(".")] = ip
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    while True:
        data, peer = s.recvfrom(4096)
        if len(data) < 17:
            continue
        qid, flags, qd = struct.unpack("!HHH", data[:6])
        try:
            name, end = qname(data, 12)
        except IndexError:
            continue
        qtype, qclass = struct.unpack("!HH", data[end:end + 4])
        question = data[12:end + 4]
        ip = names.get(name)
        rcode = 0 if ip else 3
        answers = b""
        if ip and qtype == 1:
            answers = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(ip)
        hdr = struct.pack("!HHHHHH", qid, 0x8400 | (flags & 0x0100) | 0x0080 | rcode,
                          1, 1 if answers else 0, 0, 0)
        s.sendto(hdr + question + answers, peer)
        print("query %s type %d -> %s" % (name, qtype, ip if answers else
                                          ("nodata" if ip else "nxdomain")), flush=True)


if __name__ == "__main__":
    main()
