"""ExpW: one expression per face box -> ``expw expression: happy;``, cropped to the face.

Reads ``label/label.lst``: no header, one line per face, 8 space-separated columns ``image_name
face_id_in_image face_box_top face_box_left face_box_right face_box_bottom face_box_cofidence
expression_label`` (FORMATS.md section 5)::

    afraid_African_214.jpg 0 33 275 342 100 68.6817 2

Accepted variants and quirks:

* images in ``image/origin/`` or ``data/image/origin/`` (the label file in ``label/`` or ``data/label/``),
  one extra top folder (``ExpW/``), CRLF, runs of spaces; the 7 numeric columns are taken from the
  right, so an image name may hold spaces.
* The box columns are top, left, right, bottom: ``Box(left, top, right, bottom)``; the pipeline adds
  the 25% margin and clips it to the image.
* One record per face line, source id ``<image_name>#<face_id>``; the split is the stable hash of the
  image name, so all faces of one picture share a split.
* An exact repeat of an earlier line is filtered ``duplicate`` (its source id gets `` line <n>`` so it
  stays unique); the same face id with different values is rejected (malformed).
* ``min_confidence`` (constructor option, off by default): a face whose detector confidence is below it
  is filtered ``low confidence``.

Source and terms (`SOURCE`): taken from the social-relation project page that distributes ExpW
(research purposes only), as stated on
https://mmlab.ie.cuhk.edu.hk/projects/socialrelation/index.html; written from what we know of the
dataset's published terms, not verified offline and not re-checked online (no network when it was
written): check them there before using the data.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from converters.base import Converter, DatasetRoot, Outcome
from schemas import Box, FaceRecord, Reasons, Text, format_attributes, stable_split
from schemas.source import Source

LABEL_FILES = ("label/label.lst", "data/label/label.lst")
IMAGE_FOLDERS = ("image/origin", "data/image/origin")
COLUMNS = ("image_name", "face_id_in_image", "face_box_top", "face_box_left", "face_box_right",
           "face_box_bottom", "face_box_cofidence", "expression_label")  # sic "cofidence"
EXPRESSIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # ids 0..6
TEXTS = tuple(Text("attributes", format_attributes("expw", {"expression": e})) for e in EXPRESSIONS)  # formatted once
DUPLICATE = "duplicate"
LOW_CONFIDENCE = "low confidence"


SOURCE = Source(
    name="ExpW",
    homepage="https://mmlab.ie.cuhk.edu.hk/projects/socialrelation/index.html",
    terms="for non-commercial research purposes only",
    terms_url="https://mmlab.ie.cuhk.edu.hk/projects/socialrelation/index.html",
    terms_class="research-only",
    citation=r"""@article{zhang2018facial,
  title = {From Facial Expression Recognition to Interpersonal Relation Prediction},
  author = {Zhang, Zhanpeng and Luo, Ping and Loy, Chen Change and Tang, Xiaoou},
  journal = {International Journal of Computer Vision},
  volume = {126}, number = {5}, pages = {550--569},
  year = {2018}
}""",
)


class ExpW(Converter):
    source = SOURCE
    key = "expw"
    text_kind = "attributes"
    prefix = "expw"
    splits = {"train": "stable hash of image_name < 90", "val": "< 95", "test": "the rest"}
    native_files = (LABEL_FILES[0], f"{IMAGE_FOLDERS[0]}/")
    fake = "converters.fakes.expw"
    label_values = {"expression": EXPRESSIONS}

    def __init__(self, min_confidence: float | None = None) -> None:
        super().__init__()
        self.min_confidence = min_confidence

    def records(self, root: DatasetRoot) -> Iterator[Outcome]:
        root = root.locate(*LABEL_FILES)
        rel = root.first_existing(*LABEL_FILES) or LABEL_FILES[0]
        images = next((f for f in IMAGE_FOLDERS if root.isdir(f)), IMAGE_FOLDERS[0])
        on_disk = root.listing(images)
        url_base, path_base = root.url_of(images), root.source_path(images)
        splits: dict[str, str] = {}  # image name -> split, hashed once per image
        seen: dict[str, tuple[int, list[str]]] = {}  # source id -> (line number, its fields)
        threshold = self.min_confidence
        for number, line in root.lines(rel):
            fields = line.rsplit(None, 7)
            if len(fields) != 8:
                yield self.malformed(root, rel, number, line, f"expected {len(COLUMNS)} columns, got {len(fields)}")
                continue
            name = fields[0] = fields[0].strip()
            source_id = f"{name}#{fields[1]}"
            source_path = f"{path_base}/{name}"
            first = seen.get(source_id)
            if first is not None:
                if first[1] == fields:
                    yield self.filtered(f"{source_id} line {number}", source_path, DUPLICATE,
                                        f"{rel} line {number} repeats line {first[0]}")
                else:
                    yield self.reject(f"{source_id} line {number}", source_path, Reasons.MALFORMED,
                                      f"{rel} line {number}: face {source_id} differs from line {first[0]}: {line[:120]!r}")
                continue
            seen[source_id] = (number, fields)
            try:
                top, left, right, bottom = _box_numbers(fields[2:6])
                confidence = float(fields[6])
                label = int(fields[7])
            except ValueError as err:
                yield self.reject(source_id, source_path, Reasons.MALFORMED, f"{rel} line {number}: non-numeric field ({err}): {line[:120]!r}")
                continue
            if not all(math.isfinite(v) for v in (top, left, right, bottom, confidence)):
                yield self.reject(source_id, source_path, Reasons.MALFORMED, f"{rel} line {number}: a box or confidence "
                                  f"that is not a finite number (NaN, inf): {line[:120]!r}")
                continue
            if not 0 <= label < len(EXPRESSIONS):
                yield self.reject(source_id, source_path, Reasons.UNKNOWN_LABEL, f"{rel} line {number}: expression_label {label} is not 0..6")
                continue
            if right <= left or bottom <= top:
                yield self.reject(source_id, source_path, Reasons.BAD_BOX,
                                  f"{rel} line {number}: box top={top:g} left={left:g} right={right:g} bottom={bottom:g} is empty")
                continue
            if threshold is not None and confidence < threshold:
                yield self.filtered(source_id, source_path, LOW_CONFIDENCE, f"{rel} line {number}: confidence {confidence} < {threshold}")
                continue
            if f"{images}/{name}" not in on_disk:
                yield self.reject(source_id, source_path, Reasons.IMAGE_MISSING, f"{images}/{name} not found ({rel} line {number})")
                continue
            split = splits.get(name)
            if split is None:
                split = splits[name] = stable_split(name)
            yield FaceRecord(self.key, source_id, f"{url_base}/{name}", source_path, split,
                             {"expression": EXPRESSIONS[label]}, (TEXTS[label],), Box(left, top, right, bottom))


def _box_numbers(texts: list[str]) -> list[int] | list[float]:
    """Box columns as ints (as ExpW writes them), or floats where a copy wrote decimals."""
    try:
        return list(map(int, texts))
    except ValueError:
        return list(map(float, texts))
