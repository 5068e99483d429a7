"""The VQGAN image tokenizer: 256x256 RGB faces to VQGAN codes and back, with taming-transformers' modules.

The corpus tokenises every face with the FFHQ f=16 VQGAN of taming-transformers (1,024 codes, a
16x16 grid: 256 codes for a 256x256 face); the paper's ablation (Table 5) also uses the
OpenImages f=8 Gumbel VQGAN (8,192 codes, a 32x32 grid: 1,024 codes). This module loads such a
model from taming's own files (the `project.yaml` of a training log and its Lightning `.ckpt`),
and runs it fast: batched, under `torch.inference_mode`, channels-last and bf16 autocast on CUDA,
optionally `torch.compile`d.

    tok = ImageTokenizer.from_taming("2021-04-23T18-19-01-project.yaml", "last.ckpt")
    codes = tok.encode(faces)          # (B, 256, 256, 3) uint8 RGB -> (B, tok.num_tokens) uint16
    faces = tok.decode(codes)          # (B, tok.num_tokens) codes -> (B, 256, 256, 3) uint8 RGB

Accepted logs (`model.target` of project.yaml), as taming ships them:

* `taming.models.vqgan.VQModel` (kind "vqgan"), e.g. the FFHQ f=16 VQGAN log: codes are those
  of `VQModel.encode` (encoder -> quant_conv -> VectorQuantizer2 nearest entry), decoding looks
  the codes up in `quantize.embedding`.
* `taming.models.vqgan.GumbelVQ` (kind "gumbel-vqgan"), e.g. `vqgan_gumbel_f8` (OpenImages, f=8,
  8,192 codes): encoder -> quant_conv -> `GumbelQuantize.proj` logits; the code is their argmax,
  the mode of the categorical the quantizer samples from. (taming's `GumbelQuantize.forward` draws
  Gumbel noise even in eval mode, so its indices are a random sample; the argmax is the
  deterministic code.) Decoding looks codes up in `quantize.embed`, as `get_codebook_entry` does.
* `taming.models.cond_transformer.Net2NetTransformer`, e.g. the released
  `2021-04-23T18-19-01_ffhq_transformer` log that Talk2Face's instructions name: the VQGAN is its
  first stage, described by `model.params.first_stage_config` (a VQModel or GumbelVQ; its own
  `ckpt_path` names a log that is not shipped and is ignored) and stored under
  `first_stage_model.` in the transformer's last.ckpt. The GPT (`transformer.`), the conditioning
  stage (`cond_stage_model.`), the permuter and the losses are ignored: the corpus records the
  first stage's codes, row-major, unpermuted.

Anything else (a KL autoencoder, a remapped codebook, an unknown target) is refused with an error
naming the file, the target or field found and what is accepted. On CPU in fp32 (the default
there) every activation is bit-for-bit that of taming's modules, so the codes are identical;
channels-last, bf16 and `torch.compile` change float rounding, so a code whose two best
candidates are almost tied may flip (bench/RESULTS.md measures how often). Preprocessing is
taming's (`uint8 / 127.5 - 1` computed in float64, stored as float32).

Installing taming: the package `taming-transformers-rom1504==0.0.6` declares torchvision and
pytorch-lightning, which only its training code (`taming.models.*`, LightningModules) needs; those
do not even import with current pytorch-lightning. We use only `taming.modules` (Encoder, Decoder,
VectorQuantizer2, GumbelQuantize: torch, numpy and einops), so install it with
`pip install --no-deps taming-transformers-rom1504==0.0.6`. `VQGAN` and `GumbelVQGAN` below are our
own small modules with taming's attribute names, so a checkpoint's `state_dict` keys load unchanged.

Checkpoints load with `torch.load(weights_only=True)`. Lightning also pickles the classes of its
callbacks into a `.ckpt` (`pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint` as a dict
key, in the 2021 logs), which `weights_only` refuses; classes of Lightning's own modules (and
numpy's, omegaconf's) are loaded as inert stand-ins (no foreign code runs) and only `state_dict`
is used. A pickle naming anything else (`posix.system`, `builtins.eval`, ...) is refused unread.

On CPU, the tokenizer by default raises glibc's mmap threshold (`tune_allocator=True`): a 256x256
activation with 128 channels is 32 MiB, which glibc otherwise maps fresh from the kernel and
page-faults in for every layer; keeping freed memory in the heap is bit-for-bit neutral and saves
about 30% of the CPU time here (bench/RESULTS.md). The process then keeps its peak memory. The
other CPU gain is batching (default 8 images), which keeps the codes identical too.

Presets with seeded random weights, so nothing needs a download (their codes mean nothing, and
using them logs a warning): `tiny-random` (small f=16, for tests and the demo), `ffhq-random`
(the FFHQ f=16 architecture, for benchmarks), `tiny-gumbel-f8-random` (small f=8 Gumbel, 8,192
codes, for tests) and `openimages-f8-random` (the OpenImages f=8 Gumbel architecture).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import json
import logging
import pickle
import platform
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn

logger = logging.getLogger(__name__)

TAMING_INSTALL = "pip install --no-deps taming-transformers-rom1504==0.0.6"
VQMODEL_TARGET = "taming.models.vqgan.VQModel"
GUMBELVQ_TARGET = "taming.models.vqgan.GumbelVQ"
TRANSFORMER_TARGET = "taming.models.cond_transformer.Net2NetTransformer"
# model.target of a taming autoencoder -> our kind of tokenizer
KIND_OF_TARGET = {VQMODEL_TARGET: "vqgan", GUMBELVQ_TARGET: "gumbel-vqgan"}
TARGET_OF_KIND = {kind: target for target, kind in KIND_OF_TARGET.items()}
KNOWN_TARGETS = (VQMODEL_TARGET, GUMBELVQ_TARGET, TRANSFORMER_TARGET)
FIRST_STAGE_PREFIX = "first_stage_model."  # where a Net2NetTransformer's last.ckpt keeps its VQGAN
# Checkpoint keys that are not part of the tokenizer: the LPIPS net and the discriminator of
# VQLPIPSWithDiscriminator, trained beside the autoencoder.
IGNORED_PREFIXES = ("loss.",)
_DDCONFIG_KEYS = ("ch", "out_ch", "ch_mult", "num_res_blocks", "attn_resolutions", "in_channels",
                  "resolution", "z_channels")


def _gumbel_quantize() -> Any:
    """taming's GumbelQuantize, or an error saying how to install it."""
    try:
        from taming.modules.vqvae.quantize import GumbelQuantize
    except ImportError as error:
        raise ImportError(f"the Gumbel VQGAN needs taming-transformers' modules ({error}); install them with "
                          f"`{TAMING_INSTALL}`") from error
    return GumbelQuantize


