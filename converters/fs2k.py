"""FS2K: photo attributes and mean lip/eye RGB -> ``fs2k gender: female; hair: true; ...; lip color: rosy brown;``.

Reads ``anno_train.json`` (train) and ``anno_test.json`` (test), each one JSON array of flat objects,
one per photo (FORMATS.md section 2); the photos ``photo/photoK/imageN.<ext>`` are the faces, the
sketches are not used. One entry as the real files write it::

    {"image_name": "photo1/image0110", "skin_color": [163, 139], "lip_color": [156.97750511247443, 82.51124744376278, 79.0], "eye_color": [118.65178571428571, 72.25892857142857, 69.59821428571429], "hair": 0, "hair_color": 2, "gender": 0, "earring": 1, "smile": 1, "frontal_face": 1, "style": 0}

Accepted variants and quirks:

* ``image_name`` has no extension; it is resolved against the listing of ``photo/`` case-insensitively
  (``.jpg``, ``.JPG``, ``.jpeg``, ``.png``; ``photo3/image0449.JPG`` is upper case in the real data).
  A name written with its extension is resolved the same way.
* ``skin_color`` (the data) or ``skin_patch`` (the README) or neither: a pixel coordinate, not a colour,
  never used in the text.
* ``earring`` and ``smile`` are inverted (0 = with earring / smiling); ``hair`` 0 = with hair;
  ``frontal_face`` 0 = within 30 degrees of frontal.
* A colour that is ``NaN`` (the JSON ``NaN`` literal, which Python's parser reads, or the string
  ``"nan"``), ``null``, ``""`` or ``[]`` drops that key only; any other shape is a malformed entry (reject).
* A colour is the nearest of webcolors' 147 CSS3 names (Euclidean in RGB) split into words
  (``rosybrown`` -> ``rosy brown``). Names that share one RGB value resolve as webcolors'
  ``rgb_to_name`` does: ``gray`` over ``grey`` (and ``cyan`` over ``aqua``, ``magenta`` over ``fuchsia``).
* The files may be in an extra top folder (``FS2K/``); an ``image_name`` repeated within or across
  the two files is rejected the second time (a source id must be unique).

Source and terms (`SOURCE`): taken from the FS2K repository's README (research use); the class is
our reading, as no licence file is recalled, as stated on https://github.com/DengPingFan/FS2K;
written from what we know of the dataset's published terms, not verified offline and not re-checked
online (no network when it was written): check them there before using the data.
"""

from __future__ import annotations

import json
import math
import posixpath
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import webcolors

from converters.base import Converter, ConverterError, DatasetRoot, Outcome
from schemas import LabelValue, Reasons, attribute_record
from schemas.source import Source

LABEL_FILES = {"train": "anno_train.json", "test": "anno_test.json"}
PHOTO_FOLDER = "photo"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")

# FS2K's label names (README) and what each value means.
GENDERS = {0: "male", 1: "female"}
HAIR = {0: True, 1: False}  # 0 = with hair
HAIR_COLORS = {0: "brown", 1: "black", 2: "red", 3: "no hair", 4: "golden"}
EARRING = {0: True, 1: False}  # inverted: 0 = with earring
SMILE = {0: True, 1: False}  # inverted: 0 = with smile
FRONTAL_FACE = {0: True, 1: False}  # 0 = head rotated less than 30 degrees
CODED = (  # (json key, text key, value map), in the text's key order (LABELS.md)
    ("gender", "gender", GENDERS),
    ("hair", "hair", HAIR),
    ("hair_color", "hair color", HAIR_COLORS),
    ("earring", "earring", EARRING),
    ("smile", "smile", SMILE),
    ("frontal_face", "frontal face", FRONTAL_FACE),
)
COLOURS = (("lip_color", "lip color"), ("eye_color", "eye color"))

# -- colour names -----------------------------------------------------------------------------
_WORDS = (
    "alice antique aqua aquamarine azure beige bisque black blanched almond blue violet brown burly wood "
    "cadet chartreuse chocolate coral cornflower cornsilk crimson cyan dark goldenrod gray green grey khaki "
    "magenta olive orange orchid red salmon sea slate turquoise deep pink sky dim dodger firebrick floral "
    "white forest fuchsia gainsboro ghost gold honeydew hot indian indigo ivory lavender blush lawn lemon "
    "chiffon light yellow lime linen maroon medium purple spring midnight mint cream misty rose moccasin "
    "navajo navy old lace drab pale papaya whip peach puff peru plum powder rosy royal saddle sandy shell "
    "sienna silver snow steel tan teal thistle tomato wheat smoke"
)
COLOUR_WORDS = frozenset(_WORDS.split())  # every word of the 147 CSS3 colour names


