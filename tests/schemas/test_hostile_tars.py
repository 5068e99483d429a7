"""Hostile tars against the streaming readers (schemas/shard.py, model/train/shards.py): clear errors, nothing written."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import pytest
from hostile_tars import escape_paths, hostile_cases

from model.train.shards import read_shard
from schemas.sample import SampleError, ShardSample
from schemas.shard import TarDamage, iter_members, iter_samples

CASES = [case for case, _, _ in hostile_cases(Path("/unused"))]


@pytest.fixture()
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder and temp folder; the test checks both stay empty and nothing escapes."""
    work, temp = tmp_path / "work", tmp_path / "temp"
    work.mkdir()
    temp.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return tmp_path


def _case(root: Path, name: str) -> tuple[bytes, list[str]]:
    return next((data, words) for case, data, words in hostile_cases(root) if case == name)


def _nothing_written(root: Path, shard: Path) -> None:
    assert os.listdir(root / "work") == [] and os.listdir(root / "temp") == []
    assert not any(p.exists() for p in escape_paths(root))
    assert sorted(p.name for p in root.iterdir()) == sorted(["work", "temp", shard.name])


@pytest.mark.parametrize("case", CASES)
def test_loader_names_the_shard_and_member(sandbox: Path, case: str) -> None:
    data, words = _case(sandbox, case)
    shard = sandbox / "train-000000.tar"
    shard.write_bytes(data)
    with pytest.raises(ValueError) as err:
        list(read_shard(str(shard), with_jpg=True))
    message = str(err.value)
    assert str(shard) in message and "rebuild" in message
    for word in words:
        assert word in message
    _nothing_written(sandbox, shard)


@pytest.mark.parametrize("case", CASES)
def test_schema_readers_raise_their_own_errors(sandbox: Path, case: str) -> None:
    data, words = _case(sandbox, case)
    shard = sandbox / "train-000000.tar"
    shard.write_bytes(data)
    with open(shard, "rb") as f, pytest.raises((TarDamage, SampleError)) as err:
        for fields in iter_samples(f):
            ShardSample.from_wds(fields)
    for word in words:
        assert word in str(err.value)
    _nothing_written(sandbox, shard)


def test_member_cap_is_a_parameter_and_holds_for_members_skipped(sandbox: Path) -> None:
    data, _ = _case(sandbox, "deep-json")
    shard = sandbox / "train-000000.tar"
    shard.write_bytes(data)
    with open(shard, "rb") as f, pytest.raises(TarDamage, match="over the 1,000-byte limit"):
        list(iter_members(f, max_member_bytes=1000))
    with open(shard, "rb") as f:
        assert [m.data is None for m in iter_members(f, lambda name: not name.endswith(".json"))] == [True, False]


def test_a_huge_size_claim_fails_fast_when_the_member_is_skipped(sandbox: Path) -> None:
    data, _ = _case(sandbox, "huge-size")
    shard = sandbox / "train-000000.tar"
    shard.write_bytes(data)
    errors: list[BaseException] = []

    def skip_all() -> None:  # skipping 1 TiB in 10 kB reads at the end of the file would spin for hours
        with open(shard, "rb") as f:
            try:
                list(iter_members(f, want=lambda name: False))
            except TarDamage as err:
                errors.append(err)

    reader = threading.Thread(target=skip_all, daemon=True)
    reader.start()
    reader.join(30)
    assert not reader.is_alive(), "the reader is still skipping the member the header claims"
    assert "claims 1,099,511,627,776 bytes" in str(errors[0])
