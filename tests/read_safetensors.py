#!/usr/bin/env python3
"""An independent safetensors reader (standard library only), used by
tests/test_model.c to check mynn's model files from outside the library.

Usage: read_safetensors.py FILE

Validates the layout (header length, JSON, F32 dtypes, offsets inside the
data, no overlap, data fully covered) and prints, one per line:
    header <N>
    meta <key> <value as a JSON string>
    tensor <name> <dim,dim,...> <begin> <end> <sum> <hash> <first> <last>
where sum is the float64 sum of the values in order (repr, round-trips),
hash = sum over k of (k+1) * bits(value k) modulo 2^64 (bits: the float32's
uint32 pattern), first/last the first and last value (repr of the float32
value as a float64).  Tensors are listed in order of data_offsets.
Exits 1 with a message on stderr if the file is malformed.
"""
import json
import struct
import sys


def fail(msg):
    sys.stderr.write("read_safetensors: %s\n" % msg)
    sys.exit(1)


def main():
    if len(sys.argv) != 2:
        fail("usage: read_safetensors.py FILE")
    with open(sys.argv[1], "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        fail("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        fail("header length %d exceeds the file" % n)
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        fail("bad header: %s" % e)
    if not isinstance(header, dict):
        fail("header is not an object")
    data = blob[8 + n:]
    print("header %d" % n)
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict):
        fail("__metadata__ is not an object")
    for k, v in meta.items():
        if not isinstance(v, str):
            fail("metadata %r is not a string" % k)
        print("meta %s %s" % (k, json.dumps(v)))
    tensors = []
    for name, t in header.items():
        if t.get("dtype") != "F32":
            fail("%s: dtype %r" % (name, t.get("dtype")))
        shape = t["shape"]
        begin, end = t["data_offsets"]
        count = 1
        for d in shape:
            count *= d
        if not (0 <= begin <= end <= len(data)) or end - begin != 4 * count:
            fail("%s: bad data_offsets %r" % (name, t["data_offsets"]))
        tensors.append((begin, end, name, shape, count))
    tensors.sort()
    pos = 0
    for begin, end, name, _, _ in tensors:
        if begin != pos:
            fail("%s: gap or overlap at byte %d" % (name, begin))
        pos = end
    if pos != len(data):
        fail("%d bytes after the last tensor" % (len(data) - pos))
    for begin, end, name, shape, count in tensors:
        values = struct.unpack("<%df" % count, data[begin:end])
        bits = struct.unpack("<%dI" % count, data[begin:end])
        total = 0.0
        for v in values:
            total += v
        h = 0
        for k, b in enumerate(bits):
            h = (h + (k + 1) * b) % (1 << 64)
        print("tensor %s %s %d %d %r %d %r %r" % (
            name, ",".join(str(d) for d in shape), begin, end, total, h,
            values[0] if count else 0.0, values[-1] if count else 0.0))


if __name__ == "__main__":
    main()
