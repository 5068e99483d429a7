"""The paper's benchmarks (tables 2-4): which dataset and split each reads, and one run of each.

Tasks (``--task``), each on the test or val split of a corpus build's shards:

==========  ==============  ==================================================================
task        dataset         metric
==========  ==============  ==================================================================
age         cacd            MAE of the integer age answered to ``cacd age:`` (table 4, AE)
expression  affectnet       accuracy of ``affectnet expression:`` (table 4, ER)
race        fairface        accuracy of ``fairface race:`` (table 4, RC)
attributes  celeba          accuracy over the 40 ``celeba <attribute>:`` questions (table 4, MAC)
caption     celeba_text_hq  BLEU-4, ROUGE-L, METEOR, CIDEr against all captions of a face (table 3)
synthesis   mm_celeba_hq    FID and IS of faces generated from captions (table 2)
table5      (three)         the columns of Table 5: CelebA-HQ FID, CACD MAE, CelebA accuracy
==========  ==============  ==================================================================

``table5`` runs synthesis, age and attributes and reports each column as a number, or as not
available (None, with the reason in ``setting["not_available"]``) when the shards hold no such
faces or synthesis has no VQGAN / Inception network: never as zero. An answer that does not read back as a value of the right type (an age that is not an integer, an
expression that is not one of the dataset's) is wrong, as in the paper; with the default
constrained decoding every answer is a candidate. The scores are model/evaluate/metrics.py's; FID
and IS take features from the Inception network the user supplies (model/evaluate/inception.py).
The command line is model/evaluate/cli.py.

Synthesis compares with the faces stored in the shards (their ``jpg`` members, else the codes
decoded by the VQGAN). A stored face is decoded as any input image is (`decode_face`: bomb limit,
RGB from CMYK, 16-bit or palette modes, resized to 256x256); one that is unusable (a header
claiming huge dimensions, truncated, not an image) stops the run with a `ShardFaceError` naming
the shard and sample, before any face is generated: it is never skipped, so FID is always over
the faces asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from model.evaluate.inception import FeatureExtractor
from model.evaluate.metrics import (
    accuracy,
    age_mae,
    caption_metrics,
    fid_from_features,
    inception_score,
)
from model.infer.templates import (
    ANSWER_SAMPLING,
    CAPTION_SAMPLING,
    IMAGE_SAMPLING,
    answer_questions,
    check_image_tokenizer,
    generate_captions,
    generate_image_codes,
)
from model.sampling import SamplingConfig
from model.tokenizers.faces import FACE_SIZE, FaceError, decode_face
from model.train.sequences import SequenceBuilder
from model.train.shards import read_shard, resolve_shards
from model.transformer import Talk2Face
from schemas.records import Reasons
from schemas.sample import ShardSample
from schemas.text import LabelValue, TextProtocolError, parse_attributes

# -----------------------------------------------------------------------------
# Reading the evaluation split


@dataclass(frozen=True)
class EvalTask:
    """One benchmark: the dataset it reads, the kind of text, the attribute keys asked (None = every key)."""

    name: str
    dataset: str
    kind: str  # "attributes", "caption" or "synthesis"
    keys: tuple[str, ...] | None = None


TASKS: dict[str, EvalTask] = {
    "age": EvalTask("age", "cacd", "attributes", ("age",)),
    "expression": EvalTask("expression", "affectnet", "attributes", ("expression",)),
    "race": EvalTask("race", "fairface", "attributes", ("race",)),
    "attributes": EvalTask("attributes", "celeba", "attributes", None),
    "caption": EvalTask("caption", "celeba_text_hq", "caption"),
    "synthesis": EvalTask("synthesis", "mm_celeba_hq", "synthesis"),
}


def select_samples(
    shards: str | Path | Sequence[str | Path], dataset: str, kind: str, split: str = "auto", limit: int | None = None,
    with_jpg: bool = False,
) -> tuple[str, list[ShardSample]]:
    """The split's samples that hold a text of `kind` from `dataset` (at most `limit`); split "auto" = test, else val."""
    text_kind = "caption" if kind in ("caption", "synthesis") else "attributes"
    spec = str(shards) if isinstance(shards, (str, Path)) else [str(s) for s in shards]
    for candidate in (("test", "val") if split == "auto" else (split,)):
        try:
            urls = resolve_shards(spec, candidate)
        except FileNotFoundError:
            continue
        chosen: list[ShardSample] = []
        for url in urls:
            for s in read_shard(url, with_jpg):
                if s.split == candidate and any(t.dataset == dataset and t.kind == text_kind for t in s.texts):
                    if with_jpg and s.jpg is not None:
                        stored_face(s.jpg, f"{url}: sample {s.key}")  # fail before generating anything
                    chosen.append(s)
                    if limit is not None and len(chosen) >= limit:
                        break
            if limit is not None and len(chosen) >= limit:
                break
        if chosen:
            return candidate, chosen
    raise LookupError(f"no {split if split != 'auto' else 'test or val'} samples with {text_kind} texts of "
                      f"{dataset!r} in {shards!r}; check --shards, --split and --dataset")


