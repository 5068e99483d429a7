"""The demo: fake raw data for every dataset, a corpus built from it, a tiny model trained on it.

    python -m pipeline.demo DIR [--samples-per-shard N] [--train-steps N] [any Beam option]

1. Writes ``DIR/raw/<dataset>/`` (each dataset in its native layout, made by converters.fakes).
2. Builds ``DIR/corpus/`` with the tiny-random VQGAN on the DirectRunner (keeping the 256x256
   faces), logging each stage's rate as it goes; prints the per-dataset table, the time and
   throughput of each stage (Beam counters), and where the outputs are. A second run reuses the
   token cache in DIR/corpus/cache.
3. Draws ``DIR/contact_sheet.png`` with `talk2face inspect --sheet`.
4. Trains the tiny model on the shards for a short run (``DIR/train/``) and prints the validation
   loss per task as it falls.
5. Runs each inference template once with the trained model (``DIR/templates/``: face.png,
   caption.txt, labels.json). With random VQGAN weights and a minute of training these outputs
   show the chain works, not what a trained Talk2Face can do.
6. Shows learning (``DIR/signal/``, issue 13): a small corpus whose faces are drawn from their labels
   (``fake-root --signal``), built with the palette tokenizer, the ``signal`` preset trained on it for
   ``--signal-steps`` steps; prints held-out expression accuracy and age error beside chance, and
   writes ``DIR/signal/templates/`` (a face generated for a prompt, read back from its pixels; a
   caption and answers generated for that face). Off unless ``--signal-steps N`` is given.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from apache_beam.options.pipeline_options import PipelineOptions

from converters.fakes import make_all
from pipeline.build import BuildResult, run_build
from pipeline.config import BuildConfig, TokenizerSpec, resolve_datasets
from pipeline.inspect.cli import main as inspect_main
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
    parser.add_argument("--train-steps", type=int, default=60, help="tiny-model training steps; 0 skips training")
    parser.add_argument("--signal-steps", type=int, default=0,
                        help="steps of the learning phase on label-drawn faces (0, the default, skips it: at 400 steps it "
                             "takes ~3 minutes here and its scores are still at chance, bench/RESULTS.md issue 13)")
    args, beam_args = parser.parse_known_args(argv)
    setup_logging()
    raw, corpus = args.dir / "raw", args.dir / "corpus"
    written = make_all(raw)
    print(f"fake raw data for {len(written)} datasets in {raw}", flush=True)
    datasets, skipped = resolve_datasets(str(raw))
    config = BuildConfig(
        datasets=datasets, output=str(corpus), tokenizer=TokenizerSpec(preset="tiny-random"),
        samples_per_shard=args.samples_per_shard, skipped=skipped, progress_every=25, keep_images=True,
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
    sheet = args.dir / "contact_sheet.png"
    if inspect_main([str(corpus), "--sheet", str(sheet), "--n", "24"]) == 0:
        print(f"contact sheet: {sheet}")
    if args.train_steps > 0:
        train_and_generate(corpus, args.dir, args.train_steps)
    if args.signal_steps > 0:
        show_learning(args.dir / "signal", args.signal_steps)
    return result


SIGNAL_PROMPT = "The woman has long black hair, and she is smiling."


def show_learning(out: Path, steps: int, seed: int = 0) -> dict[str, Any]:
    """The learning phase: pipeline/signal.py's quick experiment, its held-out scores beside chance, and the templates."""
    import numpy as np
    from PIL import Image

    from converters.fakes.signal import read_back
    from model.tokenizers import load_image_tokenizer
    from model.train.sequences import SequenceBuilder
    from pipeline.signal import quick_experiment

    print(f"\nlearning from faces drawn from their labels ({out}): signal corpus, palette tokens, {steps} steps ...",
          flush=True)
    scores = quick_experiment(out, steps, seed, tasks="face_to_attributes,face_to_caption,caption_to_face")
    expr, age = scores["expression"], scores["age_mae"]
    print(f"\nheld-out faces (test + val) after {steps} steps ({scores['seconds']['train']:.0f} s of training):\n"
          f"  {'AffectNet expression accuracy':<30} {expr['value']:5.1f} %    chance {expr['chance']:5.1f} %   "
          f"(the commonest expression)      n={expr['n']}\n"
          f"  {'IMDB-WIKI age error (MAE)':<30} {age['value']:5.1f} years chance {age['chance']:5.1f} years "
          f"(the median age for every face) n={age['n']}")
    written = demo_templates(out / "train" / "checkpoint.pt", load_image_tokenizer(preset="palette"), out / "templates",
                             text=SIGNAL_PROMPT, questions=("affectnet expression:", "imdb age:"), seed=seed,
                             builder=SequenceBuilder(digits=bool(scores["digits"])))
    seen = read_back(np.asarray(Image.open(written["image"]).convert("RGB")))
    shown = f"{seen['hair_color']} hair, {'smiling' if seen['smiling'] else 'not smiling'}" if seen["found"] else "no face"
    print(f"  to image   {written['text']!r} -> {written['image']} (read back from its pixels: {shown})\n"
          f"  to caption -> {written['caption']!r}")
    for question, answer in written["labels"].items():
        print(f"  to attributes {question!r} -> {answer['text']!r}")
    scores["templates"] = {**written, "read_back": {k: seen[k] for k in ("found", "hair_color", "smiling")}}
    (out / "scores.json").write_text(json.dumps(scores, indent=2, default=str) + "\n", encoding="utf-8")
    return scores


