"""Drawing a `FaceSpec`: large, high-contrast regions placed by fixed rules (see the package docstring)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from converters.fakes.signal.spec import ASPECT, HAIR_COLORS, MOUTH_INNER, RGB, RIMS, FaceSpec


def _geometry(spec: FaceSpec, size: tuple[int, int]) -> tuple[float, float, float, float]:
    w, h = size
    side = min(w, h)
    fw = spec.scale * side
    return (w - side) / 2 + side * (0.5 + spec.dx), (h - side) / 2 + side * (0.5 + spec.dy), fw, ASPECT * fw


def face_box(spec: FaceSpec, size: tuple[int, int]) -> tuple[float, float, float, float]:
    """The drawn head (hair and face) in pixels: left, top, right, bottom; a face box that keeps the hair."""
    cx, cy, fw, fh = _geometry(spec, size)
    return cx - 1.2 * fw, cy - 1.3 * fh, cx + 1.2 * fw, cy + (1.3 if spec.long_hair else 1.0) * fh


def _scaled(rgb: Sequence[float], f: float) -> RGB:
    r, g, b = (int(min(255, v * f)) for v in rgb)
    return (r, g, b)


def _beard_rgb(spec: FaceSpec) -> RGB:
    """The hair's colour, darkened until it stands out from the skin."""
    rgb = spec.hair_rgb if not spec.bald else (60, 45, 35)
    for f in (1.0, 0.5, 0.25):
        if math.dist(_scaled(rgb, f), spec.skin_rgb) >= 70:
            return _scaled(rgb, f)
    return (30, 25, 20)


