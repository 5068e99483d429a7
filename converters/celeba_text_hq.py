"""CelebAText-HQ (SEA-T2F): 10 manual descriptions per CelebA-HQ face -> one caption each.

Layout expected by the official code (FORMATS.md section 12): captions ``captions/<idx>.txt``, the
split lists ``data_flist/train.flist`` and ``data_flist/test.flist`` (one image path per line, of
which only the file name counts), images ``CelebAimg/<idx>.jpg``. The download has no images: users
copy the CelebA-HQ images in (LABELS.md), so an image is looked for in this folder's ``CelebAimg/``
first, then in the folder of the dataset that ships CelebA-HQ images, MM-CelebA-HQ (``mm_celeba_hq/``
beside this one: ``image/``, ``image/images/`` or ``CelebA-HQ-img/``). A flist line::

    ../data/CelebAimg/12.jpg

Some caption files hold bytes that are not UTF-8 (full-width punctuation in another encoding). As
the official code does, bytes are decoded as UTF-8 with replacement and each ``U+FFFD U+FFFD`` pair
becomes one space; a lone U+FFFD stays. Lines are stripped, blank ones skipped, all of them kept
(the official code uses the first 10)::

    The woman has long black hair and thin arched eyebrows, her mouth is slightly open.

One record per caption file, its source id the file's index as written (``12``). Filtered: a caption
file with no non-blank line ``no caption``. Rejected: an index in neither flist (``no split``), an
image in neither folder (``image missing``). An index in both flists goes to test.

Source and terms (`SOURCE`): taken from the SEA-T2F repository that distributes CelebAText-HQ, and
CelebA's terms for the images, as stated on https://github.com/cripac-sjx/SEA-T2F; written from what
we know of the dataset's published terms, not verified offline and not re-checked online (no network
when it was written): check them there before using the data.
"""

from __future__ import annotations

import codecs
import posixpath
from collections.abc import Iterator

from converters.base import Converter, ConverterError, DatasetRoot, Outcome
from converters.mm_celeba_hq import MARKERS as HQ_MARKERS
from converters.mm_celeba_hq import caption_files, hq_photo_id, image_index, index_of, split_of_lists
from schemas import FaceRecord, Reasons, Text, normalize_caption
from schemas.source import Source

CAPTION_FOLDER = "captions"
SPLIT_FILES = {"train": "data_flist/train.flist", "test": "data_flist/test.flist"}
IMAGE_FOLDER = "CelebAimg"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
HQ_IMAGES = "mm_celeba_hq"  # the dataset that ships the CelebA-HQ images
MISENCODED = "\ufffd\ufffd"


def decode_captions(data: bytes) -> list[str]:
    """Caption lines of a file's bytes: UTF-8 with replacement, U+FFFD pairs -> one space, blanks dropped."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    text = data.decode("utf-8", errors="replace").replace(MISENCODED, " ")
    return [c for c in map(normalize_caption, text.splitlines()) if c]


SOURCE = Source(
    name="CelebAText-HQ",
    homepage="https://github.com/cripac-sjx/SEA-T2F",
    terms="research use; captions over CelebA-HQ images, which inherit CelebA's non-commercial research terms",
    terms_url="https://github.com/cripac-sjx/SEA-T2F",
    terms_class="research-only",
    citation=r"""@inproceedings{sun2021multi,
  title = {Multi-caption Text-to-Face Synthesis: Dataset and Algorithm},
  author = {Sun, Jianxin and Li, Qi and Wang, Weining and Zhao, Jian and Sun, Zhenan},
  booktitle = {Proceedings of the 29th ACM International Conference on Multimedia},
  year = {2021}
}""",
)


class CelebaTextHq(Converter):
    source = SOURCE
    key = "celeba_text_hq"
    text_kind = "caption"
    splits = dict(SPLIT_FILES)
    native_files = ("captions/", *SPLIT_FILES.values(), "CelebAimg/")
    fake = "converters.fakes.celeba_text_hq"

    def records(self, root: DatasetRoot) -> Iterator[Outcome]:
        root = root.locate(CAPTION_FOLDER, *SPLIT_FILES.values())
        if not root.isdir(CAPTION_FOLDER):
            raise ConverterError(f"{root.source_path('')}: no {CAPTION_FOLDER}/ folder of <idx>.txt files")
        split_of = self.split_lists(root)
        own = self.own_images(root)
        shared = self.shared_images(root)
        for rel, sid in caption_files(root, CAPTION_FOLDER):
            idx = index_of(sid)
            source_path = root.source_path(rel)
            lines = decode_captions(root.read_bytes(rel))
            if not lines:
                yield self.filtered(sid, source_path, "no caption", f"{rel} has no non-blank line")
                continue
            split = split_of.get(idx)
            if split is None:
                yield self.reject(sid, source_path, Reasons.NO_SPLIT,
                                  f"{idx}.jpg is in neither {SPLIT_FILES['train']} nor {SPLIT_FILES['test']}")
                continue
            texts = tuple(Text("caption", line) for line in lines)
            if idx in own:
                image = own[idx]
                yield FaceRecord(self.key, sid, root.url_of(image), root.source_path(image), split, {}, texts,
                                 photo_id=hq_photo_id(idx))
            elif shared is not None and idx in shared[1]:
                hq, images = shared
                yield FaceRecord(self.key, sid, hq.url_of(images[idx]), hq.source_path(images[idx]), split, {}, texts,
                                 photo_id=hq_photo_id(idx))
            else:
                expected = f"{IMAGE_FOLDER}/{idx}.jpg"
                where = f" nor in {shared[0].source_path('')}" if shared is not None else f" and no {HQ_IMAGES}/ folder"
                yield self.reject(sid, root.source_path(expected), Reasons.IMAGE_MISSING, f"{expected} not found{where}")

    @staticmethod
    def split_lists(root: DatasetRoot) -> dict[str, str]:
        """Image index -> split from the flists (the file name of each line; an index in both goes to test)."""
        return split_of_lists(root, SPLIT_FILES, lambda r, rel: (line for _, line in r.lines(rel, errors="replace")))

    @staticmethod
    def own_images(root: DatasetRoot) -> dict[str, str]:
        """Images copied into ``CelebAimg/``, by index."""
        index: dict[str, str] = {}
        files = [p for p in root.listing(IMAGE_FOLDER) if posixpath.splitext(p)[1].lower() in IMAGE_EXTENSIONS]
        for path in sorted(files, key=lambda p: (not p.lower().endswith(".jpg"), p)):
            if posixpath.dirname(path) == IMAGE_FOLDER:
                index.setdefault(index_of(path), path)
        return index

    @staticmethod
    def shared_images(root: DatasetRoot) -> tuple[DatasetRoot, dict[str, str]] | None:
        """MM-CelebA-HQ's folder and its images by index, or None when that dataset is absent."""
        sibling = root.sibling(HQ_IMAGES)
        if sibling is None:
            return None
        try:
            sibling = sibling.locate(*HQ_MARKERS)
        except ConverterError:
            return None
        return sibling, image_index(sibling)[1]
