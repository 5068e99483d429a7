"""Builds at scale: a full-size synthetic root built on real runners, with time, CPU, memory and shuffle bytes.

    PYTHONPATH=. python bench/bench_scale.py --scale 0.01 --runners direct,mp,dask --work /tmp/scalebench
    PYTHONPATH=. python bench/bench_scale.py --root /tmp/scalebench/root01 --runners dask,mp --work /tmp/scalebench
    PYTHONPATH=. python bench/bench_scale.py project F.json --runner mp   # F=1 on Dataflow, assumptions printed

(a) writes a fake root (``converters.fakeroot.make_root``) at ``--scale F``, or reuses ``--root PATH``
(it must hold expected.json); (b) builds it with ``--vqgan-preset palette --no-token-cache`` (every
face encoded; palette is NOT a VQGAN, it is fast so the pipeline's own cost shows) on each runner,
one fresh launcher process per build (`build_child`, run as ``bench_scale.py _build``);
(c) records for each build, from this (the monitoring) process:

* wall seconds of the launcher process, and CPU seconds of the launcher and every process under it:
  the larger of ``RUSAGE_CHILDREN`` after the launcher is reaped (it includes only the workers that
  were reaped in turn) and the sum of the last sampled psutil CPU times of every process seen;
* peak RSS per process: a sampler thread polls the launcher and its descendants every 0.25 s
  (psutil); the launcher's peak, the largest worker's peak and the peak of their sum;
* seconds per stage: the ``talk2face`` Beam counters ``<stage>.msec`` (pipeline/meter.py), busy time
  summed over workers; the DaskRunner reports no metrics, so there they are absent;
* bytes through each shuffle: before the build runs, every GroupByKey in the graph (those inside
  Reshuffle, Distinct, CoGroupByKey and CombinePerKey included) gets a side branch on its input
  PCollection (`meter_shuffles`) that counts the elements and encodes the first 64 and then one in 16
  of them with that PCollection's own coder (Beam counters); bytes = elements x mean sampled size.
  An estimate of what the runner serialises (the runner may add framing or combine before the
  shuffle); branch cost is included in the timing. Only on runners that report metrics.
* output bytes (shards, indexes, manifest, rejects, stats.json), records/s;
* sha256 of every output file, compared across the runners of one invocation (byte-identical or
  not), and stats.json's per-dataset accounting against the root's expected.json.

Prints markdown and writes every figure as JSON (``--json``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, SetupOptions
from apache_beam.pipeline import PipelineVisitor

REPO = Path(__file__).resolve().parents[1]
RUNNERS: dict[str, list[str]] = {
    "direct": [],  # the in-process DirectRunner (FnApiRunner, in_memory)
    "mp": ["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
    "dask": ["--runner=DaskRunner"],  # + --dask_client_address of a LocalCluster the launcher starts
}
OUTPUT_FOLDERS = ("shards", "manifest", "rejects")
SAMPLE_FIRST, SAMPLE_EVERY = 64, 16
SHUFFLE_NS = "talk2face.shuffle"


# --------------------------------------------------------------------------- in the launcher (child) process


def meter_shuffles(pipeline: Any) -> list[str]:
    """Add a counting branch on the input of every GroupByKey of `pipeline`; returns their labels."""
    found: list[tuple[str, Any]] = []

    class Visitor(PipelineVisitor):
        def visit_transform(self, node: Any) -> None:
            if isinstance(node.transform, beam.GroupByKey) and node.inputs:
                found.append((node.full_label, node.inputs[0]))

    pipeline.visit(Visitor())
    labels = []
    for label, pcoll in found:
        name = label.removeprefix("BuildCorpus/")
        coder = beam.coders.registry.get_coder(pcoll.element_type)
        _ = pcoll | f"MeterShuffle[{name}]" >> beam.ParDo(CountEncoded(name, coder))
        labels.append(name)
    return labels


class CountEncoded(beam.DoFn):
    """Elements of a shuffle's input, and the coder's bytes of a sample of them (the first N, then 1 in K)."""

    def __init__(self, name: str, coder: Any) -> None:
        self.name, self.coder = name, coder

    def setup(self) -> None:
        self.seen = 0
        self.elements = Metrics.counter(SHUFFLE_NS, f"{self.name}|elements")
        self.sampled = Metrics.counter(SHUFFLE_NS, f"{self.name}|sampled")
        self.bytes = Metrics.counter(SHUFFLE_NS, f"{self.name}|sampled_bytes")

    def process(self, element: Any) -> None:
        self.seen += 1
        self.elements.inc()
        if self.seen <= SAMPLE_FIRST or self.seen % SAMPLE_EVERY == 0:
            self.sampled.inc()
            self.bytes.inc(len(self.coder.encode(element)))


def shuffle_table(result: Any) -> dict[str, dict[str, float]]:
    """Elements and estimated bytes per shuffle, from the counters of `CountEncoded`."""
    raw: dict[str, dict[str, int]] = {}
    for item in result.metrics().query(MetricsFilter().with_namespace(SHUFFLE_NS)).get("counters", []):
        name, _, what = item.key.metric.name.rpartition("|")
        value = item.committed if item.committed is not None else item.attempted
        raw.setdefault(name, {}).setdefault(what, 0)
        raw[name][what] += int(value or 0)
    out = {}
    for name, c in sorted(raw.items()):
        n, k, b = c.get("elements", 0), c.get("sampled", 0), c.get("sampled_bytes", 0)
        out[name] = {"elements": n, "bytes": round(n * b / k) if k else 0, "bytes_per_element": b / k if k else 0.0}
    return out


def build_child(runner: str, root: str, out: str, result_path: str, samples_per_shard: int | None,
                dask_memory: str) -> None:
    """One build on `runner`, as the command line would run it, plus shuffle meters; figures to `result_path`."""
    import beam_runner
    from pipeline.build import BuildCorpus, run_and_wait
    from pipeline.meter import metrics_table, setup_logging
    from pipeline.verify import verify_build

    setup_logging()
    argv = ["--input-root", root, "--output", out, "--vqgan-preset", "palette", "--no-token-cache",
            "--progress-every", "20000", *RUNNERS[runner]]
    if samples_per_shard:
        argv += ["--samples-per-shard", str(samples_per_shard)]
    cluster = None
    if runner == "dask":
        import distributed

        # worker processes (see tests/pipeline/test_pipeline_runners.py for why not threads)
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, memory_limit=dask_memory)
        argv.append(f"--dask_client_address={cluster.scheduler_address}")
    config, beam_args = beam_runner.parse_args(argv)
    options = PipelineOptions(beam_args)
    options.view_as(SetupOptions).save_main_session = False
    start = time.perf_counter()
    pipeline = beam.Pipeline(options=options)
    _ = pipeline | "BuildCorpus" >> BuildCorpus(config)
    metered = runner != "dask"  # the DaskRunner reports no metrics: the branches would only cost time
    shuffles = meter_shuffles(pipeline) if metered else []
    result = run_and_wait(pipeline)
    seconds = time.perf_counter() - start
    report = verify_build(config.output, keep_images=config.keep_images)
    figures = {
        "pipeline_seconds": seconds,
        "metrics": metrics_table(result) if metered else {},
        "shuffles": shuffle_table(result) if metered else {},
        "shuffle_points": shuffles,
        "stats": report.stats,
        "samples_per_shard": config.samples_per_shard,
    }
    Path(result_path).write_text(json.dumps(figures, indent=1, sort_keys=True))
    if cluster is not None:
        try:  # under heavy load a nanny can take longer to stop than distributed waits: the build is done
            cluster.close(timeout=120)
        except Exception as err:  # noqa: BLE001
            logging.getLogger("pipeline").warning("the LocalCluster did not close cleanly: %r", err)


# --------------------------------------------------------------------------- in the monitoring process


@dataclass
class Sampled:
    """What the sampler saw of one process tree."""

    peak_rss: dict[int, int] = field(default_factory=dict)  # pid -> bytes
    cpu: dict[int, float] = field(default_factory=dict)  # pid -> last user+system seconds
    role: dict[int, str] = field(default_factory=dict)
    peak_total_rss: int = 0
    samples: int = 0


def _role(proc: Any, launcher: int) -> str:
    if proc.pid == launcher:
        return "launcher"
    try:
        cmd = " ".join(proc.cmdline())
    except Exception:  # noqa: BLE001 - gone or unreadable
        return "worker"
    if "sdk_worker" in cmd or "apache_beam" in cmd:
        return "beam worker"
    if "resource_tracker" in cmd or "semaphore_tracker" in cmd or cmd.startswith("/bin/sh "):
        return "helper"
    if "multiprocessing" in cmd or "distributed" in cmd:
        return "dask process"
    return "worker"


def sample_tree(pid: int, stop: threading.Event, into: Sampled, every: float = 0.25) -> None:
    """Poll `pid` and its descendants until `stop`: peak RSS per process, last CPU time per process."""
    import psutil

    try:
        top = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    while not stop.is_set():
        try:
            procs = [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        total = 0
        for proc in procs:
            try:
                with proc.oneshot():
                    rss = proc.memory_info().rss
                    times = proc.cpu_times()
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
            if proc.pid not in into.role:
                into.role[proc.pid] = _role(proc, pid)
            into.peak_rss[proc.pid] = max(into.peak_rss.get(proc.pid, 0), rss)
            into.cpu[proc.pid] = times.user + times.system
            total += rss
        into.peak_total_rss = max(into.peak_total_rss, total)
        into.samples += 1
        stop.wait(every)


def sha256_outputs(out: Path) -> dict[str, str]:
    """sha256 of every output file (shards, indexes, manifest, rejects, stats.json), by relative path."""
    files = [p for folder in OUTPUT_FOLDERS for p in sorted((out / folder).rglob("*")) if p.is_file()]
    files.append(out / "stats.json")
    digests = {}
    for path in files:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        digests[path.relative_to(out).as_posix()] = h.hexdigest()
    return digests


def output_bytes(out: Path) -> dict[str, int]:
    sizes = {folder: sum(p.stat().st_size for p in (out / folder).rglob("*") if p.is_file())
             for folder in OUTPUT_FOLDERS}
    sizes["stats.json"] = (out / "stats.json").stat().st_size
    return sizes


def accounting_mismatches(stats: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Per dataset: read, written, pairs, filtered and rejected by reason, stats.json against expected.json."""
    problems = []
    for key, want in sorted(expected["datasets"].items()):
        got = stats["datasets"].get(key)
        if got is None:
            problems.append(f"{key}: not in stats.json")
            continue
        for what in ("read", "written", "pairs", "filtered", "rejected"):
            if got.get(what) != want.get(what):
                problems.append(f"{key}.{what}: built {got.get(what)!r}, expected {want.get(what)!r}")
    return problems


