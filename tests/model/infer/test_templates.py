"""Tests of the inference templates: prompts laid out exactly as training sequences, label vocabularies and
answers read back, checkpoint loading, and every template round-tripping on a tiny overfit model."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from stubs import StubVQGAN

from model.checkpoint import load_talk2face
from model.infer.cli import main
from model.infer.clip import rerank_by_clip
from model.infer.prompts import attributes_prompt, caption_prompt, image_prompt, question_text
from model.infer.templates import (
    AGE_VALUES,
    answer_questions,
    check_declared,
    generate_captions,
    generate_image_codes,
    label_values,
    read_answer,
)
from model.sampling import SamplingConfig
from model.testing import write_fake_shards
from model.train.sequences import (
    ATTRIBUTES_TO_FACE,
    CAPTION_TO_FACE,
    FACE_TO_ATTRIBUTES,
    FACE_TO_CAPTION,
    Pair,
    SequenceBuilder,
    collate,
    sample_pairs,
)
from model.train.shards import read_shard
from model.transformer import Talk2Face, Talk2FaceConfig
from schemas.sample import ShardSample
from schemas.text import normalize_caption

pytestmark = pytest.mark.usefixtures("one_thread")

BUILDER = SequenceBuilder()
CODES = np.random.default_rng(0).integers(0, 1024, size=256).astype(np.uint16)


# --- prompts are the training sequences up to the target ------------------------------------------


def segment_one(pair: Pair, task: int, rng: random.Random | None = None) -> tuple[list[int], list[int]]:
    ex = BUILDER.build(pair, task, rng or random.Random(0))
    ids, segments = [int(i) for i in ex.ids], [int(s) for s in ex.segments]
    n = segments.index(2)
    return ids[:n], segments[:n]


@pytest.mark.parametrize("text,task", [
    ("This man has black hair and a short beard; he looks calm.", CAPTION_TO_FACE),
    ("celeba gender: male; smiling: true; young: false;", ATTRIBUTES_TO_FACE),
    (" ".join(["a very long caption"] * 30), CAPTION_TO_FACE),  # cut to the 64-token budget, as in training
])
def test_image_prompt_is_the_training_sequence_up_to_the_image(text: str, task: int) -> None:
    kind = "caption" if task == CAPTION_TO_FACE else "attributes"
    prompt = image_prompt(text)
    assert (list(prompt.ids), list(prompt.segments)) == segment_one(Pair("k", CODES, kind, text, "d"), task)


def test_caption_prompt_is_the_training_sequence_up_to_the_caption() -> None:
    prompt = caption_prompt(CODES)
    assert (list(prompt.ids), list(prompt.segments)) == segment_one(Pair("k", CODES, "caption", "a man.", "d"), FACE_TO_CAPTION)


@pytest.mark.parametrize("question,text", [("cacd age:", "cacd age: 25;"), ("fairface race", "fairface race: east asian;"),
                                           ("celeba 5 o clock shadow:", "celeba 5 o clock shadow: true;")])
def test_attributes_prompt_opens_the_target_with_the_question_as_in_training(question: str, text: str) -> None:
    ex = BUILDER.build(Pair("k", CODES, "attributes", text, "d"), FACE_TO_ATTRIBUTES, random.Random(0))
    ids, segments = [int(i) for i in ex.ids], [int(s) for s in ex.segments]
    _, value_at = BUILDER.attribute_question(text, random.Random(0))
    n = segments.index(2) + value_at  # the target's "<prefix> <key>:" is part of the prompt
    prompt = attributes_prompt(CODES, question)
    assert (list(prompt.ids), list(prompt.segments)) == (ids[:n], segments[:n])


def test_questions_are_normalised_and_checked() -> None:
    assert question_text("  CACD   age ") == ("cacd age:", "cacd", "age")
    assert question_text("celeba wearing_hat:") == ("celeba wearing hat:", "celeba", "wearing hat")
    with pytest.raises(ValueError, match="prefix"):
        question_text("age:")


# --- label vocabularies and answers ---------------------------------------------------------------


def test_a_new_converter_is_known_to_constrained_decoding() -> None:
    """Declaring the labels beside a converter's other class attributes is all constrained decoding needs."""
    from converters.base import Converter, registry

    class Toy(Converter):
        key = "toy_dataset"
        text_kind = "attributes"
        prefix = "toy"
        label_values = {"mood": ("calm", "wild")}
        integer_keys = frozenset({"weight"})

    try:
        assert label_values("toy", "mood") == ("calm", "wild") and label_values("toy", "weight") is AGE_VALUES
        assert read_answer("toy weight:", "61 ;", label_values("toy", "weight")).value == 61
        assert read_answer("toy mood:", "sleepy ;", label_values("toy", "mood")).value is None
    finally:
        del registry()[Toy.key]


