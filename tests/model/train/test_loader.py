"""Tests of the shard data side: sequences, the text budget, balanced batches, partitions and resume."""

from __future__ import annotations

import io
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from model.testing import write_fake_shards
from model.train.loader import LoaderPosition, PairStream, ShardDataset, make_loader
from model.train.sequences import (
    ATTRIBUTES_TO_FACE,
    CAPTION_TO_FACE,
    FACE_TO_ATTRIBUTES,
    FACE_TO_CAPTION,
    PROMPTS,
    Pair,
    SequenceBuilder,
    collate,
    parse_tasks,
)
from model.train.shards import read_shard, resolve_shards
from model.transformer import IGNORE_INDEX
from schemas.sample import ShardSample
from schemas.shard import iter_samples, tar_bytes
from schemas.vocab import CLS_ID, IMAGE_OFFSET, SEP_ID

CODES = np.arange(256, dtype=np.uint16) * 3
LONG_ATTRIBUTES = "celeba " + " ".join(f"attribute {i}: {'true' if i % 2 else 'false'};" for i in range(40))


@pytest.fixture(scope="module")
def builder() -> SequenceBuilder:
    return SequenceBuilder(text_budget=64)


def pair(kind: str, text: str) -> Pair:
    return Pair("0" * 32, CODES, kind, text, "celeba" if kind == "attributes" else "mm_celeba_hq")


# --- sequences ------------------------------------------------------------------


@pytest.mark.parametrize("task", [FACE_TO_CAPTION, CAPTION_TO_FACE, FACE_TO_ATTRIBUTES, ATTRIBUTES_TO_FACE])
def test_sequence_layout(builder: SequenceBuilder, task: int) -> None:
    kind = "caption" if task in (FACE_TO_CAPTION, CAPTION_TO_FACE) else "attributes"
    text = "She wears heavy makeup." if kind == "caption" else "celeba gender: female; smiling: true;"
    ex = builder.build(pair(kind, text), task, random.Random(0))
    ids, segments, labels = ex.ids.tolist(), ex.segments.tolist(), ex.labels.tolist()
    tok = builder.tokenizer
    image = [IMAGE_OFFSET + int(c) for c in CODES]
    n1 = segments.count(1)
    assert segments == [1] * n1 + [2] * (len(ids) - n1)  # segment 1, then segment 2, no padding yet
    first, second = ids[:n1], ids[n1:]
    prompt = tok.encode(PROMPTS[task])
    assert first[: len(prompt) + 2] == [CLS_ID, *prompt, SEP_ID] and first[-1] == SEP_ID and second[-1] == SEP_ID
    prefix, target = first[len(prompt) + 2 : -1], second[:-1]
    if task == FACE_TO_CAPTION:
        assert prefix == image and target == tok.encode(text)
    elif task == CAPTION_TO_FACE:
        assert prefix == tok.encode(text) and target == image
    elif task == FACE_TO_ATTRIBUTES:  # one pair, opened by "<prefix> <key>:"
        assert prefix == image
        assert target in (tok.encode("celeba gender: female;"), tok.encode("celeba smiling: true;"))
    else:
        assert prefix == tok.encode(text) and target == image
    # the loss is on every target token and the closing [SEP], predicted from the token before it
    assert labels == [IGNORE_INDEX] * (n1 - 1) + second + [IGNORE_INDEX]
    batch = collate([ex, builder.build(pair("caption", "Short."), FACE_TO_CAPTION, random.Random(0))])
    assert batch["ids"][0].tolist() == ids and batch["segments"][0].tolist() == segments
    assert batch["labels"][0].tolist() == labels and batch["task"].tolist() == [task, FACE_TO_CAPTION]
    pad = len(ids) - int((batch["segments"][1] > 0).sum())  # the shorter row is right-padded
    if pad > 0:
        assert batch["ids"][1, -pad:].tolist() == [0] * pad and batch["segments"][1, -pad:].tolist() == [0] * pad
        assert batch["labels"][1, -pad:].tolist() == [IGNORE_INDEX] * pad


def test_attribute_key_loss_off_leaves_the_value(builder: SequenceBuilder) -> None:
    no_key = SequenceBuilder(text_budget=64, attribute_key_loss=False, tokenizer=builder.tokenizer)
    ex = no_key.build(pair("attributes", "cacd age: 25;"), FACE_TO_ATTRIBUTES, random.Random(0))
    tok = builder.tokenizer
    labelled = [x for x in ex.labels.tolist() if x != IGNORE_INDEX]
    assert labelled == tok.encode("25;") + [SEP_ID]
    assert ex.ids[ex.n_first :].tolist() == tok.encode("cacd age: 25;") + [SEP_ID]


