#!/usr/bin/env python3
"""Draws Imp's app icon into the asset catalog (App/Assets.xcassets/AppIcon.appiconset).

A speech bubble holding a camera lens: ask about what the camera sees. Drawn
from signed distances (antialiased by coverage), so it is exact at 1024 px
and has no alpha channel (App Store Connect refuses a marketing icon with
one). Three appearances, as Xcode 16's single-size icon set takes them:
any, dark and tinted (grayscale, which iOS 18 colours).

    python3 ios-app/ImpApp/design/draw_app_icon.py    # needs numpy

tests/ios_bundle.py checks the result (sizes, no alpha, Contents.json).
"""
import json
import struct
import zlib
from pathlib import Path

import numpy as np

SIZE = 1024
OUT = Path(__file__).resolve().parent.parent / "App" / "Assets.xcassets" / "AppIcon.appiconset"


def coverage(distance):
    """Signed distance (negative inside) to the share of the pixel covered."""
    return np.clip(0.5 - distance, 0.0, 1.0)


def rounded_box(x, y, cx, cy, half_w, half_h, radius):
    qx = np.abs(x - cx) - (half_w - radius)
    qy = np.abs(y - cy) - (half_h - radius)
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
    inside = np.minimum(np.maximum(qx, qy), 0)
    return outside + inside - radius


def circle(x, y, cx, cy, r):
    return np.hypot(x - cx, y - cy) - r


def triangle(x, y, a, b, c):
    """Distance to a triangle (exact outside, negative inside)."""
    def edge(p, q):
        ex, ey = q[0] - p[0], q[1] - p[1]
        wx, wy = x - p[0], y - p[1]
        t = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey), 0, 1)
        dx, dy = wx - ex * t, wy - ey * t
        return dx * dx + dy * dy, ex * wy - ey * wx

    d2, s = zip(*(edge(p, q) for p, q in ((a, b), (b, c), (c, a))))
    dist = np.sqrt(np.minimum(np.minimum(d2[0], d2[1]), d2[2]))
    inside = ((s[0] > 0) & (s[1] > 0) & (s[2] > 0)) | ((s[0] < 0) & (s[1] < 0) & (s[2] < 0))
    return np.where(inside, -dist, dist)


def layers():
    """The shapes' coverages, in painting order."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) + 0.5
    bubble = np.minimum(
        rounded_box(x, y, 512, 470, 330, 270, 150),
        triangle(x, y, (300, 640), (430, 700), (250, 850)),
    )
    return {
        "bubble": coverage(bubble),
        "lens_ring": coverage(circle(x, y, 512, 470, 170)),
        "lens_glass": coverage(circle(x, y, 512, 470, 118)),
        "pupil": coverage(circle(x, y, 512, 470, 56)),
        "glint": coverage(circle(x, y, 462, 420, 26)),
        "gradient": (y / SIZE)[..., None],
    }


def paint(shapes, top, bottom, bubble, ring, glass, pupil, glint):
    image = np.array(top) * (1 - shapes["gradient"]) + np.array(bottom) * shapes["gradient"]
    for name, colour in (("bubble", bubble), ("lens_ring", ring), ("lens_glass", glass),
                         ("pupil", pupil), ("glint", glint)):
        a = shapes[name][..., None]
        image = image * (1 - a) + np.array(colour, dtype=np.float64) * a
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def write_png(path, rgb):
    """An 8-bit RGB PNG (colour type 2: no alpha)."""
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[row].tobytes() for row in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
                     + chunk(b"IEND", b""))


def main():
    shapes = layers()
    icons = {
        "AppIcon.png": paint(shapes, (36, 52, 140), (14, 128, 140), (255, 255, 255), (28, 36, 64),
                             (52, 120, 200), (14, 22, 44), (235, 245, 255)),
        "AppIcon-dark.png": paint(shapes, (18, 20, 28), (10, 12, 18), (70, 200, 210), (16, 20, 32),
                                  (40, 96, 168), (8, 12, 24), (220, 235, 255)),
        "AppIcon-tinted.png": paint(shapes, (0, 0, 0), (0, 0, 0), (235, 235, 235), (40, 40, 40),
                                    (120, 120, 120), (20, 20, 20), (250, 250, 250)),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    for name, rgb in icons.items():
        write_png(OUT / name, rgb)
    image = {"idiom": "universal", "platform": "ios", "size": f"{SIZE}x{SIZE}"}
    contents = {
        "images": [
            {**image, "filename": "AppIcon.png"},
            {**image, "filename": "AppIcon-dark.png",
             "appearances": [{"appearance": "luminosity", "value": "dark"}]},
            {**image, "filename": "AppIcon-tinted.png",
             "appearances": [{"appearance": "luminosity", "value": "tinted"}]},
        ],
        "info": {"author": "xcode", "version": 1},
    }
    (OUT / "Contents.json").write_text(json.dumps(contents, indent=2) + "\n")
    (OUT.parent / "Contents.json").write_text(json.dumps({"info": {"author": "xcode", "version": 1}}, indent=2)
                                              + "\n")


if __name__ == "__main__":
    main()
