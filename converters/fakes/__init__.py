"""Fake datasets in their native layouts and formats, made by code, for tests and the demo.

One module per built-in dataset (``converters/fakes/<key>.py``) with ``make(folder, variant="default")``,
which writes a tiny copy of the dataset as its authors ship it (real header lines, delimiters and
quirks) with generated face pictures: no copyrighted image is used. Everything is seeded, so the
same call always writes the same bytes. Each converter declares its generator (`Converter.fake`),
so `generator(key)` finds a plug-in's fake as well as a built-in's; `fake_face`, `save_image` and
`write_text` are for any package's generators.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def fake_face(seed: int, size: tuple[int, int] = (72, 88)) -> Image.Image:
    """A small synthetic face (oval, eyes, brows, mouth, hair) whose colours and shape follow `seed`."""
    rng = np.random.default_rng(seed)
    w, h = size
    bg = tuple(int(v) for v in rng.integers(0, 256, 3))
    skin = tuple(int(v) for v in rng.integers([150, 100, 70], [255, 200, 170]))
    hair = tuple(int(v) for v in rng.integers(0, 120, 3))
    img = Image.new("RGB", size, bg)
    d = ImageDraw.Draw(img)
    scene = np.random.default_rng([seed, 1])  # a few shapes behind the head, so distinct fakes look distinct
    for _ in range(4):  # to a perceptual hash (pipeline/neardup.py), as distinct photos do
        x, y = scene.uniform(-0.2, 1.0, 2) * (w, h)
        rw, rh = scene.uniform(0.15, 0.5, 2) * (w, h)
        shape = d.rectangle if scene.integers(2) else d.ellipse
        shape([x, y, x + rw, y + rh], fill=tuple(int(v) for v in scene.integers(0, 256, 3)))
    cx, cy = w / 2 + rng.uniform(-3, 3), h / 2 + rng.uniform(-2, 4)
    fw, fh = w * rng.uniform(0.30, 0.38), h * rng.uniform(0.34, 0.42)
    d.ellipse([cx - fw - 3, cy - fh - 6, cx + fw + 3, cy + fh * 0.3], fill=hair)
    d.ellipse([cx - fw, cy - fh, cx + fw, cy + fh], fill=skin)
    ey = cy - fh * 0.2
    for side in (-1, 1):
        ex = cx + side * fw * 0.45
        d.ellipse([ex - 3, ey - 2, ex + 3, ey + 2], fill=(250, 250, 250))
        d.ellipse([ex - 1.5, ey - 1.5, ex + 1.5, ey + 1.5], fill=(30, 30, 60))
        d.line([ex - 4, ey - 5, ex + 4, ey - 5 - side * rng.uniform(-1, 1)], fill=hair, width=2)
    my = cy + fh * 0.5
    smile = rng.uniform(-3, 5)
    d.arc([cx - fw * 0.4, my - 3 - smile, cx + fw * 0.4, my + 3 + smile], 10, 170, fill=(150, 40, 50), width=2)
    pixels = np.asarray(img, dtype=np.int16) + rng.integers(-6, 7, (h, w, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def save_image(img: Image.Image, path: Path) -> None:
    """Save a picture by the file's extension (JPEG quality 90), creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        img.convert("RGB").save(path, format="JPEG", quality=90)
    else:
        img.save(path)


def write_text(path: Path, text: str, crlf: bool = False, encoding: str = "utf-8") -> None:
    """Write a text file exactly: LF line ends, or CRLF as Windows copies have them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.replace("\n", "\r\n") if crlf else text
    path.write_bytes(data.encode(encoding))


@dataclass(frozen=True)
class FakeGenerator:
    """A dataset's fake-data generator, as its converter declares it (`Converter.fake`)."""

    key: str
    make: Callable[..., None]  # make(folder, variant="default")


def generator(key: str) -> FakeGenerator:
    """The fake-data generator of a dataset; KeyError lists the datasets that have one or says how to declare it."""
    import converters

    return FakeGenerator(key, converters.fake_maker(key))


def keys() -> list[str]:
    """The registered datasets whose converter declares a fake-data generator."""
    import converters
    from converters.base import registry

    return [key for key in converters.available() if registry()[key].fake is not None]


def make_all(input_root: Path, only: Iterable[str] | None = None) -> list[str]:
    """Write every dataset (or `only` those) under ``input_root/<key>``; returns the keys written."""
    written = []
    for key in sorted(only) if only is not None else keys():
        generator(key).make(Path(input_root) / key)
        written.append(key)
    return written
