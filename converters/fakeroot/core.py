"""The shared core of the full-size synthetic raw root: painters, image jobs, expected counts.

A dataset writer (``converters/fakeroot/<key>.py``) plans its records, plants bad input at known
positions, tallies what its converter must make of each record (`Tally`), and hands the pictures
to `Context.paint`, which draws them with the `Painter` (in 2 worker processes when there are
many) and writes them as the dataset ships them (JPEG or PNG by extension).
"""

from __future__ import annotations

import collections
import multiprocessing
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
from PIL import Image

from schemas.text import LabelValue

Size = tuple[int, int]  # (width, height)


class Painter(Protocol):
    """Draws the face picture of one record (and, for caption datasets, its captions).

    `dataset` is the dataset key, `labels` the record's typed labels exactly as its converter will
    emit them (``{"gender": "male", "smiling": True, ...}``; ``{}`` for caption datasets without
    labels; CelebA-Dialog's five levels), `rng` a Generator seeded from (seed, dataset, record), so
    the same call always draws the same picture, and `size` is ``(width, height)``. A picture is a
    ``(height, width, 3)`` uint8 array. Both methods must be deterministic functions of their
    arguments and picklable (they run in worker processes).
    """

    def face(self, dataset: str, labels: Mapping[str, LabelValue], rng: np.random.Generator, size: Size) -> np.ndarray:
        ...

    def captioned_face(self, dataset: str, labels: Mapping[str, LabelValue], rng: np.random.Generator, size: Size,
                       count: int) -> tuple[np.ndarray, list[str]]:
        """A picture and `count` captions describing it (a caption may be empty or blank: the converter drops it)."""
        ...


_GRIDS: dict[Size, tuple[np.ndarray, np.ndarray]] = {}


def _grid(size: Size) -> tuple[np.ndarray, np.ndarray]:
    if size not in _GRIDS:
        w, h = size
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        _GRIDS[size] = (xs / w, ys / h)
    return _GRIDS[size]


_SHADING_TERMS = 8
_SHADING_LEVEL = 8.0


