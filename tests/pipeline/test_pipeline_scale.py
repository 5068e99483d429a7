"""The corpus at its real size (issue 12): the post-build check reads indexes, not shards; a killed build
resumes to the same bytes; a build that cannot write fails naming the file and leaves nothing half written."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import fsspec
import numpy as np
import pyarrow.parquet as pq
import pytest
from fake_fs import CountingFileSystem, FailingFileSystem

import beam_runner
from pipeline import verify_build
from schemas.cache import ROW
from schemas.shard import ShardIndex, iter_members

REPO = Path(__file__).resolve().parents[2]


def _to_counting(local: Path, name: str) -> str:
    """A copy of a local build folder on the counting filesystem; returns its URL."""
    fs = CountingFileSystem()
    for path in sorted(local.rglob("*")):
        if path.is_file() and "cache" not in path.relative_to(local).parts:
            fs.pipe_file(f"/{name}/{path.relative_to(local).as_posix()}", path.read_bytes())
    return f"counting://{name}"


def _verify_reads(url: str) -> tuple[int, int, list[str]]:
    """Bytes verify_build reads from `url`, the bytes of its shards, and the paths it read."""
    fs = CountingFileSystem()
    shard_bytes = sum(fs.size(p) for p in fs.glob(fs._strip_protocol(url) + "/shards/*.tar"))
    CountingFileSystem.reset()
    verify_build(url)
    read = dict(CountingFileSystem.read_bytes)
    return sum(read.values()), shard_bytes, sorted(read)


def test_post_build_check_reads_indexes_not_shards(reference, kit, tmp_path, capsys):
    cache, _ = kit.copy_cache(reference.cache, tmp_path / "cache")
    images = tmp_path / "images"
    kit.build(reference.root, images, cache=str(cache), keep_images=True)  # same samples, shards with JPEGs
    small_read, small_shards, small_paths = _verify_reads(_to_counting(reference.out, "small"))
    large_read, large_shards, large_paths = _verify_reads(_to_counting(images, "large"))
    with capsys.disabled():
        print(f"\nverify_build reads {small_read:,} B of {small_shards:,} B of shards (tokens only), "
              f"{large_read:,} B of {large_shards:,} B of shards (with JPEGs)")
    assert not [p for p in small_paths + large_paths if p.endswith(".tar")], "verify read a shard"
    assert any(p.endswith(".idx.json") for p in large_paths) and any(p.endswith(".parquet") for p in large_paths)
    assert large_shards > 3 * small_shards  # the shards grew a lot ...
    assert large_read < 1.3 * small_read  # ... what the check reads barely did
    assert large_read < large_shards / 4


def _tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _cached_faces(cache: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for segment in sorted(cache.rglob("*.npy")):
        if not segment.name.startswith("."):
            rows = np.load(segment, allow_pickle=False)
            assert rows.dtype == ROW
            found.update((k, t.tobytes()) for k, t in zip(rows["key"].tolist(), rows["tokens"], strict=True))
    return found


SLOW_BUILD = """
import sys, time
import pipeline.tokenize as tokenize
encode, delay = tokenize.encode_faces, float(sys.argv[1])
def slow(*args, **kwargs):  # one shard's encode call, made slow enough to be caught by SIGKILL
    time.sleep(delay)
    return encode(*args, **kwargs)
