"""Faces per second of the palette tokenizer (NOT A VQGAN) on this CPU: encode and decode, best of 3.

    OMP_NUM_THREADS=1 PYTHONPATH=. python bench/bench_palette.py [--faces 512]
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np

from model.tokenizers.palette import PaletteTokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=512)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    tok = PaletteTokenizer()
    faces = np.random.default_rng(0).integers(0, 256, (args.faces, 256, 256, 3), dtype=np.uint8)
    codes = tok.encode(faces)
    assert np.array_equal(tok.encode(tok.decode(codes)), codes)  # decoded faces encode to the same codes
    for name, run in (("encode", lambda: tok.encode(faces)), ("decode", lambda: tok.decode(codes))):
        best = min(_timed(run) for _ in range(3))
        print(f"{name}: {args.faces / best:,.0f} faces/s ({args.faces} faces, best of 3)")


def _timed(run: object) -> float:
    start = time.perf_counter()
    run()  # type: ignore[operator]
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
