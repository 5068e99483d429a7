"""The shard format: how shards are named, the one reproducible tar writer, the one streaming reader.

A shard is an uncompressed USTAR tar of WebDataset samples (DESIGN.md 3.4): the members of one
sample are contiguous, named ``<key>.<ext>`` in sorted extension order (``jpg``, ``json``,
``tokens.npy``), and samples follow in sorted key order. Every member has fixed metadata (mtime 0,
uid/gid 0, empty user and group names, mode 0o644), so the same samples always give the same bytes.
Shards are ``OUT/shards/<split>-NNNNNN.tar``; the manifest's ``shard`` column holds the stem
(``train-000012``).

Beside each shard lies its index, ``OUT/shards/<split>-NNNNNN.idx.json`` (`ShardIndex`): the tar's
byte size and sha256 and every member's name, data offset and size, computed while the tar is
streamed out (`write_tar` returns it; no second read). The writer moves the index into place after
the tar, so an index always describes a complete tar. The post-build check reads indexes instead of
shards; the full validator checks each index against its tar.

The pipeline writes shards with `write_tar`; the loader, evaluation, inspection and the test
fixtures read them with `iter_members` / `iter_samples`, which stream (nothing is ever extracted to
a path) and raise `TarDamage` naming the last good member when a shard is truncated or corrupt.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

SHARD_DIGITS = 6
SHARD_SUFFIX = ".tar"
INDEX_SUFFIX = ".idx.json"
INDEX_FORMAT = 1
TAR_MODE = 0o644
SHARD_FILE = re.compile(r"^(?P<split>[a-z]+)-(?P<index>\d{6})\.tar$")
MEMBER_NAME = re.compile(r"^(?P<key>[0-9a-f]{32})\.(?P<ext>tokens\.npy|json|jpg)$")
MAX_MEMBER_BYTES = 16 << 20
"""The largest member a reader takes into memory (a 256x256 JPEG is ~30 kB, codes 640 B); a bigger header is damage."""


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


def index_file(shard: str) -> str:
    """The file name of a shard's index: ``train-000012`` or ``.../train-000012.tar`` -> ``train-000012.idx.json``."""
    return shard_stem(shard) + INDEX_SUFFIX


def index_path(shard_path: str) -> str:
    """The path (or URL) of the index beside a shard's path: ``.../train-000012.tar`` -> ``.../train-000012.idx.json``."""
    return shard_path.removesuffix(SHARD_SUFFIX) + INDEX_SUFFIX


# --------------------------------------------------------------------------- the index


class ShardIndexError(ValueError):
    """An index file that does not follow the `ShardIndex` layout; the message names the field."""


@dataclass(frozen=True)
class ShardIndex:
    """What a shard holds, without reading it: the tar's size and sha256, each member's (name, data offset, size).

    Serialised as one JSON object (`to_json`)::

        {"format": 1, "bytes": 20480, "sha256": "9f2c...",
         "members": [["<key>.json", 512, 381], ["<key>.tokens.npy", 1536, 640], ...]}
    """

    size: int  # the tar's byte size
    sha256: str
    members: tuple[tuple[str, int, int], ...]

    def keys(self) -> list[str]:
        """The sample keys in tar order (one per run of contiguous members of the same key)."""
        order: list[str] = []
        for name, _, _ in self.members:
            key = split_member_name(name)[0]
            if not order or order[-1] != key:
                order.append(key)
        return order

    def to_json(self) -> bytes:
        doc = {"format": INDEX_FORMAT, "bytes": self.size, "sha256": self.sha256,
               "members": [list(m) for m in self.members]}
        return (json.dumps(doc, separators=(",", ":")) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes, source: str = "index") -> ShardIndex:
        """Parse `to_json`'s bytes; raises ShardIndexError naming `source` and the field that is off."""
        try:
            doc = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ShardIndexError(f"{source} is not readable JSON ({err}); rebuild its shard") from err
        if not isinstance(doc, dict) or doc.get("format") != INDEX_FORMAT:
            raise ShardIndexError(f"{source}: not a shard index of format {INDEX_FORMAT}; rebuild its shard")
        size, digest, members = doc.get("bytes"), doc.get("sha256"), doc.get("members")
        if not isinstance(size, int) or not isinstance(digest, str) or not isinstance(members, list):
            raise ShardIndexError(f"{source}: needs bytes (int), sha256 (str) and members (list); rebuild its shard")
        rows = []
        for row in members:
            if not (isinstance(row, list) and len(row) == 3 and isinstance(row[0], str)
                    and all(isinstance(v, int) for v in row[1:])):
                raise ShardIndexError(f"{source}: member {row!r} is not [name, offset, size]; rebuild its shard")
            rows.append((row[0], row[1], row[2]))
        return cls(size, digest, tuple(rows))


class _IndexingWriter:
    """A write-only stream wrapper that hashes and counts the bytes written through it."""

    def __init__(self, stream: IO[bytes]):
        self._stream = stream
        self.count = 0
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self._stream.write(data)
        self.sha256.update(data)
        self.count += len(data)
        return len(data)

    def tell(self) -> int:
        return self.count


# --------------------------------------------------------------------------- writing


