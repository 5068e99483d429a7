"""The corpus validator: shards against schemas/, the manifest and stats.json; every problem names shard and key."""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.inspect.corpus import Corpus, InspectError, load_manifest, load_stats, load_tokens, open_stream
from schemas import MANIFEST_SCHEMA
from schemas.records import SPLITS
from schemas.sample import SampleError, validate_meta, validate_tokens
from schemas.shard import (
    MEMBER_NAME,
    SHARD_FILE,
    TarDamage,
    iter_members,
    shard_file,
    shard_split,
    shard_stem,
    split_member_name,
)
from schemas.stats import DATASET_COUNTS, STATS_FILE, Stats, unaccounted

SAMPLE_FIELDS = ("json", "tokens.npy")  # the members every sample has; jpg when the build keeps images


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a corpus: its kind, where (shard, key) and what to do."""

    kind: str
    message: str
    shard: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = ", ".join(p for p in (f"shard {self.shard}" if self.shard else "", f"key {self.key}" if self.key else "") if p)
        return f"[{self.kind}] {where + ': ' if where else ''}{self.message}"


@dataclass
class Validation:
    """The result of `validate_corpus`: problems found, and how much was read how fast."""

    corpus: str
    shards: int = 0
    samples: int = 0
    manifest_rows: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "corpus": self.corpus,
            "ok": self.ok,
            "shards": self.shards,
            "samples": self.samples,
            "manifest_rows": self.manifest_rows,
            "seconds": round(self.seconds, 3),
            "samples_per_second": round(self.samples_per_second, 1),
            "problems": [asdict(p) for p in self.problems],
        }


class _ShardSide:
    """What the shards hold, gathered while streaming: every key seen, and the valid samples' texts and sources."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}  # key -> shard of its first occurrence, valid or not
        self.sample_rows: dict[str, list[str]] = {"key": [], "shard": [], "split": []}
        self.text_rows: dict[str, list[str]] = {"key": [], "dataset": [], "kind": [], "text": []}
        self.source_rows: dict[str, list[str]] = {"key": [], "dataset": [], "source_id": []}

    def add(self, key: str, shard: str, meta: Mapping[str, Any]) -> None:
        for name, value in (("key", key), ("shard", shard), ("split", meta["split"])):
            self.sample_rows[name].append(value)
        for t in meta["texts"]:
            for name, value in (("key", key), ("dataset", t["dataset"]), ("kind", t["kind"]), ("text", t["text"])):
                self.text_rows[name].append(str(value))
        for src in meta["sources"]:
            for name, value in (("key", key), ("dataset", src["dataset"]), ("source_id", src["source_id"])):
                self.source_rows[name].append(str(value))



def _check_sample(key: str, shard: str, split: str | None, got: Mapping[str, bytes], problems: list[Problem]) -> dict | None:
    """Check one sample's members against schemas/; the parsed JSON when it is valid."""
    from PIL import Image

    ok = True
    if "tokens.npy" not in got:
        problems.append(Problem("tokens", "no tokens.npy member; rebuild this shard", shard, key))
        ok = False
    else:
        try:
            validate_tokens(load_tokens(got["tokens.npy"]), key)
        except SampleError as err:
            problems.append(Problem("tokens", f"{err}; rebuild this shard", shard, key))
            ok = False
        except (ValueError, OSError, EOFError) as err:
            problems.append(Problem("tokens", f"tokens.npy is not a readable .npy array ({err})", shard, key))
            ok = False
    meta = None
    if "json" not in got:
        problems.append(Problem("json", "no json member; rebuild this shard", shard, key))
    else:
        try:
            meta = json.loads(got["json"])
            validate_meta(meta)
            if meta["key"] != key:
                raise SampleError(f"json says key {meta['key']!r}, the member names say {key!r}")
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            problems.append(Problem("json", f"json member is not valid JSON ({err})", shard, key))
            meta = None
        except SampleError as err:
            problems.append(Problem("json", str(err), shard, key))
            meta = None
    if meta is not None and split is not None and meta["split"] != split:
        problems.append(Problem("split", f"sample split {meta['split']!r} is not the shard's split {split!r}", shard, key))
    if "jpg" in got:
        try:
            size = Image.open(io.BytesIO(got["jpg"])).size
            if size != (256, 256):
                problems.append(Problem("jpg", f"jpg is {size[0]}x{size[1]}, expected 256x256", shard, key))
        except OSError as err:
            problems.append(Problem("jpg", f"jpg member is not a readable image ({err})", shard, key))
    return meta if ok else None


