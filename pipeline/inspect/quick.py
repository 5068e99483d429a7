"""The quick mode of the corpus validator, and the comparison of stats.json with the outputs both modes share.

Quick mode (the check after every build, `pipeline.verify.verify_build`) reads the shard indexes
(``shards/*.idx.json``), stats.json, the rejects logs and four columns of the manifest, one part at
a time; never a shard's bytes, so what it reads does not grow with the shards. `compare_stats`
is the one comparison of stats.json with what the outputs hold, fed by either mode's `Measured`.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from pipeline.inspect.corpus import Corpus, InspectError, load_stats
from pipeline.inspect.problems import Problem, Validation
from schemas.shard import ShardIndex, ShardIndexError, index_path, shard_split, shard_stem, split_member_name
from schemas.stats import DATASET_COUNTS, STATS_FILE, Stats, unaccounted

MANIFEST_COLUMNS = ["key", "shard", "dataset", "source_id"]  # what the quick mode reads of the manifest

SAMPLE_FIELDS = ("json", "tokens.npy")  # the members every sample has; jpg when the build keeps images


# -----------------------------------------------------------------------------
# stats.json against the outputs: the one comparison, for both modes


@dataclass
class Measured:
    """What the outputs hold, counted from the files, to compare with what stats.json claims."""

    pairs: Counter[str] = field(default_factory=Counter)  # manifest rows per dataset
    written: Counter[str] = field(default_factory=Counter)  # distinct source ids in the manifest per dataset
    rejected: dict[str, Counter[str]] = field(default_factory=dict)  # rejects logs: dataset -> reason -> lines
    split_samples: Counter[str] = field(default_factory=Counter)
    split_shards: Counter[str] = field(default_factory=Counter)
    samples: int = 0
    shards: int = 0
    pairs_in_shards: Counter[str] | None = None  # texts in the valid shard samples (full mode only)
    samples_per_dataset: Counter[str] = field(default_factory=Counter)  # distinct keys per dataset
    shards_per_dataset: Counter[str] = field(default_factory=Counter)


def read_rejects(corpus: Corpus) -> dict[str, Counter[str]]:
    """The rejects logs: per dataset, lines per reason."""
    rejected: dict[str, Counter[str]] = defaultdict(Counter)
    for path in sorted(corpus.fs.glob(corpus.path("rejects", "*.jsonl"))):
        with corpus.fs.open(path, "rb") as f:
            for line in f.read().decode("utf-8").splitlines():
                row = json.loads(line)
                rejected[row["dataset"]][row["reason"]] += 1
    return dict(rejected)


def compare_stats(stats: Stats, measured: Measured) -> list[Problem]:
    """stats.json against what the outputs hold, and the accounting invariant on both; [] when they agree."""
    problems: list[Problem] = []

    def add(message: str) -> None:
        problems.append(Problem("stats", message))

    datasets = stats["datasets"]
    if not datasets:
        add("stats.json has no per-dataset entries (expected datasets: {name: {read, written, pairs, filtered, "
            "rejected}}); rerun the build")
        return problems
    for name in sorted((set(measured.pairs) | set(measured.rejected)) - set(datasets)):
        add(f"dataset {name!r} has {measured.pairs[name]} manifest rows and "
            f"{sum(measured.rejected.get(name, Counter()).values())} rejects but no stats.json entry; rerun the build")
    for name, entry in sorted(datasets.items()):
        rejected = measured.rejected.get(name, Counter())
        checks: list[tuple[str, object, object, str]] = [
            ("pairs", entry["pairs"], measured.pairs[name], "manifest rows"),
            ("written", entry["written"], measured.written[name], "distinct source ids in the manifest"),
            ("rejected", entry["rejected"], dict(rejected), "in the rejects logs"),
        ]
        if measured.pairs_in_shards is not None and "pairs_in_shards" in entry:
            checks.append(("pairs_in_shards", entry["pairs_in_shards"], measured.pairs_in_shards[name],
                           "texts in the valid shard samples"))
        for what, claimed, held, where in checks:
            if claimed != held:
                add(f"dataset {name!r}: stats.json {what} {claimed} != {held} {where}")
        filtered = sum(entry["filtered"].values())
        if message := unaccounted(name, entry["read"], entry["written"], filtered, sum(entry["rejected"].values()),
                                  where=STATS_FILE):
            add(message)
        if message := unaccounted(name, entry["read"], measured.written[name], filtered, sum(rejected.values()),
                                  where="the outputs"):
            add(message)
    totals = stats["totals"]
    entries: list[Mapping[str, Any]] = list(datasets.values())
    for what in DATASET_COUNTS:
        declared, summed = totals.get(what), sum(e[what] for e in entries)
        if declared is not None and declared != summed:
            add(f"totals.{what} {declared} != {summed}, the sum over datasets")
    for what, actual in (("samples", measured.samples), ("shards", measured.shards)):
        declared = totals.get(what)
        if declared is not None and declared != actual:
            add(f"totals.{what} {declared} != {actual} {what} found in the shards")
    for split in sorted(set(stats["splits"]) | set(measured.split_shards)):
        counts = stats["splits"].get(split, {"samples": 0, "shards": 0})
        if counts["samples"] != measured.split_samples[split]:
            add(f"split {split!r}: stats.json says {counts['samples']} samples, the shards hold "
                f"{measured.split_samples[split]} valid samples")
        if counts["shards"] != measured.split_shards[split]:
            add(f"split {split!r}: stats.json says {counts['shards']} shards, {measured.split_shards[split]} shard "
                "files exist")
    return problems


# -----------------------------------------------------------------------------
# Quick mode: shard indexes, stats.json, manifest columns and rejects logs


def read_index(corpus: Corpus, path: str) -> ShardIndex:
    """The index beside a shard (``<stem>.idx.json``); raises OSError or ShardIndexError naming it and the fix.

    The seam through which the quick mode learns what a shard holds without reading it.
    """
    where = index_path(path)
    if not corpus.fs.exists(where):
        raise FileNotFoundError(f"{where} is missing: the build died between the shard and its index; rerun the "
                                "build (or `talk2face inspect OUT --validate` to check the tar itself)")
    with corpus.fs.open(where, "rb") as f:
        return ShardIndex.from_json(f.read(), where)


def _read_part(corpus: Corpus, path: str) -> pa.Table:
    """The columns the quick mode needs of one manifest part (column projection: the other columns are not read)."""
    import pyarrow.parquet as pq

    try:
        with corpus.fs.open(path, "rb") as f:
            table = pq.ParquetFile(f).read(columns=MANIFEST_COLUMNS)
    except (pa.ArrowException, OSError, ValueError) as err:
        raise InspectError(f"{path}: not a readable manifest part ({err}); rebuild the manifest") from err
    for name in MANIFEST_COLUMNS:
        if not pa.types.is_string(table.schema.field(name).type):
            raise InspectError(f"{path}: column {name!r} is {table.schema.field(name).type}, expected string; "
                               "rebuild the manifest")
    return table


def quick_check(corpus: Corpus, keep_images: bool = False) -> tuple[Validation, Measured]:
    """The quick checks of a build's outputs against each other and the records read, and what they counted.

    Reads each shard's index, then the manifest one part at a time (four columns), so memory holds
    one part and the set of sample keys, never the whole manifest table.
    """
    result = Validation(corpus.url)
    problems = result.problems
    measured = Measured()
    stats, why = load_stats(corpus)
    if stats is None:
        problems.append(Problem("stats", str(why)))
        return result, measured

    def add(message: str, shard: str | None = None, key: str | None = None, kind: str = "accounting") -> None:
        problems.append(Problem(kind, message, shard, key))

    want = set(SAMPLE_FIELDS) | ({"jpg"} if keep_images else set())
    shard_keys: dict[str, list[str]] = {}
    seen: dict[str, str] = {}
    for path in corpus.shard_paths():
        shard = shard_stem(path)
        try:
            index = read_index(corpus, path)
        except (OSError, ShardIndexError) as err:
            add(str(err), shard, kind="index")
            shard_keys[shard] = []
            continue
        fields: dict[str, set[str]] = defaultdict(set)
        for name, _offset, _size in index.members:
            key, ext = split_member_name(name)
            fields[key].add(ext)
        order = index.keys()
        broken = [k for k, have in fields.items() if not want <= have]
        if broken:
            add(f"shard {shard}: samples {broken[:3]} lack some of {sorted(want)}", shard, broken[0])
        if order != sorted(set(order)):
            add(f"shard {shard}: samples are not in sorted key order, or a sample is split", shard)
        for key in order:
            if key in seen and seen[key] != shard:
                add(f"sample {key} is in shards {seen[key]} and {shard}; keys must be unique", shard, key)
            seen.setdefault(key, shard)
        shard_keys[shard] = order
        measured.split_shards[shard_split(shard)] += 1
        measured.split_samples[shard_split(shard)] += len(order)
    measured.shards, measured.samples = len(shard_keys), sum(len(k) for k in shard_keys.values())

    parts = {shard_stem(p.removesuffix(".parquet")): p for p in corpus.manifest_paths()}
    if sorted(parts) != sorted(shard_keys):
        add(f"manifest parts {sorted(set(parts) ^ set(shard_keys))[:5]} do not match the shards")
    for shard in sorted(set(parts) | set(shard_keys)):
        if shard not in parts:
            continue
        try:
            part = _read_part(corpus, parts[shard])
        except InspectError as err:
            add(str(err), shard, kind="manifest")
            continue
        result.manifest_rows += part.num_rows
        others = sorted(set(part.column("shard").to_pylist()) - {shard})
        if others:
            add(f"manifest part {shard}.parquet holds rows of shards {others[:3]}", shard)
        in_manifest = set(part.column("key").to_pylist())
        differ = sorted(in_manifest ^ set(shard_keys.get(shard, [])))
        if differ:
            add(f"the manifest and the shards disagree on {len(differ)} samples of shard {shard} (e.g. "
                f"{differ[:2]})", shard, differ[0])
        for row in part.group_by("dataset").aggregate([("key", "count"), ("source_id", "count_distinct"),
                                                       ("key", "count_distinct")]).to_pylist():
            name = row["dataset"]
            measured.pairs[name] += row["key_count"]
            measured.written[name] += row["source_id_count_distinct"]
            measured.samples_per_dataset[name] += row["key_count_distinct"]
            measured.shards_per_dataset[name] += 1
    measured.rejected = read_rejects(corpus)
    problems.extend(compare_stats(stats, measured))
    result.shards, result.samples = measured.shards, measured.samples
    return result, measured