def test_text_budget_keeps_the_prefix_and_whole_pairs(builder: SequenceBuilder) -> None:
    small = SequenceBuilder(text_budget=20, tokenizer=builder.tokenizer)
    prefix, pairs = small.attribute_pairs(LONG_ATTRIBUTES)
    assert len(pairs) == 40 and prefix == builder.tokenizer.encode("celeba")
    subsets = set()
    for seed in range(20):
        ids = small.attribute_subset(LONG_ATTRIBUTES, random.Random(seed))
        assert len(ids) <= 20 and ids[: len(prefix)] == prefix
        rest, chosen = ids[len(prefix) :], []
        while rest:  # the rest is whole pairs of the text, in the text's order
            j = next(j for j, p in enumerate(pairs) if rest[: len(p)] == p and (not chosen or j > chosen[-1]))
            chosen.append(j)
            rest = rest[len(pairs[j]) :]
        assert len(chosen) >= 2
        subsets.add(tuple(chosen))
    assert len(subsets) > 10  # a random subset each time, so the model learns from partial attributes
    short = "celeba gender: male;"
    assert small.attribute_subset(short, random.Random(0)) == builder.tokenizer.encode(short)  # fits: unchanged


def test_text_budget_truncates_captions() -> None:
    b = SequenceBuilder(text_budget=8)
    caption = "this smiling young woman has long wavy blond hair and wears heavy makeup"
    ex = b.build(pair("caption", caption), FACE_TO_CAPTION, random.Random(0))
    assert ex.ids[ex.n_first : -1].tolist() == b.tokenizer.encode(caption)[:8]
    ex = b.build(pair("caption", caption), CAPTION_TO_FACE, random.Random(0))
    assert ex.ids[4:-258].tolist() == b.tokenizer.encode(caption)[:8]


def test_malformed_attribute_text_is_an_error(builder: SequenceBuilder) -> None:
    with pytest.raises(ValueError, match="does not follow"):
        builder.attribute_pairs("celeba gender: male")


# --- shards, streams, batches ------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """23 faces in 6 shards, each with one caption and one attribute text."""
    return write_fake_shards(tmp_path_factory.mktemp("shards"), n_faces=23, per_shard=4)


def test_resolve_shards(corpus: list[str]) -> None:
    folder = str(Path(corpus[0]).parent)
    assert resolve_shards(folder) == corpus
    assert resolve_shards(folder + "/train-*.tar") == corpus
    assert resolve_shards(folder + "/train-{000001..000002}.tar") == corpus[1:3]
    assert resolve_shards([corpus[3], corpus[0]]) == [corpus[0], corpus[3]]
    with pytest.raises(FileNotFoundError, match="no shards match"):
        resolve_shards(folder, split="val")


def test_read_shard_names_the_shard_of_a_bad_sample(tmp_path: Path) -> None:
    path = tmp_path / "train-000000.tar"
    path.write_bytes(tar_bytes([{"__key__": "a" * 32, "json": b"{}", "tokens.npy": b"not npy"}]))
    with pytest.raises(ValueError, match=f"{path}: sample a{{32}}.*rebuild this shard"):
        list(read_shard(str(path)))


def test_read_shard_names_the_shard_and_member_of_a_truncated_tar(corpus: list[str], tmp_path: Path) -> None:
    data = Path(corpus[0]).read_bytes()
    path = tmp_path / "train-000000.tar"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=f"{path}: .*member .*truncated.*rebuild this shard"):
        list(read_shard(str(path)))


def test_fake_shards_are_written_as_builds_write_them(corpus: list[str], tmp_path: Path) -> None:
    again = write_fake_shards(tmp_path, n_faces=23, per_shard=4)
    assert [Path(p).name for p in again] == [Path(p).name for p in corpus]
    assert all(Path(a).read_bytes() == Path(b).read_bytes() for a, b in zip(again, corpus))
    samples = [ShardSample.from_wds(f) for f in iter_samples(io.BytesIO(Path(corpus[0]).read_bytes()))]
    assert Path(corpus[0]).read_bytes() == tar_bytes(s.to_wds() for s in samples)


