"""Tests of the VQGAN image tokenizer (model/tokenizers/vqgan.py) against taming-transformers' own modules.

The reference codes are computed the way taming's VQModel.encode composes its modules
(encoder -> quant_conv -> VectorQuantizer2 -> indices), one image at a time under torch.no_grad,
on images preprocessed as taming's data loaders do (uint8 / 127.5 - 1.0 in float64, then float32).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from taming_reference import faces, reference_codes, state_of, taming_modules, write_log

from model import ImageTokenizer
from model.testing import write_taming_checkpoint
from model.tokenizers import vqgan as it

ROOT = Path(__file__).resolve().parents[3]


# One intra-op thread: codes are bit-identical at any fixed thread count; the speed of the default
# setting is bench/bench_tokenizers.py's business.
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny() -> ImageTokenizer:
    return ImageTokenizer.preset("tiny-random", device="cpu")


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, torch.nn.Module]]:
    """A taming log (project.yaml + Lightning .ckpt) of a tiny model with weights unlike the preset's."""
    return write_log(tmp_path_factory.mktemp("taming_log"), it.TINY_F16, seed=7)


# ---------------------------------------------------------------- codes are taming's


def test_tiny_codes_equal_taming_reference(tiny_files: tuple[Path, Path, dict]) -> None:
    yaml_path, ckpt, modules = tiny_files
    tok = ImageTokenizer.from_taming(yaml_path, ckpt, device="cpu")
    images = faces(3, seed=1)
    expected = reference_codes(modules, "vqgan", images)
    codes = tok.encode(images, batch_size=2)  # a full batch and a partial one
    assert codes.dtype == np.uint16 and codes.shape == (3, 256)
    assert codes.max() < 1024
    assert len(np.unique(expected)) >= 30, "reference codes too uniform for the comparison to mean anything"
    np.testing.assert_array_equal(codes, expected)


def test_ffhq_f16_codes_equal_taming_reference(tmp_path: Path) -> None:
    """The real FFHQ f=16 architecture (random weights), loaded through a taming-format checkpoint."""
    modules = taming_modules(it.FFHQ_F16, seed=3)
    ckpt, yaml_path = tmp_path / "last.ckpt", tmp_path / "2021-04-23T18-19-01-project.yaml"
    write_taming_checkpoint(state_of(modules), it.FFHQ_F16, ckpt, yaml_path)
    tok = ImageTokenizer.from_taming(yaml_path, ckpt, device="cpu")
    images = faces(2, seed=2)
    codes = tok.encode(images, batch_size=2)
    expected = reference_codes(modules, "vqgan", images)
    assert len(np.unique(expected)) >= 30, "reference codes too uniform for the comparison to mean anything"
    np.testing.assert_array_equal(codes, expected)


def test_decode_equals_taming_decoder(tiny_files: tuple[Path, Path, dict]) -> None:
    yaml_path, ckpt, modules = tiny_files
    tok = ImageTokenizer.from_taming(yaml_path, ckpt, device="cpu")
    codes = np.random.default_rng(0).integers(0, 1024, (2, 256)).astype(np.uint16)
    with torch.no_grad():
        z = modules["quantize"].get_codebook_entry(torch.from_numpy(codes.astype(np.int64)).reshape(-1),
                                                   (2, 16, 16, it.TINY_F16.embed_dim))
        x = modules["decoder"](modules["post_quant_conv"](z))  # both images in one batch
    expected = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    images = tok.decode(codes, batch_size=1)  # one at a time: the batch size changes nothing
    assert images.dtype == np.uint8 and images.shape == (2, 256, 256, 3)
    assert images.std() > 1.0, "decoded images are flat"
    np.testing.assert_array_equal(images, expected)


def test_batch_size_does_not_change_codes(tiny: ImageTokenizer) -> None:
    images = faces(2, seed=4)
    np.testing.assert_array_equal(tiny.encode(images, batch_size=1), tiny.encode(images, batch_size=2))


def test_channels_last_runs_and_mostly_agrees(tiny: ImageTokenizer) -> None:
    # channels-last changes float rounding, so only near-ties may differ; most codes must agree
    fast = ImageTokenizer.preset("tiny-random", device="cpu", channels_last=True)
    assert fast.fingerprint == tiny.fingerprint
    images = faces(2, seed=5)
    agree = (fast.encode(images) == tiny.encode(images)).mean()
    assert agree >= 0.95
    assert fast.decode(tiny.encode(images[:1])).shape == (1, 256, 256, 3)


# ---------------------------------------------------------------- presets and fingerprint


