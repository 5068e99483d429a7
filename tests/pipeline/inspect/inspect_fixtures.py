"""The tiny corpus the inspector tests read: 4 shards, 11 samples, 13 pairs, consistent with each other.

`build_corpus` writes shards and their indexes with schemas.shard.write_tar (ShardSample.to_wds()), a
manifest with schemas.manifest_table/write_manifest, a stats.json of schemas/stats.py's layout, the
rejects log its stats.json counts and, optionally, a token cache of schemas.cache.ROW rows; the
damage tests then break one thing each.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pipeline import cli
from schemas import ShardSample, SourceRef, TextEntry, format_attributes, manifest_table, write_manifest
from schemas.cache import ROW, bucket_of
from schemas.shard import index_path, iter_members, split_member_name, write_tar
from schemas.stats import dump_stats

# (split, shard, [(dataset, source_id, kind, text or None for attribute text)], labels per dataset)
FAIRFACE = {"age": "20-29", "gender": "male", "race": "east asian"}
SPEC: list[tuple[str, int, list[tuple[str, str, str, str | None]], dict[str, dict[str, Any]]]] = [
    ("train", 0, [("fairface", "train/1.jpg", "attributes", None)], {"fairface": FAIRFACE}),
    ("train", 0, [("fairface", "train/2.jpg", "attributes", None)],
     {"fairface": {"age": "more than 70", "gender": "female", "race": "indian"}}),
    ("train", 0, [("cacd", "14_Aaron_Johnson_0001.jpg", "attributes", None)], {"cacd": {"age": 14}}),
    ("train", 0, [("mm_celeba_hq", "17", "caption", "She is smiling and has wavy hair."),
                  ("mm_celeba_hq", "17", "caption", "The woman wears heavy makeup and is smiling.")],
     {"mm_celeba_hq": {}}),
    ("train", 1, [("mm_celeba_hq", "20", "caption", "A young man with a beard."),
                  ("celeba_dialog", "20", "caption", "The man has a full beard and is not smiling at all.")],
     {"celeba_dialog": {"beard": 4, "smiling": 0}, "mm_celeba_hq": {}}),
    ("train", 1, [("cacd", "53_Bill_Murray_0002.jpg", "attributes", None)], {"cacd": {"age": 53}}),
    ("train", 1, [("fairface", "train/3.jpg", "attributes", None)],
     {"fairface": {"age": "3-9", "gender": "female", "race": "black"}}),
    ("val", 0, [("fairface", "val/1.jpg", "attributes", None)], {"fairface": FAIRFACE}),
    ("val", 0, [("cacd", "30_Zoe_Saldana_0003.jpg", "attributes", None)], {"cacd": {"age": 30}}),
    ("test", 0, [("cacd", "61_Tom_Hanks_0001.jpg", "attributes", None)], {"cacd": {"age": 61}}),
    ("test", 0, [("celeba_dialog", "99", "caption", "This person has no beard and smiles a little.")],
     {"celeba_dialog": {"beard": 0, "smiling": 2}}),
]
FILTERED = {"fairface": {"below resolution": 2}, "cacd": {}, "mm_celeba_hq": {}, "celeba_dialog": {}}
REJECTED = {"fairface": {}, "cacd": {"image missing": 1}, "mm_celeba_hq": {}, "celeba_dialog": {}}


def face(i: int) -> tuple[str, bytes]:
    """A made-up 256x256 face (a gradient in a colour of its own): its key and JPEG bytes."""
    rng = np.random.default_rng(i)
    pixels = np.zeros((256, 256, 3), np.uint8)
    pixels[..., :] = rng.integers(0, 256, 3, dtype=np.uint8)
    pixels[..., 0] = np.linspace(0, 255, 256, dtype=np.uint8)[None, :]
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=80)
    return hashlib.sha256(f"face-{i}".encode()).hexdigest()[:32], buf.getvalue()


def write_shard(path: Path, samples: Any) -> None:
    """Write WebDataset samples as a shard and its index, as the pipeline's shard writer does."""
    buf = io.BytesIO()
    index = write_tar(buf, samples)
    path.write_bytes(buf.getvalue())
    Path(index_path(str(path))).write_bytes(index.to_json())


def write_members(path: Path, members: list[tuple[str, bytes]]) -> None:
    """Write (name, bytes) members in this order as a shard (and its index), with schemas.shard's writer."""
    samples: list[dict[str, Any]] = []
    for name, data in members:
        key, ext = split_member_name(name)
        if samples and samples[-1]["__key__"] == key and ext not in samples[-1]:
            samples[-1][ext] = data
        else:
            samples.append({"__key__": key, ext: data})
    write_shard(path, samples)


def read_members(path: Path) -> list[tuple[str, bytes]]:
    with open(path, "rb") as f:
        return [(m.name, m.data or b"") for m in iter_members(f)]


FINGERPRINT = "0123abcd"


