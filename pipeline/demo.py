"""The demo: fake raw data for every dataset, a corpus built from it, and a table of what happened.

    python -m pipeline.demo DIR [--samples-per-shard N] [any Beam option, e.g. --direct_running_mode=multi_processing]

Writes ``DIR/raw/<dataset>/`` (each dataset in its native layout, made by converters.fakes) and
builds ``DIR/corpus/`` with the tiny-random VQGAN on the DirectRunner, logging each stage's rate as
it goes; at the end it prints the per-dataset table, the time and throughput of each stage (Beam
counters), and where the outputs are. A second run reuses the token cache in DIR/corpus/cache.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from apache_beam.options.pipeline_options import PipelineOptions

from converters.fakes import make_all
from pipeline.build import BuildResult, run_build
from pipeline.config import BuildConfig, TokenizerSpec, resolve_datasets
from pipeline.meter import setup_logging

STAGES = (("ReadRecords", "records"), ("LoadFaces", "images"), ("TokenizeFaces", "faces"), ("WriteShards", "samples"))


def stage_table(metrics: dict[str, int]) -> str:
    """Per stage: elements, busy seconds (summed over workers) and elements per busy second."""
    lines = [f"{'stage':<14} {'elements':>9} {'busy s':>8} {'per s':>8}"]
    for stage, unit in STAGES:
        n, ms = metrics.get(f"{stage}.{unit}", 0), metrics.get(f"{stage}.msec", 0)
        rate = f"{n / (ms / 1000):.1f}" if ms else "-"
        lines.append(f"{stage:<14} {n:>9} {ms / 1000:>8.2f} {rate:>8}  {unit}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> BuildResult:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="folder for raw/ and corpus/")
    parser.add_argument("--samples-per-shard", type=int, default=16, help="small, so the demo shows several shards")
    args, beam_args = parser.parse_known_args(argv)
    setup_logging()
    raw, corpus = args.dir / "raw", args.dir / "corpus"
    written = make_all(raw)
    print(f"fake raw data for {len(written)} datasets in {raw}", flush=True)
    datasets, skipped = resolve_datasets(str(raw))
    config = BuildConfig(
        datasets=datasets, output=str(corpus), tokenizer=TokenizerSpec(preset="tiny-random"),
        samples_per_shard=args.samples_per_shard, skipped=skipped, progress_every=25,
    )
    result = run_build(config, PipelineOptions(beam_args))
    print()
    print(result.report.table())
    print()
    print(stage_table(result.metrics))
    total = result.report.stats["totals"]
    print(f"\nbuilt in {result.seconds:.1f} s: {total['read'] / result.seconds:.1f} records/s, "
          f"{total['samples'] / result.seconds:.1f} unique faces/s end to end")
    print(f"shards:   {corpus / 'shards'}\nmanifest: {corpus / 'manifest'}\nstats:    {corpus / 'stats.json'}\n"
          f"rejects:  {corpus / 'rejects'}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
