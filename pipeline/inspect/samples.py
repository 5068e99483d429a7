"""Showing samples: the manifest filtered with pyarrow, each sample with all its texts and labels."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from schemas.shard import shard_file


@dataclass
class SampleView:
    """One sample as the manifest describes it: key, split, shard, texts and labels per source."""

    key: str
    split: str
    shard: str
    texts: list[dict[str, str]] = field(default_factory=list)  # dataset, kind, text, source_id
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)  # "<dataset> <source_id>" -> labels


def find_samples(
    table: pa.Table,
    n: int,
    *,
    dataset: str | None = None,
    split: str | None = None,
    grep: str | None = None,
    key: str | None = None,
) -> list[SampleView]:
    """The first `n` samples (manifest order) with a row matching every filter, with all their texts.

    `grep` matches texts case-insensitively; `key` matches a key or a key prefix.
    """
    mask = None
    for condition in (
        pc.equal(table["dataset"], dataset) if dataset else None,
        pc.equal(table["split"], split) if split else None,
        pc.match_substring(table["text"], grep, ignore_case=True) if grep else None,
        pc.starts_with(table["key"], key) if key else None,
    ):
        if condition is not None:
            mask = condition if mask is None else pc.and_(mask, condition)
    matched = table.filter(mask) if mask is not None else table
    keys = pc.unique(matched["key"])[:n]
    rows = table.filter(pc.is_in(table["key"], value_set=keys)).to_pylist()
    views: dict[str, SampleView] = {k: SampleView(k, "", "") for k in keys.to_pylist()}
    for row in rows:
        view = views[row["key"]]
        view.split, view.shard = row["split"], shard_file(row["shard"])
        view.texts.append({k: row[k] for k in ("dataset", "kind", "text", "source_id")})
        try:
            labels = json.loads(row["labels"]) if row["labels"] else {}
        except json.JSONDecodeError:
            labels = {"(unreadable labels JSON)": row["labels"]}
        view.labels[f"{row['dataset']} {row['source_id']}"] = labels
    return list(views.values())


def format_samples(views: Sequence[SampleView]) -> str:
    """Samples as readable text blocks."""
    if not views:
        return "no sample matches these filters"
    blocks = []
    for v in views:
        lines = [f"{v.key}  split {v.split}  shard {v.shard}"]
        lines += [f"  [{t['dataset']} {t['kind']}] {t['text']}" for t in v.texts]
        lines += [f"  labels {source}: {json.dumps(labels, ensure_ascii=False)}" for source, labels in v.labels.items()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)

