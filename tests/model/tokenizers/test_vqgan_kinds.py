"""The kinds of taming logs the image tokenizer loads (model/tokenizers/vqgan.py), against taming's own modules.

Each kind's files are written with random weights as taming lays them out: a GumbelVQ log
(`vqgan_gumbel_f8`: project.yaml with GumbelVQ params, state `quantize.proj.*` / `quantize.embed.*`)
and a Net2NetTransformer log (`2021-04-23T18-19-01_ffhq_transformer`: the VQGAN nested under
`model.params.first_stage_config`, its weights under `first_stage_model.` beside the GPT's
`transformer.`), each with a Lightning-style .ckpt. Reference codes and pixels come from
taming.modules (Encoder, Decoder, VectorQuantizer2, GumbelQuantize) composed as GumbelVQ / VQModel
compose them, one image at a time under torch.no_grad.
"""

from __future__ import annotations

import builtins
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from taming.modules.vqvae.quantize import GumbelQuantize
from taming_reference import faces, reference_codes, reference_pixels, state_of, taming_modules, write_log

from model import ImageTokenizer
from model.testing import write_taming_checkpoint
from model.tokenizers import vqgan as it

pytestmark = pytest.mark.usefixtures("one_thread")


def lightning_checkpoint(state: dict[str, torch.Tensor], global_step: int = 1000) -> dict[str, Any]:
    """A checkpoint dict as pytorch-lightning 1.x saves it (plain types only)."""
    group = {"lr": 4.5e-6, "betas": (0.9, 0.95), "eps": 1e-8, "weight_decay": 0.01, "amsgrad": False, "params": [0, 1]}
    return {
        "epoch": 3, "global_step": global_step, "pytorch-lightning_version": "1.0.8", "state_dict": state,
        "callbacks": {"ModelCheckpoint{'monitor': 'val/loss', 'mode': 'min'}": {
            "monitor": "val/loss", "best_model_score": torch.tensor(4.2), "best_model_path": "", "current_score": None}},
        "optimizer_states": [{"state": {}, "param_groups": [dict(group)]}], "lr_schedulers": [],
    }


def gpt_state(vocab_size: int, block_size: int, n_layer: int = 1, n_embd: int = 16) -> dict[str, torch.Tensor]:
    """Random tensors under the names and shapes of taming's mingpt.GPT (which needs transformers to import)."""
    state = {"tok_emb.weight": torch.randn(vocab_size, n_embd), "pos_emb": torch.zeros(1, block_size, n_embd)}
    for i in range(n_layer):
        b = f"blocks.{i}."
        for ln in ("ln1", "ln2"):
            state[b + ln + ".weight"], state[b + ln + ".bias"] = torch.ones(n_embd), torch.zeros(n_embd)
        for lin in ("key", "query", "value", "proj"):
            state[f"{b}attn.{lin}.weight"], state[f"{b}attn.{lin}.bias"] = torch.randn(n_embd, n_embd), torch.zeros(n_embd)
        state[b + "attn.mask"] = torch.tril(torch.ones(block_size, block_size)).view(1, 1, block_size, block_size)
        state[b + "mlp.0.weight"], state[b + "mlp.0.bias"] = torch.randn(4 * n_embd, n_embd), torch.zeros(4 * n_embd)
        state[b + "mlp.2.weight"], state[b + "mlp.2.bias"] = torch.randn(n_embd, 4 * n_embd), torch.zeros(n_embd)
    state.update({"ln_f.weight": torch.ones(n_embd), "ln_f.bias": torch.zeros(n_embd),
                  "head.weight": torch.randn(vocab_size, n_embd)})
    return state


