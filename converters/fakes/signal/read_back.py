"""Reading a drawn face back from its 256x256 preprocessed pixels, by the rules it was drawn with.

The head is found as the pixels that differ from the background (the median of the picture's border):
its columns give the centre ``cx`` and ``fw`` (the hair cap is ``2.4 fw`` wide for every face), the
first head row above ``cx`` gives the hair's top, ``cy - 1.3 fh``. Features are then sampled where
`draw` puts them: the hair band above the face oval, the cheeks (skin), the mouth box, the chin, the glasses'
rims. Hair and smile are read so that they survive the palette tokenizer's 16x16 patches (a vote over
several points of the hair band; the mouth colour's area, which patch averaging keeps).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from converters.fakes.signal.spec import ASPECT, BALD, HAIR_COLORS, MOUTH_INNER

SMILE_AREA = np.pi / 2 * 0.55 * 0.36  # the smile's half ellipse, in fw * fh
SMILE_SHARE = 0.3
"""A face smiles when its mouth box holds at least this share of the smile's area in mouth colour. The area is
summed as each pixel's share of the mouth colour, which averaging keeps: a palette face (16x16 patches of one
colour) measures about 0.65 of a drawn smile, every other mouth below 0.3 (the largest, fear's, is 0.29 drawn)."""
HAIR_POINTS = ((-0.65, -0.9), (0.65, -0.9), (0.0, -1.15), (-0.35, -1.05), (0.35, -1.05))
"""Where the hair is read, in face units: the middle of the band between the cap's edge and the face oval, which
is thickest (about 0.4 fh) at x = ±0.65, so a point stays inside it when 16x16 patches move the edges found."""
BLUR = 1.035
"""The silhouette measures about 3.5% wider than drawn (PIL draws its boxes inclusive: +1 source pixel)."""
_HAIR_NAMES = tuple(HAIR_COLORS)
_HAIR_RGB = np.array([HAIR_COLORS[n] for n in _HAIR_NAMES], np.float32)


def read_back(image: np.ndarray) -> dict[str, Any]:
    """What a face shows: ``found``, ``hair_color`` (a key of HAIR_COLORS or BALD), ``smiling``,
    ``eyeglasses``, ``beard``, and the head's ``geometry`` (cx, cy, fw in pixels).

    `image` is uint8 (H, W, 3), the face as the pipeline preprocesses it (square, 256x256).
    """
    px = np.asarray(image, dtype=np.float32)
    h, w, _ = px.shape
    edge = max(2, h // 64)
    border = np.concatenate([px[:edge].reshape(-1, 3), px[-edge:].reshape(-1, 3),
                             px[:, :edge].reshape(-1, 3), px[:, -edge:].reshape(-1, 3)])
    background = np.median(border, axis=0)
    contrast = np.sqrt(((px - background) ** 2).sum(-1))  # distance from the background
    columns = contrast.max(0)
    step = max(2, w // 50)
    left, from_right = _edge(columns, step), _edge(columns[::-1], step)
    if left is None or from_right is None or w - from_right <= left + 8:
        return {"found": False, "hair_color": None, "smiling": False, "eyeglasses": False, "beard": False, "geometry": None}
    right = w - from_right
    cx, fw = (left + right) / 2, (right - left) / (2.4 * BLUR)
    fh = ASPECT * fw
    top = _edge(contrast[:, max(0, int(cx) - 2):int(cx) + 3].mean(1), step)
    cy = (top if top is not None else 0.0) + 1.3 * fh
    radius = max(1, round(0.05 * fw))

    def patch(x: float, y: float) -> np.ndarray:
        """The median colour around a point in face units."""
        i, j = int(cy + y * fh), int(cx + x * fw)
        window = px[max(0, i - radius):i + radius + 1, max(0, j - radius):j + radius + 1].reshape(-1, 3)
        return np.median(window, axis=0) if len(window) else background

    skin = np.median([patch(-0.55, 0.2), patch(0.55, 0.2)], axis=0)
    votes: dict[str, int] = {}
    for x, y in HAIR_POINTS:  # each point votes; a point that shows the background (a misplaced edge) abstains
        colour = patch(x, y)
        to_hair = np.sqrt(((_HAIR_RGB - colour) ** 2).sum(1))
        nearest = int(np.argmin(to_hair))
        to_skin = float(np.linalg.norm(colour - skin))
        if np.linalg.norm(colour - background) < min(float(to_hair[nearest]), to_skin):
            continue
        name = BALD if to_skin < 0.5 * to_hair[nearest] else _HAIR_NAMES[nearest]  # brown hair is near dark skin
        votes[name] = votes.get(name, 0) + 1
    hair_color = max(votes, key=lambda k: votes[k]) if votes else BALD

    y0, y1 = int(cy + 0.36 * fh), int(cy + 0.95 * fh)
    x0, x1 = int(cx - 0.75 * fw), int(cx + 0.75 * fw)
    mouth = px[max(0, y0):y1, max(0, x0):x1].reshape(-1, 3)
    toward = np.array(MOUTH_INNER, np.float32) - skin  # each pixel's share of the mouth colour on the line skin -> it
    share = np.clip(((mouth - skin) @ toward) / max(1.0, float(toward @ toward)), 0.0, 1.0)
    off_line = np.linalg.norm((mouth - skin) - share[:, None] * toward[None], axis=1)  # a beard or a lip is off it
    area = float((share * (off_line < 45)).sum()) / (fw * fh)
    smiling = area >= SMILE_SHARE * SMILE_AREA

    chin = np.median([patch(0.0, 0.9), patch(-0.72, 0.42), patch(0.72, 0.42)], axis=0)
    beard = float(np.linalg.norm(chin - skin)) > 40

    rims = []
    for side in (-1, 1):
        ex, ey = side * 0.42, -0.15
        steps = np.linspace(0.18, 0.36, 7)  # outward and downward from the eye, in fw
        outward = min(_luma(patch(ex + side * s, ey)) for s in steps)
        downward = min(_luma(patch(ex, ey + s / ASPECT)) for s in steps)
        rims.append(max(outward, downward))
    eyeglasses = max(rims) < _luma(skin) - 35
    return {"found": True, "hair_color": hair_color, "smiling": smiling, "eyeglasses": bool(eyeglasses),
            "beard": bool(beard), "geometry": (cx, cy, fw)}


def _edge(profile: np.ndarray, step: int, rough: float = 60.0) -> float | None:
    """Where a profile of distances from the background first reaches half its plateau (sub-pixel).

    The first value over `rough` finds the object; the median of the next `step` values past it is
    its plateau; the half-way crossing is the edge however much resizing and JPEG blurred it.
    """
    over = np.flatnonzero(profile > rough)
    if not len(over):
        return None
    first = int(over[0])
    plateau = float(np.median(profile[first + step:first + 2 * step])) if first + 2 * step <= len(profile) else rough
    half = max(rough / 2, plateau / 2)
    i = first
    while i > 0 and profile[i - 1] >= half:
        i -= 1
    while i < len(profile) - 1 and profile[i] < half:
        i += 1
    below = float(profile[i - 1]) if i > 0 else 0.0
    return i - 1 + (half - below) / max(1e-6, float(profile[i]) - below) if i > 0 else 0.0


def _luma(rgb: np.ndarray) -> float:
    return float(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])
