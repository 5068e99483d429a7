"""Training data from WebDataset shards: pairs, the four tasks, sequences and balanced batches.

A shard sample is one face with all its texts (DESIGN.md 3.4); every text becomes a (face, text)
pair, and every pair becomes one of the four task sequences of DESIGN.md 3.6::

    face_to_caption      [CLS] to caption [SEP] <256 image ids> [SEP] | caption [SEP]
    caption_to_face      [CLS] to image [SEP] caption [SEP]           | <256 image ids> [SEP]
    face_to_attributes   [CLS] to attributes [SEP] <image> [SEP]      | celeba smiling: true; [SEP]
    attributes_to_face   [CLS] to image [SEP] celeba gender: male; ... [SEP] | <image> [SEP]

Left of ``|`` is segment 1, right of it segment 2; the loss is on segment 2 only, every target token
and the closing [SEP]. Texts are held to a text budget of WordPiece tokens (64 by default, so the
longest sequence is 327 tokens, inside the reference's seq_length of 334; the reference's generation
script instead cuts the whole to-image segment 1 at 64): captions are truncated, attribute texts that
are longer keep their prefix and a random subset of whole ``key: value;`` pairs. A face-to-attributes
example asks for one pair, whose ``<prefix> <key>:`` opens the target as at inference (``cacd age:``
-> ``25;``); the loss covers that opening too (it teaches which keys a dataset has, and costs
nothing at inference, where the opening is given), or only the value with ``attribute_key_loss=False``.

Batches are balanced: each holds batch_size / 4 sequences of every task, half from a stream of
caption pairs and half from a stream of attribute pairs (if a partition has no pairs of one kind,
the other kind's tasks fill the batch; `tasks` may restrict training to some of the four). Each
stream reads the shards of its partition (one DDP rank x one loader worker), in an order fixed by
(seed, epoch), through a seeded shuffle buffer.

Resume guarantee: the pairs a partition's stream yields in an epoch are a pure function of (shard
list, seed, epoch, partition, partitions count), and each pair's random choices (attribute subset,
which pair to ask for) are seeded by its own (kind, partition, epoch, offset). A `LoaderPosition`
(per worker: epoch and offset of both streams, plus which worker delivers the next batch) therefore
restarts the loader on exactly the batch that would have come next, provided the shards, seed,
batch size, text budget, world size and number of workers are unchanged. A restart re-reads the
current epoch of each stream up to its offset (tar reading and sample parsing; nothing is tokenised),
so it costs at most one epoch of reading.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from model.text_tokenizer import TextTokenizer
from model.transformer import IGNORE_INDEX
from schemas.sample import SampleError, ShardSample
from schemas.vocab import CLS_ID, IMAGE_OFFSET, IMAGE_TOKENS, PAD_ID, SEP_ID

TASKS: tuple[str, ...] = ("face_to_caption", "caption_to_face", "face_to_attributes", "attributes_to_face")
FACE_TO_CAPTION, CAPTION_TO_FACE, FACE_TO_ATTRIBUTES, ATTRIBUTES_TO_FACE = range(4)
PROMPTS: tuple[str, ...] = ("to caption", "to image", "to attributes", "to image")  # per task
KINDS: tuple[str, ...] = ("caption", "attributes")  # stream order in a batch and in a LoaderPosition
TASK_KIND: tuple[str, ...] = ("caption", "caption", "attributes", "attributes")  # the pairs each task uses


def load_text_tokenizer() -> TextTokenizer:
    """The project's text tokenizer: BERT-uncased WordPiece, digits kept whole (as the released model saw them)."""
    return TextTokenizer(digits=False)


# -----------------------------------------------------------------------------
# Shard URLs and samples


