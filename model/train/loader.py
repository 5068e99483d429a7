"""The training loader: endless balanced batches from shards, split over ranks and workers, resumable.

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

Shards are read with schemas/shard.py's streaming reader (model/train/shards.py `read_shard`), under
a `ReadPolicy` (fail on a bad sample, or skip and count it; retries of storage errors). Each batch
carries its worker's fault counts (``faults``: bad samples, bad shards, read retries, all runs of
this training together), which `LoaderPosition` keeps for the checkpoint. A resumed stream does not
count again what it replays up to its saved offset (the reading is deterministic, so the replay
meets the same bad samples the saved counts hold).
Every sample is checked against the corpus's tokenizer (model/train/corpus.py), so shards of two
tokenizers never mix. A `Mixture` (model/train/mixture.py) selects and weights datasets inside each stream.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from model.train.corpus import CorpusTokenizer
from model.train.mixture import Mixture
from model.train.sequences import KINDS, TASK_KIND, TASKS, Pair, SequenceBuilder, collate, sample_pairs
from model.train.shards import FaultCounts, ReadPolicy, read_shard
from schemas.sample import ShardSample

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
    mixture: Mixture = field(default_factory=Mixture)  # datasets selected and their weights
    corpus: CorpusTokenizer | None = None  # every sample must have this tokenizer (None: not checked)
    policy: ReadPolicy = field(default_factory=ReadPolicy)  # bad samples and storage errors
    counts: FaultCounts = field(default_factory=FaultCounts)  # what this stream skipped or retried

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
                for sample in read_shard(url, policy=self.policy, counts=self.counts):
                    if self.corpus is not None:
                        self.corpus.check(sample, url)
                    if by_shard or n % self.partitions == self.partition:
                        yield sample
                    n += 1

        pairs: Iterator[Pair] = (p for s in faces() for p in sample_pairs(s, self.kind))
        mix = random.Random(f"mixture/{self.seed}/{self.kind}/{epoch}/{self.partition}/{self.partitions}")
        pairs = self.mixture.apply(pairs, mix)
        if not self.shuffle or self.shuffle_buffer <= 1:
            return pairs
        rng = random.Random(f"buffer/{self.seed}/{self.kind}/{epoch}/{self.partition}/{self.partitions}")
        return _shuffled(pairs, self.shuffle_buffer, rng)

    def item_rng(self, epoch: int, offset: int) -> random.Random:
        """The random choices of one pair, seeded by where it is in the stream."""
        return random.Random(f"pair/{self.seed}/{self.kind}/{self.partition}/{self.partitions}/{epoch}/{offset}")

    def iterate(self, epoch: int = 0, offset: int = 0) -> Iterator[tuple[Pair, int, int]]:
        """Endless (pair, epoch, offset) from a position on; raises EmptyStream if an epoch has no pairs."""
        self.counts.active = offset == 0
        while True:
            n = -1
            for n, pair in enumerate(self.epoch_pairs(epoch)):
                if n >= offset:
                    yield pair, epoch, n
                elif n == offset - 1:  # replayed up to the saved position: count what is read from here on
                    self.counts.active = True
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
    faults: list[list[int]] = field(default_factory=list)  # per worker [bad samples, bad shards, read retries]

    def fault_counts(self, worker: int) -> list[int]:
        """One worker's fault counts so far ([bad samples, bad shards, read retries])."""
        return list(self.faults[worker]) if worker < len(self.faults) else [0, 0, 0]

    def fault_totals(self) -> dict[str, int]:
        """The fault counts of all workers, by name."""
        sums = [sum(f[i] for f in self.faults) for i in range(3)]
        return dict(zip(("bad_samples", "bad_shards", "read_retries"), sums))

    @classmethod
    def start(cls, num_workers: int) -> LoaderPosition:
        """The position of a fresh run with `num_workers` loader workers (0 counts as 1: the main process)."""
        return cls([[0, 0, 0, 0] for _ in range(max(num_workers, 1))], 0)

    def advance(self, batch_position: torch.Tensor, faults: torch.Tensor | None = None) -> None:
        """Record a consumed batch: its ``position`` entry is [worker, cap_e, cap_o, att_e, att_o] after it."""
        worker, *streams = (int(x) for x in batch_position)
        self.streams[worker] = streams
        self.next_worker = (worker + 1) % len(self.streams)
        if faults is not None:
            self.faults += [[0, 0, 0]] * (len(self.streams) - len(self.faults))
            self.faults[worker] = [int(x) for x in faults]

    def state(self) -> dict[str, Any]:
        """Plain types for a checkpoint."""
        return {"streams": [list(s) for s in self.streams], "next_worker": self.next_worker,
                "faults": [list(f) for f in self.faults]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> LoaderPosition:
        """The inverse of `state` (checkpoints written before fault counts read with none)."""
        faults = [list(map(int, f)) for f in state.get("faults", [])]
        return cls([list(map(int, s)) for s in state["streams"]], int(state["next_worker"]), faults)


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
        mixture: Mixture | None = None,
        corpus: CorpusTokenizer | None = None,
        policy: ReadPolicy | None = None,
    ) -> None:
        if batch_size <= 0 or batch_size % 4:
            raise ValueError(f"batch_size={batch_size} must be a positive multiple of 4: a quarter per task")
        if not tasks or not set(tasks) <= set(range(len(TASKS))):
            raise ValueError(f"tasks={list(tasks)} must be a non-empty subset of 0..3 ({', '.join(TASKS)})")
        self.tasks = sorted(set(tasks))
        self.mixture, self.corpus = mixture or Mixture(), corpus
        self.urls = list(urls)
        self.builder = builder
        self.batch_size = batch_size
        self.seed, self.shuffle_buffer, self.shuffle = seed, shuffle_buffer, shuffle
        self.policy = policy or ReadPolicy()
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
            mixture=self.mixture,
            corpus=self.corpus,
            policy=self.policy,
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
        saved_faults = self.position.fault_counts(worker)  # a copy: the trainer advances this position in place
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
            batch["faults"] = torch.tensor(self._faults(saved_faults, streams))
            yield batch

    @staticmethod
    def _faults(counts: list[int], streams: dict[str, PairStream]) -> list[int]:
        """A worker's fault counts: those saved in its position plus what its streams counted since."""
        for stream in streams.values():
            counts = [a + b for a, b in zip(counts, stream.counts.as_list())]
        return counts


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


__all__ = ["EmptyStream", "LoaderPosition", "PairStream", "ShardDataset", "make_loader"]
