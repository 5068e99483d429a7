"""Which shards to read and how: shard URLs from a glob, brace pattern or directory, and their samples.

Samples are read with the one streaming reader of schemas/shard.py (`iter_samples`): nothing is
extracted to a path, and a truncated or corrupt shard, like a malformed sample, raises a ValueError
that names the shard (and the sample or last good member) and says to rebuild it.

Faults follow a `ReadPolicy`: by default a bad sample or a damaged shard stops the reader with that
error; ``on_bad_sample="skip"`` logs it, counts it (`FaultCounts`) and goes on (a damaged shard: with
the next shard). A read error of the storage itself (an OSError: a network blip, an object store
that is briefly unavailable) is retried `read_retries` times, waiting `retry_backoff` seconds,
doubled each time (at most `MAX_BACKOFF`); the retry reopens the shard and resumes after the last
sample it handled, so nothing is yielded twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.sample import SampleError, ShardSample
from schemas.shard import TarDamage, iter_samples


def resolve_shards(spec: str | Sequence[str], split: str = "train") -> list[str]:
    """Shard URLs from a glob, a brace pattern, a directory (its ``<split>-*.tar``), a URL or a list of them.

    ``out/shards/train-{000000..000003}.tar``, ``out/shards/train-*.tar``, ``out/shards`` and
    ``gs://bucket/shards`` all work; local paths come back as plain paths, sorted.
    """
    import braceexpand
    import fsspec

    if not isinstance(spec, str):
        return sorted({url for one in spec for url in resolve_shards(one, split)})
    urls: list[str] = []
    for part in braceexpand.braceexpand(spec):
        fs, path = fsspec.core.url_to_fs(part)
        local = "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))

        def name(p: str, fs: Any = fs, local: bool = local) -> str:
            return str(p) if local else str(fs.unstrip_protocol(p))

        if any(c in path for c in "*?["):
            urls.extend(name(p) for p in fs.glob(path))
        elif fs.isdir(path):
            urls.extend(name(p) for p in fs.glob(f"{path.rstrip('/')}/{split}-*.tar"))
        else:
            urls.append(part)
    if not urls:
        raise FileNotFoundError(
            f"no shards match {spec!r}; give a glob (out/shards/{split}-*.tar), a brace pattern "
            f"(out/shards/{split}-{{000000..000003}}.tar) or a directory holding {split}-*.tar"
        )
    return sorted(set(urls))


TRAINING_MEMBERS = (".tokens.npy", ".json")  # the face jpg is not needed for training
BAD_SAMPLE_POLICIES = ("fail", "skip")
MAX_BACKOFF = 60.0  # seconds: the longest wait between two tries of a shard
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadPolicy:
    """What a shard reader does with bad input and storage errors."""

    on_bad_sample: str = "fail"  # "fail": stop naming shard and sample; "skip": log, count, go on
    read_retries: int = 3  # further tries of a shard after a storage read error (OSError); 0 = none
    retry_backoff: float = 1.0  # seconds before the first retry, doubled for each next one

    def __post_init__(self) -> None:
        if self.on_bad_sample not in BAD_SAMPLE_POLICIES:
            raise ValueError(f"on_bad_sample={self.on_bad_sample!r}: choose one of {', '.join(BAD_SAMPLE_POLICIES)}")
        if self.read_retries < 0 or self.retry_backoff < 0:
            raise ValueError(f"read_retries={self.read_retries} and retry_backoff={self.retry_backoff} must be >= 0")


@dataclass
class FaultCounts:
    """What a reader skipped or retried; `active` False while a resumed loader replays what it counted before."""

    bad_samples: int = 0  # samples skipped (bad JSON, bad token array, missing member)
    bad_shards: int = 0  # shards whose rest was skipped (truncated, corrupt, foreign tar)
    read_retries: int = 0  # storage read errors retried
    active: bool = True

    def add(self, what: str) -> None:
        if self.active:
            setattr(self, what, getattr(self, what) + 1)

    def as_list(self) -> list[int]:
        return [self.bad_samples, self.bad_shards, self.read_retries]


class _Damaged(Exception):
    """A shard whose tar stops being readable (wraps TarDamage with the shard's message)."""


def _shard_items(url: str, with_jpg: bool) -> Iterator[ShardSample | str]:
    """One pass over a shard: its samples, or for a malformed sample the error message naming it."""
    import fsspec

    suffixes = (*TRAINING_MEMBERS, ".jpg") if with_jpg else TRAINING_MEMBERS
    with fsspec.open(url, "rb") as stream:
        try:
            for fields in iter_samples(stream, want=lambda name: name.endswith(suffixes)):
                try:
                    yield ShardSample.from_wds(fields)
                except SampleError as err:
                    yield f"{url}: {err}; rebuild this shard with the pipeline"
        except TarDamage as err:
            raise _Damaged(f"{url}: {err}; rebuild this shard with the pipeline") from err


def read_shard(
    url: str, with_jpg: bool = False, policy: ReadPolicy | None = None, counts: FaultCounts | None = None
) -> Iterator[ShardSample]:
    """The samples of one shard, in order (with their face JPEG when asked and present).

    With the default policy a malformed sample or a damaged tar raises ValueError naming the shard and
    the sample or member; see this module's docstring for skipping, counting (into `counts`) and retries.
    """
    policy = policy or ReadPolicy()
    counts = counts if counts is not None else FaultCounts()
    done = failures = 0  # items handled (a retry resumes after them); storage errors so far
    while True:
        try:
            for n, item in enumerate(_shard_items(url, with_jpg)):
                if n < done:
                    continue
                done += 1
                if isinstance(item, ShardSample):
                    yield item
                elif policy.on_bad_sample == "fail":
                    raise ValueError(f"{item} (or train with --set on_bad_sample=skip to skip and count such samples)")
                else:
                    counts.add("bad_samples")
                    logger.warning("skipped a bad sample: %s", item)
            return
        except _Damaged as err:
            if policy.on_bad_sample == "fail":
                raise ValueError(f"{err} (or train with --set on_bad_sample=skip to skip the rest of such shards)") from err
            counts.add("bad_shards")
            logger.warning("skipped the rest of a damaged shard: %s", err)
            return
        except OSError as err:
            failures += 1
            if failures > policy.read_retries:
                raise ValueError(f"{url}: cannot read it ({err}) after {failures} tries; check the path and the "
                                 "storage, or allow more with --set read_retries=N") from err
            counts.add("read_retries")
            delay = min(policy.retry_backoff * 2 ** (failures - 1), MAX_BACKOFF)
            logger.warning("reading %s failed (%s); try %d of %d in %.1f s", url, err, failures + 1,
                           policy.read_retries + 1, delay)
            time.sleep(delay)


def read_shards(urls: Sequence[str], with_jpg: bool = False, policy: ReadPolicy | None = None) -> Iterator[ShardSample]:
    """The samples of the given shards, shard after shard, each in order."""
    for url in urls:
        yield from read_shard(url, with_jpg, policy)


__all__ = ["FaultCounts", "ReadPolicy", "read_shard", "read_shards", "resolve_shards"]
