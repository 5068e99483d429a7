"""What a converter yields: a `FaceRecord`, or a `Filtered` / `Reject` with its reason.

Every record a converter reads ends as exactly one of the three, so a build can check
``read == written + filtered + rejected`` per dataset (DESIGN.md 3.5).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from schemas.text import LabelValue, TextProtocolError, format_attributes, parse_attributes

SPLITS: tuple[str, ...] = ("train", "val", "test")
"""Splits from least to most held out."""

KINDS: tuple[str, ...] = ("attributes", "caption")

Kind = Literal["attributes", "caption"]


def stable_split(ident: str, train: int = 90, val: int = 5) -> str:
    """Split by a stable hash of an id: 90/5/5 train/val/test by default (LABELS.md).

    The same id lands in the same split on any machine and runner.
    """
    bucket = int(hashlib.sha256(ident.encode("utf-8")).hexdigest()[:8], 16) % 100
    if bucket < train:
        return "train"
    if bucket < train + val:
        return "val"
    return "test"


def most_held_out(splits: list[str] | tuple[str, ...] | set[str]) -> str:
    """The most held-out of several splits (test over val over train)."""
    return max(splits, key=SPLITS.index)


@dataclass(frozen=True, slots=True)
class Box:
    """A face box in pixels of the original image: left, top, right, bottom (right/bottom exclusive)."""

    left: float
    top: float
    right: float
    bottom: float

    @classmethod
    def from_xywh(cls, x: float, y: float, w: float, h: float) -> Box:
        return cls(x, y, x + w, y + h)

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def as_list(self) -> list[float]:
        return [self.left, self.top, self.right, self.bottom]


@dataclass(frozen=True, slots=True)
class Text:
    """One text of a record: its kind (`attributes` or `caption`) and the text itself."""

    kind: Kind
    text: str


@dataclass(frozen=True, slots=True)
class FaceRecord:
    """One annotated face, as a converter yields it.

    `image` is the URL the loader opens (local path or any fsspec URL); `source_path` is the same
    image relative to the input root (``celeba/Img/img_align_celeba/000001.jpg``), which is what
    outputs record, so a build's outputs do not depend on where the raw data lives.

    `photo_id` names the photograph the face was cut from, across datasets, where that is known
    (``celeba:000124.jpg`` for a CelebA image, its CelebA-Dialog twin and, once linked through the
    CelebA-HQ mapping file, its CelebA-HQ re-crop ``celeba_hq:123``); `person_id` names the person
    where the dataset says who it is (``celeba:2880``, ``cacd:17``, ``imdb:nm0000001``). Both are
    ``<namespace>:<id as the dataset writes it>``, or "" when unknown.
    """

    dataset: str
    source_id: str
    image: str
    source_path: str
    split: str
    labels: Mapping[str, LabelValue] = field(default_factory=dict)
    texts: tuple[Text, ...] = ()
    box: Box | None = None
    photo_id: str = ""
    person_id: str = ""

    def validate(self) -> None:
        """Raise ValueError naming the field if this record breaks a contract of DESIGN.md 3.4."""
        where = f"{self.dataset} record {self.source_id!r}"
        if not self.dataset or not self.source_id:
            raise ValueError(f"{where}: dataset and source_id must be non-empty")
        if self.split not in SPLITS:
            raise ValueError(f"{where}: split {self.split!r} is not one of {SPLITS}")
        if not self.texts:
            raise ValueError(f"{where}: a record needs at least one text (filter it with a reason instead)")
        if not self.image or not self.source_path:
            raise ValueError(f"{where}: image and source_path must be set")
        for text in self.texts:
            if text.kind not in KINDS:
                raise ValueError(f"{where}: text kind {text.kind!r} is not one of {KINDS}")
            if not text.text or text.text != text.text.strip():
                raise ValueError(f"{where}: text {text.text!r} is empty or has surrounding space")
            if text.kind == "attributes":
                try:
                    _, labels = parse_attributes(text.text)
                except TextProtocolError as err:
                    raise ValueError(f"{where}: {err}") from err
                for key, value in labels.items():
                    if key not in self.labels or self.labels[key] != value:
                        raise ValueError(f"{where}: text says {key}={value!r}, labels say {self.labels.get(key)!r}")
        if self.box is not None and (self.box.width <= 0 or self.box.height <= 0):
            raise ValueError(f"{where}: face box {self.box} is empty")
        for name, ident in (("photo_id", self.photo_id), ("person_id", self.person_id)):
            if ident and not is_namespaced_id(ident):
                raise ValueError(f"{where}: {name} {ident!r} is not '<namespace>:<id>' without spaces")


def is_namespaced_id(ident: str) -> bool:
    """A photo or person id: ``<namespace>:<id>``, both parts non-empty, no white space."""
    namespace, sep, rest = ident.partition(":")
    return bool(sep and namespace and rest) and not any(c.isspace() for c in ident)


def attribute_record(
    *,
    dataset: str,
    prefix: str,
    source_id: str,
    image: str,
    source_path: str,
    split: str,
    labels: Mapping[str, LabelValue],
    box: Box | None = None,
    photo_id: str = "",
    person_id: str = "",
) -> FaceRecord:
    """Build a record whose one text is its labels in the text protocol."""
    text = format_attributes(prefix, labels)
    return FaceRecord(dataset, source_id, image, source_path, split, dict(labels), (Text("attributes", text),), box,
                      photo_id, person_id)


@dataclass(frozen=True, slots=True)
class Filtered:
    """A record left out on purpose, by a rule of LABELS.md (e.g. AffectNet `non-face`)."""

    dataset: str
    source_id: str
    source_path: str
    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Reject:
    """A record that could not be used because its input is bad: the file, the place, what was wrong."""

    dataset: str
    source_id: str
    source_path: str
    reason: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "dataset": self.dataset,
            "source_id": self.source_id,
            "source_path": self.source_path,
            "reason": self.reason,
            "detail": self.detail,
        }


class Reasons:
    """Reject reasons shared by every dataset (LABELS.md, "Rejected (every dataset)")."""

    IMAGE_MISSING = "image missing"
    IMAGE_UNREADABLE = "unreadable image"
    NOT_AN_IMAGE = "not an image"  # an entry that names a file of another kind (AFAD's listed Thumbs.db)
    IMAGE_TOO_SMALL = "image too small"
    IMAGE_TOO_LARGE = "image too large"
    BAD_BOX = "bad face box"
    MALFORMED = "malformed line"
    MALFORMED_NAME = "malformed file name"  # a file name (or path) that is the annotation does not parse (AFAD, UTKFace)
    UNKNOWN_LABEL = "unknown label"
    NO_SPLIT = "no split"
