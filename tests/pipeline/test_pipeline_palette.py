"""A real Beam build with ``--vqgan-preset palette`` over a synthetic raw root: shards written, accounting as expected."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np

import beam_runner
from converters.fakeroot import make_root
from model.tokenizers.palette import PaletteTokenizer


def test_palette_build_writes_shards_and_matches_expected(tmp_path: Path) -> None:
    expected = make_root(tmp_path / "raw", 0.0005, seed=5, workers=1, only=["rafdb", "fairface"])["datasets"]
    out = tmp_path / "out"
    result = beam_runner.run(["--input-root", str(tmp_path / "raw"), "--output", str(out), "--vqgan-preset", "palette",
                              "--samples-per-shard", "16", "--token-cache", ""])
    stats = result.report.stats
    for key, want in expected.items():
        got = stats["datasets"][key]
        assert (got["read"], got["written"], got["pairs"]) == (want["read"], want["written"], want["pairs"])
        assert got["filtered"] == want["filtered"] and got["rejected"] == want["rejected"]
    shards = sorted((out / "shards").glob("*.tar"))
    assert shards
    tok = PaletteTokenizer()
    with tarfile.open(shards[0]) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(".tokens.npy"))
        codes = np.load(io.BytesIO(tar.extractfile(member).read()), allow_pickle=False)  # type: ignore[union-attr]
    assert codes.dtype == np.uint16 and codes.shape == (256,) and codes.max() < tok.codebook_size
    assert tok.fingerprint in json.dumps(stats)