def write_transformer_log(folder: Path, modules: dict[str, torch.nn.Module], config: it.VQGANConfig) -> tuple[Path, Path]:
    """A Net2NetTransformer log as taming writes it: configs/<stamp>-project.yaml and checkpoints/last.ckpt."""
    (folder / "configs").mkdir(parents=True)
    (folder / "checkpoints").mkdir()
    first_stage_params = {"ckpt_path": "logs/2021-04-23T18-11-19_ffhq_vqgan/checkpoints/last.ckpt",  # not shipped
                          **it.taming_params(config)}
    first_stage_params["lossconfig"] = {"target": "taming.modules.losses.vqperceptual.DummyLoss"}
    project = {
        "model": {"base_learning_rate": 4.5e-06, "target": it.TRANSFORMER_TARGET, "params": {
            "cond_stage_config": "__is_unconditional__",
            "first_stage_key": "image",
            "transformer_config": {"target": "taming.modules.transformer.mingpt.GPT", "params": {
                "vocab_size": config.n_embed, "block_size": config.num_tokens, "n_layer": 1, "n_head": 2, "n_embd": 16}},
            "first_stage_config": {"target": config.target, "params": first_stage_params},
        }},
        "data": {"target": "main.DataModuleFromConfig", "params": {
            "batch_size": 3, "num_workers": 8,
            "train": {"target": "taming.data.faceshq.FFHQTrain", "params": {"size": 256}},
            "validation": {"target": "taming.data.faceshq.FFHQValidation", "params": {"size": 256}}}},
    }
    yaml_path = folder / "configs" / "2021-04-23T18-19-01-project.yaml"
    yaml_path.write_text(yaml.safe_dump(project, sort_keys=False), encoding="utf-8")
    state = state_of(modules, prefix=it.FIRST_STAGE_PREFIX)
    state.update({f"transformer.{k}": v for k, v in gpt_state(config.n_embed, config.num_tokens).items()})
    ckpt = folder / "checkpoints" / "last.ckpt"
    torch.save(lightning_checkpoint(state, global_step=400_000), ckpt)
    return yaml_path, ckpt


@pytest.fixture(scope="module")
def gumbel_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, torch.nn.Module]]:
    """A tiny GumbelVQ log (project.yaml + Lightning .ckpt), weights unlike the preset's."""
    return write_log(tmp_path_factory.mktemp("gumbel_log"), it.TINY_GUMBEL_F8, seed=7)


@pytest.fixture(scope="module")
def vq_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, torch.nn.Module]]:
    return write_log(tmp_path_factory.mktemp("vq_log"), it.TINY_F16, seed=5)


# ---------------------------------------------------------------- GumbelVQ


def test_gumbel_log_codes_and_pixels_equal_taming(gumbel_log: tuple[Path, Path, dict]) -> None:
    yaml_path, ckpt, modules = gumbel_log
    assert yaml.safe_load(yaml_path.read_text())["model"]["target"] == "taming.models.vqgan.GumbelVQ"
    assert any(k.startswith("quantize.proj.") for k in torch.load(ckpt, weights_only=True)["state_dict"])
    tok = ImageTokenizer.from_taming(yaml_path, ckpt, device="cpu")
    assert (tok.kind, tok.codebook_size, tok.num_tokens, tok.grid_side) == ("gumbel-vqgan", 8192, 1024, 32)
    images = faces(3, seed=1)
    expected = reference_codes(modules, "gumbel-vqgan", images)
    codes = tok.encode(images, batch_size=2)  # a full batch and a partial one
    assert codes.dtype == np.uint16 and codes.shape == (3, 1024)
    assert len(np.unique(expected)) >= 100 and expected.max() >= 1024, "reference codes too uniform to compare"
    np.testing.assert_array_equal(codes, expected)

    random_codes = np.random.default_rng(0).integers(0, 8192, (2, 1024)).astype(np.uint16)
    pixels = tok.decode(random_codes, batch_size=1)
    assert pixels.dtype == np.uint8 and pixels.shape == (2, 256, 256, 3) and pixels.std() > 1.0
    np.testing.assert_array_equal(pixels, reference_pixels(modules, it.TINY_GUMBEL_F8, random_codes))


