"""The corpus summary (`summarize`) and its terminal tables (`format_summary`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.inspect.codebook import corpus_codebook
from pipeline.inspect.corpus import (
    DEFAULT_MAX_SHARDS,
    TEXT_BUDGET,
    Corpus,
    InspectError,
    ManifestCodes,
    load_manifest,
    load_stats,
    manifest_codes,
)
from pipeline.inspect.labels import label_distributions
from pipeline.inspect.leaks import format_leaks, leak_summary
from pipeline.inspect.lengths import text_lengths
from schemas.records import SPLITS
from schemas.shard import SHARD_FILE, shard_file
from schemas.stats import DATASET_COUNTS, DATASET_REASONS, Stats


def stats_datasets(stats: Stats | None) -> list[dict[str, Any]]:
    """The per-dataset rows of stats.json for the summary, sorted by dataset."""
    if not stats:
        return []
    rows = []
    for name, d in sorted(stats["datasets"].items()):
        entry: Mapping[str, Any] = d
        rows.append({"dataset": name, **{k: entry[k] for k in DATASET_COUNTS},
                     **{k: entry.get(k) for k in ("moved_to_held_out_split", "pairs_in_shards")},
                     **{k: dict(sorted(entry[k].items())) for k in DATASET_REASONS}})
    return rows


def _distinct_per_group(group: np.ndarray, groups: int, item: np.ndarray, items: int) -> np.ndarray:
    """How many distinct items each group holds: a dense (item, group) table when small, else a sort."""
    if items * groups <= 100_000_000:
        seen = np.zeros((items, groups), dtype=bool)
        seen[item, group] = True
        return np.asarray(seen.sum(axis=0))
    pairs = np.unique(item * groups + group)
    return np.bincount(pairs % groups, minlength=groups)


def _group(codes: ManifestCodes, by: list[str]) -> list[dict[str, Any]]:
    """Pairs, samples, records and shards per value of the `by` columns (split, dataset, kind), in order."""
    group = np.zeros(len(codes.key), dtype=np.int64)
    groups = 1
    for name in by:
        group = group * codes.sizes[name] + getattr(codes, name)
        groups *= codes.sizes[name]
    pairs = np.bincount(group, minlength=groups)
    counted = {what: _distinct_per_group(group, groups, getattr(codes, what), codes.sizes[what])
               for what in ("key", "record", "shard")}
    rows = []
    for g in np.flatnonzero(pairs):
        values, rest = {}, int(g)
        for name in reversed(by):
            values[name] = codes.names[name][rest % codes.sizes[name]]
            rest //= codes.sizes[name]
        rows.append({**{name: values[name] for name in by}, "pairs": int(pairs[g]), "samples": int(counted["key"][g]),
                     "records": int(counted["record"][g]), "shards": int(counted["shard"][g])})
    return sorted(rows, key=lambda r: [_split_order(r[b]) if b == "split" else r[b] for b in by])


def _run_concurrently(jobs: Mapping[str, Callable[[], Any]], timings: dict[str, float]) -> dict[str, Any]:
    """Run independent jobs in threads; their results by name, and each one's wall time in `timings`."""
    from concurrent.futures import ThreadPoolExecutor

    def timed(name: str) -> Any:
        start = time.perf_counter()
        try:
            return jobs[name]()
        finally:
            timings[name] = time.perf_counter() - start

    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = {name: pool.submit(timed, name) for name in jobs}
        return {name: future.result() for name, future in futures.items()}


def _split_order(split: str) -> Any:
    return (SPLITS.index(split), split) if split in SPLITS else (len(SPLITS), split)