@dataclass
class _ShardScan:
    """What one shard holds: its samples in order (key, JSON if the sample is valid) and its problems."""

    shard: str
    samples: list[tuple[str, dict | None]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _scan_shard(corpus: Corpus, path: str) -> _ShardScan:
    """Stream one shard, checking its members and samples (duplicates across shards are the caller's)."""
    shard = shard_file(path)
    scan = _ShardScan(shard)
    problems = scan.problems
    match = SHARD_FILE.match(shard)
    split = match.group("split") if match and match.group("split") in SPLITS else None
    if split is None:
        problems.append(Problem("shard-name", f"shard name is not <split>-NNNNNN.tar with split in {SPLITS}", shard))
    current: str | None = None
    got: dict[str, bytes] = {}
    closed: set[str] = set()

    def finish() -> None:
        if current is not None and current not in closed:
            closed.add(current)
            scan.samples.append((current, _check_sample(current, shard, split, got, problems)))

    try:
        with open_stream(corpus, path) as stream:
            for member in iter_members(stream):
                named = MEMBER_NAME.match(member.name)
                if not member.is_file or named is None:
                    what = "a regular file" if member.is_file else "not a regular file"
                    problems.append(Problem(
                        "foreign-member",
                        f"foreign member {member.name!r} ({what}): a shard holds only <key>.tokens.npy, <key>.json "
                        "and <key>.jpg members; rebuild this shard",
                        shard, named.group("key") if named else None,
                    ))
                    continue
                key, ext = named.group("key"), named.group("ext")
                if key != current:
                    finish()
                    if key in closed:
                        problems.append(Problem("duplicate", "key appears twice in this shard", shard, key))
                    current, got = key, {}
                if ext in got:
                    problems.append(Problem("duplicate", f"member {member.name!r} appears twice", shard, key))
                got[ext] = member.data or b""
            finish()
    except TarDamage as err:
        key = None
        if err.member and (named := MEMBER_NAME.match(err.member)):
            key = named.group("key")
        problems.append(Problem("tar", f"{err}; rebuild this shard", shard, key))
    except OSError as err:
        problems.append(Problem("tar", f"cannot read the shard ({err})", shard))
    return scan


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
            "rebuild the manifest", joined.at[key, "shard"], str(key),
        ))
    fields = ["dataset", "source_id"]
    sources = pd.DataFrame(side.source_rows).drop_duplicates()
    in_manifest = manifest[["key", *fields]].drop_duplicates()
    differ = _multiset_hash(sources, fields).reindex(joined.index) != _multiset_hash(in_manifest, fields).reindex(joined.index)
    for key in joined.index[differ.to_numpy()]:
        mine = sorted(sources.loc[sources["key"] == key, fields].itertuples(index=False, name=None))
        theirs = sorted(in_manifest.loc[in_manifest["key"] == key, fields].itertuples(index=False, name=None))
        problems.append(Problem("manifest-sources", f"sources differ: json {mine[:3]}, manifest {theirs[:3]}; rebuild "
                                                    "the manifest", joined.at[key, "shard"], str(key)))