def _taming() -> tuple[Any, Any, Any, Callable[[torch.Tensor], torch.Tensor]]:
    """taming's Encoder, Decoder, VectorQuantizer2 and nonlinearity, or an error saying how to install them."""
    try:
        from taming.modules.diffusionmodules.model import Decoder, Encoder, nonlinearity
        from taming.modules.vqvae.quantize import VectorQuantizer2
    except ImportError as error:
        raise ImportError(
            f"the image tokenizer needs taming-transformers' modules ({error}); install them with "
            f"`{TAMING_INSTALL}` (--no-deps: its declared torchvision / pytorch-lightning are not needed)"
        ) from error
    return Encoder, Decoder, VectorQuantizer2, nonlinearity


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class VQGANConfig:
    """Architecture of a taming VQModel or GumbelVQ: what `model.params` of its project.yaml holds."""

    ddconfig: Mapping[str, Any]  # Encoder/Decoder kwargs: ch, ch_mult, num_res_blocks, resolution, ...
    embed_dim: int  # size of a codebook vector
    n_embed: int  # number of codebook vectors (codes are 0 .. n_embed-1)
    kind: str = "vqgan"  # "vqgan" (VQModel, VectorQuantizer2) or "gumbel-vqgan" (GumbelVQ, GumbelQuantize)
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)  # other params, kept for YAML

    def __post_init__(self) -> None:
        if self.kind not in TARGET_OF_KIND:
            raise ValueError(f"kind {self.kind!r} is not one of {sorted(TARGET_OF_KIND)}")
        missing = [k for k in _DDCONFIG_KEYS if k not in self.ddconfig]
        if missing:
            raise ValueError(f"ddconfig lacks {missing}; a taming VQGAN ddconfig has {list(_DDCONFIG_KEYS)}")
        dd = self.ddconfig
        if dd.get("double_z", True):
            raise ValueError("ddconfig.double_z must be False for a VQGAN (True is the KL autoencoder)")
        if dd["in_channels"] != 3 or dd["out_ch"] != 3:
            raise ValueError(f"ddconfig in_channels/out_ch must be 3 (RGB), got {dd['in_channels']}/{dd['out_ch']}")
        if not 0 < self.n_embed <= 65536:
            raise ValueError(f"n_embed {self.n_embed} does not fit the uint16 codes of the corpus (1..65536)")
        if dd["resolution"] % self.downsample:
            raise ValueError(f"resolution {dd['resolution']} is not a multiple of the f={self.downsample} grid")
        if self.kind == "gumbel-vqgan" and self.embed_dim != dd["z_channels"]:
            raise ValueError(f"a GumbelVQ needs embed_dim == ddconfig.z_channels (its quant_conv gives embed_dim "
                             f"channels to GumbelQuantize.proj, built for z_channels), got {self.embed_dim} and "
                             f"{dd['z_channels']}")

    @property
    def resolution(self) -> int:
        """Side of the square RGB image the model takes (256 for FFHQ)."""
        return int(self.ddconfig["resolution"])

    @property
    def downsample(self) -> int:
        """The f of f=16: image pixels per code along a side."""
        return 2 ** (len(self.ddconfig["ch_mult"]) - 1)

    @property
    def grid(self) -> int:
        """Codes along a side (16 for a 256x256 image at f=16)."""
        return self.resolution // self.downsample

    @property
    def num_tokens(self) -> int:
        """Codes per image (256 at f=16, 1,024 at f=8, for 256x256)."""
        return self.grid * self.grid

    @property
    def target(self) -> str:
        """The taming class of this kind, as `model.target` names it."""
        return TARGET_OF_KIND[self.kind]

    def to_dict(self) -> dict[str, Any]:
        """The architecture as plain data (ddconfig, embed_dim, n_embed, and kind unless "vqgan").

        "vqgan" is left out so that the fingerprints of corpora built before kinds existed stay valid.
        """
        out = {"ddconfig": _plain(self.ddconfig), "embed_dim": int(self.embed_dim), "n_embed": int(self.n_embed)}
        if self.kind != "vqgan":
            out["kind"] = self.kind
        return out


