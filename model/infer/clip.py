"""CLIP re-ranking of sampled faces (paper 3.3) with a local open_clip checkpoint; nothing is downloaded."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch


class ClipUnavailable(RuntimeError):
    """CLIP re-ranking was asked for but open_clip is not installed."""


def clip_scores(
    images: np.ndarray, text: str, checkpoint: str | Path, model_name: str = "ViT-B-32", device: str = "cpu"
) -> np.ndarray:
    """Cosine similarity of each (N, H, W, 3) uint8 image to `text` under a local open_clip checkpoint.

    Nothing is downloaded: `checkpoint` is a file the user supplies. Raises ClipUnavailable if
    open_clip is not installed (``pip install open_clip_torch``).
    """
    try:
        import open_clip
    except ImportError as err:
        raise ClipUnavailable("CLIP re-ranking needs open_clip (pip install open_clip_torch)") from err
    from PIL import Image

    if not Path(checkpoint).is_file():
        raise FileNotFoundError(f"CLIP checkpoint {checkpoint} not found; pass a local open_clip .pt/.bin file")
    clip, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=str(checkpoint), device=device)
    tokenizer = open_clip.get_tokenizer(model_name)
    clip.eval()
    with torch.no_grad():
        pixels = torch.stack([preprocess(Image.fromarray(im)) for im in images]).to(device)
        image_features = torch.nn.functional.normalize(clip.encode_image(pixels).float(), dim=-1)
        text_features = torch.nn.functional.normalize(clip.encode_text(tokenizer([text]).to(device)).float(), dim=-1)
        return (image_features @ text_features.T).squeeze(1).cpu().numpy()


def rerank_by_clip(
    images: np.ndarray, text: str, checkpoint: str | Path | None, keep: int, model_name: str = "ViT-B-32",
    device: str = "cpu",
) -> tuple[np.ndarray, np.ndarray | None]:
    """The `keep` images closest to `text` by CLIP score (best first) and their scores.

    Without a checkpoint, or without open_clip (a warning says so), the first `keep` images in
    sampling order come back with no scores.
    """
    if checkpoint is None:
        return images[:keep], None
    try:
        scores = clip_scores(images, text, checkpoint, model_name, device)
    except ClipUnavailable as err:
        warnings.warn(f"{err}; keeping the first {keep} samples unranked", stacklevel=2)
        return images[:keep], None
    order = np.argsort(-scores, kind="stable")[:keep]
    return images[order], scores[order]


__all__ = ["ClipUnavailable", "clip_scores", "rerank_by_clip"]