def split_colour_name(name: str) -> str:
    """A CSS colour name as words: the split into fewest words of `COLOUR_WORDS` (``rosybrown`` -> ``rosy brown``).

    Raises ValueError for a name that the word list cannot cover.
    """
    best: list[list[str] | None] = [[]] + [None] * len(name)  # best[i]: fewest words covering name[:i]
    for end in range(1, len(name) + 1):
        for start in range(end):
            head, word = best[start], name[start:end]
            if head is not None and word in COLOUR_WORDS:
                candidate = head + [word]
                if best[end] is None or len(candidate) < len(best[end]):  # type: ignore[arg-type]
                    best[end] = candidate
    words = best[-1]
    if not words:
        raise ValueError(f"colour name {name!r} cannot be split into words of COLOUR_WORDS; add its words there")
    return " ".join(words)


def _colour_table() -> tuple[np.ndarray, tuple[str, ...]]:
    """Every distinct CSS3 RGB value once, named as webcolors names it, with its name split into words."""
    by_rgb: dict[tuple[int, int, int], str] = {}
    for name in webcolors.names("css3"):
        rgb = tuple(webcolors.name_to_rgb(name))
        by_rgb.setdefault(rgb, webcolors.rgb_to_name(rgb, spec="css3"))  # type: ignore[arg-type]
    rgbs = sorted(by_rgb)
    return np.array(rgbs, dtype=np.float64), tuple(split_colour_name(by_rgb[rgb]) for rgb in rgbs)


_TABLE_RGB, _TABLE_NAMES = _colour_table()


def nearest_colours(rgbs: Sequence[Sequence[float]]) -> list[str]:
    """The nearest CSS3 named colour of each RGB triple, as words, in one numpy pass."""
    if not len(rgbs):
        return []
    points = np.asarray(rgbs, dtype=np.float64).reshape(-1, 1, 3)
    distance = ((points - _TABLE_RGB[np.newaxis]) ** 2).sum(axis=2)  # (colours, table)
    return [_TABLE_NAMES[i] for i in distance.argmin(axis=1).tolist()]


def nearest_colour(rgb: Sequence[float]) -> str:
    """The nearest CSS3 named colour to an RGB triple, as words (``(188, 143, 142)`` -> ``rosy brown``)."""
    return nearest_colours([rgb])[0]


# -- the converter ----------------------------------------------------------------------------
class _BadEntry(ValueError):
    def __init__(self, reason: str, what: str) -> None:
        super().__init__(what)
        self.reason = reason


def _rgb(value: Any) -> tuple[float, float, float] | None:
    """A colour field as an RGB triple, or None when the annotation has no colour (NaN, null, ``[]``)."""
    if value is None or value == [] or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and value.strip().lower() in ("nan", ""):  # a copy that wrote NaN as a string
        return None
    if not isinstance(value, list) or len(value) != 3:
        raise _BadEntry(Reasons.MALFORMED, f"colour {value!r} is not [R, G, B]")
    if not all(type(v) is float or type(v) is int for v in value):  # bool is not a number here
        raise _BadEntry(Reasons.MALFORMED, f"colour {value!r} is not numeric")
    red, green, blue = value
    if red != red or green != green or blue != blue:  # NaN
        return None
    if math.isinf(red) or math.isinf(green) or math.isinf(blue):
        raise _BadEntry(Reasons.MALFORMED, f"colour {value!r} is not finite")
    return (red, green, blue)


def colour_names(entries: list[Any]) -> dict[tuple[float, float, float], str]:
    """The colour name of every well-formed colour in a file's entries, matched in one pass."""
    rgbs: set[tuple[float, float, float]] = set()
    for entry in entries:
        for field, _ in COLOURS:
            try:
                rgb = _rgb(entry.get(field)) if isinstance(entry, dict) else None
            except _BadEntry:
                continue  # entry_labels rejects it
            if rgb is not None:
                rgbs.add(rgb)
    ordered = sorted(rgbs)
    return dict(zip(ordered, nearest_colours(ordered)))


