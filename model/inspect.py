"""Look inside a built corpus: summary, samples, contact sheet, validation and an HTML report.

This is the library behind ``talk2face inspect OUT`` (the CLI is model/cli.py). ``OUT`` is a build's
output folder (DESIGN.md 3.5), a local path or any fsspec URL::

    OUT/shards/<split>-NNNNNN.tar   WebDataset shards: <key>.tokens.npy, <key>.json, optional <key>.jpg
    OUT/manifest/*.parquet          one row per (sample, text), schemas.MANIFEST_SCHEMA
    OUT/stats.json                  per dataset: read, written, pairs, filtered and rejected by reason

* `summarize` reads the manifest and stats.json only (Arrow and numpy, no loop over rows), plus, for
  codebook usage, the codes of the build's token cache (``OUT/cache/<fingerprint>/``) when there is one,
  else the ``tokens.npy`` members of a sample of shards (`max_shards`, default 4, 0 = all).
* `find_samples` / `format_samples` filter the manifest with pyarrow and show whole samples.
* `contact_sheet` draws faces with their texts beneath: the stored JPEG, or the tokens decoded by a
  VQGAN decoder the caller passes.
* `validate_corpus` streams every shard (tarfile stream mode, nothing extracted to paths) and checks
  it against schemas/, the manifest and stats.json; every problem names its shard and key.
* `render_report` writes one self-contained HTML page (inline CSS, inline SVG, base64 PNG).

Bad input (no manifest, a damaged shard, a missing stats.json) is reported as data or as an
`InspectError` that says what to do, never as a traceback.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import re
import tarfile
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.manifest import read_manifest
from schemas.records import SPLITS
from schemas.sample import CODEBOOK_SIZE, TOKENS_PER_IMAGE, SampleError, validate_meta, validate_tokens

TEXT_BUDGET = 64  # the trainer's default text budget (model.trainer.TrainConfig.text_budget)
DEFAULT_MAX_SHARDS = 4  # shards (or that share of the token cache) read for codebook usage; 0 = all
SHARD_NAME = re.compile(r"^(?P<split>[a-z]+)-(?P<index>\d{6})\.tar$")
MEMBER_NAME = re.compile(r"^(?P<key>[0-9a-f]{32})\.(?P<ext>tokens\.npy|json|jpg)$")

Decoder = Callable[[np.ndarray], np.ndarray]  # codes uint16 (B, 256) -> pixels uint8 (B, 256, 256, 3)


class InspectError(Exception):
    """A corpus that cannot be inspected as asked; the message says what to do."""


# -----------------------------------------------------------------------------
# Where a corpus lives


@dataclass(frozen=True)
class Corpus:
    """A build's output folder on any fsspec filesystem: its shards, manifest and stats.json."""

    url: str
    fs: Any
    root: str

    def path(self, *parts: str) -> str:
        """The path of a file under the corpus root, for `self.fs`."""
        return "/".join([self.root.rstrip("/"), *parts])

    @property
    def is_local(self) -> bool:
        protocol = self.fs.protocol
        return "file" in (protocol if isinstance(protocol, tuple) else (protocol,))

    def shard_paths(self) -> list[str]:
        """Every ``shards/*.tar`` file, sorted by name."""
        return sorted(self.fs.glob(self.path("shards", "*.tar")))

    def manifest_paths(self) -> list[str]:
        """Every ``manifest/*.parquet`` file, sorted by name."""
        return sorted(self.fs.glob(self.path("manifest", "*.parquet")))


def open_corpus(out: str) -> Corpus:
    """Open a build's output folder (a local path or an fsspec URL such as ``gs://bucket/out``)."""
    import fsspec

    try:
        fs, root = fsspec.core.url_to_fs(str(out))
    except (ImportError, ValueError) as err:
        raise InspectError(f"{out}: cannot open this location ({err}); install the fsspec extra it needs") from err
    if not fs.isdir(root):
        raise InspectError(
            f"{out}: no such folder; pass the OUT folder a build wrote (it holds shards/, manifest/ and stats.json)"
        )
    return Corpus(str(out), fs, root)


def shard_name(path: str) -> str:
    """The file name of a shard path or URL (``train-000000.tar``)."""
    return path.rstrip("/").rsplit("/", 1)[-1]


def shard_file(shard: str) -> str:
    """The file name of the shard a manifest ``shard`` value names: ``train-000012`` -> ``train-000012.tar``."""
    name = shard_name(shard)
    return name if name.endswith(".tar") else f"{name}.tar"


def load_manifest(corpus: Corpus) -> pa.Table:
    """The corpus manifest as one Arrow table; raises InspectError naming the bad file."""
    paths = corpus.manifest_paths()
    if not paths:
        raise InspectError(
            f"{corpus.url}: no manifest/*.parquet; this is not a finished build (rerun beam_runner.py to write it)"
        )
    filesystem = None if corpus.is_local else corpus.fs
    try:
        return read_manifest(paths, filesystem=filesystem)
    except (pa.ArrowException, OSError, ValueError) as whole:
        for path in paths:  # name the file that breaks the schema
            try:
                read_manifest(path, filesystem=filesystem)
            except (pa.ArrowException, OSError, ValueError) as err:
                raise InspectError(
                    f"{path}: not a manifest of schemas.MANIFEST_SCHEMA ({err}); rebuild the manifest"
                ) from err
        raise InspectError(f"{corpus.url}: manifest files do not read together ({whole})") from whole


def load_stats(corpus: Corpus) -> tuple[dict[str, Any] | None, str | None]:
    """stats.json as a dict, or ``(None, why)`` when it is missing or unreadable."""
    path = corpus.path("stats.json")
    if not corpus.fs.exists(path):
        return None, f"{path} is missing; the build did not finish (rerun beam_runner.py over the same inputs)"
    try:
        with corpus.fs.open(path, "rb") as f:
            stats = json.loads(f.read())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, f"{path} is not readable JSON ({err}); rerun the build to rewrite it"
    if not isinstance(stats, dict):
        return None, f"{path} holds a {type(stats).__name__}, expected an object"
    return stats, None


# -----------------------------------------------------------------------------
# Reading stats.json defensively (the keys we rely on are listed here, and only here)

STATS_COUNTS = ("read", "written", "pairs")
STATS_REASONS = ("filtered", "rejected")
STATS_OPTIONAL = ("moved_to_held_out_split", "pairs_in_shards")  # None when a build does not write them
STATS_NOT_DATASETS = {"totals", "total", "splits", "split_conflicts", "datasets", "samples", "shards"}


