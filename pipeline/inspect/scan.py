"""The full mode's scan of one shard: its tar, its members, each sample against schemas/, its index.

`_scan_shard` streams a shard once and returns its samples (key, JSON when valid) and problems;
`_scan_all` runs it over the shards in this process or a pool. Duplicates across shards and the
comparison with the manifest and stats.json are pipeline/inspect/validate.py's.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.inspect.corpus import Corpus, load_tokens, open_stream
from pipeline.inspect.problems import Problem
from pipeline.inspect.quick import read_index
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
    iter_members,
    shard_file,
    split_member_name,
)


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



def _parsed_json(got: Mapping[str, bytes], key: str) -> tuple[Any, SampleError | None]:
    """A sample's JSON parsed once (bounded, schemas.sample.parse_meta_json), or the error it gave."""
    try:
        return parse_meta_json(got["json"], key), None
    except SampleError as err:
        return None, err


def _declared_tokenizer(meta: Any) -> TokenizerInfo | None:
    """The tokenizer a sample's parsed JSON declares (its codes are checked against it); None if it declares none."""
    if not isinstance(meta, dict) or "tokenizer" not in meta:
        return None
    return TokenizerInfo.from_meta(meta["tokenizer"], f"sample {meta.get('key', '?')}: tokenizer")


def _check_sample(key: str, shard: str, split: str | None, got: Mapping[str, bytes], problems: list[Problem]) -> dict | None:
    """Check one sample's members against schemas/; the parsed JSON when it is valid."""
    from PIL import Image

    ok = True
    parsed, json_error = _parsed_json(got, key) if "json" in got else (None, None)
    if "tokens.npy" not in got:
        problems.append(Problem("tokens", "no tokens.npy member; rebuild this shard", shard, key))
        ok = False
    else:
        try:
            validate_tokens(load_tokens(got["tokens.npy"]), key, _declared_tokenizer(parsed))
        except SampleError as err:
            problems.append(Problem("tokens", f"{err}; rebuild this shard", shard, key))
            ok = False
        except (ValueError, OSError, EOFError) as err:
            problems.append(Problem("tokens", f"tokens.npy is not a readable .npy array ({err})", shard, key))
            ok = False
    meta: Any = None
    if "json" not in got:
        problems.append(Problem("json", "no json member; rebuild this shard", shard, key))
    else:
        try:
            if json_error is not None:
                raise json_error
            meta = parsed
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
