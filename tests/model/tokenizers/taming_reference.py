"""taming-transformers' own modules as the reference the VQGAN tokenizer tests compare against.

Reference codes and pixels are computed the way taming's VQModel / GumbelVQ compose their modules
(encoder -> quant_conv -> VectorQuantizer2 indices, or the argmax of GumbelQuantize.proj's logits;
decode: quantize.get_codebook_entry -> post_quant_conv -> decoder), one image at a time under
torch.no_grad, on images preprocessed as taming's data loaders do (uint8 / 127.5 - 1.0 in float64,
then float32). `write_log` writes such modules as a taming log (project.yaml + Lightning .ckpt).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from taming.modules.diffusionmodules.model import Decoder, Encoder
from taming.modules.vqvae.quantize import GumbelQuantize, VectorQuantizer2

from model.testing import write_taming_checkpoint
from model.tokenizers.vqgan import VQGANConfig


def faces(n: int, seed: int = 0) -> np.ndarray:
    """Smooth random 256x256 RGB images: 8x8 colour fields upsampled, plus a little noise."""
    rng = np.random.default_rng(seed)
    smooth = np.repeat(np.repeat(rng.uniform(0, 255, (n, 8, 8, 3)), 32, axis=1), 32, axis=2)
    return np.clip(smooth + rng.normal(0, 12, smooth.shape), 0, 255).astype(np.uint8)


def taming_modules(config: VQGANConfig, seed: int) -> dict[str, torch.nn.Module]:
    """The modules of taming's VQModel or GumbelVQ, built as their __init__ builds them, keyed by attribute name."""
    torch.manual_seed(seed)
    z = config.ddconfig["z_channels"]
    if config.kind == "gumbel-vqgan":
        quantize: torch.nn.Module = GumbelQuantize(z, config.embed_dim, n_embed=config.n_embed,
                                                   kl_weight=1e-8, temp_init=1.0)
    else:
        quantize = VectorQuantizer2(config.n_embed, config.embed_dim, beta=0.25)
    return {
        "encoder": Encoder(**config.ddconfig).eval(),
        "decoder": Decoder(**config.ddconfig).eval(),
        "quantize": quantize.eval(),
        "quant_conv": torch.nn.Conv2d(z, config.embed_dim, 1),
        "post_quant_conv": torch.nn.Conv2d(config.embed_dim, z, 1),
    }


def state_of(modules: dict[str, torch.nn.Module], prefix: str = "") -> dict[str, torch.Tensor]:
    """The modules' weights under taming's state_dict names (optionally under a prefix such as first_stage_model.)."""
    return {f"{prefix}{name}.{key}": value for name, module in modules.items()
            for key, value in module.state_dict().items()}


def reference_codes(modules: dict[str, torch.nn.Module], kind: str, images: np.ndarray) -> np.ndarray:
    """taming's codes: VQModel.encode's indices, or the argmax of GumbelQuantize.proj's logits."""
    rows = []
    with torch.no_grad():
        for image in images:
            x = torch.from_numpy((image[None] / 127.5 - 1.0).astype(np.float32)).permute(0, 3, 1, 2).contiguous()
            h = modules["quant_conv"](modules["encoder"](x))
            if kind == "gumbel-vqgan":
                quantize: Any = modules["quantize"]
                indices = quantize.proj(h).argmax(dim=1)
            else:
                _, _, (_, _, indices) = modules["quantize"](h)
            rows.append(indices.reshape(-1).numpy())
    return np.stack(rows)


def reference_pixels(modules: dict[str, torch.nn.Module], config: VQGANConfig, codes: np.ndarray) -> np.ndarray:
    """taming's decode of codes: quantize.get_codebook_entry -> post_quant_conv -> decoder, as uint8 RGB."""
    g = config.grid
    quantize: Any = modules["quantize"]
    with torch.no_grad():
        z = quantize.get_codebook_entry(torch.from_numpy(codes.astype(np.int64)).reshape(-1),
                                        (codes.shape[0], g, g, config.embed_dim))
        x = modules["decoder"](modules["post_quant_conv"](z))
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def write_log(folder: Path, config: VQGANConfig, seed: int) -> tuple[Path, Path, dict[str, torch.nn.Module]]:
    """A taming log of `config` with taming's modules seeded by `seed`: (project.yaml, last.ckpt, the modules)."""
    modules = taming_modules(config, seed=seed)
    ckpt, yaml_path = folder / "last.ckpt", folder / "project.yaml"
    write_taming_checkpoint(state_of(modules), config, ckpt, yaml_path)
    return yaml_path, ckpt, modules
