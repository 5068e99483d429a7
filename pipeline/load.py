"""LoadFaces: decode and cut every record's face (model.tokenizers.faces) and key it by its pixels' content hash.

Only the key and a 64-bit perceptual hash of the same pixels (`pipeline.neardup.face_hash`, for
near-duplicate detection) travel on: the pixels are dropped here and decoded again for unique faces when they
are tokenised, so no image crosses a shuffle. A face that cannot be loaded becomes a `Reject`
with the reason `model.tokenizers.faces` gives (image missing, unreadable, too small, too large, bad box).
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam

from model.tokenizers.faces import MAX_PIXELS, FaceError, load_face
from pipeline.meter import StageMeter, counter
from pipeline.neardup import FaceHash, face_hash
from pipeline.read import SplitByType
from schemas import FaceRecord, Reject, sample_key


class LoadFace(beam.DoFn):
    """FaceRecord -> (face key, record) and its `FaceHash`, or a Reject naming the file and what was wrong."""

    def __init__(self, max_pixels: int | None = None, progress_every: int = 1000) -> None:
        self.max_pixels = max_pixels or MAX_PIXELS
        self.progress_every = progress_every

    def setup(self) -> None:
        self.meter = StageMeter("LoadFaces", "images", self.progress_every)

    def process(self, record: FaceRecord) -> Iterator[tuple[str, FaceRecord] | FaceHash | Reject]:
        with self.meter.timed():
            try:
                pixels = load_face(record.image, record.box, max_pixels=self.max_pixels)
                key = sample_key(pixels)
                out: list[tuple[str, FaceRecord] | FaceHash | Reject] = [(key, record), FaceHash(key, face_hash(pixels))]
            except FaceError as err:
                counter(f"rejected.{err.reason}").inc()
                out = [Reject(record.dataset, record.source_id, record.source_path, err.reason, err.detail)]
        self.meter.add()
        yield from out


class LoadFaces(beam.PTransform):
    """FaceRecords -> {"faces": (key, record), "hashes": FaceHash, "rejects": Reject}."""

    def __init__(self, max_pixels: int | None = None, progress_every: int = 1000) -> None:
        super().__init__()
        self.max_pixels = max_pixels
        self.progress_every = progress_every

    def expand(self, records: beam.PCollection) -> dict[str, beam.PCollection]:
        return (
            records
            | "Load" >> beam.ParDo(LoadFace(self.max_pixels, self.progress_every))
            | "Split" >> SplitByType(faces=tuple, hashes=FaceHash, rejects=Reject)
        )