def write_tar(f: IO[bytes], samples: Iterable[Mapping[str, Any]]) -> ShardIndex:
    """Write WebDataset samples (``__key__`` + extension -> bytes) as a reproducible tar; returns its index.

    The index (sizes, offsets, sha256 of the bytes written) is computed while the tar streams out.
    """
    out = _IndexingWriter(f)
    members: list[tuple[str, int, int]] = []
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:  # type: ignore[call-overload]
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
                padded = -(-len(data) // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
                members.append((info.name, tar.offset - padded, len(data)))
    return ShardIndex(out.count, out.sha256.hexdigest(), tuple(members))


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


class HashingReader(_CountingReader):
    """A read-only stream wrapper that counts and sha256-hashes the bytes read through it (to check an index)."""

    def __init__(self, stream: Any):
        super().__init__(stream)
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        self.sha256.update(data)
        return data


@dataclass(frozen=True)
class Member:
    """One tar member as read from a stream: its name, type and (for regular files) its bytes."""

    name: str
    is_file: bool
    data: bytes | None
    offset: int = 0  # where the member's data starts in the tar
    size: int = 0
    kind: str = "regular file"  # "symlink", "hard link", "device file", "folder", "fifo" for the others


def _member_kind(info: tarfile.TarInfo) -> str:
    """What a tar member is, in words, for error messages."""
    for test, kind in ((info.isfile, "regular file"), (info.issym, "symlink"), (info.islnk, "hard link"),
                       (info.isdir, "folder"), (info.isdev, "device file")):
        if test():
            return kind
    return f"member of tar type {info.type!r}"


def _check_size(info: tarfile.TarInfo, limit: int) -> None:
    """Refuse (TarDamage) a member whose header claims over `limit` bytes, before reading or skipping it.

    Skipping is checked too: a stream reader skips a member by reading its claimed size, so a header
    claiming a terabyte would keep it spinning at the end of a small file.
    """
    if info.size > limit:
        raise TarDamage(
            f"member {info.name!r} claims {info.size:,} bytes, over the {limit:,}-byte limit a reader holds in "
            "memory (MAX_MEMBER_BYTES): the header is corrupt or this is not a Talk2Face shard", info.name)


def iter_members(
    stream: Any, want: Callable[[str], bool] = lambda name: True, max_member_bytes: int = MAX_MEMBER_BYTES
) -> Iterator[Member]:
    """The members of an uncompressed tar read as a stream, never extracted to paths.

    `want(name)` says which regular files to read (others are skipped, `data` None; links, devices
    and folders are never read). Raises TarDamage when the stream is not a tar, a header is corrupt,
    data ends early, a member claims more than `max_member_bytes`, or the end-of-archive
    marker (two zero blocks) is missing, which is how a tar cut at a member boundary shows. An
    OSError of the stream itself (a network read that failed) passes through unchanged, so callers
    can retry it.
    """
    counter = _CountingReader(stream)
    last: str | None = None
    try:
        with tarfile.open(fileobj=counter, mode="r|") as tar:  # type: ignore[call-overload]
            for info in tar:
                last = info.name
                _check_size(info, max_member_bytes)
                data = None
                if info.isfile() and want(info.name):
                    extracted = tar.extractfile(info)
                    data = extracted.read() if extracted is not None else b""
                yield Member(info.name, info.isfile(), data, info.offset_data, info.size, _member_kind(info))
            end = tar.offset
    except tarfile.ReadError as err:
        if last is None:
            raise TarDamage(f"not an uncompressed tar archive ({err})") from err
        raise TarDamage(f"damaged after member {last!r} ({err}): the file is truncated or corrupt", last) from err
    except (EOFError, tarfile.TarError) as err:
        raise TarDamage(f"unreadable after member {last!r} ({err})", last) from err
    while counter.read(1 << 20):
        pass
    if counter.count < end + 2 * tarfile.BLOCKSIZE:
        where = f"after member {last!r}" if last else "before any member"
        raise TarDamage(f"ends {where} without the end-of-archive marker: the file is truncated", last)


def foreign_member(member: Member) -> str:
    """Why a member is not one `write_tar` writes ("" if it could be): a link, device or folder, or a path in its name."""
    if not member.is_file:
        return f"member {member.name!r} is a {member.kind}"
    name = member.name
    if not name or name.startswith(".") or any(c in name for c in "/\\\x00"):
        return f"member {member.name!r} has a path in its name"
    return ""


def split_member_name(name: str) -> tuple[str, str]:
    """``<key>.<ext>`` -> (key, ext), the key being everything before the first dot (WebDataset's rule)."""
    key, _, ext = name.partition(".")
    return key, ext


def iter_samples(stream: Any, want: Callable[[str], bool] = lambda name: True) -> Iterator[dict[str, Any]]:
    """The samples of a shard stream as WebDataset dicts: ``{"__key__": key, ext: bytes, ...}``.

    Members of one sample are contiguous (the writer's rule). Raises TarDamage as `iter_members`
    does, and for a member the writer never writes (`foreign_member`): a link, device or folder, or a
    name with a path in it.
    """
    current: dict[str, Any] | None = None
    for member in iter_members(stream, want):
        problem = foreign_member(member)
        if problem:
            raise TarDamage(f"{problem}; a shard holds only regular <key>.<ext> files: rebuild it", member.name)
        key, ext = split_member_name(member.name)
        if current is None or current["__key__"] != key:
            if current is not None:
                yield current
            current = {"__key__": key}
        if member.data is not None:
            current[ext] = member.data
    if current is not None:
        yield current
