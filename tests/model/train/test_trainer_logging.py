"""What a training run shows and logs: progress over its validation passes, and TensorBoard scalars when asked."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
import torch

from model.testing import write_fake_shards
from model.train.shards import resolve_shards
from model.train.trainer import TrainConfig, estimate_loss, main, set_option, train
from model.transformer import Talk2Face, Talk2FaceConfig

pytestmark = pytest.mark.usefixtures("one_thread")

MICRO = Talk2FaceConfig(n_layer=1, n_head=2, n_embd=32, n_inner=128, n_positions=336, dropout=0.0, layer_norm="torch",
                        tie_weights=True)


def config_for(shards: Path, **options: object) -> TrainConfig:
    config = TrainConfig(model=MICRO, train_shards=str(shards), batch_size=4, num_workers=0, shuffle_buffer=4,
                         log_every=1, eval_every=0, checkpoint_every=1000, warmup_steps=0)
    for key, value in options.items():
        set_option(config, key, value)
    return config


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("logging") / "shards"
    write_fake_shards(root, n_faces=4, per_shard=4)
    write_fake_shards(root, n_faces=4, per_shard=4, split="val", seed=1)
    return root


def test_validation_passes_show_progress_and_give_the_same_losses(shards: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    result = train(config_for(shards, max_steps=2, eval_every=1, eval_batches=2), shards.parent / "run")
    err = capsys.readouterr().err
    for step in (1, 2):
        lines = [line for line in err.splitlines() if line.startswith(f"step {step} validation: ")]
        assert lines and lines[-1].startswith(f"step {step} validation: 2/2 batches, ") and lines[-1].endswith(" done")
    assert "\r" not in err and set(result["val"]) >= {"all", "face_to_caption"}

    config = config_for(shards, eval_batches=2)
    urls = resolve_shards(str(shards), "val")
    torch.manual_seed(0)
    model = Talk2Face(MICRO)
    quiet = estimate_loss(model, urls, config, torch.device("cpu"), 0, 1)
    assert capsys.readouterr().err == ""
    shown = estimate_loss(model, urls, config, torch.device("cpu"), 0, 1, progress="val")
    assert shown == quiet and capsys.readouterr().err.splitlines()[-1].startswith("val: 2/2 batches, ")


def test_tensorboard_gets_train_loss_lr_tokens_per_s_and_validation_loss_per_task(shards: Path, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    workdir = tmp_path / "run"
    result = train(config_for(shards, max_steps=3, eval_every=3, eval_batches=1, tensorboard=True), workdir)
    events = EventAccumulator(str(workdir / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/lr", "train/tokens_per_s"} <= tags
    assert {f"val/{task}" for task in result["val"]} <= tags
    rows = list(csv.DictReader((workdir / "train_log.csv").read_text().splitlines()))
    assert [e.step for e in events.Scalars("train/loss")] == [int(r["step"]) for r in rows] == [1, 2, 3]
    assert [e.value for e in events.Scalars("train/loss")] == pytest.approx([float(r["loss"]) for r in rows], rel=1e-5)
    assert [e.value for e in events.Scalars("train/lr")] == pytest.approx([float(r["lr"]) for r in rows], rel=1e-5)
    assert all(e.value > 0 for e in events.Scalars("train/tokens_per_s"))
    val = events.Scalars("val/all")
    assert [e.step for e in val] == [3] and val[0].value == pytest.approx(result["val"]["all"], rel=1e-5)


def test_tensorboard_missing_is_a_clear_error_before_any_work(shards: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if TensorBoard were not installed
    workdir = tmp_path / "run"
    with pytest.raises(SystemExit):
        main(["--shards", str(shards), "--config", "tiny", "--set", "max_steps=1", "--set", "tensorboard=true",
              "--workdir", str(workdir)])
    assert "pip install '.[tensorboard]'" in capsys.readouterr().err
    assert not (workdir / "checkpoint.pt").exists() and not (workdir / "train_log.csv").exists()