def _compare_stats(stats: Stats, table: pa.Table, side: _ShardSide, shard_files: Sequence[str],
                   problems: list[Problem]) -> None:
    """stats.json agrees with the manifest (pairs, written records) and its own accounting invariant."""
    per = {r["dataset"]: r for r in table.group_by("dataset").aggregate(
        [("key", "count"), ("source_id", "count_distinct")]).to_pylist()}
    datasets = stats["datasets"]
    if not datasets:
        problems.append(Problem("stats", "stats.json has no per-dataset entries (expected datasets: {name: {read, "
                                "written, pairs, filtered, rejected}}); rerun the build"))
        return
    for name in sorted(set(per) - set(datasets)):
        problems.append(Problem("stats", f"dataset {name!r} has {per[name]['key_count']} manifest rows but no stats.json entry"))
    for name, entry in sorted(datasets.items()):
        rows = per.get(name, {}).get("key_count", 0)
        records = per.get(name, {}).get("source_id_count_distinct", 0)
        if entry["pairs"] != rows:
            problems.append(Problem("stats", f"dataset {name!r}: stats.json pairs {entry['pairs']} != {rows} manifest rows"))
        if entry["written"] != records:
            problems.append(Problem("stats", f"dataset {name!r}: stats.json written {entry['written']} != {records} "
                                             "distinct source ids in the manifest"))
        if message := unaccounted(name, entry["read"], entry["written"], sum(entry["filtered"].values()),
                                  sum(entry["rejected"].values()), where=STATS_FILE):
            problems.append(Problem("stats", message))
    in_shards: dict[str, int] = {}
    for dataset in side.text_rows["dataset"]:
        in_shards[dataset] = in_shards.get(dataset, 0) + 1
    for name, entry in sorted(datasets.items()):
        if entry.get("pairs_in_shards", in_shards.get(name, 0)) != in_shards.get(name, 0):
            problems.append(Problem("stats", f"dataset {name!r}: stats.json pairs_in_shards {entry['pairs_in_shards']} "
                                             f"!= {in_shards.get(name, 0)} texts in the valid shard samples"))
    totals = stats["totals"]
    if totals:
        for what in DATASET_COUNTS:
            declared = totals.get(what)
            entries: list[Mapping[str, Any]] = list(datasets.values())
            summed = sum(e[what] for e in entries)
            if declared is not None and declared != summed:
                problems.append(Problem("stats", f"totals.{what} {declared} != {summed}, the sum over datasets"))
        for what, actual in (("samples", len(side.seen)), ("shards", len(shard_files))):
            declared = totals.get(what)
            if declared is not None and declared != actual:
                problems.append(Problem("stats", f"totals.{what} {declared} != {actual} {what} found in the shards"))
    files: dict[str, int] = {}
    for name in shard_files:
        m = SHARD_FILE.match(name)
        if m:
            files[m.group("split")] = files.get(m.group("split"), 0) + 1
    held: dict[str, int] = {}
    for split in side.sample_rows["split"]:
        held[split] = held.get(split, 0) + 1
    for split, counts in stats["splits"].items():
        if counts["samples"] != held.get(split, 0):
            problems.append(Problem("stats", f"split {split!r}: stats.json says {counts['samples']} samples, the shards hold "
                                             f"{held.get(split, 0)} valid samples"))
        if counts["shards"] != files.get(split, 0):
            problems.append(Problem("stats", f"split {split!r}: stats.json says {counts['shards']} shards, "
                                             f"{files.get(split, 0)} shard files exist"))