def test_label_values_come_from_the_converters() -> None:
    assert label_values("affectnet", "expression") == ("neutral", "happy", "sad", "surprise", "fear", "disgust",
                                                        "anger", "contempt")
    assert "east asian" in label_values("fairface", "race") and "latino hispanic" in label_values("fairface", "race")
    assert label_values("celeba", "smiling") == ("true", "false")
    assert label_values("celeba", "5_o_Clock_Shadow") == ("true", "false")
    assert label_values("celeba", "gender") == ("male", "female")
    assert label_values("cacd", "age") is AGE_VALUES
    assert label_values("fake", "age") is None


def test_undeclared_questions_are_an_error_or_a_warning_with_free() -> None:
    assert check_declared(["cacd age:", "fairface race:"]) == []
    with pytest.raises(ValueError, match=r"'fairface mood:', 'nosuch age:'.*--free"):
        check_declared(["fairface mood:", "nosuch age:", "cacd age:"])
    assert check_declared(["nosuch age:"], free=True) == [
        "warning: no installed converter declares the answers to 'nosuch age:'; decoding it freely"]


def test_answers_read_back_into_typed_labels() -> None:
    assert read_answer("cacd age:", "25 ;").value == 25
    assert read_answer("cacd age:", "twenty five ;").value is None  # not an integer: wrong, as in the paper
    assert read_answer("cacd age:", "25").value is None  # no ';': not an attribute text
    assert read_answer("affectnet expression:", "happy ;", label_values("affectnet", "expression")).value == "happy"
    assert read_answer("affectnet expression:", "joyful ;", label_values("affectnet", "expression")).value is None
    assert read_answer("celeba smiling:", "true ;", ("true", "false")).value is True
    answer = read_answer("fairface race:", "east asian ;", label_values("fairface", "race"))
    assert answer.text == "fairface race: east asian ;" and answer.valid


def test_constrained_answers_are_always_candidates_even_from_an_untrained_model() -> None:
    torch.manual_seed(0)
    model = Talk2Face(Talk2FaceConfig.tiny()).eval()
    questions = ["affectnet expression:", "fairface race:", "celeba smiling:", "cacd age:", "fairface age:"]
    answers = answer_questions(model, np.stack([CODES] * len(questions)), questions)
    for q, a in zip(questions, answers):
        _, prefix, key = question_text(q)
        assert a.valid, a
        spelled = {True: "true", False: "false"}.get(a.value, str(a.value))  # type: ignore[call-overload]
        assert spelled in label_values(prefix, key)


# --- loading the released weights ------------------------------------------------------------------


def tencentpretrain_state(layers: int = 2, width: int = 32, inner: int = 64) -> dict[str, torch.Tensor]:
    """Random weights under the released TencentPretrain names (models/talk2face: pre-LN, no embedding LayerNorm)."""
    gen = torch.Generator().manual_seed(0)

    def r(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen) * 0.05

    state = {"embedding.word.embedding.weight": r(31546, width), "embedding.pos.embedding.weight": r(400, width),
             "embedding.seg.embedding.weight": r(3, width), "encoder.layer_norm.gamma": 1 + r(width),
             "encoder.layer_norm.beta": r(width), "target.lm.output_layer.weight": r(31546, width)}
    for i in range(layers):
        p = f"encoder.transformer.{i}."
        for j in range(3):
            state[p + f"self_attn.linear_layers.{j}.weight"], state[p + f"self_attn.linear_layers.{j}.bias"] = r(width, width), r(width)
        state[p + "self_attn.final_linear.weight"], state[p + "self_attn.final_linear.bias"] = r(width, width), r(width)
        state[p + "feed_forward.linear_1.weight"], state[p + "feed_forward.linear_1.bias"] = r(inner, width), r(inner)
        state[p + "feed_forward.linear_2.weight"], state[p + "feed_forward.linear_2.bias"] = r(width, inner), r(width)
        for n in (1, 2):
            state[p + f"layer_norm_{n}.gamma"], state[p + f"layer_norm_{n}.beta"] = 1 + r(width), r(width)
    return state


