"""Every runner builds the same corpus: byte-identical shards, manifest and rejects to the reference build.

Each test builds the shared tiny input through `beam_runner.run` (the command line) with a copy of
the reference's token cache less one bucket, so the tokenizer is loaded and run where the runner
puts its workers, for one face, and the rest of the codes come from the cache.
"""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

import beam_runner
from pipeline.build import run_and_wait


def run_cli(reference, kit, tmp_path, *beam_args: str):
    cache, dropped = kit.copy_cache(reference.cache, tmp_path / "cache", drop_buckets=1)
    out = tmp_path / "out"
    result = beam_runner.run([
        "--input-root", str(reference.root), "--output", str(out), "--datasets", ",".join(kit.DATASETS),
        "--vqgan-preset", "tiny-random", "--samples-per-shard", str(kit.PER_SHARD), "--token-cache", str(cache),
        *beam_args,
    ])
    assert dropped >= 1
    assert result.report.stats["tokens"]["encoded"] == dropped
    assert result.report.stats["datasets"] == reference.full.report.stats["datasets"]
    folders = ("shards", "manifest", "rejects")
    assert kit.outputs(out, *folders) == reference.files(*folders)
    return result


def test_direct_runner_multi_processing(reference, kit, tmp_path):
    run_cli(reference, kit, tmp_path, "--direct_running_mode=multi_processing", "--direct_num_workers=2")


def test_portable_runner_embedded_job_server_loopback(reference, kit, tmp_path):
    run_cli(reference, kit, tmp_path, "--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK")


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    # worker *processes*: with processes=False Beam's DaskRunner (2.77) shares one output buffer between
    # the partitions of a ParDo and repeats elements (seen here: 11 groups out of a 5-key GroupByKey)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        yield cluster
    finally:
        cluster.close()


def test_dask_runner_on_a_local_cluster(reference, kit, tmp_path, dask_cluster):
    result = run_cli(reference, kit, tmp_path, "--runner=DaskRunner", f"--dask_client_address={dask_cluster.scheduler_address}")
    assert result.metrics == {}  # the DaskRunner reports no metrics; stats.json has the counts


class AppendTo(beam.DoFn):
    def __init__(self, path: str) -> None:
        self.path = path

    def process(self, kv):
        with open(self.path, "a") as f:
            f.write(f"{kv[0]} {kv[1]}\n")


class TagThrees(beam.DoFn):
    def process(self, x):
        yield x if x % 3 else beam.pvalue.TaggedOutput("threes", x)


def test_dask_runner_limits_that_shape_the_pipeline(dask_cluster, tmp_path):
    """Why the pipeline splits outcomes with filters and batches inside groups (pipeline/read.py, tokenize.py).

    On Beam 2.77's DaskRunner a consumer of one tagged output receives every output of the ParDo, and
    what a DoFn emits in finish_bundle (BatchElements' last batch of each bundle) is lost. If Beam
    fixes both, this test skips to say so.
    """
    args = ["--runner=DaskRunner", f"--dask_client_address={dask_cluster.scheduler_address}"]
    p = beam.Pipeline(options=PipelineOptions(beam_runner.runner_aliases(args)))
    nums = p | beam.Create(list(range(300)))
    rest, threes = nums | beam.ParDo(TagThrees()).with_outputs("threes", main="rest")
    counts = (
        rest | "Rest" >> beam.Map(lambda x: ("rest", x)),
        threes | "Threes" >> beam.Map(lambda x: ("threes", x)),
        nums | beam.BatchElements(min_batch_size=7, max_batch_size=7) | beam.FlatMap(lambda b: [("batched", x) for x in b]),
    ) | beam.Flatten() | beam.combiners.Count.PerKey()
    _ = counts | beam.ParDo(AppendTo(str(tmp_path / "counts.txt")))
    run_and_wait(p)
    got = {k: int(v) for k, v in (line.split() for line in (tmp_path / "counts.txt").read_text().splitlines())}
    if got == {"rest": 200, "threes": 100, "batched": 300}:
        pytest.skip("Beam's DaskRunner now routes tagged outputs and finish_bundle output correctly")
    assert got["rest"] == got["threes"] == 300, got  # every consumer got all 300 elements
    assert got["batched"] < 300, got  # the last batch of each bundle was dropped


def test_dask_runner_gets_one_dataset_per_partition_unless_told(tmp_path):
    """Without it the DaskRunner runs the whole build as one partition, on one worker (bench/RESULTS.md)."""
    dask = beam_runner.runner_aliases(["--runner", "DaskRunner", "--dask_client_address=tcp://h:1"])
    assert beam_runner.dask_partitions(dask)[-1] == "--dask_partition_size=1"
    assert beam_runner.dask_partitions(["--runner=DaskRunner", "--dask_npartitions=8"]) == [
        "--runner=DaskRunner", "--dask_npartitions=8"]
    assert beam_runner.dask_partitions(["--direct_num_workers=2"]) == ["--direct_num_workers=2"]
    (tmp_path / "raw" / "rafdb").mkdir(parents=True)
    config, args = beam_runner.parse_args(["--input-root", str(tmp_path / "raw"), "--output", str(tmp_path / "out"),
                                           "--vqgan-preset", "palette", "--runner=dask"])
    assert "--dask_partition_size=1" in args and config.datasets[0].key == "rafdb"