def summarize(
    corpus: Corpus,
    *,
    budget: int = TEXT_BUDGET,
    top: int = 10,
    max_shards: int = DEFAULT_MAX_SHARDS,
    tokenizer: Any = None,
    table: pa.Table | None = None,
    tokens: str = "auto",
    token_cache: str | None = None,
) -> dict[str, Any]:
    """The corpus summary as a JSON-ready dict: splits, datasets, stats, text lengths, labels, codebook.

    Everything but the codebook comes from the manifest and stats.json. Codebook usage reads codes from
    the token cache (`tokens` "cache"; `token_cache` or OUT/cache) or the shards ("shards"); "auto"
    takes the cache when there is one. `max_shards` bounds what it reads (0 = all, negative = skip).
    """
    if tokens not in ("auto", "cache", "shards"):
        raise InspectError(f"tokens={tokens!r}: choose auto, cache or shards")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if table is None:
        table = load_manifest(corpus)
    timings["manifest"] = time.perf_counter() - t0
    stats, stats_error = load_stats(corpus)
    t = time.perf_counter()
    codes = manifest_codes(table)
    timings["encode"] = time.perf_counter() - t

    def counts() -> dict[str, Any]:
        shard_files: dict[str, int] = {}
        for path in corpus.shard_paths():
            match = SHARD_FILE.match(shard_file(path))
            split = match.group("split") if match else "(unnamed)"
            shard_files[split] = shard_files.get(split, 0) + 1
        from_stats: Mapping[str, Mapping[str, Any]] = stats["splits"] if stats else {}
        splits = _group(codes, ["split"])
        for row in splits:
            row["shard_files"] = shard_files.get(row["split"], 0)
            row["stats_samples"] = from_stats.get(row["split"], {}).get("samples")
        for split, n in shard_files.items():
            if split not in {r["split"] for r in splits}:
                splits.append({"split": split, "pairs": 0, "samples": 0, "records": 0, "shards": 0, "shard_files": n})
        return {
            "samples": codes.sizes["key"],
            "splits": splits,
            "datasets": _group(codes, ["dataset", "kind"]),
        }

    jobs: dict[str, Callable[[], Any]] = {
        "counts": counts,
        "text_tokens": lambda: text_lengths(table, budget, tokenizer),
        "labels": lambda: label_distributions(table, top, codes),
        "codebook": lambda: corpus_codebook(corpus, stats, max_shards, tokens, token_cache, table["key"]),
    }
    results = _run_concurrently(jobs, timings)  # Arrow, numpy and the tokenizer release the GIL
    summary: dict[str, Any] = {"corpus": corpus.url, "manifest_rows": table.num_rows, **results.pop("counts")}
    summary["stats"] = {
        "present": stats is not None,
        "error": stats_error,
        "datasets": stats_datasets(stats),
        "split_conflicts": stats["split_conflicts"] if stats else None,
        "totals": stats["totals"] if stats else None,
        "tokens": stats["tokens"] if stats else None,
        "accounting": stats.get("accounting") if stats else None,
    }
    summary["leaks"] = leak_summary(stats)
    summary.update(results)
    summary["seconds"] = {k: round(v, 3) for k, v in timings.items()}
    summary["seconds"]["total"] = round(time.perf_counter() - t0, 3)
    return summary



