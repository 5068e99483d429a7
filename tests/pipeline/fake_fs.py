"""Two in-memory fsspec filesystems for the scale tests, registered under test protocols on import.

* ``counting://``: counts the bytes read from each file (every `open` for reading and `cat_file`),
  so a test can show what a check downloads.
* ``failing://``: a disk that fills or is read-only: writes to files whose name matches a pattern
  raise ``OSError(ENOSPC)`` once N bytes went to them, or ``OSError(EROFS)`` straight away.
* ``flaky://``: storage that is unavailable for a while: the first N reads of a file fail with
  ``OSError(EIO)``, each after `after` bytes of that read came through (0: at open), then it works.
"""

from __future__ import annotations

import errno
import fnmatch
import posixpath
from collections import Counter
from typing import Any, ClassVar

import fsspec
from fsspec.implementations.memory import MemoryFile, MemoryFileSystem


class _OwnMemory(MemoryFileSystem):
    """A memory filesystem under its own protocol, with its own store."""

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        text = str(path)
        for protocol in (cls.protocol if isinstance(cls.protocol, tuple) else (cls.protocol,)):
            text = text.removeprefix(f"{protocol}://")
        return super()._strip_protocol(text)  # type: ignore[no-any-return]


class _CountingFile(MemoryFile):
    """A private copy of a stored file whose reads are counted against its path."""

    def __init__(self, fs: CountingFileSystem, path: str, data: bytes) -> None:
        super().__init__(fs, path, data)
        self.counts = fs.read_bytes

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.counts[self.path] += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        n = super().readinto(buffer)
        self.counts[self.path] += n
        return n

    def readline(self, size: int | None = -1) -> bytes:
        data = super().readline(size)
        self.counts[self.path] += len(data)
        return data


class CountingFileSystem(_OwnMemory):
    """Memory filesystem that counts bytes read per path (`read_bytes`); `reset` clears the counts."""

    protocol = "counting"
    store: ClassVar[dict[str, Any]] = {}
    pseudo_dirs: ClassVar[list[str]] = [""]
    read_bytes: ClassVar[Counter[str]] = Counter()

    @classmethod
    def reset(cls) -> None:
        cls.read_bytes.clear()

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if mode == "rb":
            path = self._strip_protocol(path)
            if path not in self.store:
                raise FileNotFoundError(path)
            return _CountingFile(self, path, self.store[path].getvalue())
        return super()._open(path, mode, **kwargs)

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        data = super().cat_file(path, start, end, **kwargs)
        self.read_bytes[self._strip_protocol(path)] += len(data)
        return data


class _FillingFile(MemoryFile):
    """A file being written on `FailingFileSystem`: raises ENOSPC once its pattern's budget is spent."""

    def __init__(self, fs: FailingFileSystem, path: str) -> None:
        super().__init__(fs, path)
        self.failing = fs

    def write(self, data: Any) -> int:
        rule = self.failing.rule_for(self.path)
        if rule is not None:
            written = type(self.failing).written
            written[rule] += len(data)
            if written[rule] > self.failing.budget:
                raise OSError(errno.ENOSPC, "No space left on device", self.path)
        return super().write(data)


class FailingFileSystem(_OwnMemory):
    """Memory filesystem whose files matching `pattern` fail: ENOSPC after `budget` bytes, or EROFS (`read_only`).

    The pattern matches a file's final name; a temporary name ``.tmp-<uuid>-<name>`` counts as `name`.
    """

    protocol = "failing"
    store: ClassVar[dict[str, Any]] = {}
    pseudo_dirs: ClassVar[list[str]] = [""]
    pattern: ClassVar[str | None] = None
    budget: ClassVar[int] = 0
    read_only: ClassVar[bool] = False
    written: ClassVar[Counter[str]] = Counter()

    @classmethod
    def configure(cls, pattern: str | None, budget: int = 0, read_only: bool = False) -> None:
        cls.store.clear()
        cls.pseudo_dirs[:] = [""]
        cls.written.clear()
        cls.pattern, cls.budget, cls.read_only = pattern, budget, read_only

    def rule_for(self, path: str) -> str | None:
        name = posixpath.basename(path)
        if name.startswith(".tmp-"):
            name = name.split("-", 2)[2]
        return self.pattern if self.pattern is not None and fnmatch.fnmatch(name, self.pattern) else None

    def _refuse(self, path: str) -> None:
        if self.read_only:
            raise OSError(errno.EROFS, "Read-only file system", path)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        self._refuse(path)
        super().makedirs(path, exist_ok=exist_ok)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        self._refuse(path)
        super().mkdir(path, create_parents=create_parents, **kwargs)

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if mode in {"wb", "xb"}:
            self._refuse(path)
            path = self._strip_protocol(path)
            f = _FillingFile(self, path)
            f.commit()
            return f
        return super()._open(path, mode, **kwargs)


class _FlakyFile(MemoryFile):
    """A private copy of a stored file whose reads raise EIO once `after` bytes were read (if `fail`)."""

    def __init__(self, fs: FlakyFileSystem, path: str, data: bytes, fail: bool) -> None:
        super().__init__(fs, path, data)
        self.fail, self.after = fail, fs.after

    def read(self, size: int | None = -1) -> bytes:
        if self.fail and self.tell() + (size if size is not None and size >= 0 else 1 << 62) > self.after:
            raise OSError(errno.EIO, "Input/output error (flaky://)", self.path)
        return super().read(size)


class FlakyFileSystem(_OwnMemory):
    """Memory filesystem whose first `failures` opens for reading (per path) fail, after `after` bytes read."""

    protocol = "flaky"
    store: ClassVar[dict[str, Any]] = {}
    pseudo_dirs: ClassVar[list[str]] = [""]
    failures: ClassVar[int] = 0
    after: ClassVar[int] = 0
    opened: ClassVar[Counter[str]] = Counter()

    @classmethod
    def configure(cls, failures: int, after: int = 0) -> None:
        cls.store.clear()
        cls.pseudo_dirs[:] = [""]
        cls.opened.clear()
        cls.failures, cls.after = failures, after

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if mode == "rb":
            path = self._strip_protocol(path)
            if path not in self.store:
                raise FileNotFoundError(path)
            self.opened[path] += 1
            fail = self.opened[path] <= self.failures
            if fail and self.after == 0:
                raise OSError(errno.EIO, "Input/output error (flaky://)", path)
            return _FlakyFile(self, path, self.store[path].getvalue(), fail)
        return super()._open(path, mode, **kwargs)


fsspec.register_implementation("counting", CountingFileSystem, clobber=True)
fsspec.register_implementation("flaky", FlakyFileSystem, clobber=True)
fsspec.register_implementation("failing", FailingFileSystem, clobber=True)
