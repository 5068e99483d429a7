"""End-to-end speed of a corpus build, the cost of Beam itself, and a projection to the full corpus.

    .venv/bin/python bench/bench_pipeline.py --quick     # ~3-5 minutes on the shared 2-core VM
    .venv/bin/python bench/bench_pipeline.py             # more records, FFHQ-size on more faces

Input: the fake raw data of all 13 datasets (converters.fakes.make_all), read with ``--limit`` records
per dataset. The same work is done four ways in one run, all with no token cache so every unique face
is encoded:

* ``loop``: a plain Python loop over the same library calls (converter, model.tokenizers.faces.load_face,
  schemas.sample_key, Sample.merge, the tokenizer, ShardSample/write_tar, manifest_table), one process;
* ``beam``: `pipeline.BuildCorpus` on the in-process DirectRunner;
* ``beam-mp``: the DirectRunner with ``--direct_running_mode=multi_processing --direct_num_workers=2``
  (and ``--vqgan-threads`` cores/2, so the two workers' torch threads do not oversubscribe the cores);

each with the tiny-random tokenizer and with the FFHQ-size one (``ffhq-random``: the real f=16
architecture with random weights, on few faces). The tiny-random builds run ``--repeat`` times,
interleaved, and the fastest of each is kept (the shared VM's load comes and goes). Per stage, the Beam runs report the busy time their
DoFns measured (Beam counters ``<stage>.msec``, summed over workers); the loop times the same stages.
``other`` is wall time outside the stages (for Beam: start-up, shuffles, serialisation, dedupe; for
the loop: dedupe, sorting); ``wall / loop`` is the wall-time ratio: what Beam costs on top of the work. The projection to the full corpus (2.3M
pairs, ~2.0M records, ~1.9M unique faces) uses the measured per-record and per-face costs; its
assumptions are printed with it. Prints markdown.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from apache_beam.options.pipeline_options import PipelineOptions

import converters
from converters.base import DatasetRoot
from converters.fakes import make_all
from model.tokenizers.faces import FaceError, load_face
from pipeline.build import run_build
from pipeline.config import BuildConfig, TokenizerSpec, resolve_datasets
from pipeline.files import atomic_open, jsonl, write_bytes
from pipeline.samples import Sample
from pipeline.tokenize import encode_faces, shared_tokenizer
from schemas import FaceRecord, Filtered, Reject, manifest_table, sample_key, write_manifest
from schemas.shard import shard_name, write_tar

FULL_RECORDS = 2_000_000
FULL_FACES = 1_900_000
FULL_PAIRS = 2_300_000


@dataclass
class Run:
    name: str
    tokenizer: str
    wall: float
    cpu: float
    records: int
    loaded: int
    faces: int
    stages: dict[str, float] = field(default_factory=dict)  # seconds of work per stage


def cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(stages: dict[str, float], stage: str, fn: Callable, *args):
    start = time.perf_counter()
    try:
        return fn(*args)
    finally:
        stages[stage] = stages.get(stage, 0.0) + time.perf_counter() - start


def plain_loop(config: BuildConfig) -> Run:
    """The build's work without Beam: same library calls, one process, no cache."""
    stages: dict[str, float] = {}
    t0, c0 = time.perf_counter(), cpu_seconds()
    outcomes = []
    for spec in config.datasets:
        root = DatasetRoot(spec.url, spec.key, dict(spec.siblings))
        records = converters.get(spec.key).records(root)
        for _, outcome in zip(range(config.limit or 10**12), records, strict=False):
            outcomes.append(outcome)
    stages["ReadRecords"] = time.perf_counter() - t0
    faces: dict[str, list[FaceRecord]] = defaultdict(list)
    rejects = [o for o in outcomes if isinstance(o, Reject)]
    loaded = 0
    for record in (o for o in outcomes if isinstance(o, FaceRecord)):
        try:
            pixels = timed(stages, "LoadFaces", load_face, record.image, record.box)
        except FaceError as err:
            rejects.append(Reject(record.dataset, record.source_id, record.source_path, err.reason, err.detail))
            continue
        loaded += 1
        faces[sample_key(pixels)].append(record)
    samples = sorted((Sample.merge(k, rs) for k, rs in faces.items()), key=lambda s: (s.split, s.key))
    by_split: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_split[s.split].append(s)
    tokenizer = shared_tokenizer(config.tokenizer)
    size = config.tokenizer.batch_size or tokenizer.batch_size
    out = Path(config.output)
    for split, members in by_split.items():
        for index in range(0, len(members), config.samples_per_shard):
            shard = shard_name(split, index // config.samples_per_shard)
            chunk = members[index : index + config.samples_per_shard]
            done = []
            for start in range(0, len(chunk), size):
                batch = chunk[start : start + size]
                start_t = time.perf_counter()
                pixels = [load_face(s.first.image, s.first.box) for s in batch]
                codes = encode_faces(tokenizer, np.stack(pixels), size, pad=False)
                stages["TokenizeFaces"] = stages.get("TokenizeFaces", 0.0) + time.perf_counter() - start_t
                done += [Sample(s.key, s.split, s.records, shard, c) for s, c in zip(batch, codes, strict=True)]
            start_t = time.perf_counter()
            with atomic_open(str(out / "shards" / f"{shard}.tar")) as f:
                write_tar(f, (s.shard_sample().to_wds() for s in done))
            buf = io.BytesIO()
            write_manifest(manifest_table([r for s in done for r in s.manifest_rows()]), buf)
            write_bytes(str(out / "manifest" / f"{shard}.parquet"), buf.getvalue())
            stages["WriteShards"] = stages.get("WriteShards", 0.0) + time.perf_counter() - start_t
    by_dataset: dict[str, list[Reject]] = defaultdict(list)
    for r in rejects:
        by_dataset[r.dataset].append(r)
    for dataset, rs in by_dataset.items():
        write_bytes(str(out / "rejects" / f"{dataset}.jsonl"), jsonl(r.as_dict() for r in sorted(rs, key=lambda r: r.source_id)))
    _ = Counter(o.reason for o in outcomes if isinstance(o, Filtered))
    return Run("loop", config.tokenizer.preset or "", time.perf_counter() - t0, cpu_seconds() - c0,
               len(outcomes), loaded, len(samples), stages)


def beam_run(name: str, config: BuildConfig, beam_args: list[str]) -> Run:
    c0 = cpu_seconds()
    result = run_build(config, PipelineOptions(beam_args))
    m, totals = result.metrics, result.report.stats["totals"]
    stages = {s: m.get(f"{s}.msec", 0) / 1000 for s in ("ReadRecords", "LoadFaces", "TokenizeFaces", "WriteShards")}
    return Run(name, config.tokenizer.preset or "", result.seconds, cpu_seconds() - c0, totals["read"],
               totals["written"], totals["samples"], stages)


def table(runs: list[Run]) -> str:
    loops = {r.tokenizer: r for r in runs if r.name == "loop"}
    lines = ["| run | tokenizer | records | faces | wall s | CPU s | records/s | faces/s | read s | load s | "
             "tokenize s | write s | other s | wall / loop |", "|" + "---|" * 14]
    for r in runs:
        st = r.stages
        ratio = r.wall / loops[r.tokenizer].wall if r.tokenizer in loops else float("nan")
        lines.append(
            f"| {r.name} | {r.tokenizer} | {r.records} | {r.faces} | {r.wall:.1f} | {r.cpu:.1f} | "
            f"{r.records / r.wall:.1f} | {r.faces / r.wall:.2f} | {st.get('ReadRecords', 0):.2f} | "
            f"{st.get('LoadFaces', 0):.2f} | {st.get('TokenizeFaces', 0):.1f} | {st.get('WriteShards', 0):.2f} | "
            f"{r.wall - sum(st.values()):.1f} | {ratio:.2f} |"
        )
    return "\n".join(lines)


def flops_per_face(spec: TokenizerSpec) -> float:
    """Floating-point operations of one 256x256 face through the tokenizer's encoder (counted by torch)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    tokenizer = shared_tokenizer(spec)
    x = torch.zeros(1, 3, 256, 256, device=tokenizer.device)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        tokenizer.model.encode_latents(x)
    return float(counter.get_total_flops())


def projection(runs: list[Run], flops: float, gpus: int, gpu_tflops: float, decode_ms: float) -> str:
    """The full corpus from the measured costs; every assumption is in the text."""
    loop_ffhq = next(r for r in runs if r.name == "loop" and r.tokenizer == "ffhq-random")
    loop_tiny = next(r for r in runs if r.name == "loop" and r.tokenizer == "tiny-random")
    beam_tiny = next(r for r in runs if r.name == "beam" and r.tokenizer == "tiny-random")
    load_s = loop_tiny.stages["LoadFaces"] / max(loop_tiny.loaded, 1)
    encode_cpu_s = loop_ffhq.cpu / max(loop_ffhq.faces, 1)  # CPU seconds, all threads: not inflated by others' load
    beam_fixed = (beam_tiny.wall - sum(beam_tiny.stages.values())) - (loop_tiny.wall - sum(loop_tiny.stages.values()))
    cores = os.cpu_count() or 1
    decode_real_s = decode_ms / 1000
    cpu_hours = (FULL_RECORDS * decode_real_s + FULL_FACES * (decode_real_s + encode_cpu_s)) / 3600
    gpu_faces_per_s = gpu_tflops * 1e12 / flops
    gpu_hours = FULL_FACES / (gpus * gpu_faces_per_s) / 3600
    vcpus = 8
    cpu_side_h = (FULL_RECORDS + FULL_FACES) * decode_real_s / (gpus * vcpus) / 3600
    return "\n".join([
        f"* Measured in this run: decode + crop + resize {load_s * 1000:.1f} ms per fake face (~90x110 px JPEG); "
        f"the FFHQ-size encoder {flops / 1e9:.0f} GFLOP per face (torch's FLOP counter) and "
        f"{encode_cpu_s:.1f} CPU-seconds per face here (fp32, batch 8); Beam's fixed cost on the in-process "
        f"DirectRunner {beam_fixed:.1f} s per build (start-up, shuffles; within noise of the loop at this size).",
        f"* Assumed for the full corpus: {FULL_PAIRS / 1e6:.1f}M pairs from {FULL_RECORDS / 1e6:.1f}M records and "
        f"{FULL_FACES / 1e6:.1f}M unique faces; a real image costs {decode_ms:.0f} ms to decode and cut (CelebA is "
        "178x218, in-the-wild sets are larger; draft mode caps big JPEGs); each unique face is decoded twice.",
        f"* This machine ({cores} cores): ~{cpu_hours:,.0f} CPU-hours, ~{cpu_hours / cores / 24:,.0f} days on {cores} "
        f"cores; {FULL_FACES * encode_cpu_s / 3600 / cpu_hours:.0%} of it is the VQGAN. The DirectRunner also holds "
        "each stage's output in memory. Only trial builds (--limit) belong here.",
        f"* Dataflow, {gpus} workers with one GPU each (g2-standard-{vcpus}, L4): ASSUMING {gpu_tflops:.0f} TFLOP/s "
        f"sustained in bf16 for these convolutions (not measured: no GPU here; measure with bench/bench_tokenizers.py "
        f"on the worker GPU and pass --gpu-tflops), {gpu_faces_per_s:.0f} faces/s per GPU, so encoding takes "
        f"~{gpu_hours:.1f} h; decoding on the {vcpus} vCPUs of each worker ~{cpu_side_h:.1f} h, overlapping. "
        f"About {max(gpu_hours, cpu_side_h) + 0.2:.1f} h with start-up; shuffles carry ~2 KB of metadata per record "
        f"(~{FULL_RECORDS * 2e3 / 1e9:.0f} GB) and {FULL_FACES * 512 / 1e9:.1f} GB of codes.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer records (~3-5 min here)")
    parser.add_argument("--gpus", type=int, default=8, help="Dataflow GPU workers for the projection")
    parser.add_argument("--gpu-tflops", type=float, default=40.0,
                        help="assumed sustained bf16 TFLOP/s of one worker GPU on the encoder (L4: ~40 of 121 peak)")
    parser.add_argument("--decode-ms", type=float, default=10.0, help="assumed ms to decode and cut one real image")
    parser.add_argument("--keep", type=Path, help="keep the outputs in this folder")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each tiny-random build (the best is kept)")
    args = parser.parse_args()
    tiny_limit, ffhq_limit = (4, 1) if args.quick else (None, 2)
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-")) if args.keep is None else args.keep
    load0 = os.getloadavg()[0]
    make_all(work / "raw")
    datasets, _ = resolve_datasets(str(work / "raw"))
    runs: list[Run] = []
    for preset, limit, modes, repeat in (("tiny-random", tiny_limit, ("loop", "beam", "beam-mp"), args.repeat),
                                         ("ffhq-random", ffhq_limit, ("loop", "beam"), 1)):
        best: dict[str, Run] = {}
        for attempt in range(repeat):  # interleaved, best of `repeat`: the VM's load comes and goes
            for mode in modes:
                out = work / f"{mode}-{preset}"
                shutil.rmtree(out, ignore_errors=True)
                threads = max(1, (os.cpu_count() or 2) // 2) if mode == "beam-mp" else None  # no oversubscription
                config = BuildConfig(datasets=datasets, output=str(out),
                                     tokenizer=TokenizerSpec(preset=preset, threads=threads),
                                     samples_per_shard=16, limit=limit, cache=None, progress_every=10**9)
                if mode == "loop":
                    shared_tokenizer(config.tokenizer)  # load the model outside the timing, as Beam's setup() does
                    run = plain_loop(config)
                else:
                    mp = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"] if mode == "beam-mp" else []
                    run = beam_run(mode, config, mp)
                print(f"{mode} {preset} #{attempt + 1}: {run.wall:.1f} s", flush=True)
                if mode not in best or run.wall < best[mode].wall:
                    best[mode] = run
        runs += [best[m] for m in modes]
    print()
    print(f"load average at start {load0:.1f}, at end {os.getloadavg()[0]:.1f}; {os.cpu_count()} cores\n")
    print(table(runs))
    print()
    print(projection(runs, flops_per_face(TokenizerSpec(preset="ffhq-random")), args.gpus, args.gpu_tflops,
                     args.decode_ms))
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