def validate_corpus(
    corpus: Corpus, progress: Callable[[str], None] | None = None, workers: int = 1, *,
    mode: str = "full", keep_images: bool = False,
) -> Validation:
    """Check a corpus: ``mode="full"`` reads every byte (``inspect --validate``), ``"quick"`` only tar
    headers, stats.json, the manifest's columns and the rejects logs (the check after a build).

    Quick mode (`quick_problems`) checks that every record read is accounted for: the invariant
    from the outputs, stats.json against them, the manifest against the shards' samples, each
    sample's members (``jpg`` too when `keep_images`). Full mode checks, in addition:

    Checks: tar integrity (not a tar, truncated, corrupt header, foreign members), each sample's
    tokens (uint16, 256 codes < 1,024) and JSON (schemas.validate_meta), duplicate keys within and
    across shards, sample split == shard split, manifest == shards (keys, shard, split, texts,
    sources per key), stats.json == manifest (per dataset pairs == rows, written == distinct source
    ids) and the accounting invariant. Every problem names its shard and key where it has them.
    `workers` > 1 scans shards in that many processes; the report is the same.
    """
    start = time.perf_counter()
    result = Validation(corpus.url)
    if mode == "quick":
        result.problems.extend(quick_problems(corpus, keep_images, result))
        result.seconds = time.perf_counter() - start
        return result
    if mode != "full":
        raise ValueError(f"mode={mode!r}: choose full or quick")
    problems = result.problems
    paths = corpus.shard_paths()
    if not paths:
        problems.append(Problem("shards", f"no shards/*.tar under {corpus.url}; the build wrote no samples"))
    side = _ShardSide()
    for i, scan in enumerate(_scan_all(corpus, paths, workers)):
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
            _compare_stats(stats, table, side, [shard_file(p) for p in paths], problems)
    result.seconds = time.perf_counter() - start
    return result


def _scan_all(corpus: Corpus, paths: Sequence[str], workers: int) -> Iterator[_ShardScan]:
    """Scans of `paths` in order, in this process or in a pool of `workers` processes."""
    if workers <= 1 or len(paths) <= 1:
        for path in paths:
            yield _scan_shard(corpus, path)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    spawn = multiprocessing.get_context("spawn")  # no fork of a process whose Arrow threads may hold locks
    with ProcessPoolExecutor(min(workers, len(paths)), mp_context=spawn) as pool:
        yield from pool.map(_scan_shard, [corpus] * len(paths), paths)


def format_validation(result: Validation, max_problems: int = 50) -> str:
    """The validation result as terminal text: verdict, throughput, problems by kind, the first ones."""
    head = (f"{'OK' if result.ok else 'FAILED'}: {result.shards} shards, {result.samples:,} samples, "
            f"{result.manifest_rows:,} manifest rows in {result.seconds:.2f} s ({result.samples_per_second:,.0f} samples/s)")
    if result.ok:
        return head
    kinds: dict[str, int] = {}
    for p in result.problems:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    lines = [head, f"{len(result.problems)} problem(s): " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))]
    lines += [f"  {p}" for p in result.problems[:max_problems]]
    if len(result.problems) > max_problems:
        lines.append(f"  ... {len(result.problems) - max_problems} more (--max-problems N, or --json for all)")
    return "\n".join(lines)



# -----------------------------------------------------------------------------
# Quick mode: headers, stats.json, manifest columns and rejects logs


def shard_members(corpus: Corpus, path: str) -> list[tuple[str, int]]:
    """Names and sizes of a shard's members, from its tar headers (no member data is read).

    The seam for per-shard indexes: when a shard has an index file beside it, read it here instead.
    """
    with open_stream(corpus, path) as f, tarfile.open(fileobj=f, mode="r:") as tar:
        return [(m.name, m.size) for m in tar.getmembers()]


def _distinct_per_dataset(manifest: pa.Table, column: str | None) -> Counter[str]:
    """Per dataset: manifest rows (`column` None), or distinct values of `column` (records, samples, shards)."""
    if column is None:
        counts = manifest.group_by("dataset").aggregate([("key", "count")])
        return Counter(dict(zip(counts.column("dataset").to_pylist(), counts.column("key_count").to_pylist(), strict=True)))
    pairs = manifest.group_by(["dataset", column]).aggregate([])
    return Counter(pairs.column("dataset").to_pylist())