def test_gumbel_codes_are_the_mode_of_taming_quantizer(gumbel_log: tuple[Path, Path, dict]) -> None:
    """GumbelQuantize.forward samples (Gumbel noise even in eval); with the logits sharpened, the sample is our code."""
    yaml_path, ckpt, modules = gumbel_log
    tok = ImageTokenizer.from_taming(yaml_path, ckpt, device="cpu")
    image = faces(1, seed=3)
    x = torch.from_numpy((image / 127.5 - 1.0).astype(np.float32)).permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        h = modules["quant_conv"](modules["encoder"](x))
        quantize = modules["quantize"]
        torch.manual_seed(0)
        _, _, (_, _, sampled) = quantize(h)
        scaled = GumbelQuantize(1, 1, n_embed=8192).eval()  # proj scaled by 1e4: logits ties apart, noise negligible
        scaled.proj = torch.nn.Conv2d(h.shape[1], 8192, 1)
        scaled.proj.weight.copy_(quantize.proj.weight * 1e4)
        scaled.proj.bias.copy_(quantize.proj.bias * 1e4)
        _, _, (_, _, sharp) = scaled(h)
    ours = tok.encode(image)[0].astype(np.int64)
    assert (sampled.reshape(-1).numpy() != ours).mean() > 0.05  # forward's indices are a random sample
    assert (sharp.reshape(-1).numpy() == ours).mean() >= 0.99  # ... of the categorical whose mode we take


def test_openimages_f8_real_size_codes_equal_taming(tmp_path: Path) -> None:
    """The real vqgan_gumbel_f8 architecture (random weights), through a taming-format log."""
    config = it.OPENIMAGES_F8_GUMBEL
    modules = taming_modules(config, seed=3)
    write_taming_checkpoint(state_of(modules), config, tmp_path / "last.ckpt", tmp_path / "project.yaml")
    tok = ImageTokenizer.from_taming(tmp_path / "project.yaml", tmp_path / "last.ckpt", device="cpu")
    assert (tok.kind, tok.codebook_size, tok.num_tokens, tok.grid_side) == ("gumbel-vqgan", 8192, 1024, 32)
    images = faces(1, seed=2)
    expected = reference_codes(modules, "gumbel-vqgan", images)
    assert len(np.unique(expected)) >= 100
    np.testing.assert_array_equal(tok.encode(images), expected)