def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], indent: str = "  ") -> str:
    """An aligned plain-text table: numbers right-aligned, text left-aligned."""
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(is_number(row[i]) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return (indent + "  ".join(parts)).rstrip()

    return "\n".join([line(list(headers)), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def is_number(v: Any) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def stats_rows(datasets: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of the per-dataset accounting table (moved to a held-out split when recorded)."""
    moved = any(d.get("moved_to_held_out_split") is not None for d in datasets)
    headers = ["dataset", "read", "written", "filtered", "rejected", "pairs"] + (["moved split"] if moved else [])
    rows = [[d["dataset"], d["read"], d["written"], sum(d["filtered"].values()), sum(d["rejected"].values()), d["pairs"]]
            + ([d.get("moved_to_held_out_split")] if moved else []) for d in datasets]
    return headers, rows


def stats_notes(stats: Mapping[str, Any]) -> list[str]:
    """One-line notes from stats.json: split conflicts, where the codes came from, the build's own check."""
    conflicts = stats["split_conflicts"]
    notes = [f"split conflicts: {json.dumps(conflicts) if conflicts is not None else 'not in stats.json'}"]
    tokens = stats.get("tokens")
    if isinstance(tokens, Mapping):
        prints = tokens.get("fingerprints") or {}
        notes.append(f"faces encoded: {tokens.get('encoded', '-')}, from the token cache: {tokens.get('cached', '-')}; "
                     f"tokenizer fingerprint(s): {', '.join(f'{k} ({v})' for k, v in prints.items()) or '-'}")
    accounting = stats.get("accounting")
    if isinstance(accounting, Mapping):
        problems = accounting.get("problems") or []
        notes.append("build accounting: " + ("ok" if accounting.get("ok") and not problems else "FAILED: "
                                              + "; ".join(map(str, problems))))
    return notes


def codebook_source(cb: Mapping[str, Any]) -> str:
    if cb["source"] == "shards":
        where = f"{cb['samples']:,} samples in {cb['shards_read']} of {cb['shards_total']} shards"
        return where + ("" if cb["shards_read"] == cb["shards_total"] else " (--max-shards 0 reads all)")
    where = f"{cb['samples']:,} samples in {cb['buckets_read']} of {cb['buckets_total']} buckets of the {cb['source']}"
    return where + ("" if cb["buckets_read"] == cb["buckets_total"] else " (--max-shards 0 reads all)")


def format_summary(summary: Mapping[str, Any]) -> str:
    """The summary as aligned terminal tables."""
    out = [f"corpus {summary['corpus']}: {summary['samples']:,} samples, {summary['manifest_rows']:,} pairs"]
    out += ["", "splits", format_table(
        ["split", "samples", "pairs", "shards", "shard files", "samples (stats)"],
        [[r["split"], r["samples"], r["pairs"], r["shards"], r["shard_files"], r.get("stats_samples")]
         for r in summary["splits"]],
    )]
    out += ["", "datasets and kinds (manifest)", format_table(
        ["dataset", "kind", "records", "samples", "pairs"],
        [[r["dataset"], r["kind"], r["records"], r["samples"], r["pairs"]] for r in summary["datasets"]],
    )]
    stats = summary["stats"]
    out += ["", "stats.json"]
    if not stats["present"]:
        out.append(f"  {stats['error']}")
    else:
        out.append(format_table(*stats_rows(stats["datasets"])))
        reasons = [[d["dataset"], what, reason, n] for d in stats["datasets"]
                   for what in DATASET_REASONS for reason, n in d[what].items()]
        if reasons:
            out += ["", "filtered and rejected by reason", format_table(["dataset", "outcome", "reason", "records"], reasons)]
        out += [""] + stats_notes(stats)
        out += [""] + format_leaks(summary.get("leaks"))
    tt = summary["text_tokens"]
    out += ["", f"text length in WordPiece tokens ({tt['tokenizer']}; trainer budget {tt['budget']})"]
    length_cols = ["texts", "mean", "p50", "p90", "p99", "max", "over_budget", "over_budget_pct"]
    out.append(format_table(
        ["kind/dataset", *[c.replace("_pct", " %").replace("_", " ") for c in length_cols]],
        [[r["kind"], *[r[c] for c in length_cols]] for r in tt["by_kind"]]
        + [[r["dataset"], *[r[c] for c in length_cols]] for r in tt["by_dataset"]],
    ))
    out += ["", "labels (records per value)"]
    for dataset, keys in summary["labels"].items():
        for key, dist in keys.items():
            values = ", ".join(f"{v} ({n:,})" for v, n in dist["values"])
            extra = f", other values ({dist['other']:,})" if dist.get("other") else ""
            missing = f", missing ({dist['missing']:,})" if dist["missing"] else ""
            out.append(f"  {dataset} {key} [{dist['type']}, {dist['distinct']} distinct]: {values}{extra}{missing}")
    cb = summary.get("codebook")
    out += [""]
    if cb is None:
        out.append("codebook: skipped")
    else:
        out.append(
            f"codebook: {cb['used']:,} of {cb['codebook_size']:,} codes used, entropy {cb['entropy_bits']:.2f} of "
            f"{cb['max_entropy_bits']:.0f} bits (perplexity {cb['perplexity']:,}), top 10 codes {cb['top10_share_pct']}% "
            f"of tokens; from {codebook_source(cb)}"
        )
        for problem in cb["damaged_shards"]:
            out.append(f"  damaged shard skipped: {problem} (run --validate)")
        if cb["bad_samples"]:
            out.append(f"  {cb['bad_samples']} bad token arrays skipped (run --validate)")
    out.append(f"summary took {summary['seconds']['total']:.2f} s")
    return "\n".join(out)

