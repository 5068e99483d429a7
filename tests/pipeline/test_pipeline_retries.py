"""Retried work is harmless: every DoFn with a side effect gives the same files run twice or racing itself.

Each writer runs on the same input once, again (a retried bundle), and in 4 threads at once (racing
attempts, as speculative execution does), against a local folder and memory://; the files must be
byte-identical every time and no temporary file may be left.
"""

from __future__ import annotations

import posixpath
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pytest

from pipeline.cache import TokenCache
from pipeline.files import TEMP_PREFIX, atomic_open
from pipeline.report import WriteRejectsFile, WriteStatsFile
from pipeline.samples import Sample
from pipeline.shards import WriteManifestPart, WriteShard
from schemas import FaceRecord, Reject, Text


def _samples(n: int = 5) -> list[Sample]:
    out = []
    for i in range(n):
        record = FaceRecord("d", f"{i}.jpg", "x.jpg", f"d/{i}.jpg", "train", {}, (Text("caption", f"face {i}"),), None)
        key = f"{i:02x}" + "ab" * 15
        out.append(Sample(key, "train", (record,), shard="train-000000",
                          tokens=(np.arange(256, dtype=np.uint16) * (i + 1)) % 1024, tokenizer="t"))
    return out


def _write_shard(output: str) -> list[Any]:
    dofn = WriteShard(output)
    dofn.setup()
    return list(dofn.process(("train-000000", list(reversed(_samples())))))


def _write_manifest(output: str) -> list[Any]:
    return list(WriteManifestPart(output).process(("train-000000", _samples())))


def _write_rejects(output: str) -> list[Any]:
    rejects = [Reject("d", f"{i}", f"d/{i}", "malformed line") for i in (3, 1, 2)]
    return list(WriteRejectsFile(output).process(("d", rejects)))


def _write_stats(output: str) -> list[Any]:
    tallies = [(("datasets", "d", "read"), 5), (("datasets", "d", "written"), 5)]
    return [Path(u).name for u in WriteStatsFile(output, {"name": "test"}).process(("stats", tallies))]


def _write_cache(output: str) -> list[Any]:
    codes = {s.key: s.tokens for s in _samples()}
    return [posixpath.basename(u) for u in TokenCache(output + "/cache", "t").add(codes)]


WRITERS: dict[str, Callable[[str], list[Any]]] = {
    "shard+index": _write_shard, "manifest part": _write_manifest, "rejects": _write_rejects,
    "stats": _write_stats, "cache segment": _write_cache,
}


def _files(output: str) -> dict[str, bytes]:
    fs, root = fsspec.core.url_to_fs(output)
    fs.invalidate_cache()
    return {p[len(root):]: fs.cat_file(p) for p in sorted(fs.find(root))}


@pytest.fixture(params=["local", "memory"])
def output(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(tmp_path / "out") if request.param == "local" else f"memory://retries-{uuid.uuid4().hex}/out"


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_retried_or_racing_writer_gives_the_same_files(output: str, writer: str) -> None:
    write = WRITERS[writer]
    first = write(output)
    files = _files(output)
    assert files and not any(TEMP_PREFIX in name for name in files)
    assert write(output) == first and _files(output) == files  # a retried bundle

    fs, root = fsspec.core.url_to_fs(output)
    fs.rm(root, recursive=True)
    results: list[list[Any]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def attempt() -> None:
        barrier.wait()
        try:
            results.append(write(output))
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert all(r == first for r in results)
    assert _files(output) == files  # racing attempts: the same bytes, no temporary file left


def test_temporary_names_are_unique_per_attempt(tmp_path: Path) -> None:
    url = str(tmp_path / "x.bin")
    with atomic_open(url) as a, atomic_open(url) as b:
        assert a.name != b.name  # type: ignore[attr-defined]
        a.write(b"a")
        b.write(b"b")
    assert Path(url).read_bytes() in (b"a", b"b") and [p.name for p in tmp_path.iterdir()] == ["x.bin"]
