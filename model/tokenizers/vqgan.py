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
`pip install --no-deps taming-transformers-rom1504==0.0.6`. `VQGAN` and `GumbelVQGAN` (model/tokenizers/vqgan_nets.py)
are our own small modules with taming's attribute names, so a checkpoint's `state_dict` keys load unchanged.

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
import logging
import platform
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model.tokenizers.taming_logs import (
    STAND_IN_MODULES,
    TamingLog,
    first_stage_state,
    load_taming_config,
    load_taming_state_dict,
    read_taming_log,
    taming_params,
)
from model.tokenizers.vqgan_config import (
    FFHQ_F16,
    FIRST_STAGE_PREFIX,
    GUMBEL_TEMPERATURE_SCHEDULER,
    GUMBELVQ_TARGET,
    IGNORED_PREFIXES,
    KIND_OF_TARGET,
    KNOWN_TARGETS,
    OPENIMAGES_F8_GUMBEL,
    PRESETS,
    TARGET_OF_KIND,
    TINY_F16,
    TINY_GUMBEL_F8,
    TRANSFORMER_TARGET,
    VQMODEL_TARGET,
    VQGANConfig,
)
from model.tokenizers.vqgan_nets import (
    MODEL_CLASSES,
    TAMING_INSTALL,
    VQGAN,
    GumbelVQGAN,
    build_model,
    model_from_state,
    preset_model,
    weights_fingerprint,
)

logger = logging.getLogger(__name__)

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
        model = model_from_state(log.config, state, source=str(checkpoint_path), config_source=str(config_path))
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


__all__ = [  # the names other modules import from here; each is defined in the module its role says
    "FFHQ_F16", "FIRST_STAGE_PREFIX", "GUMBELVQ_TARGET", "GUMBEL_TEMPERATURE_SCHEDULER", "IGNORED_PREFIXES",
    "KIND_OF_TARGET", "KNOWN_TARGETS", "MODEL_CLASSES", "OPENIMAGES_F8_GUMBEL", "PRESETS", "STAND_IN_MODULES",
    "TAMING_INSTALL", "TARGET_OF_KIND", "TINY_F16", "TINY_GUMBEL_F8", "TRANSFORMER_TARGET", "VQGAN", "VQMODEL_TARGET",
    "GumbelVQGAN", "ImageTokenizer", "TamingLog", "VQGANConfig", "build_model", "first_stage_state",
    "load_taming_config", "load_taming_state_dict", "model_from_state", "preset_model", "read_taming_log",
    "taming_params", "tune_host_allocator", "weights_fingerprint",
]
