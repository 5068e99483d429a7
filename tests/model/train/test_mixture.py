"""Dataset selection and weights in training, and the corpus's tokenizer: mixed shards and contradicting configs refused."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from model.testing import write_fake_shards
from model.train.corpus import CorpusMismatch, corpus_tokenizer, fit_model_config
from model.train.loader import PairStream, ShardDataset
from model.train.mixture import Mixture
from model.train.sequences import TASK_KIND, TASKS, SequenceBuilder
from model.train.shards import read_shards
from model.train.trainer import main
from model.transformer import Talk2FaceConfig
from schemas.sample import TokenizerInfo
from schemas.vocab import IMAGE_OFFSET

F16 = TokenizerInfo("16aa16aa16aa16aa", "vqgan", 1024, 256, 16)
F8 = TokenizerInfo("8bb8bb8bb8bb8bb8", "gumbel-vqgan", 8192, 1024, 32)


@pytest.fixture(scope="module")
def two_datasets(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict[tuple[int, ...], str]]:
    """Six faces of dataset aaa (captions: aaacap) and six of bbb, two shards each; codes -> dataset."""
    folder = tmp_path_factory.mktemp("mix")
    urls = (write_fake_shards(folder, 6, 3, seed=1, dataset="aaa", tokenizer=F16)
            + write_fake_shards(folder / "b", 6, 3, seed=2, dataset="bbb", tokenizer=F16))
    whose = {tuple(int(c) for c in s.tokens): s.texts[0].dataset.removesuffix("cap") for s in read_shards(urls)}
    return urls, whose


def row_dataset(ids: np.ndarray, whose: dict[tuple[int, ...], str]) -> str:
    """The dataset of a batch row, from its 256 image ids (each fake face's codes are its own)."""
    image = ids[(ids >= IMAGE_OFFSET)] - IMAGE_OFFSET
    return whose[tuple(int(c) for c in image)]


def test_selection_and_weights_in_a_stream(two_datasets: tuple[list[str], dict]) -> None:
    urls, _ = two_datasets

    def counts(mixture: Mixture) -> Counter[str]:
        stream = PairStream(urls, "attributes", 0, 1, seed=3, shuffle_buffer=4, mixture=mixture)
        return Counter(p.dataset for p in stream.epoch_pairs(0))

    assert counts(Mixture()) == {"aaa": 6, "bbb": 6}
    assert counts(Mixture.parse("aaa")) == {"aaa": 6}
    assert counts(Mixture.parse("", "aaa:2")) == {"aaa": 12, "bbb": 6}
    assert counts(Mixture.parse("aaa,bbb", "aaa:3,bbb:0")) == {"aaa": 18}
    half = counts(Mixture.parse("", "bbb:0.5"))
    assert half["aaa"] == 6 and 0 < half["bbb"] < 6 and half == counts(Mixture.parse("", "bbb:0.5"))  # seeded


def test_batches_hold_only_the_selected_datasets_with_balanced_tasks(two_datasets: tuple[list[str], dict]) -> None:
    urls, whose = two_datasets
    dataset = ShardDataset(urls, SequenceBuilder(), 8, seed=0, shuffle_buffer=4,
                           mixture=Mixture.parse("aaa,aaacap"))
    for _, batch in zip(range(5), dataset):
        assert Counter(batch["task"].tolist()) == {t: 2 for t in range(len(TASKS))}
        assert {row_dataset(row.numpy(), whose) for row in batch["ids"]} == {"aaa"}


def test_weights_change_the_proportions_and_keep_tasks_balanced(two_datasets: tuple[list[str], dict]) -> None:
    urls, whose = two_datasets
    dataset = ShardDataset(urls, SequenceBuilder(), 8, seed=0, shuffle_buffer=4,
                           mixture=Mixture.parse("", "aaa:3,aaacap:3"))
    seen: Counter[tuple[str, int]] = Counter()
    for _, batch in zip(range(6), dataset):  # 24 pairs per kind: one epoch of 3 x 6 aaa + 6 bbb
        assert Counter(batch["task"].tolist()) == {t: 2 for t in range(len(TASKS))}
        for row, task in zip(batch["ids"], batch["task"].tolist()):
            seen[row_dataset(row.numpy(), whose), task] += 1
    for kind in ("caption", "attributes"):  # each kind's stream ran exactly one epoch: 18 aaa pairs, 6 bbb
        tasks = [t for t in range(len(TASKS)) if TASK_KIND[t] == kind]
        assert (sum(seen["aaa", t] for t in tasks), sum(seen["bbb", t] for t in tasks)) == (18, 6)  # 3:1 as asked


def test_mixture_syntax_and_unknown_datasets(two_datasets: tuple[list[str], dict], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("cacd=2", "cacd:x", "cacd:-1"):
        with pytest.raises(ValueError, match="DATASET:WEIGHT"):
            Mixture.parse("", bad)
    with pytest.raises(ValueError, match=r"name \['celeba'\], which datasets=cacd does not select"):
        Mixture.parse("cacd", "celeba:2")
    urls, _ = two_datasets
    with pytest.raises(SystemExit):
        main(["--shards", str(Path(urls[0]).parent), "--config", "tiny", "--set", "datasets=cacd",
              "--workdir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert "datasets ['cacd'] have no texts in the 2 training shards" in err and "aaa, aaacap" in err
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_mixed_shards_are_refused_naming_both(tmp_path: Path) -> None:
    urls = write_fake_shards(tmp_path, 4, 2, seed=1, tokenizer=F16) + write_fake_shards(tmp_path / "z", 2, 2, seed=9,
                                                                                      tokenizer=F8)
    corpus = corpus_tokenizer(urls)
    assert corpus.info == F16 and corpus.layout.vocab_size == 31546
    dataset = ShardDataset(urls, SequenceBuilder(), 4, seed=0, shuffle=False, corpus=corpus)
    with pytest.raises(CorpusMismatch) as caught:
        for _, _batch in zip(range(10), dataset):
            pass
    message = str(caught.value)
    assert F8.fingerprint in message and F16.fingerprint in message and corpus.shard in message
    assert "mixed shards" in message and "one tokenizer's" in message


def test_the_model_follows_the_corpus_and_a_contradicting_config_is_refused(tmp_path: Path,
                                                                             capsys: pytest.CaptureFixture[str]) -> None:
    f8 = write_fake_shards(tmp_path / "f8", 2, 2, seed=1, tokenizer=F8)
    fitted, notes = fit_model_config(Talk2FaceConfig.tiny(), corpus_tokenizer(f8), text_budget=64)
    assert (fitted.vocab_size, fitted.image_tokens, fitted.n_positions) == (30522 + 8192, 1024, 1024 + 64 + 7)
    assert len(notes) == 2
    f16 = write_fake_shards(tmp_path / "f16", 2, 2, seed=1, tokenizer=F16)
    with pytest.raises(CorpusMismatch, match="vocab_size=38714, image_tokens=1024"):
        fit_model_config(fitted, corpus_tokenizer(f16), text_budget=64)
    with pytest.raises(SystemExit):
        main(["--shards", str(tmp_path / "f16"), "--config", "tiny", "--set", "model.vocab_size=40000",
              "--workdir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert "the config says vocab_size=40000" in err and F16.fingerprint in err and "Drop model.vocab_size" in err