def _prefix_of(sample: ShardSample, dataset: str) -> str:
    for t in sample.texts:
        if t.dataset == dataset and t.kind == "attributes":
            try:
                return parse_attributes(t.text)[0]
            except TextProtocolError:
                break
    return dataset


# -----------------------------------------------------------------------------
# Running a benchmark


@dataclass
class EvalResult:
    """A benchmark's scores (x100 except MAE, FID, IS), its setting, and per-item predictions."""

    task: str
    dataset: str
    split: str
    metrics: dict[str, Any]
    setting: dict[str, Any] = field(default_factory=dict)
    predictions: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Everything but the per-item predictions, as plain JSON types."""
        return {"task": self.task, "dataset": self.dataset, "split": self.split, "metrics": self.metrics,
                "setting": self.setting}

    def table(self) -> str:
        """The scores as a Markdown table."""
        rows = [f"| {self.task} ({self.dataset}, {self.split}) | value |", "|---|---|"]
        for key, value in self.metrics.items():
            if isinstance(value, dict):
                continue
            shown = "n/a" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)
            rows.append(f"| {key} | {shown} |")
        return "\n".join(rows)


def evaluate_analysis(
    model: Talk2Face, samples: Sequence[ShardSample], task: EvalTask, *, constrain: bool = True,
    config: SamplingConfig = ANSWER_SAMPLING, batch_size: int = 32, progress: str | None = None,
    builder: SequenceBuilder | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Ask every face its task's questions (``cacd age:``); MAE for ages, else accuracy (overall and per key)."""
    rows: list[tuple[int, str, str, LabelValue]] = []  # sample, question, key, label
    for i, s in enumerate(samples):
        labels = s.labels.get(task.dataset, {})
        prefix = _prefix_of(s, task.dataset)
        for key in task.keys if task.keys is not None else tuple(labels):
            if key in labels:
                rows.append((i, f"{prefix} {key}:", key, labels[key]))
    if not rows:
        raise LookupError(f"no {task.dataset} labels for keys {task.keys} in the selected samples")
    codes = np.stack([samples[i].tokens for i, _, _, _ in rows])
    answers = answer_questions(model, codes, [q for _, q, _, _ in rows], constrain=constrain, config=config,
                               batch_size=batch_size, progress=progress, builder=builder)
    predictions = [{"key": samples[i].key, "question": q, "answer": a.text, "value": a.value, "label": y}
                   for (i, q, _, y), a in zip(rows, answers)]
    values = [a.value for a in answers]
    labels_all = [y for _, _, _, y in rows]
    if task.keys == ("age",):
        ages = [v if isinstance(v, int) and not isinstance(v, bool) else None for v in values]
        return age_mae(ages, [int(y) for y in labels_all]), predictions
    metrics: dict[str, Any] = accuracy(values, labels_all)
    keys = sorted({k for _, _, k, _ in rows})
    if len(keys) > 1:
        per_key = {}
        for key in keys:
            pairs = [(v, y) for (_, _, k, y), v in zip(rows, values) if k == key]
            per_key[key] = accuracy([v for v, _ in pairs], [y for _, y in pairs])["accuracy"]
        metrics["mean_per_key_accuracy"] = float(np.mean(list(per_key.values())))
        metrics["per_key"] = per_key
    return metrics, predictions


