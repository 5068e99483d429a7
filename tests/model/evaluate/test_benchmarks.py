"""Tests of the evaluation: metrics on hand-computed cases and against the reference implementations,
the Inception interface, and `evaluate` / `talk2face evaluate` end to end on fake shards."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from eval_fixtures import TinyNet, write_fake_eval
from stubs import StubVQGAN

from model.evaluate.benchmarks import evaluate
from model.evaluate.cli import main
from model.evaluate.inception import load_feature_extractor
from model.evaluate.metrics import (
    accuracy,
    age_mae,
    basic_tokenize,
    caption_metrics,
    fid_from_features,
    frechet_distance,
    inception_score,
    java_available,
    ptb_tokenize,
    rouge_score_l,
    sacrebleu_score,
)

pytestmark = pytest.mark.usefixtures("one_thread")

needs_java = pytest.mark.skipif(not java_available(), reason="METEOR and the PTB tokenizer need Java")


# --- facial analysis ----------------------------------------------------------------------------


def test_age_mae_counts_non_integer_answers_apart() -> None:
    got = age_mae([30, None, 22, 50], [25, 40, 22, 47])
    assert got == {"mae": (5 + 0 + 3) / 3, "invalid": 1.0, "invalid_rate": 25.0, "n": 4.0}


def test_accuracy_counts_invalid_and_mistyped_answers_as_wrong() -> None:
    got = accuracy(["happy", None, "sad", True, 1], ["happy", "sad", "fear", True, True])
    assert got["accuracy"] == pytest.approx(100 * 2 / 5)  # 1 is not True: types must match
    assert got["invalid"] == 1.0


# --- captions: hand-computed cases, and the libraries against each other ---------------------------

HYP, REF = "a b c d e f", "a b c d x f y"  # matches: 1-grams 5/6, 2-grams 3/5, 3-grams 2/4, 4-grams 1/3; LCS 5


def test_bleu4_and_rouge_l_equal_the_hand_computed_values() -> None:
    got = caption_metrics({"1": HYP}, {"1": [REF]}, tokenizer="basic", meteor=False)
    bleu4 = math.exp(1 - 7 / 6) * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25  # brevity penalty x geometric mean
    assert got["bleu4"] == pytest.approx(100 * bleu4, rel=1e-6)
    assert got["bleu1"] == pytest.approx(100 * math.exp(1 - 7 / 6) * 5 / 6, rel=1e-6)
    p, r, beta = 5 / 6, 5 / 7, 1.2  # pycocoevalcap's ROUGE-L F-measure weights recall by beta = 1.2
    assert got["rouge_l"] == pytest.approx(100 * (1 + beta**2) * p * r / (r + beta**2 * p), rel=1e-9)
    assert got["rouge_l_f1"] == pytest.approx(100 * 2 * p * r / (p + r), rel=1e-9)  # rouge-score: F1
    assert got["sacrebleu"] == pytest.approx(got["bleu4"], rel=1e-6)  # sacreBLEU and COCO BLEU agree
    assert got["meteor"] is None


def test_cider_d_equals_the_hand_computed_value() -> None:
    """Image 1's caption equals its only reference and no n-gram is shared between the two images, so every
    n-gram has idf log(2/1) and the cosine of each n is 1: CIDEr-D = 10 x mean over n of 1 = 10. Image 2
    shares nothing with its reference: 0. The corpus score is their mean, 5 (500 x100)."""
    got = caption_metrics({"1": "the man has black hair", "2": "she is smiling today"},
                          {"1": ["the man has black hair"], "2": ["a woman wears red lipstick"]},
                          tokenizer="basic", meteor=False)
    assert got["cider"] == pytest.approx(500.0, rel=1e-9)
    assert got["bleu4"] == pytest.approx(got["sacrebleu"], rel=1e-6)


def test_sacrebleu_and_rouge_score_take_several_references() -> None:
    hyps = ["the man has black hair", "she smiles"]
    refs = [["a man with black hair", "the man has black hair"], ["she is smiling"]]
    assert rouge_score_l(hyps, refs) == pytest.approx(100 * (1.0 + 2 * (1 / 2 * 1 / 3) / (1 / 2 + 1 / 3)) / 2)
    assert 0 < sacrebleu_score(hyps, refs) <= 100


def test_basic_tokenizer_follows_the_ptb_rules() -> None:
    assert basic_tokenize("The woman's hair is wavy, and she smiles.") == "the woman 's hair is wavy and she smiles"
    assert basic_tokenize("He doesn't wear make-up (lipstick)!") == "he does n't wear make-up -lrb- lipstick -rrb-"


@needs_java
def test_ptb_tokenizer_and_meteor_through_java() -> None:
    captions = ["The woman's hair is wavy, and she smiles.", "This man has black hair; he is young!",
                "She wears heavy make-up (lipstick).", "He doesn't smile -- at all..."]
    ptb = ptb_tokenize({str(i): [c] for i, c in enumerate(captions)})
    assert [ptb[str(i)][0] for i in range(len(captions))] == [basic_tokenize(c) for c in captions]
    got = caption_metrics({"1": "the man has black hair", "2": "zebra"},
                          {"1": ["the man has black hair"], "2": ["a woman wears red lipstick"]},
                          tokenizer="ptb", meteor=True)
    assert got["tokenizer"] == "ptb"
    assert got["meteor"] is not None and 0 < got["meteor"] < 100


# --- FID and IS -----------------------------------------------------------------------------------


def reference_fid(real: np.ndarray, fake: np.ndarray) -> float:
    """The scipy.linalg.sqrtm formula of pytorch-fid / the TTUR code."""
    import scipy.linalg

    mu1, mu2 = real.mean(0), fake.mean(0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    covmean, _ = scipy.linalg.sqrtm(s1 @ s2, disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * 1e-6
        covmean = scipy.linalg.sqrtm((s1 + offset) @ (s2 + offset))
    covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.mark.parametrize("n,d,seed", [(200, 16, 0), (64, 8, 1), (500, 32, 2)])
def test_fid_equals_the_scipy_sqrtm_reference(n: int, d: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    real = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    fake = rng.normal(loc=0.3, size=(n, d)) @ rng.normal(size=(d, d))
    assert fid_from_features(real, fake) == pytest.approx(reference_fid(real, fake), rel=1e-6, abs=1e-6)
    assert fid_from_features(real, real) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_of_one_dimensional_gaussians() -> None:
    # N(0, 1) vs N(1, 4): (0 - 1)^2 + 1 + 4 - 2 sqrt(1 * 4) = 2
    assert frechet_distance(np.array([0.0]), np.array([[1.0]]), np.array([1.0]), np.array([[4.0]])) == pytest.approx(2.0)


def reference_inception_score(p: np.ndarray, splits: int) -> tuple[float, float]:
    """The formula of the original Inception Score code (improved-gan)."""
    scores = []
    for k in range(splits):
        part = p[k * (len(p) // splits) : (k + 1) * (len(p) // splits)]
        kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
        scores.append(np.exp(np.mean(np.sum(kl, 1))))
    return float(np.mean(scores)), float(np.std(scores))


def test_inception_score_equals_the_reference_and_known_values() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(10, 0.3), size=100)
    assert inception_score(probs, splits=10) == pytest.approx(reference_inception_score(probs, 10), rel=1e-9)
    assert inception_score(np.full((20, 5), 0.2), splits=2) == pytest.approx((1.0, 0.0))
    assert inception_score(np.eye(4)[np.arange(40) % 4], splits=1)[0] == pytest.approx(4.0)  # 4 classes, evenly
    with pytest.raises(ValueError, match="softmax"):
        inception_score(rng.normal(size=(10, 4)))




class DetectorLike(torch.nn.Module):
    """StyleGAN's Inception calling convention: return_features for FID, no_output_bias for IS probabilities."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(3, 4)
        self.head = torch.nn.Linear(4, 3)

    def forward(self, x: torch.Tensor, return_features: bool = False, no_output_bias: bool = False) -> torch.Tensor:
        f = self.fc(x.float().mean((2, 3)) / 255.0)
        if return_features:
            return f
        logits = f @ self.head.weight.T if no_output_bias else self.head(f)
        return torch.softmax(logits, 1)


