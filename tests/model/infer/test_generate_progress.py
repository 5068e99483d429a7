"""Batch generation shows progress over its batches (plain lines off a terminal) and returns what it would quietly."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from stubs import StubVQGAN

from model.infer.templates import answer_questions, generate_captions, generate_image_codes
from model.sampling import SamplingConfig
from model.transformer import Talk2Face, Talk2FaceConfig

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def untrained() -> Talk2Face:
    torch.manual_seed(0)
    return Talk2Face(Talk2FaceConfig.tiny()).eval()


def codes_of(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 1024, size=(n, 256)).astype(np.uint16)


def done_line(err: str, label: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith(f"{label}: ")]
    assert lines and lines[-1].endswith(" done"), err
    return lines[-1]


def test_templates_report_their_batches_and_answer_the_same(untrained: Talk2Face,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    codes = codes_of(3)
    quiet = generate_captions(untrained, codes, batch_size=2)
    assert capsys.readouterr().err == ""
    shown = generate_captions(untrained, codes, batch_size=2, progress="captions")
    assert shown == quiet
    assert done_line(capsys.readouterr().err, "captions").startswith("captions: 2/2 batches, ")

    questions = ["cacd age:", "cacd age:", "fake age:"]  # two constrained rows, one free: 2 + 1 batches of 2
    quiet_answers = answer_questions(untrained, codes, questions, batch_size=2)
    capsys.readouterr()
    answers = answer_questions(untrained, codes, questions, batch_size=2, progress="answers")
    assert answers == quiet_answers
    assert done_line(capsys.readouterr().err, "answers").startswith("answers: 2/2 batches, ")

    sampling = SamplingConfig(top_k=5)
    faces = generate_image_codes(untrained, ["a man.", "a woman.", "a child."], n=2, config=sampling, seed=1,
                                 batch_size=2, progress="faces")
    assert done_line(capsys.readouterr().err, "faces").startswith("faces: 3/3 batches, ")
    assert np.array_equal(faces, generate_image_codes(untrained, ["a man.", "a woman.", "a child."], n=2,
                                                      config=sampling, seed=1, batch_size=2))


def test_generate_command_shows_progress_on_stderr_and_results_on_stdout(
    untrained: Talk2Face, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import model.infer.cli as generate_cli
    from model.checkpoint import save_checkpoint

    monkeypatch.setattr(generate_cli, "load_image_tokenizer", lambda *a, **k: StubVQGAN())
    ckpt = tmp_path / "ckpt.pt"
    save_checkpoint(ckpt, {"model": untrained.state_dict(), "model_config": dataclasses.asdict(untrained.config)})
    images = [tmp_path / f"face{i}.png" for i in range(3)]
    generate_cli.save_pngs(StubVQGAN().decode(codes_of(3, seed=2)), images)
    argv = ["--checkpoint", str(ckpt), "--to", "caption", "--device", "cpu", "--batch-size", "2"]
    for path in images:
        argv += ["--image", str(path)]
    assert generate_cli.main(argv) == 0
    printed = capsys.readouterr()
    assert done_line(printed.err, "generate caption").startswith("generate caption: 2/2 batches, ")
    want = generate_captions(untrained, StubVQGAN().encode(generate_cli.load_faces(images)), batch_size=2)
    assert printed.out.splitlines() == [f"{p}\t{c}" for p, c in zip(images, want)]
    assert "generate caption" not in printed.out
