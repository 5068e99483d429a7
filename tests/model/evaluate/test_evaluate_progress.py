"""`evaluate` and `talk2face evaluate` show progress over each task's batches (plain lines off a terminal); same scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_fixtures import write_fake_eval

from model.evaluate.benchmarks import evaluate
from model.evaluate.cli import main

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def fake_eval(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_fake_eval(tmp_path_factory.mktemp("eval-progress"))


def progress_lines(err: str, label: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(f"{label}: ")]


def test_evaluate_shows_progress_per_task_and_scores_the_same(
    fake_eval: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from model.checkpoint import load_talk2face

    shards, ckpt = fake_eval
    model = load_talk2face(ckpt)
    quiet = evaluate(model, shards, "attributes", dataset="fake", limit=3, batch_size=4, progress=False)
    assert capsys.readouterr().err == ""
    shown = evaluate(model, shards, "attributes", dataset="fake", limit=3, batch_size=4)
    lines = progress_lines(capsys.readouterr().err, "evaluate attributes (fake, test, 3 samples)")
    # 3 faces x 4 keys = 12 questions; batches of 4 (constrained and free rows batch apart, so at least 3)
    assert lines and lines[-1].endswith(" done") and "batches/s" in lines[-1]
    assert int(lines[-1].split(": ")[1].split("/")[0]) >= 3
    assert shown.metrics == quiet.metrics and shown.predictions == quiet.predictions
    captions = evaluate(model, shards, "caption", dataset="fakecap", limit=3, batch_size=2,
                        caption_tokenizer="basic", meteor=False)
    lines = progress_lines(capsys.readouterr().err, "evaluate caption (fakecap, test, 3 samples)")
    assert lines and lines[-1].startswith("evaluate caption (fakecap, test, 3 samples): 2/2 batches, ")
    assert captions.metrics["n"] == 3.0


def test_evaluate_command_prints_progress_on_stderr_and_the_table_on_stdout(
    fake_eval: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards, ckpt = fake_eval
    out = tmp_path / "r.json"
    assert main(["--checkpoint", str(ckpt), "--shards", str(shards), "--task", "age", "--dataset", "fake",
                 "--limit", "4", "--batch-size", "2", "--device", "cpu", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    lines = progress_lines(printed.err, "evaluate age (fake, test, 4 samples)")
    assert lines and lines[-1].startswith("evaluate age (fake, test, 4 samples): 2/2 batches, ")
    assert lines[-1].endswith(" done") and "\r" not in printed.err
    assert "evaluate age" not in printed.out and "| mae |" in printed.out
    assert json.loads(out.read_text())["metrics"]["n"] == 4.0
