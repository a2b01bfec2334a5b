#!/usr/bin/env python3
"""Draws the app icons (public/icons/icon-{192,512}.png and the maskable 512) from the
shapes of public/favicon.svg, with the standard library only. Run again after changing
the favicon's shapes here; the PNGs are committed."""
import struct, zlib, sys, os

BLUE, DARK, WHITE = (0x2f, 0x6f, 0xde, 255), (0x1d, 0x4f, 0xa8, 255), (255, 255, 255, 255)
# (x, y, w, h, r, colour) on the favicon's 32×32 grid.
SHAPES = [(3, 5, 26, 24, 4, BLUE), (3, 5, 26, 7, 3, DARK), (9, 2, 3, 7, 1.5, DARK), (20, 2, 3, 7, 1.5, DARK),
          (8, 16, 5, 4, 1, WHITE), (15, 16, 5, 4, 1, WHITE), (8, 22, 5, 4, 1, WHITE)]

def inside(px, py, x, y, w, h, r):
    if not (x <= px <= x + w and y <= py <= y + h):
        return False
    cx = min(max(px, x + r), x + w - r)
    cy = min(max(py, y + r), y + h - r)
    return (px - cx) ** 2 + (py - cy) ** 2 <= r * r

def draw(size, maskable):
    # A maskable icon keeps its drawing inside the middle 80 % and fills the rest.
    scale, offset = (size * 0.8 / 32, size * 0.1) if maskable else (size / 32, 0.0)
    rows = []
    for j in range(size):
        row = bytearray([0])
        for i in range(size):
            colour = (255, 255, 255, 255) if maskable else (0, 0, 0, 0)
            gx, gy = (i + 0.5 - offset) / scale, (j + 0.5 - offset) / scale
            for (x, y, w, h, r, c) in SHAPES:
                if inside(gx, gy, x, y, w, h, r):
                    colour = c
            row.extend(colour)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")

out = sys.argv[1] if len(sys.argv) > 1 else "public/icons"
os.makedirs(out, exist_ok=True)
for name, size, maskable in [("icon-192.png", 192, False), ("icon-512.png", 512, False), ("maskable-512.png", 512, True)]:
    with open(os.path.join(out, name), "wb") as f:
        f.write(draw(size, maskable))
