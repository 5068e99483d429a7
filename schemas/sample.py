"""The layout of one WebDataset shard sample: one unique face and all the texts about it.

A sample is keyed by the content hash of its preprocessed 256x256 RGB pixels (`sample_key`) and
stored as ``<key>.tokens.npy`` (uint16: N codes of the corpus's image tokenizer, row-major over its
grid; 256 codes of 1,024 for the FFHQ f=16 VQGAN, 1,024 of 8,192 for the f=8 Gumbel VQGAN),
``<key>.json`` (texts, labels per dataset, provenance, the tokenizer) and optionally ``<key>.jpg``
(DESIGN.md 3.4). The JSON::

    {"key": "9f2c...", "split": "test",
     "tokenizer": {"fingerprint": "3f9a0c2e1b7d4a65", "kind": "vqgan", "codebook_size": 1024,
                   "tokens_per_face": 256, "grid_side": 16},
     "texts": [{"dataset": "celeba", "kind": "attributes", "text": "celeba gender: male; ..."}],
     "labels": {"celeba": {"gender": "male", "smiling": true}},
     "sources": [{"dataset": "celeba", "source_id": "000001.jpg",
                  "source_path": "celeba/Img/img_align_celeba/000001.jpg", "split": "test",
                  "photo_id": "celeba:000001.jpg", "person_id": "celeba:2880"}]}

``tokenizer`` says which image tokenizer made the codes (`TokenizerInfo`); samples written before it
existed read back with None and are checked as the FFHQ f=16 VQGAN's (256 codes below 1,024).
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
from schemas.vocab import IMAGE_CODEBOOK_SIZE, IMAGE_TOKENS, MAX_CODEBOOK_SIZE, VocabLayout

TOKENS_PER_IMAGE = IMAGE_TOKENS  # of a sample that names no tokenizer (the FFHQ f=16 VQGAN)
CODEBOOK_SIZE = IMAGE_CODEBOOK_SIZE
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
class TokenizerInfo:
    """Which image tokenizer made a sample's codes: its fingerprint, kind and code layout."""

    fingerprint: str  # ImageTokenizer.fingerprint: a hash of the architecture and weights
    kind: str  # "vqgan", "gumbel-vqgan", "palette", ...
    codebook_size: int  # distinct codes, at most 65,536 (uint16)
    tokens_per_face: int  # codes per face, grid_side ** 2
    grid_side: int  # codes along a side of the row-major grid

    def __post_init__(self) -> None:
        if not self.fingerprint or not self.kind:
            raise SampleError(f"tokenizer {self!r}: fingerprint and kind must be non-empty")
        if not 0 < self.codebook_size <= MAX_CODEBOOK_SIZE:
            raise SampleError(f"tokenizer {self.fingerprint}: codebook_size {self.codebook_size} is not "
                              f"1..{MAX_CODEBOOK_SIZE}; codes are stored as uint16")
        if self.grid_side < 1 or self.tokens_per_face != self.grid_side ** 2:
            raise SampleError(f"tokenizer {self.fingerprint}: tokens_per_face {self.tokens_per_face} is not "
                              f"grid_side {self.grid_side} squared")

    @classmethod
    def of(cls, tokenizer: Any) -> TokenizerInfo:
        """The info of an image tokenizer (ImageTokenizer, PaletteTokenizer: fingerprint, kind, codebook_size, ...)."""
        return cls(str(tokenizer.fingerprint), str(tokenizer.kind), int(tokenizer.codebook_size),
                   int(tokenizer.num_tokens), int(tokenizer.grid_side))

    @property
    def layout(self) -> VocabLayout:
        """Where this tokenizer's codes sit in the unified vocabulary."""
        return VocabLayout(self.codebook_size, self.tokens_per_face)

    def describe(self) -> str:
        """``3f9a0c2e1b7d4a65 (vqgan, 256 codes of 1024 per face)``, for messages."""
        return f"{self.fingerprint} ({self.kind}, {self.tokens_per_face} codes of {self.codebook_size} per face)"

    def meta(self) -> dict[str, Any]:
        """The ``tokenizer`` entry of ``<key>.json`` (and of stats.json)."""
        return {"fingerprint": self.fingerprint, "kind": self.kind, "codebook_size": self.codebook_size,
                "tokens_per_face": self.tokens_per_face, "grid_side": self.grid_side}

    @classmethod
    def from_meta(cls, meta: Any, where: str = "tokenizer") -> TokenizerInfo:
        """The inverse of `meta`; SampleError naming the field for a bad entry."""
        fields = {"fingerprint": str, "kind": str, "codebook_size": int, "tokens_per_face": int, "grid_side": int}
        if not isinstance(meta, dict):
            raise SampleError(f"{where} is {type(meta).__name__}, expected an object with {sorted(fields)}")
        for name, kind in fields.items():
            value = meta.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise SampleError(f"{where}.{name} is {value!r}, expected a {kind.__name__}")
        return cls(meta["fingerprint"], meta["kind"], meta["codebook_size"], meta["tokens_per_face"], meta["grid_side"])


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
    tokenizer: TokenizerInfo | None = None  # None: written before samples named it (the FFHQ f=16 VQGAN's layout)

    def meta(self) -> dict[str, Any]:
        """The ``<key>.json`` document."""
        meta: dict[str, Any] = {
            "key": self.key,
            "split": self.split,
            "texts": [{"dataset": t.dataset, "kind": t.kind, "text": t.text} for t in self.texts],
            "labels": {d: dict(v) for d, v in sorted(self.labels.items())},
            "sources": [s.meta() for s in self.sources],
        }
        if self.tokenizer is not None:
            meta["tokenizer"] = self.tokenizer.meta()
        return meta

    @property
    def layout(self) -> VocabLayout:
        """Where this sample's codes sit in the unified vocabulary (the f=16 default for an older sample)."""
        return self.tokenizer.layout if self.tokenizer is not None else VocabLayout()

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
        tokenizer = None
        if "tokenizer" in meta:
            tokenizer = TokenizerInfo.from_meta(meta["tokenizer"], f"sample {meta['key']}: tokenizer")
        validate_tokens(tokens, meta["key"], tokenizer)
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
            tokenizer=tokenizer,
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


def validate_tokens(tokens: Any, key: str = "?", tokenizer: TokenizerInfo | None = None) -> None:
    """Raise SampleError unless tokens are uint16, as many as `tokenizer` makes per face, each inside its codebook.

    Without a tokenizer (a sample written before samples named theirs): 256 values below 1,024.
    """
    n = tokenizer.tokens_per_face if tokenizer is not None else TOKENS_PER_IMAGE
    book = tokenizer.codebook_size if tokenizer is not None else CODEBOOK_SIZE
    whose = f" (tokenizer {tokenizer.describe()})" if tokenizer is not None else ""
    if not isinstance(tokens, np.ndarray):
        raise SampleError(f"sample {key}: tokens are {type(tokens).__name__}, expected a numpy array")
    if tokens.dtype != np.uint16:
        raise SampleError(f"sample {key}: tokens have dtype {tokens.dtype}, expected uint16")
    if tokens.shape != (n,):
        raise SampleError(f"sample {key}: tokens have shape {tokens.shape}, expected ({n},){whose}")
    if int(tokens.max()) >= book:
        raise SampleError(f"sample {key}: token {int(tokens.max())} is outside the {book}-code book{whose}")


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
