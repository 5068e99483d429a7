"""Evaluation of Talk2Face on the paper's benchmarks (tables 2-4) and ``talk2face evaluate``.

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
==========  ==============  ==================================================================

An answer that does not read back as a value of the right type (an age that is not an integer, an
expression that is not one of the dataset's) is wrong, as in the paper; with the default
constrained decoding every answer is a candidate. Caption metrics are the COCO caption evaluation
code (pycocoevalcap: BLEU, ROUGE-L, CIDEr-D, and METEOR when Java is installed), with sacreBLEU and
rouge-score beside them. FID and IS take features and class probabilities from an Inception network
the user supplies (``--inception``, nothing is downloaded); the formulas take plain matrices
(`frechet_distance`, `inception_score`). Every score is reported x100 except FID and IS, as the paper
reports them; results come as a table and as JSON::

    talk2face evaluate --checkpoint talk2face.bin --shards out/shards --task age
    talk2face evaluate --checkpoint runs/small/checkpoint.pt --shards out/shards --task caption --limit 500 --out caption.json
    talk2face evaluate --checkpoint talk2face.bin --shards out/shards --task synthesis --vqgan-preset ffhq \\
        --inception inception-2015-12-05.pt --limit 1000
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from model.generate import (
    ANSWER_SAMPLING,
    CAPTION_SAMPLING,
    IMAGE_SAMPLING,
    answer_questions,
    generate_captions,
    generate_image_codes,
    load_image_tokenizer,
    load_talk2face,
)
from model.sampling import SamplingConfig
from model.transformer import Talk2Face
from schemas.sample import SampleError, ShardSample
from schemas.text import LabelValue, TextProtocolError, parse_attributes

# -----------------------------------------------------------------------------
# Facial analysis metrics


def age_mae(predictions: Sequence[int | None], labels: Sequence[int]) -> dict[str, float]:
    """Mean absolute error of integer age answers; None (not an integer) is counted apart as invalid.

    Returns ``mae`` over the valid answers, ``invalid`` (their count), ``invalid_rate`` and ``n``.
    """
    if len(predictions) != len(labels):
        raise ValueError(f"{len(predictions)} predictions for {len(labels)} labels")
    errors = [abs(p - y) for p, y in zip(predictions, labels) if p is not None]
    invalid = len(labels) - len(errors)
    return {
        "mae": float(np.mean(errors)) if errors else float("nan"),
        "invalid": float(invalid),
        "invalid_rate": 100.0 * invalid / max(len(labels), 1),
        "n": float(len(labels)),
    }


def accuracy(predictions: Sequence[LabelValue | None], labels: Sequence[LabelValue]) -> dict[str, float]:
    """Accuracy x100 of typed answers against labels; None (not a candidate) is wrong and counted as invalid."""
    if len(predictions) != len(labels):
        raise ValueError(f"{len(predictions)} predictions for {len(labels)} labels")
    correct = sum(p is not None and type(p) is type(y) and p == y for p, y in zip(predictions, labels))
    invalid = sum(p is None for p in predictions)
    n = max(len(labels), 1)
    return {"accuracy": 100.0 * correct / n, "invalid": float(invalid), "invalid_rate": 100.0 * invalid / n,
            "n": float(len(labels))}


# -----------------------------------------------------------------------------
# Caption metrics: the COCO caption evaluation code, plus sacreBLEU and rouge-score

# PTBTokenizer (pycocoevalcap/tokenizer/ptbtokenizer.py) drops these tokens after lower-casing; brackets
# come out of it as -lrb- etc., which its upper-case list misses, so they stay (we keep that quirk)
_PUNCTUATION = {"''", "'", "``", "`", ".", "?", "!", ",", ":", "-", "--", "...", ";", '"'}
_BRACKETS = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-"}
_TOKEN = re.compile(
    r"[a-z0-9]+(?=n't\b)"  # "do" of "don't"
    r"|n't\b|'[a-z]+"  # clitics: n't, 's, 're, 've, 'll, 'd, 'm
    r"|[a-z0-9]+(?:[-./][a-z0-9]+)*"  # words, hyphenated words, numbers such as 3.5
    r"|\.\.\.|--|[^\sa-z0-9]"  # punctuation and symbols, one token each
)


def basic_tokenize(text: str) -> str:
    """The COCO evaluation's PTB tokenisation rules in plain Python: lower case, clitics and punctuation
    split off, punctuation dropped. ``"The woman's hair is wavy, and she smiles."`` ->
    ``"the woman 's hair is wavy and she smiles"``.
    """
    tokens = (_BRACKETS.get(t, t) for t in _TOKEN.findall(text.lower()))
    return " ".join(t for t in tokens if t not in _PUNCTUATION)


def ptb_tokenize(captions: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The COCO evaluation's own Stanford PTB tokenizer (needs Java)."""
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tokenized: dict[str, list[str]] = PTBTokenizer().tokenize({k: [{"caption": c} for c in v] for k, v in captions.items()})
    return tokenized


