"""Where a corpus lives: opening OUT, loading its manifest and stats.json, streaming its shards.

``OUT`` is a build's output folder (DESIGN.md 3.5), a local path or any fsspec URL::

    OUT/shards/<split>-NNNNNN.tar   WebDataset shards: <key>.tokens.npy, <key>.json, optional <key>.jpg
    OUT/shards/<split>-NNNNNN.idx.json  each shard's index (schemas.shard.ShardIndex)
    OUT/manifest/*.parquet          one row per (sample, text), schemas.MANIFEST_SCHEMA
    OUT/stats.json                  schemas/stats.py

Bad input (no manifest, a missing stats.json) is an `InspectError` that says what to do, or data.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from schemas.manifest import read_manifest
from schemas.sample import TOKENS_PER_IMAGE
from schemas.stats import STATS_FILE, Stats, StatsError, parse_stats

TEXT_BUDGET = 64  # the trainer's default text budget (model.train.trainer.TrainConfig.text_budget)
DEFAULT_MAX_SHARDS = 4  # shards (or that share of the token cache) read for codebook usage; 0 = all

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



def load_stats(corpus: Corpus) -> tuple[Stats | None, str | None]:
    """stats.json checked against schemas/stats.py, or ``(None, why)`` when it is missing or unreadable."""
    path = corpus.path(STATS_FILE)
    if not corpus.fs.exists(path):
        return None, f"{path} is missing; the build did not finish (rerun beam_runner.py over the same inputs)"
    try:
        with corpus.fs.open(path, "rb") as f:
            return parse_stats(f.read(), path), None
    except OSError as err:
        return None, f"{path} cannot be read ({err}); rerun the build to rewrite it"
    except StatsError as err:
        return None, str(err)


def open_stream(corpus: Corpus, path: str) -> Any:
    return corpus.fs.open(path, "rb", block_size=1 << 22) if not corpus.is_local else open(path, "rb")


def _npy_header() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.zeros(TOKENS_PER_IMAGE, np.uint16), allow_pickle=False)
    return buf.getvalue()[: -2 * TOKENS_PER_IMAGE]


TOKENS_HEADER = _npy_header()  # the exact .npy header np.save writes for uint16 (256,)


def load_tokens(data: bytes) -> np.ndarray:
    """A tokens.npy member as an array: a byte-compare of the usual header, else np.load (which says what is off)."""
    if len(data) == len(TOKENS_HEADER) + 2 * TOKENS_PER_IMAGE and data.startswith(TOKENS_HEADER):
        return np.frombuffer(data, dtype="<u2", offset=len(TOKENS_HEADER)).astype(np.uint16)
    return np.load(io.BytesIO(data), allow_pickle=False)


@dataclass(frozen=True)
class ManifestCodes:
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


def dictionary_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    encoded = column.combine_chunks().dictionary_encode()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary


def manifest_codes(table: pa.Table) -> ManifestCodes:
    """The `ManifestCodes` of a manifest table."""
    columns = {name: dictionary_codes(table[name]) for name in ("key", "shard", "split", "dataset", "kind", "source_id")}
    dataset, source = columns["dataset"][0], columns["source_id"][0]
    record = np.unique(dataset * max(1, len(columns["source_id"][1])) + source, return_inverse=True)[1].reshape(-1)
    sizes = {name: len(values) for name, (_, values) in columns.items()}
    sizes["record"] = int(record.max()) + 1 if len(record) else 0
    return ManifestCodes(
        key=columns["key"][0], record=record, shard=columns["shard"][0], split=columns["split"][0],
        dataset=dataset, kind=columns["kind"][0], sizes=sizes,
        names={name: columns[name][1].to_pylist() for name in ("split", "dataset", "kind")},
    )

