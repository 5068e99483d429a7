"""Text lengths in WordPiece tokens: a fast token counter over the manifest's texts, and their percentiles."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.inspect.corpus import TEXT_BUDGET

_TEXTS_PER_THREAD = 50_000  # distinct texts below which a thread more does not pay


class _TokenCounter:
    """WordPiece token counts per text, tokenizing each distinct white-space-separated word once."""

    def __init__(self, tokenizer: Any = None):
        self.name, self._encode_batch = _load_text_tokenizer(tokenizer)

    def count(self, texts: pa.ChunkedArray | pa.Array) -> np.ndarray:
        """Tokens per text (int64), equal to ``len(encode(text))``: BERT splits on white space before
        anything else, so a text's count is the sum of its space-separated words' counts.

        Distinct texts are split and their words deduplicated in threads (Arrow releases the GIL);
        each distinct word is tokenized once.
        """
        from concurrent.futures import ThreadPoolExecutor

        arr = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
        if len(arr) == 0:
            return np.zeros(0, dtype=np.int64)
        encoded = arr.dictionary_encode()
        distinct, index = encoded.dictionary, encoded.indices.to_numpy(zero_copy_only=False)
        threads = max(1, min(8, os.cpu_count() or 1, len(distinct) // _TEXTS_PER_THREAD))
        bounds = np.linspace(0, len(distinct), threads + 1).astype(int)

        def words_of(i: int) -> tuple[np.ndarray, pa.Array, np.ndarray]:
            words = pc.split_pattern(distinct.slice(bounds[i], bounds[i + 1] - bounds[i]), " ")
            offsets = words.offsets.to_numpy() - words.offsets[0].as_py()
            vocab = pc.list_flatten(words).dictionary_encode()  # any white space would do: the tokenizer splits the rest
            return offsets, vocab.dictionary, vocab.indices.to_numpy(zero_copy_only=False)

        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(words_of, range(threads)))
            vocab = pc.unique(pa.concat_arrays([p[1] for p in parts]))
            pieces = np.array([len(ids) for ids in self._encode_batch(vocab.to_pylist())], dtype=np.int32)

            def lengths_of(part: tuple[np.ndarray, pa.Array, np.ndarray]) -> np.ndarray:
                offsets, words, indices = part  # every text splits into at least one (maybe empty) word
                per_word = pieces[pc.index_in(words, value_set=vocab).to_numpy(zero_copy_only=False)][indices]
                return np.add.reduceat(per_word, offsets[:-1]) if len(per_word) else np.zeros(0, np.int32)

            per_distinct = np.concatenate(list(pool.map(lengths_of, parts)))
        return np.asarray(per_distinct[index], dtype=np.int64)


def _load_text_tokenizer(tokenizer: Any) -> tuple[str, Callable[[list[str]], list[list[int]]]]:
    """The trainer's text tokenizer (`model.tokenizers.text.load_text_tokenizer`), or the one given."""
    if tokenizer is None:
        from model.tokenizers.text import load_text_tokenizer

        tokenizer = load_text_tokenizer()
    batch = getattr(tokenizer, "encode_batch", None)
    if batch is None:
        return type(tokenizer).__name__, lambda texts: [tokenizer.encode(t) for t in texts]
    return type(tokenizer).__name__, lambda texts: [list(ids) for ids in batch(texts)]


def _length_stats(lengths: np.ndarray, budget: int) -> dict[str, Any]:
    if len(lengths) == 0:
        return {"texts": 0, "mean": 0.0, "p50": 0, "p90": 0, "p99": 0, "max": 0, "over_budget": 0, "over_budget_pct": 0.0}
    p50, p90, p99 = np.percentile(lengths, [50, 90, 99])
    over = int((lengths > budget).sum())
    return {
        "texts": int(len(lengths)),
        "mean": round(float(lengths.mean()), 2),
        "p50": int(math.ceil(p50)),
        "p90": int(math.ceil(p90)),
        "p99": int(math.ceil(p99)),
        "max": int(lengths.max()),
        "over_budget": over,
        "over_budget_pct": round(100.0 * over / len(lengths), 2),
    }


def text_lengths(table: pa.Table, budget: int = TEXT_BUDGET, tokenizer: Any = None) -> dict[str, Any]:
    """Text lengths in WordPiece tokens per kind and per dataset: percentiles, and texts over `budget`."""
    counter = _TokenCounter(tokenizer)
    lengths = counter.count(table["text"])
    cap = 2 * budget
    out: dict[str, Any] = {"tokenizer": counter.name, "budget": budget, "by_kind": [], "by_dataset": [], "histogram": {}}
    for column, target in (("kind", "by_kind"), ("dataset", "by_dataset")):
        groups = table[column].combine_chunks().dictionary_encode()
        codes = groups.indices.to_numpy(zero_copy_only=False)
        for i, name in sorted(enumerate(groups.dictionary.to_pylist()), key=lambda item: item[1]):
            mine = lengths[codes == i]
            out[target].append({column: name, **_length_stats(mine, budget)})
            if column == "kind":  # counts per length 0..cap, the last bin holding everything longer
                out["histogram"][name] = np.bincount(np.minimum(mine, cap), minlength=cap + 1).tolist()
    out["all"] = _length_stats(lengths, budget)
    return out

