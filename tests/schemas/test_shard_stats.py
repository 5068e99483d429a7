"""Round trips of the shard tar format and the stats.json layout (schemas/shard.py, schemas/stats.py)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import numpy as np
import pytest

from schemas import ShardSample, SourceRef, TextEntry
from schemas.shard import (
    ShardIndex,
    ShardIndexError,
    TarDamage,
    index_file,
    index_path,
    iter_samples,
    shard_file,
    shard_name,
    shard_split,
    shard_stem,
    tar_bytes,
    write_tar,
)
from schemas.stats import StatsError, accounting_problems, check_stats, dump_stats, parse_stats, unaccounted


def _sample(i: int) -> ShardSample:
    return ShardSample(
        key=f"{i:032x}", split="train", tokens=np.arange(256, dtype=np.uint16) + i,
        texts=(TextEntry("celeba", "attributes", "celeba smiling: true;"),),
        labels={"celeba": {"smiling": True}}, sources=(SourceRef("celeba", f"{i}.jpg", f"celeba/{i}.jpg", "train"),),
        jpg=b"\xff\xd8fake" if i % 2 else None,
    )


def test_shard_round_trip_is_reproducible_and_streams_back() -> None:
    samples = [_sample(i) for i in range(5)]
    data = tar_bytes(s.to_wds() for s in samples)
    assert data == tar_bytes(s.to_wds() for s in samples)  # same samples, same bytes
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        infos = tar.getmembers()
    assert {(m.mtime, m.uid, m.gid, m.uname, m.mode) for m in infos} == {(0, 0, 0, "", 0o644)}
    back = [ShardSample.from_wds(fields) for fields in iter_samples(io.BytesIO(data))]
    assert [s.key for s in back] == [s.key for s in samples]
    assert all(np.array_equal(a.tokens, b.tokens) and a.jpg == b.jpg for a, b in zip(back, samples, strict=True))


def test_index_is_computed_while_writing_and_round_trips() -> None:
    samples = [_sample(i) for i in range(5)]
    buf = io.BytesIO()
    index = write_tar(buf, (s.to_wds() for s in samples))
    data = buf.getvalue()
    assert data == tar_bytes(s.to_wds() for s in samples)
    assert (index.size, index.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        infos = tar.getmembers()
        assert index.members == tuple((m.name, m.offset_data, m.size) for m in infos)
        for (_name, offset, size), info in zip(index.members, infos, strict=True):
            member = tar.extractfile(info)
            assert member is not None and data[offset : offset + size] == member.read()
    assert index.keys() == [s.key for s in samples]
    assert ShardIndex.from_json(index.to_json(), "x.idx.json") == index
    assert index_file("shards/train-000003.tar") == "train-000003.idx.json"
    assert index_path("gs://b/out/shards/train-000003.tar") == "gs://b/out/shards/train-000003.idx.json"
    with pytest.raises(ShardIndexError, match=r"x\.idx\.json: member \['a', 1\] is not \[name, offset, size\]"):
        ShardIndex.from_json(json.dumps({"format": 1, "bytes": 1, "sha256": "", "members": [["a", 1]]}).encode(),
                             "x.idx.json")


def test_truncated_shard_is_tar_damage_naming_the_last_member() -> None:
    data = tar_bytes(s.to_wds() for s in [_sample(1), _sample(2)])
    with pytest.raises(TarDamage, match="truncated") as err:
        list(iter_samples(io.BytesIO(data[:3 * 512 + 700])))  # inside the second member's data
    assert err.value.member is not None and err.value.member.startswith(f"{1:032x}")
    with pytest.raises(TarDamage, match="not an uncompressed tar"):
        list(iter_samples(io.BytesIO(b"not a tar at all" * 64)))


def test_shard_names() -> None:
    assert shard_name("train", 12) == "train-000012"
    assert shard_file("gs://b/out/shards/train-000012.tar") == shard_file("train-000012") == "train-000012.tar"
    assert shard_stem("s3://x/val-000001.tar") == "val-000001" and shard_split("test-000003") == "test"


def _stats() -> dict:
    d = {"read": 10, "written": 6, "pairs": 7, "filtered": {"x": 1}, "rejected": {"y": 3}, "pairs_in_shards": 7}
    return {"build": {}, "datasets": {"celeba": d}, "totals": {}, "splits": {"train": {"samples": 6, "shards": 1}},
            "split_conflicts": 0, "tokens": {"encoded": 6, "cached": 0, "fingerprints": {}}}


def test_stats_layout_and_the_invariant() -> None:
    stats = _stats()
    assert parse_stats(dump_stats(stats)) == stats and accounting_problems(stats) == []
    stats["datasets"]["celeba"]["written"] = 5
    stats["datasets"]["celeba"]["pairs_in_shards"] = 8
    problems = accounting_problems(stats)
    assert problems[0] == unaccounted("celeba", 10, 5, 1, 3) and "(+1 unaccounted)" in problems[0]
    assert "shards hold 8 texts but the manifest 7 rows" in problems[1]
    assert unaccounted("celeba", 4, 2, 1, 1) is None


@pytest.mark.parametrize("edit, field", [
    (lambda s: s.pop("split_conflicts"), "split_conflicts"),
    (lambda s: s["datasets"]["celeba"].__setitem__("read", "10"), "read"),
    (lambda s: s["datasets"]["celeba"]["rejected"].__setitem__("y", None), "rejected.y"),
    (lambda s: s["tokens"].pop("cached"), "cached"),
])
def test_bad_stats_name_the_field(edit, field: str) -> None:
    stats = _stats()
    edit(stats)
    with pytest.raises(StatsError, match=field.replace(".", r"\.")):
        check_stats(json.loads(json.dumps(stats)))
    with pytest.raises(StatsError, match="not readable JSON"):
        parse_stats(b"{")
