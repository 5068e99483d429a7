"""Tokenizers: BERT WordPiece for text (`text`), the taming-transformers VQGAN for faces (`vqgan`), the
unified vocabulary that joins them (`vocab`; its id numbers are schemas/vocab.py's), and the face
preprocessing the image tokenizer expects (`faces`: decode, orientation, crop, square, resize to 256).
`load_image_tokenizer` is the one way every caller (corpus build, inference, evaluation, inspection)
gets an image tokenizer. Submodules are imported only when used, so the text side never loads torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from model.tokenizers.vqgan import ImageTokenizer

PALETTE = "palette"
NO_TOKENIZER = (
    "no image tokenizer given: pass --vqgan-preset NAME (tiny-random, ffhq-random, openimages-f8-random: RANDOM "
    "weights, for tests and benchmarks; palette: not a VQGAN, patch colours for pipeline trials) or --vqgan-config project.yaml with --vqgan-checkpoint last.ckpt (the FFHQ f=16 VQGAN's taming log)"
)


def preset_names() -> tuple[str, ...]:
    """Every name `--vqgan-preset` takes: the seeded random VQGANs and `palette`."""
    from model.tokenizers.vqgan import PRESETS

    return (*sorted(PRESETS), PALETTE)


def load_image_tokenizer(
    preset: str | None = None,
    config: str | Path | None = None,
    checkpoint: str | Path | None = None,
    device: str | None = None,
    **options: Any,
) -> ImageTokenizer:
    """The image tokenizer of a preset name, or of a taming log's project.yaml + .ckpt; exactly one of the two.

    `options` go to the tokenizer (e.g. ``batch_size``, ``compile``). Raises ValueError when neither
    or both are given, or when only one of config and checkpoint is.
    """
    from model.tokenizers.vqgan import ImageTokenizer

    preset = preset or None
    config = config or None
    checkpoint = checkpoint or None
    if preset is not None and (config is not None or checkpoint is not None):
        raise ValueError("give --vqgan-preset or --vqgan-config/--vqgan-checkpoint, not both")
    if preset == PALETTE:  # NOT A VQGAN: patch colours, for pipeline trials, scale runs and the signal corpus
        from model.tokenizers.palette import PaletteTokenizer

        batch = {"batch_size": options["batch_size"]} if options.get("batch_size") is not None else {}
        return PaletteTokenizer(**batch)  # type: ignore[return-value]
    if preset is not None:
        return ImageTokenizer.preset(preset, device=device, **options)
    if config is None and checkpoint is None:
        raise ValueError(NO_TOKENIZER)
    if config is None or checkpoint is None:
        raise ValueError("give both --vqgan-config and --vqgan-checkpoint (a taming log's project.yaml and last.ckpt)")
    return ImageTokenizer.from_taming(config, checkpoint, device=device, **options)


__all__ = ["NO_TOKENIZER", "PALETTE", "load_image_tokenizer", "preset_names"]
