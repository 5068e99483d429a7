"""AffectNet (manually annotated): expression, valence, arousal -> ``affectnet expression: happy; valence: 0.79; arousal: -0.06;``.

Reads ``Manually_Annotated_file_lists/training.csv`` (train) and ``validation.csv`` (val; the de-facto
test set), header ``subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,
expression,valence,arousal`` (FORMATS.md section 3); the 68 landmarks are one field of 136 numbers
joined by ``;``::

    689/737db2483489148d783ef278f43f486c0a97e140fc4b6b61b84363ca.jpg,134,134,899,899,181.64;530.91;...,1,0.785714,-0.055556

Accepted variants and quirks:

* ``validation.csv`` with or without its header line (copies differ): a first line whose first field
  is ``subDirectory_filePath`` is the header, in either file.
* Images under ``Manually_Annotated_Images/``, ``Manually_Annotated/Manually_Annotated_Images/``,
  ``Manually_Annotated_compressed/Manually_Annotated_Images/`` or ``Manually_Annotated_compressed/``
  (the first that exists), joined with ``subDirectory_filePath``; one extra top folder is accepted.
* ``expression`` 8 None, 9 Uncertain, 10 Non-Face are filtered (``none``, ``uncertain``, ``non-face``);
  valence or arousal of ``-2`` (not annotated) drops that key only; otherwise each must lie in [-1, 1].
* The face box (x, y, w, h) becomes ``FaceRecord.box`` as given; the pipeline adds the 25% margin.
  The landmarks are not used (nor checked).
* A path listed twice (in one or both files) is rejected the second time.

Source and terms (`SOURCE`): taken from the AffectNet page (download after a signed license
agreement, academic research only), as stated on http://mohammadmahoor.com/affectnet/; written from
what we know of the dataset's published terms, not verified offline and not re-checked online (no
network when it was written): check them there before using the data.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterator

from converters.base import Converter, DatasetRoot, Outcome
from schemas import Box, FaceRecord, LabelValue, Reasons, Text, format_attributes
from schemas.source import Source

LIST_FOLDER = "Manually_Annotated_file_lists"
LABEL_FILES = {"train": f"{LIST_FOLDER}/training.csv", "val": f"{LIST_FOLDER}/validation.csv"}
IMAGE_FOLDERS = (
    "Manually_Annotated_Images",
    "Manually_Annotated/Manually_Annotated_Images",
    "Manually_Annotated_compressed/Manually_Annotated_Images",
    "Manually_Annotated_compressed",
)
HEADER = ("subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "facial_landmarks",
          "expression", "valence", "arousal")
EXPRESSIONS = ("Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Anger", "Contempt")  # ids 0..7
FILTERED = {8: "none", 9: "uncertain", 10: "non-face"}  # the README's None, Uncertain, Non-Face
NOT_ANNOTATED = -2.0  # valence / arousal of a row that has none


@functools.lru_cache(maxsize=1 << 16)
def attribute_text(expression: str, valence: float | None, arousal: float | None) -> Text:
    """The text of one label combination (a key left out when None), formatted once."""
    labels: dict[str, LabelValue] = {"expression": expression}
    labels.update((k, v) for k, v in (("valence", valence), ("arousal", arousal)) if v is not None)
    return Text("attributes", format_attributes("affectnet", labels))


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value


def _scale(value: float, name: str, bad: list[str]) -> float | None:
    """Valence or arousal rounded to 2 decimals; None when not annotated (-2); out of range noted in `bad`."""
    if -1.0 <= value <= 1.0:
        return round(value, 2) + 0.0  # + 0.0 turns -0.0 into 0.0
    if value != NOT_ANNOTATED:
        bad.append(f"{name} {value} (outside [-1, 1] and not -2)")
    return None


SOURCE = Source(
    name="AffectNet",
    homepage="http://mohammadmahoor.com/affectnet/",
    terms="academic research only, after a signed license agreement (request form) with the authors; no redistribution",
    terms_url="http://mohammadmahoor.com/affectnet/",
    terms_class="research-only-agreement",
    citation=r"""@article{mollahosseini2017affectnet,
  title = {AffectNet: A Database for Facial Expression, Valence, and Arousal Computing in the Wild},
  author = {Mollahosseini, Ali and Hasani, Behzad and Mahoor, Mohammad H.},
  journal = {IEEE Transactions on Affective Computing},
  volume = {10}, number = {1}, pages = {18--31},
  year = {2019}
}""",
)


class AffectNet(Converter):
    source = SOURCE
    key = "affectnet"
    text_kind = "attributes"
    prefix = "affectnet"
    splits = {"train": LABEL_FILES["train"], "val": LABEL_FILES["val"]}
    native_files = (LABEL_FILES["train"], LABEL_FILES["val"], "Manually_Annotated_Images/")
    fake = "converters.fakes.affectnet"
    label_values = {"expression": tuple(e.lower() for e in EXPRESSIONS)}

    def records(self, root: DatasetRoot) -> Iterator[Outcome]:
        root = root.locate(*LABEL_FILES.values())
        images = next((f for f in IMAGE_FOLDERS if root.isdir(f)), IMAGE_FOLDERS[0])
        on_disk = root.listing(images)
        url_base, path_base = root.url_of(images), root.source_path(images)
        seen: dict[str, str] = {}
        for split, rel in LABEL_FILES.items():
            if not root.exists(rel):
                continue
            for number, line in root.lines(rel):
                fields = next(csv.reader([line])) if '"' in line else line.split(",")
                if number == 1 and fields[0].strip() == HEADER[0]:
                    continue
                if len(fields) != len(HEADER):
                    yield self._malformed(rel, number, line, path_base, f"expected {len(HEADER)} columns, got {len(fields)}", seen)
                    continue
                path = fields[0].strip()
                source_path = f"{path_base}/{path}"
                try:
                    x, y, w, h = map(_number, fields[1:5])
                    expression = int(fields[6])
                    raw_valence, raw_arousal = float(fields[7]), float(fields[8])
                except ValueError as err:
                    yield self._malformed(rel, number, line, path_base, f"non-numeric field ({err})", seen)
                    continue
                repeat = self.repeated(seen, path, f"{rel} line {number}", source_path)
                if repeat:
                    yield repeat
                    continue
                if expression in FILTERED:
                    yield self.filtered(path, source_path, FILTERED[expression], f"{rel} line {number}: expression {expression}")
                    continue
                bad = [] if 0 <= expression < len(EXPRESSIONS) else [f"expression {expression} (known: 0..10)"]
                valence, arousal = _scale(raw_valence, "valence", bad), _scale(raw_arousal, "arousal", bad)
                if bad:
                    yield self.reject(path, source_path, Reasons.UNKNOWN_LABEL, f"{rel} line {number}: {', '.join(bad)}")
                    continue
                if w <= 0 or h <= 0:
                    yield self.reject(path, source_path, Reasons.BAD_BOX, f"{rel} line {number}: face box x={x} y={y} w={w} h={h} is empty")
                    continue
                if f"{images}/{path}" not in on_disk:
                    yield self.reject(path, source_path, Reasons.IMAGE_MISSING, f"{images}/{path} not found ({rel} line {number})")
                    continue
                name = EXPRESSIONS[expression].lower()
                labels: dict[str, LabelValue] = {"expression": name}
                if valence is not None:
                    labels["valence"] = valence
                if arousal is not None:
                    labels["arousal"] = arousal
                yield FaceRecord(self.key, path, f"{url_base}/{path}", source_path, split, labels,
                                 (attribute_text(name, valence, arousal),), Box.from_xywh(x, y, w, h))

    def _malformed(self, rel: str, number: int, line: str, path_base: str, what: str, seen: dict[str, str]) -> Outcome:
        """The reject of a line that does not parse; its path counts as listed, so a repeat gets its own id."""
        path = line.split(",", 1)[0].strip() or f"{rel} line {number}"
        source_id = f"{path} ({rel} line {number})" if path in seen else path
        seen.setdefault(path, f"{rel} line {number}")
        return self.reject(source_id, f"{path_base}/{path}", Reasons.MALFORMED, f"{rel} line {number}: {what}: {line[:120]!r}")