def resolve_shards(spec: str | Sequence[str], split: str = "train") -> list[str]:
    """Shard URLs from a glob, a brace pattern, a directory (its ``<split>-*.tar``), a URL or a list of them.

    ``out/shards/train-{000000..000003}.tar``, ``out/shards/train-*.tar``, ``out/shards`` and
    ``gs://bucket/shards`` all work; local paths come back as plain paths, sorted.
    """
    import braceexpand
    import fsspec

    if not isinstance(spec, str):
        return sorted({url for one in spec for url in resolve_shards(one, split)})
    urls: list[str] = []
    for part in braceexpand.braceexpand(spec):
        fs, path = fsspec.core.url_to_fs(part)
        local = "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))

        def name(p: str, fs: Any = fs, local: bool = local) -> str:
            return str(p) if local else str(fs.unstrip_protocol(p))

        if any(c in path for c in "*?["):
            urls.extend(name(p) for p in fs.glob(path))
        elif fs.isdir(path):
            urls.extend(name(p) for p in fs.glob(f"{path.rstrip('/')}/{split}-*.tar"))
        else:
            urls.append(part)
    if not urls:
        raise FileNotFoundError(
            f"no shards match {spec!r}; give a glob (out/shards/{split}-*.tar), a brace pattern "
            f"(out/shards/{split}-{{000000..000003}}.tar) or a directory holding {split}-*.tar"
        )
    return sorted(set(urls))


def read_shard(url: str) -> Iterator[ShardSample]:
    """The samples of one shard, in order; a malformed sample raises ValueError naming the shard and key."""
    import fsspec
    from webdataset.tariterators import group_by_keys, tar_file_expander

    def wanted(fname: str) -> bool:  # the face jpg is not needed for training
        return fname.endswith((".tokens.npy", ".json"))

    with fsspec.open(url, "rb") as stream:
        files = tar_file_expander([{"url": url, "stream": stream}], select_files=wanted)
        for fields in group_by_keys(files):
            try:
                yield ShardSample.from_wds(fields)
            except SampleError as err:
                raise ValueError(f"{url}: {err}; rebuild this shard with the pipeline") from err


@dataclass(frozen=True)
class Pair:
    """One (face, text) pair taken from a shard sample."""

    key: str  # the sample key (content hash of the face)
    codes: np.ndarray  # (256,) uint16 VQGAN codes, row-major 16x16
    kind: str  # "caption" or "attributes"
    text: str  # the caption or attribute text as stored
    dataset: str  # the dataset the text comes from


def sample_pairs(sample: ShardSample, kind: str) -> list[Pair]:
    """The pairs of one kind that a sample's texts make, in the sample's text order."""
    return [Pair(sample.key, sample.tokens, t.kind, t.text, t.dataset) for t in sample.texts if t.kind == kind]


# -----------------------------------------------------------------------------
# Sequences


@dataclass(frozen=True)
class Example:
    """One task sequence: its ids, where segment 2 starts, and the first token that carries a loss."""

    ids: np.ndarray  # (n,) int64: [CLS] prompt [SEP] prefix [SEP] target [SEP]
    n_first: int  # length of segment 1; segment 2 is the rest
    loss_start: int  # index of the first token predicted with a loss (n_first, or later with attribute_key_loss off)
    task: int

    @property
    def segments(self) -> np.ndarray:
        """(n,) segment ids: 1 for the prompt and prefix, 2 for the target."""
        return np.where(np.arange(len(self.ids)) < self.n_first, 1, 2)

    @property
    def labels(self) -> np.ndarray:
        """(n,) labels: labels[i] is ids[i + 1] where token i + 1 carries a loss, else IGNORE_INDEX."""
        labels = np.full(len(self.ids), IGNORE_INDEX, dtype=np.int64)
        labels[self.loss_start - 1 : -1] = self.ids[self.loss_start :]
        return labels


