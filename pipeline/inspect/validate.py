"""The corpus validator: shards against schemas/, the manifest and stats.json; every problem names shard and key.

Two modes, one comparison of stats.json with what the outputs hold (`compare_stats`):

* quick (the check after every build, `pipeline.verify.verify_build`): reads the shard indexes
  (``shards/*.idx.json``), stats.json, the rejects logs and four columns of the manifest, one part
  at a time; never a shard's bytes, so what it reads does not grow with the shards.
* full (``talk2face inspect OUT --validate``, in parallel with ``--workers``): reads every byte,
  checks every sample, the manifest row by row, and each index against its tar.

By role: problems.py (what is reported), quick.py (quick mode, and `compare_stats`), scan.py
(the full mode's per-shard scan); this module runs the full mode and compares the manifest with
the shards. The public names of all four are importable from here.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.inspect.corpus import Corpus, InspectError, load_manifest, load_stats
from pipeline.inspect.problems import Problem, Validation, format_validation
from pipeline.inspect.quick import (
    MANIFEST_COLUMNS,
    SAMPLE_FIELDS,
    Measured,
    compare_stats,
    quick_check,
    read_index,
    read_rejects,
)
from pipeline.inspect.scan import _scan_all, _ShardSide
from schemas.progress import track
from schemas.shard import SHARD_FILE, shard_file


def _multiset_hash(frame: Any, columns: list[str]) -> Any:
    """Per key, an order-free hash of the multiset of its rows' `columns` (a Series indexed by key)."""
    import pandas as pd

    hashed = pd.util.hash_pandas_object(frame[columns], index=False).to_numpy(dtype=np.uint64)
    mixed = (hashed ^ (hashed >> np.uint64(31))) * np.uint64(0x9E3779B97F4A7C15)  # spread before summing
    codes, keys = pd.factorize(frame["key"], sort=True)
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0]) if len(codes) else np.zeros(0, dtype=np.int64)
    sums = np.add.reduceat(mixed[order], starts) if len(codes) else np.zeros(0, dtype=np.uint64)
    return pd.Series(sums, index=keys)


def _compare_manifest(side: _ShardSide, table: pa.Table, problems: list[Problem]) -> None:
    """Manifest and shards agree: same keys, the shard and split of each key, the texts and sources."""
    import pandas as pd

    manifest = table.select(["key", "shard", "split", "dataset", "kind", "text", "source_id"]).to_pandas()
    manifest["shard"] = manifest["shard"].map({name: shard_file(name) for name in manifest["shard"].unique()})
    per_key = manifest.groupby("key", sort=True).agg(
        m_shard=("shard", "first"), m_shards=("shard", "nunique"), m_split=("split", "first"),
        m_splits=("split", "nunique"), rows=("text", "size"),
    )
    seen = pd.Index(list(side.seen))
    for key in per_key.index.difference(seen):
        row = per_key.loc[key]
        problems.append(Problem(
            "manifest-without-sample",
            f"{row['rows']} manifest row(s) name this key in {row['m_shard']}, but no shard holds it; rebuild the "
            "shard or the manifest", str(row["m_shard"]), str(key),
        ))
    for key in seen.difference(per_key.index):
        problems.append(Problem("sample-without-manifest", "sample has no manifest rows; rebuild the manifest",
                                side.seen[key], str(key)))
    samples = pd.DataFrame(side.sample_rows).set_index("key")
    joined = samples.join(per_key, how="inner")
    if joined.empty:
        return
    wrong = joined[(joined["m_shards"] != 1) | (joined["m_shard"] != joined["shard"])]
    for key, row in wrong.iterrows():
        names = sorted(manifest.loc[manifest["key"] == key, "shard"].unique())
        problems.append(Problem("manifest-shard", f"manifest says shard(s) {names}, the sample is in {row['shard']}",
                                row["shard"], str(key)))
    wrong = joined[(joined["m_splits"] != 1) | (joined["m_split"] != joined["split"])]
    for key, row in wrong.iterrows():
        names = sorted(manifest.loc[manifest["key"] == key, "split"].unique())
        problems.append(Problem("manifest-split", f"manifest says split(s) {names}, the sample json says "
                                                  f"{row['split']!r}", row["shard"], str(key)))
    texts = pd.DataFrame(side.text_rows)
    fields = ["dataset", "kind", "text"]
    differ = _multiset_hash(texts, fields).reindex(joined.index) != _multiset_hash(manifest, fields).reindex(joined.index)
    for key in joined.index[differ.to_numpy()]:
        mine = sorted(texts.loc[texts["key"] == key, fields].itertuples(index=False, name=None))
        theirs = sorted(manifest.loc[manifest["key"] == key, fields].itertuples(index=False, name=None))
        problems.append(Problem(
            "manifest-texts",
            f"texts differ: {len(theirs)} in the manifest, {len(mine)} in the sample json; only in the json: "
            f"{[t for t in mine if t not in theirs][:3]}; only in the manifest: {[t for t in theirs if t not in mine][:3]}; "
            "rebuild the manifest", str(joined.at[key, "shard"]), str(key),
        ))
    fields = ["dataset", "source_id"]
    sources = pd.DataFrame(side.source_rows).drop_duplicates()
    in_manifest = manifest[["key", *fields]].drop_duplicates()
    differ = _multiset_hash(sources, fields).reindex(joined.index) != _multiset_hash(in_manifest, fields).reindex(joined.index)
    for key in joined.index[differ.to_numpy()]:
        mine = sorted(sources.loc[sources["key"] == key, fields].itertuples(index=False, name=None))
        theirs = sorted(in_manifest.loc[in_manifest["key"] == key, fields].itertuples(index=False, name=None))
        problems.append(Problem("manifest-sources", f"sources differ: json {mine[:3]}, manifest {theirs[:3]}; rebuild "
                                                    "the manifest", str(joined.at[key, "shard"]), str(key)))