def entry_labels(entry: Mapping[str, Any], names: Mapping[tuple[float, float, float], str] | None = None) -> dict[str, LabelValue]:
    """The typed labels of one annotation entry, in text order; raises _BadEntry naming the field.

    `names` holds colours already matched (`colour_names`); others are matched here.
    """
    labels: dict[str, LabelValue] = {}
    for field, key, values in CODED:
        value = entry.get(field)
        if value is None:
            raise _BadEntry(Reasons.MALFORMED, f"field {field!r} is missing")
        if isinstance(value, bool) or not isinstance(value, int):
            raise _BadEntry(Reasons.MALFORMED, f"{field} {value!r} is not an integer")
        if value not in values:
            raise _BadEntry(Reasons.UNKNOWN_LABEL, f"{field} {value!r} is not one of {sorted(values)}")
        labels[key] = values[value]
    style = entry.get("style")
    if isinstance(style, bool) or not isinstance(style, int):
        raise _BadEntry(Reasons.MALFORMED, f"style {style!r} is not an integer")
    labels["style"] = style
    for field, key in COLOURS:
        rgb = _rgb(entry.get(field))
        if rgb is not None:
            labels[key] = names[rgb] if names and rgb in names else nearest_colour(rgb)
    return labels


SOURCE = Source(
    name="FS2K",
    homepage="https://github.com/DengPingFan/FS2K",
    terms="released for non-commercial academic research; the photos come from other face datasets with their own terms",
    terms_url="https://github.com/DengPingFan/FS2K",
    terms_class="research-only",
    citation=r"""@article{fan2022fs2k,
  title = {Facial-Sketch Synthesis: A New Challenge},
  author = {Fan, Deng-Ping and Huang, Ziling and Zheng, Peng and Liu, Hong and Qin, Xuebin and Van Gool, Luc},
  journal = {Machine Intelligence Research},
  year = {2022}
}""",
)


class FS2K(Converter):
    source = SOURCE
    key = "fs2k"
    text_kind = "attributes"
    prefix = "fs2k"
    splits = {"train": LABEL_FILES["train"], "test": LABEL_FILES["test"]}
    native_files = (LABEL_FILES["train"], LABEL_FILES["test"], "photo/")
    fake = "converters.fakes.fs2k"
    label_values = {"gender": tuple(GENDERS.values())}

    def records(self, root: DatasetRoot) -> Iterator[Outcome]:
        root = root.locate(*LABEL_FILES.values())
        photos = self._photos(root)
        seen: dict[str, str] = {}
        for split, rel in LABEL_FILES.items():
            if not root.exists(rel):
                continue
            entries = self._entries(root, rel)
            names = colour_names(entries)
            for index, entry in enumerate(entries):
                where = f"{rel} entry {index}"
                name = entry.get("image_name") if isinstance(entry, dict) else None
                if not isinstance(name, str) or not name.strip():
                    yield self.reject(f"{rel}#{index}", root.source_path(rel), Reasons.MALFORMED,
                                      f"{where}: no image_name in {str(entry)[:120]!r}")
                    continue
                stem = posixpath.join(PHOTO_FOLDER, name.strip().strip("/"))
                if posixpath.splitext(stem)[1].lower() in IMAGE_EXTENSIONS:
                    stem = posixpath.splitext(stem)[0]  # a copy that wrote the extension
                repeat = self.repeated(seen, name, where, root.source_path(stem), shown=f"image_name {name!r}")
                if repeat:
                    yield repeat
                    continue
                try:
                    labels = entry_labels(entry, names)
                except _BadEntry as err:
                    yield self.reject(name, root.source_path(stem), err.reason, f"{where} ({name}): {err}")
                    continue
                image = photos.get(stem.lower())
                if image is None:
                    yield self.reject(name, root.source_path(stem), Reasons.IMAGE_MISSING,
                                      f"no {stem}{{{','.join(IMAGE_EXTENSIONS)}}} for {where}")
                    continue
                yield attribute_record(
                    dataset=self.key, prefix=self.prefix, source_id=name, image=root.url_of(image),
                    source_path=root.source_path(image), split=split, labels=labels,
                )

    @staticmethod
    def _entries(root: DatasetRoot, rel: str) -> list[Any]:
        try:
            entries = json.loads(root.read_text(rel))  # Python's parser reads the NaN literal as float nan
        except json.JSONDecodeError as err:
            raise ConverterError(f"{root.source_path(rel)} is not valid JSON ({err}); re-download it") from err
        if not isinstance(entries, list):
            raise ConverterError(f"{root.source_path(rel)} holds a {type(entries).__name__}, expected a JSON array")
        return entries

    @staticmethod
    def _photos(root: DatasetRoot) -> dict[str, str]:
        """Lower-cased ``photo/photoK/imageN`` -> the photo's path on disk with its own extension."""
        found: dict[str, str] = {}
        for path in sorted(root.listing(PHOTO_FOLDER)):
            stem, ext = posixpath.splitext(path)
            if ext.lower() in IMAGE_EXTENSIONS:
                found.setdefault(stem.lower(), path)
        return found
