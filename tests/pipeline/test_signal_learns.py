"""A shrunken signal experiment (fixed seed): a model trained on signal shards answers held-out faces well above chance.

A quality test, not a timed one: the fake root drawn from its labels, the real Beam build (palette tokens), the
trainer's `signal` preset on face -> attributes only, and `talk2face evaluate`'s machinery on the held-out splits
(pipeline/signal.py `quick_experiment`, which `make demo` runs too). "Chance" is the best constant answer's score.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("TALK2FACE_QUALITY"), reason="a quality run (~1 min on 2 quiet cores, ~6 "
                       "loaded): set TALK2FACE_QUALITY=1"),
    # measured 2026-12-02 (2 cores, load 5-6), seed 0, 250 steps: AffectNet expression 47.4% = the commonest
    # expression's 47.4% (n=19), IMDB-WIKI age MAE 15.6 against the median's 14.6 (n=202), with random and with
    # colour-initialised code embeddings alike: nothing learnt yet. The margins stay; strict, so it fails once it learns.
    pytest.mark.xfail(strict=True, reason="250 steps learn nothing yet: expression 47.4% (chance 47.4%), age MAE 15.6 "
                      "(chance 14.6)"),
]


def test_a_small_model_learns_expressions_and_ages_from_signal_shards(tmp_path: Path) -> None:
    from pipeline.signal import quick_experiment

    scores = quick_experiment(tmp_path, steps=250, seed=0, datasets=("affectnet", "imdb_wiki"))
    print(scores)
    expression, age = scores["expression"], scores["age_mae"]
    assert expression["n"] >= 15 and age["n"] >= 15, scores
    assert expression["value"] >= expression["chance"] + 20, scores  # chance: the commonest expression's share
    assert age["value"] <= 0.6 * age["chance"], scores  # chance: the MAE of answering the median age to every face
