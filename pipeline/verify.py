"""verify_build: re-read a finished build's outputs and check they account for every record read.

The checks are the quick mode of the one validator, pipeline/inspect/validate.py.

Runs after the pipeline, on the launching machine, from the files alone: stats.json (records read
and filtered per dataset), four columns of the manifest read one part at a time (records written:
distinct source ids; pairs: rows), the rejects logs, and the index beside every shard (which
samples are really there). It never reads a shard, so on an object store it downloads kilobytes
per shard, not the corpus. It fails with
`AccountingError` naming the dataset and the numbers when ``read != written + filtered + rejected``,
when the manifest and the shards disagree, or when stats.json is missing (a runner that reported
success without running the last step). This is the check that catches silent output loss.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config import join
from pipeline.files import list_files
from pipeline.inspect.corpus import open_corpus
from pipeline.inspect.validate import quick_check
from pipeline.report import AccountingError
from schemas import MANIFEST_SCHEMA

SAMPLE_FIELDS = ("json", "tokens.npy")


@dataclass(frozen=True)
class BuildReport:
    """A verified build: its stats, shard files and what the manifest says per dataset."""

    output: str
    stats: dict[str, Any]
    shards: tuple[str, ...]
    samples_per_dataset: dict[str, int] = field(default_factory=dict)
    shards_per_dataset: dict[str, int] = field(default_factory=dict)

    def table(self) -> str:
        """The per-dataset table printed at the end of a build."""
        head = ("dataset", "read", "written", "filtered", "rejected", "pairs", "samples", "shards")
        rows: list[tuple[object, ...]] = [head]
        for name, d in self.stats["datasets"].items():
            rows.append((name, d["read"], d["written"], d["filtered_total"], d["rejected_total"], d["pairs"],
                         self.samples_per_dataset.get(name, 0), self.shards_per_dataset.get(name, 0)))
        t = self.stats["totals"]
        rows.append(("total", t["read"], t["written"], t["filtered_total"], t["rejected_total"], t["pairs"],
                     t["samples"], t["shards"]))
        widths = [max(len(str(r[i])) for r in rows) for i in range(len(head))]
        lines = ["  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(r, widths)))
                 for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.insert(len(lines) - 1, "  ".join("-" * w for w in widths))
        splits = ", ".join(f"{s}: {v['samples']} samples in {v['shards']} shards" for s, v in self.stats["splits"].items())
        tokens = self.stats["tokens"]
        lines.append(f"splits: {splits or 'none'}; split conflicts: {self.stats['split_conflicts']}")
        lines.append(f"faces encoded: {tokens['encoded']}, from the token cache: {tokens['cached']}")
        return "\n".join(lines)


def read_stats(output: str) -> dict[str, Any]:
    url = join(output, "stats.json")
    fs, path = fsspec.core.url_to_fs(url)
    if not fs.exists(path):
        raise AccountingError(
            f"{url} was not written: the pipeline's last step did not run, so its outputs cannot be trusted; "
            "rerun the build (on the DaskRunner, use a cluster with worker processes)"
        )
    with fs.open(path, "rb") as f:
        return json.loads(f.read())


def read_manifest_parts(output: str) -> tuple[pa.Table, list[str]]:
    """The manifest's rows (all parts) and the part files' stems."""
    parts = list_files(join(output, "manifest"), ".parquet")
    tables = []
    for url in parts:
        with fsspec.open(url, "rb") as f:
            tables.append(pq.read_table(io.BytesIO(f.read()), schema=MANIFEST_SCHEMA))
    table = pa.concat_tables(tables) if tables else MANIFEST_SCHEMA.empty_table()
    return table, [url.rsplit("/", 1)[-1].removesuffix(".parquet") for url in parts]


def verify_build(output: str, keep_images: bool = False) -> BuildReport:
    """Check a build's outputs against each other and against the records read; raises AccountingError.

    This is the quick mode of the one validator (pipeline/inspect/validate.py): shard indexes,
    stats.json, the manifest's columns and the rejects logs; ``talk2face inspect OUT --validate``
    is its full mode.
    """
    stats = read_stats(output)
    result, measured = quick_check(open_corpus(output), keep_images)
    if result.problems:
        raise AccountingError(f"build at {output} does not add up:\n  " + "\n  ".join(p.message for p in result.problems))
    return BuildReport(
        output=output,
        stats=stats,
        shards=tuple(list_files(join(output, "shards"), ".tar")),
        samples_per_dataset=dict(sorted(measured.samples_per_dataset.items())),
        shards_per_dataset=dict(sorted(measured.shards_per_dataset.items())),
    )
