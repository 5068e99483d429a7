"""verify_build: re-read a finished build's outputs and check they account for every record read.

Runs after the pipeline, on the launching machine, from the files alone: stats.json (records read
and filtered per dataset), the manifest (records written: distinct source ids; pairs: rows), the
rejects logs, and the tar headers of every shard (which samples are really there). It fails with
`AccountingError` naming the dataset and the numbers when ``read != written + filtered + rejected``,
when the manifest and the shards disagree, or when stats.json is missing (a runner that reported
success without running the last step). This is the check that catches silent output loss.
"""

from __future__ import annotations

import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config import join
from pipeline.files import list_files, tar_members
from pipeline.report import AccountingError
from schemas import MANIFEST_SCHEMA
from schemas.stats import unaccounted

SAMPLE_FIELDS = ("json", "tokens.npy")


@dataclass(frozen=True)
class BuildReport:
    """A verified build: its stats, shard files and what the manifest says per dataset."""

    output: str
    stats: dict[str, Any]
    shards: tuple[str, ...]
    samples_per_dataset: dict[str, int] = field(default_factory=dict)
    shards_per_dataset: dict[str, int] = field(default_factory=dict)

    def table(self) -> str:
        """The per-dataset table printed at the end of a build."""
        head = ("dataset", "read", "written", "filtered", "rejected", "pairs", "samples", "shards")
        rows: list[tuple[object, ...]] = [head]
        for name, d in self.stats["datasets"].items():
            rows.append((name, d["read"], d["written"], d["filtered_total"], d["rejected_total"], d["pairs"],
                         self.samples_per_dataset.get(name, 0), self.shards_per_dataset.get(name, 0)))
        t = self.stats["totals"]
        rows.append(("total", t["read"], t["written"], t["filtered_total"], t["rejected_total"], t["pairs"],
                     t["samples"], t["shards"]))
        widths = [max(len(str(r[i])) for r in rows) for i in range(len(head))]
        lines = ["  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(r, widths)))
                 for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.insert(len(lines) - 1, "  ".join("-" * w for w in widths))
        splits = ", ".join(f"{s}: {v['samples']} samples in {v['shards']} shards" for s, v in self.stats["splits"].items())
        tokens = self.stats["tokens"]
        lines.append(f"splits: {splits or 'none'}; split conflicts: {self.stats['split_conflicts']}")
        lines.append(f"faces encoded: {tokens['encoded']}, from the token cache: {tokens['cached']}")
        return "\n".join(lines)


def read_stats(output: str) -> dict[str, Any]:
    url = join(output, "stats.json")
    fs, path = fsspec.core.url_to_fs(url)
    if not fs.exists(path):
        raise AccountingError(
            f"{url} was not written: the pipeline's last step did not run, so its outputs cannot be trusted; "
            "rerun the build (on the DaskRunner, use a cluster with worker processes)"
        )
    with fs.open(path, "rb") as f:
        return json.loads(f.read())


def read_manifest_parts(output: str) -> tuple[pa.Table, list[str]]:
    """The manifest's rows (all parts) and the part files' stems."""
    parts = list_files(join(output, "manifest"), ".parquet")
    tables = []
    for url in parts:
        with fsspec.open(url, "rb") as f:
            tables.append(pq.read_table(io.BytesIO(f.read()), schema=MANIFEST_SCHEMA))
    table = pa.concat_tables(tables) if tables else MANIFEST_SCHEMA.empty_table()
    return table, [url.rsplit("/", 1)[-1].removesuffix(".parquet") for url in parts]


def distinct_per_dataset(manifest: pa.Table, column: str | None) -> Counter[str]:
    """Per dataset: manifest rows (`column` None), or distinct values of `column` (records, samples, shards)."""
    if column is None:
        counts = manifest.group_by("dataset").aggregate([("key", "count")])
        return Counter(dict(zip(counts.column("dataset").to_pylist(), counts.column("key_count").to_pylist(), strict=True)))
    pairs = manifest.group_by(["dataset", column]).aggregate([])
    return Counter(pairs.column("dataset").to_pylist())


def verify_build(output: str, keep_images: bool = False) -> BuildReport:
    """Check a build's outputs against each other and against the records read; raises AccountingError."""
    stats = read_stats(output)
    problems: list[str] = []

    # shards: which samples are really there
    shard_urls = list_files(join(output, "shards"), ".tar")
    shard_keys: dict[str, list[str]] = {}
    for url in shard_urls:
        shard = url.rsplit("/", 1)[-1].removesuffix(".tar")
        fields: dict[str, set[str]] = defaultdict(set)
        order: list[str] = []
        for name, _size in tar_members(url):
            key, _, ext = name.partition(".")
            if not order or order[-1] != key:
                order.append(key)
            fields[key].add(ext)
        want = set(SAMPLE_FIELDS) | ({"jpg"} if keep_images else set())
        broken = [k for k, have in fields.items() if not want <= have]
        if broken:
            problems.append(f"shard {shard}: samples {broken[:3]} lack some of {sorted(want)}")
        if order != sorted(set(order)):
            problems.append(f"shard {shard}: samples are not in sorted key order, or a sample is split")
        shard_keys[shard] = order
    all_keys = [k for keys in shard_keys.values() for k in keys]
    if len(all_keys) != len(set(all_keys)):
        dupes = [k for k, n in Counter(all_keys).items() if n > 1]
        problems.append(f"samples in more than one shard: {dupes[:3]}")

    # manifest: one row per text, naming the shard that holds the sample
    manifest, parts = read_manifest_parts(output)
    if sorted(parts) != sorted(shard_keys):
        problems.append(f"manifest parts {sorted(set(parts) ^ set(shard_keys))[:5]} do not match the shards")
    pairs = distinct_per_dataset(manifest, None)
    written = distinct_per_dataset(manifest, "source_id")
    samples_per_dataset = distinct_per_dataset(manifest, "key")
    shards_per_dataset = distinct_per_dataset(manifest, "shard")
    held = manifest.group_by(["shard", "key"]).aggregate([])
    in_manifest = set(zip(held.column("shard").to_pylist(), held.column("key").to_pylist(), strict=True))
    in_shards = {(s, k) for s, keys in shard_keys.items() for k in keys}
    if in_manifest != in_shards:
        problems.append(
            f"the manifest and the shards disagree on {len(in_manifest ^ in_shards)} samples "
            f"(e.g. {sorted(in_manifest ^ in_shards)[:2]})"
        )

    # rejects logs
    rejected: dict[str, Counter[str]] = defaultdict(Counter)
    for url in list_files(join(output, "rejects"), ".jsonl"):
        with fsspec.open(url, "rb") as f:
            for line in f.read().decode("utf-8").splitlines():
                row = json.loads(line)
                rejected[row["dataset"]][row["reason"]] += 1

    # the invariant, from what was written; and stats.json must say the same
    for name in sorted(set(stats["datasets"]) | set(pairs) | set(rejected)):
        d = stats["datasets"].get(name)
        if d is None:
            problems.append(f"dataset {name} has outputs but is not in stats.json")
            continue
        filtered = sum(d["filtered"].values())
        n_rejected = sum(rejected[name].values())
        if message := unaccounted(name, d["read"], written[name], filtered, n_rejected, where="the outputs"):
            problems.append(message)
        for what, measured, claimed in (
            ("records written", written[name], d["written"]),
            ("pairs (manifest rows)", pairs[name], d["pairs"]),
            ("rejects", dict(rejected[name]), d["rejected"]),
        ):
            if measured != claimed:
                problems.append(f"dataset {name}: stats.json says {what} {claimed}, the outputs hold {measured}")
    split_of = {s: s.rsplit("-", 1)[0] for s in shard_keys}
    for split, v in stats["splits"].items():
        n_shards = sum(1 for s in shard_keys if split_of[s] == split)
        n_samples = sum(len(k) for s, k in shard_keys.items() if split_of[s] == split)
        if (n_shards, n_samples) != (v["shards"], v["samples"]):
            problems.append(f"split {split}: stats.json says {v['shards']} shards / {v['samples']} samples, "
                            f"the shard files hold {n_shards} / {n_samples}")
    if sum(v["shards"] for v in stats["splits"].values()) != len(shard_keys):
        problems.append(f"{len(shard_keys)} shard files but stats.json counts {stats['totals']['shards']}")
    if problems:
        raise AccountingError(f"build at {output} does not add up:\n  " + "\n  ".join(problems))
    return BuildReport(
        output=output,
        stats=stats,
        shards=tuple(shard_urls),
        samples_per_dataset=dict(sorted(samples_per_dataset.items())),
        shards_per_dataset=dict(sorted(shards_per_dataset.items())),
    )
