"""The converter plug-in surface: `Converter`, `DatasetRoot`, and the registry they join.

A converter is one module: a subclass of `Converter` with the dataset's key, its label vocabulary
as constants, which native files feed which split, and `records(root)`, a generator of
`FaceRecord` / `Filtered` / `Reject`. Defining the subclass registers it; a duplicate key raises.
A converter knows file formats and labels only: no Beam, no tokenizer, no serialization.
"""

from __future__ import annotations

import codecs
import importlib
import os
import posixpath
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any, ClassVar

import fsspec
from fsspec.implementations.local import LocalFileSystem

from schemas import FaceRecord, Filtered, Reasons, Reject
from schemas.source import Source

Outcome = FaceRecord | Filtered | Reject

_REGISTRY: dict[str, type[Converter]] = {}


class ConverterError(RuntimeError):
    """A dataset folder that a converter cannot read at all (not one bad row: those are rejects)."""


class DatasetRoot:
    """A dataset's folder on any fsspec filesystem, with the reading helpers converters share.

    `name` is the dataset key the folder belongs to; `source_path(rel)` is ``<name>/<rel>``, the
    image path relative to the input root that outputs record. `siblings` maps other dataset keys
    to their folders, for datasets whose images ship with another dataset (LABELS.md).
    """

    def __init__(self, url: str, name: str, siblings: Mapping[str, str] | None = None, _sub: str = "") -> None:
        self.url = url.rstrip("/") if url not in ("/", "") else url
        self.name = name
        self.siblings = dict(siblings or {})
        self.sub = _sub  # the extra top folder accepted below the dataset folder, if any
        self.fs, self._base = fsspec.core.url_to_fs(self.url)
        self._listings: dict[str, frozenset[str]] = {}
        self._local = isinstance(self.fs, LocalFileSystem)

    # -- paths ------------------------------------------------------------------------------
    def _full(self, rel: str) -> str:
        parts = [p for p in (self._base, self.sub, rel) if p]
        return posixpath.join(*parts) if parts else "/"

    def url_of(self, rel: str) -> str:
        """The URL the image loader opens for `rel` (a plain path for local files)."""
        full = self._full(rel)
        return full if self._local else self.fs.unstrip_protocol(full)

    def source_path(self, rel: str) -> str:
        """`rel` relative to the input root: ``<dataset key>/<extra top folder>/<rel>``."""
        return posixpath.join(*[p for p in (self.name, self.sub, rel) if p])

    # -- files ------------------------------------------------------------------------------
    def exists(self, rel: str) -> bool:
        return bool(self.fs.exists(self._full(rel)))

    def isdir(self, rel: str) -> bool:
        return bool(self.fs.isdir(self._full(rel)))

    def open(self, rel: str, mode: str = "rb") -> IO[Any]:
        return self.fs.open(self._full(rel), mode)

    def read_bytes(self, rel: str) -> bytes:
        if self._local:  # fsspec's per-call overhead dominates for many small local files
            with open(self._full(rel), "rb") as f:
                return f.read()
        with self.open(rel) as f:
            return f.read()

    def read_text(self, rel: str, errors: str = "strict") -> str:
        """Read a text file as UTF-8 (a BOM is dropped); `errors` as for `bytes.decode`."""
        data = self.read_bytes(rel)
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        try:
            return data.decode("utf-8", errors=errors)
        except UnicodeDecodeError as err:
            raise ConverterError(
                f"{self.source_path(rel)} is not UTF-8 (byte {err.start}); re-save it as UTF-8"
            ) from err

    def lines(self, rel: str, errors: str = "strict") -> Iterator[tuple[int, str]]:
        """Yield ``(line number, line)`` with CRLF/LF and trailing white space removed; blank lines skipped.

        Lines end at ``\n``, ``\r\n`` or ``\r`` only (as text-mode ``open`` reads them), not at the other
        characters `str.splitlines` splits on (U+2028, U+0085, ``\x1c``, ...), which may sit in a field.
        """
        text = self.read_text(rel, errors=errors).replace("\r\n", "\n").replace("\r", "\n")
        for number, line in enumerate(text.split("\n"), start=1):
            line = line.rstrip()
            if line:
                yield number, line

    def listing(self, rel: str = "") -> frozenset[str]:
        """Every file below `rel`, as paths relative to this dataset folder (listed once, then cached)."""
        if rel not in self._listings:
            top = self._full(rel)
            base = self._full("")
            found: set[str] = set()
            if self._local and os.path.isdir(top):  # os.walk is ~10x faster than fs.find for 500k files
                for folder, _, files in os.walk(top):
                    prefix = os.path.relpath(folder, base)
                    prefix = "" if prefix == "." else prefix.replace(os.sep, "/") + "/"
                    found.update(prefix + name for name in files)
            elif self.fs.isdir(top):
                for path in self.fs.find(top):
                    path = path.split("://", 1)[-1] if "://" in path else path
                    found.add(posixpath.relpath(path, base) if base not in ("", "/") else path.lstrip("/"))
            self._listings[rel] = frozenset(found)
        return self._listings[rel]

    def first_existing(self, *candidates: str) -> str | None:
        """The first of several relative paths that exists (e.g. a misspelt and a correct file name)."""
        for rel in candidates:
            if self.exists(rel):
                return rel
        return None

    def locate(self, *markers: str) -> DatasetRoot:
        """This folder, or its one extra top folder (`AFAD-Full/`, `basic/`), whichever holds a marker.

        Archives often unpack into one more folder than the dataset's documentation shows; a
        converter calls this with the files it needs and then reads relative to what it gets.
        Raises ConverterError listing what it looked for.
        """
        for marker in markers:
            if self.exists(marker):
                return self
        children = sorted(
            posixpath.basename(p.rstrip("/"))
            for p in self.fs.ls(self._full(""), detail=False)
            if self.fs.isdir(p)
        ) if self.fs.isdir(self._full("")) else []
        for child in children:
            for marker in markers:
                if self.fs.exists(self._full(posixpath.join(child, marker))):
                    sub = posixpath.join(self.sub, child) if self.sub else child
                    return DatasetRoot(self.url, self.name, self.siblings, _sub=sub)
        raise ConverterError(
            f"{self.name}: none of {list(markers)} found in {self.url} or one folder below it; "
            f"point --dataset {self.name}=PATH at the folder the dataset unpacked to"
        )

    def sibling(self, key: str) -> DatasetRoot | None:
        """The folder of another dataset (where shared images live), or None when it is absent."""
        url = self.siblings.get(key)
        if url is None:
            return None
        root = DatasetRoot(url, key, self.siblings)
        return root if root.fs.isdir(root._full("")) else None