def java_available() -> bool:
    """Whether a ``java`` executable is on PATH (METEOR and the PTB tokenizer need it)."""
    return shutil.which("java") is not None


def caption_metrics(
    hypotheses: Mapping[str, str],
    references: Mapping[str, Sequence[str]],
    tokenizer: str = "auto",
    meteor: bool | None = None,
) -> dict[str, float | str | None]:
    """Corpus caption scores x100 for one hypothesis and several references per image id.

    ``bleu1``..``bleu4``, ``rouge_l`` and ``cider`` (CIDEr-D) come from pycocoevalcap on captions
    tokenised by `tokenizer` ("ptb": the COCO Stanford tokenizer, needs Java; "basic": the same rules
    in Python; "auto": ptb when Java is there); ``meteor`` too when Java is there (or `meteor` is
    True); ``sacrebleu`` is sacreBLEU's corpus BLEU on the raw lower-cased text (13a tokenizer) and
    ``rouge_l_f1`` rouge-score's ROUGE-L F1 (best reference per image, averaged).
    """
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    ids = sorted(hypotheses)
    if sorted(references) != ids:
        raise ValueError("hypotheses and references must cover the same image ids")
    if any(not references[i] for i in ids):
        raise ValueError("every image needs at least one reference caption")
    if tokenizer == "auto":
        tokenizer = "ptb" if java_available() else "basic"
    if tokenizer == "ptb":
        res = ptb_tokenize({i: [hypotheses[i]] for i in ids})
        gts = ptb_tokenize({i: list(references[i]) for i in ids})
    elif tokenizer == "basic":
        res = {i: [basic_tokenize(hypotheses[i])] for i in ids}
        gts = {i: [basic_tokenize(r) for r in references[i]] for i in ids}
    else:
        raise ValueError(f"tokenizer={tokenizer!r}; use 'ptb', 'basic' or 'auto'")
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    rouge, _ = Rouge().compute_score(gts, res)
    cider, _ = Cider().compute_score(gts, res)
    scores: dict[str, float | str | None] = {f"bleu{n + 1}": 100.0 * float(b) for n, b in enumerate(bleu)}
    scores.update(rouge_l=100.0 * float(rouge), cider=100.0 * float(cider), meteor=None, tokenizer=tokenizer)
    if meteor or (meteor is None and java_available()):
        from pycocoevalcap.meteor.meteor import Meteor

        scores["meteor"] = 100.0 * float(Meteor().compute_score(gts, res)[0])
    scores["sacrebleu"] = sacrebleu_score([hypotheses[i] for i in ids], [list(references[i]) for i in ids])
    scores["rouge_l_f1"] = rouge_score_l([hypotheses[i] for i in ids], [list(references[i]) for i in ids])
    return scores


def sacrebleu_score(hypotheses: Sequence[str], references: Sequence[Sequence[str]], tokenize: str = "13a") -> float:
    """sacreBLEU corpus BLEU (0-100), lower-cased; images may have different numbers of references."""
    import sacrebleu

    width = max(len(r) for r in references)
    streams = [[refs[k] if k < len(refs) else None for refs in references] for k in range(width)]
    bleu = sacrebleu.corpus_bleu(list(hypotheses), streams, lowercase=True, tokenize=tokenize)  # type: ignore[arg-type]
    return float(bleu.score)