def _plain(value: Any) -> Any:
    """`value` with tuples as lists and mappings as dicts, for JSON and YAML."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


FFHQ_F16 = VQGANConfig(
    ddconfig={"double_z": False, "z_channels": 256, "resolution": 256, "in_channels": 3, "out_ch": 3,
              "ch": 128, "ch_mult": [1, 1, 2, 2, 4], "num_res_blocks": 2, "attn_resolutions": [16],
              "dropout": 0.0},
    embed_dim=256,
    n_embed=1024,
)
# The same family at ~3% of the cost: 5 levels (16x16 grid), 1,024 codes, 32 channels at full size
# (GroupNorm's 32 groups allow no fewer). z_channels and embed_dim stay at 128 so that even at
# batch 1 every 1x1 conv input exceeds 20,480 values and takes the same oneDNN kernel as at batch
# 2+ (PyTorch's CPU conv heuristic): codes and pixels do not depend on the batch size.
TINY_F16 = VQGANConfig(
    ddconfig={"double_z": False, "z_channels": 128, "resolution": 256, "in_channels": 3, "out_ch": 3,
              "ch": 32, "ch_mult": [1, 1, 2, 2, 4], "num_res_blocks": 1, "attn_resolutions": [16],
              "dropout": 0.0},
    embed_dim=128,
    n_embed=1024,
)
# taming's vqgan_gumbel_f8 (OpenImages, the paper's Table 5 ablation): 4 levels, a 32x32 grid of 8,192 codes
GUMBEL_TEMPERATURE_SCHEDULER = {
    "target": "taming.lr_scheduler.LambdaWarmUpCosineScheduler",
    "params": {"warm_up_steps": 0, "max_decay_steps": 1000001, "lr_start": 0.9, "lr_max": 0.9, "lr_min": 1.0e-06},
}
OPENIMAGES_F8_GUMBEL = VQGANConfig(
    ddconfig={"double_z": False, "z_channels": 256, "resolution": 256, "in_channels": 3, "out_ch": 3,
              "ch": 128, "ch_mult": [1, 1, 2, 4], "num_res_blocks": 2, "attn_resolutions": [32],
              "dropout": 0.0},
    embed_dim=256,
    n_embed=8192,
    kind="gumbel-vqgan",
    extra={"kl_weight": 1.0e-08, "temperature_scheduler_config": GUMBEL_TEMPERATURE_SCHEDULER},
)
# The f=8 Gumbel family small (32 channels at full size, one block per level), all 8,192 codes, so
# codes above 1,023 and the 1,024-code grid are exercised; 128 channels at the codes, as in TINY_F16.
TINY_GUMBEL_F8 = VQGANConfig(
    ddconfig={"double_z": False, "z_channels": 128, "resolution": 256, "in_channels": 3, "out_ch": 3,
              "ch": 32, "ch_mult": [1, 1, 2, 4], "num_res_blocks": 1, "attn_resolutions": [32],
              "dropout": 0.0},
    embed_dim=128,
    n_embed=8192,
    kind="gumbel-vqgan",
    extra={"kl_weight": 1.0e-08, "temperature_scheduler_config": GUMBEL_TEMPERATURE_SCHEDULER},
)
PRESETS: dict[str, tuple[VQGANConfig, int]] = {  # name -> (architecture, torch.manual_seed)
    "tiny-random": (TINY_F16, 0),
    "ffhq-random": (FFHQ_F16, 0),
    "tiny-gumbel-f8-random": (TINY_GUMBEL_F8, 0),
    "openimages-f8-random": (OPENIMAGES_F8_GUMBEL, 0),
}


@dataclass(frozen=True)
class TamingLog:
    """What a taming project.yaml says about its image tokenizer."""

    config: VQGANConfig  # the autoencoder's architecture
    target: str  # model.target of the file (a VQModel, a GumbelVQ or a Net2NetTransformer)
    state_prefix: str = ""  # where its weights sit in last.ckpt: "" or "first_stage_model."


def read_taming_log(path: str | Path) -> TamingLog:
    """The image tokenizer a taming project.yaml describes: a VQModel, a GumbelVQ, or a Net2NetTransformer's first stage.

    A real file starts `model:\\n  base_learning_rate: 4.5e-06\\n  target: taming.models.vqgan.VQModel`.
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not YAML ({error}); expected a taming log's configs/*-project.yaml") from error
    model = doc.get("model", doc) if isinstance(doc, dict) else None
    if not isinstance(model, dict) or not isinstance(model.get("params"), dict):
        raise ValueError(
            f"{path}: no model.params; expected the project.yaml of a taming log (e.g. "
            "logs/2021-04-23T18-19-01_ffhq_transformer/configs/2021-04-23T18-19-01-project.yaml)"
        )
    target = model.get("target", VQMODEL_TARGET)
    if target != TRANSFORMER_TARGET:
        return TamingLog(_autoencoder_config(path, model, "model"), str(target))
    first_stage = model["params"].get("first_stage_config")
    where = "model.params.first_stage_config"
    if not isinstance(first_stage, dict):
        raise ValueError(f"{path}: a {TRANSFORMER_TARGET} log, but {where} is {first_stage!r}, not the mapping "
                         f"(target, params) of its VQGAN; the tokenizer is that first stage")
    if isinstance(first_stage.get("params"), dict) and first_stage["params"].get("ckpt_path"):
        logger.info("%s: %s.params.ckpt_path (%s) ignored: the first stage's weights are read from the "
                    "transformer's checkpoint (%s*)", path, where, first_stage["params"]["ckpt_path"], FIRST_STAGE_PREFIX)
    return TamingLog(_autoencoder_config(path, first_stage, where), TRANSFORMER_TARGET, FIRST_STAGE_PREFIX)


