"""taming-transformers' files: a log's project.yaml (`read_taming_log`) and its Lightning .ckpt (`load_taming_state_dict`).

A project.yaml names a VQModel, a GumbelVQ or a Net2NetTransformer (whose first stage is the
VQGAN); anything else is refused naming the target. A checkpoint is read with
`torch.load(weights_only=True)`; classes Lightning pickles beside the weights (its callbacks, numpy
scalars, omegaconf) load as inert stand-ins, and a pickle naming anything else is refused unread.
`taming_params` is the `model.params` taming writes for an architecture (the fixture writer
`model.testing.write_taming_checkpoint` uses it).
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from model.tokenizers.vqgan_config import (
    FIRST_STAGE_PREFIX,
    GUMBEL_TEMPERATURE_SCHEDULER,
    GUMBELVQ_TARGET,
    KIND_OF_TARGET,
    TRANSFORMER_TARGET,
    VQMODEL_TARGET,
    VQGANConfig,
    _plain,
)

logger = logging.getLogger(__name__)


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
