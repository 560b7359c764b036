#!/usr/bin/python3
"""pngcolors.py: how many pixels of a PNG's region are each colour.

    pngcolors.py FILE.png X0 Y0 X1 Y1 TOL '#rrggbb'...

prints one line per colour: "#rrggbb COUNT", COUNT the pixels in
[X0, X1) x [Y0, Y1) within TOL (the largest channel difference) of it.
Decodes 8-bit RGB or RGBA, non-interlaced PNGs (what Chromium writes)
with zlib and struct only; anything else is an error, exit 2.
"""
import struct
import sys
import zlib


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit("pngcolors: %s: not a PNG" % path)
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        print("pngcolors: depth %d colour type %d interlace %d: not decoded"
              % (depth, ctype, interlace), file=sys.stderr)
        sys.exit(2)
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pr) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def main():
    path = sys.argv[1]
    x0, y0, x1, y1, tol = (int(float(v)) for v in sys.argv[2:7])
    cols = sys.argv[7:]
    w, h, bpp, rows = read_png(path)
    want = [tuple(int(c[k:k + 2], 16) for k in (1, 3, 5)) for c in cols]
    count = [0] * len(want)
    for y in range(max(0, y0), min(h, y1)):
        line = rows[y]
        for x in range(max(0, x0), min(w, x1)):
            px = line[x * bpp:x * bpp + 3]
            for k, c in enumerate(want):
                if max(abs(px[0] - c[0]), abs(px[1] - c[1]), abs(px[2] - c[2])) <= tol:
                    count[k] += 1
    for c, n in zip(cols, count):
        print(c, n)


main()
