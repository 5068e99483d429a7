"""WriteRejects and WriteStats: the rejects log, stats.json, and the accounting check that ends a build.

Every step that counts something emits *tallies*, ``(path, count)`` pairs such as
``(("datasets", "celeba", "read"), 1)`` or ``(("splits", "train", "shards"), 1)``; the writers tally
what they actually wrote. `WriteStats` sums them, builds stats.json (`build_stats`), checks
``read == written + filtered + rejected`` per dataset and that the manifest holds every text
written into the shards (`accounting_problems`), writes stats.json either way and then fails the
build if the check found anything. It consumes every writer's tallies, so it is also the one
final step of the graph: a runner that computes only what the last step needs (the DaskRunner
does) still runs every writer.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import apache_beam as beam

from pipeline.config import join
from pipeline.files import jsonl, write_bytes
from pipeline.samples import Sample
from schemas import SPLITS, Filtered, Reject
from schemas.stats import LEAK_COUNTS, NEAR_DUPLICATE_COUNTS, STATS_FILE, accounting_problems, dump_stats

Tally = tuple[tuple[str, ...], int]


class AccountingError(RuntimeError):
    """A build whose outputs do not account for every record read."""


# --------------------------------------------------------------------------- tallies


def read_tally(outcome: Any) -> Tally:
    return ("datasets", outcome.dataset, "read"), 1


def filtered_tally(outcome: Filtered) -> Tally:
    return ("datasets", outcome.dataset, "filtered", outcome.reason), 1


def sample_tallies(sample: Sample) -> Iterator[Tally]:
    """Split conflicts (a sample whose own records are in several splits) and every record moved, by any cause."""
    if sample.split_conflict:
        yield ("split_conflicts",), 1
    for record in sample.records:
        if record.split != sample.split:
            yield ("datasets", record.dataset, "moved_to_held_out_split"), 1


def token_tallies(shard: tuple[str, Iterable[Sample]]) -> Iterator[Tally]:
    """Faces encoded in this build or taken from the token cache, and which tokenizer made the codes."""
    samples = list(shard[1])
    counts = Counter(("encoded" if s.encoded else "cached", s.tokenizer) for s in samples)
    for (how, fingerprint), n in sorted(counts.items()):
        yield ("tokens", how), n
        yield ("tokens", "fingerprint", fingerprint), n
    infos = Counter(json.dumps(s.tokenizer_info.meta(), sort_keys=True) for s in samples if s.tokenizer_info)
    for info, n in sorted(infos.items()):
        yield ("tokens", "tokenizer", info), n


# --------------------------------------------------------------------------- rejects


def by_dataset(reject: Reject) -> tuple[str, Reject]:
    return reject.dataset, reject


def reject_order(reject: Reject) -> tuple[str, str, str, str]:
    return reject.source_id, reject.source_path, reject.reason, reject.detail


class WriteRejectsFile(beam.DoFn):
    """(dataset, rejects) -> ``OUT/rejects/<dataset>.jsonl``, sorted; yields tallies by reason."""

    def __init__(self, output: str) -> None:
        self.output = output

    def process(self, element: tuple[str, Iterable[Reject]]) -> Iterator[Tally]:
        dataset, rejects = element
        ordered = sorted(rejects, key=reject_order)
        write_bytes(join(self.output, "rejects", f"{dataset}.jsonl"), jsonl(r.as_dict() for r in ordered))
        for reason, n in sorted(Counter(r.reason for r in ordered).items()):
            yield ("datasets", dataset, "rejected", reason), n


class WriteRejects(beam.PTransform):
    """Rejects -> one JSON-lines file per dataset; output: tallies."""

    def __init__(self, output: str) -> None:
        super().__init__()
        self.output = output

    def expand(self, rejects: beam.PCollection) -> beam.PCollection:
        return (
            rejects
            | "KeyByDataset" >> beam.Map(by_dataset)
            | "GroupByDataset" >> beam.GroupByKey()
            | "WriteJsonl" >> beam.ParDo(WriteRejectsFile(self.output))
        )


# --------------------------------------------------------------------------- stats


def build_stats(tallies: Mapping[tuple[str, ...], int], build: Mapping[str, Any]) -> dict[str, Any]:
    """stats.json from summed tallies (see the module docstring); `build` is the build's settings."""
    datasets: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"read": 0, "written": 0, "pairs": 0, "filtered": {}, "rejected": {}, "moved_to_held_out_split": 0,
                 "pairs_in_shards": 0, "moved": {}, "leaking": {}, "photo_links": {}, "ids": {}}
    )
    splits: dict[str, dict[str, int]] = {}
    tokens: dict[str, Any] = {"encoded": 0, "cached": 0, "fingerprints": {}}
    tokenizers: list[dict[str, Any]] = []
    near = dict.fromkeys(NEAR_DUPLICATE_COUNTS, 0)
    leaks = dict.fromkeys(LEAK_COUNTS, 0)
    conflicts = 0
    for path, n in sorted(tallies.items()):
        kind = path[0]
        if kind == "datasets" and len(path) == 4:
            datasets[path[1]][path[2]][path[3]] = n
        elif kind == "datasets":
            datasets[path[1]][path[2]] = n
        elif kind == "splits":
            splits.setdefault(path[1], {"samples": 0, "shards": 0, "bytes": 0})[path[2]] = n
        elif kind == "tokens" and path[1] == "fingerprint":
            tokens["fingerprints"][path[2]] = n
        elif kind == "tokens" and path[1] == "tokenizer":
            tokenizers.append(json.loads(path[2]))
        elif kind == "tokens":
            tokens[path[1]] = n
        elif kind == "split_conflicts":
            conflicts = n
        elif kind == "near_duplicates" and path[1] in near:
            near[path[1]] = n
        elif kind == "leaks" and path[1] in leaks:
            leaks[path[1]] = n
        else:
            raise ValueError(f"unknown tally {path}")
    if len(tokenizers) > 1:
        raise ValueError(f"the build's samples name {len(tokenizers)} tokenizers ({tokenizers}); a corpus is one "
                         "tokenizer's: rebuild it with one --vqgan-config/--vqgan-checkpoint or --vqgan-preset")
    tokens["tokenizer"] = tokenizers[0] if tokenizers else None
    per_dataset = {}
    for name in sorted(datasets):
        d = datasets[name]
        d["filtered_total"] = sum(d["filtered"].values())
        d["rejected_total"] = sum(d["rejected"].values())
        per_dataset[name] = d
    totals = {
        what: sum(d[what] for d in per_dataset.values())
        for what in ("read", "written", "pairs", "filtered_total", "rejected_total")
    }
    totals["samples"] = sum(s["samples"] for s in splits.values())
    totals["shards"] = sum(s["shards"] for s in splits.values())
    stats = {
        "build": dict(build),
        "datasets": per_dataset,
        "totals": totals,
        "splits": {s: splits[s] for s in sorted(splits, key=lambda s: SPLITS.index(s) if s in SPLITS else 99)},
        "split_conflicts": conflicts,
        "near_duplicates": {"threshold": build.get("near_dup_threshold"), **near},
        "leaks": {"policy": build.get("split_policy"), **leaks},
        "tokens": tokens,
    }
    problems = accounting_problems(stats)
    stats["accounting"] = {"ok": not problems, "problems": problems}
    return stats