def test_preset_is_deterministic_across_processes(tiny: ImageTokenizer) -> None:
    script = (
        "import numpy as np, sys; sys.path.insert(0, sys.argv[1]);"
        "from model import ImageTokenizer; t = ImageTokenizer.preset('tiny-random', device='cpu');"
        "img = np.full((1, 256, 256, 3), 90, np.uint8); img[0, :128] = 200;"
        "print(t.fingerprint, ','.join(map(str, t.encode(img)[0, :32])))"
    )
    result = subprocess.run([sys.executable, "-c", script, str(ROOT)], capture_output=True, text=True,
                            timeout=120, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    image = np.full((1, 256, 256, 3), 90, np.uint8)
    image[0, :128] = 200
    assert result.stdout.split() == [tiny.fingerprint, ",".join(map(str, tiny.encode(image)[0, :32]))]
    assert "RANDOM weights" in result.stderr  # the loud warning


def test_fingerprint_follows_weights(tiny: ImageTokenizer, tiny_files: tuple[Path, Path, dict]) -> None:
    yaml_path, ckpt, modules = tiny_files
    loaded = ImageTokenizer.from_taming(yaml_path, ckpt, device="cpu")
    assert len(tiny.fingerprint) == 16 and loaded.fingerprint != tiny.fingerprint
    assert ImageTokenizer.from_taming(yaml_path, ckpt, device="cpu").fingerprint == loaded.fingerprint
    assert loaded.fingerprint == it.weights_fingerprint(it.TINY_F16, state_of(modules))
    changed = state_of(modules)
    changed["quantize.embedding.weight"] = changed["quantize.embedding.weight"].clone()
    changed["quantize.embedding.weight"][0, 0] += 1e-3
    assert it.weights_fingerprint(it.TINY_F16, changed) != loaded.fingerprint


def test_preset_weights_round_trip_through_taming_files(tiny: ImageTokenizer, tmp_path: Path) -> None:
    write_taming_checkpoint(tiny, tiny.config, tmp_path / "last.ckpt", tmp_path / "project.yaml")
    loaded = ImageTokenizer.from_taming(tmp_path / "project.yaml", tmp_path / "last.ckpt", device="cpu")
    assert loaded.fingerprint == tiny.fingerprint


def test_unknown_preset() -> None:
    with pytest.raises(ValueError, match="tiny-random"):
        ImageTokenizer.preset("ffhq")


# ---------------------------------------------------------------- checkpoint loading


def test_checkpoint_holds_lightning_metadata(tiny_files: tuple[Path, Path, dict]) -> None:
    _, ckpt, _ = tiny_files
    raw = torch.load(ckpt, map_location="cpu", weights_only=True)  # plain types only
    assert {"epoch", "global_step", "pytorch-lightning_version", "optimizer_states", "callbacks", "state_dict"} <= set(raw)
    assert any(k.startswith("loss.discriminator.") for k in raw["state_dict"])


def test_pickled_lightning_callback_class_loads_weights_only(
    tiny_files: tuple[Path, Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2021 taming logs key `callbacks` by the ModelCheckpoint class itself, which weights_only refuses."""
    yaml_path, ckpt, _ = tiny_files
    module = types.ModuleType("pytorch_lightning.callbacks.model_checkpoint")

    class ModelCheckpoint:
        pass

    ModelCheckpoint.__module__, ModelCheckpoint.__qualname__ = module.__name__, "ModelCheckpoint"
    module.ModelCheckpoint = ModelCheckpoint  # type: ignore[attr-defined]
    for name in ("pytorch_lightning", "pytorch_lightning.callbacks", module.__name__):
        monkeypatch.setitem(sys.modules, name, module if name == module.__name__ else types.ModuleType(name))
    raw = torch.load(ckpt, map_location="cpu", weights_only=True)
    raw["callbacks"] = {ModelCheckpoint: {"best_model_score": torch.tensor(0.5), "best_model_path": "x.ckpt"}}
    lightning_ckpt = tmp_path / "last.ckpt"
    torch.save(raw, lightning_ckpt)
    for name in ("pytorch_lightning", "pytorch_lightning.callbacks", module.__name__):
        monkeypatch.delitem(sys.modules, name)

    with pytest.raises(pickle.UnpicklingError, match="ModelCheckpoint"):
        torch.load(lightning_ckpt, map_location="cpu", weights_only=True)
    tok = ImageTokenizer.from_taming(yaml_path, lightning_ckpt, device="cpu")
    assert tok.fingerprint == ImageTokenizer.from_taming(yaml_path, ckpt, device="cpu").fingerprint
    assert "pytorch_lightning" not in sys.modules  # nothing was imported to load it


def test_missing_unexpected_and_misshapen_keys_are_reported(tiny_files: tuple[Path, Path, dict],
                                                            tmp_path: Path) -> None:
    yaml_path, _, modules = tiny_files
    state = state_of(modules)
    del state["encoder.conv_in.weight"]
    state["encoder.extra.weight"] = torch.zeros(1)
    write_taming_checkpoint(state, it.TINY_F16, tmp_path / "bad.ckpt", tmp_path / "unused.yaml")
    with pytest.raises(ValueError, match=r"1 missing \(encoder.conv_in.weight\); 1 unexpected \(encoder.extra.weight\)"):
        ImageTokenizer.from_taming(yaml_path, tmp_path / "bad.ckpt", device="cpu")
    bigger = it.VQGANConfig(ddconfig=it.TINY_F16.ddconfig, embed_dim=128, n_embed=2048)
    write_taming_checkpoint(state_of(modules), bigger, tmp_path / "unused.ckpt", tmp_path / "bigger.yaml")
    with pytest.raises(ValueError, match=r"1 shape mismatch \(quantize.embedding.weight: checkpoint \(1024, 128\), config \(2048, 128\)\)"):
        ImageTokenizer.from_taming(tmp_path / "bigger.yaml", tiny_files[1], device="cpu")


def test_config_errors(tmp_path: Path) -> None:
    not_taming = tmp_path / "a.yaml"
    not_taming.write_text("data:\n  target: main.DataModuleFromConfig\n")
    with pytest.raises(ValueError, match="model.params"):
        it.load_taming_config(not_taming)
    emavq = tmp_path / "emavq.yaml"
    emavq.write_text("model:\n  target: taming.models.vqgan.EMAVQ\n  params: {embed_dim: 1, n_embed: 2, ddconfig: {}}\n")
    with pytest.raises(ValueError, match="'taming.models.vqgan.EMAVQ', which this tokenizer does not load"):
        it.load_taming_config(emavq)
    gumbel = tmp_path / "gumbel.yaml"
    gumbel.write_text("model:\n  target: taming.models.vqgan.GumbelVQ\n  params: {embed_dim: 1, n_embed: 2, ddconfig: {}}\n")
    with pytest.raises(ValueError, match="gumbel.yaml: model: ddconfig lacks"):
        it.load_taming_config(gumbel)
    with pytest.raises(FileNotFoundError, match="last.ckpt"):
        it.load_taming_state_dict(tmp_path / "missing.ckpt")


def test_real_project_yaml_layout_parses(tmp_path: Path) -> None:
    path = tmp_path / "2021-04-23T18-19-01-project.yaml"
    path.write_text(
        "model:\n  base_learning_rate: 4.5e-06\n  target: taming.models.vqgan.VQModel\n  params:\n"
        "    embed_dim: 256\n    n_embed: 1024\n    ddconfig:\n      double_z: false\n      z_channels: 256\n"
        "      resolution: 256\n      in_channels: 3\n      out_ch: 3\n      ch: 128\n      ch_mult:\n      - 1\n"
        "      - 1\n      - 2\n      - 2\n      - 4\n      num_res_blocks: 2\n      attn_resolutions:\n      - 16\n"
        "      dropout: 0.0\n    lossconfig:\n      target: taming.modules.losses.vqperceptual.VQLPIPSWithDiscriminator\n"
        "      params:\n        disc_conditional: false\n        disc_in_channels: 3\n        disc_start: 30001\n"
        "        disc_weight: 0.8\n        codebook_weight: 1.0\n"
    )
    config = it.load_taming_config(path)
    assert config == it.FFHQ_F16 and (config.downsample, config.grid, config.num_tokens) == (16, 16, 256)


# ---------------------------------------------------------------- input checking


def test_bad_inputs_are_refused_clearly(tiny: ImageTokenizer) -> None:
    image = faces(1)
    with pytest.raises(ValueError, match=r"pass images\[None\]"):
        tiny.encode(image[0])
    with pytest.raises(ValueError, match="uint8"):
        tiny.encode(image.astype(np.float32))
    with pytest.raises(ValueError, match=r"\(B, 256, 256, 3\)"):
        tiny.encode(image[:, :128])
    with pytest.raises(ValueError, match=r"\(B, 256\)"):
        tiny.decode(np.zeros((1, 255), np.uint16))
    with pytest.raises(ValueError, match=r"\[0, 1024\)"):
        tiny.decode(np.full((1, 256), 30522, np.int64))
    with pytest.raises(ValueError, match="integers"):
        tiny.decode(np.zeros((1, 256), np.float32))
    assert tiny.encode(np.zeros((0, 256, 256, 3), np.uint8)).shape == (0, 256)


def test_missing_taming_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "taming.modules.diffusionmodules.model", None)
    with pytest.raises(ImportError, match="pip install --no-deps taming-transformers-rom1504==0.0.6"):
        it.VQGAN(it.TINY_F16)