def test_feature_extractor_speaks_the_stylegan_detector_protocol(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = DetectorLike().eval()
    torch.jit.script(net).save(str(tmp_path / "detector.pt"))
    images = np.random.default_rng(1).integers(0, 256, size=(3, 16, 16, 3), dtype=np.uint8)
    features, probs = load_feature_extractor(tmp_path / "detector.pt")(images)
    x = torch.from_numpy(images).permute(0, 3, 1, 2)
    assert np.allclose(features, net(x, return_features=True).detach().numpy(), atol=1e-6)
    assert probs is not None and np.allclose(probs, net(x, no_output_bias=True).detach().numpy(), atol=1e-6)


def test_feature_extractors_from_torchscript_and_from_a_state_dict(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = TinyNet().eval()
    images = np.random.default_rng(0).integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8)
    torch.jit.script(net).save(str(tmp_path / "net.pt"))
    features, probs = load_feature_extractor(tmp_path / "net.pt")(images)
    want_f, want_logits = net(torch.from_numpy(images).permute(0, 3, 1, 2))
    assert np.allclose(features, want_f.detach().numpy(), atol=1e-6)
    assert probs is not None and np.allclose(probs, torch.softmax(want_logits, 1).detach().numpy(), atol=1e-6)
    torch.save(net.state_dict(), tmp_path / "net.bin")
    features2, _ = load_feature_extractor(tmp_path / "net.bin", factory="eval_fixtures:make_tiny_net")(images)
    assert np.allclose(features2, features, atol=1e-6)
    with pytest.raises(FileNotFoundError, match="TorchScript"):
        load_feature_extractor(tmp_path / "missing.pt")


# --- end to end on fake shards --------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake_eval(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_fake_eval(tmp_path_factory.mktemp("eval"))


def test_evaluate_analysis_scores_what_it_predicts(fake_eval: tuple[Path, Path]) -> None:
    from model.checkpoint import load_talk2face

    shards, ckpt = fake_eval
    model = load_talk2face(ckpt)
    age = evaluate(model, shards, "age", dataset="fake", limit=4)
    assert age.split == "test" and len(age.predictions) == 4
    valid = [p for p in age.predictions if isinstance(p["value"], int)]
    assert age.metrics["invalid"] == 4 - len(valid)
    if valid:
        assert age.metrics["mae"] == pytest.approx(np.mean([abs(p["value"] - p["label"]) for p in valid]))
    many = evaluate(model, shards, "attributes", dataset="fake", limit=3)  # every key of each face
    assert len(many.predictions) == 3 * 4 and set(many.metrics["per_key"]) == {"age", "attribute a", "attribute b",
                                                                             "attribute c"}
    right = sum(p["value"] == p["label"] and type(p["value"]) is type(p["label"]) for p in many.predictions)
    assert many.metrics["accuracy"] == pytest.approx(100 * right / 12)
    with pytest.raises(LookupError, match="val"):
        evaluate(model, shards, "age", dataset="fake", split="val")


def test_evaluate_captions_and_synthesis(fake_eval: tuple[Path, Path], tmp_path: Path) -> None:
    from model.checkpoint import load_talk2face
    from model.evaluate.inception import TorchFeatureExtractor

    shards, ckpt = fake_eval
    model = load_talk2face(ckpt)
    cap = evaluate(model, shards, "caption", dataset="fakecap", limit=3, caption_tokenizer="basic", meteor=False)
    assert {"bleu4", "rouge_l", "cider", "sacrebleu", "rouge_l_f1"} <= set(cap.metrics)
    assert all(len(p["references"]) == 1 for p in cap.predictions)
    torch.manual_seed(0)
    syn = evaluate(model, shards, "synthesis", dataset="fakecap", limit=4, vqgan=StubVQGAN(),
                   extractor=TorchFeatureExtractor(TinyNet().eval()))
    assert syn.metrics["real_from"] == "vqgan codes"
    assert syn.metrics["fid"] >= 0 and syn.metrics["is"] >= 1.0
    assert "| fid |" in syn.table()


def test_evaluate_command_line_writes_a_table_and_json(
    fake_eval: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards, ckpt = fake_eval
    out, preds = tmp_path / "r.json", tmp_path / "p.jsonl"
    assert main(["--checkpoint", str(ckpt), "--shards", str(shards), "--task", "age", "--dataset", "fake",
                 "--limit", "2", "--device", "cpu", "--out", str(out), "--predictions", str(preds)]) == 0
    table = capsys.readouterr().out
    assert "| age (fake, test) | value |" in table and "| mae |" in table
    result = json.loads(out.read_text())
    assert result["task"] == "age" and result["setting"]["constrained"] is True and result["metrics"]["n"] == 2.0
    assert len(preds.read_text().splitlines()) == 2
    with pytest.raises(SystemExit):
        main(["--checkpoint", str(ckpt), "--shards", str(shards), "--task", "synthesis", "--device", "cpu"])