def _shading(rng: np.random.Generator, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A smooth random light field (h, w): a sum of the lowest 8x8 cosines with N(0, 8) grey-level weights.

    Without it every fake face is one template in other colours, and their perceptual hashes (which
    keep only the lowest frequencies) sit a few bits apart: at F=0.01, 236,820 pairs within the
    near-duplicate threshold among 14,491 faces. With it, 6,000 faces have no pair within 4 bits and
    6 within 8 (bench/RESULTS.md "Full-size synthetic raw root"), as distinct photos should.
    """
    u = np.arange(_SHADING_TERMS, dtype=np.float32) * np.float32(np.pi)
    weights = rng.normal(0.0, _SHADING_LEVEL, (_SHADING_TERMS, _SHADING_TERMS)).astype(np.float32)
    weights[0, 0] = 0.0  # no overall brightness shift
    return np.cos(y[:, None] * u) @ weights @ np.cos(x[:, None] * u).T


_WORDS = {
    "subject": ("The person", "This face", "The sitter", "The figure"),
    "has": ("an oval face", "round eyes", "a wide mouth", "dark brows", "a soft chin", "a tall forehead"),
    "and": ("a plain background", "short hair", "a calm look", "a narrow nose", "full cheeks", "thin lips"),
}


class DistinctPainter:
    """The default painter: a distinct synthetic face per record, whose look does not depend on its labels.

    Oval face, hair, eyes, brows and mouth with seeded colours and geometry plus faint noise, drawn
    with vectorised numpy (about 50 µs for 64x64). Captions are seeded template sentences, also
    independent of the labels.
    """

    def face(self, dataset: str, labels: Mapping[str, LabelValue], rng: np.random.Generator, size: Size) -> np.ndarray:
        xs, ys = _grid(size)
        p = rng.random(16).astype(np.float32)
        colours = rng.integers(0, 256, (5, 3)).astype(np.float32)  # background, skin, hair, eye, mouth
        colours[1] = 110 + colours[1] * 0.55
        img = np.empty((*xs.shape, 3), np.float32)
        img[:] = colours[0] * (0.75 + 0.25 * ys[..., None])  # vertical shading
        cx, cy = 0.5 + (p[0] - 0.5) * 0.08, 0.52 + (p[1] - 0.5) * 0.08
        fw, fh = 0.30 + p[2] * 0.08, 0.34 + p[3] * 0.08

        def ellipse(x: float, y: float, a: float, b: float) -> np.ndarray:
            return ((xs - x) / a) ** 2 + ((ys - y) / b) ** 2 <= 1.0

        img[ellipse(cx, cy - 0.06, fw + 0.03, fh + 0.02) & (ys < cy + 0.05)] = colours[2]
        img[ellipse(cx, cy, fw, fh)] = colours[1]
        ey = cy - fh * (0.15 + p[4] * 0.1)
        for side in (-1, 1):
            ex = cx + side * fw * (0.38 + p[5] * 0.12)
            img[ellipse(ex, ey, 0.05 + p[6] * 0.02, 0.025 + p[7] * 0.01)] = (245, 245, 245)
            img[ellipse(ex, ey, 0.02, 0.02)] = colours[3] * 0.5
            img[ellipse(ex, ey - 0.06, 0.06, 0.012 + p[8] * 0.008)] = colours[2] * 0.8
        my = cy + fh * (0.45 + p[9] * 0.1)
        mouth = ellipse(cx, my, fw * (0.3 + p[10] * 0.2), 0.03 + p[11] * 0.03) & ~ellipse(cx, my - 0.02, fw * 0.35, 0.03)
        img[mouth] = colours[4] * 0.6 + (60, 10, 10)
        img += _shading(rng, xs[0], ys[:, 0])[..., None]
        img += rng.integers(-6, 7, img.shape, dtype=np.int16)
        return np.clip(img, 0, 255).astype(np.uint8)

    def captioned_face(self, dataset: str, labels: Mapping[str, LabelValue], rng: np.random.Generator, size: Size,
                       count: int) -> tuple[np.ndarray, list[str]]:
        image = self.face(dataset, labels, rng, size)
        captions = []
        for _ in range(count):
            w = {k: v[int(rng.integers(len(v)))] for k, v in _WORDS.items()}
            captions.append(f"{w['subject']} has {w['has']} and {w['and']}.")
        return image, captions


class ImageJob(NamedTuple):
    """One picture to draw: where to write it (None: only its captions are wanted), its size and labels."""

    path: str | None
    size: Size
    labels: Mapping[str, LabelValue]
    record: int  # the record's number within its dataset: with the seed, it seeds the picture
    captions: int = 0  # how many captions to draw with it (0: a plain `face`)
    mode: str = "RGB"  # "L" for a grey picture (a sketch)


@dataclass
class Tally:
    """What a dataset's converter must make of the generated folder, counted in records (LABELS.md)."""

    read: int = 0
    written: int = 0
    pairs: int = 0
    filtered: collections.Counter[str] = field(default_factory=collections.Counter)
    rejected: collections.Counter[str] = field(default_factory=collections.Counter)

    def write(self, pairs: int = 1) -> None:
        self.read += 1
        self.written += 1
        self.pairs += pairs

    def filter(self, reason: str) -> None:
        self.read += 1
        self.filtered[reason] += 1

    def reject(self, reason: str) -> None:
        self.read += 1
        self.rejected[reason] += 1

    def count(self, fault: str | None, rejects: Mapping[str, str], filters: Mapping[str, str] | None = None,
              pairs: int = 1) -> None:
        """One record by the fault planted in it: rejected for a fault in `rejects`, filtered for one in `filters`, else written."""
        planted = fault or ""  # no fault: written
        if planted in rejects:
            self.reject(rejects[planted])
        elif filters and planted in filters:
            self.filter(filters[planted])
        else:
            self.write(pairs)

    def as_dict(self) -> dict[str, Any]:
        return {"read": self.read, "written": self.written, "pairs": self.pairs,
                "filtered": dict(sorted(self.filtered.items())), "rejected": dict(sorted(self.rejected.items()))}


def image_rng(seed: int, dataset: str, index: int) -> np.random.Generator:
    """The Generator of one record's picture: the same (seed, dataset, record) always draws the same picture."""
    return np.random.default_rng([seed, zlib.crc32(dataset.encode()), index])


def save(img: np.ndarray, path: str, mode: str = "RGB") -> int:
    """Encode a picture by the file's extension (JPEG quality 90, PNG) and write it; returns its bytes."""
    picture = Image.fromarray(img)
    if mode != "RGB":
        picture = picture.convert(mode)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix.lower() in (".jpg", ".jpeg"):
        picture.save(target, format="JPEG", quality=90)
    else:
        picture.save(target, format="PNG", compress_level=1)
    return target.stat().st_size


_WORKER: dict[str, Any] = {}


def _init(painter: Painter, seed: int, dataset: str) -> None:
    _WORKER.update(painter=painter, seed=seed, dataset=dataset)


def _run(job: ImageJob) -> list[str]:
    painter, seed, dataset = _WORKER["painter"], _WORKER["seed"], _WORKER["dataset"]
    rng = image_rng(seed, dataset, job.record)
    captions: list[str] = []
    if job.captions:
        img, captions = painter.captioned_face(dataset, job.labels, rng, job.size, job.captions)
    else:
        img = painter.face(dataset, job.labels, rng, job.size)
    if img.shape != (job.size[1], job.size[0], 3) or img.dtype != np.uint8:
        raise ValueError(f"painter drew {img.shape} {img.dtype} for {dataset}, expected {(job.size[1], job.size[0], 3)} uint8")
    if job.path is not None:
        save(img, job.path, job.mode)
    return captions


class Context:
    """What a dataset writer gets: its folder, its record counts at this scale, seeded picks, painting."""

    PARALLEL_FROM = 2000  # jobs below this are painted in-process (a pool costs more than it saves)

    def __init__(self, root: Path, key: str, scale: float, seed: int, painter: Painter, workers: int,
                 shared: dict[str, Any]) -> None:
        self.folder = Path(root) / key
        self.key, self.scale, self.seed, self.painter, self.workers = key, scale, seed, painter, workers
        self.tally = Tally()
        self.shared = shared  # what one writer leaves for another (CelebA's images for CelebA-Dialog)
        self.rng = np.random.default_rng([seed, zlib.crc32(key.encode()), 0xFA4E])

    def count(self, real: int, minimum: int = 24) -> int:
        """`real` records at this scale, at least `minimum` (so every planted fault fits beside clean records)."""
        return max(minimum, round(real * self.scale))

    def pick(self, n: int, rates: Mapping[str, float], exclude: Sequence[int] = ()) -> dict[int, str]:
        """Seeded positions of planted faults among `n` records: at least one of each, none shared."""
        free = np.setdiff1d(np.arange(n), np.asarray(exclude, dtype=np.int64))
        sizes = {name: max(1, round(rate * n)) for name, rate in rates.items()}
        chosen = self.rng.choice(free, size=sum(sizes.values()), replace=False)
        out: dict[int, str] = {}
        start = 0
        for name, k in sizes.items():
            out.update((int(i), name) for i in chosen[start:start + k])
            start += k
        return out

    def text(self, rel: str, text: str, crlf: bool = False) -> None:
        self.bytes(rel, (text.replace("\n", "\r\n") if crlf else text).encode("utf-8"))

    def bytes(self, rel: str, data: bytes) -> None:
        path = self.folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def job(self, rel: str | None, size: Size, labels: Mapping[str, LabelValue], index: int, captions: int = 0,
            mode: str = "RGB") -> ImageJob:
        return ImageJob(None if rel is None else str(self.folder / rel), size, dict(labels), index, captions, mode)

    def box(self, labels: Mapping[str, LabelValue], index: int, size: Size) -> tuple[int, int, int, int] | None:
        """The face box (left, top, right, bottom) of record `index`'s picture when the painter knows it, else None.

        A painter with a ``box(dataset, labels, rng, size)`` method (`SignalPainter`: the whole drawn
        head) is asked with the rng that will draw the picture, so the box fits the face drawn.
        """
        box = getattr(self.painter, "box", None)
        return None if box is None else box(self.key, labels, image_rng(self.seed, self.key, index), size)

    def paint(self, jobs: Sequence[ImageJob], dataset: str | None = None) -> list[list[str]]:
        """Draw and write every job's picture; returns each job's captions (empty lists for plain faces)."""
        dataset = dataset or self.key
        paths = [job.path for job in jobs if job.path is not None]
        if len(set(paths)) != len(paths):
            raise ValueError(f"{dataset}: two pictures planned for one file; a writer's names must be unique")
        if self.workers > 1 and len(jobs) >= self.PARALLEL_FROM:
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(self.workers, initializer=_init, initargs=(self.painter, self.seed, dataset)) as pool:
                return list(pool.imap(_run, jobs, chunksize=256))
        _init(self.painter, self.seed, dataset)
        return [_run(job) for job in jobs]