def _measure_full(corpus: Corpus, table: pa.Table, side: _ShardSide, shard_files: Sequence[str]) -> Measured:
    """`Measured` from a full scan: the whole manifest table, the valid samples, the shard file names."""
    m = Measured(rejected=read_rejects(corpus), samples=len(side.seen), shards=len(shard_files))
    per = table.group_by("dataset").aggregate([("key", "count"), ("source_id", "count_distinct")]).to_pylist()
    for row in per:
        m.pairs[row["dataset"]] = row["key_count"]
        m.written[row["dataset"]] = row["source_id_count_distinct"]
    m.pairs_in_shards = Counter(side.text_rows["dataset"])
    m.split_samples = Counter(side.sample_rows["split"])
    m.split_shards = Counter(match.group("split") for name in shard_files if (match := SHARD_FILE.match(name)))
    return m


# -----------------------------------------------------------------------------
# Both modes


def validate_corpus(
    corpus: Corpus, progress: Callable[[str], None] | None = None, workers: int = 1, *,
    mode: str = "full", keep_images: bool = False,
) -> Validation:
    """Check a corpus: ``mode="full"`` reads every byte (``inspect --validate``), ``"quick"`` only the
    shard indexes, stats.json, the manifest's columns and the rejects logs (the check after a build).

    Quick mode (`quick_check`) checks that every record read is accounted for: the invariant from
    the outputs, stats.json against them, the manifest against the shards' samples (as their
    indexes list them), each sample's members (``jpg`` too when `keep_images`). Full mode checks,
    in addition:

    Checks: tar integrity (not a tar, truncated, corrupt header, foreign members), each index
    against its tar (bytes, sha256, member names, offsets and sizes), each sample's tokens (uint16,
    as many codes as its declared tokenizer makes, inside its codebook; 256 < 1,024 for older samples) and JSON (schemas.validate_meta), duplicate keys within and across shards,
    sample split == shard split, manifest == shards (keys, shard, split, texts, sources per key),
    stats.json == outputs (`compare_stats`) and the accounting invariant. Every problem names its
    shard and key where it has them. `workers` > 1 scans shards in that many processes; the report
    is the same.
    """
    start = time.perf_counter()
    if mode == "quick":
        result, _ = quick_check(corpus, keep_images)
        result.seconds = time.perf_counter() - start
        return result
    if mode != "full":
        raise ValueError(f"mode={mode!r}: choose full or quick")
    result = Validation(corpus.url)
    problems = result.problems
    paths = corpus.shard_paths()
    if not paths:
        problems.append(Problem("shards", f"no shards/*.tar under {corpus.url}; the build wrote no samples"))
    side = _ShardSide()
    scans = _scan_all(corpus, paths, workers)
    for i, scan in enumerate(track(scans, len(paths), "validating shards", "shard") if progress is None else scans):
        problems.extend(scan.problems)
        for key, meta in scan.samples:
            result.samples += 1
            if key in side.seen:
                problems.append(Problem("duplicate", f"key also in shard {side.seen[key]}; keys must be unique "
                                                     "across the corpus", scan.shard, key))
                continue
            side.seen[key] = scan.shard
            if meta is not None:
                side.add(key, scan.shard, meta)
        result.shards += 1
        if progress is not None:
            progress(f"{i + 1}/{len(paths)} shards, {result.samples:,} samples, {len(problems)} problems")
    table = None
    try:
        table = load_manifest(corpus)
        result.manifest_rows = table.num_rows
    except InspectError as err:
        problems.append(Problem("manifest", str(err)))
    if table is not None:
        _compare_manifest(side, table, problems)
        stats, why = load_stats(corpus)
        if stats is None:
            problems.append(Problem("stats", str(why)))
        else:
            problems.extend(compare_stats(stats, _measure_full(corpus, table, side, [shard_file(p) for p in paths])))
    result.seconds = time.perf_counter() - start
    return result


__all__ = [
    "MANIFEST_COLUMNS",
    "SAMPLE_FIELDS",
    "Measured",
    "Problem",
    "Validation",
    "compare_stats",
    "format_validation",
    "quick_check",
    "read_index",
    "read_rejects",
    "validate_corpus",
]
