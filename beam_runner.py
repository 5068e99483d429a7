"""Build the Talk2Face corpus with Apache Beam: raw datasets in, WebDataset shards + manifest + stats out.

    python beam_runner.py --input-root ROOT --output OUT --vqgan-preset tiny-random
    python beam_runner.py --input-root gs://bucket/raw --output gs://bucket/corpus \\
        --vqgan-config gs://bucket/vqgan/project.yaml --vqgan-checkpoint gs://bucket/vqgan/last.ckpt \\
        --runner DataflowRunner --project P --region R --temp_location gs://bucket/tmp \\
        --sdk_container_image REGION-docker.pkg.dev/P/REPO/talk2face-beam-gpu:0.1.0 --vqgan-device cuda

Our flags are parsed here; every other flag is a standard Beam pipeline option (``--runner``,
``--direct_running_mode``, ``--direct_num_workers``, ``--dask_client_address``, Dataflow's ...).
docs/RUNNING.md has the command line for each runner.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence

from apache_beam.options.pipeline_options import PipelineOptions, SetupOptions

from model.tokenizers import preset_names
from pipeline import BuildConfig, BuildResult, TokenizerSpec, resolve_datasets, run_build
from pipeline.config import (
    DEFAULT_MAX_CLUSTERED,
    DEFAULT_SAMPLES_PER_SHARD,
    check_output_location,
    select_datasets_by_terms,
)
from pipeline.meter import setup_logging
from schemas.source import TERMS_CLASSES, parse_accept_terms

RUNNER_ALIASES = {"daskrunner": "apache_beam.runners.dask.dask_runner.DaskRunner",
                  "dask": "apache_beam.runners.dask.dask_runner.DaskRunner"}


def dataset_override(text: str) -> tuple[str, str]:
    key, sep, path = text.partition("=")
    if not sep or not key or not path:
        raise argparse.ArgumentTypeError(f"--dataset takes KEY=PATH (e.g. celeba=/data/CelebA), got {text!r}")
    return key.strip(), path.strip()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Build the Talk2Face corpus. Flags not listed here are passed to Beam as pipeline options.",
    )
    p.add_argument("--input-root", help="folder (any fsspec URL) holding one folder per dataset key")
    p.add_argument("--output", required=True, help="output folder (any fsspec URL): shards/, manifest/, stats.json, ...")
    p.add_argument("--datasets", help="comma-separated dataset keys to build (default: all that are present)")
    p.add_argument("--dataset", action="append", type=dataset_override, default=[], metavar="KEY=PATH",
                   help="take dataset KEY from PATH instead of ROOT/KEY (repeatable)")
    vq = p.add_argument_group("tokenizer (one of)")
    vq.add_argument("--vqgan-config", help="taming project.yaml: a VQModel, GumbelVQ or Net2NetTransformer log "
                                           "(the paper's ffhq_transformer/configs/2021-04-23T18-19-01-project.yaml)")
    vq.add_argument("--vqgan-checkpoint", help="taming last.ckpt beside that project.yaml")
    vq.add_argument("--vqgan-preset", choices=preset_names(),
                    help="seeded RANDOM weights, for trials and benchmarks (codes mean nothing); "
                         "palette: NOT A VQGAN, 16x16 patch colours, fast, for pipeline trials")
    vq.add_argument("--vqgan-device", help="torch device for encoding (default: cuda when present)")
    vq.add_argument("--vqgan-batch-size", type=int, help="faces per encode call (default 32 on CUDA, 8 on CPU)")
    vq.add_argument("--vqgan-threads", type=int,
                    help="torch CPU threads per worker process (default all cores; with N worker processes, cores / N)")
    p.add_argument("--keep-images", action="store_true", help="also store each 256x256 face as <key>.jpg")
    p.add_argument("--samples-per-shard", type=int, default=DEFAULT_SAMPLES_PER_SHARD,
                   help=f"samples per tar shard (default {DEFAULT_SAMPLES_PER_SHARD})")
    p.add_argument("--limit", type=int, help="read only the first N records of each dataset (trial builds)")
    p.add_argument("--max-pixels", type=int, help="decompression-bomb limit in pixels (default: Pillow's, ~89.5M)")
    cache = p.add_mutually_exclusive_group()
    cache.add_argument("--token-cache", help="token cache folder (default OUT/cache)")
    cache.add_argument("--no-token-cache", action="store_true", help="encode every face, cache nothing")
    p.add_argument("--progress-every", type=int, default=1000, help="log each stage's rate every N elements")
    leaks = p.add_argument_group("photo ids and split policy")
    leaks.add_argument("--split-policy", choices=("merge", "report"), default="merge",
                       help="merge (default): exact copies, faces of one photo and near-duplicates go to "
                            "their most held-out split; report: keep every official split, count the leaks")
    leaks.add_argument("--celeba-hq-mapping", metavar="PATH",
                       help="CelebA-HQ-to-CelebA-mapping.txt (default: looked for in mm_celeba_hq/, celeba_text_hq/, celeba/)")
    leaks.add_argument("--near-dup-threshold", type=int, default=4,
                       help="near-duplicate faces differ in at most this many of 64 perceptual-hash bits (default 4)")
    leaks.add_argument("--max-clustered-samples", type=int, default=DEFAULT_MAX_CLUSTERED, metavar="N",
                       help="stop when more than N samples (or 10N pairs) are linked to another one: the clustering "
                            "step holds them on one worker (default %(default)s, ~1 KB each)")
    terms = p.add_argument_group("sources and terms")
    terms.add_argument("--accept-terms", metavar="CLASS,...",
                       help="build only the datasets whose terms class is one of these (e.g. research-only,cc-by-4.0; "
                            "classes: " + ", ".join(TERMS_CLASSES) + "); the card says what was left out and why")
    terms.add_argument("--strict-sources", action="store_true",
                       help="fail when a converter declares no source and terms (default: a warning)")
    return p


def parse_args(argv: Sequence[str] | None = None) -> tuple[BuildConfig, list[str]]:
    """Our flags as a BuildConfig, and the rest for Beam; dataset folders are resolved here."""
    p = parser()
    args, beam_args = p.parse_known_args(argv)
    if args.vqgan_preset is None and args.vqgan_config is None and args.vqgan_checkpoint is None:
        p.error("choose the tokenizer: --vqgan-config YAML --vqgan-checkpoint CKPT (the FFHQ f=16 VQGAN), "
                "or --vqgan-preset tiny-random for a trial build")
    try:
        tokenizer = TokenizerSpec(preset=args.vqgan_preset, config=args.vqgan_config, checkpoint=args.vqgan_checkpoint,
                                  device=args.vqgan_device, batch_size=args.vqgan_batch_size,
                                  threads=args.vqgan_threads)
        keys = [k.strip() for k in args.datasets.split(",") if k.strip()] if args.datasets else None
        check_output_location(args.output, args.input_root, dict(args.dataset), args.token_cache)
        datasets, skipped = resolve_datasets(args.input_root, keys, dict(args.dataset))
        accept = parse_accept_terms(args.accept_terms) if args.accept_terms is not None else None
        datasets, left_out = select_datasets_by_terms(datasets, accept, args.strict_sources)
        config = BuildConfig(
            datasets=datasets, output=args.output.rstrip("/"), tokenizer=tokenizer, keep_images=args.keep_images,
            samples_per_shard=args.samples_per_shard, limit=args.limit, max_pixels=args.max_pixels,
            cache=None if args.no_token_cache else (args.token_cache or ""), skipped=skipped,
            progress_every=args.progress_every, split_policy=args.split_policy,
            celeba_hq_mapping=args.celeba_hq_mapping, near_dup_threshold=args.near_dup_threshold,
            max_clustered=args.max_clustered_samples,
            accept_terms=accept, left_out_by_terms=left_out, command=command_line(argv),
        )
    except ValueError as err:  # one line, status 2, before any pipeline work (no usage dump: the flags parsed)
        p.exit(2, f"{p.prog}: error: {err}\n")
    return config, dask_partitions(runner_aliases(beam_args))


def command_line(argv: Sequence[str] | None) -> str:
    """The build's command line as a person would retype it (for the dataset card)."""
    return shlex.join(["talk2face", "build", *(sys.argv[1:] if argv is None else argv)])


