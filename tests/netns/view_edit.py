#!/usr/bin/env python3
"""Edits a netkeep nftables view file (backends/nft_view.cpp, format 5) in
place, for the wrong-view tests: the file is read into plain lists, one
edit is made, and it is written back in the same encoding.
  view_edit.py FILE bump-handle CHAIN INDEX N   rule INDEX of CHAIN: handle + N
  view_edit.py FILE add-rule CHAIN HANDLE       a copy of CHAIN's first rule, at HANDLE
  view_edit.py FILE drop-counters               no counters at all
  view_edit.py FILE set-identity FILE2          FILE2's identity (another namespace's view, relabelled)
  view_edit.py FILE set-gen GEN                 another ruleset generation
  view_edit.py FILE drop-elem MAP PORT          MAP's element starting at PORT
  view_edit.py FILE gen                         prints its generation
"""
import struct, sys

MAGIC = b"netkeep nft view 5\n"


class R:
    def __init__(self, b): self.b, self.o = b, 0
    def num(self, f):
        v = struct.unpack_from(f, self.b, self.o)[0]; self.o += struct.calcsize(f); return v
    def str(self):
        n = self.num("I"); s = self.b[self.o:self.o + n]; self.o += n; return s
    def key(self): return (self.num("B"), self.str(), self.str())


def load(path):
    b = open(path, "rb").read()
    assert b.startswith(MAGIC), "not a view file"
    r = R(b); r.o = len(MAGIC)
    v = {"identity": r.str(), "gen": r.num("I"), "stamp": r.str(), "tables": [], "chains": [],
         "counters": [], "maps": [], "rest": b""}
    for _ in range(r.num("I")):
        v["tables"].append((r.num("B"), r.str()))
    for _ in range(r.num("I")):
        key, base = r.key(), None
        if r.num("B"):
            base = (r.str(), r.num("I"), r.num("i"), r.num("I"))
        rules = [[r.num("Q"), r.str()] for _ in range(r.num("I"))]
        v["chains"].append([key, base, rules])
    for _ in range(r.num("I")):
        v["counters"].append(r.key())
    for _ in range(r.num("I")):
        key, typed, kind = r.key(), r.num("B"), r.num("B")
        elems = [r.b[r.o + 12 * i:r.o + 12 * (i + 1)] for i in range(r.num("I"))]
        r.o += 12 * len(elems)  # first, last, addr, to_first, to_last
        v["maps"].append([key, typed, kind, elems])
    v["rest"] = b[r.o:]  # protection's sets, kept as they are
    return v


def save(path, v):
    out = bytearray(MAGIC)
    s = lambda x: out.extend(struct.pack("I", len(x)) + x)
    key = lambda k: (out.extend(struct.pack("B", k[0])), s(k[1]), s(k[2]))
    s(v["identity"]); out.extend(struct.pack("I", v["gen"])); s(v["stamp"])
    out.extend(struct.pack("I", len(v["tables"])))
    for fam, name in v["tables"]:
        out.extend(struct.pack("B", fam)); s(name)
    out.extend(struct.pack("I", len(v["chains"])))
    for k, base, rules in v["chains"]:
        key(k); out.extend(struct.pack("B", base is not None))
        if base:
            s(base[0]); out.extend(struct.pack("IiI", base[1], base[2], base[3]))
        out.extend(struct.pack("I", len(rules)))
        for h, body in rules:
            out.extend(struct.pack("Q", h)); s(body)
    out.extend(struct.pack("I", len(v["counters"])))
    for k in v["counters"]:
        key(k)
    out.extend(struct.pack("I", len(v["maps"])))
    for k, typed, kind, elems in v["maps"]:
        key(k); out.extend(struct.pack("B", typed) + struct.pack("B", kind) + struct.pack("I", len(elems)))
        for e in elems:
            out.extend(e)
    out.extend(v["rest"])
    open(path, "wb").write(out)


def chain(v, name):
    return next(c for c in v["chains"] if c[0][2] == name.encode())


path, op, args = sys.argv[1], sys.argv[2], sys.argv[3:]
v = load(path)
if op == "gen":
    print(v["gen"]); sys.exit()
if op == "bump-handle": chain(v, args[0])[2][int(args[1])][0] += int(args[2])
elif op == "add-rule":
    c = chain(v, args[0]); c[2].insert(0, [int(args[1]), c[2][0][1]])
elif op == "drop-counters": v["counters"] = []
elif op == "set-identity": v["identity"] = load(args[0])["identity"]
elif op == "set-gen": v["gen"] = int(args[0])
elif op == "drop-elem":
    m = next(m for m in v["maps"] if m[0][2] == args[0].encode())
    m[3] = [e for e in m[3] if struct.unpack_from("H", e)[0] != int(args[1])]
else: sys.exit("unknown edit " + op)
save(path, v)
