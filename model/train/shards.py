"""Which shards to read and how: shard URLs from a glob, brace pattern or directory, and their samples.

Samples are read with the one streaming reader of schemas/shard.py (`iter_samples`): nothing is
extracted to a path, and a truncated or corrupt shard, like a malformed sample, raises a ValueError
that names the shard (and the sample or last good member) and says to rebuild it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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


def read_shard(url: str, with_jpg: bool = False) -> Iterator[ShardSample]:
    """The samples of one shard, in order (with their face JPEG when asked and present).

    A malformed sample or a damaged tar raises ValueError naming the shard and the sample or member.
    """
    import fsspec

    suffixes = (*TRAINING_MEMBERS, ".jpg") if with_jpg else TRAINING_MEMBERS
    with fsspec.open(url, "rb") as stream:
        try:
            for fields in iter_samples(stream, want=lambda name: name.endswith(suffixes)):
                try:
                    sample = ShardSample.from_wds(fields)
                except SampleError as err:
                    raise ValueError(f"{url}: {err}; rebuild this shard with the pipeline") from err
                yield sample
        except TarDamage as err:
            raise ValueError(f"{url}: {err}; rebuild this shard with the pipeline") from err


def read_shards(urls: Sequence[str], with_jpg: bool = False) -> Iterator[ShardSample]:
    """The samples of the given shards, shard after shard, each in order."""
    for url in urls:
        yield from read_shard(url, with_jpg)


__all__ = ["read_shard", "read_shards", "resolve_shards"]