@dataclass
class BuildFigures:
    runner: str
    ok: bool
    wall: float
    cpu: float
    cpu_sampled: float
    launcher_peak_rss: int
    worker_peak_rss: int
    total_peak_rss: int
    workers: int
    records: int
    pairs: int
    samples: int
    shards: int
    output_bytes: dict[str, int]
    stages: dict[str, float]  # busy seconds per stage, summed over workers
    shuffles: dict[str, dict[str, float]]
    accounting: list[str]
    digests: dict[str, str]
    load: tuple[float, float]  # 1-minute load average at start and end
    log_tail: str = ""
    peaks: list[tuple[str, int]] = field(default_factory=list)  # (role, peak RSS) of every process seen
    leaks: dict[str, Any] = field(default_factory=dict)  # stats.json's near_duplicates and leaks sections

    @property
    def cpu_total(self) -> float:
        return max(self.cpu, self.cpu_sampled)

    @property
    def records_per_s(self) -> float:
        return self.records / self.wall if self.wall else 0.0


def measure_build(runner: str, root: Path, out: Path, timeout: float = 3600.0, samples_per_shard: int | None = None,
                  dask_memory: str = "6GiB") -> BuildFigures:
    """Build `root` into `out` on `runner` in a fresh launcher process and measure it (see the module docstring)."""
    import psutil

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    result_path, log_path = out.parent / f"{out.name}.result.json", out.parent / f"{out.name}.log"
    result_path.unlink(missing_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])  # workers too
    cmd = [sys.executable, str(Path(__file__).resolve()), "_build", "--runner", runner, "--root", str(root),
           "--out", str(out), "--result", str(result_path), "--dask-memory", dask_memory]
    if samples_per_shard:
        cmd += ["--samples-per-shard", str(samples_per_shard)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load0 = os.getloadavg()[0]
    sampled, stop = Sampled(), threading.Event()
    start = time.perf_counter()
    with log_path.open("wb") as log:
        proc = psutil.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(REPO))
        sampler = threading.Thread(target=sample_tree, args=(proc.pid, stop, sampled), daemon=True)
        sampler.start()
        try:
            code = proc.wait(timeout=timeout)
        except psutil.TimeoutExpired:
            for child in proc.children(recursive=True):
                child.kill()
            proc.kill()
            code = proc.wait()
        wall = time.perf_counter() - start
        stop.set()
        sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    log_tail = log_path.read_text(errors="replace")[-3000:]
    figures: dict[str, Any] = json.loads(result_path.read_text()) if result_path.exists() else {}  # verified
    stats = figures.get("stats", {})
    totals = stats.get("totals", {})
    metrics = figures.get("metrics", {})
    expected = json.loads((root / "expected.json").read_text())
    workers = [p for p in sampled.peak_rss if sampled.role.get(p) not in ("launcher", "helper")]
    return BuildFigures(
        runner=runner, ok=bool(stats), wall=wall, cpu=cpu, cpu_sampled=sum(sampled.cpu.values()),
        launcher_peak_rss=sampled.peak_rss.get(proc.pid, 0),
        worker_peak_rss=max((sampled.peak_rss[p] for p in workers), default=0),
        total_peak_rss=sampled.peak_total_rss, workers=len(workers),
        records=int(totals.get("read", 0)), pairs=int(totals.get("pairs", 0)), samples=int(totals.get("samples", 0)),
        shards=int(totals.get("shards", 0)),
        output_bytes=output_bytes(out) if stats else {},
        stages={k.removesuffix(".msec"): v / 1000 for k, v in metrics.items() if k.endswith(".msec")},
        shuffles=figures.get("shuffles", {}),
        accounting=accounting_mismatches(stats, expected) if stats else ["the build did not finish"],
        digests=sha256_outputs(out) if stats else {},
        load=(load0, os.getloadavg()[0]),
        log_tail="" if code == 0 else f"exit code {code}\n{log_tail}",
        peaks=sorted(((sampled.role.get(p, "?"), r) for p, r in sampled.peak_rss.items()), key=lambda x: -x[1]),
        leaks={k: stats[k] for k in ("near_duplicates", "leaks") if k in stats},
    )


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f}"


