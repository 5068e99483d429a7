"""The one image-tokenizer loader (`model.tokenizers.load_image_tokenizer`) and the build's TokenizerSpec."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.testing import write_taming_checkpoint
from model.tokenizers import load_image_tokenizer
from model.tokenizers.vqgan import TINY_F16, ImageTokenizer, preset_model


def test_a_preset_or_a_taming_log_exactly_one() -> None:
    with pytest.raises(ValueError, match="--vqgan-preset NAME.*--vqgan-config"):
        load_image_tokenizer()
    with pytest.raises(ValueError, match="not both"):
        load_image_tokenizer("tiny-random", config="project.yaml", checkpoint="last.ckpt")
    with pytest.raises(ValueError, match="both --vqgan-config and --vqgan-checkpoint"):
        load_image_tokenizer(config="project.yaml")


def test_preset_and_taming_log_load_the_same_weights(tmp_path: Path) -> None:
    preset = load_image_tokenizer("tiny-random", device="cpu", batch_size=2)
    assert isinstance(preset, ImageTokenizer)
    write_taming_checkpoint(preset_model("tiny-random"), TINY_F16, tmp_path / "last.ckpt", tmp_path / "project.yaml")
    loaded = load_image_tokenizer(config=tmp_path / "project.yaml", checkpoint=tmp_path / "last.ckpt", device="cpu")
    assert loaded.fingerprint == preset.fingerprint


def test_a_build_must_name_its_tokenizer() -> None:
    from pipeline.config import TokenizerSpec

    with pytest.raises(ValueError, match="--vqgan-preset NAME"):
        TokenizerSpec()
    assert TokenizerSpec(preset="tiny-random").describe() == "preset tiny-random"
