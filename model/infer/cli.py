"""``talk2face generate``: run one inference template from the command line (paper figure 3).

    talk2face generate --checkpoint runs/tiny/checkpoint.pt --vqgan-preset tiny-random \\
        --to image --text "This man has black hair. smiling : true ;" --n 4 --out faces/
    talk2face generate --checkpoint talk2face.bin --vqgan-config project.yaml --vqgan-checkpoint last.ckpt \\
        --to caption --image face.jpg
    talk2face generate --checkpoint talk2face.bin --vqgan-config project.yaml --vqgan-checkpoint last.ckpt \\
        --to attributes --image face.jpg --prompt "cacd age:" --prompt "affectnet expression:"
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model.checkpoint import load_talk2face
from model.infer.clip import rerank_by_clip
from model.infer.prompts import question_text
from model.infer.templates import (
    ANSWER_SAMPLING,
    CAPTION_SAMPLING,
    IMAGE_SAMPLING,
    answer_questions,
    check_declared,
    check_image_tokenizer,
    generate_captions,
    generate_image_codes,
)
from model.infer.trained import check_tokenizer_matches, resolve_digits, trained_with
from model.sampling import SamplingConfig
from model.tokenizers import load_image_tokenizer
from model.train.sequences import SequenceBuilder


def load_faces(paths: Sequence[str | Path]) -> np.ndarray:
    """Face images -> (N, 256, 256, 3) uint8 with the pipeline's preprocessing (model.tokenizers.faces.load_face)."""
    from model.tokenizers.faces import load_face

    return np.stack([load_face(str(p)) for p in paths])


def save_pngs(images: np.ndarray, paths: Sequence[str | Path]) -> None:
    """Write (N, H, W, 3) uint8 images as PNG files."""
    from PIL import Image

    for image, path in zip(images, paths):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.asarray(image, dtype=np.uint8)).save(path, format="PNG")