@pytest.mark.parametrize("world,workers", [(1, 1), (2, 1), (2, 2), (3, 3)])  # 6 shards: by shard, then by face
def test_partitions_cover_every_pair_exactly_once(corpus: list[str], world: int, workers: int) -> None:
    for kind in ("caption", "attributes"):
        seen: Counter[str] = Counter()
        for partition in range(world * workers):
            stream = PairStream(corpus, kind, partition, world * workers, seed=1, shuffle_buffer=5)
            seen.update(p.key for p in stream.epoch_pairs(epoch=3))
        assert len(seen) == 23 and set(seen.values()) == {1}


def test_streams_are_seeded_and_change_order_per_epoch(corpus: list[str]) -> None:
    stream = PairStream(corpus, "caption", 0, 1, seed=1, shuffle_buffer=8)
    e0 = [p.key for p in stream.epoch_pairs(0)]
    assert e0 == [p.key for p in stream.epoch_pairs(0)]
    assert e0 != [p.key for p in stream.epoch_pairs(1)] and sorted(e0) == sorted(p.key for p in stream.epoch_pairs(1))
    assert e0 != [s.key for url in stream.epoch_shards(0) for s in read_shard(url)]  # the buffer mixes shards
    plain = PairStream(corpus, "caption", 0, 1, shuffle=False)
    assert [p.key for p in plain.epoch_pairs(0)] == [s.key for url in corpus for s in read_shard(url)]


def test_every_batch_is_balanced_over_the_four_tasks(corpus: list[str]) -> None:
    dataset = ShardDataset(corpus, SequenceBuilder(), batch_size=8, seed=3, shuffle_buffer=6)
    for _, batch in zip(range(7), dataset):  # 7 x 4 pairs of each kind: crosses an epoch (23 pairs)
        assert batch["task"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
        n = batch["ids"].size(1)
        assert batch["segments"].shape == batch["labels"].shape == (8, n)
        assert bool((batch["segments"][:, 0] == 1).all())


def test_one_kind_alone_fills_the_batch(tmp_path: Path) -> None:
    urls = write_fake_shards(tmp_path, n_faces=5, per_shard=5, kinds=("attributes",))
    dataset = ShardDataset(urls, SequenceBuilder(), batch_size=8, shuffle_buffer=0)
    with pytest.warns(UserWarning, match="no caption pairs"):
        batch = next(iter(dataset))
    assert batch["task"].tolist() == [2, 2, 2, 2, 3, 3, 3, 3]


def test_a_subset_of_tasks_is_balanced_too(corpus: list[str]) -> None:
    dataset = ShardDataset(corpus, SequenceBuilder(), batch_size=8, tasks=parse_tasks("face_to_caption,attributes_to_face"))
    assert next(iter(dataset))["task"].tolist() == [0, 0, 0, 0, 3, 3, 3, 3]
    dataset = ShardDataset(corpus, SequenceBuilder(), batch_size=8, tasks=[0, 1, 2])  # 3, 3, 2
    assert next(iter(dataset))["task"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="comma-separated names"):
        parse_tasks("face_to_text")


def test_batch_size_must_split_into_four_tasks(corpus: list[str]) -> None:
    with pytest.raises(ValueError, match="multiple of 4"):
        ShardDataset(corpus, SequenceBuilder(), batch_size=6)


def keys_of(batch: dict[str, torch.Tensor]) -> list[tuple[int, ...]]:
    return [tuple(row.tolist()) for row in batch["ids"]]


@pytest.mark.parametrize("workers", [0, 2])
def test_loader_resumes_on_the_next_batch(corpus: list[str], workers: int) -> None:
    def loader(position: LoaderPosition | None) -> ShardDataset:
        return ShardDataset(corpus, SequenceBuilder(), batch_size=4, seed=5, shuffle_buffer=4,
                            num_workers=workers, position=position)

    full = []
    for _, batch in zip(range(9), make_loader(loader(None))):
        full.append(batch)
    assert [int(b["position"][0]) for b in full] == [i % max(workers, 1) for i in range(9)]
    position = LoaderPosition.start(workers)
    for batch in full[:5]:
        position.advance(batch["position"])
    saved = LoaderPosition.from_state(position.state())
    resumed = [b for _, b in zip(range(4), make_loader(loader(saved)))]
    for a, b in zip(full[5:], resumed):
        assert keys_of(a) == keys_of(b) and torch.equal(a["labels"], b["labels"])
    with pytest.raises(ValueError, match="same num_workers"):
        ShardDataset(corpus, SequenceBuilder(), batch_size=4, num_workers=3, position=saved)
