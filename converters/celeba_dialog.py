"""CelebA-Dialog (Talk-to-Edit): an overall caption per face -> one caption, plus five fine-grained levels.

Two releases are read (FORMATS.md section 13):

* CelebA release: ``celeba_caption/captions.json``, ``train_attr_list.txt``, ``val_attr_list.txt``,
  ``test_attr_list.txt``, ``combined_annotation.txt`` (one header line), images = CelebA's
  ``img_align_celeba``: looked for in this folder first (``img_align_celeba/``, ``Img/img_align_celeba/``),
  then in ``celeba/`` beside it (``Img/img_align_celeba/``, ``img_align_celeba/`` or the Kaggle
  ``img_align_celeba/img_align_celeba/``), so a face CelebA and CelebA-Dialog share is one sample;
* HQ release: ``text/captions_hq.json``, images ``image/<idx>.jpg`` (then MM-CelebA-HQ's images);
  its attribute lists are read beside the JSON or at the top of the folder.

``captions.json`` is an object keyed by image file name::

    "000001.jpg": {"attribute_wise_captions": {"Bangs": "...", "Eyeglasses": "...", "No_Beard": "",
                   "Smiling": "...", "Young": "..."}, "overall_caption": "This lady has no eyeglasses ..."}

and an attribute list line is ``<image> <Bangs> <Eyeglasses> <No_Beard> <Smiling> <Young>``::

    000001.jpg 0 0 0 2 1

One record per ``captions.json`` entry (its key is the source id): ``overall_caption`` -> one caption
(the attribute-wise captions are not used, LABELS.md); the five levels become typed int labels
``bangs``, ``eyeglasses``, ``beard``, ``smiling``, ``age`` (0..5; ``No_Beard`` measures beard length and
``Young`` age, hence the names). Split: the attr list that names the image; an image in none of them
is split by a stable hash of its name and takes its levels from ``combined_annotation.txt`` (or has
none). Filtered: a missing, null or empty overall caption ``no caption``. Rejected: an entry that is
not an object or whose caption is not a string, a levels line that does not parse (``malformed line``)
or has a level outside 0..5 (``unknown label``), a missing image.

Images listed in the attr lists but absent from the JSON (the HQ release lacks ``5380.jpg``) are not
records of ``captions.json``, so they are not read and not counted: no caption exists to write.

Source and terms (`SOURCE`): taken from the Talk-to-Edit project page and repository (CelebA-Dialog
for non-commercial research purposes only), as stated on https://github.com/yumingj/Talk-to-Edit;
written from what we know of the dataset's published terms, not verified offline and not re-checked
online (no network when it was written): check them there before using the data.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator

from converters.base import Converter, ConverterError, DatasetRoot, Outcome
from converters.mm_celeba_hq import MARKERS as HQ_MARKERS
from converters.mm_celeba_hq import image_index, index_of
from schemas import FaceRecord, Reasons, Reject, Text, most_held_out, normalize_caption, stable_split
from schemas.source import Source

CAPTION_FILES = ("celeba_caption/captions.json", "text/captions_hq.json", "captions.json", "captions_hq.json",
                 "text_hq/captions_hq.json")
LEVELS = ("Bangs", "Eyeglasses", "No_Beard", "Smiling", "Young")
LABEL_NAMES = ("bangs", "eyeglasses", "beard", "smiling", "age")
MIN_LEVEL, MAX_LEVEL = 0, 5
ATTR_LISTS = {"train": "train_attr_list.txt", "val": "val_attr_list.txt", "test": "test_attr_list.txt"}
COMBINED = "combined_annotation.txt"
OWN_IMAGE_FOLDERS = ("image", "img_align_celeba", "Img/img_align_celeba")
CELEBA = "celeba"  # the dataset whose img_align_celeba the CelebA release uses
CELEBA_MARKERS = ("Img/img_align_celeba", "img_align_celeba", "Anno/list_attr_celeba.txt", "list_attr_celeba.txt",
                  "list_attr_celeba.csv")
CELEBA_IMAGE_FOLDERS = ("Img/img_align_celeba", "img_align_celeba/img_align_celeba", "img_align_celeba")
HQ_IMAGES = "mm_celeba_hq"  # where CelebA-HQ images ship, for the HQ release
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")

Levels = tuple[int, ...]


class _Pairs(list):
    """A JSON object as its list of (key, value) pairs, so a repeated key is seen rather than lost."""


def parse_levels(line: str) -> tuple[str, Levels | None, str, str]:
    """``(image, levels, reason, fault)`` of a levels line; levels None when the line is bad."""
    fields = line.split()
    if len(fields) != 1 + len(LEVELS):
        return (fields[0] if fields else "", None, Reasons.MALFORMED, f"expected {1 + len(LEVELS)} fields, got {len(fields)}")
    levels = []
    for name, value in zip(LEVELS, fields[1:]):
        try:
            number = float(value)
        except ValueError:
            return fields[0], None, Reasons.MALFORMED, f"{name} {value!r} is not a number"
        if not number.is_integer():
            return fields[0], None, Reasons.MALFORMED, f"{name} {value!r} is not a whole number"
        if not MIN_LEVEL <= number <= MAX_LEVEL:
            return fields[0], None, Reasons.UNKNOWN_LABEL, f"{name} level {value} is outside {MIN_LEVEL}..{MAX_LEVEL}"
        levels.append(int(number))
    return fields[0], tuple(levels), "", ""


def is_header(line: str) -> bool:
    """A header (or count) line: its first field is no image name, and some other field is no number or there is none."""
    fields = line.split()
    if not fields or posixpath.splitext(fields[0])[1].lower() in IMAGE_EXTENSIONS:
        return False
    try:
        [float(f) for f in fields[1:]]
    except ValueError:
        return True
    return not fields[1:]


SOURCE = Source(
    name="CelebA-Dialog",
    homepage="https://mmlab-ntu.github.io/project/talkedit/",
    terms="non-commercial research purposes only (annotations over CelebA images, under CelebA's terms)",
    terms_url="https://github.com/yumingj/Talk-to-Edit",
    terms_class="research-only",
    citation=r"""@inproceedings{jiang2021talk,
  title = {Talk-to-Edit: Fine-Grained Facial Editing via Dialog},
  author = {Jiang, Yuming and Huang, Ziqi and Pan, Xingang and Loy, Chen Change and Liu, Ziwei},
  booktitle = {Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV)},
  year = {2021}
}""",
)


class CelebaDialog(Converter):
    source = SOURCE
    key = "celeba_dialog"
    text_kind = "caption"
    splits = {split: f"{rel} (an image in none of them: stable hash of its name)" for split, rel in ATTR_LISTS.items()}
    native_files = (CAPTION_FILES[0], *ATTR_LISTS.values(), COMBINED)
    fake = "converters.fakes.celeba_dialog"

    def records(self, root: DatasetRoot) -> Iterator[Outcome]:
        root = root.locate(*CAPTION_FILES)
        caption_file = next(rel for rel in CAPTION_FILES if root.exists(rel))
        entries = self.read_captions(root, caption_file)
        levels = self.read_levels(root, posixpath.dirname(caption_file))
        hq = "hq" in posixpath.basename(caption_file)
        own = [(f, root.listing(f)) for f in OWN_IMAGE_FOLDERS if root.isdir(f)]
        shared = self.shared_images(root, hq)
        seen: set[str] = set()
        for number, (name, entry) in enumerate(entries, start=1):
            source_path = root.source_path(caption_file)
            if name in seen:
                yield self.reject(f"{name} (entry {number})", source_path, Reasons.MALFORMED,
                                  f"{caption_file} entry {number}: key {name!r} appears a second time")
                continue
            seen.add(name)
            if not isinstance(entry, dict):
                yield self.reject(name, source_path, Reasons.MALFORMED,
                                  f"{caption_file} entry {name!r}: a {type(entry).__name__}, expected an object")
                continue
            caption = entry.get("overall_caption")
            if caption is not None and not isinstance(caption, str):
                yield self.reject(name, source_path, Reasons.MALFORMED,
                                  f"{caption_file} entry {name!r}: overall_caption is a {type(caption).__name__}")
                continue
            text = normalize_caption(caption or "")
            if not text:
                what = "missing" if "overall_caption" not in entry else "null" if caption is None else "empty"
                yield self.filtered(name, source_path, "no caption", f"{caption_file} entry {name!r}: overall_caption {what}")
                continue
            split, row = levels.get(name, (None, None))
            if isinstance(row, Reject):
                yield row
                continue
            image = self.find_image(root, own, shared, name)
            if image is None:
                expected = f"{own[0][0] if own else OWN_IMAGE_FOLDERS[0 if hq else 1]}/{name}"
                where = f" nor in {shared[0].source_path('')}" if shared is not None else ""
                yield self.reject(name, root.source_path(expected), Reasons.IMAGE_MISSING, f"{expected} not found{where}")
                continue
            url, image_source = image
            labels = dict(zip(LABEL_NAMES, row, strict=True)) if row is not None else {}
            photo = f"celeba_hq:{index_of(name)}" if hq else f"celeba:{name}"
            yield FaceRecord(self.key, name, url, image_source, split or stable_split(name), labels,
                             (Text("caption", text),), photo_id=photo)

    @staticmethod
    def read_captions(root: DatasetRoot, rel: str) -> list[tuple[str, object]]:
        """The captions JSON's ``(image name, entry)`` pairs in file order, a repeated key kept (to be rejected).

        Entries that are JSON objects come back as dicts; ConverterError when the file is not an object.
        """
        try:
            top = json.loads(root.read_text(rel), object_pairs_hook=_Pairs)
        except json.JSONDecodeError as err:
            raise ConverterError(f"{root.source_path(rel)}: not JSON (line {err.lineno}: {err.msg})") from err
        if not isinstance(top, _Pairs):
            raise ConverterError(f"{root.source_path(rel)}: a {type(top).__name__}, expected an object keyed by image name")
        return [(name, dict(entry) if isinstance(entry, _Pairs) else entry) for name, entry in top]

    def read_levels(self, root: DatasetRoot, json_folder: str) -> dict[str, tuple[str | None, Levels | Reject | None]]:
        """Image name -> (split or None, its levels or the Reject of its bad line), from every list found.

        ``combined_annotation.txt`` is read first (levels, no split), then the train, val and test lists,
        whose rows win; an image in two lists goes to the more held-out one, with that list's levels.
        """
        out: dict[str, tuple[str | None, Levels | Reject | None]] = {}
        for split, base in ((None, COMBINED), *ATTR_LISTS.items()):
            rel = next((r for r in dict.fromkeys((base, posixpath.join(json_folder, base))) if root.exists(r)), None)
            if rel is None:
                continue
            for number, line in root.lines(rel):
                if number == 1 and is_header(line):
                    continue
                name, values, reason, fault = parse_levels(line)
                row: Levels | Reject | None = values
                if values is None:
                    row = self.reject(name or f"{rel} line {number}", root.source_path(rel), reason,
                                      f"{rel} line {number}: {fault}: {line[:120]!r}")
                if split is None:
                    out.setdefault(name, (None, row))
                else:
                    before = out.get(name, (None, None))[0]
                    out[name] = (most_held_out([before, split]) if before else split, row)
        return out

    @staticmethod
    def shared_images(root: DatasetRoot, hq: bool) -> tuple[DatasetRoot, str, frozenset[str] | dict[str, str]] | None:
        """The folder of the dataset that ships these images: CelebA's ``img_align_celeba`` or MM-CelebA-HQ's."""
        sibling = root.sibling(HQ_IMAGES if hq else CELEBA)
        if sibling is None:
            return None
        try:
            sibling = sibling.locate(*(HQ_MARKERS if hq else CELEBA_MARKERS))
        except ConverterError:
            return None
        if hq:
            folder, index = image_index(sibling)
            return sibling, folder, index
        folder = next((f for f in CELEBA_IMAGE_FOLDERS if sibling.isdir(f)), CELEBA_IMAGE_FOLDERS[0])
        return sibling, folder, sibling.listing(folder)

    @staticmethod
    def find_image(root: DatasetRoot, own: list[tuple[str, frozenset[str]]],
                   shared: tuple[DatasetRoot, str, frozenset[str] | dict[str, str]] | None,
                   name: str) -> tuple[str, str] | None:
        """``(url, source path)`` of an image: this folder first, then the sibling dataset's folder."""
        for folder, on_disk in own:
            rel = f"{folder}/{name}"
            if rel in on_disk:
                return root.url_of(rel), root.source_path(rel)
        if shared is not None:
            sibling, folder, found = shared
            if isinstance(found, dict):  # MM-CelebA-HQ's images, by index
                hit = found.get(index_of(name))
            else:
                hit = f"{folder}/{name}" if f"{folder}/{name}" in found else None
            if hit is not None:
                return sibling.url_of(hit), sibling.source_path(hit)
        return None
