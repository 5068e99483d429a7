"""The element that flows from dedupe to the shard writer: one unique face and the records that share it.

`Sample` carries no pixels: a face's pixels are decoded in LoadFaces (to compute its key) and
decoded again only for unique faces whose codes are not cached (TokenizeFaces), so no shuffle ever
moves images. Its conversions to the formats of `schemas` (a `ShardSample`, manifest rows) live
here, so the writers only write.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from schemas import FaceRecord, ShardSample, SourceRef, TextEntry, TokenizerInfo, most_held_out


def record_order(record: FaceRecord) -> tuple[str, str, str]:
    """The deterministic order of a sample's records (and so of its texts): dataset, source id, path."""
    return record.dataset, record.source_id, record.source_path


@dataclass(frozen=True)
class Sample:
    """One unique face of the build; `shard`, `tokens` and `jpg` are filled in by later steps."""

    key: str
    split: str  # the most held-out split of its records
    records: tuple[FaceRecord, ...]  # every record whose face this is, in `record_order`
    shard: str = ""
    tokens: np.ndarray | None = None  # uint16 (tokens per face,): 256 for the FFHQ f=16 VQGAN
    jpg: bytes | None = None
    encoded: bool = False  # True: codes computed in this build; False: read from the token cache
    tokenizer: str = ""  # fingerprint of the tokenizer that made `tokens`
    tokenizer_info: TokenizerInfo | None = None  # that tokenizer's kind and code layout, written into the sample
    cluster_split: str = ""  # the most held-out split of its cluster (same photo / near-duplicate), "" if none
    cluster_cause: str = ""  # why it is in that cluster: "same_photo" or "near_duplicate"

    @classmethod
    def merge(cls, key: str, records: Iterable[FaceRecord]) -> Sample:
        """The sample of all records whose preprocessed face hashes to `key`."""
        ordered = tuple(sorted(records, key=record_order))
        if not ordered:
            raise ValueError(f"sample {key}: no records")
        return cls(key=key, split=most_held_out({r.split for r in ordered}), records=ordered)

    @property
    def split_conflict(self) -> bool:
        """Its records come from different splits (it went to the most held-out one)."""
        return len({r.split for r in self.records}) > 1

    @property
    def face_split(self) -> str:
        """The most held-out split of its own records (where exact duplicates alone put it)."""
        return most_held_out({r.split for r in self.records})

    @property
    def first(self) -> FaceRecord:
        """The record whose image (and box) is reloaded to tokenise the face."""
        return self.records[0]

    def shard_sample(self) -> ShardSample:
        """As `schemas.ShardSample`: all texts, labels per dataset (its first record's), provenance."""
        if self.tokens is None:
            raise ValueError(f"sample {self.key} has no tokens yet; TokenizeFaces runs before WriteShards")
        labels: dict[str, dict] = {}
        for record in self.records:
            labels.setdefault(record.dataset, dict(record.labels))
        return ShardSample(
            key=self.key,
            split=self.split,
            tokens=self.tokens,
            texts=tuple(TextEntry(r.dataset, t.kind, t.text) for r in self.records for t in r.texts),
            labels=labels,
            sources=tuple(SourceRef(r.dataset, r.source_id, r.source_path, r.split, r.photo_id, r.person_id)
                          for r in self.records),
            jpg=self.jpg,
            tokenizer=self.tokenizer_info,
        )

    def manifest_rows(self) -> list[dict[str, str | None]]:
        """One manifest row per text (schemas.manifest), in the order of the sample's texts."""
        if not self.shard:
            raise ValueError(f"sample {self.key} has no shard yet; AssignShards runs before the writers")
        rows = []
        for record in self.records:
            labels = json.dumps(dict(record.labels), ensure_ascii=False, separators=(",", ":"))
            for text in record.texts:
                rows.append({
                    "key": self.key, "shard": self.shard, "split": self.split, "dataset": record.dataset,
                    "kind": text.kind, "text": text.text, "source_id": record.source_id,
                    "source_path": record.source_path, "labels": labels,
                    "photo_id": record.photo_id or None, "person_id": record.person_id or None,
                })
        return rows