def draw(spec: FaceSpec, size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """The face of `spec` on a `size` (width, height) RGB picture; rng only adds the pixel noise."""
    cx, cy, fw, fh = _geometry(spec, size)
    img = Image.new("RGB", size, spec.background)
    d = ImageDraw.Draw(img)
    skin, hair = spec.skin_rgb, spec.hair_rgb
    lw = max(1, round(0.04 * fh))

    def box(x0: float, y0: float, x1: float, y1: float) -> list[float]:  # face units -> pixels
        return [cx + x0 * fw, cy + y0 * fh, cx + x1 * fw, cy + y1 * fh]

    def pt(x: float, y: float) -> tuple[float, float]:
        return (cx + x * fw, cy + y * fh)

    if spec.long_hair:
        d.rounded_rectangle(box(-1.2, -0.3, 1.2, 1.3), radius=0.35 * fw, fill=hair)
    d.chord(box(-1.2, -1.3, 1.2, 0.9), 180, 360, fill=hair)
    grey = 0.0 if spec.bald or spec.hair_color == "gray" else min(1.0, max(0.0, (spec.age - 35) / 40))
    if grey > 0:
        for side in (-1, 1):
            d.ellipse(box(side * 1.0 - 0.19, -0.5 - 0.45 * grey, side * 1.0 + 0.19, -0.2 + 0.25 * grey), fill=HAIR_COLORS["gray"])
    d.ellipse(box(-1, -1, 1, 1), fill=skin)
    beard = _beard_rgb(spec)
    if spec.beard:
        d.chord(box(-1, -1, 1, 1), 17.5, 162.5, fill=beard)
    line = _scaled(skin, 0.72)
    lines = int(min(3, max(0, (spec.age - 30) // 12)))
    for i in range(lines):  # forehead lines
        d.line([pt(-0.4, -0.62 - 0.09 * i), pt(0.4, -0.62 - 0.09 * i)], fill=line, width=lw)
    if spec.age > 50 and not spec.beard:  # nasolabial folds
        for side in (-1, 1):
            d.line([pt(side * 0.22, 0.22), pt(side * 0.45, 0.5)], fill=line, width=lw)
    if spec.bangs:
        xs = np.linspace(0.92, -0.92, 9)
        d.polygon([pt(-0.95, -0.75), pt(-0.6, -1.02), pt(0.6, -1.02), pt(0.95, -0.75)]
                  + [pt(float(x), -0.5 - 0.08 * (i % 2)) for i, x in enumerate(xs)], fill=hair)
    # eyes and brows
    brow_rgb = _scaled(hair, 0.6) if not spec.bald else _scaled(skin, 0.45)
    inner, outer, lift = {"surprise": (-0.40, -0.40, 0.0), "anger": (-0.24, -0.36, 0.0), "sad": (-0.40, -0.26, 0.0),
                          "fear": (-0.42, -0.30, 0.0), "disgust": (-0.28, -0.31, 0.0)}.get(spec.expression, (-0.33, -0.33, 0.0))
    eh = 0.05 if spec.narrow_eyes else 0.09
    for side in (-1, 1):
        ex = side * 0.42
        if spec.makeup:
            d.ellipse(box(ex - 0.2, -0.15 - eh - 0.08, ex + 0.2, -0.15 + 0.02), fill=(90, 70, 160))
        d.ellipse(box(ex - 0.17, -0.15 - eh, ex + 0.17, -0.15 + eh), fill=(250, 250, 248))
        d.ellipse(box(ex - 0.07, -0.15 - 0.07, ex + 0.07, -0.15 + 0.07), fill=spec.eye_rgb)
        d.ellipse(box(ex - 0.03, -0.15 - 0.03, ex + 0.03, -0.15 + 0.03), fill=(15, 12, 12))
        d.line([pt(ex - side * 0.16, inner + lift), pt(ex + side * 0.2, outer + lift)], fill=brow_rgb,
               width=max(1, round((0.08 if spec.bushy_brows else 0.05) * fh)))
    nose = 0.16 if spec.big_nose else 0.1
    d.polygon([pt(0, -0.05), pt(-nose, 0.24), pt(nose, 0.24)], fill=_scaled(skin, 0.82))
    if spec.moustache:
        d.rounded_rectangle(box(-0.42, 0.33, 0.42, 0.45), radius=0.05 * fh, fill=beard)
    _mouth(d, spec, box, pt, lw)
    if spec.eyeglasses:
        r, rim = 0.3, max(2, round(0.1 * fw))
        for side in (-1, 1):
            ex, ey = cx + side * 0.42 * fw, cy - 0.15 * fh
            d.ellipse([ex - r * fw, ey - r * fw, ex + r * fw, ey + r * fw], outline=RIMS, width=rim)
        d.line([(cx - 0.14 * fw, cy - 0.15 * fh), (cx + 0.14 * fw, cy - 0.15 * fh)], fill=RIMS, width=rim)
    if spec.earrings:
        for side in (-1, 1):
            d.ellipse(box(side * 0.98 - 0.07, 0.2, side * 0.98 + 0.07, 0.2 + 0.14 / ASPECT), fill=(240, 200, 40))
    return _noisy(img, rng)


def _mouth(d: ImageDraw.ImageDraw, spec: FaceSpec, box: Callable[..., list[float]],
           pt: Callable[[float, float], tuple[float, float]], lw: int) -> None:
    """The expression's mouth; its top is at 0.45 fh; only the smile is wider than 0.7 fw."""
    lip, t, e = spec.lip_rgb, 0.45, spec.expression
    if e == "happy":
        d.chord(box(-0.55, t - 0.36, 0.55, t + 0.36), 0, 180, fill=MOUTH_INNER, outline=lip, width=lw)
    elif e == "surprise":
        d.ellipse(box(-0.17, t, 0.17, t + 0.3), fill=MOUTH_INNER, outline=lip, width=lw)
    elif e == "fear":
        d.ellipse(box(-0.3, t + 0.03, 0.3, t + 0.22), fill=MOUTH_INNER, outline=lip, width=lw)
    elif e == "anger":
        d.rectangle(box(-0.3, t + 0.05, 0.3, t + 0.17), fill=MOUTH_INNER, outline=lip, width=lw)
    elif e == "sad":
        d.arc(box(-0.34, t + 0.08, 0.34, t + 0.42), 195, 345, fill=lip, width=max(2, 2 * lw))
    elif e == "disgust":
        xs = np.linspace(-0.32, 0.32, 6)
        d.line([pt(float(x), t + (0.06 if i % 2 else 0.14)) for i, x in enumerate(xs)], fill=lip, width=max(2, 2 * lw))
    elif e == "contempt":
        d.line([pt(-0.3, t + 0.1), pt(0.15, t + 0.1), pt(0.32, t + 0.0)], fill=lip, width=max(2, 2 * lw))
    else:  # neutral
        d.rectangle(box(-0.33, t + 0.06, 0.33, t + 0.13), fill=lip)


def _noisy(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Small pixel noise (-5..5): a window of one fixed noise field at a random offset (fast and seeded)."""
    w, h = img.size
    field = _NOISE if w <= _NOISE.width and h <= _NOISE.height else _noise_field(w, h)
    ox, oy = (int(v) for v in rng.integers(0, [field.width - w + 1, field.height - h + 1]))
    return ImageChops.add(img, field.crop((ox, oy, ox + w, oy + h)), scale=1.0, offset=-5)


def _noise_field(w: int, h: int) -> Image.Image:
    values = np.random.default_rng(20240613).integers(0, 11, (h, w, 3), dtype=np.uint8)
    return Image.fromarray(values, "RGB")


_NOISE = _noise_field(512, 512)
