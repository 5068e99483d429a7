"""`SignalPainter`: the fake root's faces drawn from their labels (``fake-root --signal``).

Every picture is `converters.fakes.signal.draw` of the record's own labels (`spec_from_labels`), a
random face for the caption datasets, and every caption describes the face actually drawn, in the
dataset's style (`captions`). Nuisance (the face's position and size, the background, pixel noise)
comes from the record's rng, so two faces with the same labels never look alike pixel for pixel.

Two datasets caption another dataset's pictures; their writers ask `describe` for the spec of the
shared picture (drawn from the same rng, so the same spec) and caption that: CelebA-Dialog over
CelebA's images, CelebAText-HQ over MM-CelebA-HQ's. AffectNet and ExpW write `box` (the whole head)
as their face box.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from converters.fakes.signal import (
    CAPTIONED,
    LABELLED,
    FaceSpec,
    captions,
    draw,
    face_box,
    random_spec,
    spec_from_labels,
)
from schemas.text import LabelValue

Size = tuple[int, int]


class SignalPainter:
    """A `Painter` whose faces show their labels and whose captions say what is shown."""

    def spec(self, dataset: str, labels: Mapping[str, LabelValue], rng: np.random.Generator) -> FaceSpec:
        """The face a record of `dataset` with these labels gets; the first draws of `rng` choose it."""
        if dataset in LABELLED and labels:
            try:
                return spec_from_labels(dataset, labels, rng)
            except (KeyError, ValueError):  # a planted fault's partial labels: the converter rejects the record
                pass
        return random_spec(rng, male=False if dataset == "ffhq_text" else None)  # FFHQ-Text describes women

    def face(self, dataset: str, labels: Mapping[str, LabelValue], rng: np.random.Generator, size: Size) -> np.ndarray:
        return np.asarray(draw(self.spec(dataset, labels, rng), size, rng), dtype=np.uint8)

    def captioned_face(self, dataset: str, labels: Mapping[str, LabelValue], rng: np.random.Generator, size: Size,
                       count: int) -> tuple[np.ndarray, list[str]]:
        spec = self.spec(dataset, labels, rng)
        image = np.asarray(draw(spec, size, rng), dtype=np.uint8)
        return image, captions(dataset, spec, rng, count) if dataset in CAPTIONED else []

    def box(self, dataset: str, labels: Mapping[str, LabelValue], rng: np.random.Generator,
            size: Size) -> tuple[int, int, int, int]:
        """The head of the face `face` draws with this rng, as whole pixels inside the picture: left, top, right, bottom."""
        left, top, right, bottom = face_box(self.spec(dataset, labels, rng), size)
        w, h = size
        return (max(0, int(left)), max(0, int(top)), min(w, int(np.ceil(right))), min(h, int(np.ceil(bottom))))

    def describe(self, style: str, source: str, labels: Mapping[str, LabelValue], source_rng: np.random.Generator,
                 rng: np.random.Generator, count: int) -> tuple[FaceSpec, list[str]]:
        """The spec of `source`'s picture (drawn from `source_rng`) and `count` captions of it in `style`."""
        spec = self.spec(source, labels, source_rng)
        return spec, captions(style, spec, rng, count)