def test_real_gumbel_f8_project_yaml_parses(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"  # configs/model.yaml of taming's vqgan_gumbel_f8 release
    path.write_text(
        "model:\n  base_learning_rate: 4.5e-06\n  target: taming.models.vqgan.GumbelVQ\n  params:\n"
        "    kl_weight: 1.0e-08\n    embed_dim: 256\n    n_embed: 8192\n    monitor: val/rec_loss\n"
        "    temperature_scheduler_config:\n      target: taming.lr_scheduler.LambdaWarmUpCosineScheduler\n"
        "      params:\n        warm_up_steps: 0\n        max_decay_steps: 1000001\n        lr_start: 0.9\n"
        "        lr_max: 0.9\n        lr_min: 1.0e-06\n    ddconfig:\n      double_z: false\n      z_channels: 256\n"
        "      resolution: 256\n      in_channels: 3\n      out_ch: 3\n      ch: 128\n      ch_mult:\n      - 1\n"
        "      - 1\n      - 2\n      - 4\n      num_res_blocks: 2\n      attn_resolutions:\n      - 32\n"
        "      dropout: 0.0\n    lossconfig:\n      target: taming.modules.losses.vqperceptual.DummyLoss\n"
    )
    log = it.read_taming_log(path)
    assert log.config == it.OPENIMAGES_F8_GUMBEL and log.state_prefix == ""
    assert (log.config.downsample, log.config.grid, log.config.num_tokens) == (8, 32, 1024)
    assert it.taming_params(log.config)["temperature_scheduler_config"] == log.config.extra["temperature_scheduler_config"]


# ---------------------------------------------------------------- Net2NetTransformer


@pytest.mark.parametrize("kind", ["vqgan", "gumbel-vqgan"])
def test_transformer_log_loads_its_first_stage(kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = it.TINY_F16 if kind == "vqgan" else it.TINY_GUMBEL_F8
    modules = taming_modules(config, seed=11)
    yaml_path, ckpt = write_transformer_log(tmp_path / "2021-04-23T18-19-01_ffhq_transformer", modules, config)
    with caplog.at_level(logging.INFO, logger="model.tokenizers"):
        tok = ImageTokenizer.from_taming(yaml_path, ckpt, device="cpu")
    assert "ckpt_path" in caplog.text and "ignored" in caplog.text
    assert tok.kind == kind and tok.num_tokens == config.num_tokens
    images = faces(2, seed=6)
    expected = reference_codes(modules, kind, images)
    assert len(np.unique(expected)) >= 30
    np.testing.assert_array_equal(tok.encode(images), expected)
    # the same first stage alone, as its own log: the same tokenizer, so the same fingerprint
    write_taming_checkpoint(state_of(modules), config, tmp_path / "vq.ckpt", tmp_path / "vq.yaml")
    assert ImageTokenizer.from_taming(tmp_path / "vq.yaml", tmp_path / "vq.ckpt", device="cpu").fingerprint == tok.fingerprint


def test_real_ffhq_transformer_project_yaml_parses(tmp_path: Path) -> None:
    path = tmp_path / "2021-04-23T18-19-01-project.yaml"
    path.write_text(
        "model:\n  base_learning_rate: 4.5e-06\n  target: taming.models.cond_transformer.Net2NetTransformer\n"
        "  params:\n    cond_stage_config: __is_unconditional__\n    first_stage_key: image\n"
        "    transformer_config:\n      target: taming.modules.transformer.mingpt.GPT\n      params:\n"
        "        vocab_size: 1024\n        block_size: 256\n        n_layer: 24\n        n_head: 16\n        n_embd: 1664\n"
        "    first_stage_config:\n      target: taming.models.vqgan.VQModel\n      params:\n"
        "        ckpt_path: logs/2021-04-23T18-11-19_ffhq_vqgan/checkpoints/last.ckpt\n        embed_dim: 256\n"
        "        n_embed: 1024\n        ddconfig:\n          double_z: false\n          z_channels: 256\n"
        "          resolution: 256\n          in_channels: 3\n          out_ch: 3\n          ch: 128\n"
        "          ch_mult:\n          - 1\n          - 1\n          - 2\n          - 2\n          - 4\n"
        "          num_res_blocks: 2\n          attn_resolutions:\n          - 16\n          dropout: 0.0\n"
        "        lossconfig:\n          target: taming.modules.losses.vqperceptual.DummyLoss\n"
        "data:\n  target: main.DataModuleFromConfig\n  params:\n    batch_size: 3\n    num_workers: 8\n"
    )
    log = it.read_taming_log(path)
    assert log.config == it.FFHQ_F16 and log.state_prefix == "first_stage_model."
    assert log.target == it.TRANSFORMER_TARGET and log.config.kind == "vqgan"


# ---------------------------------------------------------------- what the corpus records


def test_kind_fingerprint_and_presets(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="model.tokenizers"):
        gumbel = ImageTokenizer.preset("tiny-gumbel-f8-random", device="cpu")
    assert "RANDOM weights" in caplog.text
    vq = ImageTokenizer.preset("tiny-random", device="cpu")
    assert (gumbel.kind, gumbel.grid_side, gumbel.num_tokens, gumbel.codebook_size) == ("gumbel-vqgan", 32, 1024, 8192)
    assert (vq.kind, vq.grid_side, vq.num_tokens, vq.codebook_size) == ("vqgan", 16, 256, 1024)
    assert gumbel.fingerprint != vq.fingerprint and len(gumbel.fingerprint) == 16
    real = it.PRESETS["openimages-f8-random"][0]
    assert (real.kind, real.n_embed, real.downsample, real.num_tokens, real.grid) == ("gumbel-vqgan", 8192, 8, 1024, 32)
    assert "kind" not in it.FFHQ_F16.to_dict() and real.to_dict()["kind"] == "gumbel-vqgan"
    codes = gumbel.encode(faces(1))
    assert codes.dtype == np.uint16 and codes.shape == (1, 1024)
    assert gumbel.decode(codes).shape == (1, 256, 256, 3)
    with pytest.raises(ValueError, match=r"\(B, 1024\)"):
        gumbel.decode(codes[:, :256])
    with pytest.raises(ValueError, match=r"\[0, 8192\)"):
        gumbel.decode(np.full((1, 1024), 8192, np.int64))


# ---------------------------------------------------------------- bad input


def write_yaml(path: Path, model: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"model": model}, sort_keys=False), encoding="utf-8")
    return path