def stats_datasets(stats: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per-dataset entries of stats.json: ``stats["datasets"][name]``, or top-level dataset objects.

    Each entry comes back with ``read``/``written``/``pairs`` (and ``moved_to_held_out_split``,
    ``pairs_in_shards``) as int or None and ``filtered``/``rejected`` as ``{reason: n}`` (a bare number
    becomes ``{"(all)": n}``).
    """
    if not stats:
        return {}
    nested = stats.get("datasets")
    block: Mapping[str, Any] = nested if isinstance(nested, Mapping) else stats
    out: dict[str, dict[str, Any]] = {}
    for name, entry in block.items():
        if name in STATS_NOT_DATASETS or not isinstance(entry, Mapping):
            continue
        if not set(STATS_COUNTS + STATS_REASONS) & set(entry):
            continue
        row: dict[str, Any] = {k: _as_int(entry.get(k)) for k in STATS_COUNTS + STATS_OPTIONAL}
        for k in STATS_REASONS:
            row[k] = _reasons(entry.get(k))
        out[str(name)] = row
    return dict(sorted(out.items()))


def stats_split_conflicts(stats: Mapping[str, Any] | None) -> Any:
    """The split-conflict count or table of stats.json (``split_conflicts``), None when absent."""
    if not stats:
        return None
    for name in ("split_conflicts", "split conflicts", "conflicts"):
        if name in stats:
            return stats[name]
    totals = stats.get("totals")
    if isinstance(totals, Mapping) and "split_conflicts" in totals:
        return totals["split_conflicts"]
    return None


def stats_splits(stats: Mapping[str, Any] | None) -> dict[str, dict[str, int | None]]:
    """Samples and shards per split from stats.json: ``splits: {split: {samples, shards}}`` or
    ``samples: {split: n}`` / ``shards: {split: n}``; {} when absent."""
    if not stats:
        return {}
    out: dict[str, dict[str, int | None]] = {}
    splits = stats.get("splits")
    if isinstance(splits, Mapping):
        for split, entry in splits.items():
            if isinstance(entry, Mapping):
                out[str(split)] = {"samples": _as_int(entry.get("samples")), "shards": _as_int(entry.get("shards"))}
    for what in ("samples", "shards"):
        per = stats.get(what)
        if isinstance(per, Mapping):
            for split, n in per.items():
                out.setdefault(str(split), {"samples": None, "shards": None})[what] = _as_int(n)
    return out


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _reasons(value: Any) -> dict[str, int]:
    if isinstance(value, Mapping):
        return {str(k): n for k, v in sorted(value.items()) if (n := _as_int(v)) is not None}
    n = _as_int(value)
    return {"(all)": n} if n else {}


# -----------------------------------------------------------------------------
# Reading shards as streams


class TarDamage(Exception):
    """A shard that stops being a readable tar: truncated, not a tar, a corrupt header."""

    def __init__(self, message: str, member: str | None = None):
        super().__init__(message)
        self.member = member


class _CountingReader:
    """A read-only stream wrapper that counts the bytes read through it."""

    def __init__(self, stream: Any):
        self._stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.count += len(data)
        return bytes(data)


@dataclass(frozen=True)
class Member:
    """One tar member as read from a stream: its name, type and (for regular files) its bytes."""

    name: str
    is_file: bool
    data: bytes | None


def iter_members(stream: Any, want: Callable[[str], bool] = lambda name: True) -> Iterator[Member]:
    """The members of an uncompressed tar read as a stream, never extracted to paths.

    `want(name)` says which regular files to read (others are skipped, `data` None). Raises TarDamage
    when the stream is not a tar, a header is corrupt, data ends early or the end-of-archive marker
    (two zero blocks) is missing, which is how a tar cut at a member boundary shows.
    """
    counter = _CountingReader(stream)
    last: str | None = None
    try:
        with tarfile.open(fileobj=counter, mode="r|") as tar:  # type: ignore[call-overload]
            for info in tar:
                last = info.name
                data = None
                if info.isfile() and want(info.name):
                    extracted = tar.extractfile(info)
                    data = extracted.read() if extracted is not None else b""
                yield Member(info.name, info.isfile(), data)
            end = tar.offset
    except tarfile.ReadError as err:
        if last is None:
            raise TarDamage(f"not an uncompressed tar archive ({err})") from err
        raise TarDamage(f"damaged after member {last!r} ({err}): the file is truncated or corrupt", last) from err
    except (EOFError, OSError, tarfile.TarError) as err:
        raise TarDamage(f"unreadable after member {last!r} ({err})", last) from err
    while counter.read(1 << 20):
        pass
    if counter.count < end + 2 * tarfile.BLOCKSIZE:
        where = f"after member {last!r}" if last else "before any member"
        raise TarDamage(f"ends {where} without the end-of-archive marker: the file is truncated", last)


def _open_stream(corpus: Corpus, path: str) -> Any:
    return corpus.fs.open(path, "rb", block_size=1 << 22) if not corpus.is_local else open(path, "rb")


# -----------------------------------------------------------------------------
# Text lengths in WordPiece tokens


_TEXTS_PER_THREAD = 50_000  # distinct texts below which a thread more does not pay


class _TokenCounter:
    """WordPiece token counts per text, tokenizing each distinct white-space-separated word once."""

    def __init__(self, tokenizer: Any = None):
        self.name, self._encode_batch = _load_text_tokenizer(tokenizer)

    def count(self, texts: pa.ChunkedArray | pa.Array) -> np.ndarray:
        """Tokens per text (int64), equal to ``len(encode(text))``: BERT splits on white space before
        anything else, so a text's count is the sum of its space-separated words' counts.

        Distinct texts are split and their words deduplicated in threads (Arrow releases the GIL);
        each distinct word is tokenized once.
        """
        from concurrent.futures import ThreadPoolExecutor

        arr = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
        if len(arr) == 0:
            return np.zeros(0, dtype=np.int64)
        encoded = arr.dictionary_encode()
        distinct, index = encoded.dictionary, encoded.indices.to_numpy(zero_copy_only=False)
        threads = max(1, min(8, os.cpu_count() or 1, len(distinct) // _TEXTS_PER_THREAD))
        bounds = np.linspace(0, len(distinct), threads + 1).astype(int)

        def words_of(i: int) -> tuple[np.ndarray, pa.Array, np.ndarray]:
            words = pc.split_pattern(distinct.slice(bounds[i], bounds[i + 1] - bounds[i]), " ")
            offsets = words.offsets.to_numpy() - words.offsets[0].as_py()
            vocab = pc.list_flatten(words).dictionary_encode()  # any white space would do: the tokenizer splits the rest
            return offsets, vocab.dictionary, vocab.indices.to_numpy(zero_copy_only=False)

        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(words_of, range(threads)))
            vocab = pc.unique(pa.concat_arrays([p[1] for p in parts]))
            pieces = np.array([len(ids) for ids in self._encode_batch(vocab.to_pylist())], dtype=np.int32)

            def lengths_of(part: tuple[np.ndarray, pa.Array, np.ndarray]) -> np.ndarray:
                offsets, words, indices = part  # every text splits into at least one (maybe empty) word
                per_word = pieces[pc.index_in(words, value_set=vocab).to_numpy(zero_copy_only=False)][indices]
                return np.add.reduceat(per_word, offsets[:-1]) if len(per_word) else np.zeros(0, np.int32)

            per_distinct = np.concatenate(list(pool.map(lengths_of, parts)))
        return np.asarray(per_distinct[index], dtype=np.int64)


def _load_text_tokenizer(tokenizer: Any) -> tuple[str, Callable[[list[str]], list[list[int]]]]:
    """The trainer's text tokenizer (model.text_tokenizer, as model.data loads it) or BERT WordPiece."""
    if tokenizer is None:
        import importlib.util

        if importlib.util.find_spec("model.tokenizers.text") is not None:
            from model.tokenizers.text import TextTokenizer

            try:
                tokenizer = TextTokenizer(digits=False)  # what model.data.load_text_tokenizer uses
            except TypeError:
                tokenizer = TextTokenizer()
    if tokenizer is not None:
        batch = getattr(tokenizer, "encode_batch", None)
        if batch is None:
            return type(tokenizer).__name__, lambda texts: [tokenizer.encode(t) for t in texts]
        return type(tokenizer).__name__, lambda texts: [list(ids) for ids in batch(texts)]
    from pathlib import Path

    from tokenizers import BertWordPieceTokenizer

    vocab = Path(__file__).parent / "assets" / "bert-base-uncased-vocab.txt"
    wordpiece = BertWordPieceTokenizer(str(vocab), lowercase=True)
    return "bert-base-uncased WordPiece", lambda texts: [
        e.ids for e in wordpiece.encode_batch(texts, add_special_tokens=False)
    ]


def _length_stats(lengths: np.ndarray, budget: int) -> dict[str, Any]:
    if len(lengths) == 0:
        return {"texts": 0, "mean": 0.0, "p50": 0, "p90": 0, "p99": 0, "max": 0, "over_budget": 0, "over_budget_pct": 0.0}
    p50, p90, p99 = np.percentile(lengths, [50, 90, 99])
    over = int((lengths > budget).sum())
    return {
        "texts": int(len(lengths)),
        "mean": round(float(lengths.mean()), 2),
        "p50": int(math.ceil(p50)),
        "p90": int(math.ceil(p90)),
        "p99": int(math.ceil(p99)),
        "max": int(lengths.max()),
        "over_budget": over,
        "over_budget_pct": round(100.0 * over / len(lengths), 2),
    }


def text_lengths(table: pa.Table, budget: int = TEXT_BUDGET, tokenizer: Any = None) -> dict[str, Any]:
    """Text lengths in WordPiece tokens per kind and per dataset: percentiles, and texts over `budget`."""
    counter = _TokenCounter(tokenizer)
    lengths = counter.count(table["text"])
    cap = 2 * budget
    out: dict[str, Any] = {"tokenizer": counter.name, "budget": budget, "by_kind": [], "by_dataset": [], "histogram": {}}
    for column, target in (("kind", "by_kind"), ("dataset", "by_dataset")):
        groups = table[column].combine_chunks().dictionary_encode()
        codes = groups.indices.to_numpy(zero_copy_only=False)
        for i, name in sorted(enumerate(groups.dictionary.to_pylist()), key=lambda item: item[1]):
            mine = lengths[codes == i]
            out[target].append({column: name, **_length_stats(mine, budget)})
            if column == "kind":  # counts per length 0..cap, the last bin holding everything longer
                out["histogram"][name] = np.bincount(np.minimum(mine, cap), minlength=cap + 1).tolist()
    out["all"] = _length_stats(lengths, budget)
    return out


# -----------------------------------------------------------------------------
# Label distributions


def label_distributions(table: pa.Table, top: int = 10, codes: _Codes | None = None) -> dict[str, dict[str, Any]]:
    """Value distributions of each dataset's labels (the manifest's labels JSON), counted in records.

    Booleans count true/false; numbers with few distinct values count each value, others fall in
    about ten equal buckets of a round width (ages 0-9, 10-19, ...); strings keep the `top` most
    common values and sum the rest as ``(other)``. A record without the key counts as ``(missing)``.
    Each distinct labels document of a dataset is parsed once.
    """
    codes = codes if codes is not None else _codes(table)
    if not len(codes.key):
        return {}
    doc, docs = _encode(table["labels"])
    per_record = np.zeros(codes.sizes["record"], dtype=np.int64)  # a record's rows share its labels
    per_record[codes.record] = codes.dataset * len(docs) + doc
    pair, counts = np.unique(per_record, return_counts=True)
    out: dict[str, dict[str, Any]] = {}
    for d, name in sorted(enumerate(codes.names["dataset"]), key=lambda item: item[1]):
        mine = (pair // len(docs)) == d
        if not mine.any():
            continue
        texts = [text or "{}" for text in docs.take(pa.array(pair[mine] % len(docs))).to_pylist()]
        weights = counts[mine]
        columns = _parse_label_docs(texts, name)
        total = int(weights.sum())
        out[name] = {key: _distribution(values, weights, total, top) for key, values in sorted(columns.items())}
    return out


def _parse_label_docs(docs: list[str], dataset: str) -> dict[str, pa.Array]:
    """Label JSON documents -> {key: Arrow array of values, null where absent}, via Arrow's JSON reader."""
    import pyarrow.json as paj

    try:
        parsed = paj.read_json(io.BytesIO("\n".join(docs).encode("utf-8")))
        if parsed.num_rows != len(docs):
            raise ValueError("row count differs")
        if parsed.num_columns == 1 and parsed.column_names[0] == dataset and pa.types.is_struct(parsed.schema[0].type):
            struct = parsed.column(0).combine_chunks()
            return {struct.type.field(i).name: struct.field(i) for i in range(struct.type.num_fields)}
        return {name: parsed[name].combine_chunks() for name in parsed.column_names}
    except (pa.ArrowException, ValueError):  # mixed types under one key, or odd documents: parse in Python
        columns: dict[str, list[Any]] = {}
        for i, doc in enumerate(docs):
            try:
                value = json.loads(doc)
            except json.JSONDecodeError:
                value = {"(unreadable labels)": doc[:40]}
            if isinstance(value, dict) and list(value) == [dataset] and isinstance(value[dataset], dict):
                value = value[dataset]
            if not isinstance(value, dict):
                value = {"(not an object)": str(value)[:40]}
            for key, v in value.items():
                columns.setdefault(str(key), [None] * len(docs))[i] = v
        out = {}
        for key, values in columns.items():
            try:
                out[key] = pa.array(values)
            except (pa.ArrowException, TypeError):  # e.g. numbers and strings under one key: count as strings
                out[key] = pa.array([v if v is None or isinstance(v, str) else json.dumps(v) for v in values], pa.string())
        return out


def _distribution(column: pa.Array, weights: np.ndarray, total: int, top: int) -> dict[str, Any]:
    valid = pc.is_valid(column).to_numpy(zero_copy_only=False)
    present, w = column.filter(pa.array(valid)), weights[valid]
    missing = total - int(w.sum())
    entry: dict[str, Any] = {"type": "string", "records": total - missing, "missing": missing}
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        numbers = present.to_numpy(zero_copy_only=False).astype(np.float64)
        distinct = np.unique(numbers)
        integer = bool(np.all(np.mod(distinct, 1) == 0))
        entry["type"] = "int" if integer else "float"
        entry["distinct"] = int(len(distinct))
        pairs = _bucket_numbers(numbers, w, distinct, integer) if len(numbers) else []
        if len(numbers):
            entry["min"], entry["max"] = _plain(distinct[0], integer), _plain(distinct[-1], integer)
    else:
        if pa.types.is_boolean(kind):
            entry["type"] = "bool"
        elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):  # lists, objects: count their JSON
            present = pa.array([json.dumps(v, sort_keys=True) for v in present.to_pylist()], pa.string())
        grouped = pa.table({"v": present, "w": pa.array(w, pa.int64())}).group_by("v").aggregate([("w", "sum")])
        values = grouped["v"].to_pylist()
        sums = grouped["w_sum"].to_pylist()
        pairs = [[str(v).lower() if isinstance(v, bool) else v, int(n)] for v, n in zip(values, sums)]
        pairs.sort(key=(lambda p: p[0]) if entry["type"] == "bool" else (lambda p: (-p[1], p[0])))
        entry["distinct"] = len(pairs)
        if len(pairs) > top:
            entry["other"] = int(sum(n for _, n in pairs[top:]))
            pairs = pairs[:top]
    entry["values"] = pairs
    return entry


def _plain(x: float, integer: bool) -> int | float:
    return int(x) if integer else round(float(x), 4)


def _bucket_numbers(
    numbers: np.ndarray, weights: np.ndarray, distinct: np.ndarray, integer: bool, bins: int = 10
) -> list[list[Any]]:
    """[label, count] per value when there are at most 12 values, else per bucket of a round width."""
    if len(distinct) <= 12:
        return [[str(int(v)) if integer else f"{v:.2f}", int(weights[numbers == v].sum())] for v in distinct]
    lo, hi = float(distinct[0]), float(distinct[-1])
    raw = (hi - lo) / bins
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    if integer:
        step = max(1, round(step))
    start = math.floor(lo / step) * step
    count = int((hi - start) // step) + 1
    which = np.clip(np.floor((numbers - start) / step).astype(np.int64), 0, count - 1)
    sums = np.bincount(which, weights=weights, minlength=count)
    out = []
    for i in range(count):
        a, b = start + i * step, start + (i + 1) * step
        label = f"{int(a)}-{int(b) - 1}" if integer else f"{round(a, 10):g} to {round(b, 10):g}"
        out.append([label, int(sums[i])])
    return out


# -----------------------------------------------------------------------------
# Codebook usage


CACHE_ROW = np.dtype([("key", "U32"), ("tokens", np.uint16, (TOKENS_PER_IMAGE,))])  # a token-cache segment row


def _evenly(items: Sequence[Any], n: int) -> list[Any]:
    """`n` items evenly spread over `items` (first and last included); all of them when n is 0 or enough."""
    if not n or len(items) <= n:
        return list(items)
    return [items[i] for i in sorted({int(round(x)) for x in np.linspace(0, len(items) - 1, n)})]


def find_token_cache(corpus: Corpus, stats: Mapping[str, Any] | None, url: str | None = None) -> str | None:
    """The token-cache folder holding the corpus's codes, or None.

    The pipeline caches codes under ``<cache>/<tokenizer fingerprint>/<bucket>/<segment>.npy`` (``<cache>``
    defaults to ``OUT/cache``); the fingerprint is the one stats.json's ``tokens.fingerprints`` counts
    most samples for, or the cache's only one.
    """
    fs, root = (corpus.fs, corpus.path("cache")) if url is None else _url_to_fs(url)
    if not fs.isdir(root):
        return None
    tokens = stats.get("tokens") if stats else None
    fingerprints = tokens.get("fingerprints") if isinstance(tokens, Mapping) else None
    if isinstance(fingerprints, Mapping) and fingerprints:
        best = max(fingerprints, key=lambda f: (_as_int(fingerprints[f]) or 0, f))
        folder = f"{root.rstrip('/')}/{best}"
        return str(fs.unstrip_protocol(folder)) if fs.isdir(folder) else None
    found = [p for p in fs.ls(root, detail=False) if fs.isdir(p)]
    return str(fs.unstrip_protocol(found[0])) if len(found) == 1 else None


def _url_to_fs(url: str) -> tuple[Any, str]:
    import fsspec

    return fsspec.core.url_to_fs(url)


def codebook_usage(
    corpus: Corpus,
    max_shards: int = DEFAULT_MAX_SHARDS,
    *,
    cache: str | None = None,
    keys: pa.Array | pa.ChunkedArray | None = None,
) -> dict[str, Any]:
    """How many of the 1,024 codes the image tokens use, and their entropy.

    From the token cache folder `cache` when given (only the codes of `keys`, the corpus's sample keys,
    each once), else from the shards' tokens.npy members. Reads everything when `max_shards` is 0;
    else `max_shards` shards evenly spaced over the sorted shard list, or the same share of the
    cache's buckets (a deterministic sample). Damaged shards and bad arrays are counted and skipped.
    """
    paths = corpus.shard_paths()
    counts = np.zeros(CODEBOOK_SIZE, dtype=np.int64)
    out: dict[str, Any] = {"source": "shards", "shards_total": len(paths), "samples": 0, "bad_samples": 0,
                           "damaged_shards": []}
    if cache is not None:
        fs, root = _url_to_fs(cache)
        buckets = sorted(p for p in fs.ls(root, detail=False) if fs.isdir(p))
        share = max_shards / len(paths) if max_shards and len(paths) > max_shards else 1.0
        chosen = _evenly(buckets, math.ceil(share * len(buckets)) if share < 1 else 0)
        wanted = pc.unique(keys) if keys is not None else None
        seen: set[str] = set()
        for bucket in chosen:
            for segment in sorted(fs.glob(f"{bucket}/*.npy")):
                try:
                    with fs.open(segment, "rb") as f:
                        rows = np.load(io.BytesIO(f.read()), allow_pickle=False)
                    if rows.dtype != CACHE_ROW:
                        raise ValueError(f"dtype {rows.dtype}, expected {CACHE_ROW}")
                except (OSError, ValueError, EOFError) as err:
                    out["damaged_shards"].append(f"cache segment {segment}: {err}")
                    continue
                keep = np.arange(len(rows))
                if wanted is not None:  # only the corpus's faces: a cache may hold those of other builds
                    keep = np.flatnonzero(pc.is_in(pa.array(rows["key"]), value_set=wanted).to_numpy(
                        zero_copy_only=False))
                fresh = []
                for i, name in zip(keep.tolist(), rows["key"][keep].tolist()):
                    if name not in seen:  # a face cached by two builds counts once
                        seen.add(name)
                        fresh.append(i)
                tokens = rows["tokens"][fresh]
                bad = tokens.max(axis=1, initial=0) >= CODEBOOK_SIZE
                out["bad_samples"] += int(bad.sum())
                counts += np.bincount(tokens[~bad].reshape(-1), minlength=CODEBOOK_SIZE)
                out["samples"] += int((~bad).sum())
        out.update(source=f"token cache {cache}", buckets_read=len(chosen), buckets_total=len(buckets),
                   shards_read=0)
    else:
        chosen = _evenly(paths, max_shards)
        batch: list[np.ndarray] = []
        for path in chosen:
            try:
                with _open_stream(corpus, path) as stream:
                    for member in iter_members(stream, lambda name: name.endswith(".tokens.npy")):
                        if member.data is None:
                            continue
                        try:
                            tokens = _load_tokens(member.data)
                            validate_tokens(tokens, member.name)
                        except (SampleError, ValueError, OSError, EOFError):
                            out["bad_samples"] += 1
                            continue
                        batch.append(tokens)
                        out["samples"] += 1
                        if len(batch) >= 4096:
                            counts += np.bincount(np.concatenate(batch), minlength=CODEBOOK_SIZE)
                            batch = []
            except (TarDamage, OSError) as err:
                out["damaged_shards"].append(f"{shard_name(path)}: {err}")
        if batch:
            counts += np.bincount(np.concatenate(batch), minlength=CODEBOOK_SIZE)
        out["shards_read"] = len(chosen)
    total = int(counts.sum())
    p = counts[counts > 0] / total if total else np.zeros(0)
    entropy = float(-(p * np.log2(p)).sum()) if total else 0.0
    order = np.argsort(-counts, kind="stable")
    out.update({
        "codebook_size": CODEBOOK_SIZE,
        "used": int((counts > 0).sum()),
        "entropy_bits": round(entropy, 3),
        "max_entropy_bits": round(math.log2(CODEBOOK_SIZE), 3),
        "perplexity": round(2.0**entropy, 1) if total else 0.0,
        "top": [[int(c), int(counts[c])] for c in order[:10] if counts[c] > 0],
        "top10_share_pct": round(100.0 * counts[order[:10]].sum() / total, 2) if total else 0.0,
        "counts": counts.tolist(),
    })
    return out


# -----------------------------------------------------------------------------
# Summary


@dataclass(frozen=True)
class _Codes:
    """Dense integer codes of the manifest's grouping columns, one per row (each string column hashed once).

    A record is (dataset, source_id): source ids are unique within a dataset only.
    """

    key: np.ndarray
    record: np.ndarray
    shard: np.ndarray
    split: np.ndarray
    dataset: np.ndarray
    kind: np.ndarray
    sizes: dict[str, int]  # distinct values per column
    names: dict[str, list[str]]  # the values of split, dataset and kind, by code


def _encode(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    encoded = column.combine_chunks().dictionary_encode()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary


def _codes(table: pa.Table) -> _Codes:
    """The `_Codes` of a manifest table."""
    columns = {name: _encode(table[name]) for name in ("key", "shard", "split", "dataset", "kind", "source_id")}
    dataset, source = columns["dataset"][0], columns["source_id"][0]
    record = np.unique(dataset * max(1, len(columns["source_id"][1])) + source, return_inverse=True)[1].reshape(-1)
    sizes = {name: len(values) for name, (_, values) in columns.items()}
    sizes["record"] = int(record.max()) + 1 if len(record) else 0
    return _Codes(
        key=columns["key"][0], record=record, shard=columns["shard"][0], split=columns["split"][0],
        dataset=dataset, kind=columns["kind"][0], sizes=sizes,
        names={name: columns[name][1].to_pylist() for name in ("split", "dataset", "kind")},
    )


def _distinct_per_group(group: np.ndarray, groups: int, item: np.ndarray, items: int) -> np.ndarray:
    """How many distinct items each group holds: a dense (item, group) table when small, else a sort."""
    if items * groups <= 100_000_000:
        seen = np.zeros((items, groups), dtype=bool)
        seen[item, group] = True
        return np.asarray(seen.sum(axis=0))
    pairs = np.unique(item * groups + group)
    return np.bincount(pairs % groups, minlength=groups)


def _group(codes: _Codes, by: list[str]) -> list[dict[str, Any]]:
    """Pairs, samples, records and shards per value of the `by` columns (split, dataset, kind), in order."""
    group = np.zeros(len(codes.key), dtype=np.int64)
    groups = 1
    for name in by:
        group = group * codes.sizes[name] + getattr(codes, name)
        groups *= codes.sizes[name]
    pairs = np.bincount(group, minlength=groups)
    counted = {what: _distinct_per_group(group, groups, getattr(codes, what), codes.sizes[what])
               for what in ("key", "record", "shard")}
    rows = []
    for g in np.flatnonzero(pairs):
        values, rest = {}, int(g)
        for name in reversed(by):
            values[name] = codes.names[name][rest % codes.sizes[name]]
            rest //= codes.sizes[name]
        rows.append({**{name: values[name] for name in by}, "pairs": int(pairs[g]), "samples": int(counted["key"][g]),
                     "records": int(counted["record"][g]), "shards": int(counted["shard"][g])})
    return sorted(rows, key=lambda r: [_split_order(r[b]) if b == "split" else r[b] for b in by])


def _codebook(corpus: Corpus, stats: Mapping[str, Any] | None, max_shards: int, tokens: str,
              token_cache: str | None, keys: pa.ChunkedArray) -> dict[str, Any] | None:
    if max_shards < 0:
        return None
    cache = find_token_cache(corpus, stats, token_cache) if tokens in ("auto", "cache") else None
    if cache is None and tokens == "cache":
        where = token_cache or corpus.path("cache")
        raise InspectError(f"no token cache of this corpus's tokenizer under {where}; pass --token-cache URL "
                           "or read the shards (--tokens shards)")
    return codebook_usage(corpus, max_shards, cache=cache, keys=keys)


def _run_concurrently(jobs: Mapping[str, Callable[[], Any]], timings: dict[str, float]) -> dict[str, Any]:
    """Run independent jobs in threads; their results by name, and each one's wall time in `timings`."""
    from concurrent.futures import ThreadPoolExecutor

    def timed(name: str) -> Any:
        start = time.perf_counter()
        try:
            return jobs[name]()
        finally:
            timings[name] = time.perf_counter() - start

    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = {name: pool.submit(timed, name) for name in jobs}
        return {name: future.result() for name, future in futures.items()}


def _split_order(split: str) -> Any:
    return (SPLITS.index(split), split) if split in SPLITS else (len(SPLITS), split)


def summarize(
    corpus: Corpus,
    *,
    budget: int = TEXT_BUDGET,
    top: int = 10,
    max_shards: int = DEFAULT_MAX_SHARDS,
    tokenizer: Any = None,
    table: pa.Table | None = None,
    tokens: str = "auto",
    token_cache: str | None = None,
) -> dict[str, Any]:
    """The corpus summary as a JSON-ready dict: splits, datasets, stats, text lengths, labels, codebook.

    Everything but the codebook comes from the manifest and stats.json. Codebook usage reads codes from
    the token cache (`tokens` "cache"; `token_cache` or OUT/cache) or the shards ("shards"); "auto"
    takes the cache when there is one. `max_shards` bounds what it reads (0 = all, negative = skip).
    """
    if tokens not in ("auto", "cache", "shards"):
        raise InspectError(f"tokens={tokens!r}: choose auto, cache or shards")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if table is None:
        table = load_manifest(corpus)
    timings["manifest"] = time.perf_counter() - t0
    stats, stats_error = load_stats(corpus)
    t = time.perf_counter()
    codes = _codes(table)
    timings["encode"] = time.perf_counter() - t

    def counts() -> dict[str, Any]:
        shard_files: dict[str, int] = {}
        for path in corpus.shard_paths():
            match = SHARD_NAME.match(shard_name(path))
            split = match.group("split") if match else "(unnamed)"
            shard_files[split] = shard_files.get(split, 0) + 1
        from_stats = stats_splits(stats)
        splits = _group(codes, ["split"])
        for row in splits:
            row["shard_files"] = shard_files.get(row["split"], 0)
            row["stats_samples"] = from_stats.get(row["split"], {}).get("samples")
        for split, n in shard_files.items():
            if split not in {r["split"] for r in splits}:
                splits.append({"split": split, "pairs": 0, "samples": 0, "records": 0, "shards": 0, "shard_files": n})
        return {
            "samples": codes.sizes["key"],
            "splits": splits,
            "datasets": _group(codes, ["dataset", "kind"]),
        }

    jobs: dict[str, Callable[[], Any]] = {
        "counts": counts,
        "text_tokens": lambda: text_lengths(table, budget, tokenizer),
        "labels": lambda: label_distributions(table, top, codes),
        "codebook": lambda: _codebook(corpus, stats, max_shards, tokens, token_cache, table["key"]),
    }
    results = _run_concurrently(jobs, timings)  # Arrow, numpy and the tokenizer release the GIL
    summary: dict[str, Any] = {"corpus": corpus.url, "manifest_rows": table.num_rows, **results.pop("counts")}
    summary["stats"] = {
        "present": stats is not None,
        "error": stats_error,
        "datasets": [{"dataset": k, **v} for k, v in stats_datasets(stats).items()],
        "split_conflicts": stats_split_conflicts(stats),
        "totals": stats.get("totals") if stats else None,
        "tokens": stats.get("tokens") if stats else None,
        "accounting": stats.get("accounting") if stats else None,
    }
    summary.update(results)
    summary["seconds"] = {k: round(v, 3) for k, v in timings.items()}
    summary["seconds"]["total"] = round(time.perf_counter() - t0, 3)
    return summary


# -----------------------------------------------------------------------------
# Terminal formatting


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], indent: str = "  ") -> str:
    """An aligned plain-text table: numbers right-aligned, text left-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return (indent + "  ".join(parts)).rstrip()

    return "\n".join([line(list(headers)), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def _is_number(v: Any) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def _stats_rows(datasets: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of the per-dataset accounting table (moved to a held-out split when recorded)."""
    moved = any(d.get("moved_to_held_out_split") is not None for d in datasets)
    headers = ["dataset", "read", "written", "filtered", "rejected", "pairs"] + (["moved split"] if moved else [])
    rows = [[d["dataset"], d["read"], d["written"], sum(d["filtered"].values()), sum(d["rejected"].values()), d["pairs"]]
            + ([d.get("moved_to_held_out_split")] if moved else []) for d in datasets]
    return headers, rows


def _stats_notes(stats: Mapping[str, Any]) -> list[str]:
    """One-line notes from stats.json: split conflicts, where the codes came from, the build's own check."""
    conflicts = stats["split_conflicts"]
    notes = [f"split conflicts: {json.dumps(conflicts) if conflicts is not None else 'not in stats.json'}"]
    tokens = stats.get("tokens")
    if isinstance(tokens, Mapping):
        prints = tokens.get("fingerprints") or {}
        notes.append(f"faces encoded: {tokens.get('encoded', '-')}, from the token cache: {tokens.get('cached', '-')}; "
                     f"tokenizer fingerprint(s): {', '.join(f'{k} ({v})' for k, v in prints.items()) or '-'}")
    accounting = stats.get("accounting")
    if isinstance(accounting, Mapping):
        problems = accounting.get("problems") or []
        notes.append("build accounting: " + ("ok" if accounting.get("ok") and not problems else "FAILED: "
                                              + "; ".join(map(str, problems))))
    return notes


def _codebook_source(cb: Mapping[str, Any]) -> str:
    if cb["source"] == "shards":
        where = f"{cb['samples']:,} samples in {cb['shards_read']} of {cb['shards_total']} shards"
        return where + ("" if cb["shards_read"] == cb["shards_total"] else " (--max-shards 0 reads all)")
    where = f"{cb['samples']:,} samples in {cb['buckets_read']} of {cb['buckets_total']} buckets of the {cb['source']}"
    return where + ("" if cb["buckets_read"] == cb["buckets_total"] else " (--max-shards 0 reads all)")


def format_summary(summary: Mapping[str, Any]) -> str:
    """The summary as aligned terminal tables."""
    out = [f"corpus {summary['corpus']}: {summary['samples']:,} samples, {summary['manifest_rows']:,} pairs"]
    out += ["", "splits", format_table(
        ["split", "samples", "pairs", "shards", "shard files", "samples (stats)"],
        [[r["split"], r["samples"], r["pairs"], r["shards"], r["shard_files"], r.get("stats_samples")]
         for r in summary["splits"]],
    )]
    out += ["", "datasets and kinds (manifest)", format_table(
        ["dataset", "kind", "records", "samples", "pairs"],
        [[r["dataset"], r["kind"], r["records"], r["samples"], r["pairs"]] for r in summary["datasets"]],
    )]
    stats = summary["stats"]
    out += ["", "stats.json"]
    if not stats["present"]:
        out.append(f"  {stats['error']}")
    else:
        out.append(format_table(*_stats_rows(stats["datasets"])))
        reasons = [[d["dataset"], what, reason, n] for d in stats["datasets"]
                   for what in STATS_REASONS for reason, n in d[what].items()]
        if reasons:
            out += ["", "filtered and rejected by reason", format_table(["dataset", "outcome", "reason", "records"], reasons)]
        out += [""] + _stats_notes(stats)
    tt = summary["text_tokens"]
    out += ["", f"text length in WordPiece tokens ({tt['tokenizer']}; trainer budget {tt['budget']})"]
    length_cols = ["texts", "mean", "p50", "p90", "p99", "max", "over_budget", "over_budget_pct"]
    out.append(format_table(
        ["kind/dataset", *[c.replace("_pct", " %").replace("_", " ") for c in length_cols]],
        [[r["kind"], *[r[c] for c in length_cols]] for r in tt["by_kind"]]
        + [[r["dataset"], *[r[c] for c in length_cols]] for r in tt["by_dataset"]],
    ))
    out += ["", "labels (records per value)"]
    for dataset, keys in summary["labels"].items():
        for key, dist in keys.items():
            values = ", ".join(f"{v} ({n:,})" for v, n in dist["values"])
            extra = f", other values ({dist['other']:,})" if dist.get("other") else ""
            missing = f", missing ({dist['missing']:,})" if dist["missing"] else ""
            out.append(f"  {dataset} {key} [{dist['type']}, {dist['distinct']} distinct]: {values}{extra}{missing}")
    cb = summary.get("codebook")
    out += [""]
    if cb is None:
        out.append("codebook: skipped")
    else:
        out.append(
            f"codebook: {cb['used']:,} of {cb['codebook_size']:,} codes used, entropy {cb['entropy_bits']:.2f} of "
            f"{cb['max_entropy_bits']:.0f} bits (perplexity {cb['perplexity']:,}), top 10 codes {cb['top10_share_pct']}% "
            f"of tokens; from {_codebook_source(cb)}"
        )
        for problem in cb["damaged_shards"]:
            out.append(f"  damaged shard skipped: {problem} (run --validate)")
        if cb["bad_samples"]:
            out.append(f"  {cb['bad_samples']} bad token arrays skipped (run --validate)")
    out.append(f"summary took {summary['seconds']['total']:.2f} s")
    return "\n".join(out)


# -----------------------------------------------------------------------------
# Showing samples


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


# -----------------------------------------------------------------------------
# Contact sheet

SHEET_THUMB = 192  # face size in pixels
SHEET_PAD = 6
SHEET_LINES = 6  # text lines beneath each face
SHEET_LINE_HEIGHT = 13
SHEET_FONT_SIZE = 11


def sheet_size(count: int, columns: int = 8, thumb: int = SHEET_THUMB) -> tuple[int, int]:
    """The (width, height) in pixels of a contact sheet of `count` faces in `columns` columns."""
    cols = max(1, min(columns, count))
    rows = max(1, math.ceil(count / cols))
    cell_w = thumb + 2 * SHEET_PAD
    cell_h = thumb + 2 * SHEET_PAD + SHEET_LINES * SHEET_LINE_HEIGHT
    return cols * cell_w, rows * cell_h


def _pick_for_sheet(table: pa.Table, n: int, dataset: str | None, split: str | None, max_shards: int = 4) -> list[str]:
    """Up to `n` keys taken round-robin from at most `max_shards` shards evenly spread over the matches."""
    views = table
    if dataset:
        views = views.filter(pc.equal(views["dataset"], dataset))
    if split:
        views = views.filter(pc.equal(views["split"], split))
    pairs = views.group_by(["shard", "key"]).aggregate([]).sort_by([("shard", "ascending"), ("key", "ascending")])
    by_shard: dict[str, list[str]] = {}
    for shard, key in zip(pairs["shard"].to_pylist(), pairs["key"].to_pylist()):
        by_shard.setdefault(shard, []).append(key)
    shards = sorted(by_shard)
    if len(shards) > max_shards:
        shards = [shards[int(round(x))] for x in np.linspace(0, len(shards) - 1, max_shards)]
    keys: list[str] = []
    depth = 0
    while len(keys) < n and any(depth < len(by_shard[s]) for s in shards):
        keys += [by_shard[s][depth] for s in shards if depth < len(by_shard[s])][: n - len(keys)]
        depth += 1
    return keys


def _wrap(draw: Any, font: Any, texts: Sequence[str], width: int, lines: int) -> list[str]:
    out: list[str] = []
    for text in texts:
        text = unicodedata.normalize("NFC", text)  # one glyph for "e" + combining accent: the font has no combining marks
        line = ""
        for word in text.split():
            trial = f"{line} {word}".strip()
            if draw.textlength(trial, font=font) <= width:
                line = trial
                continue
            if line:
                out.append(line)
            while draw.textlength(word, font=font) > width and len(word) > 1:  # a word longer than a line
                cut = max(1, int(len(word) * width / draw.textlength(word, font=font)) - 1)
                out.append(word[:cut])
                word = word[cut:]
            line = word
        if line:
            out.append(line)
    if len(out) > lines:
        last = out[lines - 1]
        while last and draw.textlength(last + "...", font=font) > width:
            last = last[:-1]
        out = out[: lines - 1] + [last + "..."]
    return out


def contact_sheet(
    corpus: Corpus,
    table: pa.Table,
    *,
    n: int = 32,
    dataset: str | None = None,
    split: str | None = None,
    decode: Decoder | None = None,
    columns: int = 8,
    thumb: int = SHEET_THUMB,
) -> tuple[Any, list[str]]:
    """A contact sheet (PIL image) of up to `n` faces with their texts beneath, and the keys drawn.

    Faces come from the stored ``<key>.jpg`` when present, else from ``<key>.tokens.npy`` through
    `decode`; InspectError when a face needs decoding and no decoder is given.
    """
    from PIL import Image, ImageDraw, ImageFont

    keys = _pick_for_sheet(table, n, dataset, split)
    if not keys:
        if table.num_rows == 0:
            raise InspectError("the manifest has no rows, so there is no face to draw")
        raise InspectError(f"no samples match dataset={dataset!r} split={split!r}; `talk2face inspect OUT` lists "
                           "the datasets and splits")
    views = {v.key: v for v in find_samples(table.filter(pc.is_in(table["key"], value_set=pa.array(keys))), len(keys))}
    wanted = set(keys)
    fields: dict[str, dict[str, bytes]] = {}
    shard_paths = {shard_name(p): p for p in corpus.shard_paths()}
    for shard in sorted({shard_file(views[k].shard) for k in keys}):
        path = shard_paths.get(shard)
        if path is None:
            raise InspectError(f"shard {shard} named by the manifest is not in {corpus.path('shards')}; run --validate")
        need = {k for k in wanted if shard_file(views[k].shard) == shard}

        def needed(name: str, need: set[str] = need) -> bool:
            return name.split(".", 1)[0] in need

        try:
            with _open_stream(corpus, path) as stream:
                for member in iter_members(stream, needed):
                    key, _, ext = member.name.partition(".")
                    if key not in need and need <= fields.keys():  # members of a sample are contiguous
                        break
                    if member.data is not None and key in need:
                        fields.setdefault(key, {})[ext] = member.data
        except TarDamage as err:
            raise InspectError(f"shard {shard}: {err}; run --validate") from err
    faces: dict[str, Any] = {}
    to_decode: list[str] = []
    for key in keys:
        got = fields.get(key, {})
        if "jpg" in got:
            try:
                faces[key] = Image.open(io.BytesIO(got["jpg"])).convert("RGB")
                continue
            except OSError:
                pass
        if "tokens.npy" in got:
            to_decode.append(key)
    if to_decode:
        if decode is None:
            raise InspectError("this corpus keeps no JPEGs; pass a VQGAN decoder (--vqgan-preset or --vqgan-config)")
        codes = np.stack([np.load(io.BytesIO(fields[k]["tokens.npy"]), allow_pickle=False) for k in to_decode])
        pixels = np.asarray(decode(codes.astype(np.uint16)))
        for key, image in zip(to_decode, pixels):
            faces[key] = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).convert("RGB")
    drawn = [k for k in keys if k in faces]
    width, height = sheet_size(len(drawn), columns, thumb)
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    try:
        font = ImageFont.load_default(size=SHEET_FONT_SIZE)
    except (TypeError, OSError):  # Pillow without FreeType
        font = ImageFont.load_default()
    cols = max(1, min(columns, len(drawn)))
    cell_w = thumb + 2 * SHEET_PAD
    cell_h = thumb + 2 * SHEET_PAD + SHEET_LINES * SHEET_LINE_HEIGHT
    for i, key in enumerate(drawn):
        x, y = (i % cols) * cell_w + SHEET_PAD, (i // cols) * cell_h + SHEET_PAD
        sheet.paste(faces[key].resize((thumb, thumb), Image.Resampling.BICUBIC), (x, y))
        texts = [t["text"] for t in views[key].texts]
        if dataset:
            texts = [t["text"] for t in views[key].texts if t["dataset"] == dataset] + [
                t["text"] for t in views[key].texts if t["dataset"] != dataset]
        for j, line in enumerate(_wrap(draw, font, texts, thumb, SHEET_LINES)):
            draw.text((x, y + thumb + 2 + j * SHEET_LINE_HEIGHT), line, fill="black", font=font)
    return sheet, drawn


def png_bytes(image: Any) -> bytes:
    """A PIL image as PNG bytes."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


# -----------------------------------------------------------------------------
# Validation


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


def _npy_header() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.zeros(TOKENS_PER_IMAGE, np.uint16), allow_pickle=False)
    return buf.getvalue()[: -2 * TOKENS_PER_IMAGE]


_TOKENS_HEADER = _npy_header()  # the exact .npy header np.save writes for uint16 (256,)


def _load_tokens(data: bytes) -> np.ndarray:
    """A tokens.npy member as an array: a byte-compare of the usual header, else np.load (which says what is off)."""
    if len(data) == len(_TOKENS_HEADER) + 2 * TOKENS_PER_IMAGE and data.startswith(_TOKENS_HEADER):
        return np.frombuffer(data, dtype="<u2", offset=len(_TOKENS_HEADER)).astype(np.uint16)
    return np.load(io.BytesIO(data), allow_pickle=False)


def _check_sample(key: str, shard: str, split: str | None, got: Mapping[str, bytes], problems: list[Problem]) -> dict | None:
    """Check one sample's members against schemas/; the parsed JSON when it is valid."""
    from PIL import Image

    ok = True
    if "tokens.npy" not in got:
        problems.append(Problem("tokens", "no tokens.npy member; rebuild this shard", shard, key))
        ok = False
    else:
        try:
            validate_tokens(_load_tokens(got["tokens.npy"]), key)
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
    shard = shard_name(path)
    scan = _ShardScan(shard)
    problems = scan.problems
    match = SHARD_NAME.match(shard)
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
        with _open_stream(corpus, path) as stream:
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


def _compare_stats(stats: Mapping[str, Any], table: pa.Table, side: _ShardSide, shard_files: Sequence[str],
                   problems: list[Problem]) -> None:
    """stats.json agrees with the manifest (pairs, written records) and its own accounting invariant."""
    per = {r["dataset"]: r for r in table.group_by("dataset").aggregate(
        [("key", "count"), ("source_id", "count_distinct")]).to_pylist()}
    datasets = stats_datasets(stats)
    if not datasets:
        problems.append(Problem("stats", "stats.json has no per-dataset entries (expected datasets: {name: {read, "
                                "written, pairs, filtered, rejected}}); rerun the build"))
        return
    for name in sorted(set(per) - set(datasets)):
        problems.append(Problem("stats", f"dataset {name!r} has {per[name]['key_count']} manifest rows but no stats.json entry"))
    for name, entry in datasets.items():
        rows = per.get(name, {}).get("key_count", 0)
        records = per.get(name, {}).get("source_id_count_distinct", 0)
        if entry["pairs"] is not None and entry["pairs"] != rows:
            problems.append(Problem("stats", f"dataset {name!r}: stats.json pairs {entry['pairs']} != {rows} manifest rows"))
        if entry["written"] is not None and entry["written"] != records:
            problems.append(Problem("stats", f"dataset {name!r}: stats.json written {entry['written']} != {records} "
                                             "distinct source ids in the manifest"))
        if entry["read"] is not None and entry["written"] is not None:
            accounted = entry["written"] + sum(entry["filtered"].values()) + sum(entry["rejected"].values())
            if accounted != entry["read"]:
                problems.append(Problem("stats", f"dataset {name!r}: read {entry['read']} != written + filtered + "
                                                 f"rejected = {accounted} (DESIGN.md 3.5 accounting invariant)"))
    in_shards: dict[str, int] = {}
    for dataset in side.text_rows["dataset"]:
        in_shards[dataset] = in_shards.get(dataset, 0) + 1
    for name, entry in datasets.items():
        if entry["pairs_in_shards"] is not None and entry["pairs_in_shards"] != in_shards.get(name, 0):
            problems.append(Problem("stats", f"dataset {name!r}: stats.json pairs_in_shards {entry['pairs_in_shards']} "
                                             f"!= {in_shards.get(name, 0)} texts in the valid shard samples"))
    totals = stats.get("totals")
    if isinstance(totals, Mapping):
        for what in STATS_COUNTS:
            declared = _as_int(totals.get(what))
            summed = sum(e[what] or 0 for e in datasets.values())
            if declared is not None and declared != summed:
                problems.append(Problem("stats", f"totals.{what} {declared} != {summed}, the sum over datasets"))
        for what, actual in (("samples", len(side.seen)), ("shards", len(shard_files))):
            declared = _as_int(totals.get(what))
            if declared is not None and declared != actual:
                problems.append(Problem("stats", f"totals.{what} {declared} != {actual} {what} found in the shards"))
    files: dict[str, int] = {}
    for name in shard_files:
        m = SHARD_NAME.match(name)
        if m:
            files[m.group("split")] = files.get(m.group("split"), 0) + 1
    held: dict[str, int] = {}
    for split in side.sample_rows["split"]:
        held[split] = held.get(split, 0) + 1
    for split, entry in stats_splits(stats).items():
        if entry["samples"] is not None and entry["samples"] != held.get(split, 0):
            problems.append(Problem("stats", f"split {split!r}: stats.json says {entry['samples']} samples, the shards hold "
                                             f"{held.get(split, 0)} valid samples"))
        if entry["shards"] is not None and entry["shards"] != files.get(split, 0):
            problems.append(Problem("stats", f"split {split!r}: stats.json says {entry['shards']} shards, "
                                             f"{files.get(split, 0)} shard files exist"))


def validate_corpus(
    corpus: Corpus, progress: Callable[[str], None] | None = None, workers: int = 1
) -> Validation:
    """Stream every shard and check it against schemas/, the manifest and stats.json.

    Checks: tar integrity (not a tar, truncated, corrupt header, foreign members), each sample's
    tokens (uint16, 256 codes < 1,024) and JSON (schemas.validate_meta), duplicate keys within and
    across shards, sample split == shard split, manifest == shards (keys, shard, split, texts,
    sources per key), stats.json == manifest (per dataset pairs == rows, written == distinct source
    ids) and the accounting invariant. Every problem names its shard and key where it has them.
    `workers` > 1 scans shards in that many processes; the report is the same.
    """
    start = time.perf_counter()
    result = Validation(corpus.url)
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
            _compare_stats(stats, table, side, [shard_name(p) for p in paths], problems)
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
# HTML report

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 10px;border-bottom:1px solid #eee}
th{text-align:left;background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{border:1px solid #eee;padding:6px}
.note{color:#666}.warn{color:#a40}svg text{font:11px sans-serif}img{max-width:100%}
"""


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td class=\"n\">{_cell(v)}</td>" if _is_number(v) else f"<td>{html.escape(_cell(v))}</td>"
                         for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def svg_bars(items: Sequence[tuple[str, float]], title: str, width: int = 340, bar: int = 14) -> str:
    """A horizontal bar chart as inline SVG (labels left, values right)."""
    if not items:
        return ""
    label_w, value_w = 130, 70
    top = 20
    height = top + bar * len(items) + 6
    biggest = max(v for _, v in items) or 1
    parts = [f'<svg width="{width}" height="{height}" role="img"><text x="0" y="13" font-weight="bold">{html.escape(title)}</text>']
    for i, (label, value) in enumerate(items):
        y = top + i * bar
        w = (width - label_w - value_w) * value / biggest
        short = label if len(label) <= 22 else label[:21] + "…"
        parts.append(f'<text x="{label_w - 4}" y="{y + bar - 4}" text-anchor="end">{html.escape(short)}</text>'
                     f'<rect x="{label_w}" y="{y + 1}" width="{w:.1f}" height="{bar - 3}" fill="#4a7ab5"/>'
                     f'<text x="{label_w + w + 3:.1f}" y="{y + bar - 4}">{_cell(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_columns(values: Sequence[float], title: str, width: int = 520, height: int = 160,
                marker: int | None = None, marker_label: str = "", log: bool = False) -> str:
    """A column chart of a sequence (a histogram) as inline SVG, with an optional vertical marker."""
    if not values:
        return ""
    top, bottom = 20, 16
    plot_h = height - top - bottom
    scaled = [math.log10(1 + v) for v in values] if log else list(values)
    biggest = max(scaled) or 1
    step = width / len(values)
    parts = [f'<svg width="{width}" height="{height}" role="img"><text x="0" y="13" font-weight="bold">{html.escape(title)}</text>']
    for i, v in enumerate(scaled):
        h = plot_h * v / biggest
        parts.append(f'<rect x="{i * step:.2f}" y="{top + plot_h - h:.2f}" width="{max(step - 0.5, 0.5):.2f}" '
                     f'height="{h:.2f}" fill="#4a7ab5"/>')
    parts.append(f'<text x="0" y="{height - 3}">0</text><text x="{width}" y="{height - 3}" text-anchor="end">'
                 f'{len(values) - 1}</text>')
    if marker is not None:
        x = marker * step
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#c33" stroke-dasharray="3"/>'
                     f'<text x="{x + 3:.1f}" y="{top + 10}" fill="#c33">{html.escape(marker_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_report(summary: Mapping[str, Any], sheet_png: bytes | None = None, sheet_note: str = "",
                  validation: Validation | None = None) -> str:
    """The summary (and optionally a contact sheet and a validation) as one self-contained HTML page."""
    esc = html.escape
    out = ["<!doctype html><html><head><meta charset=\"utf-8\"><title>Talk2Face corpus report</title>",
           f"<style>{_CSS}</style></head><body>",
           f"<h1>Talk2Face corpus: {esc(str(summary['corpus']))}</h1>",
           f"<p>{summary['samples']:,} samples, {summary['manifest_rows']:,} face-text pairs.</p>"]
    out += ["<h2>Splits</h2>", _html_table(
        ["split", "samples", "pairs", "shards (manifest)", "shard files"],
        [[r["split"], r["samples"], r["pairs"], r["shards"], r["shard_files"]] for r in summary["splits"]])]
    out += ["<h2>Datasets</h2>", _html_table(
        ["dataset", "kind", "records", "samples", "pairs"],
        [[r["dataset"], r["kind"], r["records"], r["samples"], r["pairs"]] for r in summary["datasets"]])]
    out.append('<div class="charts"><div class="chart">' + svg_bars(
        [(f"{r['dataset']} {r['kind']}", r["pairs"]) for r in summary["datasets"]], "pairs per dataset and kind",
        width=480) + "</div></div>")
    stats = summary["stats"]
    out.append("<h2>Build accounting (stats.json)</h2>")
    if not stats["present"]:
        out.append(f'<p class="warn">{esc(str(stats["error"]))}</p>')
    else:
        out.append(_html_table(*_stats_rows(stats["datasets"])))
        reasons = [[d["dataset"], what, reason, n] for d in stats["datasets"] for what in STATS_REASONS
                   for reason, n in d[what].items()]
        if reasons:
            out += ["<h3>Filtered and rejected by reason</h3>", _html_table(["dataset", "outcome", "reason", "records"], reasons)]
        out.append("".join(f"<p>{esc(note)}</p>" for note in _stats_notes(stats)))
    tt = summary["text_tokens"]
    out.append(f"<h2>Text length in WordPiece tokens</h2><p class=\"note\">{esc(tt['tokenizer'])}; the trainer's "
               f"text budget is {tt['budget']} tokens (longer captions are cut, attribute texts subset).</p>")
    cols = ["texts", "mean", "p50", "p90", "p99", "max", "over_budget", "over_budget_pct"]
    out.append(_html_table(["kind / dataset", *[c.replace("_pct", " %").replace("_", " ") for c in cols]],
                           [[r["kind"], *[r[c] for c in cols]] for r in tt["by_kind"]]
                           + [[r["dataset"], *[r[c] for c in cols]] for r in tt["by_dataset"]]))
    histograms = [svg_columns(counts, f"{kind}: texts per length in tokens (last bar: longer)", marker=tt["budget"],
                              marker_label="budget") for kind, counts in tt["histogram"].items()]
    out.append('<div class="charts">' + "".join(f'<div class="chart">{h}</div>' for h in histograms) + "</div>")
    out.append("<h2>Label distributions (records per value)</h2>")
    for dataset, keys in summary["labels"].items():
        charts = []
        for key, dist in keys.items():
            items = [(str(v), n) for v, n in dist["values"]]
            if dist.get("other"):
                items.append(("(other)", dist["other"]))
            if dist["missing"]:
                items.append(("(missing)", dist["missing"]))
            title = f"{key} ({dist['type']}, {dist['distinct']} distinct)"
            charts.append(f'<div class="chart">{svg_bars(items, title)}</div>')
        out.append(f"<h3>{esc(dataset)}</h3><div class=\"charts\">{''.join(charts)}</div>")
    cb = summary.get("codebook")
    out.append("<h2>Image-token codebook usage</h2>")
    if cb is None:
        out.append('<p class="note">skipped</p>')
    else:
        out.append(f"<p>{cb['used']:,} of {cb['codebook_size']:,} codes used; entropy {cb['entropy_bits']:.2f} of "
                   f"{cb['max_entropy_bits']:.0f} bits (perplexity {cb['perplexity']:,}); the 10 most frequent codes are "
                   f"{cb['top10_share_pct']}% of tokens. From {esc(_codebook_source(cb))}.</p>")
        ranked = sorted(cb["counts"], reverse=True)
        out.append('<div class="charts"><div class="chart">' + svg_columns(
            ranked, "token count per code, most frequent first (log scale)", width=1024, log=True) + "</div></div>")
        for problem in cb["damaged_shards"]:
            out.append(f'<p class="warn">damaged shard skipped: {esc(problem)}</p>')
    if validation is not None:
        out.append("<h2>Validation</h2>" + f"<pre>{esc(format_validation(validation))}</pre>")
    out.append("<h2>Contact sheet</h2>")
    if sheet_png:
        out.append(f'<img alt="contact sheet" src="data:image/png;base64,{base64.b64encode(sheet_png).decode()}">')
    if sheet_note:
        out.append(f'<p class="note">{esc(sheet_note)}</p>')
    out.append(f"<p class=\"note\">summary computed in {summary['seconds']['total']:.2f} s</p></body></html>")
    return "\n".join(out)
