"""Text -> face read back in pixels, and ages as single digits through training and evaluation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from converters.fakes.signal import draw, random_spec
from model.evaluate.pixels import HAIRS, FacePrompt, check_faces, face_prompts


def _faces(prompts: list[FacePrompt], seed: int = 0) -> np.ndarray:
    from dataclasses import replace

    rng = np.random.default_rng(seed)
    out = []
    for p in prompts:
        spec = replace(random_spec(rng), expression="happy" if p.smiling else "neutral", hair_color=p.hair_color,
                       hair_rgb={"black": (25, 22, 22), "brown": (105, 62, 32), "blond": (225, 195, 115),
                                 "gray": (165, 165, 170), "red": (175, 60, 30)}[p.hair_color])
        out.append(np.asarray(draw(spec, (256, 256), rng)))
    return np.stack(out)


def test_prompts_cover_every_hair_colour_and_smile() -> None:
    prompts = face_prompts(per_cell=2)
    assert {(p.hair_color, p.smiling) for p in prompts} == {(h, s) for h in HAIRS for s in (True, False)}
    assert all(p.hair_color in p.text for p in prompts)


def test_faces_drawn_as_asked_pass_and_others_fail() -> None:
    prompts = face_prompts(per_cell=2)
    faces = _faces(prompts)
    good = check_faces(faces, prompts)
    assert good["hair_and_smile"] >= 0.8 and good["found"] == 1.0
    wrong = [FacePrompt(p.text, HAIRS[(HAIRS.index(p.hair_color) + 1) % len(HAIRS)], not p.smiling) for p in prompts]
    assert check_faces(faces, wrong)["hair_and_smile"] <= 0.1
    assert check_faces(faces, wrong)["chance_hair_and_smile"] == pytest.approx(0.1)


def test_single_digit_ages_train_and_read_back() -> None:
    from model.tokenizers.text import TextTokenizer
    from model.train.sequences import SequenceBuilder

    whole, digits = SequenceBuilder(), SequenceBuilder(digits=True)
    assert len(digits.tokenizer.encode("cacd age: 25;")) == len(whole.tokenizer.encode("cacd age: 25;")) + 1
    assert digits.tokenizer.digits and not whole.tokenizer.digits
    assert SequenceBuilder(tokenizer=TextTokenizer(digits=True)).digits
    import pickle

    assert pickle.loads(pickle.dumps(digits)).tokenizer.digits  # loader workers rebuild the same tokenizer


def test_constrained_age_answers_with_digits_read_back_as_numbers() -> None:
    from model.infer.templates import answer_questions
    from model.train.sequences import SequenceBuilder
    from model.transformer import Talk2Face, Talk2FaceConfig

    torch.manual_seed(0)
    model = Talk2Face(Talk2FaceConfig.tiny()).eval()
    codes = np.zeros((3, 256), np.uint16)
    answers = answer_questions(model, codes, ["cacd age:"] * 3, builder=SequenceBuilder(digits=True))
    assert all(isinstance(a.value, int) for a in answers), [a.text for a in answers]


def test_evaluate_refuses_a_digits_setting_the_checkpoint_was_not_trained_with(tmp_path: Path) -> None:
    from model.checkpoint import save_checkpoint
    from model.evaluate.cli import main, resolve_digits
    from model.testing import write_fake_shards
    from model.train.trainer import TrainConfig
    from model.transformer import Talk2Face, Talk2FaceConfig

    model = Talk2Face(Talk2FaceConfig.tiny())
    config = TrainConfig.preset("tiny")
    config.digits = True
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, {"model": model.state_dict(), "model_config": dataclasses.asdict(model.config),
                           "config": config.to_dict()})
    assert resolve_digits(path) is True and resolve_digits(path, "on") is True
    with pytest.raises(ValueError, match="trained with digits=on"):
        resolve_digits(path, "off")
    write_fake_shards(tmp_path / "shards", n_faces=4, per_shard=4, split="test")
    with pytest.raises(SystemExit):
        main(["--checkpoint", str(path), "--shards", str(tmp_path / "shards"), "--task", "age", "--digits", "off"])


def test_evaluate_names_a_dataset_the_shards_do_not_hold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from model.checkpoint import save_checkpoint
    from model.evaluate.cli import main
    from model.testing import write_fake_shards
    from model.transformer import Talk2Face, Talk2FaceConfig

    model = Talk2Face(Talk2FaceConfig.tiny())
    save_checkpoint(tmp_path / "ckpt.pt", {"model": model.state_dict(), "model_config": dataclasses.asdict(model.config)})
    write_fake_shards(tmp_path / "shards", n_faces=4, per_shard=4, split="test")
    with pytest.raises(SystemExit) as exit_:
        main(["--checkpoint", str(tmp_path / "ckpt.pt"), "--shards", str(tmp_path / "shards"), "--task", "age"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "'cacd'" in err and "Traceback" not in err
