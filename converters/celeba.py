"""CelebA: 40 binary attributes per aligned face -> ``celeba gender: ...; 5 o clock shadow: ...;``.

Layouts read (FORMATS.md section 1):

* official: ``Anno/list_attr_celeba.txt``, ``Eval/list_eval_partition.txt``,
  ``Img/img_align_celeba/000001.jpg``;
* flat: the same two text files and ``img_align_celeba/`` directly in the folder;
* Kaggle CSVs: ``list_attr_celeba.csv`` (header ``image_id,...``) and ``list_eval_partition.csv``,
  images in ``img_align_celeba/img_align_celeba/``.

``list_attr_celeba.txt`` starts with a count line and a header line with a trailing space; values
are right-aligned ``1`` / ``-1`` (so always split on white space)::

    000007.jpg 1 -1  1  1 -1 -1  1  1  1 -1 -1 -1  1 -1 -1 -1 -1 -1 -1 -1  1 -1 ...

``Male`` becomes ``gender: male|female`` first; the other 39 follow in header order as booleans.
An image named on two rows is rejected the second time (malformed).

Ids: ``photo_id`` is ``celeba:<file name>`` (the CelebA-HQ re-crops link to it, FORMATS.md
section 11); ``person_id`` is ``celeba:<identity>`` from ``Anno/identity_CelebA.txt`` when the copy has
it (``000001.jpg 2880``, no header). An identity line that does not parse rejects its record
(``malformed line``); an image the file does not list gets no person id.

Source and terms (`SOURCE`): taken from the CelebA page's agreement (non-commercial research and
educational purposes only), as stated on https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html; written
from what we know of the dataset's published terms, not verified offline and not re-checked online
(no network when it was written): check them there before using the data.
"""

from __future__ import annotations

from collections.abc import Iterator

from converters.base import Converter, DatasetRoot, Outcome
from schemas import Reasons, attribute_record, canonical
from schemas.source import Source

ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
    "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
    "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
    "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()
PARTITIONS = {"0": "train", "1": "val", "2": "test"}
VALUES = {"1": True, "-1": False}

_LAYOUTS = (
    # (attribute file, partition file, image folder candidates)
    ("Anno/list_attr_celeba.txt", "Eval/list_eval_partition.txt", ("Img/img_align_celeba", "img_align_celeba")),
    ("list_attr_celeba.txt", "list_eval_partition.txt", ("img_align_celeba", "Img/img_align_celeba")),
    ("list_attr_celeba.csv", "list_eval_partition.csv", ("img_align_celeba/img_align_celeba", "img_align_celeba")),
)
IDENTITY_FILES = ("Anno/identity_CelebA.txt", "identity_CelebA.txt")


SOURCE = Source(
    name="CelebA",
    homepage="https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
    terms="available for non-commercial research purposes only; no redistribution or commercial use of the images",
    terms_url="https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
    terms_class="research-only",
    citation=r"""@inproceedings{liu2015faceattributes,
  title = {Deep Learning Face Attributes in the Wild},
  author = {Liu, Ziwei and Luo, Ping and Wang, Xiaogang and Tang, Xiaoou},
  booktitle = {Proceedings of International Conference on Computer Vision (ICCV)},
  year = {2015}
}""",
)


class CelebA(Converter):
    source = SOURCE
    key = "celeba"
    text_kind = "attributes"
    prefix = "celeba"
    splits = {"train": "Eval/list_eval_partition.txt = 0", "val": "Eval/list_eval_partition.txt = 1", "test": "Eval/list_eval_partition.txt = 2"}
    native_files = ("Anno/list_attr_celeba.txt", "Eval/list_eval_partition.txt", "Img/img_align_celeba/")
    fake = "converters.fakes.celeba"
    label_values = {"gender": ("male", "female"), **{canonical(a): ("true", "false") for a in ATTRIBUTES if a != "Male"}}

    def records(self, root: DatasetRoot) -> Iterator[Outcome]:
        root = root.locate(*(layout[0] for layout in _LAYOUTS))
        attr_file, part_file, folders = next(layout for layout in _LAYOUTS if root.exists(layout[0]))
        images = next((f for f in folders if root.isdir(f)), folders[0])
        on_disk = root.listing(images)
        partition = dict(self._partition(root, part_file))
        seen: dict[str, str] = {}
        identity_file = root.first_existing(*IDENTITY_FILES)
        identities = dict(self._identities(root, identity_file)) if identity_file else {}
        for number, fields in self._rows(root, attr_file):
            name = fields[0]
            source_path = root.source_path(f"{images}/{name}")
            repeat = self.repeated(seen, name, f"line {number}", source_path, file=attr_file)
            if repeat:
                yield repeat
                continue
            if len(fields) != 1 + len(ATTRIBUTES):
                yield self.malformed(root, attr_file, number, " ".join(fields), f"expected 41 fields, got {len(fields)}")
                continue
            try:
                values = dict(zip(ATTRIBUTES, (VALUES[v] for v in fields[1:]), strict=True))
            except KeyError as err:
                yield self.reject(name, source_path, Reasons.UNKNOWN_LABEL, f"{attr_file} line {number}: value {err} is not 1 or -1")
                continue
            split = PARTITIONS.get(partition.get(name, ""))
            if split is None:
                yield self.reject(name, source_path, Reasons.NO_SPLIT, f"{name} has no valid row in {part_file}")
                continue
            if f"{images}/{name}" not in on_disk:
                yield self.reject(name, source_path, Reasons.IMAGE_MISSING, f"{images}/{name} not found")
                continue
            identity = identities.get(name, "")
            if identity.startswith("line "):
                yield self.reject(name, source_path, Reasons.MALFORMED, f"{identity_file} {identity}")
                continue
            labels: dict[str, bool | str] = {"gender": "male" if values["Male"] else "female"}
            labels.update((canonical(a), v) for a, v in values.items() if a != "Male")
            yield attribute_record(
                dataset=self.key, prefix=self.prefix, source_id=name, image=root.url_of(f"{images}/{name}"),
                source_path=source_path, split=split, labels=labels, photo_id=f"celeba:{name}",
                person_id=f"celeba:{identity}" if identity else "",
            )

    @staticmethod
    def _rows(root: DatasetRoot, rel: str) -> Iterator[tuple[int, list[str]]]:
        """Data rows of the attribute file: the count and header lines (or CSV header) skipped."""
        lines = root.lines(rel)
        if rel.endswith(".csv"):
            next(lines, None)
            for number, line in lines:
                yield number, [f.strip() for f in line.split(",")]
            return
        for number, line in lines:
            fields = line.split()
            if number <= 2 and (len(fields) == 1 and fields[0].isdigit() or fields and fields[0] == ATTRIBUTES[0]):
                continue  # the count line and the header line
            yield number, fields

    @staticmethod
    def _identities(root: DatasetRoot, rel: str) -> Iterator[tuple[str, str]]:
        """``(image, identity)`` per line; a line that does not parse gives ``(image, "line N: ...")``."""
        for number, line in root.lines(rel):
            fields = line.split()
            if len(fields) == 2 and fields[1].isdecimal():
                yield fields[0], str(int(fields[1]))
            elif fields:
                yield fields[0], f"line {number}: expected '<image> <identity number>', got {line[:80]!r}"

    @staticmethod
    def _partition(root: DatasetRoot, rel: str) -> Iterator[tuple[str, str]]:
        for number, line in root.lines(rel):
            fields = line.replace(",", " ").split()
            if len(fields) == 2 and not (number == 1 and fields[0] == "image_id"):
                yield fields[0], fields[1]
