"""The architecture of a taming VQGAN (VQModel or GumbelVQ) as data, and the presets with random weights.

`VQGANConfig` is what `model.params` of a taming project.yaml holds (ddconfig, embed_dim, n_embed)
plus its kind ("vqgan": VectorQuantizer2, "gumbel-vqgan": GumbelQuantize); the presets name the
FFHQ f=16 and OpenImages f=8 architectures and small ones for tests. Reading and writing taming's
files is model/tokenizers/taming_logs.py; the networks are model/tokenizers/vqgan_nets.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

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


def small(config: VQGANConfig) -> VQGANConfig:
    """`config`'s family small: 32 channels at full size, one block per level, 128 channels at the codes."""
    return replace(config, ddconfig={**config.ddconfig, "z_channels": 128, "ch": 32, "num_res_blocks": 1},
                   embed_dim=128, extra=dict(config.extra))


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
TINY_F16 = small(FFHQ_F16)
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
# The f=8 Gumbel family small, all 8,192 codes, so codes above 1,023 and the 1,024-code grid are exercised.
TINY_GUMBEL_F8 = small(OPENIMAGES_F8_GUMBEL)
PRESETS: dict[str, tuple[VQGANConfig, int]] = {  # name -> (architecture, torch.manual_seed)
    "tiny-random": (TINY_F16, 0),
    "ffhq-random": (FFHQ_F16, 0),
    "tiny-gumbel-f8-random": (TINY_GUMBEL_F8, 0),
    "openimages-f8-random": (OPENIMAGES_F8_GUMBEL, 0),
}

