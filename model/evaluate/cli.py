"""``talk2face evaluate``: one benchmark of model/evaluate/benchmarks.py, printed as a table, optionally as JSON.

    talk2face evaluate --checkpoint talk2face.bin --shards out/shards --task age
    talk2face evaluate --checkpoint runs/small/checkpoint.pt --shards out/shards --task caption --limit 500 --out caption.json
    talk2face evaluate --checkpoint talk2face.bin --shards out/shards --task synthesis \\
        --vqgan-config project.yaml --vqgan-checkpoint last.ckpt --inception inception-2015-12-05.pt --limit 1000
    talk2face evaluate --checkpoint runs/cacd-only/checkpoint.pt --shards out/shards --task table5 \\
        --vqgan-config project.yaml --vqgan-checkpoint last.ckpt --inception inception-2015-12-05.pt

``--task table5`` prints Table 5's columns (CelebA-HQ FID, CACD MAE, CelebA Acc.); a column the shards
have no data for (or, for FID, no --vqgan-* / --inception) is "n/a", never 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from model.checkpoint import load_talk2face
from model.evaluate.benchmarks import TASKS, evaluate
from model.evaluate.inception import load_feature_extractor
from model.infer.templates import ANSWER_SAMPLING, IMAGE_SAMPLING
from model.infer.trained import check_shards_match, check_tokenizer_matches, resolve_digits, trained_with
from model.sampling import SamplingConfig
from model.tokenizers import load_image_tokenizer
from model.train.sequences import SequenceBuilder
from model.train.shards import resolve_shards


def build_parser() -> argparse.ArgumentParser:
    """The ``talk2face evaluate`` argument parser."""
    p = argparse.ArgumentParser(prog="talk2face evaluate", description="Score Talk2Face on the paper's benchmarks.")
    p.add_argument("--checkpoint", required=True, help="our checkpoint.pt or the released talk2face.bin")
    p.add_argument("--heads", type=int, default=12, help="attention heads of a talk2face.bin")
    p.add_argument("--shards", required=True, help="a build's shards: directory, glob, brace pattern or URL")
    p.add_argument("--task", required=True, choices=[*sorted(TASKS), "table5"],
                   help="the benchmark; table5: CelebA-HQ FID, CACD MAE and CelebA accuracy together")
    p.add_argument("--dataset", help="read another dataset's labels or captions (default: the paper's for the task)")
    p.add_argument("--split", default="auto", choices=("auto", "test", "val"), help="auto: test if present, else val")
    p.add_argument("--limit", type=int, help="at most this many faces (synthesis: the paper generates 1,000)")
    p.add_argument("--free", action="store_true", help="analysis: answers in free text, not limited to label values")
    p.add_argument("--temperature", type=float, help="sampling temperature (default: greedy for text, 1.0 for faces)")
    p.add_argument("--top-k", type=int, help="top-k filtering (default: off for text, 100 for faces)")
    p.add_argument("--top-p", type=float, help="nucleus filtering (default: off for text, 0.95 for faces)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--caption-tokenizer", default="auto", choices=("auto", "ptb", "basic"),
                   help="caption tokenisation before BLEU/ROUGE/CIDEr (ptb needs Java)")
    p.add_argument("--no-meteor", action="store_true", help="caption: skip METEOR (it needs Java and ~1 GB)")
    p.add_argument("--vqgan-preset", help="synthesis: VQGAN preset")
    p.add_argument("--vqgan-config", help="synthesis: taming VQGAN config (YAML)")
    p.add_argument("--vqgan-checkpoint", help="synthesis: taming VQGAN checkpoint")
    p.add_argument("--inception", help="synthesis: Inception network, TorchScript (or a state dict with --inception-factory)")
    p.add_argument("--inception-factory", help="synthesis: package.module:function that builds the network for a state dict")
    p.add_argument("--digits", default="auto", choices=("auto", "on", "off"),
                   help="numbers as single digits ('2 5'); auto: as the checkpoint was trained (off for talk2face.bin)")
    p.add_argument("--out", help="write the results as JSON here")
    p.add_argument("--predictions", help="write one JSON line per item (answer, caption or text) here")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    return p


def shard_urls(spec: str, split: str) -> list[str]:
    """The shards of the split evaluated (auto: test, else val): the ones whose vocabulary is checked."""
    for candidate in (("test", "val") if split == "auto" else (split,)):
        try:
            return resolve_shards(spec, candidate)
        except FileNotFoundError:
            continue
    raise FileNotFoundError(f"no {'test or val' if split == 'auto' else split} shards in {spec!r}; check --shards and --split")


def main(argv: Sequence[str] | None = None) -> int:
    """``talk2face evaluate``: one benchmark, printed as a table, optionally written as JSON."""
    parser = build_parser()
    args = parser.parse_args(argv)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    config = None
    if any(v is not None for v in (args.temperature, args.top_k, args.top_p)):
        base = IMAGE_SAMPLING if args.task == "synthesis" else ANSWER_SAMPLING
        config = SamplingConfig(base.temperature if args.temperature is None else args.temperature,
                                base.top_k if args.top_k is None else args.top_k,
                                base.top_p if args.top_p is None else args.top_p)
    vqgan = extractor = None
    try:
        model = load_talk2face(args.checkpoint, heads=args.heads).to(device)
        recorded = trained_with(args.checkpoint)  # read once for every check below
        has_vqgan = args.vqgan_preset or args.vqgan_config or args.vqgan_checkpoint
        if args.task == "synthesis" or (args.task == "table5" and has_vqgan and args.inception):
            vqgan = load_image_tokenizer(args.vqgan_preset, args.vqgan_config, args.vqgan_checkpoint, device=device)
            if not args.inception:
                raise ValueError("--task synthesis needs --inception PATH (a local Inception network; nothing is downloaded)")
            extractor = load_feature_extractor(args.inception, args.inception_factory, device)
            check_tokenizer_matches(recorded, vqgan)
        check_shards_match(recorded, model, shard_urls(args.shards, args.split))
        builder = SequenceBuilder(digits=resolve_digits(recorded, args.digits))
        result = evaluate(model, args.shards, args.task, dataset=args.dataset, split=args.split, limit=args.limit,
                          constrain=not args.free, config=config, batch_size=args.batch_size, vqgan=vqgan,
                          extractor=extractor, caption_tokenizer=args.caption_tokenizer,
                          meteor=False if args.no_meteor else None, seed=args.seed, builder=builder)
    except (ValueError, FileNotFoundError, LookupError, RuntimeError) as err:
        parser.error(str(err))
    result.setting["checkpoint"] = str(args.checkpoint)
    print(result.table())
    if args.out:
        Path(args.out).write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    if args.predictions:
        with open(args.predictions, "w", encoding="utf-8") as f:
            for row in result.predictions:
                f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
