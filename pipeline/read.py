"""ReadRecords: run each dataset's converter inside a DoFn and spread its records over the workers.

The pipeline starts from the short list of datasets (`beam.Create` of a dozen `DatasetSpec`s, never
of the records); one DoFn call per dataset reads its annotation files where they live and yields
every outcome (`FaceRecord`, `Filtered`, `Reject`); `Reshuffle` then redistributes the records so
image loading runs in parallel. `SplitByType` separates the outcome kinds with one typed filter
each (see its docstring for why not tagged outputs).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import apache_beam as beam

import converters
from converters.base import DatasetRoot, Outcome
from pipeline.config import DatasetSpec
from pipeline.meter import StageMeter, counter
from schemas import FaceRecord, Filtered, Reject


class ConvertDataset(beam.DoFn):
    """DatasetSpec -> every outcome of its converter (the first `limit` when set), records validated."""

    def __init__(self, limit: int | None = None, progress_every: int = 1000) -> None:
        self.limit = limit
        self.progress_every = progress_every

    def setup(self) -> None:
        self.meter = StageMeter("ReadRecords", "records", self.progress_every)

    def process(self, spec: DatasetSpec) -> Iterator[Outcome]:
        converter = converters.get(spec.key)
        root = DatasetRoot(spec.url, spec.key, dict(spec.siblings))
        outcomes = converter.records(root)
        if self.limit is not None:
            outcomes = itertools.islice(outcomes, self.limit)
        for outcome in self.meter.timed_iter(outcomes):
            if isinstance(outcome, FaceRecord):
                try:
                    outcome.validate()
                except ValueError as err:
                    raise ValueError(f"converter {spec.key!r} yielded an invalid record (a converter bug): {err}") from err
            elif isinstance(outcome, Reject):
                counter(f"rejected.{outcome.reason}").inc()
            elif isinstance(outcome, Filtered):
                counter(f"filtered.{outcome.reason}").inc()
            self.meter.add()
            yield outcome


class ReadRecords(beam.PTransform):
    """PBegin -> outcomes of every dataset's converter, reshuffled."""

    def __init__(self, datasets: tuple[DatasetSpec, ...], limit: int | None = None, progress_every: int = 1000) -> None:
        super().__init__()
        self.datasets = tuple(sorted(datasets, key=lambda d: d.key))
        self.limit = limit
        self.progress_every = progress_every

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return (
            pbegin
            | "ListDatasets" >> beam.Create(self.datasets)
            | "Convert" >> beam.ParDo(ConvertDataset(self.limit, self.progress_every))
            | "Spread" >> beam.Reshuffle()
        )


def is_instance(element: object, cls: type) -> bool:
    return isinstance(element, cls)


class SplitByType(beam.PTransform):
    """One PCollection of mixed outcomes -> a dict of PCollections, one per type (``name=cls``).

    A typed `Filter` per output rather than a multi-output ParDo: Beam's DaskRunner (2.77) hands
    every tagged output of a ParDo to each consumer (tests/pipeline/test_pipeline_runners.py shows it), and
    filters behave the same on every runner. An element of none of the types is in no output, which
    the accounting check reports (it was read but neither written, filtered nor rejected).
    """

    def __init__(self, **types: type) -> None:
        super().__init__()
        self.types = dict(types)

    def expand(self, pcoll: beam.PCollection) -> dict[str, beam.PCollection]:
        return {name: pcoll | f"Only{name.title()}" >> beam.Filter(is_instance, cls) for name, cls in self.types.items()}
