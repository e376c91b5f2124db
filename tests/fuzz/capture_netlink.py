#!/usr/bin/env python3
"""Writes seeds for fuzz_netlink: the raw replies of the dumps netkeep
makes (rtnetlink links, addresses, routes; nftables generation, tables,
chains, rules, objects, sets and the forwarding maps' elements), as a
recv() returns them, one file per reply buffer. Run it inside a network
namespace netkeep has configured, with forwardings of both protocols:
    ip netns exec NS tests/fuzz/capture_netlink.py tests/fuzz/corpus/fuzz_netlink
"""
import hashlib, os, socket, struct, sys

NETLINK_NETFILTER = 12
NLM_F_REQUEST, NLM_F_DUMP = 1, 0x300
out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def attr(t, payload):
    n = 4 + len(payload)
    return struct.pack("HH", n, t) + payload + b"\0" * ((4 - n % 4) % 4)


def dump(bus, msgtype, body):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, bus)
    s.bind((0, 0))
    msg = struct.pack("IHHII", 16 + len(body), msgtype, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body
    s.send(msg)
    while True:
        data = s.recv(1 << 16)
        with open(os.path.join(out, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
            f.write(data)
        at, done = 0, False
        while at + 16 <= len(data):
            n, t = struct.unpack_from("IH", data, at)
            done |= t in (2, 3)  # NLMSG_ERROR, NLMSG_DONE
            at += max(16, (n + 3) & ~3)
        if done:
            break
    s.close()


# rtnetlink: RTM_GETLINK 18, RTM_GETADDR 22, RTM_GETROUTE 26
dump(socket.NETLINK_ROUTE, 18, struct.pack("BxHiII", 0, 0, 0, 0, 0))
dump(socket.NETLINK_ROUTE, 22, struct.pack("BBBBi", 0, 0, 0, 0, 0))
dump(socket.NETLINK_ROUTE, 26, struct.pack("BBBBBBBBI", 0, 0, 0, 0, 0, 0, 0, 0, 0))
# nftables (subsystem 10): GETTABLE 1, GETCHAIN 4, GETRULE 7, GETSET 10,
# GETSETELEM 13, GETGEN 16, GETOBJ 19
nfgen = struct.pack("BBH", 0, 0, 0)  # AF_UNSPEC: every family
for m in (1, 4, 7, 10, 16, 19):
    dump(NETLINK_NETFILTER, (10 << 8) | m, nfgen)
for table, name in (("nat", "netkeep-portforwardings-tcp"), ("nat", "netkeep-portforwardings-tcp-ranges"),
                    ("nat", "netkeep-portforwardings-udp"), ("netkeep", "forwarded-tcp"),
                    ("netkeep", "forwarded-tcp-ranges")):
    body = struct.pack("BBH", 2, 0, 0) + attr(1, table.encode() + b"\0") + attr(2, name.encode() + b"\0")
    dump(NETLINK_NETFILTER, (10 << 8) | 13, body)