def load_taming_config(path: str | Path) -> VQGANConfig:
    """The architecture in a taming project.yaml (see read_taming_log for the accepted targets)."""
    return read_taming_log(path).config


def _autoencoder_config(path: Path, section: Mapping[str, Any], where: str) -> VQGANConfig:
    """The VQGANConfig of one `{target, params}` section of a project.yaml; `where` names it in errors."""
    target = section.get("target", VQMODEL_TARGET)
    if target not in KIND_OF_TARGET:
        raise ValueError(_unknown_target(path, where, target))
    params = section.get("params")
    if not isinstance(params, dict) or not all(k in params for k in ("ddconfig", "embed_dim", "n_embed")):
        raise ValueError(f"{path}: {where}.params lacks ddconfig, embed_dim or n_embed, which a {target} has")
    if params.get("remap") is not None:
        raise ValueError(f"{path}: {where}.params.remap is {params['remap']!r}: a remapped codebook (codes are "
                         "indices into a used-subset file) is not supported; use a log without remap")
    if not isinstance(params["ddconfig"], dict):
        raise ValueError(f"{path}: {where}.params.ddconfig is not a mapping")
    extra = {k: v for k, v in params.items() if k not in ("ddconfig", "embed_dim", "n_embed")}
    try:
        return VQGANConfig(ddconfig=dict(params["ddconfig"]), embed_dim=int(params["embed_dim"]),
                           n_embed=int(params["n_embed"]), kind=KIND_OF_TARGET[target], extra=extra)
    except ValueError as error:
        raise ValueError(f"{path}: {where}: {error}") from error


def _unknown_target(path: Path, where: str, target: Any) -> str:
    hint = ""
    if "autoencoder" in str(target).lower() or "kl" in str(target).rsplit(".", 1)[-1].lower():
        hint = (" It looks like a KL autoencoder (latent-diffusion style): its latents are continuous, with no "
                "codebook, so it cannot make the corpus's discrete codes.")
    return (f"{path}: {where}.target is {target!r}, which this tokenizer does not load.{hint} Known targets: "
            f"{VQMODEL_TARGET} (kind vqgan), {GUMBELVQ_TARGET} (kind gumbel-vqgan), {TRANSFORMER_TARGET} "
            "(its first_stage_config, a VQModel or GumbelVQ). Pass the project.yaml of one of those logs.")


# --------------------------------------------------------------------------- checkpoints


class _StandIn:
    """Takes the place of a class pickled beside the weights in a checkpoint; runs no foreign code."""

    def __new__(cls, *args: Any, **kwargs: Any) -> _StandIn:
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state


# Top-level modules whose pickled classes a checkpoint may carry beside the weights (Lightning's
# callbacks and hyper-parameters, numpy scalars in their scores); they load as inert stand-ins.
# Any other name (posix.system, builtins.eval, subprocess.Popen, ...) has no business in a
# checkpoint: the file is refused before anything is unpickled.
STAND_IN_MODULES = ("pytorch_lightning", "lightning", "lightning_fabric", "numpy", "omegaconf")


def _stand_in(full_name: str) -> type:
    module, _, name = full_name.rpartition(".")
    return type(name, (_StandIn,), {"__module__": module, "__qualname__": name})


