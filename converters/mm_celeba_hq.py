"""Multi-Modal CelebA-HQ (TediGAN): 10 template descriptions per CelebA-HQ face -> one caption each.

Layout (FORMATS.md section 11): captions ``text/celeba-caption/<idx>.txt`` (also ``celeba-caption/``
or ``text/`` directly), the split lists ``train/filenames.pickle`` and ``test/filenames.pickle``, the
images ``image/<idx>.jpg``, or ``image/images/<idx>.jpg`` or CelebAMask-HQ's ``CelebA-HQ-img/<idx>.jpg``.
``<idx>`` is the CelebA-HQ index ``0`` .. ``29999``; zero-padded names (``000004.jpg``) are matched by
their number. A caption file holds one description per line (blank lines skipped; a file with fewer
or more than 10 keeps the lines it has)::

    She wears heavy makeup. She has mouth slightly open. She is smiling, and attractive.

The pickles are read without executing pickle code: `read_name_list` refuses every global but
``_codecs.encode`` (how protocols 0-2 write bytes; replaced by a str-to-bytes function that does
only that), so no class, function or ``__reduce__`` payload can run, and accepts only a list or tuple of strings (bytes
from Python 2 pickles are decoded as UTF-8), like ``['12345', '678']``; anything else raises
ConverterError naming the file. An index in both lists goes to test (the more held-out split).

One record per caption file, its source id the file's index as written (``27504``). Filtered: a
caption file with no non-blank line ``no caption``. Rejected: a file that is not UTF-8, an index in
neither pickle (``no split``), an image missing.

Source and terms (`SOURCE`): taken from the MM-CelebA-HQ repository's README (non-commercial
research purposes only), as stated on https://github.com/IIGROUP/MM-CelebA-HQ-Dataset; written from
what we know of the dataset's published terms, not verified offline and not re-checked online (no
network when it was written): check them there before using the data.
"""

from __future__ import annotations

import codecs
import io
import pickle
import posixpath
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping

from converters.base import Converter, ConverterError, DatasetRoot, Outcome
from schemas import FaceRecord, Reasons, Text, most_held_out, normalize_caption
from schemas.source import Source

CAPTION_FOLDERS = ("text/celeba-caption", "celeba-caption", "text")
SPLIT_FILES = {"train": "train/filenames.pickle", "test": "test/filenames.pickle"}
IMAGE_FOLDERS = ("image/images", "image", "CelebA-HQ-img")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
MARKERS = (*CAPTION_FOLDERS[:2], *SPLIT_FILES.values(), *IMAGE_FOLDERS)


def _latin1_bytes(text: object, encoding: object = "latin1") -> bytes:
    """``_codecs.encode`` as a protocol 0-2 pickle of bytes calls it, and nothing else: str to bytes."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refused _codecs.encode({type(text).__name__}, {encoding!r})")
    return text.encode("latin1")


class _NoGlobals(pickle.Unpickler):
    """An unpickler that can build lists, tuples, strings and numbers, and nothing that needs a global."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) == ("_codecs", "encode"):  # how protocols 0-2 write bytes: encode(str, "latin1")
            return _latin1_bytes
        raise pickle.UnpicklingError(
            f"refused to load the global {module}.{name}: only a plain list of file names is accepted"
        )

    def persistent_load(self, pid: object) -> object:
        raise pickle.UnpicklingError("refused a persistent id: only a plain list of file names is accepted")


def read_name_list(root: DatasetRoot, rel: str) -> list[str]:
    """The names in a ``filenames.pickle``, read without executing any pickle code.

    ConverterError naming the file when it holds anything but a list or tuple of str / bytes.
    """
    where = root.source_path(rel)
    try:
        value = _NoGlobals(io.BytesIO(root.read_bytes(rel)), encoding="bytes").load()
    except Exception as err:  # UnpicklingError, EOFError, ValueError, ... from a bad or hostile file
        raise ConverterError(f"{where}: not a plain pickled list of file names ({err}); refusing to read it") from err
    if not isinstance(value, list | tuple):
        raise ConverterError(f"{where}: holds a {type(value).__name__}, expected a list of file names")
    names = []
    for i, item in enumerate(value):
        if isinstance(item, bytes):
            try:
                item = item.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ConverterError(f"{where}: entry {i} {item!r} is not UTF-8") from err
        if not isinstance(item, str):
            raise ConverterError(f"{where}: entry {i} is a {type(item).__name__} ({item!r}), expected a file name")
        names.append(item)
    return names


def _decimal(digits: str) -> str:
    """A decimal string without leading zeros, as ``str(int(digits))`` but for any length (int() refuses 4300+)."""
    return "".join(str(unicodedata.decimal(c)) for c in digits).lstrip("0") or "0"


def index_of(name: str) -> str:
    """The image index a name refers to: ``'00012'``, ``'image/12.jpg'`` and ``'12'`` all give ``'12'``."""
    if name.isdecimal():
        return _decimal(name)
    stem = posixpath.splitext(posixpath.basename(name.strip().replace("\\", "/")))[0]
    return _decimal(stem) if stem.isdecimal() else stem


def hq_photo_id(idx: str) -> str:
    """The photo id of CelebA-HQ image `idx` (``celeba_hq:12``); the build links it to its CelebA original."""
    return f"celeba_hq:{idx}"