def build_corpus(root: Path, *, jpg: bool = True, cache: bool = False) -> Path:
    """Write a consistent tiny corpus (4 shards, 11 samples, 13 pairs) under root/out; returns OUT.

    The layout follows pipeline/: manifest ``shard`` values are shard stems (``train-000000``), one
    manifest file per shard, stats.json as pipeline/report.py builds it, and with `cache` a token
    cache under OUT/cache/<fingerprint>/<bucket>/ (plus a face of another build, not in the corpus).
    """
    out = root / "out"
    (out / "shards").mkdir(parents=True)
    (out / "manifest").mkdir()
    shards: dict[str, list[ShardSample]] = {}
    rows = []
    for i, (split, index, texts, labels) in enumerate(SPEC):
        key, jpeg = face(i)
        entries = [TextEntry(d, kind, text or format_attributes(d, labels[d])) for d, _, kind, text in texts]
        sources = tuple(dict.fromkeys(SourceRef(d, sid, f"{d}/{sid}", split) for d, sid, _, _ in texts))
        tokens = np.random.default_rng(100 + i).integers(0, 1024, 256).astype(np.uint16)
        sample = ShardSample(key, split, tokens, tuple(entries), labels, sources, jpeg if jpg else None)
        shard = f"{split}-{index:06d}"
        shards.setdefault(shard, []).append(sample)
        for (d, sid, _, _), entry in zip(texts, entries):
            rows.append({"key": key, "shard": shard, "split": split, "dataset": d, "kind": entry.kind,
                         "text": entry.text, "source_id": sid, "source_path": f"{d}/{sid}",
                         "labels": json.dumps(labels[d], sort_keys=True)})
    for shard, samples in shards.items():
        write_shard(out / "shards" / f"{shard}.tar", [s.to_wds() for s in sorted(samples, key=lambda s: s.key)])
        mine = [r for r in rows if r["shard"] == shard]
        write_manifest(manifest_table(mine), str(out / "manifest" / f"{shard}.parquet"))
    datasets: dict[str, dict] = {}
    for row in rows:
        tally = datasets.setdefault(row["dataset"], {"pairs": 0, "records": set()})
        tally["pairs"] += 1
        tally["records"].add(row["source_id"])
    stats: dict = {"build": {"datasets": sorted(datasets), "keep_images": jpg}, "datasets": {}}
    for d, tally in sorted(datasets.items()):
        written = len(tally["records"])
        filtered, rejected = FILTERED[d], REJECTED[d]
        read = written + sum(filtered.values()) + sum(rejected.values())
        stats["datasets"][d] = {"read": read, "written": written, "pairs": tally["pairs"], "filtered": filtered,
                                "rejected": rejected, "moved_to_held_out_split": 0, "pairs_in_shards": tally["pairs"],
                                "filtered_total": sum(filtered.values()), "rejected_total": sum(rejected.values())}
    stats["totals"] = {k: sum(v[k] for v in stats["datasets"].values())
                       for k in ("read", "written", "pairs", "filtered_total", "rejected_total")}
    stats["totals"].update(samples=len(SPEC), shards=len(shards))
    stats["splits"] = {
        split: {"samples": sum(len(v) for k, v in shards.items() if k.startswith(split + "-")),
                "shards": sum(1 for k in shards if k.startswith(split + "-")), "bytes": 0}
        for split in ("train", "val", "test")
    }
    stats["split_conflicts"] = 1
    stats["tokens"] = {"encoded": len(SPEC), "cached": 0, "fingerprints": {FINGERPRINT: len(SPEC)}}
    stats["accounting"] = {"ok": True, "problems": []}
    (out / "stats.json").write_bytes(dump_stats(stats))
    (out / "rejects").mkdir()
    for d, reasons in REJECTED.items():
        lines = [{"dataset": d, "source_id": f"missing-{i}", "reason": r} for r, n in reasons.items() for i in range(n)]
        if lines:
            (out / "rejects" / f"{d}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    if cache:
        faces = [s for samples in shards.values() for s in samples]
        stale = ShardSample(face(99)[0], "train", np.full(256, 7, np.uint16), faces[0].texts)
        for sample in [*faces, stale, faces[0]]:  # faces[0] cached twice (two builds)
            rows_ = np.zeros(1, ROW)
            rows_["key"], rows_["tokens"] = sample.key, sample.tokens
            folder = out / "cache" / FINGERPRINT / bucket_of(sample.key)
            folder.mkdir(parents=True, exist_ok=True)
            np.save(folder / f"{len(list(folder.iterdir())):016x}.npy", rows_, allow_pickle=False)
    return out


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(["inspect", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def keys_of(out: Path, shard: str) -> list[str]:
    return list(dict.fromkeys(name.split(".", 1)[0] for name, _ in read_members(out / "shards" / shard)))


def rewrite(out: Path, shard: str, edit: Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]]) -> None:
    write_members(out / "shards" / shard, edit(read_members(out / "shards" / shard)))


def tokens_npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def replace(key: str, ext: str, data: bytes) -> Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]]:
    return lambda members: [(n, data if n == f"{key}.{ext}" else d) for n, d in members]