def runner_aliases(beam_args: Sequence[str]) -> list[str]:
    """Beam options with ``--runner DaskRunner`` spelled as the class path Beam needs for it."""
    out = list(beam_args)
    for i, arg in enumerate(out):
        name, sep, value = arg.partition("=")
        if name == "--runner" and sep and value.lower() in RUNNER_ALIASES:
            out[i] = f"--runner={RUNNER_ALIASES[value.lower()]}"
        elif arg == "--runner" and i + 1 < len(out) and out[i + 1].lower() in RUNNER_ALIASES:
            out[i + 1] = RUNNER_ALIASES[out[i + 1].lower()]
    return out


def dask_partitions(beam_args: Sequence[str]) -> list[str]:
    """Beam options with ``--dask_partition_size=1`` added on the DaskRunner unless its partitioning is given.

    Beam 2.77's DaskRunner makes a `beam.Create` one Dask bag partition of up to 128 elements and
    keeps a bag's partition count through every GroupByKey (and Reshuffle is a no-op there), so
    the build's dozen datasets would be one partition and every stage one task on one worker
    (bench/RESULTS.md, "Builds at scale"). One dataset per partition spreads the build.
    """
    out = list(beam_args)
    names = {arg.partition("=")[0] for arg in out}
    runner = next((arg.partition("=")[2] or (out[i + 1] if i + 1 < len(out) else "")
                   for i, arg in enumerate(out) if arg.partition("=")[0] == "--runner"), "")
    if runner.endswith("DaskRunner") and not names & {"--dask_npartitions", "--dask_partition_size"}:
        out.append("--dask_partition_size=1")
    return out


def run(argv: Sequence[str] | None = None) -> BuildResult:
    """Build the corpus as the command line says; returns the verified result (raises if it does not add up)."""
    config, beam_args = parse_args(argv)
    options = PipelineOptions(beam_args)
    options.view_as(SetupOptions).save_main_session = False
    result = run_build(config, options)
    print(result.report.table())
    print(f"corpus written to {config.output} ({result.seconds:.1f} s)")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """The console entry point (``python beam_runner.py``, ``talk2face build``): log progress, build, print the table."""
    setup_logging()
    run(sys.argv[1:] if argv is None else list(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
