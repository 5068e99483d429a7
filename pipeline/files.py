"""Writing build outputs safely on any fsspec filesystem: temporary name, then move into place.

A writer opens `atomic_open(url)`, writes, and the file appears under its final name only when
the write completed (a rename locally, ``fs.mv`` on object stores). A retried or speculative
bundle rewrites the same bytes under the same name, so outputs are never half written, never
duplicated and never missing a sample. The shard tar format itself is schemas/shard.py.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import tarfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

import fsspec

from pipeline.config import join

BUILD_OUTPUTS = ("shards", "manifest", "rejects", "stats.json", "leaks.jsonl")
"""What a build writes under OUT (the token cache, OUT/cache, is kept across builds)."""


@contextlib.contextmanager
def atomic_open(url: str) -> Iterator[IO[bytes]]:
    """A binary file to write that appears at `url` only once closed without error."""
    fs, path = fsspec.core.url_to_fs(url)
    folder, name = posixpath.split(path)
    fs.makedirs(folder, exist_ok=True)
    tmp = posixpath.join(folder, f".tmp-{uuid.uuid4().hex}-{name}")
    try:
        with fs.open(tmp, "wb") as f:
            yield f
        fs.mv(tmp, path)
    finally:
        if fs.exists(tmp):
            fs.rm(tmp)


def write_bytes(url: str, data: bytes) -> int:
    """Write `data` atomically to `url`; returns the size written, checked against the stored file."""
    with atomic_open(url) as f:
        f.write(data)
    check_size(url, len(data))
    return len(data)


def check_size(url: str, expected: int) -> None:
    """Raise OSError unless the file at `url` exists with `expected` bytes (catches silent write loss)."""
    fs, path = fsspec.core.url_to_fs(url)
    fs.invalidate_cache(posixpath.dirname(path))
    size = fs.size(path) if fs.exists(path) else None
    if size != expected:
        raise OSError(f"{url}: wrote {expected} bytes but the stored file has {size}; the filesystem lost the write")


def tar_members(url: str) -> list[tuple[str, int]]:
    """Names and sizes of the members of a tar at `url`, read from its headers; nothing is extracted."""
    with fsspec.open(url, "rb") as f, tarfile.open(fileobj=f, mode="r:") as tar:
        return [(m.name, m.size) for m in tar.getmembers()]


def jsonl(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """Rows as JSON lines (keys in the given order, UTF-8)."""
    return "".join(json.dumps(dict(r), ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def remove_build_outputs(output: str) -> list[str]:
    """Delete what a previous build wrote under `output` (shards, manifest, rejects, stats.json).

    Only these names are touched; the token cache stays. Returns the URLs removed.
    """
    fs, _ = fsspec.core.url_to_fs(output)
    removed = []
    for name in BUILD_OUTPUTS:
        url = join(output, name)
        path = fsspec.core.url_to_fs(url)[1]
        if fs.exists(path):
            fs.rm(path, recursive=True)
            removed.append(url)
    return removed


def list_files(url: str, suffix: str) -> list[str]:
    """The files ending in `suffix` directly in the folder `url` (temporary files skipped), sorted by name."""
    fs, path = fsspec.core.url_to_fs(url)
    fs.invalidate_cache(path)
    if not fs.isdir(path):
        return []
    names = sorted(posixpath.basename(p.rstrip("/")) for p in fs.ls(path, detail=False))
    return [join(url, n) for n in names if n.endswith(suffix) and not n.startswith(".")]