def keyed_for_stats(tally: Tally) -> tuple[str, Tally]:
    return "stats", tally


class WriteStatsFile(beam.DoFn):
    """("stats", summed tallies) -> ``OUT/stats.json``; raises AccountingError if the build lost records."""

    def __init__(self, output: str, build: Mapping[str, Any]) -> None:
        self.output = output
        self.build = dict(build)

    def process(self, element: tuple[str, Iterable[Tally]]) -> Iterator[str]:
        _, tallies = element
        summed: dict[tuple[str, ...], int] = defaultdict(int)
        for path, n in tallies:
            summed[tuple(path)] += n
        stats = build_stats(summed, self.build)
        url = join(self.output, STATS_FILE)
        write_bytes(url, dump_stats(stats))
        if stats["accounting"]["problems"]:
            raise AccountingError(
                "the build lost records (see " + url + "):\n  " + "\n  ".join(stats["accounting"]["problems"])
            )
        yield url


class WriteStats(beam.PTransform):
    """Tallies -> stats.json, checked; the last step of a build."""

    def __init__(self, output: str, build: Mapping[str, Any]) -> None:
        super().__init__()
        self.output = output
        self.build = dict(build)

    def expand(self, tallies: beam.PCollection) -> beam.PCollection:
        return (
            tallies
            | "Sum" >> beam.CombinePerKey(sum)
            | "KeyForStats" >> beam.Map(keyed_for_stats)
            | "Gather" >> beam.GroupByKey()
            | "WriteJson" >> beam.ParDo(WriteStatsFile(self.output, self.build))
        )
