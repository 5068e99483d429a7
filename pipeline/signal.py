"""`make signal`: a model that visibly learns from the shards (issue 13).

    python -m pipeline.signal DIR [--scale F] [--steps N] [--tasks all] [--seed S] [--limit N]

1. ``DIR/raw/``: every dataset drawn by the signal painter (``fake-root --signal``): faces show their
   labels, captions describe the face drawn.
2. ``DIR/corpus/``: the real build (``beam_runner.py --vqgan-preset palette --keep-images``).
3. ``DIR/train/``: the trainer's ``signal`` preset on the train split (``checkpoint.pt`` is kept).
4. ``talk2face evaluate`` on the held-out (test) split, constrained and free decoding: CelebA's drawn
   binary attributes, AffectNet expression, CACD age, CelebAText-HQ caption BLEU-4; text -> face read
   back from the decoded pixels (model/evaluate/pixels.py).
5. ``DIR/report.json`` (every figure with its chance level and target) and ``DIR/report.html``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

# the face features the signal painter draws for CelebA labels (its other 25 attributes are not drawn)
DRAWN = ("bald", "bangs", "black hair", "blond hair", "brown hair", "eyeglasses", "gray hair", "mustache",
         "no beard", "smiling", "wearing earrings", "wearing lipstick", "young")
TARGETS = {"attributes": (">=", 90.0, 50.0), "expression": (">=", 80.0, 100 / 7), "age_mae": ("<=", 6.0, 20.0),
           "bleu4": (">=", 25.0, 0.0), "text_to_face": (">=", 0.80, 0.10)}
"""figure -> (direction, target, nominal chance); accuracies and BLEU-4 x100, text -> face a fraction. The report's chance
is measured where it can be: the best constant answer (`constant_answer`) for attributes, expression and age, the
BLEU-4 of another held-out face's caption for captions."""


def build(raw: Path, corpus: Path, scale: float, seed: int) -> dict[str, Any]:
    """The signal raw root and its corpus (each skipped when already there)."""
    from converters.fakeroot import make_root
    from converters.fakeroot.signal import SignalPainter

    started = time.time()
    if not (raw / "expected.json").is_file():
        make_root(raw, scale, seed, painter=SignalPainter())
    if not (corpus / "stats.json").is_file():
        import beam_runner

        beam_runner.run(["--input-root", str(raw), "--output", str(corpus), "--vqgan-preset", "palette",
                         "--keep-images", "--samples-per-shard", "1000"])
    return {"scale": scale, "seed": seed, "seconds": round(time.time() - started, 1)}


