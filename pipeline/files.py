"""Writing build outputs safely on any fsspec filesystem: temporary name, then move into place.

A writer opens `atomic_open(url)`, writes, and the file appears under its final name only when
the write completed (a rename locally, ``fs.mv`` on object stores). A retried or speculative
bundle rewrites the same bytes under the same name, so outputs are never half written, never
duplicated and never missing a sample. The shard tar format itself is schemas/shard.py.

A write that fails (a read-only output, a full disk) raises OSError naming the final file, and its
temporary file is removed. A process killed mid-write leaves its ``.tmp-<uuid>-<name>`` behind;
readers skip such names, and `remove_stale_temps` clears them at the start of the next build. The
rule: a build owns its OUT while it runs (two builds into one OUT are not supported: the second
deletes the first's outputs), so at build start every temporary file under OUT belongs to an
earlier, dead attempt and is removed; a token cache outside OUT may be shared by builds running at
the same time, so there only temporary files older than `STALE_TEMP_SECONDS` are removed.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import posixpath
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

import fsspec

from pipeline.config import join
from schemas.card import CARD_FILE
from schemas.catalog import CROISSANT_FILE, wids_file
from schemas.records import SPLITS

BUILD_OUTPUTS = ("shards", "manifest", "rejects", "stats.json", "leaks.jsonl", CARD_FILE, CROISSANT_FILE,
                 *(wids_file(split) for split in SPLITS))
"""What a build writes under OUT (the token cache, OUT/cache, is kept across builds)."""
TEMP_PREFIX = ".tmp-"
STALE_TEMP_SECONDS = 24 * 3600
"""Age after which a temporary file in a token cache outside OUT counts as left by a dead attempt."""


class OutputError(OSError):
    """A build output that could not be written; the message names the file and what to do."""


@contextlib.contextmanager
def atomic_open(url: str) -> Iterator[IO[bytes]]:
    """A binary file to write that appears at `url` only once closed without error.

    Raises OutputError (an OSError with the cause's errno) naming `url` when the folder or the file
    cannot be written; nothing is left under `url` or under the temporary name.
    """
    fs, path = fsspec.core.url_to_fs(url)
    folder, name = posixpath.split(path)
    tmp = posixpath.join(folder, f"{TEMP_PREFIX}{uuid.uuid4().hex}-{name}")
    try:
        fs.makedirs(folder, exist_ok=True)
        with fs.open(tmp, "wb") as f:
            yield f
        fs.mv(tmp, path)
    except OutputError:
        raise
    except OSError as err:
        raise OutputError(
            err.errno, f"cannot write {url} ({err}); free space on the output or make it writable, then rerun the "
            "same command: the token cache keeps the faces already encoded"
        ) from err
    finally:
        with contextlib.suppress(OSError):
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


def _modified(info: Mapping[str, Any]) -> float | None:
    """A file's modification time (POSIX seconds) from fsspec's info, whatever the filesystem calls it."""
    for name in ("mtime", "LastModified", "updated", "last_modified", "created"):
        value = info.get(name)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, datetime.datetime):
            return value.timestamp()
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return None


def remove_stale_temps(url: str, older_than: float | None = None) -> list[str]:
    """Delete the temporary files (``.tmp-*``) left under `url` by killed writers; returns the URLs removed.

    With `older_than` (seconds), only those older than that (files whose age the filesystem does not
    report are kept). See this module's docstring for when a temporary file is stale.
    """
    fs, root = fsspec.core.url_to_fs(url)
    fs.invalidate_cache()
    if not fs.isdir(root):
        return []
    now = time.time()
    removed = []
    for path, info in sorted(fs.find(root, detail=True).items()):
        if not posixpath.basename(path).startswith(TEMP_PREFIX):
            continue
        if older_than is not None:
            modified = _modified(info)
            if modified is None or now - modified < older_than:
                continue
        with contextlib.suppress(FileNotFoundError):
            fs.rm(path)
            removed.append(join(url, path[len(root.rstrip("/")) :].lstrip("/")))
    return removed