def markdown(runs: Sequence[BuildFigures]) -> str:
    lines = ["| runner | ok | records | pairs | samples | shards | wall s | CPU s | CPU ms/record | records/s | "
             "launcher peak MiB | largest worker peak MiB | sum peak MiB | output MB | accounting | load start/end |",
             "|" + "---|" * 16]
    for r in runs:
        lines.append(
            f"| {r.runner} | {'yes' if r.ok else 'NO'} | {r.records:,} | {r.pairs:,} | {r.samples:,} | {r.shards} | "
            f"{r.wall:.1f} | {r.cpu_total:.1f} | {1000 * r.cpu_total / max(r.records, 1):.2f} | {r.records_per_s:.1f} | "
            f"{mib(r.launcher_peak_rss)} | {mib(r.worker_peak_rss)} | {mib(r.total_peak_rss)} | "
            f"{sum(r.output_bytes.values()) / 1e6:.1f} | {'= expected.json' if not r.accounting else 'MISMATCH'} | "
            f"{r.load[0]:.1f} / {r.load[1]:.1f} |")
    stages = sorted({s for r in runs for s in r.stages})
    if stages:
        lines += ["", "Busy seconds per stage (Beam counters, summed over workers):", "",
                  "| runner | " + " | ".join(stages) + " | other (wall - stages) |", "|" + "---|" * (len(stages) + 2)]
        for r in runs:
            if r.stages:
                lines.append(f"| {r.runner} | " + " | ".join(f"{r.stages.get(s, 0):.1f}" for s in stages)
                             + f" | {r.wall - sum(r.stages.values()):.1f} |")
    metered = next((r for r in runs if r.shuffles), None)
    if metered:
        lines += ["", f"Shuffles ({metered.runner}; elements counted, bytes = elements x mean coder size of a sample):",
                  "", "| GroupByKey | elements | MB | bytes/element |", "|---|---|---|---|"]
        for name, s in sorted(metered.shuffles.items(), key=lambda kv: -kv[1]["bytes"]):
            lines.append(f"| {name} | {s['elements']:,} | {s['bytes'] / 1e6:.1f} | {s['bytes_per_element']:.0f} |")
        total = sum(s["bytes"] for s in metered.shuffles.values())
        lines.append(f"| all | {sum(s['elements'] for s in metered.shuffles.values()):,} | {total / 1e6:.1f} | |")
    done = [r for r in runs if r.digests]
    if len(done) > 1:
        same = all(r.digests == done[0].digests for r in done[1:])
        lines += ["", f"Outputs of {', '.join(r.runner for r in done)}: {len(done[0].digests)} files, "
                      + ("byte-identical (sha256)." if same else "DIFFER: " + ", ".join(
                          r.runner for r in done[1:] if r.digests != done[0].digests))]
    for r in runs:
        if r.accounting:
            lines.append(f"\n{r.runner} accounting: " + "; ".join(r.accounting[:10]))
        if not r.ok:
            lines.append(f"\n{r.runner} failed; log tail:\n```\n{r.log_tail[-1500:]}\n```")
    return "\n".join(lines)


