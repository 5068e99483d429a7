"""The shard format: how shards are named, the one reproducible tar writer, the one streaming reader.

A shard is an uncompressed USTAR tar of WebDataset samples (DESIGN.md 3.4): the members of one
sample are contiguous, named ``<key>.<ext>`` in sorted extension order (``jpg``, ``json``,
``tokens.npy``), and samples follow in sorted key order. Every member has fixed metadata (mtime 0,
uid/gid 0, empty user and group names, mode 0o644), so the same samples always give the same bytes.
Shards are ``OUT/shards/<split>-NNNNNN.tar``; the manifest's ``shard`` column holds the stem
(``train-000012``).

The pipeline writes shards with `write_tar`; the loader, evaluation, inspection and the test
fixtures read them with `iter_members` / `iter_samples`, which stream (nothing is ever extracted to
a path) and raise `TarDamage` naming the last good member when a shard is truncated or corrupt.
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

SHARD_DIGITS = 6
SHARD_SUFFIX = ".tar"
TAR_MODE = 0o644
SHARD_FILE = re.compile(r"^(?P<split>[a-z]+)-(?P<index>\d{6})\.tar$")
MEMBER_NAME = re.compile(r"^(?P<key>[0-9a-f]{32})\.(?P<ext>tokens\.npy|json|jpg)$")


# --------------------------------------------------------------------------- names


def shard_name(split: str, index: int) -> str:
    """``train-000012``: a shard's stem, as the manifest's ``shard`` column holds it."""
    return f"{split}-{index:0{SHARD_DIGITS}d}"


def shard_file(shard: str) -> str:
    """The file name of a shard stem, path or URL: ``train-000012`` or ``.../train-000012.tar`` -> ``train-000012.tar``."""
    name = shard.rstrip("/").rsplit("/", 1)[-1]
    return name if name.endswith(SHARD_SUFFIX) else name + SHARD_SUFFIX


def shard_stem(shard: str) -> str:
    """The stem of a shard file name, path or URL: ``.../train-000012.tar`` -> ``train-000012``."""
    return shard_file(shard).removesuffix(SHARD_SUFFIX)


def shard_split(shard: str) -> str:
    """The split a shard belongs to, from its name: ``train-000012`` -> ``train``."""
    return shard_stem(shard).rsplit("-", 1)[0]


# --------------------------------------------------------------------------- writing


def write_tar(f: IO[bytes], samples: Iterable[Mapping[str, Any]]) -> int:
    """Write WebDataset samples (``__key__`` + extension -> bytes) as a reproducible tar; returns members written."""
    members = 0
    with tarfile.open(fileobj=f, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for sample in samples:
            key = sample["__key__"]
            for ext in sorted(k for k in sample if k != "__key__"):
                data = sample[ext]
                info = tarfile.TarInfo(f"{key}.{ext}")
                info.size = len(data)
                info.mtime = 0
                info.mode = TAR_MODE
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                tar.addfile(info, io.BytesIO(data))
                members += 1
    return members


def tar_bytes(samples: Iterable[Mapping[str, Any]]) -> bytes:
    """A whole shard in memory (tests and small writers)."""
    buf = io.BytesIO()
    write_tar(buf, samples)
    return buf.getvalue()


# --------------------------------------------------------------------------- reading


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


def split_member_name(name: str) -> tuple[str, str]:
    """``<key>.<ext>`` -> (key, ext), the key being everything before the first dot (WebDataset's rule)."""
    key, _, ext = name.partition(".")
    return key, ext


def iter_samples(stream: Any, want: Callable[[str], bool] = lambda name: True) -> Iterator[dict[str, Any]]:
    """The samples of a shard stream as WebDataset dicts: ``{"__key__": key, ext: bytes, ...}``.

    Members of one sample are contiguous (the writer's rule); non-file members are skipped. Raises
    TarDamage as `iter_members` does.
    """
    current: dict[str, Any] | None = None
    for member in iter_members(stream, want):
        if not member.is_file:
            continue
        key, ext = split_member_name(member.name)
        if current is None or current["__key__"] != key:
            if current is not None:
                yield current
            current = {"__key__": key}
        if member.data is not None:
            current[ext] = member.data
    if current is not None:
        yield current
