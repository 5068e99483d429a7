"""The corpus validator: shards against schemas/, the manifest and stats.json; every problem names shard and key.

Two modes, one comparison of stats.json with what the outputs hold (`compare_stats`):

* quick (the check after every build, `pipeline.verify.verify_build`): reads the shard indexes
  (``shards/*.idx.json``), stats.json, the rejects logs and four columns of the manifest, one part
  at a time; never a shard's bytes, so what it reads does not grow with the shards.
* full (``talk2face inspect OUT --validate``, in parallel with ``--workers``): reads every byte,
  checks every sample, the manifest row by row, and each index against its tar.
"""

from __future__ import annotations

import io
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.inspect.corpus import Corpus, InspectError, load_manifest, load_stats, load_tokens, open_stream
from schemas.progress import track
from schemas.records import SPLITS
from schemas.sample import SampleError, TokenizerInfo, parse_meta_json, validate_meta, validate_tokens
from schemas.shard import (
    MEMBER_NAME,
    SHARD_FILE,
    HashingReader,
    ShardIndex,
    ShardIndexError,
    TarDamage,
    index_file,
    index_path,
    iter_members,
    shard_file,
    shard_split,
    shard_stem,
    split_member_name,
)
from schemas.stats import DATASET_COUNTS, STATS_FILE, Stats, unaccounted

MANIFEST_COLUMNS = ["key", "shard", "dataset", "source_id"]  # what the quick mode reads of the manifest

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



def _declared_tokenizer(got: Mapping[str, bytes]) -> TokenizerInfo | None:
    """The tokenizer a sample's JSON declares (its codes are checked against it); None if it declares none."""
    try:
        meta = json.loads(got.get("json", b""))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None  # reported by the JSON check
    if not isinstance(meta, dict) or "tokenizer" not in meta:
        return None
    return TokenizerInfo.from_meta(meta["tokenizer"], f"sample {meta.get('key', '?')}: tokenizer")


def _check_sample(key: str, shard: str, split: str | None, got: Mapping[str, bytes], problems: list[Problem]) -> dict | None:
    """Check one sample's members against schemas/; the parsed JSON when it is valid."""
    from PIL import Image

    ok = True
    if "tokens.npy" not in got:
        problems.append(Problem("tokens", "no tokens.npy member; rebuild this shard", shard, key))
        ok = False
    else:
        try:
            validate_tokens(load_tokens(got["tokens.npy"]), key, _declared_tokenizer(got))
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
            meta = parse_meta_json(got["json"], key)
            validate_meta(meta)
            if meta["key"] != key:
                raise SampleError(f"json says key {meta['key']!r}, the member names say {key!r}")
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
        except (OSError, ValueError, Image.DecompressionBombError) as err:
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
    members: list[tuple[str, int, int]] = []
    reader: HashingReader | None = None

    def finish() -> None:
        if current is not None and current not in closed:
            closed.add(current)
            scan.samples.append((current, _check_sample(current, shard, split, got, problems)))

    try:
        with open_stream(corpus, path) as stream:
            reader = HashingReader(stream)
            for member in iter_members(reader):
                members.append((member.name, member.offset, member.size))
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
        reader = None
    except OSError as err:
        problems.append(Problem("tar", f"cannot read the shard ({err})", shard))
        reader = None
    if reader is not None:
        _check_index(corpus, path, ShardIndex(reader.count, reader.sha256.hexdigest(), tuple(members)), problems)
    return scan


def _check_index(corpus: Corpus, path: str, actual: ShardIndex, problems: list[Problem]) -> None:
    """The shard's index file agrees with its tar as read: byte size, sha256, members (names, offsets, sizes)."""
    shard = shard_file(path)
    try:
        index = read_index(corpus, path)
    except (OSError, ShardIndexError) as err:
        problems.append(Problem("index", f"{err}", shard))
        return
    fix = f"rebuild this shard (its index {index_file(shard)} is written with it)"
    if (index.size, index.sha256) != (actual.size, actual.sha256):
        problems.append(Problem("index", f"index says {index.size} bytes, sha256 {index.sha256[:12]}..., the tar has "
                                         f"{actual.size} bytes, sha256 {actual.sha256[:12]}...; {fix}", shard))
    if index.members != actual.members:
        differ = sorted(set(index.members) ^ set(actual.members))
        key = split_member_name(differ[0][0])[0] if differ else None
        problems.append(Problem("index", f"index lists {len(index.members)} members, the tar holds "
                                         f"{len(actual.members)}; they differ on {differ[:2]}; {fix}", shard, key))


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