def _load_weights_only(path: Path) -> Any:
    """torch.load(weights_only=True), with pickled foreign classes (Lightning callbacks) as stand-ins."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        try:
            foreign = sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path))
        except (ValueError, RuntimeError):
            foreign = []
        if not foreign:
            raise ValueError(f"{path}: not loadable with torch.load(weights_only=True): {error}") from error
        refused = [name for name in foreign if name.split(".", 1)[0] not in STAND_IN_MODULES]
        if refused:
            raise ValueError(
                f"{path}: refused, nothing unpickled: the checkpoint's pickle names {', '.join(refused)}, which "
                f"are neither weights nor Lightning bookkeeping ({', '.join(STAND_IN_MODULES)}) and could run code "
                "on load. Use a checkpoint from a trusted source, or re-save only its weights with "
                "torch.save({'state_dict': state_dict}, path) where it can be loaded safely"
            ) from error
        logger.info("%s: loading %d pickled classes beside the weights as inert stand-ins: %s",
                    path, len(foreign), ", ".join(foreign))
        with torch.serialization.safe_globals([(_stand_in(name), name) for name in foreign]):
            try:
                return torch.load(path, map_location="cpu", weights_only=True)
            except pickle.UnpicklingError as again:
                raise ValueError(f"{path}: not loadable with torch.load(weights_only=True): {again}") from again


def load_taming_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The `state_dict` of a taming Lightning checkpoint (or a bare state dict), on CPU, `loss.*` included."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint; pass the taming log's checkpoints/last.ckpt")
    obj = _load_weights_only(path)
    if isinstance(obj, Mapping) and "state_dict" in obj:
        state = obj["state_dict"]
    elif isinstance(obj, Mapping) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        state = obj
    else:
        raise ValueError(f"{path}: no 'state_dict' in the checkpoint; expected a taming Lightning .ckpt (last.ckpt)")
    if not isinstance(state, Mapping):
        raise ValueError(f"{path}: 'state_dict' is a {type(state).__name__}, not a mapping of tensors")
    not_tensors = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if not_tensors:
        raise ValueError(f"{path}: state_dict entries that are not tensors: {not_tensors[:5]}")
    return dict(state)


def write_taming_checkpoint(
    model_or_state: nn.Module | ImageTokenizer | Mapping[str, torch.Tensor],
    config: VQGANConfig | Mapping[str, Any],
    ckpt_path: str | Path,
    yaml_path: str | Path,
    *,
    global_step: int = 1000,
) -> None:
    """Write weights as a taming log does: a Lightning `.ckpt` and a `project.yaml`.

    The checkpoint carries what a real one does besides the weights (fake `loss.*` LPIPS and
    discriminator tensors, epoch, global_step, optimizer_states, callbacks, pytorch-lightning_version),
    all as plain types, so tests and the demo exercise the real loading path without a download.
    """
    if isinstance(model_or_state, ImageTokenizer):
        model_or_state = model_or_state.model
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    if not isinstance(config, VQGANConfig):
        config = VQGANConfig(ddconfig=dict(config["ddconfig"]), embed_dim=int(config["embed_dim"]),
                             n_embed=int(config["n_embed"]), kind=str(config.get("kind", "vqgan")))
    weights = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    if config.kind == "vqgan":  # VQLPIPSWithDiscriminator's weights; the released Gumbel log has DummyLoss
        weights.update({
            "loss.logvar": torch.zeros(()),
            "loss.perceptual_loss.net.slice1.0.weight": torch.zeros(64, 3, 3, 3),
            "loss.discriminator.main.0.weight": torch.zeros(64, 3, 4, 4),
            "loss.discriminator.main.0.bias": torch.zeros(64),
        })
    adam_group = {"lr": 4.5e-6, "betas": (0.5, 0.9), "eps": 1e-8, "weight_decay": 0, "amsgrad": False,
                  "params": [0, 1]}
    checkpoint = {
        "epoch": 0,
        "global_step": global_step,
        "pytorch-lightning_version": "1.0.8",
        "state_dict": weights,
        "callbacks": {"ModelCheckpoint{'monitor': None, 'mode': 'min'}": {
            "monitor": None, "best_model_score": None, "best_model_path": "", "current_score": None}},
        "optimizer_states": [{"state": {}, "param_groups": [dict(adam_group)]} for _ in range(2)],
        "lr_schedulers": [],
    }
    torch.save(checkpoint, Path(ckpt_path))
    project = {"model": {"base_learning_rate": 4.5e-6, "target": config.target, "params": taming_params(config)}}
    Path(yaml_path).write_text(yaml.safe_dump(project, sort_keys=False), encoding="utf-8")


def taming_params(config: VQGANConfig) -> dict[str, Any]:
    """`model.params` of the project.yaml taming writes for this architecture, in its key order."""
    if config.kind == "gumbel-vqgan":  # as configs of vqgan_gumbel_f8
        return {
            "kl_weight": config.extra.get("kl_weight", 1.0e-08),
            "embed_dim": int(config.embed_dim),
            "n_embed": int(config.n_embed),
            "monitor": "val/rec_loss",
            "temperature_scheduler_config": _plain(config.extra.get("temperature_scheduler_config",
                                                                    GUMBEL_TEMPERATURE_SCHEDULER)),
            "ddconfig": _plain(config.ddconfig),
            "lossconfig": {"target": "taming.modules.losses.vqperceptual.DummyLoss"},
        }
    return {
        "embed_dim": int(config.embed_dim),
        "n_embed": int(config.n_embed),
        "ddconfig": _plain(config.ddconfig),
        "lossconfig": {"target": "taming.modules.losses.vqperceptual.VQLPIPSWithDiscriminator",
                       "params": {"disc_conditional": False, "disc_in_channels": 3, "disc_start": 30001,
                                  "disc_weight": 0.8, "codebook_weight": 1.0}},
    }


def weights_fingerprint(config: VQGANConfig, state: Mapping[str, torch.Tensor]) -> str:
    """16 hex digits of sha256 over the architecture and every weight's name, dtype, shape and bytes."""
    digest = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode())
    for key in sorted(state):
        tensor = state[key].detach().to("cpu").contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().data)
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------- the model