def train_signal(corpus: Path, workdir: Path, steps: int | None, tasks: str, seed: int) -> dict[str, Any]:
    from model.train.trainer import TrainConfig, train

    config = TrainConfig.preset("signal")
    config.train_shards, config.seed, config.tasks = str(corpus / "shards"), seed, tasks
    if steps is not None:
        config.max_steps, config.eval_every = steps, max(1, steps // 8)
        config.warmup_steps = min(config.warmup_steps, max(1, steps // 10))
        config.checkpoint_every = max(1, steps // 4)
    started = time.time()
    train(config, workdir)
    return {"steps": config.max_steps, "tasks": tasks, "batch_size": config.batch_size,
            "model": config.model.__dict__, "seconds": round(time.time() - started, 1)}


def _evaluate(checkpoint: Path, shards: Path, task: str, out: Path, free: bool, limit: int,
              dataset: str | None = None) -> dict[str, Any]:
    from model.evaluate.cli import main as evaluate_main

    name = f"{task}{'-free' if free else ''}"
    argv = ["--checkpoint", str(checkpoint), "--shards", str(shards), "--task", task, "--split", "test",
            "--limit", str(limit), "--out", str(out / f"{name}.json"), "--predictions", str(out / f"{name}.jsonl"),
            "--no-meteor", "--caption-tokenizer", "basic"] + (["--free"] if free else []) + \
        (["--dataset", dataset] if dataset else [])
    evaluate_main(argv)
    result = json.loads((out / f"{name}.json").read_text())
    result["predictions"] = [json.loads(line) for line in (out / f"{name}.jsonl").read_text().splitlines()]
    return result


def _figure(name: str, value: float | None, n: int, constant: float | None = None) -> dict[str, Any]:
    """A figure beside its chance: the best constant answer's score on the same items when given, else the nominal."""
    direction, target, nominal = TARGETS[name]
    met = value is not None and (value >= target if direction == ">=" else value <= target)
    return {"value": value, "chance": nominal if constant is None else constant, "chance_nominal": nominal,
            "target": f"{direction} {target}", "met": bool(met), "n": n}


def constant_answer(predictions: Sequence[dict[str, Any]], kind: str) -> float | None:
    """The score of the best constant answer on these items: per question the commonest label (accuracy, %) or,
    for ages, the median (MAE). The fake root's labels are not uniform (CACD's ages span 48-62, most AffectNet
    faces are happy), so 1/k and ~20 years flatter a model that has learnt only the prior."""
    if not predictions:
        return None
    if kind == "mae":
        ages = np.array([float(p["label"]) for p in predictions])
        return float(np.mean(np.abs(ages - np.median(ages))))
    by_question: dict[str, list[Any]] = {}
    for p in predictions:
        by_question.setdefault(p["question"], []).append(p["label"])
    hits = sum(max(labels.count(v) for v in labels) for labels in by_question.values())
    return 100.0 * hits / len(predictions)


def evaluate_signal(checkpoint: Path, shards: Path, out: Path, limit: int, seed: int) -> dict[str, Any]:
    """Every figure of the issue, constrained and free, plus the text -> face pixel check and its ceiling."""
    from model.checkpoint import load_talk2face
    from model.evaluate.benchmarks import select_samples
    from model.evaluate.pixels import face_prompts, oracle_agreement, text_to_face
    from model.tokenizers import load_image_tokenizer

    out.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {}
    examples: dict[str, Any] = {}
    for free in (False, True):
        mode = "free" if free else "constrained"
        attrs = _evaluate(checkpoint, shards, "attributes", out, free, max(1, limit // 4))  # 40 questions a face
        drawn = [p for p in attrs["predictions"] if p["question"].split(" ", 1)[1].rstrip(":") in DRAWN]
        acc = 100.0 * float(np.mean([p["value"] == p["label"] for p in drawn])) if drawn else None
        expr = _evaluate(checkpoint, shards, "expression", out, free, limit)
        age = _evaluate(checkpoint, shards, "age", out, free, limit)
        figures[mode] = {
            "attributes": _figure("attributes", acc, len(drawn), constant_answer(drawn, "accuracy")),
            "expression": _figure("expression", expr["metrics"].get("accuracy"), len(expr["predictions"]),
                                  constant_answer(expr["predictions"], "accuracy")),
            "age_mae": _figure("age_mae", age["metrics"].get("mae"), len(age["predictions"]),
                               constant_answer(age["predictions"], "mae"))}
        figures[mode]["age_mae"]["invalid"] = age["metrics"].get("invalid")
        if not free:
            examples["answers"] = {"attributes": drawn[:40], "expression": expr["predictions"][:16],
                                   "age": age["predictions"][:16]}
    caption = _evaluate(checkpoint, shards, "caption", out, False, min(limit, 100))
    figures["caption"] = {"bleu4": _figure("bleu4", caption["metrics"].get("bleu4"), len(caption["predictions"])),
                          "metrics": {k: v for k, v in caption["metrics"].items() if not isinstance(v, dict)}}
    refs = [p["references"] for p in caption["predictions"]]
    if len(refs) > 1:  # chance: each face captioned with the first caption of the next held-out face
        from model.evaluate.metrics import caption_metrics

        shuffled = caption_metrics({str(i): refs[(i + 1) % len(refs)][0] for i in range(len(refs))},
                                   {str(i): r for i, r in enumerate(refs)}, tokenizer="basic", meteor=False)
        figures["caption"]["bleu4"]["chance"] = shuffled["bleu4"]
    examples["captions"] = caption["predictions"][:12]
    model = load_talk2face(checkpoint)
    palette = load_image_tokenizer(preset="palette")
    prompts = face_prompts(per_cell=2)
    scores, images = text_to_face(model, palette, prompts, seed=seed)
    _, celeba = select_samples(shards, "celeba", "attributes", "test", 60)
    labels = [{"hair_color": "none" if s.labels["celeba"].get("bald") else
               next((c for c in ("black", "brown", "blond", "gray") if s.labels["celeba"].get(f"{c} hair")), "red"),
               "smiling": s.labels["celeba"]["smiling"]} for s in celeba]
    keep = [i for i, s in enumerate(celeba) if sum(bool(s.labels["celeba"].get(f"{c} hair")) for c in
                                                   ("black", "brown", "blond", "gray")) <= 1]
    ceiling = oracle_agreement(np.stack([celeba[i].tokens for i in keep]), [labels[i] for i in keep], palette)
    figures["text_to_face"] = {"hair_and_smile": _figure("text_to_face", scores["hair_and_smile"], scores["n"]),
                               "hair": scores["hair"], "smile": scores["smile"], "found": scores["found"],
                               "ceiling_own_codes": ceiling,
                               "ceiling_drawn_prompts": prompt_ceiling(face_prompts(per_cell=6), palette, seed + 1)}
    examples["prompts"] = [{"text": p.text, "hair_color": p.hair_color, "smiling": p.smiling, **seen}
                           for p, seen in zip(prompts, scores["read_back"])]
    examples["prompt_images"] = images
    examples["heldout_codes"] = np.stack([s.tokens for s in celeba[:12]])
    examples["heldout_keys"] = [s.key for s in celeba[:12]]
    return {"figures": figures, "examples": examples}


def prompt_ceiling(prompts: Sequence[Any], tokenizer: Any, seed: int, size: tuple[int, int] = (64, 78)) -> dict[str, Any]:
    """The text -> face ceiling: faces drawn as each prompt asks (CelebA's picture size, saved as JPEG, preprocessed
    as the pipeline does), round-tripped through the image tokenizer and read back; a model can do no better."""
    import io
    from dataclasses import replace

    from converters.fakes.signal import HAIR_COLORS, draw, random_spec
    from model.evaluate.pixels import check_faces
    from model.tokenizers.faces import decode_face

    rng = np.random.default_rng(seed)
    faces = []
    for p in prompts:
        spec = replace(random_spec(rng), expression="happy" if p.smiling else "neutral", hair_color=p.hair_color,
                       hair_rgb=HAIR_COLORS[p.hair_color])
        buf = io.BytesIO()
        draw(spec, size, rng).save(buf, format="JPEG", quality=95)
        faces.append(decode_face(buf.getvalue()))
    pixels = np.stack(faces)
    decoded = np.asarray(tokenizer.decode(np.asarray(tokenizer.encode(pixels)).astype(np.int64)), dtype=np.uint8)
    keep = ("n", "hair_and_smile", "hair", "smile")
    return {"through_tokenizer": {k: v for k, v in check_faces(decoded, prompts).items() if k in keep},
            "pixels": {k: v for k, v in check_faces(pixels, prompts).items() if k in keep}}


QUICK_DATASETS = ("affectnet", "imdb_wiki", "mm_celeba_hq")
"""The quick experiment's datasets: an expression, an age and a caption dataset (a few hundred faces each). IMDB-WIKI
for ages: CACD splits by celebrity (90/5/5), so a small root has no held-out CACD face."""


def quick_experiment(out: Path, steps: int = 300, seed: int = 0, scale: float = 0.002,
                     tasks: str = "face_to_attributes", datasets: Sequence[str] = QUICK_DATASETS) -> dict[str, Any]:
    """The shrunken signal experiment of `make demo` and the quality test: a small signal root of `datasets`, the real
    build (palette tokens), the ``signal`` preset for `steps` steps on `tasks`, then held-out (test and val) scores of
    AffectNet expression and IMDB-WIKI age, each beside the best constant answer's ("chance": the commonest
    expression, the median age). Returns the figures; the checkpoint is ``out/train/checkpoint.pt``."""
    import beam_runner
    from converters.fakeroot import make_root
    from converters.fakeroot.signal import SignalPainter
    from model.checkpoint import load_talk2face
    from model.evaluate.benchmarks import evaluate
    from model.train.sequences import SequenceBuilder
    from model.train.trainer import TrainConfig, train

    started = time.time()
    raw, corpus, workdir = out / "raw", out / "corpus", out / "train"
    if not (raw / "expected.json").is_file():
        make_root(raw, scale, seed, painter=SignalPainter(), workers=1, only=datasets)
    if not (corpus / "stats.json").is_file():
        beam_runner.run(["--input-root", str(raw), "--output", str(corpus), "--datasets", ",".join(datasets),
                         "--vqgan-preset", "palette", "--samples-per-shard", "500"])
    built = time.time()
    config = TrainConfig.preset("signal")
    config.train_shards, config.tasks, config.seed = str(corpus / "shards"), tasks, seed
    config.dataset_weights = ",".join(w for w in config.dataset_weights.split(",") if w.split(":")[0] in datasets)
    config.max_steps, config.warmup_steps, config.log_every = steps, max(1, steps // 10), max(1, steps // 5)
    config.eval_every, config.checkpoint_every = 0, steps
    train(config, workdir)
    trained = time.time()
    model = load_talk2face(workdir / "checkpoint.pt")
    builder = SequenceBuilder(digits=config.digits)
    shards = corpus / "shards"
    scores: dict[str, Any] = {}
    for task in ("expression", "age"):
        rows = []
        for split in ("test", "val"):  # a small root may have no test faces of a dataset (AffectNet has train and val)
            try:
                rows += evaluate(model, shards, task, dataset="imdb_wiki" if task == "age" else None, split=split,
                                 builder=builder, progress=False).predictions
            except LookupError:
                continue
        if not rows:
            raise LookupError(f"no held-out (test or val) faces for {task} in {shards}; raise --scale")
        labels = [p["label"] for p in rows]
        if task == "age":
            median = float(np.median(labels))
            mae = [abs(p["value"] - p["label"]) if isinstance(p["value"], int) else None for p in rows]
            scores["age_mae"] = {"value": float(np.mean([m if m is not None else 100 for m in mae])),
                                 "chance": float(np.mean([abs(y - median) for y in labels])), "n": len(rows)}
        else:
            commonest = max(set(labels), key=labels.count)
            scores["expression"] = {"value": 100.0 * float(np.mean([p["value"] == p["label"] for p in rows])),
                                    "chance": 100.0 * labels.count(commonest) / len(labels), "n": len(rows)}
    scores["seconds"] = {"build": round(built - started, 1), "train": round(trained - built, 1),
                         "evaluate": round(time.time() - trained, 1)}
    scores["steps"], scores["tasks"], scores["digits"] = steps, tasks, config.digits
    return scores


def compare_digits(corpus: Path, out: Path, steps: int, seed: int, limit: int) -> dict[str, Any]:
    """Age MAE with ages as whole WordPiece tokens ("25") and as single digits ("2 5"): two face -> attributes runs."""
    from model.evaluate.cli import main as evaluate_main
    from model.train.trainer import TrainConfig, train

    result: dict[str, Any] = {"steps": steps, "tasks": "face_to_attributes", "chance_mae": TARGETS["age_mae"][2]}
    for digits in (False, True):
        name = "digits" if digits else "whole"
        config = TrainConfig.preset("signal")
        config.train_shards, config.seed, config.tasks, config.digits = str(corpus / "shards"), seed, "face_to_attributes", digits
        config.max_steps, config.eval_every, config.checkpoint_every = steps, 0, steps
        config.warmup_steps = min(config.warmup_steps, max(1, steps // 10))
        started = time.time()
        train(config, out / name)
        seconds = time.time() - started
        ask = ["--checkpoint", str(out / name / "checkpoint.pt"), "--shards", str(corpus / "shards"), "--task", "age",
               "--split", "test", "--limit", str(limit), "--out", str(out / f"{name}-age.json")]
        evaluate_main(ask)
        metrics = json.loads((out / f"{name}-age.json").read_text())["metrics"]
        result[name] = {"age_mae": metrics.get("mae"), "invalid": metrics.get("invalid"), "n": metrics.get("n"),
                        "train_seconds": round(seconds, 1)}
    maes = {k: result[k]["age_mae"] for k in ("whole", "digits")}
    result["better"] = min(maes, key=lambda k: float("inf") if maes[k] is None else maes[k])
    return result


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="folder for raw/, corpus/, train/, eval/ and the reports")
    parser.add_argument("--scale", type=float, default=0.003, help="fake-root scale (0.003: a ~2-minute build)")
    parser.add_argument("--steps", type=int, help="training steps (default: the signal preset's)")
    parser.add_argument("--tasks", default="all", help="tasks to train (the trainer's --set tasks=...)")
    parser.add_argument("--limit", type=int, default=200, help="held-out faces per benchmark")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare-digits", type=int, default=0, metavar="STEPS",
                        help="also train face -> attributes twice (ages whole / as digits) for STEPS steps; 0 skips")
    parser.add_argument("--skip-main", action="store_true", help="only the digits comparison (with --compare-digits)")
    args = parser.parse_args(argv)
    from pipeline.meter import setup_logging
    from pipeline.signal_report import write_reports

    setup_logging()
    out: Path = args.dir
    corpus, workdir = out / "corpus", out / "train"
    report: dict[str, Any] = {"build": build(out / "raw", corpus, args.scale, args.seed)}
    if args.compare_digits:
        report["digits"] = compare_digits(corpus, out / "digits", args.compare_digits, args.seed, args.limit)
        (out / "digits.json").write_text(json.dumps(report["digits"], indent=2) + "\n")
        print(json.dumps(report["digits"], indent=2))
        if args.skip_main:
            return report
    elif (out / "digits.json").is_file():
        report["digits"] = json.loads((out / "digits.json").read_text())
    report["train"] = train_signal(corpus, workdir, args.steps, args.tasks, args.seed)
    started = time.time()
    result = evaluate_signal(workdir / "checkpoint.pt", corpus / "shards", out / "eval", args.limit, args.seed)
    report["evaluate_seconds"] = round(time.time() - started, 1)
    report["figures"] = result["figures"]
    write_reports(out, report, result["examples"], workdir)
    print(json.dumps(report["figures"], indent=2))
    print(f"report: {out / 'report.json'}, {out / 'report.html'}")
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
