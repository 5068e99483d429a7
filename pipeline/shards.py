"""AssignShards, WriteShards, WriteManifest: deterministic shards of N samples, and their manifest.

**Shard assignment.** A sample's shard is ``rank // N``, where rank is its position among the
split's sample keys in sorted order, so shards are full (the last one of a split excepted), never
empty, and the same whatever the runner or its bundles. The rank is computed without any single
worker holding a whole split: keys are bucketed by their first hex digits (4,096 buckets per
split, a few hundred keys each at full scale), bucket sizes are counted and turned into offsets
(a tiny GroupByKey per split), and each bucket, joined with its offset, sorts its own keys. No side
inputs: Beam's DaskRunner does not support them correctly.

**Writers.** Samples are grouped by shard; the shard writer sorts them by key and writes one tar
(`schemas.shard.write_tar`: fixed metadata), the manifest writer one Parquet file per shard
(``OUT/manifest/<shard>.parquet``, from the same grouped samples). The shard writer also writes the
shard's index (``OUT/shards/<shard>.idx.json``, schemas.shard.ShardIndex), computed while the tar
streams out and moved into place after it. All write to a temporary name and move the file into
place, then report what they wrote as tallies, which the build's final
step checks against the records read.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

import apache_beam as beam

from pipeline.config import join
from pipeline.files import atomic_open, check_size, write_bytes
from pipeline.meter import StageMeter
from pipeline.report import Tally
from pipeline.samples import Sample
from schemas import manifest_table, write_manifest
from schemas.shard import index_file, shard_name, write_tar

RANK_BUCKET_DIGITS = 3


# --------------------------------------------------------------------------- assignment


def by_rank_bucket(sample: Sample) -> tuple[tuple[str, str], Sample]:
    return (sample.split, sample.key[:RANK_BUCKET_DIGITS]), sample


def by_split(split_bucket: tuple[str, str], size: int) -> tuple[str, tuple[str, int]]:
    return split_bucket[0], (split_bucket[1], size)


def bucket_offsets(split: str, sizes: Iterable[tuple[str, int]]) -> Iterator[tuple[tuple[str, str], int]]:
    """Each bucket's rank offset within its split: the number of keys in the buckets before it."""
    offset = 0
    for bucket, size in sorted(sizes):
        yield (split, bucket), offset
        offset += size


def number_bucket(element: tuple[tuple[str, str], dict[str, Any]], samples_per_shard: int) -> Iterator[Sample]:
    """The samples of one bucket with their shard: sorted by key, numbered from the bucket's offset."""
    (split, bucket), joined = element
    offsets = list(joined["offset"])
    if len(offsets) != 1:
        raise RuntimeError(f"bucket {split}/{bucket}: expected one offset, got {offsets}")
    for i, sample in enumerate(sorted(joined["samples"], key=lambda s: s.key)):
        yield replace(sample, shard=shard_name(split, (offsets[0] + i) // samples_per_shard))


class AssignShards(beam.PTransform):
    """Samples -> the same samples with `shard` set (``<split>-NNNNNN``), N per shard in key order."""

    def __init__(self, samples_per_shard: int) -> None:
        super().__init__()
        self.samples_per_shard = samples_per_shard

    def expand(self, samples: beam.PCollection) -> beam.PCollection:
        keyed = samples | "KeyByBucket" >> beam.Map(by_rank_bucket)
        offsets = (
            keyed
            | "CountPerBucket" >> beam.combiners.Count.PerKey()
            | "BySplit" >> beam.MapTuple(by_split)
            | "GroupBySplit" >> beam.GroupByKey()
            | "Offsets" >> beam.FlatMapTuple(bucket_offsets)
        )
        return (
            {"samples": keyed, "offset": offsets}
            | "JoinOffsets" >> beam.CoGroupByKey()
            | "Number" >> beam.FlatMap(number_bucket, self.samples_per_shard)
        )


def by_shard(sample: Sample) -> tuple[str, Sample]:
    return sample.shard, sample


# --------------------------------------------------------------------------- writers


def sorted_shard(shard: str, samples: Iterable[Sample]) -> list[Sample]:
    """A shard's samples in key order; a repeated key or a sample of another split raises."""
    ordered = sorted(samples, key=lambda s: s.key)
    split = shard.rsplit("-", 1)[0]
    for before, after in zip(ordered, ordered[1:]):
        if before.key == after.key:
            raise RuntimeError(f"shard {shard}: sample {after.key} arrived twice; the runner duplicated elements")
    strays = [s.key for s in ordered if s.split != split or s.shard != shard]
    if strays:
        raise RuntimeError(f"shard {shard}: samples {strays[:3]} belong elsewhere")
    return ordered


class WriteShard(beam.DoFn):
    """(shard, samples) -> ``OUT/shards/<shard>.tar`` and its index; yields tallies of what it wrote."""

    def __init__(self, output: str, progress_every: int = 1000) -> None:
        self.output = output
        self.progress_every = progress_every

    def setup(self) -> None:
        self.meter = StageMeter("WriteShards", "samples", self.progress_every)

    def process(self, element: tuple[str, Iterable[Sample]]) -> Iterator[Tally]:
        shard, samples = element
        url = join(self.output, "shards", f"{shard}.tar")
        with self.meter.timed():
            ordered = sorted_shard(shard, samples)
            with atomic_open(url) as f:
                index = write_tar(f, (s.shard_sample().to_wds() for s in ordered))
            size = index.size
            check_size(url, size)
            write_bytes(join(self.output, "shards", index_file(shard)), index.to_json())
        self.meter.add(len(ordered))
        split = ordered[0].split
        yield ("splits", split, "shards"), 1
        yield ("splits", split, "samples"), len(ordered)
        yield ("splits", split, "bytes"), size
        records = Counter(r.dataset for s in ordered for r in s.records)
        pairs = Counter(r.dataset for s in ordered for r in s.records for _ in r.texts)
        for dataset in sorted(records):
            yield ("datasets", dataset, "written"), records[dataset]
            yield ("datasets", dataset, "pairs_in_shards"), pairs[dataset]


class WriteShards(beam.PTransform):
    """(shard, samples) groups -> tar shards; output: tallies."""

    def __init__(self, output: str, progress_every: int = 1000) -> None:
        super().__init__()
        self.output = output
        self.progress_every = progress_every

    def expand(self, shards: beam.PCollection) -> beam.PCollection:
        return shards | "WriteTar" >> beam.ParDo(WriteShard(self.output, self.progress_every))


class WriteManifestPart(beam.DoFn):
    """(shard, samples) -> ``OUT/manifest/<shard>.parquet`` (one row per text); yields row tallies."""

    def __init__(self, output: str) -> None:
        self.output = output

    def process(self, element: tuple[str, Iterable[Sample]]) -> Iterator[Tally]:
        shard, samples = element
        rows = [row for s in sorted_shard(shard, samples) for row in s.manifest_rows()]
        buf = io.BytesIO()
        write_manifest(manifest_table(rows), buf)
        write_bytes(join(self.output, "manifest", f"{shard}.parquet"), buf.getvalue())
        for dataset, n in sorted(Counter(str(r["dataset"]) for r in rows).items()):
            yield ("datasets", dataset, "pairs"), n


class WriteManifest(beam.PTransform):
    """(shard, samples) groups -> Parquet manifest parts; output: tallies."""

    def __init__(self, output: str) -> None:
        super().__init__()
        self.output = output

    def expand(self, shards: beam.PCollection) -> beam.PCollection:
        return shards | "WriteParquet" >> beam.ParDo(WriteManifestPart(self.output))