def evaluate_captions(
    model: Talk2Face, samples: Sequence[ShardSample], dataset: str, *, config: SamplingConfig = CAPTION_SAMPLING,
    batch_size: int = 32, tokenizer: str = "auto", meteor: bool | None = None, progress: str | None = None,
    builder: SequenceBuilder | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Caption every face and score against all of its `dataset` captions."""
    hyps = generate_captions(model, np.stack([s.tokens for s in samples]), config=config, batch_size=batch_size,
                             progress=progress, builder=builder)
    refs = {s.key: [t.text for t in s.texts if t.dataset == dataset and t.kind == "caption"] for s in samples}
    metrics = caption_metrics({s.key: h for s, h in zip(samples, hyps)}, refs, tokenizer=tokenizer, meteor=meteor)
    metrics["n"] = float(len(samples))
    return metrics, [{"key": s.key, "caption": h, "references": refs[s.key]} for s, h in zip(samples, hyps)]


class ShardFaceError(ValueError):
    """A face stored in a shard (its jpg member) that cannot be used; the message names the shard and sample."""


STORED_FACE_MAX_PIXELS = 16 * FACE_SIZE * FACE_SIZE
"""Bomb limit for a stored face: the pipeline stores FACE_SIZE squares, so anything 16x that is hostile."""


def stored_face(jpg: bytes, where: str) -> np.ndarray:
    """A stored face as uint8 RGB (FACE_SIZE, FACE_SIZE, 3), through `decode_face`; raises ShardFaceError."""
    try:
        return decode_face(jpg, size=FACE_SIZE, max_pixels=STORED_FACE_MAX_PIXELS, name="its jpg member")
    except FaceError as err:
        detail = err.detail.split("; raise the limit")[0]  # --max-pixels is a build flag, not ours
        if err.reason == Reasons.IMAGE_TOO_LARGE:
            detail += f" (a stored face is {FACE_SIZE}x{FACE_SIZE}: a decompression bomb)"
        raise ShardFaceError(f"{where}: {err.reason}: {detail}; rebuild this shard with the pipeline "
                             "(or remove the sample)") from err


def real_faces(samples: Sequence[ShardSample], vqgan: Any) -> np.ndarray:
    """The samples' preprocessed faces: their stored JPEG (`stored_face`), else their codes decoded by the VQGAN."""
    faces = []
    for s in samples:
        if s.jpg is not None:
            faces.append(stored_face(s.jpg, f"sample {s.key}"))
        else:
            faces.append(np.asarray(vqgan.decode(s.tokens[None].astype(np.uint16)), dtype=np.uint8)[0])
    return np.stack(faces)


def evaluate_synthesis(
    model: Talk2Face, samples: Sequence[ShardSample], dataset: str, vqgan: Any, extractor: FeatureExtractor, *,
    config: SamplingConfig = IMAGE_SAMPLING, seed: int = 0, batch_size: int = 16, splits: int = 10,
    progress: str | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Generate one face from the first `dataset` caption of each sample; FID against the samples' faces, IS."""
    check_image_tokenizer(model, vqgan)
    texts = [next(t.text for t in s.texts if t.dataset == dataset and t.kind == "caption") for s in samples]
    codes = generate_image_codes(model, texts, n=1, config=config, seed=seed, batch_size=batch_size,
                                 progress=progress)[:, 0]
    fake = np.concatenate([np.asarray(vqgan.decode(codes[i : i + batch_size]), dtype=np.uint8)
                           for i in range(0, len(codes), batch_size)])
    real = real_faces(samples, vqgan)
    real_features, _ = extractor(real)
    fake_features, fake_probs = extractor(fake)
    metrics: dict[str, Any] = {"fid": fid_from_features(real_features, fake_features), "is": None, "is_std": None,
                               "n": float(len(samples)),
                               "real_from": "jpg" if all(s.jpg is not None for s in samples) else "vqgan codes"}
    if fake_probs is not None:
        metrics["is"], metrics["is_std"] = inception_score(fake_probs, splits=min(splits, len(fake_probs)))
    return metrics, [{"key": s.key, "text": t} for s, t in zip(samples, texts)]


TABLE5 = (("CelebA-HQ FID", "synthesis", "fid"), ("CACD MAE", "age", "mae"),
          ("CelebA Acc.", "attributes", "mean_per_key_accuracy"))  # column, task, metric


def evaluate_table5(model: Talk2Face, shards: str | Path | Sequence[str | Path], **options: Any) -> EvalResult:
    """Table 5's three columns for one model; a column whose data or networks are missing is None, with why."""
    metrics: dict[str, Any] = {}
    missing: dict[str, str] = {}
    runs: dict[str, Any] = {}
    for column, task, metric in TABLE5:
        try:
            result = evaluate(model, shards, task, **options)
        except ShardFaceError:
            raise  # a damaged shard is an error, not a column without data
        except (LookupError, ValueError) as err:
            metrics[column], missing[column] = None, str(err)
            continue
        value = result.metrics.get(metric, result.metrics.get("accuracy"))
        metrics[column] = value
        runs[column] = {"task": task, "dataset": result.dataset, "split": result.split, **result.setting}
    return EvalResult("table5", "cacd, celeba, mm_celeba_hq", "test or val", metrics,
                      {"runs": runs, "not_available": missing})


def evaluate(
    model: Talk2Face,
    shards: str | Path | Sequence[str | Path],
    task: str,
    *,
    dataset: str | None = None,
    split: str = "auto",
    limit: int | None = None,
    constrain: bool = True,
    config: SamplingConfig | None = None,
    batch_size: int = 32,
    vqgan: Any = None,
    extractor: FeatureExtractor | None = None,
    caption_tokenizer: str = "auto",
    meteor: bool | None = None,
    seed: int = 0,
    progress: bool = True,
    builder: SequenceBuilder | None = None,
) -> EvalResult:
    """Run one benchmark of TASKS on the test (else val) split of `shards`.

    `meteor`: None computes METEOR when Java is installed, False never, True always (fails without Java).
    `progress`: show progress over the task's batches on stderr (schemas.progress.track: a bar on a
    terminal, plain lines with rate and ETA otherwise).
    """
    if task == "table5":
        return evaluate_table5(model, shards, split=split, limit=limit, constrain=constrain, config=config,
                               batch_size=batch_size, vqgan=vqgan, extractor=extractor, seed=seed, progress=progress)
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)} or table5")
    spec = TASKS[task]
    if dataset is not None:
        spec = EvalTask(spec.name, dataset, spec.kind, spec.keys)
    model.eval()
    if spec.kind == "synthesis" and (vqgan is None or extractor is None):
        raise ValueError("synthesis needs a VQGAN (--vqgan-preset or --vqgan-config/--vqgan-checkpoint) and an "
                         "Inception network (--inception PATH)")
    split, samples = select_samples(shards, spec.dataset, spec.kind, split, limit, with_jpg=spec.kind == "synthesis")
    setting: dict[str, Any] = {"n_samples": len(samples), "digits": bool(builder is not None and builder.digits)}
    label = f"evaluate {task} ({spec.dataset}, {split}, {len(samples)} samples)" if progress else None
    metrics: dict[str, Any]
    if spec.kind == "attributes":
        cfg = config or ANSWER_SAMPLING
        metrics, preds = evaluate_analysis(model, samples, spec, constrain=constrain, config=cfg, batch_size=batch_size,
                                            progress=label, builder=builder)
        setting["constrained"] = constrain
    elif spec.kind == "caption":
        cfg = config or CAPTION_SAMPLING
        metrics, preds = evaluate_captions(model, samples, spec.dataset, config=cfg, batch_size=batch_size,
                                           tokenizer=caption_tokenizer, meteor=meteor, progress=label, builder=builder)
    else:
        cfg = config or IMAGE_SAMPLING
        assert vqgan is not None and extractor is not None
        metrics, preds = evaluate_synthesis(model, samples, spec.dataset, vqgan, extractor, config=cfg, seed=seed,
                                            batch_size=min(batch_size, 16), progress=label)
    setting["sampling"] = {"temperature": cfg.temperature, "top_k": cfg.top_k, "top_p": cfg.top_p, "seed": seed}
    return EvalResult(task, spec.dataset, split, metrics, setting, preds)


__all__ = [
    "TASKS",
    "EvalResult",
    "EvalTask",
    "ShardFaceError",
    "evaluate",
    "evaluate_analysis",
    "evaluate_captions",
    "evaluate_synthesis",
    "evaluate_table5",
    "real_faces",
    "select_samples",
    "stored_face",
]
