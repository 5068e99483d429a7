"""The layout of one WebDataset shard sample: one unique face and all the texts about it.

A sample is keyed by the content hash of its preprocessed 256x256 RGB pixels (`sample_key`) and
stored as ``<key>.tokens.npy`` (uint16, 256 VQGAN codes, row-major 16x16), ``<key>.json`` (texts,
labels per dataset, provenance) and optionally ``<key>.jpg`` (DESIGN.md 3.4). The JSON::

    {"key": "9f2c...", "split": "test",
     "texts": [{"dataset": "celeba", "kind": "attributes", "text": "celeba gender: male; ..."}],
     "labels": {"celeba": {"gender": "male", "smiling": true}},
     "sources": [{"dataset": "celeba", "source_id": "000001.jpg",
                  "source_path": "celeba/Img/img_align_celeba/000001.jpg", "split": "test",
                  "photo_id": "celeba:000001.jpg", "person_id": "celeba:2880"}]}

A source's ``photo_id`` and ``person_id`` (`schemas.records.FaceRecord`) are written only when known;
files written before they existed read back with both "". A source's ``split`` is its dataset's
split; the sample's ``split`` is where the build put it (the most held-out split of every sample
that shows the same face, photo or near-duplicate, unless the build kept official splits).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from schemas.records import KINDS, SPLITS
from schemas.text import LabelValue, TextProtocolError, parse_attributes

TOKENS_PER_IMAGE = 256
CODEBOOK_SIZE = 1024
KEY_HEX = 32
MAX_JSON_BYTES = 1 << 20
"""The largest ``<key>.json`` a reader parses (a sample's texts and labels take a few kB)."""
MAX_JSON_DEPTH = 16
"""The deepest nesting a ``<key>.json`` may have (the layout needs 4: labels -> dataset -> key -> value)."""


class SampleError(ValueError):
    """A shard sample that does not follow the layout of DESIGN.md 3.4."""


def sample_key(pixels: np.ndarray) -> str:
    """The sample key of a preprocessed face: the first 32 hex digits of sha256 of its uint8 pixels."""
    if pixels.dtype != np.uint8 or pixels.shape != (256, 256, 3):
        raise SampleError(f"sample_key needs uint8 pixels shaped (256, 256, 3), got {pixels.dtype} {pixels.shape}")
    return hashlib.sha256(np.ascontiguousarray(pixels).tobytes()).hexdigest()[:KEY_HEX]


@dataclass(frozen=True)
class TextEntry:
    dataset: str
    kind: str
    text: str


@dataclass(frozen=True)
class SourceRef:
    dataset: str
    source_id: str
    source_path: str
    split: str
    photo_id: str = ""
    person_id: str = ""

    def meta(self) -> dict[str, str]:
        """The source's entry of ``<key>.json`` (ids only when known)."""
        out = {"dataset": self.dataset, "source_id": self.source_id, "source_path": self.source_path, "split": self.split}
        if self.photo_id:
            out["photo_id"] = self.photo_id
        if self.person_id:
            out["person_id"] = self.person_id
        return out


@dataclass(frozen=True)
class ShardSample:
    """One unique face in a shard: its codes, texts, labels per dataset and where it came from."""

    key: str
    split: str
    tokens: np.ndarray
    texts: tuple[TextEntry, ...]
    labels: Mapping[str, Mapping[str, LabelValue]] = field(default_factory=dict)
    sources: tuple[SourceRef, ...] = ()
    jpg: bytes | None = None

    def meta(self) -> dict[str, Any]:
        """The ``<key>.json`` document."""
        return {
            "key": self.key,
            "split": self.split,
            "texts": [{"dataset": t.dataset, "kind": t.kind, "text": t.text} for t in self.texts],
            "labels": {d: dict(v) for d, v in sorted(self.labels.items())},
            "sources": [s.meta() for s in self.sources],
        }

    def to_wds(self) -> dict[str, Any]:
        """The sample as WebDataset fields (bytes values), ready for a tar writer."""
        buf = io.BytesIO()
        np.save(buf, np.asarray(self.tokens, dtype=np.uint16), allow_pickle=False)
        fields: dict[str, Any] = {
            "__key__": self.key,
            "tokens.npy": buf.getvalue(),
            "json": json.dumps(self.meta(), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8"),
        }
        if self.jpg is not None:
            fields["jpg"] = self.jpg
        return fields

    @classmethod
    def from_wds(cls, fields: Mapping[str, Any]) -> ShardSample:
        """Read a sample from raw WebDataset fields (bytes), validating it; raises SampleError."""
        key = fields.get("__key__", "?")
        if "tokens.npy" not in fields:
            raise SampleError(f"sample {key}: no tokens.npy member")
        if "json" not in fields:
            raise SampleError(f"sample {key}: no json member")
        try:
            tokens = np.load(io.BytesIO(fields["tokens.npy"]), allow_pickle=False)
        except Exception as err:  # numpy raises several types for bad bytes
            raise SampleError(f"sample {key}: tokens.npy is not a readable .npy array ({err})") from err
        meta = parse_meta_json(fields["json"], key)
        sample = cls.from_meta(meta, tokens, fields.get("jpg"))
        if sample.key != key:
            raise SampleError(f"sample {key}: json says key {sample.key!r}")
        return sample

    @classmethod
    def from_meta(cls, meta: Any, tokens: np.ndarray, jpg: bytes | None = None) -> ShardSample:
        validate_meta(meta)
        validate_tokens(tokens, meta["key"])
        return cls(
            key=meta["key"],
            split=meta["split"],
            tokens=tokens,
            texts=tuple(TextEntry(t["dataset"], t["kind"], t["text"]) for t in meta["texts"]),
            labels={d: dict(v) for d, v in meta["labels"].items()},
            sources=tuple(
                SourceRef(s["dataset"], s["source_id"], s["source_path"], s["split"], s.get("photo_id", ""),
                          s.get("person_id", ""))
                for s in meta["sources"]
            ),
            jpg=jpg,
        )


def _depth(value: Any) -> int:
    """How deeply a parsed JSON value nests (a scalar: 0), without recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            todo.extend((child, depth + 1) for child in children)
    return deepest


def parse_meta_json(data: bytes, key: str = "?") -> Any:
    """Parse a ``<key>.json`` member's bytes, bounded: at most MAX_JSON_BYTES, UTF-8, nesting at most MAX_JSON_DEPTH.

    Raises SampleError naming the sample and what is off; the layout is `validate_meta`'s to check.
    """
    if len(data) > MAX_JSON_BYTES:
        raise SampleError(f"sample {key}: json member has {len(data):,} bytes, over the {MAX_JSON_BYTES:,}-byte "
                          "limit (MAX_JSON_BYTES); this is not a sample the pipeline writes")
    try:
        meta = json.loads(bytes(data).decode("utf-8"))
    except UnicodeDecodeError as err:
        raise SampleError(f"sample {key}: json member is not UTF-8 ({err})") from err
    except json.JSONDecodeError as err:
        raise SampleError(f"sample {key}: json member is not valid JSON ({err})") from err
    except RecursionError as err:
        raise SampleError(f"sample {key}: json member nests deeper than {MAX_JSON_DEPTH} levels") from err
    if _depth(meta) > MAX_JSON_DEPTH:
        raise SampleError(f"sample {key}: json member nests deeper than {MAX_JSON_DEPTH} levels")
    return meta


def validate_tokens(tokens: Any, key: str = "?") -> None:
    """Raise SampleError unless tokens are uint16, 256 values, each below 1,024."""
    if not isinstance(tokens, np.ndarray):
        raise SampleError(f"sample {key}: tokens are {type(tokens).__name__}, expected a numpy array")
    if tokens.dtype != np.uint16:
        raise SampleError(f"sample {key}: tokens have dtype {tokens.dtype}, expected uint16")
    if tokens.shape != (TOKENS_PER_IMAGE,):
        raise SampleError(f"sample {key}: tokens have shape {tokens.shape}, expected ({TOKENS_PER_IMAGE},)")
    if int(tokens.max()) >= CODEBOOK_SIZE:
        raise SampleError(f"sample {key}: token {int(tokens.max())} is outside the {CODEBOOK_SIZE}-code book")


def validate_meta(meta: Any) -> None:
    """Raise SampleError naming the field unless `meta` is a valid ``<key>.json`` document."""
    if not isinstance(meta, dict):
        raise SampleError(f"sample json is {type(meta).__name__}, expected an object")
    key = meta.get("key")
    if not isinstance(key, str) or len(key) != KEY_HEX or any(c not in "0123456789abcdef" for c in key):
        raise SampleError(f"sample json key {key!r} is not {KEY_HEX} lower-case hex digits")
    missing = {"split", "texts", "labels", "sources"} - set(meta)
    if missing:
        raise SampleError(f"sample {key}: json lacks {sorted(missing)}")
    if meta["split"] not in SPLITS:
        raise SampleError(f"sample {key}: split {meta['split']!r} is not one of {SPLITS}")
    texts = meta["texts"]
    if not isinstance(texts, list) or not texts:
        raise SampleError(f"sample {key}: texts must be a non-empty list")
    for t in texts:
        if not isinstance(t, dict) or not {"dataset", "kind", "text"} <= set(t):
            raise SampleError(f"sample {key}: text entry {t!r} needs dataset, kind and text")
        if t["kind"] not in KINDS or not isinstance(t["text"], str) or not t["text"]:
            raise SampleError(f"sample {key}: text entry {t!r} has a bad kind or an empty text")
        if t["kind"] == "attributes":
            try:
                parse_attributes(t["text"])
            except TextProtocolError as err:
                raise SampleError(f"sample {key}: {err}") from err
    if not isinstance(meta["labels"], dict) or not all(isinstance(v, dict) for v in meta["labels"].values()):
        raise SampleError(f"sample {key}: labels must map dataset -> {{key: value}}")
    sources = meta["sources"]
    if not isinstance(sources, list) or not sources:
        raise SampleError(f"sample {key}: sources must be a non-empty list")
    for s in sources:
        if not isinstance(s, dict) or not {"dataset", "source_id", "source_path", "split"} <= set(s):
            raise SampleError(f"sample {key}: source entry {s!r} needs dataset, source_id, source_path and split")
        for name in ("photo_id", "person_id"):
            if name in s and (not isinstance(s[name], str) or not s[name]):
                raise SampleError(f"sample {key}: source entry {s!r} has a {name} that is not a non-empty string")
