"""What the trainer learns from the corpus before it builds a model: the tokenizer, and the datasets present.

A corpus is one image tokenizer's: every sample's JSON names it (`schemas.sample.TokenizerInfo`:
fingerprint, kind, codebook size, codes per face, grid side) and stats.json records it. The trainer
reads it from the first sample of the first training shard (`corpus_tokenizer`), cross-checks
stats.json when the shards sit in a build's ``OUT/shards`` (`build_stats`), sizes the model from it
(`fit_model_config`: vocabulary 30,522 + codebook, positions for the longest sequence) and refuses
a config that says otherwise. The loader then checks every sample it reads against it
(`CorpusTokenizer.check`), so shards of two builds never mix. Samples written before they named
their tokenizer count as the FFHQ f=16 VQGAN's layout (256 codes of 1,024), with fingerprint
"unknown".
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from model.train.sequences import longest_sequence
from model.train.shards import read_shard
from model.transformer import Talk2FaceConfig
from schemas.sample import ShardSample, TokenizerInfo
from schemas.stats import STATS_FILE, StatsError, parse_stats, stats_tokenizer
from schemas.vocab import DEFAULT_LAYOUT, VocabLayout


class CorpusMismatch(ValueError):
    """Shards of different tokenizers, or a model config that contradicts the corpus."""


def _describe(info: TokenizerInfo | None) -> str:
    return info.describe() if info is not None else "unknown (samples that name no tokenizer: 256 codes of 1024)"


@dataclass(frozen=True)
class CorpusTokenizer:
    """The tokenizer of a corpus, and the shard it was read from (named in errors)."""

    info: TokenizerInfo | None  # None: samples written before samples named their tokenizer
    shard: str

    @property
    def layout(self) -> VocabLayout:
        """Where the corpus's codes sit in the unified vocabulary."""
        return self.info.layout if self.info is not None else DEFAULT_LAYOUT

    def check(self, sample: ShardSample, url: str) -> None:
        """Raise CorpusMismatch naming both shards and fingerprints unless `sample` has this tokenizer."""
        if sample.tokenizer != self.info:
            raise CorpusMismatch(
                f"mixed shards: {url} (sample {sample.key}) holds codes of tokenizer {_describe(sample.tokenizer)}, "
                f"but {self.shard} holds codes of {_describe(self.info)}. A corpus is one tokenizer's: train on "
                "the shards of one build (or rebuild the others with the same --vqgan-config/--vqgan-checkpoint)"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain types, for checkpoints: the tokenizer's JSON entry (None if unknown) and the layout."""
        return {"tokenizer": self.info.meta() if self.info is not None else None, "layout": self.layout.to_dict()}


def build_stats(url: str) -> dict[str, Any] | None:
    """stats.json of the build whose ``shards/`` folder holds `url`, or None when there is none."""
    import fsspec

    folder = posixpath.dirname(url.rstrip("/"))
    if posixpath.basename(folder) != "shards":
        return None
    path = posixpath.join(posixpath.dirname(folder), STATS_FILE)
    try:
        with fsspec.open(path, "rb") as f:
            data = f.read()
    except (FileNotFoundError, OSError):
        return None
    return dict(parse_stats(data, path))


def corpus_tokenizer(urls: Sequence[str]) -> CorpusTokenizer:
    """The tokenizer of the first sample of the first shard (sorted), checked against the build's stats.json."""
    if not urls:
        raise FileNotFoundError("no shards to read the corpus's tokenizer from")
    first = sorted(urls)[0]
    sample = next(read_shard(first), None)
    if sample is None:
        raise ValueError(f"{first} holds no samples; rebuild it with the pipeline")
    corpus = CorpusTokenizer(sample.tokenizer, first)
    stats = build_stats(first)
    if stats is not None:
        try:
            recorded = stats_tokenizer(stats)
        except StatsError as err:
            raise CorpusMismatch(f"{err}; rerun the build to rewrite stats.json") from err
        if recorded is not None and recorded != corpus.info:
            raise CorpusMismatch(f"{first} holds codes of tokenizer {_describe(corpus.info)}, but its build's "
                                 f"stats.json records {recorded.describe()}: the shards are not that build's; rebuild")
    return corpus


def datasets_present(urls: Sequence[str]) -> set[str]:
    """The datasets whose texts the shards hold: from the build's stats.json when it is there, else by reading them."""
    stats = build_stats(sorted(urls)[0]) if urls else None
    if stats is not None:
        return {name for name, d in stats["datasets"].items() if d.get("written", 0) > 0}
    return {t.dataset for url in urls for sample in read_shard(url) for t in sample.texts}


def fit_model_config(model: Talk2FaceConfig, corpus: CorpusTokenizer, text_budget: int) -> tuple[Talk2FaceConfig, list[str]]:
    """The model config for this corpus, and notes on what was changed; CorpusMismatch for a contradiction.

    A config with the default (FFHQ f=16) layout follows the corpus: vocab_size becomes 30,522 + the
    codebook and image_tokens the corpus's codes per face. A config that names another layout than
    the corpus's is refused. Positions grow to the longest sequence (f=8: 1,024 + text + 7).
    """
    notes: list[str] = []
    layout = corpus.layout
    if model.layout != layout:
        if model.layout != DEFAULT_LAYOUT:
            raise CorpusMismatch(
                f"the config says vocab_size={model.vocab_size}, image_tokens={model.image_tokens} (a codebook of "
                f"{model.layout.codebook_size}, {model.image_tokens} codes per face), but the shards ({corpus.shard}) "
                f"were made by tokenizer {_describe(corpus.info)}: vocab_size={layout.vocab_size}, "
                f"image_tokens={layout.tokens_per_image}. Drop model.vocab_size / model.image_tokens from the config "
                "(they follow the shards), or train on shards of that tokenizer"
            )
        model = dataclasses.replace(model, vocab_size=layout.vocab_size, image_tokens=layout.tokens_per_image)
        notes.append(f"vocabulary {layout.vocab_size} ids (30,522 text + {layout.codebook_size} codes), "
                     f"{layout.tokens_per_image} image tokens per face, from the shards' tokenizer {_describe(corpus.info)}")
    need = longest_sequence(layout.tokens_per_image, text_budget)
    if model.n_positions < need:
        notes.append(f"n_positions {model.n_positions} -> {need}: the longest sequence ({layout.tokens_per_image} "
                     f"image tokens + {text_budget} text tokens + 7)")
        model = dataclasses.replace(model, n_positions=need)
    return model, notes


__all__ = ["CorpusMismatch", "CorpusTokenizer", "build_stats", "corpus_tokenizer", "datasets_present", "fit_model_config"]
