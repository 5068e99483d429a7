"""The summary: counts, stats.json, text lengths, label distributions and codebook usage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from inspect_fixtures import (
    build_corpus,
    run,
)

from pipeline.inspect import labels, lengths
from pipeline.inspect.corpus import TEXT_BUDGET


def test_summary_text(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, str(corpus))
    assert status == 0, err
    for expected in ("11 samples, 13 pairs", "splits", "fairface", "celeba_dialog", "below resolution",
                     "image missing", "split conflicts: 1", "text length in WordPiece tokens",
                     "fairface race [string, 3 distinct]: east asian (2)", "codes used"):
        assert expected in out, expected


def test_summary_json(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, str(corpus), "--json")
    assert status == 0
    summary = json.loads(out)
    assert summary["samples"] == 11 and summary["manifest_rows"] == 13
    splits = {r["split"]: r for r in summary["splits"]}
    assert [r["split"] for r in summary["splits"]] == ["train", "val", "test"]
    assert (splits["train"]["samples"], splits["train"]["pairs"], splits["train"]["shard_files"]) == (7, 9, 2)
    rows = {(r["dataset"], r["kind"]): r for r in summary["datasets"]}
    assert rows[("cacd", "attributes")]["pairs"] == 4
    assert rows[("mm_celeba_hq", "caption")] | {} == rows[("mm_celeba_hq", "caption")]
    assert (rows[("mm_celeba_hq", "caption")]["records"], rows[("mm_celeba_hq", "caption")]["pairs"]) == (2, 3)
    stats = {d["dataset"]: d for d in summary["stats"]["datasets"]}
    assert stats["fairface"]["filtered"] == {"below resolution": 2}
    assert summary["stats"]["split_conflicts"] == 1
    race = summary["labels"]["fairface"]["race"]
    assert race["type"] == "string" and dict(map(tuple, race["values"]))["east asian"] == 2
    assert summary["labels"]["cacd"]["age"]["type"] == "int"
    assert summary["labels"]["celeba_dialog"]["beard"]["values"] == [["0", 1], ["4", 1]]
    tt = summary["text_tokens"]
    assert tt["budget"] == 64 and tt["all"]["texts"] == 13 and tt["all"]["over_budget"] == 0
    cb = summary["codebook"]
    assert cb["samples"] == 11 and cb["shards_read"] == 4 and 0 < cb["used"] <= 1024
    assert 0 < cb["entropy_bits"] <= 10


def test_summary_over_fsspec_url_and_max_shards(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, f"file://{corpus}", "--json", "--max-shards", "2", "--text-budget", "8")
    assert status == 0
    summary = json.loads(out)
    assert summary["codebook"]["shards_read"] == 2 and summary["codebook"]["shards_total"] == 4
    assert summary["text_tokens"]["all"]["over_budget"] > 0


def test_codebook_from_the_token_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = build_corpus(tmp_path, cache=True)
    status, text, _ = run(capsys, str(out), "--json")
    from_cache = json.loads(text)["codebook"]
    status, text, _ = run(capsys, str(out), "--json", "--tokens", "shards")
    from_shards = json.loads(text)["codebook"]
    assert from_cache["source"].startswith("token cache") and from_shards["source"] == "shards"
    assert from_cache["samples"] == from_shards["samples"] == 11  # the stale face and the repeat are left out
    assert from_cache["counts"] == from_shards["counts"]
    status, text, _ = run(capsys, str(out), "--max-shards", "2")
    assert status == 0 and "buckets of the token cache" in text
    status, _, err = run(capsys, str(build_corpus(tmp_path / "b")), "--tokens", "cache")
    assert status == 2 and "no token cache" in err


def test_token_counts_match_the_tokenizer() -> None:
    import pyarrow as pa
    from tokenizers import BertWordPieceTokenizer

    texts = ["fairface age: 20-29; gender: male; race: east asian;", "  Ein Mädchen, lächelnd!  ", "", "x" * 150]
    counter = lengths._TokenCounter()
    wordpiece = BertWordPieceTokenizer(str(Path(lengths.__file__).parents[2] / "model" / "assets" / "bert-base-uncased-vocab.txt"),
                                       lowercase=True)
    if counter.name == "bert-base-uncased WordPiece":
        expected = [len(wordpiece.encode(t, add_special_tokens=False).ids) for t in texts]
        assert counter.count(pa.array(texts)).tolist() == expected
    assert counter.count(pa.array(texts)).tolist()[2] == 0


def test_token_counts_in_threads_match(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa

    texts = pa.array([f"text {i} with {'many ' * (i % 7)}words, and; punctuation!" for i in range(40)] * 2)
    counter = lengths._TokenCounter()
    single = counter.count(texts)
    monkeypatch.setattr(lengths, "_TEXTS_PER_THREAD", 5)
    assert counter.count(texts).tolist() == single.tolist()
    assert single.tolist()[:2] == [len(counter._encode_batch([t])[0]) for t in texts.to_pylist()[:2]]


def test_numeric_labels_are_bucketed() -> None:
    ages = np.arange(0, 100, dtype=np.float64)
    buckets = labels._bucket_numbers(ages, np.ones(100), np.unique(ages), integer=True)
    assert buckets[0] == ["0-9", 10] and buckets[-1] == ["90-99", 10] and len(buckets) == 10
    valence = np.linspace(-1, 1, 41)
    buckets = labels._bucket_numbers(valence, np.ones(41), np.unique(valence), integer=False)
    assert buckets[0][0] == "-1 to -0.8" and sum(n for _, n in buckets) == 41


def test_text_budget_default_is_the_trainers() -> None:
    import ast

    source = Path(lengths.__file__).parents[2] / "model" / "train" / "trainer.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))  # read, not imported: importing it loads torch
    config = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "TrainConfig")
    default = next(n.value for n in config.body if isinstance(n, ast.AnnAssign)
                   and isinstance(n.target, ast.Name) and n.target.id == "text_budget")
    assert default is not None and ast.literal_eval(default) == TEXT_BUDGET