def quick_problems(corpus: Corpus, keep_images: bool = False, result: Validation | None = None) -> list[Problem]:
    """The quick checks of a build's outputs against each other and the records read; [] when they add up."""
    stats, why = load_stats(corpus)
    if stats is None:
        return [Problem("stats", str(why))]
    problems: list[Problem] = []

    def add(message: str, shard: str | None = None, key: str | None = None) -> None:
        problems.append(Problem("accounting", message, shard, key))

    shard_keys: dict[str, list[str]] = {}
    for path in corpus.shard_paths():
        shard = shard_stem(path)
        fields: dict[str, set[str]] = defaultdict(set)
        order: list[str] = []
        for name, _size in shard_members(corpus, path):
            key, ext = split_member_name(name)
            if not order or order[-1] != key:
                order.append(key)
            fields[key].add(ext)
        want = set(SAMPLE_FIELDS) | ({"jpg"} if keep_images else set())
        broken = [k for k, have in fields.items() if not want <= have]
        if broken:
            add(f"shard {shard}: samples {broken[:3]} lack some of {sorted(want)}", shard, broken[0])
        if order != sorted(set(order)):
            add(f"shard {shard}: samples are not in sorted key order, or a sample is split", shard)
        shard_keys[shard] = order
    all_keys = [k for keys in shard_keys.values() for k in keys]
    if len(all_keys) != len(set(all_keys)):
        dupes = [k for k, n in Counter(all_keys).items() if n > 1]
        add(f"samples in more than one shard: {dupes[:3]}", key=dupes[0])

    parts = [p.rstrip("/").rsplit("/", 1)[-1].removesuffix(".parquet") for p in corpus.manifest_paths()]
    manifest = load_manifest(corpus) if parts else MANIFEST_SCHEMA.empty_table()
    if sorted(parts) != sorted(shard_keys):
        add(f"manifest parts {sorted(set(parts) ^ set(shard_keys))[:5]} do not match the shards")
    pairs = _distinct_per_dataset(manifest, None)
    written = _distinct_per_dataset(manifest, "source_id")
    held = manifest.group_by(["shard", "key"]).aggregate([])
    in_manifest = set(zip(held.column("shard").to_pylist(), held.column("key").to_pylist(), strict=True))
    in_shards = {(s, k) for s, keys in shard_keys.items() for k in keys}
    if in_manifest != in_shards:
        differ = sorted(in_manifest ^ in_shards)
        add(f"the manifest and the shards disagree on {len(differ)} samples (e.g. {differ[:2]})", *differ[0])

    rejected: dict[str, Counter[str]] = defaultdict(Counter)
    for path in sorted(corpus.fs.glob(corpus.path("rejects", "*.jsonl"))):
        with corpus.fs.open(path, "rb") as f:
            for line in f.read().decode("utf-8").splitlines():
                row = json.loads(line)
                rejected[row["dataset"]][row["reason"]] += 1

    for name in sorted(set(stats["datasets"]) | set(pairs) | set(rejected)):
        d = stats["datasets"].get(name)
        if d is None:
            add(f"dataset {name} has outputs but is not in stats.json")
            continue
        filtered = sum(d["filtered"].values())
        n_rejected = sum(rejected[name].values())
        if message := unaccounted(name, d["read"], written[name], filtered, n_rejected, where="the outputs"):
            add(message)
        for what, measured, claimed in (
            ("records written", written[name], d["written"]),
            ("pairs (manifest rows)", pairs[name], d["pairs"]),
            ("rejects", dict(rejected[name]), d["rejected"]),
        ):
            if measured != claimed:
                add(f"dataset {name}: stats.json says {what} {claimed}, the outputs hold {measured}")
    for split, v in stats["splits"].items():
        n_shards = sum(1 for s in shard_keys if shard_split(s) == split)
        n_samples = sum(len(k) for s, k in shard_keys.items() if shard_split(s) == split)
        if (n_shards, n_samples) != (v["shards"], v["samples"]):
            add(f"split {split}: stats.json says {v['shards']} shards / {v['samples']} samples, "
                f"the shard files hold {n_shards} / {n_samples}")
    if sum(v["shards"] for v in stats["splits"].values()) != len(shard_keys):
        add(f"{len(shard_keys)} shard files but stats.json counts {stats['totals']['shards']}")
    if result is not None:
        result.shards, result.samples, result.manifest_rows = len(shard_keys), len(all_keys), manifest.num_rows
    return problems
