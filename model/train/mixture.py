"""Which datasets a run trains on, and how often each one's pairs come round: ``--set datasets=...``.

    --set datasets=cacd                                    only CACD's texts (Table 5's single-dataset row)
    --set datasets=cacd,celeba --set dataset_weights=cacd:2,celeba:1

A pair belongs to the dataset of its text (a CelebA-HQ face carries CelebA's attribute text and
several caption datasets' captions; each pair is kept or dropped on its own). A weight is a
repetition factor: each pair of a dataset of weight w comes w times per epoch (a fraction is a
seeded coin: 0.5 keeps every other pair on average), so against a weight-1 dataset its share grows
w-fold; datasets not named have weight 1 and weight 0 drops a dataset. The four tasks stay balanced
in every batch: the mixture acts inside each kind's stream (model/train/loader.py), before its
shuffle buffer, and is a pure function of the stream's seed, so resuming is still exact.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from model.train.sequences import Pair


@dataclass(frozen=True)
class Mixture:
    """The datasets selected (empty: all) and their weights (dataset -> repetition factor, default 1)."""

    datasets: tuple[str, ...] = ()
    weights: tuple[tuple[str, float], ...] = ()

    @classmethod
    def parse(cls, datasets: str = "", weights: str = "") -> Mixture:
        """From ``"cacd,celeba"`` and ``"cacd:2,celeba:1"``; a ValueError that shows the syntax otherwise."""
        names = tuple(sorted({d.strip() for d in datasets.split(",") if d.strip()}))
        parsed: dict[str, float] = {}
        for item in (w.strip() for w in weights.split(",")):
            if not item:
                continue
            name, colon, value = item.partition(":")
            try:
                weight = float(value)
            except ValueError:
                weight = math.nan
            if not colon or not name.strip() or not math.isfinite(weight) or weight < 0:
                raise ValueError(f"dataset_weights {weights!r}: write DATASET:WEIGHT pairs with weights >= 0, "
                                 "e.g. --set dataset_weights=cacd:2,celeba:1")
            parsed[name.strip()] = weight
        unselected = sorted(set(parsed) - set(names)) if names else []
        if unselected:
            raise ValueError(f"dataset_weights name {unselected}, which datasets={','.join(names)} does not select; "
                             "add them to datasets or drop their weights")
        if parsed and all(w == 0 for w in parsed.values()) and set(parsed) >= set(names or parsed):
            raise ValueError(f"dataset_weights {weights!r} give every selected dataset weight 0: nothing to train on")
        return cls(names, tuple(sorted(parsed.items())))

    @property
    def everything(self) -> bool:
        """Every dataset, each once per epoch (no selection, no weights)."""
        return not self.datasets and all(w == 1 for _, w in self.weights)

    def weight(self, dataset: str) -> float:
        """The repetition factor of a dataset (0 when it is not selected)."""
        if self.datasets and dataset not in self.datasets:
            return 0.0
        return dict(self.weights).get(dataset, 1.0)

    def apply(self, pairs: Iterator[Pair], rng: random.Random) -> Iterator[Pair]:
        """Each pair as many times as its dataset's weight says (the fraction drawn from `rng`)."""
        if self.everything:
            yield from pairs
            return
        for pair in pairs:
            weight = self.weight(pair.dataset)
            copies = int(weight) + (rng.random() < weight - int(weight))
            for _ in range(copies):
                yield pair

    def check(self, present: Collection[str], where: str) -> None:
        """Raise ValueError naming the datasets present unless every selected (or weighted) one is among them."""
        named = set(self.datasets) | {d for d, _ in self.weights}
        missing = sorted(named - set(present))
        if missing:
            raise ValueError(f"datasets {missing} have no texts in {where}; the shards hold texts of "
                             f"{', '.join(sorted(present)) or 'no dataset'}: fix --set datasets / dataset_weights")

    def to_dict(self) -> dict[str, Any]:
        """Plain types, for checkpoints: the datasets selected ([] = all) and the weights."""
        return {"datasets": list(self.datasets), "weights": dict(self.weights)}


__all__ = ["Mixture"]