def rouge_score_l(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """rouge-score ROUGE-L F1 x100: the best reference of each image, averaged over images."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    best = [max(scorer.score(r, h)["rougeL"].fmeasure for r in refs) for h, refs in zip(hypotheses, references)]
    return 100.0 * float(np.mean(best))


# -----------------------------------------------------------------------------
# FID and IS from matrices


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of (N, D) features (unbiased, as the FID papers compute it)."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"features must be (N >= 2, D), got {features.shape}")
    return features.mean(0), np.cov(features, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance of two Gaussians: |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^1/2).

    tr((S1 S2)^1/2) is the sum of the square roots of the eigenvalues of S1 S2, which are real and
    non-negative for covariance matrices (S1 S2 is similar to S1^1/2 S2 S1^1/2); round-off below
    zero is clipped. This avoids the complex matrix square root of the reference implementation.
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"statistics differ in shape: {mu1.shape} {sigma1.shape} vs {mu2.shape} {sigma2.shape}")
    eigenvalues = np.linalg.eigvals(sigma1 @ sigma2)
    trace_sqrt = float(np.sqrt(np.clip(eigenvalues.real, 0.0, None)).sum())
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)


def fid_from_features(real: np.ndarray, fake: np.ndarray) -> float:
    """FID between two (N, D) feature matrices (e.g. Inception pool3, D = 2048)."""
    return frechet_distance(*feature_statistics(real), *feature_statistics(fake))


def inception_score(probabilities: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """Inception Score of (N, K) class probabilities: mean and std over `splits` of exp(E KL(p(y|x) || p(y)))."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or (p < 0).any() or not np.allclose(p.sum(1), 1.0, atol=1e-3):
        raise ValueError("inception_score takes (N, K) class probabilities (rows >= 0 summing to 1); "
                         "apply softmax to logits first")
    if not 1 <= splits <= len(p):
        raise ValueError(f"splits={splits} must be between 1 and the number of images ({len(p)})")
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - np.log(marginal)), 0.0).sum(1)
        scores.append(float(np.exp(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


# -----------------------------------------------------------------------------
# A user-supplied Inception network


class FeatureExtractor(Protocol):
    """uint8 images (B, H, W, 3) -> (features (B, D), class probabilities (B, K) or None)."""

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]: ...


def _as_probabilities(out: torch.Tensor) -> np.ndarray:
    out = out.double()
    if (out >= 0).all() and torch.allclose(out.sum(1), torch.ones(out.size(0), dtype=out.dtype), atol=1e-3):
        return out.cpu().numpy()  # already probabilities (StyleGAN's detector)
    return torch.softmax(out, dim=1).cpu().numpy()  # logits


@dataclass
class TorchFeatureExtractor:
    """Wraps a torch module that takes uint8 images (B, 3, H, W) in 0..255 and resizes/normalises them itself.

    The module returns ``(features, logits_or_probabilities)``, or features only. A module that takes
    ``return_features`` (StyleGAN's TorchScript Inception, ``inception-2015-12-05.pt``) gives pool
    features with ``return_features=True`` and probabilities with ``no_output_bias=True``, as the
    StyleGAN FID and IS code calls it.
    """

    module: torch.nn.Module
    device: str = "cpu"
    batch_size: int = 50

    def _run(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        try:
            features = self.module(x, return_features=True)
        except (TypeError, RuntimeError):  # not StyleGAN's detector
            pass
        else:
            try:  # StyleGAN's Inception Score protocol: softmax without the output bias
                return features, self.module(x, no_output_bias=True)
            except (TypeError, RuntimeError):
                return features, self.module(x)
        out = self.module(x)
        if isinstance(out, (tuple, list)):
            return out[0], (out[1] if len(out) > 1 else None)
        return out, None

    @torch.no_grad()
    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        features, probabilities = [], []
        for start in range(0, len(images), self.batch_size):
            x = torch.from_numpy(np.ascontiguousarray(images[start : start + self.batch_size])).permute(0, 3, 1, 2)
            f, logits = self._run(x.to(self.device))
            features.append(f.reshape(f.size(0), -1).double().cpu().numpy())
            if logits is not None:
                probabilities.append(_as_probabilities(logits.reshape(logits.size(0), -1)))
        probs = np.concatenate(probabilities) if len(probabilities) == len(features) and probabilities else None
        return np.concatenate(features), probs


def load_feature_extractor(path: str | Path, factory: str | None = None, device: str = "cpu") -> TorchFeatureExtractor:
    """A feature extractor from a local file; nothing is downloaded.

    Without `factory`, `path` is a TorchScript module (``torch.jit.load``). With ``factory =
    "package.module:function"``, the function builds the network and `path` is its state dict
    (read with ``weights_only=True``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Inception weights {path} not found; FID/IS need a local TorchScript file "
                                "(e.g. StyleGAN's inception-2015-12-05.pt) or a state dict with --inception-factory")
    if factory is None:
        try:
            module = torch.jit.load(str(path), map_location=device)
        except RuntimeError as err:
            raise ValueError(f"{path} is not a TorchScript module ({err}); for a state dict pass "
                             "--inception-factory package.module:function") from err
    else:
        import importlib

        module_name, _, attr = factory.partition(":")
        if not attr:
            raise ValueError(f"--inception-factory {factory!r} must look like package.module:function")
        module = getattr(importlib.import_module(module_name), attr)()
        module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        module = module.to(device)
    return TorchFeatureExtractor(module.eval(), device)


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


def iter_samples(urls: Sequence[str], with_jpg: bool = False) -> Iterator[ShardSample]:
    """The samples of the given shards, in order, with their face JPEG when asked and present."""
    import fsspec
    from webdataset.tariterators import group_by_keys, tar_file_expander

    suffixes = (".tokens.npy", ".json", ".jpg") if with_jpg else (".tokens.npy", ".json")
    for url in urls:
        with fsspec.open(url, "rb") as stream:
            files = tar_file_expander([{"url": url, "stream": stream}], select_files=lambda f: f.endswith(suffixes))
            for fields in group_by_keys(files):
                try:
                    yield ShardSample.from_wds(fields)
                except SampleError as err:
                    raise ValueError(f"{url}: {err}; rebuild this shard with the pipeline") from err


def select_samples(
    shards: str | Path | Sequence[str | Path], dataset: str, kind: str, split: str = "auto", limit: int | None = None,
    with_jpg: bool = False,
) -> tuple[str, list[ShardSample]]:
    """The split's samples that hold a text of `kind` from `dataset` (at most `limit`); split "auto" = test, else val."""
    from model.data import resolve_shards

    text_kind = "caption" if kind in ("caption", "synthesis") else "attributes"
    spec = str(shards) if isinstance(shards, (str, Path)) else [str(s) for s in shards]
    for candidate in (("test", "val") if split == "auto" else (split,)):
        try:
            urls = resolve_shards(spec, candidate)
        except FileNotFoundError:
            continue
        chosen = []
        for s in iter_samples(urls, with_jpg):
            if s.split == candidate and any(t.dataset == dataset and t.kind == text_kind for t in s.texts):
                chosen.append(s)
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
    config: SamplingConfig = ANSWER_SAMPLING, batch_size: int = 32,
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
                               batch_size=batch_size)
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
    batch_size: int = 32, tokenizer: str = "auto", meteor: bool | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Caption every face and score against all of its `dataset` captions."""
    hyps = generate_captions(model, np.stack([s.tokens for s in samples]), config=config, batch_size=batch_size)
    refs = {s.key: [t.text for t in s.texts if t.dataset == dataset and t.kind == "caption"] for s in samples}
    metrics = caption_metrics({s.key: h for s, h in zip(samples, hyps)}, refs, tokenizer=tokenizer, meteor=meteor)
    metrics["n"] = float(len(samples))
    return metrics, [{"key": s.key, "caption": h, "references": refs[s.key]} for s, h in zip(samples, hyps)]


def real_faces(samples: Sequence[ShardSample], vqgan: Any) -> np.ndarray:
    """The samples' preprocessed faces: their stored JPEG, else their codes decoded by the VQGAN."""
    from PIL import Image

    faces = []
    for s in samples:
        if s.jpg is not None:
            with Image.open(io.BytesIO(s.jpg)) as im:
                faces.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
        else:
            faces.append(np.asarray(vqgan.decode(s.tokens[None].astype(np.uint16)), dtype=np.uint8)[0])
    return np.stack(faces)


def evaluate_synthesis(
    model: Talk2Face, samples: Sequence[ShardSample], dataset: str, vqgan: Any, extractor: FeatureExtractor, *,
    config: SamplingConfig = IMAGE_SAMPLING, seed: int = 0, batch_size: int = 16, splits: int = 10,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Generate one face from the first `dataset` caption of each sample; FID against the samples' faces, IS."""
    texts = [next(t.text for t in s.texts if t.dataset == dataset and t.kind == "caption") for s in samples]
    codes = generate_image_codes(model, texts, n=1, config=config, seed=seed, batch_size=batch_size)[:, 0]
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
) -> EvalResult:
    """Run one benchmark of TASKS on the test (else val) split of `shards`.

    `meteor`: None computes METEOR when Java is installed, False never, True always (fails without Java).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    spec = TASKS[task]
    if dataset is not None:
        spec = EvalTask(spec.name, dataset, spec.kind, spec.keys)
    model.eval()
    if spec.kind == "synthesis" and (vqgan is None or extractor is None):
        raise ValueError("synthesis needs a VQGAN (--vqgan-preset or --vqgan-config/--vqgan-checkpoint) and an "
                         "Inception network (--inception PATH)")
    split, samples = select_samples(shards, spec.dataset, spec.kind, split, limit, with_jpg=spec.kind == "synthesis")
    setting: dict[str, Any] = {"n_samples": len(samples)}
    metrics: dict[str, Any]
    if spec.kind == "attributes":
        cfg = config or ANSWER_SAMPLING
        metrics, preds = evaluate_analysis(model, samples, spec, constrain=constrain, config=cfg, batch_size=batch_size)
        setting["constrained"] = constrain
    elif spec.kind == "caption":
        cfg = config or CAPTION_SAMPLING
        metrics, preds = evaluate_captions(model, samples, spec.dataset, config=cfg, batch_size=batch_size,
                                           tokenizer=caption_tokenizer, meteor=meteor)
    else:
        cfg = config or IMAGE_SAMPLING
        assert vqgan is not None and extractor is not None
        metrics, preds = evaluate_synthesis(model, samples, spec.dataset, vqgan, extractor, config=cfg, seed=seed,
                                            batch_size=min(batch_size, 16))
    setting["sampling"] = {"temperature": cfg.temperature, "top_k": cfg.top_k, "top_p": cfg.top_p, "seed": seed}
    return EvalResult(task, spec.dataset, split, metrics, setting, preds)


# -----------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    """The ``talk2face evaluate`` argument parser."""
    p = argparse.ArgumentParser(prog="talk2face evaluate", description="Score Talk2Face on the paper's benchmarks.")
    p.add_argument("--checkpoint", required=True, help="our checkpoint.pt or the released talk2face.bin")
    p.add_argument("--heads", type=int, default=12, help="attention heads of a talk2face.bin")
    p.add_argument("--shards", required=True, help="a build's shards: directory, glob, brace pattern or URL")
    p.add_argument("--task", required=True, choices=sorted(TASKS), help="the benchmark")
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
    p.add_argument("--out", help="write the results as JSON here")
    p.add_argument("--predictions", help="write one JSON line per item (answer, caption or text) here")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    return p


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
        if args.task == "synthesis":
            vqgan = load_image_tokenizer(args.vqgan_preset, args.vqgan_config, args.vqgan_checkpoint, device=device)
            if not args.inception:
                raise ValueError("--task synthesis needs --inception PATH (a local Inception network; nothing is downloaded)")
            extractor = load_feature_extractor(args.inception, args.inception_factory, device)
        result = evaluate(model, args.shards, args.task, dataset=args.dataset, split=args.split, limit=args.limit,
                          constrain=not args.free, config=config, batch_size=args.batch_size, vqgan=vqgan,
                          extractor=extractor, caption_tokenizer=args.caption_tokenizer,
                          meteor=False if args.no_meteor else None, seed=args.seed)
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


__all__ = [
    "TASKS",
    "EvalResult",
    "EvalTask",
    "FeatureExtractor",
    "TorchFeatureExtractor",
    "accuracy",
    "age_mae",
    "basic_tokenize",
    "caption_metrics",
    "evaluate",
    "feature_statistics",
    "fid_from_features",
    "frechet_distance",
    "inception_score",
    "load_feature_extractor",
    "main",
    "rouge_score_l",
    "sacrebleu_score",
    "select_samples",
]

