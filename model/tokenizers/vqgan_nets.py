"""The VQGAN networks: taming's VQModel and GumbelVQ without Lightning and losses, built from taming's modules.

`VQGAN` and `GumbelVQGAN` keep taming's attribute names, so a checkpoint's `state_dict` keys load
unchanged (`model_from_state` says which keys are missing, unexpected or misshapen); `preset_model`
builds a preset's seeded random weights; `weights_fingerprint` names a set of weights.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from model.tokenizers.vqgan_config import FIRST_STAGE_PREFIX, IGNORED_PREFIXES, PRESETS, VQGANConfig

logger = logging.getLogger(__name__)

TAMING_INSTALL = "pip install --no-deps taming-transformers-rom1504==0.0.6"


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


def weights_fingerprint(config: VQGANConfig, state: Mapping[str, torch.Tensor]) -> str:
    """16 hex digits of sha256 over the architecture and every weight's name, dtype, shape and bytes."""
    digest = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode())
    for key in sorted(state):
        tensor = state[key].detach().to("cpu").contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().data)
    return digest.hexdigest()[:16]


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

def model_from_state(config: VQGANConfig, state: Mapping[str, torch.Tensor], source: str,
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

