"""The loader and trainer under faults: bad samples and shards among the training shards, flaky storage, kill -9."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from model.checkpoint import load_checkpoint, save_checkpoint
from model.testing import write_fake_shards
from model.train.shards import FaultCounts, ReadPolicy, read_shard
from model.train.trainer import TrainConfig, main, set_option, train
from model.transformer import Talk2FaceConfig
from schemas.shard import iter_samples, tar_bytes

sys.path.insert(0, str(Path(__file__).parents[2] / "pipeline"))
from fake_fs import FlakyFileSystem  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")
MICRO = Talk2FaceConfig(n_layer=1, n_head=2, n_embd=32, n_inner=128, n_positions=336, dropout=0.0, layer_norm="torch",
                        tie_weights=True)


def _damage(shards: Path) -> tuple[str, str]:
    """Give shard 1 a sample with bad JSON and cut shard 2 inside its second sample; returns (bad key, cut shard)."""
    one = shards / "train-000001.tar"
    samples = list(iter_samples(io.BytesIO(one.read_bytes())))
    samples[1]["json"] = b'{"key": oops'
    one.write_bytes(tar_bytes(samples))
    two = shards / "train-000002.tar"
    two.write_bytes(two.read_bytes()[:3000])
    return samples[1]["__key__"], str(two)


def _config(shards: Path, **options: object) -> TrainConfig:
    config = TrainConfig(model=MICRO, train_shards=str(shards), batch_size=4, num_workers=0, shuffle_buffer=4,
                         log_every=1, eval_every=0, checkpoint_every=1000, warmup_steps=0, max_steps=4)
    for key, value in options.items():
        set_option(config, key, value)
    return config


def test_train_fails_naming_shard_and_sample_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_fake_shards(tmp_path / "shards", n_faces=9, per_shard=3)
    key, _ = _damage(tmp_path / "shards")
    argv = ["--shards", str(tmp_path / "shards"), "--workdir", str(tmp_path / "run"), "--set", "max_steps=6",
            "--set", "shuffle_buffer=0"]
    for item in ("model.n_layer=1", "model.n_embd=32", "model.n_head=2", "model.n_inner=128", "num_workers=0"):
        argv += ["--set", item]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "train-00000" in err and "on_bad_sample=skip" in err
    assert key in err or "truncated" in err


def test_skip_counts_bad_samples_and_shards_into_the_checkpoint_exactly_across_a_resume(tmp_path: Path) -> None:
    write_fake_shards(tmp_path / "shards", n_faces=9, per_shard=3)
    _damage(tmp_path / "shards")
    config = _config(tmp_path / "shards", on_bad_sample="skip", checkpoint_every=2)
    straight = train(config, tmp_path / "straight")["faults"]
    assert straight["bad_samples"] > 0 and straight["bad_shards"] > 0
    saved = load_checkpoint(tmp_path / "straight" / "checkpoint.pt")
    assert saved["faults"] == straight

    def stop(step: int, _: dict[str, float]) -> None:
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "resumed", callback=stop)  # checkpoint at step 2
    assert train(config, tmp_path / "resumed")["faults"] == straight  # the replay up to step 2 is not counted again
    assert load_checkpoint(tmp_path / "resumed" / "checkpoint.pt")["faults"] == straight


@pytest.mark.parametrize("after", [0, 700])  # fail at open, or in the middle of the second sample
def test_flaky_storage_is_retried_with_backoff_and_nothing_is_read_twice(after: int) -> None:
    FlakyFileSystem.configure(failures=2, after=after)
    clean = write_fake_shards_in_memory()
    counts = FaultCounts()
    t0 = time.monotonic()
    got = list(read_shard("flaky://shards/train-000000.tar", policy=ReadPolicy(read_retries=2, retry_backoff=0.05),
                          counts=counts))
    assert time.monotonic() - t0 >= 0.05 + 0.1  # waited 0.05 s, then 0.1 s
    assert [s.key for s in got] == clean and counts.read_retries == 2
    FlakyFileSystem.configure(failures=3, after=after)
    write_fake_shards_in_memory()
    with pytest.raises(ValueError, match=r"flaky://shards/train-000000.tar: cannot read it .* after 3 tries.*read_retries"):
        list(read_shard("flaky://shards/train-000000.tar", policy=ReadPolicy(read_retries=2, retry_backoff=0.0)))


def write_fake_shards_in_memory() -> list[str]:
    """One 3-sample fake shard copied to flaky://shards; returns its keys."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = write_fake_shards(folder, n_faces=3, per_shard=3)[0]
        data = Path(path).read_bytes()
    FlakyFileSystem.store.clear()
    with FlakyFileSystem().open("shards/train-000000.tar", "wb") as f:
        f.write(data)
    return [s["__key__"] for s in iter_samples(io.BytesIO(data))]


def test_a_bad_policy_is_refused_at_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--shards", str(tmp_path), "--workdir", str(tmp_path / "run"), "--set", "on_bad_sample=ignore"])
    assert "on_bad_sample='ignore': choose one of fail, skip" in capsys.readouterr().err


WRITER = textwrap.dedent("""
    import sys, torch
    from model.checkpoint import save_checkpoint
    print("writing", flush=True)
    while True:
        save_checkpoint(sys.argv[1], {"step": 2, "weights": torch.ones(64 << 20, dtype=torch.uint8)})
""")


def test_kill_9_during_a_checkpoint_write_leaves_the_old_checkpoint_loadable(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"step": 1, "weights": torch.zeros(4)})
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], env=env, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"writing\n"
        deadline = time.monotonic() + 60
        while not any(p.name.startswith(f".{path.name}.tmp-") and p.stat().st_size > 1 << 20 for p in tmp_path.iterdir()):
            assert time.monotonic() < deadline and proc.poll() is None, "the writer never got going"
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    survivor = load_checkpoint(path)  # the old checkpoint, or a complete new one: never a torn file
    assert survivor["step"] in (1, 2)
    leftovers = [p for p in tmp_path.iterdir() if p.name != path.name]
    assert leftovers and all(p.name.startswith(f".{path.name}.tmp-") for p in leftovers)
    save_checkpoint(path, {"step": 3})  # the next save clears what the killed writer left
    assert [p.name for p in tmp_path.iterdir()] == [path.name] and load_checkpoint(path)["step"] == 3
