"""The Inception network a user supplies for FID and IS (``--inception``; nothing is downloaded).

A `FeatureExtractor` maps (N, H, W, 3) uint8 faces to (N, D) features and, when the network has a
classifier, (N, K) class probabilities; `load_feature_extractor` reads a TorchScript file, or a state
dict with a ``package.module:function`` that builds the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

# -----------------------------------------------------------------------------
# A user-supplied Inception network


class FeatureExtractor(Protocol):
    """uint8 images (B, H, W, 3) -> (features (B, D), class probabilities (B, K) or None)."""

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]: ...


def _as_probabilities(out: torch.Tensor) -> np.ndarray:
    out = out.double()
    if (out >= 0).all() and torch.allclose(out.sum(1), torch.ones(out.size(0), dtype=out.dtype), atol=1e-3):
        return out.cpu().numpy()  # already probabilities (StyleGAN's detector)
    return torch.softmax(out, dim=1).cpu().numpy()  # logits


@dataclass
class TorchFeatureExtractor:
    """Wraps a torch module that takes uint8 images (B, 3, H, W) in 0..255 and resizes/normalises them itself.

    The module returns ``(features, logits_or_probabilities)``, or features only. A module that takes
    ``return_features`` (StyleGAN's TorchScript Inception, ``inception-2015-12-05.pt``) gives pool
    features with ``return_features=True`` and probabilities with ``no_output_bias=True``, as the
    StyleGAN FID and IS code calls it.
    """

    module: torch.nn.Module
    device: str = "cpu"
    batch_size: int = 50

    def _run(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        try:
            features = self.module(x, return_features=True)
        except (TypeError, RuntimeError):  # not StyleGAN's detector
            pass
        else:
            try:  # StyleGAN's Inception Score protocol: softmax without the output bias
                return features, self.module(x, no_output_bias=True)
            except (TypeError, RuntimeError):
                return features, self.module(x)
        out = self.module(x)
        if isinstance(out, (tuple, list)):
            return out[0], (out[1] if len(out) > 1 else None)
        return out, None

    @torch.no_grad()
    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        features, probabilities = [], []
        for start in range(0, len(images), self.batch_size):
            x = torch.from_numpy(np.ascontiguousarray(images[start : start + self.batch_size])).permute(0, 3, 1, 2)
            f, logits = self._run(x.to(self.device))
            features.append(f.reshape(f.size(0), -1).double().cpu().numpy())
            if logits is not None:
                probabilities.append(_as_probabilities(logits.reshape(logits.size(0), -1)))
        probs = np.concatenate(probabilities) if len(probabilities) == len(features) and probabilities else None
        return np.concatenate(features), probs


def load_feature_extractor(path: str | Path, factory: str | None = None, device: str = "cpu") -> TorchFeatureExtractor:
    """A feature extractor from a local file; nothing is downloaded.

    Without `factory`, `path` is a TorchScript module (``torch.jit.load``). With ``factory =
    "package.module:function"``, the function builds the network and `path` is its state dict
    (read with ``weights_only=True``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Inception weights {path} not found; FID/IS need a local TorchScript file "
                                "(e.g. StyleGAN's inception-2015-12-05.pt) or a state dict with --inception-factory")
    if factory is None:
        try:
            module = torch.jit.load(str(path), map_location=device)
        except RuntimeError as err:
            raise ValueError(f"{path} is not a TorchScript module ({err}); for a state dict pass "
                             "--inception-factory package.module:function") from err
    else:
        import importlib

        module_name, _, attr = factory.partition(":")
        if not attr:
            raise ValueError(f"--inception-factory {factory!r} must look like package.module:function")
        module = getattr(importlib.import_module(module_name), attr)()
        module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        module = module.to(device)
    return TorchFeatureExtractor(module.eval(), device)


__all__ = ["FeatureExtractor", "TorchFeatureExtractor", "load_feature_extractor"]
