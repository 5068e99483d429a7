"""Helpers the caption-dataset writers share: how many texts a caption file gives."""

from __future__ import annotations

from collections.abc import Sequence

from schemas import normalize_caption


def pairs(captions: Sequence[str]) -> int:
    """The captions a converter keeps from these lines: the non-blank ones after normalisation."""
    return sum(1 for c in captions if normalize_caption(c))


def body(captions: Sequence[str]) -> str:
    return "".join(f"{c}\n" for c in captions)