tokenize.encode_faces = slow
import beam_runner
beam_runner.run(sys.argv[2:])
"""


def test_a_killed_build_resumes_to_the_same_bytes(reference, tmp_path):
    out = tmp_path / "out"
    args = ["--input-root", str(reference.root), "--output", str(out), "--vqgan-preset", "tiny-random",
            "--vqgan-batch-size", "1", "--samples-per-shard", "2"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed = subprocess.Popen([sys.executable, "-c", SLOW_BUILD, "0.4", *args], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    try:
        while len([p for p in (out / "cache").rglob("*.npy") if not p.name.startswith(".")]) < 3:
            assert killed.poll() is None, f"the build ended before it could be killed: {killed.stderr.read()[-2000:]!r}"
            assert time.monotonic() < deadline, "the build wrote no token cache segments in time"
            time.sleep(0.05)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    assert killed.returncode == -signal.SIGKILL and not (out / "stats.json").exists()
    left = _cached_faces(out / "cache")
    (fingerprint,) = [p for p in (out / "cache").iterdir() if p.is_dir()]
    bucket = sorted(p for p in fingerprint.iterdir() if p.is_dir())[0]
    (bucket / ".tmp-0123456789abcdef0123456789abcdef-0000000000000000.npy").write_bytes(b"\x93NUMPY cut")
    (out / "shards").mkdir(exist_ok=True)
    (out / "shards" / ".tmp-0123456789abcdef0123456789abcdef-train-000000.tar").write_bytes(b"cut")

    rerun = subprocess.run([sys.executable, "-c", SLOW_BUILD, "0", *args], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    clean = tmp_path / "clean"
    beam_runner.run([*args[:2], "--output", str(clean), *args[4:]])

    resumed, fresh = _tree(out), _tree(clean)
    assert not [p for p in resumed if "/.tmp-" in p or p.startswith(".tmp-")]
    outputs = sorted(p for p in fresh if not p.startswith("cache/") and p != "stats.json")
    assert outputs and sorted(p for p in resumed if not p.startswith("cache/") and p != "stats.json") == outputs
    def card(data: bytes) -> list[str]:  # the dataset card names the command line, so its --output differs
        return [line for line in data.decode().splitlines() if not line.startswith("* command:")]

    assert card(resumed.pop("README.md")) == card(fresh.pop("README.md"))
    outputs.remove("README.md")
    assert [p for p in outputs if resumed[p] != fresh[p]] == []  # shards, indexes, manifest, rejects, croissant
    stats, clean_stats = json.loads(resumed["stats.json"]), json.loads(fresh["stats.json"])
    samples = clean_stats["totals"]["samples"]
    assert stats["tokens"]["cached"] == len(left) > 0
    assert stats["tokens"]["encoded"] == samples - len(left) > 0  # only the faces the killed run had not cached
    assert clean_stats["tokens"]["encoded"] == samples
    assert {k: v for k, v in stats.items() if k != "tokens"} == {k: v for k, v in clean_stats.items() if k != "tokens"}
    assert _cached_faces(out / "cache") == _cached_faces(clean / "cache")


def _final_files_are_whole(url: str) -> list[str]:
    """Every file under its final name at `url` reads back whole; returns their names."""
    fs, root = fsspec.core.url_to_fs(url)
    names = []
    for path in sorted(fs.find(root)):
        name = path.rsplit("/", 1)[-1]
        assert not name.startswith(".tmp-"), f"temporary file left behind: {path}"
        data = fs.cat_file(path)
        if name.endswith(".tar"):
            members = list(iter_members(io.BytesIO(data)))  # raises TarDamage for a cut tar
            if fs.exists(path.removesuffix(".tar") + ".idx.json"):  # a tar whose index failed has none
                index = ShardIndex.from_json(fs.cat_file(path.removesuffix(".tar") + ".idx.json"))
                assert [m.name for m in members] == [m[0] for m in index.members] and index.size == len(data)
        elif name.endswith(".idx.json"):
            assert ShardIndex.from_json(data).size == fs.size(path.removesuffix(".idx.json") + ".tar")
        elif name.endswith(".parquet"):
            pq.read_table(io.BytesIO(data))
        elif name.endswith(".npy"):
            assert np.load(io.BytesIO(data), allow_pickle=False).dtype == ROW
        elif name.endswith(".jsonl"):  # one object per line; leaks.jsonl is empty when no cluster was found
            assert all(isinstance(json.loads(line), dict) for line in data.splitlines())
        elif name.endswith(".json"):
            assert json.loads(data)
        names.append(name)
    return names


@pytest.mark.parametrize("pattern", ["*.npy", "*.tar", "*.idx.json", "*.parquet"])
def test_a_full_disk_fails_naming_the_file_and_leaves_nothing_half_written(reference, kit, pattern):
    FailingFileSystem.configure(pattern, budget=600)
    with pytest.raises(Exception, match=r"No space left on device") as err:
        kit.build(reference.root, "failing://full", datasets=("fairface",), limit=8)
    found = re.search(r"cannot write (failing://full/\S+) \(", str(err.value))
    assert found and found.group(1).endswith(pattern.removeprefix("*")), str(err.value)
    assert "rerun the same command" in str(err.value)
    _final_files_are_whole("failing://full")
    assert not FailingFileSystem().exists(found.group(1))  # the file that hit the full disk is nowhere


def test_a_read_only_output_fails_naming_the_file(reference, kit):
    FailingFileSystem.configure(None, read_only=True)
    with pytest.raises(Exception, match=r"Read-only file system") as err:
        kit.build(reference.root, "failing://readonly", datasets=("fairface",), limit=8)
    assert re.search(r"cannot write failing://readonly/\S+ \(", str(err.value)), str(err.value)
    assert _final_files_are_whole("failing://readonly") == []
