#!/usr/bin/env python3
"""Turn pcap files into fuzz_packet seed inputs.

usage: pcap2fuzz.py OUTDIR FILE.pcap...

fuzz_packet's input is one link-type selector byte then frames, each a
2-byte big-endian length and the frame.  Each capture becomes one seed
holding all its frames (so flows, fragments and concatenation carry across
frames), written as OUTDIR/<name>.seed.
"""
import os
import struct
import sys

LINKS = {1: 0, 101: 1, 113: 2, 276: 3, 0: 4, 229: 5}


def frames(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    link = struct.unpack(end + "I", data[20:24])[0]
    off = 24
    out = []
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        out.append(data[off:off + incl])
        off += incl
    return link, out


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    for path in sys.argv[2:]:
        link, fr = frames(path)
        blob = bytes([LINKS.get(link, 0)]) + b"".join(struct.pack(">H", len(f)) + f[:65535] for f in fr)
        name = os.path.splitext(os.path.basename(path))[0]
        open(os.path.join(outdir, name + ".seed"), "wb").write(blob)


if __name__ == "__main__":
    main()