def test_other_kinds_of_project_yaml_are_refused(tmp_path: Path) -> None:
    kl = write_yaml(tmp_path / "kl.yaml", {"target": "ldm.models.autoencoder.AutoencoderKL", "params": {
        "embed_dim": 4, "ddconfig": {**it.TINY_F16.ddconfig, "double_z": True, "z_channels": 4}}})
    with pytest.raises(ValueError, match=r"kl.yaml: model.target is 'ldm.models.autoencoder.AutoencoderKL'.*KL autoencoder"
                                         r".*Known targets: taming.models.vqgan.VQModel"):
        it.read_taming_log(kl)
    unknown = write_yaml(tmp_path / "odd.yaml", {"target": "my.project.Model", "params": {}})
    with pytest.raises(ValueError, match=r"'my.project.Model'.*GumbelVQ.*Net2NetTransformer"):
        it.read_taming_log(unknown)
    remapped = write_yaml(tmp_path / "remap.yaml", {"target": it.VQMODEL_TARGET, "params": {
        **it.taming_params(it.TINY_F16), "remap": "data/ffhq_used_codes.npy"}})
    with pytest.raises(ValueError, match=r"remap.yaml: model.params.remap is 'data/ffhq_used_codes.npy'"):
        it.read_taming_log(remapped)
    nested_remap = write_yaml(tmp_path / "t.yaml", {"target": it.TRANSFORMER_TARGET, "params": {"first_stage_config": {
        "target": it.GUMBELVQ_TARGET, "params": {**it.taming_params(it.TINY_GUMBEL_F8), "remap": "used.npy"}}}})
    with pytest.raises(ValueError, match=r"model.params.first_stage_config.params.remap"):
        it.read_taming_log(nested_remap)
    no_first_stage = write_yaml(tmp_path / "t2.yaml", {"target": it.TRANSFORMER_TARGET, "params": {
        "first_stage_config": "__is_first_stage__", "cond_stage_config": "__is_unconditional__"}})
    with pytest.raises(ValueError, match=r"t2.yaml: a taming.models.cond_transformer.Net2NetTransformer log, but "
                                         r"model.params.first_stage_config is '__is_first_stage__'"):
        it.read_taming_log(no_first_stage)
    nested_transformer = write_yaml(tmp_path / "t3.yaml", {"target": it.TRANSFORMER_TARGET, "params": {
        "first_stage_config": {"target": it.TRANSFORMER_TARGET, "params": {}}}})
    with pytest.raises(ValueError, match=r"model.params.first_stage_config.target is 'taming.models.cond_transformer"):
        it.read_taming_log(nested_transformer)
    bad_gumbel = write_yaml(tmp_path / "g.yaml", {"target": it.GUMBELVQ_TARGET, "params": {
        **it.taming_params(it.TINY_GUMBEL_F8), "embed_dim": 64}})
    with pytest.raises(ValueError, match=r"g.yaml: model: a GumbelVQ needs embed_dim == ddconfig.z_channels"):
        it.read_taming_log(bad_gumbel)
    (tmp_path / "broken.yaml").write_text("model: [unclosed\n")
    with pytest.raises(ValueError, match="broken.yaml: not YAML"):
        it.read_taming_log(tmp_path / "broken.yaml")


