"""BuildCorpus: the whole build as one composite transform, wiring the steps of DESIGN.md section 1.

    ReadRecords -> SplitOutcomes -> LinkPhotoIds -> LoadFaces -> DedupeByContent -> FindLeaks
        -> ApplySplitPolicy -> AssignShards -> GroupByShard -> TokenizeFaces -> WriteShards + WriteManifest;
    rejects -> WriteRejects;  tallies -> WriteStats

`run_build` runs it with the given Beam options and then re-reads the outputs (`verify_build`), so
a runner that reports success without writing everything still fails the build; then it writes the
dataset card, Croissant file and wids indexes (`publish_build`). It starts by
removing a previous build's outputs and the temporary files of killed writers (pipeline/files.py
says which), keeping the token cache: rerunning a build that died resumes it, encoding only the
faces the dead run had not cached, and writes the same bytes as an uninterrupted build.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.runner import PipelineState

from pipeline.config import BuildConfig
from pipeline.dedupe import DedupeByContent
from pipeline.files import STALE_TEMP_SECONDS, remove_build_outputs, remove_stale_temps
from pipeline.leaks import (
    ApplySplitPolicy,
    FindLeaks,
    LinkPhotoIds,
    find_mapping,
    id_tallies,
    load_identities,
    load_mapping,
    move_tallies,
)
from pipeline.load import LoadFaces
from pipeline.meter import metrics_table
from pipeline.neardup import bands_for
from pipeline.publish import publish_build
from pipeline.read import ReadRecords, SplitByType
from pipeline.report import (
    WriteRejects,
    WriteStats,
    filtered_tally,
    read_tally,
    sample_tallies,
    token_tallies,
)
from pipeline.shards import AssignShards, WriteManifest, WriteShards, by_shard
from pipeline.tokenize import TokenizeFaces
from pipeline.verify import BuildReport, verify_build
from schemas import FaceRecord, Filtered, Reject

logger = logging.getLogger("pipeline")


def zero_read_tally(key: str) -> tuple[tuple[str, ...], int]:
    return ("datasets", key, "read"), 0


class BuildCorpus(beam.PTransform):
    """PBegin -> the paths of stats.json (one element); writes shards, manifest, rejects and stats under OUT."""

    def __init__(self, config: BuildConfig) -> None:
        super().__init__()
        self.config = config

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        c = self.config
        outcomes = pbegin | "ReadRecords" >> ReadRecords(c.datasets, c.limit, c.progress_every)
        parts = outcomes | "SplitOutcomes" >> SplitByType(records=FaceRecord, filtered=Filtered, rejects=Reject)
        mapping, mapping_summary = load_mapping(find_mapping(c.datasets, c.celeba_hq_mapping))
        persons, mapping_summary["identity_file"] = load_identities(c.datasets, mapping.originals.values() if mapping else ())
        linked = (
            parts["records"]
            | "LinkPhotoIds" >> beam.ParDo(LinkPhotoIds(mapping.originals if mapping else None, persons))
            | "SplitLinks" >> SplitByType(records=FaceRecord, tallies=tuple)
        )
        loaded = linked["records"] | "LoadFaces" >> LoadFaces(c.max_pixels, c.progress_every)
        faces = loaded["faces"] | "DedupeByContent" >> DedupeByContent()
        leaks = (faces, loaded["hashes"]) | "FindLeaks" >> FindLeaks(
            c.output, c.near_dup_threshold, bands_for(c.near_dup_threshold), any(d.key == "celeba" for d in c.datasets),
            max_clustered=c.max_clustered)
        samples = (faces, leaks["clusters"]) | "ApplySplitPolicy" >> ApplySplitPolicy(c.split_policy)
        shards = (
            samples
            | "AssignShards" >> AssignShards(c.samples_per_shard)
            | "KeyByShard" >> beam.Map(by_shard)
            | "GroupByShard" >> beam.GroupByKey()
            | "TokenizeFaces" >> TokenizeFaces(c.tokenizer, c.cache_url, c.keep_images, c.max_pixels, c.progress_every)
        )
        tallies = (
            pbegin | "ListDatasetsForStats" >> beam.Create([zero_read_tally(d.key) for d in c.datasets]),
            outcomes | "CountRead" >> beam.Map(read_tally),
            parts["filtered"] | "CountFiltered" >> beam.Map(filtered_tally),
            samples | "CountSplitConflicts" >> beam.FlatMap(sample_tallies),
            samples | "CountMoves" >> beam.FlatMap(move_tallies),
            loaded["faces"] | "CountIds" >> beam.FlatMap(lambda kv: id_tallies(kv[1])),
            linked["tallies"],
            leaks["tallies"],
            shards | "CountTokens" >> beam.FlatMap(token_tallies),
            shards | "WriteShards" >> WriteShards(c.output, c.progress_every),
            shards | "WriteManifest" >> WriteManifest(c.output),
            (parts["rejects"], loaded["rejects"]) | "AllRejects" >> beam.Flatten() | "WriteRejects" >> WriteRejects(c.output),
        )
        build = c.summary() | {"celeba_hq_mapping": mapping_summary}
        return tallies | "AllTallies" >> beam.Flatten() | "WriteStats" >> WriteStats(c.output, build)


@dataclass(frozen=True)
class BuildResult:
    """What `run_build` returns: the checked outputs, the Beam counters and the wall time."""

    report: BuildReport
    metrics: dict[str, int]
    seconds: float


def run_and_wait(pipeline: beam.Pipeline) -> Any:
    """Run a pipeline to the end and return its result; raises if it failed.

    The DaskRunner opens a `distributed.Client` per run and leaves it open: it is closed here.
    """
    result = pipeline.run()
    try:
        state = result.wait_until_finish()
    finally:
        client = getattr(result, "client", None)
        if client is not None:
            client.close()
    if state not in (None, PipelineState.DONE):
        raise RuntimeError(f"the pipeline ended in state {state}; see the runner's log above")
    return result


def runner_name(options: PipelineOptions | None) -> str:
    runner = options.view_as(StandardOptions).runner if options is not None else None
    name = runner if isinstance(runner, str) else type(runner).__name__ if runner is not None else "DirectRunner"
    return name.rsplit(".", 1)[-1]


def run_build(config: BuildConfig, options: PipelineOptions | None = None) -> BuildResult:
    """Build the corpus with `options` (any Beam runner), then check the outputs as written."""
    removed = remove_build_outputs(config.output)
    if removed:
        logger.info("removed the outputs of a previous build: %s", ", ".join(removed))
    stale = remove_stale_temps(config.output)  # this build owns OUT: every temp there is a dead attempt's
    cache = config.cache_url
    if cache and not cache.startswith(config.output.rstrip("/") + "/"):  # a cache other builds may be writing
        stale += remove_stale_temps(cache, older_than=STALE_TEMP_SECONDS)
    if stale:
        logger.info("removed %d temporary files of interrupted writes: %s", len(stale), ", ".join(stale[:5]))
    start = time.perf_counter()
    pipeline = beam.Pipeline(options=options or PipelineOptions([]))
    _ = pipeline | "BuildCorpus" >> BuildCorpus(config)
    result = run_and_wait(pipeline)
    seconds = time.perf_counter() - start
    report = verify_build(config.output, keep_images=config.keep_images)
    publish_build(config, runner_name(options))
    return BuildResult(report=report, metrics=metrics_table(result), seconds=seconds)