# --------------------------------------------------------------------------- projection to F=1 on Dataflow

ENCODER_GFLOP = 138.6  # FFHQ f=16 encoder per 256x256 face (bench/RESULTS.md, Tokenizers)
ENCODER_CPU_S = 2.87  # CPU-seconds per face, fp32 batch 8, this VM (bench/RESULTS.md, Tokenizers)
PALETTE_FACES_PER_S = 15_621  # palette encode, one thread (bench/RESULTS.md, Palette tokenizer)
JPEG_GROWTH = 4.6  # shard bytes with --keep-images / without (bench/RESULTS.md, Post-build check)


def projection(run: dict[str, Any], scale: float, gpus: int, gpu_tflops: float, vcpus: int, decode_ms: float,
               gpu_price: float, target_shard_mb: float) -> str:
    """F=1 on Dataflow from one measured, metered run at `scale` (its JSON); every assumption in the text."""
    grow = 1 / scale
    records, samples = run["records"] * grow, run["samples"] * grow
    cpu = max(run["cpu"], run["cpu_sampled"])
    stages = run["stages"]
    busy = sum(stages.values()) or 1.0
    palette_cpu = run["samples"] / PALETTE_FACES_PER_S
    pipeline_cpu = (cpu - palette_cpu) * grow  # everything but the tokenizer, linear in records (measured)
    fake_decode_s = cpu * stages.get("LoadFaces", 0) / busy / max(run["records"], 1)
    extra_decode = max(decode_ms / 1000 - fake_decode_s, 0) * (records + samples)  # each unique face decoded twice
    cpu_side_h = (pipeline_cpu + extra_decode) / 3600
    gpu_faces_s = gpu_tflops * 1e12 / (ENCODER_GFLOP * 1e9)
    gpu_h = samples / (gpus * gpu_faces_s) / 3600
    wall_h = max(gpu_h, cpu_side_h / (gpus * vcpus))
    shuffle_gb = sum(s["bytes"] for s in run["shuffles"].values()) * grow / 1e9
    shard_bytes = run["output_bytes"]["shards"] / max(run["samples"], 1)
    per_shard = int(target_shard_mb * 1e6 / (shard_bytes * JPEG_GROWTH) // 1000 * 1000) or 1000
    return "\n".join([
        f"* Measured at F={scale:g} ({run['runner']}): {run['records']:,} records, {run['samples']:,} faces, "
        f"{cpu:,.0f} CPU-s in all, of which the palette encoder ~{palette_cpu:.0f} s; LoadFaces "
        f"{1000 * fake_decode_s:.2f} CPU-ms per fake record (busy share of CPU); shards {shard_bytes:,.0f} B per sample "
        "(tokens + JSON); shuffles as metered.",
        f"* Assumed: F=1 is {grow:g}x F={scale:g} in records, faces and every per-record cost (linear: the F=0.01 "
        f"vs F=0.1 ratio is the check); a real image costs {decode_ms:g} ms to decode and cut (fakes are 48-80 px) "
        f"and each unique face is decoded twice; the FFHQ encoder is {ENCODER_GFLOP} GFLOP per face and a GPU "
        f"sustains {gpu_tflops:g} TFLOP/s on it (ASSUMED, not measured: no GPU here) = {gpu_faces_s:.0f} faces/s.",
        f"* F=1: {records / 1e6:.2f}M records, {samples / 1e6:.2f}M faces. CPU side (read, decode twice, dedupe, leaks, "
        f"shuffles, write): ~{cpu_side_h:,.0f} vCPU-hours; the VQGAN on CPU instead would be "
        f"{samples * ENCODER_CPU_S / 3600:,.0f} CPU-hours (measured 2.87 CPU-s/face).",
        f"* Dataflow, {gpus} workers with {vcpus} vCPUs and one GPU each: encoding ~{gpu_h:.2f} h, CPU side "
        f"~{cpu_side_h / (gpus * vcpus):.2f} h on their {gpus * vcpus} vCPUs, overlapping: ~{wall_h + 0.2:.1f} h with "
        f"~0.2 h start-up, {gpus * (wall_h + 0.2):.1f} worker-hours (~${gpus * (wall_h + 0.2) * gpu_price:,.0f} at an "
        f"ASSUMED ${gpu_price:g} per GPU-worker-hour); shuffles ~{shuffle_gb:.1f} GB.",
        f"* Shard policy: {shard_bytes:,.0f} B per sample without JPEGs, ~{shard_bytes * JPEG_GROWTH:,.0f} B with "
        f"(x{JPEG_GROWTH}, measured at toy size); ~{target_shard_mb:g} MB shards with JPEGs = ~{per_shard:,} samples "
        f"per shard, {samples / per_shard:,.0f} shards at F=1 ({samples / per_shard / gpus:.0f} per GPU worker); "
        f"the default 5000 gives {samples / 5000:,.0f} shards of ~{5000 * shard_bytes / 1e6:.0f} MB "
        f"(~{5000 * shard_bytes * JPEG_GROWTH / 1e6:.0f} MB with JPEGs).",
    ])


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["_build"]:
        p = argparse.ArgumentParser()
        for flag in ("--runner", "--root", "--out", "--result", "--dask-memory"):
            p.add_argument(flag, required=True)
        p.add_argument("--samples-per-shard", type=int)
        a = p.parse_args(args[1:])
        build_child(a.runner, a.root, a.out, a.result, a.samples_per_shard, a.dask_memory)
        return
    if args[:1] == ["project"]:
        p = argparse.ArgumentParser(description="project a measured run (bench_scale --json) to F=1 on Dataflow")
        p.add_argument("json", type=Path)
        p.add_argument("--runner", help="which run of the JSON (default: the first with stage figures)")
        p.add_argument("--scale", type=float, help="the run's F (default: from its root's expected.json)")
        p.add_argument("--gpus", type=int, default=8)
        p.add_argument("--gpu-tflops", type=float, default=40.0, help="ASSUMED sustained TFLOP/s per GPU")
        p.add_argument("--vcpus", type=int, default=8)
        p.add_argument("--decode-ms", type=float, default=10.0, help="ASSUMED ms to decode and cut a real image")
        p.add_argument("--gpu-price", type=float, default=1.0, help="ASSUMED $ per GPU-worker-hour")
        p.add_argument("--shard-mb", type=float, default=256.0, help="target shard size with JPEGs")
        a = p.parse_args(args[1:])
        runs = [r for r in json.loads(a.json.read_text()) if r["stages"] and (a.runner in (None, r["runner"]))]
        scale = a.scale or json.loads((Path(runs[0]["root"]) / "expected.json").read_text())["scale"]
        print(projection(runs[0], scale, a.gpus, a.gpu_tflops, a.vcpus, a.decode_ms, a.gpu_price, a.shard_mb))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--scale", type=float, help="write a fake root at this scale under WORK/root-F")
    where.add_argument("--root", type=Path, help="reuse this fake root (with its expected.json)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runners", default="direct,mp,dask", help=f"comma-separated, of {', '.join(RUNNERS)}")
    p.add_argument("--work", type=Path, default=Path("/tmp/scalebench"))
    p.add_argument("--samples-per-shard", type=int, help="default: the build's default")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per build before it is killed")
    p.add_argument("--dask-memory", default="6GiB", help="memory_limit of each Dask worker")
    p.add_argument("--json", type=Path, help="write every figure here")
    p.add_argument("--keep-outputs", action="store_true", help="keep each build's OUT under WORK")
    a = p.parse_args(args)
    a.work.mkdir(parents=True, exist_ok=True)
    root = a.root
    if root is None:
        from converters.fakeroot import make_root

        root = a.work / f"root-{a.scale:g}"
        t0 = time.perf_counter()
        make_root(root, a.scale, seed=a.seed)
        print(f"fake root at scale {a.scale:g} written to {root} in {time.perf_counter() - t0:.0f} s", flush=True)
    runs = []
    for runner in a.runners.split(","):
        out = a.work / f"out-{root.name}-{runner}"
        run = measure_build(runner, root, out, a.timeout, a.samples_per_shard, a.dask_memory)
        print(f"{runner}: {'ok' if run.ok else 'FAILED'} in {run.wall:.1f} s", flush=True)
        runs.append(run)
        if not a.keep_outputs:
            shutil.rmtree(out, ignore_errors=True)
    print(f"\n{os.cpu_count()} cores; root {root}\n")
    print(markdown(runs))
    if a.json:
        a.json.write_text(json.dumps([asdict(r) | {"records_per_s": r.records_per_s, "root": str(root)} for r in runs],
                                     indent=1))


if __name__ == "__main__":
    main()