def test_load_talk2face_reads_our_checkpoints_and_the_released_format(tmp_path: Path) -> None:
    from model.checkpoint import save_checkpoint

    prompt = image_prompt("a man")
    ids, segs = torch.tensor([prompt.ids]), torch.tensor([prompt.segments])
    torch.save(tencentpretrain_state(), tmp_path / "talk2face.bin")
    released = load_talk2face(tmp_path / "talk2face.bin", heads=4)
    assert not released.training and released.config.n_layer == 2
    reference = Talk2Face.from_tencentpretrain(tmp_path / "talk2face.bin", heads=4, dropout=0.0).eval()
    assert torch.equal(released(ids, segs), reference(ids, segs))
    torch.manual_seed(0)
    model = Talk2Face(Talk2FaceConfig.tiny()).eval()
    save_checkpoint(tmp_path / "ours.pt", {"model": model.state_dict(), "model_config": dataclasses.asdict(model.config)})
    assert torch.equal(load_talk2face(tmp_path / "ours.pt")(ids, segs), model(ids, segs))
    (tmp_path / "junk.bin").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="neither"):
        load_talk2face(tmp_path / "junk.bin")
    with pytest.raises(FileNotFoundError, match="talk2face.bin"):
        load_talk2face(tmp_path / "missing.pt")


def test_clip_reranking_is_skipped_cleanly_without_open_clip() -> None:
    try:
        import open_clip  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("open_clip is installed; only the path without it is tested")
    images = np.arange(4)[:, None, None, None] * np.ones((4, 8, 8, 3), dtype=np.uint8)
    kept, scores = rerank_by_clip(images, "a man", None, keep=2)
    assert scores is None and np.array_equal(kept, images[:2])
    with pytest.warns(UserWarning, match="open_clip"):
        kept, scores = rerank_by_clip(images, "a man", "clip.pt", keep=3)
    assert scores is None and np.array_equal(kept, images[:3])


# --- every template on a tiny overfit model ------------------------------------------------------


def training_batch(samples: list[ShardSample], rng: random.Random, to_face: bool) -> dict[str, torch.Tensor]:
    """Every face in face -> caption, face -> each of its attribute pairs and (`to_face`) caption -> face."""
    examples = []
    for s in samples:
        for pair in sample_pairs(s, "caption"):
            examples.append(BUILDER.build(pair, FACE_TO_CAPTION, rng))
            if to_face:  # 257 targets over the whole vocabulary: most of the cost, so every other step
                examples.append(BUILDER.build(pair, CAPTION_TO_FACE, rng))
        for pair in sample_pairs(s, "attributes"):
            prefix, rest = pair.text.split(" ", 1)
            for one in rest.split(";")[:-1]:  # one question per pair: "fake age: 66;", "fake attribute a: true;"
                single = dataclasses.replace(pair, text=f"{prefix} {one.strip()};")
                examples.append(BUILDER.build(single, FACE_TO_ATTRIBUTES, rng))
    return collate(examples)


@pytest.fixture(scope="module")
def overfit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[ShardSample]]:
    """A tiny model trained to memorise two faces (fake shards of model/train/loader.py), saved as our checkpoint."""
    from model.checkpoint import save_checkpoint
    from model.train.trainer import TrainConfig, configure_optimizer, token_loss

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("overfit")
    urls = write_fake_shards(root / "shards", n_faces=2, per_shard=2, n_attributes=2, seed=3)
    samples = [s for url in urls for s in read_shard(url)]
    torch.manual_seed(0)
    config = TrainConfig(model=Talk2FaceConfig.tiny(), lr=3e-3, weight_decay=0.0)
    model = Talk2Face(config.model).train()
    optimizer = configure_optimizer(model, config, fused=False)
    rng = random.Random(0)
    for step in range(160):
        batch = training_batch(samples, rng, to_face=step % 2 == 0)
        loss_sum, per_seq = token_loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        (loss_sum / per_seq[:, 1].sum()).backward()
        optimizer.step()
    path = root / "checkpoint.pt"
    save_checkpoint(path, {"model": model.state_dict(), "model_config": dataclasses.asdict(model.config)})
    torch.set_num_threads(threads)
    return path, root / "shards", samples


def captions_of(samples: list[ShardSample]) -> list[str]:
    return [t.text for s in samples for t in s.texts if t.kind == "caption"]


def test_text_to_face_round_trips(overfit: tuple[Path, Path, list[ShardSample]]) -> None:
    model = load_talk2face(overfit[0])
    samples = overfit[2]
    codes = generate_image_codes(model, captions_of(samples), n=1, config=SamplingConfig.make_greedy())
    assert codes.shape == (2, 1, 256) and codes.dtype == np.uint16
    for i, s in enumerate(samples):
        assert (codes[i, 0] == s.tokens).mean() >= 0.95  # the face that text was paired with
    sampled = generate_image_codes(model, captions_of(samples), n=3, config=SamplingConfig(top_k=5), seed=1)
    assert sampled.shape == (2, 3, 256) and int(sampled.max()) < 1024
    again = generate_image_codes(model, captions_of(samples), n=3, config=SamplingConfig(top_k=5), seed=1, batch_size=2)
    assert np.array_equal(sampled, again)  # same seed, other batching: same faces