class SequenceBuilder:
    """Lays a pair out as one of the four task sequences of DESIGN.md 3.6, within the text budget."""

    def __init__(self, text_budget: int = 64, attribute_key_loss: bool = True, tokenizer: TextTokenizer | None = None):
        if text_budget < 8:
            raise ValueError(f"text_budget={text_budget} is too small for a prefix and one attribute pair; use >= 8")
        self.text_budget = text_budget
        self.attribute_key_loss = attribute_key_loss  # False: no loss on "<prefix> <key>:" of face-to-attributes
        self._tokenizer = tokenizer  # made lazily, so the builder pickles cheaply into loader workers
        self._prompts: dict[int, list[int]] = {}  # [CLS] prompt [SEP] ids per task
        self._punct: tuple[int, int] | None = None  # ids of ';' and ':'

    @property
    def tokenizer(self) -> TextTokenizer:
        """The text tokenizer, loaded on first use."""
        if self._tokenizer is None:
            self._tokenizer = load_text_tokenizer()
        return self._tokenizer

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_tokenizer": None}

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    def _semicolon_colon(self) -> tuple[int, int]:
        if self._punct is None:
            self._punct = (self._ids(";")[0], self._ids(":")[0])
        return self._punct

    def attribute_pairs(self, text: str) -> tuple[list[int], list[list[int]]]:
        """Token ids of an attribute text split into (prefix ids, one id list per ``key: value;`` pair).

        WordPiece splits at white space and punctuation, so the ids of the whole text are the
        prefix's ids followed by each pair's, every pair ending with the id of ';'.
        """
        prefix = text.split(None, 1)[0]
        ids = self._ids(text)
        n_prefix = len(self._ids(prefix))
        semicolon = self._semicolon_colon()[0]
        pairs: list[list[int]] = []
        start = n_prefix
        for i in range(n_prefix, len(ids)):
            if ids[i] == semicolon:
                pairs.append(ids[start : i + 1])
                start = i + 1
        if start != len(ids) or not pairs:
            raise ValueError(f"attribute text {text!r} does not follow '<prefix> <key>: <value>;' (DESIGN.md 3.3)")
        return ids[:n_prefix], pairs

    def attribute_subset(self, text: str, rng: random.Random) -> list[int]:
        """Ids of an attribute text within the budget: the prefix and a random subset of whole pairs, in text order."""
        prefix, pairs = self.attribute_pairs(text)
        if len(prefix) + sum(map(len, pairs)) <= self.text_budget:
            return prefix + [i for p in pairs for i in p]
        order = list(range(len(pairs)))
        rng.shuffle(order)
        room, chosen = self.text_budget - len(prefix), []
        for j in order:
            if len(pairs[j]) <= room:
                chosen.append(j)
                room -= len(pairs[j])
        if not chosen:  # one pair alone is longer than the budget: keep its beginning
            return (prefix + pairs[order[0]])[: self.text_budget]
        return prefix + [i for j in sorted(chosen) for i in pairs[j]]

    def attribute_question(self, text: str, rng: random.Random) -> tuple[list[int], int]:
        """Ids of one random pair as a face-to-attributes target, and where its value starts.

        ``celeba gender: male; smiling: true;`` -> ids of ``celeba smiling: true;`` and the index of
        ``true``: ``celeba smiling:`` opens the target, as the inference template gives it.
        """
        prefix, pairs = self.attribute_pairs(text)
        pair = pairs[rng.randrange(len(pairs))]
        colon = self._semicolon_colon()[1]
        head = len(prefix) + (pair.index(colon) + 1 if colon in pair else 0)
        target = (prefix + pair)[: self.text_budget]
        return target, min(head, len(target))

    def build(self, pair: Pair, task: int, rng: random.Random) -> Example:
        """The sequence of `task` for `pair`; `rng` makes its random choices (attribute subset or question)."""
        image = pair.codes.astype(np.int64) + IMAGE_OFFSET
        prefix: Sequence[int] | np.ndarray
        target: Sequence[int] | np.ndarray
        loss_from = 0  # first target token with a loss
        if task == FACE_TO_CAPTION:
            prefix, target = image, self._ids(pair.text)[: self.text_budget]
        elif task == CAPTION_TO_FACE:
            prefix, target = self._ids(pair.text)[: self.text_budget], image
        elif task == FACE_TO_ATTRIBUTES:
            prefix = image
            target, value_at = self.attribute_question(pair.text, rng)
            loss_from = 0 if self.attribute_key_loss else value_at
        elif task == ATTRIBUTES_TO_FACE:
            prefix, target = self.attribute_subset(pair.text, rng), image
        else:
            raise ValueError(f"task {task} is not one of 0..3 ({', '.join(TASKS)})")
        if task not in self._prompts:
            self._prompts[task] = [CLS_ID, *self._ids(PROMPTS[task]), SEP_ID]
        sep = [SEP_ID]
        ids = np.concatenate([self._prompts[task], prefix, sep, target, sep]).astype(np.int64)  # segment 1 | segment 2
        n_first = len(self._prompts[task]) + len(prefix) + 1
        return Example(ids, n_first, n_first + loss_from, task)


