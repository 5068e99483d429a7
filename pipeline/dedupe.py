"""DedupeByContent: one sample per unique face, carrying every record (and so every text) that shows it.

Records are grouped on the content hash of their preprocessed pixels, so a face shipped by several
datasets (CelebA-HQ in three caption sets) or twice by one becomes one sample. Its records are kept
in a fixed order (dataset, source id), and it goes to the most held-out of their splits, so no
evaluation face is ever trained on (DESIGN.md 3.4).
"""

from __future__ import annotations

from collections.abc import Iterable

import apache_beam as beam

from pipeline.samples import Sample
from schemas import FaceRecord


def merge_records(key: str, records: Iterable[FaceRecord]) -> Sample:
    return Sample.merge(key, records)


class DedupeByContent(beam.PTransform):
    """(face key, FaceRecord) pairs -> one `Sample` per key."""

    def expand(self, faces: beam.PCollection) -> beam.PCollection:
        return (
            faces
            | "GroupByContent" >> beam.GroupByKey()
            | "MergeRecords" >> beam.MapTuple(merge_records)
        )