def test_face_to_caption_and_attributes_round_trip(overfit: tuple[Path, Path, list[ShardSample]]) -> None:
    model = load_talk2face(overfit[0])
    samples = overfit[2]
    codes = np.stack([s.tokens for s in samples])
    assert generate_captions(model, codes) == [normalize_caption(c.lower()) for c in captions_of(samples)]
    ages = tuple(str(n) for n in range(10, 80))
    answers = answer_questions(model, np.concatenate([codes, codes]), ["fake age:"] * 2 + ["fake attribute a:"] * 2,
                               choices=[ages, ages, ("true", "false"), ("true", "false")])
    want = [s.labels["fake"]["age"] for s in samples] + [s.labels["fake"]["attribute a"] for s in samples]
    assert [a.value for a in answers] == want
    free = answer_questions(model, codes, ["fake age:"] * 2, constrain=False)
    assert [a.value for a in free] == want[:2]


def test_command_line_runs_every_template(
    overfit: tuple[Path, Path, list[ShardSample]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import model.infer.cli as generate_cli

    monkeypatch.setattr(generate_cli, "load_image_tokenizer", lambda *a, **k: StubVQGAN())
    ckpt, _, samples = overfit
    caption = captions_of(samples)[0]
    assert main(["--checkpoint", str(ckpt), "--to", "image", "--text", caption, "--n", "2", "--temperature", "0",
                 "--out", str(tmp_path / "faces"), "--device", "cpu"]) == 0
    pngs = sorted((tmp_path / "faces").glob("*.png"))
    assert [p.name for p in pngs] == ["text000_sample00.png", "text000_sample01.png"]
    face = generate_cli.load_faces([pngs[0]])
    assert (StubVQGAN().encode(face)[0] == samples[0].tokens).mean() >= 0.95
    capsys.readouterr()
    assert main(["--checkpoint", str(ckpt), "--to", "caption", "--image", str(pngs[0]), "--device", "cpu", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["caption"] == normalize_caption(caption.lower())
    with pytest.raises(SystemExit):  # no converter declares the answers of the fixture's "fake" dataset
        main(["--checkpoint", str(ckpt), "--to", "attributes", "--image", str(pngs[0]), "--prompt", "fake age:",
              "--device", "cpu"])
    assert "no installed converter declares the answers to 'fake age:'" in capsys.readouterr().err
    assert main(["--checkpoint", str(ckpt), "--to", "attributes", "--image", str(pngs[0]), "--prompt", "fake age:",
                 "--device", "cpu", "--free"]) == 0
    printed = capsys.readouterr()
    assert printed.err.count("warning: no installed converter declares the answers to 'fake age:'") == 1
    line = printed.out.strip()
    assert line == f"{pngs[0]}\tfake age: {samples[0].labels['fake']['age']} ;\t{samples[0].labels['fake']['age']}"
    with pytest.raises(SystemExit):
        main(["--checkpoint", str(ckpt), "--to", "attributes", "--image", str(pngs[0])])  # no --prompt


def test_evaluation_of_the_overfit_model_is_perfect(overfit: tuple[Path, Path, list[ShardSample]]) -> None:
    from model.evaluate.benchmarks import evaluate

    model = load_talk2face(overfit[0])
    age = evaluate(model, overfit[1], "age", dataset="fake", split="train", constrain=False)
    assert age.metrics["mae"] == 0.0 and age.metrics["invalid"] == 0.0
    cap = evaluate(model, overfit[1], "caption", dataset="fakecap", split="train", caption_tokenizer="basic",
                   meteor=False)
    assert cap.metrics["bleu4"] == pytest.approx(100.0) and cap.metrics["rouge_l"] == pytest.approx(100.0)


def test_the_demo_runs_each_template_once(overfit: tuple[Path, Path, list[ShardSample]], tmp_path: Path) -> None:
    """pipeline/demo.py's `demo_templates` (the demo's only caller of every template) on the overfit model."""
    from pipeline.demo import demo_templates

    written = demo_templates(overfit[0], StubVQGAN(), tmp_path / "demo",
                             text=captions_of(overfit[2])[1], questions=("fake age:", "celeba smiling:"))
    assert (tmp_path / "demo" / "face.png").is_file()
    assert (tmp_path / "demo" / "caption.txt").read_text().strip() == written["caption"]
    labels = json.loads((tmp_path / "demo" / "labels.json").read_text())
    assert set(labels) == {"fake age:", "celeba smiling:"} and labels["celeba smiling:"]["value"] in (True, False)