def test_checkpoints_that_do_not_fit_are_refused(gumbel_log: tuple[Path, Path, dict], vq_log: tuple[Path, Path, dict],
                                                 tmp_path: Path) -> None:
    gumbel_yaml, gumbel_ckpt, gumbel_modules = gumbel_log
    vq_yaml, vq_ckpt, vq_modules = vq_log
    # a VectorQuantizer2 checkpoint of the same encoder and decoder, under a GumbelVQ project.yaml
    as_vq = it.VQGANConfig(ddconfig=it.TINY_GUMBEL_F8.ddconfig, embed_dim=128, n_embed=8192)
    write_taming_checkpoint(state_of(taming_modules(as_vq, seed=1)), as_vq, tmp_path / "vq8.ckpt", tmp_path / "vq8.yaml")
    with pytest.raises(ValueError, match=r"vq8.ckpt does not fit .*project.yaml \(a taming.models.vqgan.GumbelVQ\): "
                                         r"3 missing \(quantize.embed.weight, quantize.proj.bias, quantize.proj.weight\); "
                                         r"1 unexpected \(quantize.embedding.weight\)\. Pass"):
        ImageTokenizer.from_taming(gumbel_yaml, tmp_path / "vq8.ckpt", device="cpu")
    smaller = it.VQGANConfig(ddconfig=it.TINY_GUMBEL_F8.ddconfig, embed_dim=128, n_embed=4096, kind="gumbel-vqgan")
    write_taming_checkpoint(state_of(gumbel_modules), smaller, tmp_path / "unused.ckpt", tmp_path / "smaller.yaml")
    with pytest.raises(ValueError, match=r"shape mismatch \(quantize.embed.weight: checkpoint \(8192, 128\), config "
                                         r"\(4096, 128\), quantize.proj.bias"):
        ImageTokenizer.from_taming(tmp_path / "smaller.yaml", gumbel_ckpt, device="cpu")
    # a transformer's project.yaml with a VQGAN's own checkpoint, and the other way round
    t_yaml, t_ckpt = write_transformer_log(tmp_path / "transformer", vq_modules, it.TINY_F16)
    with pytest.raises(ValueError, match=r"last.ckpt: no first_stage_model.\* weights \(it holds decoder., encoder., "
                                         r"loss., post_quant_conv., quant_conv., quantize.\)"):
        ImageTokenizer.from_taming(t_yaml, vq_ckpt, device="cpu")
    with pytest.raises(ValueError, match=r"holds first_stage_model.\* weights: it is a Net2NetTransformer's"):
        ImageTokenizer.from_taming(vq_yaml, t_ckpt, device="cpu")
    # a transformer log whose first stage lacks a tensor
    raw = torch.load(t_ckpt, weights_only=True)
    del raw["state_dict"]["first_stage_model.quant_conv.bias"]
    torch.save(raw, tmp_path / "partial.ckpt")
    with pytest.raises(ValueError, match=r"partial.ckpt does not fit .*1 missing \(quant_conv.bias\).*nothing was loaded"):
        ImageTokenizer.from_taming(t_yaml, tmp_path / "partial.ckpt", device="cpu")


class _RunsCode:
    """Pickles as a call of `function(argument)`: what a malicious checkpoint does."""

    def __init__(self, function: Any, argument: str) -> None:
        self.function, self.argument = function, argument

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return self.function, (self.argument,)


@pytest.mark.parametrize("function, name", [(os.system, "posix.system"), (builtins.exec, "builtins.exec")])
def test_pickle_that_would_run_code_is_refused(function: Any, name: str, vq_log: tuple[Path, Path, dict],
                                               tmp_path: Path) -> None:
    vq_yaml, vq_ckpt, _ = vq_log
    marker = tmp_path / "ran"
    command = f"touch {marker}" if function is os.system else f"open({str(marker)!r}, 'w').close()"
    raw = torch.load(vq_ckpt, weights_only=True)
    raw["callbacks"] = {"ModelCheckpoint": _RunsCode(function, command)}
    evil = tmp_path / "last.ckpt"
    torch.save(raw, evil)
    with pytest.raises(ValueError, match=rf"last.ckpt: refused, nothing unpickled: the checkpoint's pickle names {name}"):
        ImageTokenizer.from_taming(vq_yaml, evil, device="cpu")
    assert not marker.exists()
