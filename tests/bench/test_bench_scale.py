"""bench/bench_scale.py measures a real build: its figures are sane and its accounting equals expected.json.

A correctness test, not a timed one: a tiny fake root (two datasets at F=0.0005) built on the
in-process DirectRunner in a fresh launcher process, as the benchmark does it.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from converters.fakeroot import make_root

REPO = Path(__file__).resolve().parents[2]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_scale", REPO / "bench" / "bench_scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_measure_build_gives_sane_figures_and_expected_accounting(tmp_path: Path) -> None:
    pytest.importorskip("psutil")
    bench = load_bench()
    expected = make_root(tmp_path / "raw", 0.0005, seed=3, workers=1, only=["rafdb", "fairface"])
    run = bench.measure_build("direct", tmp_path / "raw", tmp_path / "out", timeout=600, samples_per_shard=64)
    assert run.ok, run.log_tail
    assert run.accounting == []
    assert run.records == sum(d["read"] for d in expected["datasets"].values())
    assert run.pairs == sum(d["pairs"] for d in expected["datasets"].values())
    assert run.wall > 0 and run.cpu > 0 and run.cpu_sampled > 0
    assert run.launcher_peak_rss > 50 * 2**20 and run.total_peak_rss >= run.launcher_peak_rss
    assert run.shards >= 2 and run.output_bytes["shards"] > 0 and run.output_bytes["manifest"] > 0
    assert all(seconds >= 0 for seconds in run.stages.values())
    assert {"ReadRecords", "LoadFaces", "TokenizeFaces", "WriteShards"} <= set(run.stages)
    # every record crosses the read reshuffle once; each sample the shard grouping once
    assert run.shuffles["ReadRecords/Spread/ReshufflePerKey/GroupByKey"]["elements"] == run.records
    assert run.shuffles["GroupByShard"]["elements"] == run.samples
    assert all(s["bytes"] > 0 and s["elements"] > 0 for s in run.shuffles.values())
    shards = [p for p in run.digests if p.startswith("shards/") and p.endswith(".tar")]
    assert len(shards) == run.shards and "stats.json" in run.digests
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert bench.accounting_mismatches(stats, expected) == []
    broken = json.loads(json.dumps(expected))
    broken["datasets"]["rafdb"]["read"] += 1
    assert bench.accounting_mismatches(stats, broken) == [
        f"rafdb.read: built {stats['datasets']['rafdb']['read']}, expected {broken['datasets']['rafdb']['read']}"]
    table = bench.markdown([run, run])
    assert "= expected.json" in table and "byte-identical" in table