def _sampling_from_args(args: argparse.Namespace, default: SamplingConfig) -> SamplingConfig:
    return SamplingConfig(
        temperature=default.temperature if args.temperature is None else args.temperature,
        top_k=default.top_k if args.top_k is None else args.top_k,
        top_p=default.top_p if args.top_p is None else args.top_p,
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``talk2face generate`` argument parser."""
    p = argparse.ArgumentParser(prog="talk2face generate", description="Run a Talk2Face inference template (paper figure 3).")
    p.add_argument("--checkpoint", required=True, help="our checkpoint.pt or the released talk2face.bin")
    p.add_argument("--heads", type=int, default=12, help="attention heads of a talk2face.bin (not stored in it)")
    p.add_argument("--to", required=True, choices=("image", "caption", "attributes"), help="the template")
    p.add_argument("--text", action="append", default=[], help="to image: caption and/or attributes (repeatable)")
    p.add_argument("--image", action="append", default=[], help="to caption / attributes: a face image (repeatable)")
    p.add_argument("--prompt", action="append", default=[], help="to attributes: '<dataset> <key>:', e.g. 'cacd age:' (repeatable)")
    p.add_argument("--free", action="store_true", help="to attributes: do not limit answers to the dataset's label values")
    p.add_argument("--n", type=int, default=1, help="to image: samples per text (kept after CLIP re-ranking: --keep)")
    p.add_argument("--keep", type=int, default=None, help="to image: keep the best KEEP of --n by CLIP score (default: all)")
    p.add_argument("--clip-checkpoint", help="a local open_clip checkpoint for re-ranking image samples (optional)")
    p.add_argument("--clip-model", default="ViT-B-32", help="open_clip architecture of --clip-checkpoint")
    p.add_argument("--out", default="generated", help="to image: folder for the PNG files")
    p.add_argument("--vqgan-preset", help="VQGAN preset of model/tokenizers/vqgan.py (e.g. tiny-random)")
    p.add_argument("--vqgan-config", help="taming-transformers VQGAN config (YAML)")
    p.add_argument("--vqgan-checkpoint", help="taming-transformers VQGAN checkpoint")
    p.add_argument("--temperature", type=float, default=None, help="0 = greedy (default: 1.0 for images, greedy for text)")
    p.add_argument("--top-k", type=int, default=None, help="top-k filtering (default: 100 for images, off for text)")
    p.add_argument("--top-p", type=float, default=None, help="nucleus filtering (default: 0.95 for images, off for text)")
    p.add_argument("--seed", type=int, default=0, help="seed of the per-sample random generators")
    p.add_argument("--batch-size", type=int, default=16, help="rows sampled together")
    p.add_argument("--digits", default="auto", choices=("auto", "on", "off"),
                   help="numbers as single digits ('2 5'); auto: as the checkpoint was trained (off for talk2face.bin)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--json", action="store_true", help="print results as JSON lines")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``talk2face generate``: text -> face PNGs, face -> caption, face -> attribute value."""
    parser = build_parser()
    args = parser.parse_args(argv)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    if args.to == "image" and not args.text:
        parser.error("--to image needs --text (a caption, attributes or both)")
    if args.to in ("caption", "attributes") and not args.image:
        parser.error(f"--to {args.to} needs --image FACE (repeatable)")
    if args.to == "attributes" and not args.prompt:
        parser.error("--to attributes needs --prompt, e.g. --prompt 'cacd age:' or --prompt 'affectnet expression:'")
    if args.n < 1 or (args.keep is not None and not 1 <= args.keep <= args.n):
        parser.error("--n must be >= 1 and --keep between 1 and --n")
    try:
        model = load_talk2face(args.checkpoint, heads=args.heads).to(device)
        vqgan = load_image_tokenizer(args.vqgan_preset, args.vqgan_config, args.vqgan_checkpoint, device=str(device))
        check_image_tokenizer(model, vqgan)
        recorded = trained_with(args.checkpoint)  # read once for both checks
        check_tokenizer_matches(recorded, vqgan)
        builder = SequenceBuilder(digits=resolve_digits(recorded, args.digits))
        if args.to == "attributes":
            for q in args.prompt:
                question_text(q)
            for warning in check_declared(args.prompt, free=args.free):
                print(warning, file=sys.stderr)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        parser.error(str(err))
    emit: Callable[[dict[str, Any], str], None] = (
        (lambda record, line: print(json.dumps(record))) if args.json else (lambda record, line: print(line))
    )
    if args.to == "image":
        config = _sampling_from_args(args, IMAGE_SAMPLING)
        codes = generate_image_codes(model, args.text, n=args.n, config=config, seed=args.seed, batch_size=args.batch_size,
                                     progress="generate image", builder=builder)
        keep = args.keep or args.n
        for i, text in enumerate(args.text):
            images = np.asarray(vqgan.decode(codes[i]), dtype=np.uint8)
            images, scores = rerank_by_clip(images, text, args.clip_checkpoint, keep, args.clip_model, str(device))
            paths = [Path(args.out) / f"text{i:03d}_sample{j:02d}.png" for j in range(len(images))]
            save_pngs(images, paths)
            for j, path in enumerate(paths):
                score = None if scores is None else float(scores[j])
                emit({"text": text, "png": str(path), "clip_score": score}, f"{path}\t{text}")
        return 0
    try:
        faces = load_faces(args.image)
    except ValueError as err:  # model.tokenizers.faces.FaceError: not an image, truncated, a decompression bomb
        parser.error(f"--image: {err}")
    codes = np.asarray(vqgan.encode(faces), dtype=np.uint16)
    if args.to == "caption":
        config = _sampling_from_args(args, CAPTION_SAMPLING)
        for path, caption in zip(args.image, generate_captions(model, codes, config=config, seed=args.seed,
                                                               batch_size=args.batch_size, builder=builder,
                                                               progress="generate caption")):
            emit({"image": path, "caption": caption}, f"{path}\t{caption}")
        return 0
    config = _sampling_from_args(args, ANSWER_SAMPLING)
    rows = [(i, q) for i in range(len(args.image)) for q in args.prompt]
    answers = answer_questions(model, codes[[i for i, _ in rows]], [q for _, q in rows], constrain=not args.free,
                               config=config, seed=args.seed, batch_size=args.batch_size, progress="generate attributes",
                               builder=builder)
    for (i, _), answer in zip(rows, answers):
        shown = answer.value if answer.valid else "(invalid answer)"
        emit({"image": args.image[i], "question": answer.question, "text": answer.text, "value": answer.value},
             f"{args.image[i]}\t{answer.text}\t{shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
