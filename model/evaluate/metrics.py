"""The paper's scores as pure functions of predictions, references and feature matrices.

Age MAE and accuracy for facial analysis (an answer that did not read back as a value is wrong);
caption metrics with the COCO caption evaluation code (pycocoevalcap: BLEU, ROUGE-L, CIDEr-D, and
METEOR when Java is installed), with sacreBLEU and rouge-score beside them; FID and IS from
Inception features and class probabilities (`frechet_distance`, `inception_score`). Scores are x100
except MAE, FID and IS, as the paper reports them.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence

import numpy as np

from schemas.text import LabelValue

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


__all__ = [
    "accuracy",
    "age_mae",
    "basic_tokenize",
    "caption_metrics",
    "feature_statistics",
    "fid_from_features",
    "frechet_distance",
    "inception_score",
    "java_available",
    "ptb_tokenize",
    "rouge_score_l",
    "sacrebleu_score",
]