def train_and_generate(corpus: Path, out: Path, steps: int) -> None:
    """Train the tiny model on the demo shards, print validation loss per task, run every template."""
    from model.train.trainer import TrainConfig, train

    every = max(steps // 3, 1)
    config = TrainConfig.preset("tiny")
    for name, value in {"train_shards": str(corpus / "shards"), "max_steps": steps, "warmup_steps": every // 2,
                        "eval_every": every, "eval_batches": 2, "log_every": every, "checkpoint_every": steps}.items():
        setattr(config, name, value)
    workdir = out / "train"
    print(f"\ntraining the tiny model for {steps} steps in {workdir} ...", flush=True)
    train(config, workdir)
    losses: dict[str, dict[int, float]] = {}
    with open(workdir / "val_log.csv", newline="") as f:
        for row in csv.DictReader(f):
            losses.setdefault(row["task"], {})[int(row["step"])] = float(row["loss"])
    steps_seen = sorted({s for per_task in losses.values() for s in per_task})
    print("\nvalidation loss per task\n" + f"{'task':<20}" + "".join(f"{'step ' + str(s):>11}" for s in steps_seen))
    for task, per_step in losses.items():
        print(f"{task:<20}" + "".join(f"{per_step.get(s, float('nan')):>11.3f}" for s in steps_seen))
    written = demo_templates(workdir / "checkpoint.pt", "tiny-random", out / "templates")
    print(f"\ntemplates ({out / 'templates'}):\n  to image   {written['text']!r} -> {written['image']}"
          f"\n  to caption -> {written['caption']!r}")
    for question, answer in written["labels"].items():
        print(f"  to attributes {question!r} -> {answer['text']!r} (read back as {answer['value']!r})")


def demo_templates(
    checkpoint: str | Path | Any,
    vqgan: Any,
    out_dir: str | Path,
    text: str = "This man has black hair. smiling : true ;",
    questions: Sequence[str] = ("celeba smiling:", "cacd age:", "affectnet expression:", "fairface race:"),
    seed: int = 0,
    builder: Any = None,
) -> dict[str, Any]:
    """Run every template once: text -> face (face.png), that face -> caption (caption.txt) and labels (labels.json).

    `checkpoint` is a checkpoint path or a Talk2Face; `vqgan` an ImageTokenizer or a preset name
    (``"tiny-random"``); `builder` the SequenceBuilder of the checkpoint's training (digits), default whole numbers.
    Returns what was written.
    """
    import numpy as np

    from model.checkpoint import load_talk2face
    from model.infer.cli import save_pngs
    from model.infer.templates import answer_questions, generate_captions, generate_image_codes
    from model.tokenizers import load_image_tokenizer

    model = load_talk2face(checkpoint) if isinstance(checkpoint, (str, Path)) else checkpoint
    model.eval()
    tokenizer = load_image_tokenizer(preset=vqgan) if isinstance(vqgan, str) else vqgan
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    codes = generate_image_codes(model, [text], n=1, seed=seed, builder=builder)[0]  # (1, 256)
    image = np.asarray(tokenizer.decode(codes), dtype=np.uint8)  # (1, 256, 256, 3)
    save_pngs(image, [out / "face.png"])
    face_codes = np.asarray(tokenizer.encode(image), dtype=np.uint16)  # the face as a user image would arrive
    caption = generate_captions(model, face_codes, builder=builder)[0]
    (out / "caption.txt").write_text(caption + "\n", encoding="utf-8")
    answers = answer_questions(model, np.repeat(face_codes, len(questions), axis=0), list(questions), builder=builder)
    labels = {a.question: {"text": a.text, "value": a.value} for a in answers}
    (out / "labels.json").write_text(json.dumps(labels, indent=2) + "\n", encoding="utf-8")
    return {"text": text, "image": str(out / "face.png"), "caption": caption, "labels": labels}


if __name__ == "__main__":
    main(sys.argv[1:])
