"""FFHQ-Text: 9 manual descriptions per female FFHQ face -> one caption each.

FORMATS.md section 10 marks this format uncertain (the dataset is gated; only its README and public
loaders are known), so these documented variants are accepted:

* captions: ``Text/00_Female/<stem>.txt`` (the CUB / AttnGAN class-folder layout public loaders read),
  also ``text/00_Female/``, and ``Text/`` or ``text/`` holding the ``.txt`` files without a class folder;
* images: ``image/``, ``images/``, ``Image/`` or ``Images/``, with or without the class folder,
  ``<stem>.png`` (the release is PNG; ``.jpg`` / ``.jpeg`` copies are accepted too).

A caption file holds one description per line; blank lines are skipped, CRLF and a BOM are fine::

    The woman has long wavy blond hair, and she is smiling with her mouth slightly open.

The split is a stable hash of the image stem, 90/5/5 (LABELS.md). ``train/filenames.pickle`` and
``test/filenames.pickle`` (CUB style, ``00_Female/00012``) are informational and deliberately not read:
LABELS.md defines the split by the hash, and a pickle is never opened when it is not needed.
``images.txt`` and ``bounding_boxes.txt`` (unverified CUB-style lists) are not read either.

One record per caption file, its source id the image stem (``00012``). Filtered: a caption file
with no non-blank line ``no caption``. Rejected: a file that is not UTF-8, a stem whose caption file
appears twice (in two class folders), an image missing.

Source and terms (`SOURCE`): taken from NVIDIA's ffhq-dataset README (the dataset as a whole: CC
BY-NC-SA 4.0) and the FFHQ-Text repository, as stated on https://github.com/NVlabs/ffhq-dataset;
written from what we know of the dataset's published terms, not verified offline and not re-checked
online (no network when it was written): check them there before using the data.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from converters.base import Converter, ConverterError, DatasetRoot, Outcome
from converters.mm_celeba_hq import read_captions
from schemas import FaceRecord, Reasons, Text, stable_split
from schemas.source import Source

CAPTION_FOLDERS = ("Text", "text")
IMAGE_FOLDERS = ("image", "images", "Image", "Images")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
CLASS_FOLDER = "00_Female"


def stem_of(rel: str) -> str:
    return posixpath.splitext(posixpath.basename(rel))[0]


def image_index(root: DatasetRoot, folder: str | None) -> dict[str, str]:
    """Image stem -> image path under `folder`; a PNG directly in the folder wins over other copies."""
    if folder is None:
        return {}
    found = [p for p in root.listing(folder) if posixpath.splitext(p)[1].lower() in IMAGE_EXTENSIONS]
    index: dict[str, str] = {}
    for path in sorted(found, key=lambda p: (posixpath.splitext(p)[1].lower() != ".png", p.count("/"), p)):
        index.setdefault(stem_of(path), path)
    return index


SOURCE = Source(
    name="FFHQ-Text",
    homepage="https://github.com/Yutong-Zhou-cv/FFHQ-Text_Dataset",
    terms="FFHQ images: CC BY-NC-SA 4.0 by NVIDIA (each photo also under its Flickr licence); captions from the FFHQ-Text authors",
    terms_url="https://github.com/NVlabs/ffhq-dataset",
    terms_class="cc-by-nc-sa-4.0",
    citation=r"""@inproceedings{zhou2021generative,
  title = {Generative Adversarial Network for Text-to-Face Synthesis and Manipulation with Pretrained BERT Model},
  author = {Zhou, Yutong and Shimada, Nobutaka},
  booktitle = {IEEE International Conference on Automatic Face and Gesture Recognition (FG)},
  year = {2021}
}
@inproceedings{karras2019style,
  title = {A Style-Based Generator Architecture for Generative Adversarial Networks},
  author = {Karras, Tero and Laine, Samuli and Aila, Timo},
  booktitle = {Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  year = {2019}
}""",
)


class FfhqText(Converter):
    source = SOURCE
    key = "ffhq_text"
    text_kind = "caption"
    splits = {"train": "stable hash of the image stem: 90%", "val": "5%", "test": "5%"}
    native_files = ("Text/00_Female/", "image/")
    fake = "converters.fakes.ffhq_text"

    def records(self, root: DatasetRoot) -> Iterator[Outcome]:
        root = root.locate(*CAPTION_FOLDERS)
        text_folder = next((f for f in CAPTION_FOLDERS if root.isdir(f)), None)
        if text_folder is None:
            raise ConverterError(f"{root.source_path('')}: no caption folder, looked for {list(CAPTION_FOLDERS)}")
        image_folder = next((f for f in IMAGE_FOLDERS if root.isdir(f)), None)
        images = image_index(root, image_folder)
        seen: dict[str, str] = {}
        captions = sorted(p for p in root.listing(text_folder) if p.lower().endswith(".txt"))
        for rel in captions:
            stem = stem_of(rel)
            if stem in seen:
                yield self.reject(rel, root.source_path(rel), Reasons.MALFORMED,
                                  f"{rel}: a second caption file for image {stem!r} (first: {seen[stem]})")
                continue
            seen[stem] = rel
            try:
                lines = read_captions(root, rel)
            except UnicodeDecodeError as err:
                yield self.reject(stem, root.source_path(rel), Reasons.MALFORMED,
                                  f"{rel}: not UTF-8 (byte {err.start}); re-save it as UTF-8")
                continue
            if not lines:
                yield self.filtered(stem, root.source_path(rel), "no caption", f"{rel} has no non-blank line")
                continue
            image = images.get(stem)
            if image is None:
                expected = f"{image_folder or IMAGE_FOLDERS[0]}/{stem}.png"
                yield self.reject(stem, root.source_path(expected), Reasons.IMAGE_MISSING, f"{expected} not found (for {rel})")
                continue
            yield FaceRecord(
                self.key, stem, root.url_of(image), root.source_path(image), stable_split(stem), {},
                tuple(Text("caption", line) for line in lines),
            )