class VQGAN(nn.Module):
    """taming's VQModel without Lightning and losses; its attribute names, so checkpoint keys load as is."""

    def __init__(self, config: VQGANConfig) -> None:
        super().__init__()
        Encoder, Decoder, VectorQuantizer2, nonlinearity = _taming()
        self.config = config
        self._nonlinearity = nonlinearity
        z_channels = config.ddconfig["z_channels"]
        self.encoder = Encoder(**config.ddconfig)
        with contextlib.redirect_stdout(io.StringIO()):  # taming's Decoder prints the latent shape
            self.decoder = Decoder(**config.ddconfig)
        self.quantize: Any = self._quantizer(config, VectorQuantizer2)  # taming module, untyped
        self.quant_conv = nn.Conv2d(z_channels, config.embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(config.embed_dim, z_channels, 1)
        self.memory_format = torch.contiguous_format  # of the latents decode_codes feeds the decoder

    def _quantizer(self, config: VQGANConfig, vector_quantizer: Any) -> nn.Module:
        # as VQModel builds it: beta 0.25, no remap, legacy loss, indices returned flat (b h w)
        return vector_quantizer(config.n_embed, config.embed_dim, beta=0.25)  # type: ignore[no-any-return]

    def encode_latents(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) in [-1, 1] -> pre-quantization latents (B, embed_dim, H/f, W/f)."""
        return self.quant_conv(self._run_encoder(x))

    def _run_encoder(self, x: torch.Tensor) -> torch.Tensor:
        # taming's Encoder.forward, module for module, but dropping each activation once used
        # (its forward keeps all of them in a list: ~3 GiB more at batch 32)
        enc = self.encoder
        h = enc.conv_in(x)
        for i_level, down in enumerate(enc.down):
            for i_block, block in enumerate(down.block):
                h = block(h, None)
                if len(down.attn) > 0:
                    h = down.attn[i_block](h)
            if i_level != enc.num_resolutions - 1:
                h = down.downsample(h)
        h = enc.mid.block_2(enc.mid.attn_1(enc.mid.block_1(h, None)), None)
        return enc.conv_out(self._nonlinearity(enc.norm_out(h)))

    def codes(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents (B, embed_dim, h, w) -> nearest codebook indices (B, h*w), row-major, int64."""
        _, _, (_, _, indices) = self.quantize(latents.float())
        return indices.reshape(latents.shape[0], -1)

    def code_vectors(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, h*w) int64 -> their codebook vectors (B, embed_dim, h, w)."""
        grid = self.config.grid
        z: torch.Tensor = self.quantize.get_codebook_entry(
            codes.reshape(-1), (codes.shape[0], grid, grid, self.config.embed_dim))
        return z

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, h*w) int64 -> images (B, 3, H, W), roughly in [-1, 1]."""
        z = self.code_vectors(codes).contiguous(memory_format=self.memory_format)
        return self.decoder(self.post_quant_conv(z))


class GumbelVQGAN(VQGAN):
    """taming's GumbelVQ without Lightning and losses: a VQGAN whose quantizer is GumbelQuantize.

    Codes are the argmax of `quantize.proj`'s logits (the mode of what GumbelQuantize samples);
    decoding looks them up in `quantize.embed`, as GumbelQuantize.get_codebook_entry does.
    """

    def _quantizer(self, config: VQGANConfig, vector_quantizer: Any) -> nn.Module:
        # as GumbelVQ builds it: proj from z_channels, embed of embed_dim, no remap
        return _gumbel_quantize()(config.ddconfig["z_channels"], config.embed_dim, n_embed=config.n_embed,  # type: ignore[no-any-return]
                                  kl_weight=config.extra.get("kl_weight", 1e-8), temp_init=1.0)

    def codes(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents (B, embed_dim, h, w) -> argmax of the code logits (B, h*w), row-major, int64."""
        return self.quantize.proj(latents.float()).argmax(dim=1).reshape(latents.shape[0], -1)

    def code_vectors(self, codes: torch.Tensor) -> torch.Tensor:
        # an embedding lookup: the same numbers as get_codebook_entry's one-hot einsum, without its
        # (B, n_embed, h, w) one-hot tensor (256 MiB for 8 images at 8,192 codes)
        grid = self.config.grid
        z = nn.functional.embedding(codes, self.quantize.embed.weight)  # (B, h*w, embed_dim)
        return z.reshape(codes.shape[0], grid, grid, -1).permute(0, 3, 1, 2)  # channels-last strides

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        # the code vectors keep the channels-last strides that get_codebook_entry's einsum gives them
        # (taming's decoder then runs channels-last), so the pixels are bit-for-bit taming's
        return self.decoder(self.post_quant_conv(self.code_vectors(codes)))


MODEL_CLASSES: dict[str, type[VQGAN]] = {"vqgan": VQGAN, "gumbel-vqgan": GumbelVQGAN}


def build_model(config: VQGANConfig) -> VQGAN:
    """The module of `config.kind` (VQGAN or GumbelVQGAN), with taming's default initialisation."""
    return MODEL_CLASSES[config.kind](config)


def preset_model(name: str) -> VQGAN:
    """The seeded random model of a preset (see PRESETS), on CPU; no warning."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}, or use from_taming()")
    config, seed = PRESETS[name]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(config)


def first_stage_state(log: TamingLog, state: Mapping[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """The autoencoder's weights in a checkpoint's state_dict: all of it, or its `first_stage_model.*` keys.

    For a Net2NetTransformer log, the GPT (`transformer.*`), the conditioning stage
    (`cond_stage_model.*`) and anything else outside the first stage are dropped.
    """
    if not log.state_prefix:
        return dict(state)
    n = len(log.state_prefix)
    weights = {k[n:]: v for k, v in state.items() if k.startswith(log.state_prefix)}
    if not weights:
        prefixes = sorted({k.split(".", 1)[0] + "." for k in state})
        raise ValueError(f"{source}: no {log.state_prefix}* weights (it holds {', '.join(prefixes[:8])}); a "
                         f"{log.target} log keeps its VQGAN there: pass that log's checkpoints/last.ckpt")
    dropped = len(state) - len(weights)
    if dropped:
        logger.info("%s: using the %d %s* tensors (the VQGAN); %d others (transformer, cond stage) ignored",
                    source, len(weights), log.state_prefix, dropped)
    return weights


def _model_from_state(config: VQGANConfig, state: Mapping[str, torch.Tensor], source: str,
                      config_source: str = "the config") -> VQGAN:
    """A model holding `state` (loss.* dropped); a clear error for missing, unexpected or misshapen keys."""
    weights = {k: v for k, v in state.items() if not k.startswith(IGNORED_PREFIXES)}
    with torch.device("meta"):
        model = build_model(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    misshapen = [f"{k}: checkpoint {tuple(weights[k].shape)}, config {tuple(expected[k].shape)}"
                 for k in sorted(set(weights) & set(expected)) if weights[k].shape != expected[k].shape]
    if missing or unexpected or misshapen:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", misshapen)):
            if keys:
                parts.append(f"{len(keys)} {label} ({', '.join(keys[:8])}{', ...' if len(keys) > 8 else ''})")
        hint = ""
        if any(k.startswith(FIRST_STAGE_PREFIX) for k in weights):
            hint = (f" The checkpoint holds {FIRST_STAGE_PREFIX}* weights: it is a Net2NetTransformer's, so pass "
                    "the project.yaml of that transformer log.")
        raise ValueError(
            f"{source} does not fit {config_source} (a {config.target}): {'; '.join(parts)}.{hint} Pass the "
            f"project.yaml written with this checkpoint (keys other than {IGNORED_PREFIXES} must match "
            f"taming's {config.target.rsplit('.', 1)[-1]}); nothing was loaded"
        )
    model.load_state_dict({k: v.float() for k, v in weights.items()}, strict=True, assign=True)
    return model


# --------------------------------------------------------------------------- host memory


_ALLOCATOR_TUNED = False


def tune_host_allocator() -> bool:
    """Keep freed memory in glibc's heap, so big activations are not mmapped and page-faulted per layer.

    Process-wide (mallopt M_MMAP_THRESHOLD and M_TRIM_THRESHOLD to 2 GiB); bit-for-bit neutral.
    Returns whether it is in effect (False off glibc).
    """
    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED:
        return True
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold, limit = -1, -3, 2**31 - 1
    _ALLOCATOR_TUNED = bool(libc.mallopt(m_mmap_threshold, limit)) and bool(libc.mallopt(m_trim_threshold, limit))
    if _ALLOCATOR_TUNED:
        logger.info("glibc mmap/trim thresholds raised to 2 GiB: freed tensors stay in the heap (no page faults)")
    return _ALLOCATOR_TUNED


# --------------------------------------------------------------------------- the tokenizer


class ImageTokenizer:
    """Faces (B, 256, 256, 3) uint8 RGB <-> codes (B, num_tokens) uint16 with a taming VQGAN or Gumbel VQGAN.

    Build one with `ImageTokenizer.from_taming(config, checkpoint)` or `ImageTokenizer.preset(name)`.
    Options (keyword): device (default CUDA when present), compile (torch.compile the networks),
    channels_last and bf16 (default: on for CUDA, off on CPU, where fp32 keeps the codes identical
    to taming's), batch_size (images per forward pass), tune_allocator (see tune_host_allocator).
    """

    def __init__(
        self,
        model: VQGAN,
        *,
        fingerprint: str | None = None,
        device: str | torch.device | None = None,
        compile: bool = False,
        channels_last: bool | None = None,
        bf16: bool | None = None,
        batch_size: int | None = None,
        tune_allocator: bool = True,
    ) -> None:
        self.device = torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
        on_cuda = self.device.type == "cuda"
        self.config = model.config
        self.channels_last = on_cuda if channels_last is None else channels_last
        self.bf16 = on_cuda if bf16 is None else bf16
        if self.bf16 and not on_cuda:
            raise ValueError("bf16 autocast is for CUDA; on CPU leave bf16 unset (fp32 keeps codes identical)")
        self.batch_size = batch_size or (32 if on_cuda else 8)
        self.compiled = compile
        self._fingerprint = fingerprint or weights_fingerprint(model.config, model.state_dict())
        if tune_allocator and self.device.type == "cpu":
            tune_host_allocator()
        self.memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        self.model = model.to(self.device).eval().requires_grad_(False)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.model.memory_format = self.memory_format
        # taming's preprocessing, (uint8 / 127.5 - 1.0) in float64 then float32, as a lookup table
        self._to_float = (torch.arange(256, dtype=torch.float64) / 127.5 - 1.0).float().to(self.device)
        self._encode_latents: Callable[[torch.Tensor], torch.Tensor] = self.model.encode_latents
        self._decode_codes: Callable[[torch.Tensor], torch.Tensor] = self.model.decode_codes
        if compile:
            self._encode_latents = torch.compile(self.model.encode_latents)
            self._decode_codes = torch.compile(self.model.decode_codes)

    # ---- constructors

    @classmethod
    def from_taming(
        cls,
        config_path: str | Path,
        checkpoint_path: str | Path,
        device: str | torch.device | None = None,
        compile: bool = False,
        **options: Any,
    ) -> ImageTokenizer:
        """The tokenizer of a taming log: its project.yaml and its Lightning .ckpt.

        Accepts VQModel and GumbelVQ logs and Net2NetTransformer logs (their first stage); see the module docstring.
        """
        log = read_taming_log(config_path)
        state = first_stage_state(log, load_taming_state_dict(checkpoint_path), source=str(checkpoint_path))
        model = _model_from_state(log.config, state, source=str(checkpoint_path), config_source=str(config_path))
        return cls(model, device=device, compile=compile, **options)

    @classmethod
    def preset(
        cls, name: str, device: str | torch.device | None = None, compile: bool = False, **options: Any
    ) -> ImageTokenizer:
        """A tokenizer with seeded RANDOM weights: `tiny-random`, `tiny-gumbel-f8-random` (tests, demo), `ffhq-random`, `openimages-f8-random` (benchmarks)."""
        model = preset_model(name)
        seed = PRESETS[name][1]
        logger.warning(
            "ImageTokenizer preset %r has RANDOM weights (seed %d): its codes mean nothing. Tokenise real "
            "faces with ImageTokenizer.from_taming(project.yaml, last.ckpt) of a real taming log.", name, seed
        )
        return cls(model, device=device, compile=compile, **options)

    # ---- properties

    @property
    def fingerprint(self) -> str:
        """A short stable hash of the architecture and weights: which tokenizer made a set of codes."""
        return self._fingerprint

    @property
    def kind(self) -> str:
        """Which quantizer makes the codes: "vqgan" (VectorQuantizer2) or "gumbel-vqgan" (GumbelQuantize)."""
        return self.config.kind

    @property
    def num_tokens(self) -> int:
        """Codes per image (256 at f=16, 1,024 at f=8)."""
        return self.config.num_tokens

    @property
    def grid_side(self) -> int:
        """Codes along a side of the row-major grid (16 at f=16, 32 at f=8)."""
        return self.config.grid

    @property
    def codebook_size(self) -> int:
        """Number of distinct codes (1,024 for FFHQ f=16, 8,192 for OpenImages f=8)."""
        return self.config.n_embed

    @property
    def resolution(self) -> int:
        """Side of the images encode() takes and decode() returns (256)."""
        return self.config.resolution

    def __repr__(self) -> str:
        return (f"ImageTokenizer({self.kind}, f={self.config.downsample}, codes={self.codebook_size}, device={self.device}, "
                f"channels_last={self.channels_last}, bf16={self.bf16}, compile={self.compiled}, "
                f"fingerprint={self.fingerprint})")

    # ---- encode / decode

    def encode(self, images: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Faces (B, 256, 256, 3) uint8 RGB -> codes (B, num_tokens) uint16, row-major over the grid."""
        images = self._check_images(images)
        codes = np.empty((images.shape[0], self.num_tokens), dtype=np.uint16)
        with torch.inference_mode():
            for start, stop in self._chunks(images.shape[0], batch_size):
                pixels = torch.from_numpy(images[start:stop]).to(self.device, non_blocking=True)
                x = self._to_float[pixels.int()].permute(0, 3, 1, 2)  # (b, 3, H, W), channels-last strides
                x = x.contiguous(memory_format=self.memory_format)
                with self._autocast():
                    latents = self._encode_latents(x)
                codes[start:stop] = self.model.codes(latents).to("cpu").numpy()
        return codes

    def decode(self, codes: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Codes (B, num_tokens) in [0, codebook_size) -> faces (B, 256, 256, 3) uint8 RGB."""
        codes = self._check_codes(codes)
        side = self.resolution
        images = np.empty((codes.shape[0], side, side, 3), dtype=np.uint8)
        with torch.inference_mode():
            for start, stop in self._chunks(codes.shape[0], batch_size):
                indices = torch.from_numpy(codes[start:stop].astype(np.int64)).to(self.device)
                with self._autocast():
                    x = self._decode_codes(indices)
                x = ((x.float().clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
                images[start:stop] = x.permute(0, 2, 3, 1).to("cpu").numpy()
        return images

    def _chunks(self, n: int, batch_size: int | None) -> Iterator[tuple[int, int]]:
        size = batch_size or self.batch_size
        if size < 1:
            raise ValueError(f"batch_size must be >= 1, got {size}")
        for start in range(0, n, size):
            yield start, min(start + size, n)

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.bf16:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _check_images(self, images: Any) -> np.ndarray:
        side = self.resolution
        if isinstance(images, torch.Tensor):
            images = images.detach().to("cpu").numpy()
        array = np.asarray(images)
        if array.dtype != np.uint8:
            raise ValueError(f"images must be uint8 RGB (0..255), got dtype {array.dtype}; convert with "
                             "np.clip(x, 0, 255).astype(np.uint8), or load faces with model.load_face")
        if array.ndim != 4 or array.shape[1:] != (side, side, 3):
            hint = " (one image? pass images[None])" if array.shape == (side, side, 3) else ""
            raise ValueError(f"images must be shaped (B, {side}, {side}, 3) RGB, got {array.shape}{hint}; "
                             f"crop and resize faces to {side}x{side} first (model.load_face)")
        return np.ascontiguousarray(array)

    def _check_codes(self, codes: Any) -> np.ndarray:
        array = np.asarray(codes)
        if array.ndim != 2 or array.shape[1] != self.num_tokens:
            raise ValueError(f"codes must be shaped (B, {self.num_tokens}), got {array.shape}")
        if array.dtype.kind not in "ui":
            raise ValueError(f"codes must be integers (uint16), got dtype {array.dtype}")
        if array.size and (array.min() < 0 or array.max() >= self.codebook_size):
            raise ValueError(f"codes must lie in [0, {self.codebook_size}), got [{array.min()}, {array.max()}]; "
                             "image token ids of the unified vocabulary convert with model.tokenizers.vocab.codes_from_ids")
        return array
