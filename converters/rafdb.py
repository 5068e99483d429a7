"""RAF-DB (basic): 7 basic emotions on the aligned faces -> ``rafdb expression: happiness;``.

Reads ``EmoLabel/list_patition_label.txt`` (sic; the correct spelling ``list_partition_label.txt`` is
accepted too), no header, ``<image name> <label>`` (FORMATS.md section 4)::

    train_00001.jpg 5

The split is the name's prefix (``train_`` / ``test_``); the face is the aligned 100x100 image
``Image/aligned/<stem>_aligned.jpg``. Labels 1..7: Surprise, Fear, Disgust, Happiness, Sadness,
Anger, Neutral.

RAF-DB *compound* ships a label file of the same name with labels 1..11 that mean other things
(1 Happily Surprised ...). A file whose labels go above 7 and whose ``train_`` names have 4 digits,
not basic's 5, is the compound list: every line of it is filtered ``compound expression``, so none is
mislabelled as a basic emotion. In a basic list a single label 8..11 is filtered the same way.
The full download holds ``basic/`` and ``compound/`` side by side: ``basic/`` is read (the extra top
folder is chosen in name order). Lines are split at the last white space, so a name may hold spaces.

Source and terms (`SOURCE`): taken from the RAF-DB page (an agreement e-mailed to the authors,
non-commercial research only), as stated on http://www.whdeng.cn/RAF/model1.html; written from what
we know of the dataset's published terms, not verified offline and not re-checked online (no network
when it was written): check them there before using the data.
"""

from __future__ import annotations

from collections.abc import Iterator

from converters.base import Converter, DatasetRoot, Outcome
from schemas import FaceRecord, Reasons, Text, format_attributes
from schemas.source import Source

LABEL_FILES = ("EmoLabel/list_patition_label.txt", "EmoLabel/list_partition_label.txt")
IMAGE_FOLDER = "Image/aligned"
EXPRESSIONS = {1: "Surprise", 2: "Fear", 3: "Disgust", 4: "Happiness", 5: "Sadness", 6: "Anger", 7: "Neutral"}
TEXTS = {k: Text("attributes", format_attributes("rafdb", {"expression": v.lower()})) for k, v in EXPRESSIONS.items()}
COMPOUND_LABELS = range(8, 12)  # labels only the compound subset uses
COMPOUND = "compound expression"
SPLIT_PREFIXES = {"train_": "train", "test_": "test"}


def aligned_name(name: str) -> str:
    """``train_00001.jpg`` -> ``train_00001_aligned.jpg``."""
    stem = name.rsplit(".", 1)[0]
    return f"{stem}_aligned.jpg"


def is_compound_list(rows: list[tuple[str, int]]) -> bool:
    """Whether a parsed label list is RAF-DB compound's: labels above 7 and no 5-digit ``train_`` name."""
    if not rows or max(label for _, label in rows) <= 7:
        return False
    return not any(name.startswith("train_") and len(name.split(".")[0]) - len("train_") == 5 for name, _ in rows)


SOURCE = Source(
    name="RAF-DB",
    homepage="http://www.whdeng.cn/RAF/model1.html",
    terms="non-commercial research only, after the authors accept a signed agreement; no redistribution",
    terms_url="http://www.whdeng.cn/RAF/model1.html",
    terms_class="research-only-agreement",
    citation=r"""@inproceedings{li2017reliable,
  title = {Reliable Crowdsourcing and Deep Locality-Preserving Learning for Expression Recognition in the Wild},
  author = {Li, Shan and Deng, Weihong and Du, JunPing},
  booktitle = {Proceedings of the IEEE Conference on Computer Vision and Pattern Recognition (CVPR)},
  pages = {2584--2593},
  year = {2017}
}""",
)


class RafDB(Converter):
    source = SOURCE
    key = "rafdb"
    text_kind = "attributes"
    prefix = "rafdb"
    splits = {"train": f"{LABEL_FILES[0]}: train_*", "test": f"{LABEL_FILES[0]}: test_*"}
    native_files = (LABEL_FILES[0], f"{IMAGE_FOLDER}/")
    fake = "converters.fakes.rafdb"
    label_values = {"expression": tuple(e.lower() for e in EXPRESSIONS.values())}

    def records(self, root: DatasetRoot) -> Iterator[Outcome]:
        root = root.locate(*LABEL_FILES)
        rel = root.first_existing(*LABEL_FILES) or LABEL_FILES[0]
        on_disk = root.listing(IMAGE_FOLDER)
        url_base, path_base = root.url_of(IMAGE_FOLDER), root.source_path(IMAGE_FOLDER)
        rows: list[tuple[int, str, int | None]] = []  # (line number, name or the line, label or None)
        for number, line in root.lines(rel):
            fields = line.strip().rsplit(None, 1)
            good = len(fields) == 2 and fields[1].lstrip("-").isdigit() and len(fields[1]) < 20  # int() refuses 4300+ digits
            rows.append((number, fields[0], int(fields[1])) if good else (number, line, None))
        compound = is_compound_list([(name, label) for _, name, label in rows if label is not None])
        seen: dict[str, int] = {}
        for number, name, label in rows:
            if label is None:  # its first field counts as listed, so a later line of that name has its own id
                first = name.split()[0]
                sid = f"{first} ({rel} line {number})" if first in seen else first
                seen.setdefault(first, number)
                yield self.malformed(root, rel, number, name, "expected '<image name> <label>'", source_id=sid)
                continue
            aligned = aligned_name(name)
            image, source_path = f"{IMAGE_FOLDER}/{aligned}", f"{path_base}/{aligned}"
            if name in seen:
                yield self.reject(f"{name} ({rel} line {number})", source_path, Reasons.MALFORMED,
                                  f"{rel} line {number}: {name} repeats line {seen[name]}")
                continue
            seen[name] = number
            if compound or label in COMPOUND_LABELS:
                why = ": the list is RAF-DB compound's (labels up to 11, 4-digit train names)" if compound else ""
                yield self.filtered(name, source_path, COMPOUND, f"{rel} line {number}: label {label}{why}")
                continue
            if label not in EXPRESSIONS:
                yield self.reject(name, source_path, Reasons.UNKNOWN_LABEL, f"{rel} line {number}: label {label} is not 1..7")
                continue
            split = next((s for p, s in SPLIT_PREFIXES.items() if name.startswith(p)), None)
            if split is None:
                yield self.reject(name, source_path, Reasons.NO_SPLIT, f"{rel} line {number}: {name} starts with neither train_ nor test_")
                continue
            if image not in on_disk:
                yield self.reject(name, source_path, Reasons.IMAGE_MISSING, f"{image} not found ({rel} line {number})")
                continue
            yield FaceRecord(self.key, name, f"{url_base}/{aligned}", source_path, split,
                             {"expression": EXPRESSIONS[label].lower()}, (TEXTS[label],))