def image_index(root: DatasetRoot) -> tuple[str, dict[str, str]]:
    """This copy's CelebA-HQ image folder and its images by index (``'12'`` -> ``image/12.jpg``)."""
    folder = next((f for f in IMAGE_FOLDERS if root.isdir(f)), IMAGE_FOLDERS[1])
    index: dict[str, str] = {}
    files = [p for p in root.listing(folder) if posixpath.splitext(p)[1].lower() in IMAGE_EXTENSIONS]
    for path in sorted(files, key=lambda p: (not p.lower().endswith(".jpg"), p)):
        if posixpath.dirname(path) == folder:
            index.setdefault(index_of(path), path)
    return folder, index


def caption_files(root: DatasetRoot, folder: str) -> list[tuple[str, str]]:
    """``(caption file, its stem)`` of every ``.txt`` in `folder`, in index order (``2.txt`` before ``10.txt``)."""
    found = []
    for rel in root.listing(folder):
        folder_of, _, name = rel.rpartition("/")
        if name[-4:].lower() == ".txt" and folder_of == folder:
            stem = name[:-4]
            found.append((int(stem) if stem.isdecimal() else -1, rel, stem))
    return [(rel, stem) for _, rel, stem in sorted(found)]


def split_of_lists(
    root: DatasetRoot, split_files: Mapping[str, str], names: Callable[[DatasetRoot, str], Iterable[str]]
) -> dict[str, str]:
    """Image index -> split from per-split lists of image names, `names(root, rel)` reading one list.

    An index in several lists goes to the most held-out of their splits; ConverterError when no list exists.
    """
    present = {split: rel for split, rel in split_files.items() if root.exists(rel)}
    if not present:
        raise ConverterError(f"{root.source_path('')}: neither {' nor '.join(split_files.values())} found")
    split_of: dict[str, str] = {}
    for split, rel in present.items():
        for name in names(root, rel):
            idx = index_of(name)
            split_of[idx] = most_held_out([split, split_of.get(idx, split)])
    return split_of


def read_captions(root: DatasetRoot, rel: str, errors: str = "strict") -> list[str]:
    """The non-blank lines of a caption file, normalised; UnicodeDecodeError when not UTF-8 (strict)."""
    data = root.read_bytes(rel)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    return [c for c in map(normalize_caption, data.decode("utf-8", errors).splitlines()) if c]


SOURCE = Source(
    name="Multi-Modal-CelebA-HQ",
    homepage="https://github.com/IIGROUP/MM-CelebA-HQ-Dataset",
    terms="non-commercial research purposes only (images from CelebA-HQ, which inherits CelebA's terms)",
    terms_url="https://github.com/IIGROUP/MM-CelebA-HQ-Dataset",
    terms_class="research-only",
    citation=r"""@inproceedings{xia2021tedigan,
  title = {TediGAN: Text-Guided Diverse Face Image Generation and Manipulation},
  author = {Xia, Weihao and Yang, Yujiu and Xue, Jing-Hao and Wu, Baoyuan},
  booktitle = {Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  year = {2021}
}""",
)


class MmCelebaHq(Converter):
    source = SOURCE
    key = "mm_celeba_hq"
    text_kind = "caption"
    splits = dict(SPLIT_FILES)
    native_files = ("text/celeba-caption/", *SPLIT_FILES.values(), "image/")
    fake = "converters.fakes.mm_celeba_hq"

    def records(self, root: DatasetRoot) -> Iterator[Outcome]:
        root = root.locate(*MARKERS)
        text_folder = next((f for f in CAPTION_FOLDERS if root.isdir(f)), None)
        if text_folder is None:
            raise ConverterError(f"{root.source_path('')}: no caption folder, looked for {list(CAPTION_FOLDERS)}")
        split_of = self.split_lists(root)
        image_folder, images = image_index(root)
        for rel, sid in caption_files(root, text_folder):
            idx = index_of(sid)
            source_path = root.source_path(rel)
            try:
                lines = read_captions(root, rel)
            except UnicodeDecodeError as err:
                yield self.reject(sid, source_path, Reasons.MALFORMED, f"{rel}: not UTF-8 (byte {err.start})")
                continue
            if not lines:
                yield self.filtered(sid, source_path, "no caption", f"{rel} has no non-blank line")
                continue
            split = split_of.get(idx)
            if split is None:
                yield self.reject(sid, source_path, Reasons.NO_SPLIT,
                                  f"{idx} is in neither {SPLIT_FILES['train']} nor {SPLIT_FILES['test']}")
                continue
            image = images.get(idx)
            if image is None:
                expected = f"{image_folder}/{idx}.jpg"
                yield self.reject(sid, root.source_path(expected), Reasons.IMAGE_MISSING, f"{expected} not found (for {rel})")
                continue
            yield FaceRecord(self.key, sid, root.url_of(image), root.source_path(image), split, {},
                             tuple(Text("caption", line) for line in lines), photo_id=hq_photo_id(idx))

    @staticmethod
    def split_lists(root: DatasetRoot) -> dict[str, str]:
        """Image index -> split from the filename pickles (an index in both lists goes to test)."""
        return split_of_lists(root, SPLIT_FILES, read_name_list)