def collate(examples: Sequence[Example]) -> dict[str, torch.Tensor]:
    """Right-pad examples to the longest: ids (PAD), segments (0) and labels (IGNORE_INDEX), plus each task."""
    B, T = len(examples), max(len(e.ids) for e in examples)
    ids = np.full((B, T), PAD_ID, dtype=np.int64)
    segments = np.zeros((B, T), dtype=np.int64)
    labels = np.full((B, T), IGNORE_INDEX, dtype=np.int64)
    for row, e in enumerate(examples):
        n = len(e.ids)
        ids[row, :n] = e.ids
        segments[row, : e.n_first] = 1
        segments[row, e.n_first : n] = 2
        labels[row, e.loss_start - 1 : n - 1] = e.ids[e.loss_start :]
    return {
        "ids": torch.from_numpy(ids),
        "segments": torch.from_numpy(segments),
        "labels": torch.from_numpy(labels),
        "task": torch.tensor([e.task for e in examples]),
    }


# -----------------------------------------------------------------------------
# Streams: one kind of pair for one partition, deterministic and resumable


class EmptyStream(LookupError):
    """A stream whose partition holds no pairs of its kind."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _shuffled(items: Iterator[Pair], bufsize: int, rng: random.Random) -> Iterator[Pair]:
    """A seeded shuffle buffer: keep `bufsize` items, emit a random one as each new item comes in."""
    buf: list[Pair] = []
    for item in items:
        if len(buf) < bufsize:
            buf.append(item)
            continue
        j = rng.randrange(bufsize)
        yield buf[j]
        buf[j] = item
    rng.shuffle(buf)
    yield from buf


@dataclass
class PairStream:
    """The pairs of one kind that one partition (rank x worker) of the loader reads, epoch after epoch."""

    urls: list[str]  # all shards, any order (sorted here)
    kind: str  # "caption" or "attributes"
    partition: int  # rank * num_workers + worker
    partitions: int  # world_size * num_workers
    seed: int = 0
    shuffle_buffer: int = 1000  # pairs held by the shuffle buffer; 0 or 1 = no shuffling
    shuffle: bool = True  # False: shards in sorted order and no buffer (validation)

    def epoch_shards(self, epoch: int) -> list[str]:
        """The shard order of an epoch (the same for every partition), seeded by (seed, epoch)."""
        urls = sorted(self.urls)
        if self.shuffle:
            random.Random(f"shards/{self.seed}/{epoch}").shuffle(urls)
        return urls

    def epoch_pairs(self, epoch: int) -> Iterator[Pair]:
        """This partition's pairs of one epoch, in their shuffled order.

        With at least as many shards as partitions, partitions take whole shards (every
        `partitions`-th of the epoch's order); with fewer, every partition reads every shard and
        keeps every `partitions`-th face. Either way each face goes to exactly one partition.
        """
        shards = self.epoch_shards(epoch)
        by_shard = len(shards) >= self.partitions

        def faces() -> Iterator[ShardSample]:
            n = 0
            for url in shards[self.partition :: self.partitions] if by_shard else shards:
                for sample in read_shard(url):
                    if by_shard or n % self.partitions == self.partition:
                        yield sample
                    n += 1

        pairs = (p for s in faces() for p in sample_pairs(s, self.kind))
        if not self.shuffle or self.shuffle_buffer <= 1:
            return pairs
        rng = random.Random(f"buffer/{self.seed}/{self.kind}/{epoch}/{self.partition}/{self.partitions}")
        return _shuffled(pairs, self.shuffle_buffer, rng)

    def item_rng(self, epoch: int, offset: int) -> random.Random:
        """The random choices of one pair, seeded by where it is in the stream."""
        return random.Random(f"pair/{self.seed}/{self.kind}/{self.partition}/{self.partitions}/{epoch}/{offset}")

    def iterate(self, epoch: int = 0, offset: int = 0) -> Iterator[tuple[Pair, int, int]]:
        """Endless (pair, epoch, offset) from a position on; raises EmptyStream if an epoch has no pairs."""
        while True:
            n = -1
            for n, pair in enumerate(self.epoch_pairs(epoch)):
                if n >= offset:
                    yield pair, epoch, n
            if n < 0:
                raise EmptyStream(self.kind, f"partition {self.partition}/{self.partitions} has no {self.kind} pairs")
            epoch, offset = epoch + 1, 0


# -----------------------------------------------------------------------------
# Balanced batches, split over ranks and workers, with a resumable position


@dataclass
class LoaderPosition:
    """Where one rank's loader stands: per worker the next (epoch, offset) of its caption and attribute streams."""

    streams: list[list[int]] = field(default_factory=lambda: [[0, 0, 0, 0]])  # per worker [cap_e, cap_o, att_e, att_o]
    next_worker: int = 0  # the worker whose batch comes next

    @classmethod
    def start(cls, num_workers: int) -> LoaderPosition:
        """The position of a fresh run with `num_workers` loader workers (0 counts as 1: the main process)."""
        return cls([[0, 0, 0, 0] for _ in range(max(num_workers, 1))], 0)

    def advance(self, batch_position: torch.Tensor) -> None:
        """Record a consumed batch: its ``position`` entry is [worker, cap_e, cap_o, att_e, att_o] after it."""
        worker, *streams = (int(x) for x in batch_position)
        self.streams[worker] = streams
        self.next_worker = (worker + 1) % len(self.streams)

    def state(self) -> dict[str, Any]:
        """Plain types for a checkpoint."""
        return {"streams": [list(s) for s in self.streams], "next_worker": self.next_worker}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> LoaderPosition:
        """The inverse of `state`."""
        return cls([list(map(int, s)) for s in state["streams"]], int(state["next_worker"]))


class ShardDataset(IterableDataset):  # type: ignore[type-arg]
    """Endless balanced batches from shards for one DDP rank, split over its loader workers, resumable.

    Each batch is a dict: ids, segments, labels (B, T), task (B,) and position (5,): the worker
    and its stream positions after the batch, which `LoaderPosition.advance` records.
    """

    def __init__(
        self,
        urls: Sequence[str],
        builder: SequenceBuilder,
        batch_size: int,
        *,
        seed: int = 0,
        shuffle_buffer: int = 1000,
        shuffle: bool = True,
        rank: int = 0,
        world_size: int = 1,
        num_workers: int = 0,
        position: LoaderPosition | None = None,
        tasks: Sequence[int] = (0, 1, 2, 3),
    ) -> None:
        if batch_size <= 0 or batch_size % 4:
            raise ValueError(f"batch_size={batch_size} must be a positive multiple of 4: a quarter per task")
        if not tasks or not set(tasks) <= set(range(len(TASKS))):
            raise ValueError(f"tasks={list(tasks)} must be a non-empty subset of 0..3 ({', '.join(TASKS)})")
        self.tasks = sorted(set(tasks))
        self.urls = list(urls)
        self.builder = builder
        self.batch_size = batch_size
        self.seed, self.shuffle_buffer, self.shuffle = seed, shuffle_buffer, shuffle
        self.rank, self.world_size = rank, world_size
        self.num_workers = max(num_workers, 1)
        self.position = position or LoaderPosition.start(num_workers)
        if len(self.position.streams) != self.num_workers:
            raise ValueError(
                f"the saved loader position has {len(self.position.streams)} workers but num_workers={num_workers}; "
                "resume with the same num_workers (and world size) for the same data order"
            )

    def stream(self, kind: str, worker: int) -> PairStream:
        """The stream of one kind for one of this rank's workers."""
        return PairStream(
            self.urls,
            kind,
            partition=self.rank * self.num_workers + worker,
            partitions=self.world_size * self.num_workers,
            seed=self.seed,
            shuffle_buffer=self.shuffle_buffer,
            shuffle=self.shuffle,
        )

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = get_worker_info()
        physical, count = (info.id, info.num_workers) if info is not None else (0, 1)
        if count != self.num_workers:
            raise ValueError(f"ShardDataset was made for {self.num_workers} workers but the DataLoader has {count}")
        # the DataLoader asks its workers in turn, starting with worker 0: rotate so that the first
        # batch comes from the worker whose turn it was when the position was saved
        yield from self.batches((physical + self.position.next_worker) % count)

    def batches(self, worker: int) -> Iterator[dict[str, torch.Tensor]]:
        """The batches of one logical worker, from its saved position on."""
        start = self.position.streams[worker]
        where = {kind: (start[2 * k], start[2 * k + 1]) for k, kind in enumerate(KINDS)}  # at batch start
        streams = {kind: self.stream(kind, worker) for kind in KINDS}
        active = list(self.tasks)
        running = {kind: streams[kind].iterate(*where[kind]) for kind in KINDS if kind in {TASK_KIND[t] for t in active}}
        while True:
            # an equal share of the batch per task (the first tasks take any remainder), in task order
            per_task = [self.batch_size // len(active) + (n < self.batch_size % len(active)) for n in range(len(active))]
            try:
                picked = {
                    kind: [next(it) for _ in range(sum(c for t, c in zip(active, per_task) if TASK_KIND[t] == kind))]
                    for kind, it in running.items()
                }
            except EmptyStream as err:  # a kind this partition has none of: the other kind's tasks fill the batch
                active = [t for t in active if TASK_KIND[t] != err.kind]
                del running[err.kind]
                if not running:
                    raise LookupError(
                        f"rank {self.rank} worker {worker} found no pairs for tasks {[TASKS[t] for t in self.tasks]} "
                        f"in {len(self.urls)} shards ({self.urls[:2]}...); check the shard paths and their texts"
                    ) from err
                only = [TASKS[t] for t in active]
                warnings.warn(f"rank {self.rank} worker {worker}: no {err.kind} pairs; training only {only}", stacklevel=2)
                running = {kind: streams[kind].iterate(*where[kind]) for kind in running}  # redo this batch
                continue
            examples = []
            for kind, items in picked.items():
                tasks = [t for t, c in zip(active, per_task) if TASK_KIND[t] == kind for _ in range(c)]
                for task, (pair, epoch, offset) in zip(tasks, items):
                    examples.append(self.builder.build(pair, task, streams[kind].item_rng(epoch, offset)))
                where[kind] = (items[-1][1], items[-1][2] + 1)
            batch = collate(sorted(examples, key=lambda e: e.task))
            batch["position"] = torch.tensor([worker, *where["caption"], *where["attributes"]])
            yield batch


def parse_tasks(spec: str) -> list[int]:
    """Task indices from ``"all"`` or comma-separated task names (``face_to_caption,face_to_attributes``)."""
    if spec.strip() == "all":
        return list(range(len(TASKS)))
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in TASKS]
    if unknown or not names:
        raise ValueError(f"tasks {spec!r}: use 'all' or comma-separated names from {', '.join(TASKS)}")
    return sorted({TASKS.index(n) for n in names})


def make_loader(dataset: ShardDataset, pin_memory: bool = False) -> DataLoader:  # type: ignore[type-arg]
    """A DataLoader over a ShardDataset with its number of workers (batches are made in the workers)."""
    workers = dataset.num_workers if dataset.num_workers > 1 else 0
    return DataLoader(
        dataset,
        batch_size=None,
        num_workers=workers,
        pin_memory=pin_memory,
        prefetch_factor=4 if workers else None,
        generator=torch.Generator(),  # its seed draw must not consume the global RNG (exact resume)
    )


# -----------------------------------------------------------------------------
# Fake shards for tests and benchmarks

_WORDS = ("blond", "black", "brown", "gray", "wavy", "straight", "short", "long", "smiling", "young", "old")


def write_fake_shards(
    directory: str | Path,
    n_faces: int,
    per_shard: int,
    split: str = "train",
    seed: int = 0,
    kinds: Sequence[str] = ("caption", "attributes"),
    n_attributes: int = 4,
) -> list[str]:
    """Write a tiny corpus in the real shard layout (DESIGN.md 3.4) and return the shard paths.

    Face i has random codes, one caption (``kinds`` has "caption") and one attribute text with
    `n_attributes` pairs (``kinds`` has "attributes"), e.g. ``fake age: 31; smiling: true; ...``.
    """
    import hashlib

    from webdataset import TarWriter

    from schemas.sample import SourceRef, TextEntry
    from schemas.text import format_attributes

    rng = np.random.default_rng(seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths: list[str] = []
    writer = None
    for i in range(n_faces):
        if i % per_shard == 0:
            if writer is not None:
                writer.close()
            paths.append(str(directory / f"{split}-{len(paths):06d}.tar"))
            writer = TarWriter(paths[-1], mtime=0)
        key = hashlib.md5(f"{split}/{seed}/{i}".encode()).hexdigest()
        texts = []
        if "caption" in kinds:
            words = rng.choice(_WORDS, size=3, replace=False)
            texts.append(TextEntry("fakecap", "caption", f"The person {i} has {words[0]} {words[1]} hair and is {words[2]}."))
        labels: dict[str, bool | int] = {"age": int(rng.integers(10, 80))}
        labels.update({f"attribute {chr(97 + j)}": bool(rng.integers(2)) for j in range(n_attributes - 1)})
        if "attributes" in kinds:
            texts.append(TextEntry("fake", "attributes", format_attributes("fake", labels)))
        sample = ShardSample(
            key=key, split=split, tokens=rng.integers(0, 1024, size=IMAGE_TOKENS).astype(np.uint16),
            texts=tuple(texts), labels={"fake": labels},
            sources=(SourceRef("fake", f"{i:06d}.jpg", f"fake/{i:06d}.jpg", split),),
        )
        assert writer is not None
        writer.write(sample.to_wds())
    if writer is not None:
        writer.close()
    return paths


__all__ = [
    "CLS_ID",
    "IMAGE_OFFSET",
    "KINDS",
    "PAD_ID",
    "PROMPTS",
    "SEP_ID",
    "TASKS",
    "TASK_KIND",
    "Example",
    "LoaderPosition",
    "Pair",
    "PairStream",
    "SequenceBuilder",
    "ShardDataset",
    "collate",
    "load_text_tokenizer",
    "make_loader",
    "parse_tasks",
    "read_shard",
    "resolve_shards",
    "sample_pairs",
    "write_fake_shards",
]
