"""The palette tokenizer: NOT A VQGAN, exact nearest colours, exact round trip of palette patches, a real build."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from model.tokenizers import load_image_tokenizer, preset_names
from model.tokenizers.palette import PaletteTokenizer, palette


@pytest.fixture(scope="module")
def tok() -> PaletteTokenizer:
    return PaletteTokenizer()


def test_says_it_is_not_a_vqgan(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        tok = PaletteTokenizer()
    assert "NOT A VQGAN" in caplog.text and "NOT A VQGAN" in repr(tok)
    assert tok.kind == "palette" and tok.grid_side == 16
    assert (tok.num_tokens, tok.codebook_size, tok.resolution) == (256, 1024, 256)
    assert len({tuple(c) for c in palette()}) == 1024  # 1,024 distinct colours


def test_palette_patches_round_trip_exactly(tok: PaletteTokenizer) -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 1024, (5, 256)).astype(np.uint16)
    codes[0] = np.arange(256)  # and every code at least once across the first four faces
    codes[1:4] = np.arange(256, 1024).reshape(3, 256)
    faces = tok.decode(codes)
    assert faces.shape == (5, 256, 256, 3) and faces.dtype == np.uint8
    assert np.array_equal(faces[0, 16:32, 0:16], np.broadcast_to(palette()[16], (16, 16, 3)))  # row-major grid
    assert np.array_equal(tok.encode(faces), codes)
    assert np.array_equal(tok.decode(tok.encode(faces)), faces)


def test_nearest_colour_matches_brute_force(tok: PaletteTokenizer) -> None:
    rng = np.random.default_rng(1)
    faces = rng.integers(0, 256, (3, 256, 256, 3), dtype=np.uint8)
    faces[0] = rng.integers(0, 256, (1, 1, 3), dtype=np.uint8)  # flat: means on the integers, ties possible
    codes = tok.encode(faces)
    means = faces.reshape(3, 16, 16, 16, 16, 3).mean(axis=(2, 4)).reshape(3, 256, 3)
    distances = ((means[:, :, None, :] - palette()[None, None].astype(np.float64)) ** 2).sum(-1)
    best = distances.min(-1)
    chosen = np.take_along_axis(distances, codes[..., None].astype(np.int64), -1)[..., 0]
    assert np.allclose(chosen, best)  # a nearest colour (ties: any of them is)
    assert np.array_equal(codes, distances.argmin(-1))  # and the first, as argmin picks


def test_deterministic_and_its_own_fingerprint(tok: PaletteTokenizer) -> None:
    faces = np.random.default_rng(2).integers(0, 256, (4, 256, 256, 3), dtype=np.uint8)
    assert np.array_equal(tok.encode(faces), PaletteTokenizer().encode(faces))
    assert np.array_equal(tok.encode(faces, batch_size=1), tok.encode(faces))
    assert tok.fingerprint == PaletteTokenizer().fingerprint
    vqgans = {load_image_tokenizer(preset=name).fingerprint for name in ("tiny-random",)}
    assert tok.fingerprint not in vqgans and tok.fingerprint.startswith("palette-")
    with pytest.raises(ValueError, match="uint8"):
        tok.encode(faces.astype(np.float32))
    with pytest.raises(ValueError, match="codes must be in"):
        tok.decode(np.full((1, 256), 1024))


def test_spec_builds_it(tmp_path: Path) -> None:
    assert "palette" in preset_names() and isinstance(load_image_tokenizer(preset="palette"), PaletteTokenizer)
    assert load_image_tokenizer(preset="palette", batch_size=3).batch_size == 3