class Converter:
    """Base class of a dataset converter; subclasses register themselves by `key`.

    Subclasses set the class attributes and implement `records`. Options (e.g. ExpW's confidence
    threshold) are keyword arguments of the constructor.

    The label vocabulary is declared beside the other attributes, from the module's label constants,
    so that constrained decoding (model/infer) knows a new dataset's answers through the registry
    (`converters.label_values`, `converters.integer_key`): `label_values` maps an attribute key, as
    the text protocol writes it, to the values the dataset's texts use (``{"expression": ("neutral",
    "happy", ...)}``); `integer_keys` names the keys whose values are integers (``age``), answered
    by any integer; `prefixes` lists the text prefixes when there are several (imdb_wiki: ``imdb``,
    ``wiki``), else `prefix` is the only one.

    `source` (schemas/source.py) says where the dataset comes from and on what terms: homepage,
    BibTeX citation, terms of use and their terms class. A build warns about a converter without
    one (and fails under ``--strict-sources``); ``--accept-terms`` leaves it out.

    `fake` names the converter's fake-data generator, a ``make(folder, variant="default")`` that
    writes a tiny copy of the dataset in its native format (the test kit, ``python -m converters
    fake`` and the demo call it): a callable, a module path whose ``make`` it is
    (``"converters.fakes.celeba"``), or ``"module:function"`` (``"mypkg.fake_utkface:make"``).
    """

    source: ClassVar[Source | None] = None  # homepage, citation, terms (schemas/source.py); None: undeclared
    key: ClassVar[str]
    text_kind: ClassVar[str]  # "attributes" or "caption"
    prefix: ClassVar[str | None] = None  # the text prefix word for attribute datasets
    splits: ClassVar[Mapping[str, str]] = {}  # split -> which native file(s) feed it
    native_files: ClassVar[tuple[str, ...]] = ()  # the annotation files read, relative to the folder
    fake: ClassVar[str | Callable[..., None] | None] = None  # the fake-data generator (see above)
    prefixes: ClassVar[tuple[str, ...]] = ()  # the text prefixes when there are several; () = (prefix,)
    label_values: ClassVar[Mapping[str, tuple[str, ...]]] = {}  # attribute key -> the values its texts write
    integer_keys: ClassVar[frozenset[str]] = frozenset()  # attribute keys whose values are integers

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "key" not in cls.__dict__:
            return  # an abstract intermediate class
        if cls.key in _REGISTRY and _REGISTRY[cls.key] is not cls:
            other = _REGISTRY[cls.key]
            raise ValueError(
                f"converter key {cls.key!r} is already registered by {other.__module__}.{other.__qualname__}; "
                "choose another key"
            )
        _REGISTRY[cls.key] = cls

    def __init__(self, **options: Any) -> None:
        if options:
            raise TypeError(f"converter {self.key!r} takes no options, got {sorted(options)}")

    def records(self, root: DatasetRoot) -> Iterator[Outcome]:
        """Yield one outcome per record of the dataset in `root`, in a stable order."""
        raise NotImplementedError

    # -- small helpers every converter uses --------------------------------------------------
    def reject(self, source_id: str, source_path: str, reason: str, detail: str = "") -> Reject:
        return Reject(self.key, source_id, source_path, reason, detail)

    def filtered(self, source_id: str, source_path: str, reason: str, detail: str = "") -> Filtered:
        return Filtered(self.key, source_id, source_path, reason, detail)

    def malformed(
        self, root: DatasetRoot, rel: str, number: int, line: str, what: str, source_id: str | None = None
    ) -> Reject:
        """A reject for an annotation line that does not parse: names the file, the line and the fault.

        The source id defaults to the line's first white-space-separated field; pass `source_id`
        for other delimiters (CSV) or when the line cannot name its record.
        """
        if source_id is None:
            source_id = line.split()[0] if line.split() else f"line {number}"
        return self.reject(source_id, root.source_path(rel), Reasons.MALFORMED, f"{rel} line {number}: {what}: {line[:120]!r}")

    def repeated(
        self, seen: dict[str, str], name: str, where: str, source_path: str, file: str = "", shown: str | None = None
    ) -> Reject | None:
        """A reject for a second row of `name` (a repeated row would give two records of one id), else None.

        `where` is this row's place (``line 7``, ``train.csv line 7``, ``row 3``), remembered in `seen`
        the first time; the reject's id is ``<name> (<where>)``, so two equal rows get two ids, and its
        detail names both rows: ``<file> <where>: <shown, default name> repeats <first where>``.
        """
        first = seen.get(name)
        if first is None:
            seen[name] = where
            return None
        at = f"{file} {where}" if file else where
        return self.reject(f"{name} ({where})", source_path, Reasons.MALFORMED, f"{at}: {shown or name} repeats {first}")

    @classmethod
    def fake_maker(cls) -> Callable[..., None]:
        """The declared fake-data generator, ``make(folder, variant="default")``; KeyError says how to declare one."""
        declared = cls.fake
        if declared is None:
            raise KeyError(
                f"converter {cls.key!r} ({cls.__module__}.{cls.__qualname__}) declares no fake-data generator; "
                f"set `fake = \"yourpackage.fake_{cls.key}\"` (a module with make(folder, variant=\"default\")) "
                "or `fake = \"module:function\"` on the class"
            )
        if callable(declared):
            return declared
        module_name, _, attr = declared.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise KeyError(f"converter {cls.key!r} declares fake = {declared!r}, which cannot be imported: {err}") from err
        make = getattr(module, attr or "make", None)
        if not callable(make):
            raise KeyError(f"converter {cls.key!r} declares fake = {declared!r}, but {module_name} has no "
                           f"function {attr or 'make'}(folder, variant=\"default\")")
        return make  # type: ignore[no-any-return]

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {
            "key": cls.key,
            "text_kind": cls.text_kind,
            "prefix": cls.prefix,
            "splits": dict(cls.splits),
            "native_files": list(cls.native_files),
            "module": cls.__module__,
            "source": cls.source.as_record() if cls.source is not None else None,
        }


def registry() -> dict[str, type[Converter]]:
    return _REGISTRY
